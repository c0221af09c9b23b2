"""Docker credential helpers: ``docker-credential-<name> get|store|erase`` on PATH."""

from __future__ import annotations

import json
import shutil
import subprocess

from dockyard.errors import DockyardError, NotFound

_NOT_FOUND = "credentials not found in native keychain"


class CredentialHelper:
    """One helper program, spoken to over stdin/stdout as the docker CLI does."""

    def __init__(self, name: str, *, timeout: float = 30.0) -> None:
        self.name = name
        self.program = f"docker-credential-{name}"
        self.timeout = timeout

    def get(self, server_url: str) -> tuple[str, str] | None:
        """(username, secret), or None when the helper has nothing for the server."""
        try:
            out = self._run("get", server_url)
        except NotFound:
            return None
        try:
            obj = json.loads(out)
        except ValueError as exc:
            raise DockyardError(f"error getting credentials - invalid output from {self.program}") from exc
        if not isinstance(obj, dict):
            raise DockyardError(f"error getting credentials - invalid output from {self.program}")
        user, secret = obj.get("Username", ""), obj.get("Secret", "")
        if not isinstance(user, str) or not isinstance(secret, str) or not (user or secret):
            return None
        return user, secret

    def store(self, server_url: str, username: str, secret: str) -> None:
        payload = json.dumps({"ServerURL": server_url, "Username": username, "Secret": secret})
        self._run("store", payload)

    def erase(self, server_url: str) -> bool:
        try:
            self._run("erase", server_url)
        except NotFound:
            return False
        return True

    def _run(self, action: str, stdin: str) -> str:
        path = shutil.which(self.program)
        if path is None:
            raise DockyardError(f"error getting credentials - err: exec: \"{self.program}\": "
                                f"executable file not found in $PATH")
        try:
            proc = subprocess.run([path, action], input=stdin, capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DockyardError(f"error running {self.program} {action}: {exc}") from exc
        if proc.returncode != 0:
            message = (proc.stdout.strip() or proc.stderr.strip())
            if _NOT_FOUND in message:
                raise NotFound(message)
            verb = "getting" if action == "get" else "storing" if action == "store" else "erasing"
            raise DockyardError(f"error {verb} credentials - err: exit status {proc.returncode}, out: `{message}`")
        return proc.stdout


__all__ = ["CredentialHelper"]

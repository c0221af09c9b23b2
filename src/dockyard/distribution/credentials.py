"""Registry credentials: the X-Registry-Auth header and Docker's ~/.docker/config.json."""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from dockyard.distribution.credhelper import CredentialHelper
from dockyard.distribution.hosts import DOCKER_HUB_KEY, is_docker_hub, registry_key
from dockyard.errors import DataLoss, InvalidArgument


@dataclass(frozen=True)
class Credentials:
    """What a client presents to a registry. An identity token is an OAuth refresh token."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""

    def __bool__(self) -> bool:
        return bool(self.username or self.password or self.identity_token or self.registry_token)

    def __repr__(self) -> str:
        # Never print secrets in logs or tracebacks.
        return f"Credentials(username={self.username!r}, password=***, identity_token=***, registry_token=***)"


def _b64decode(text: str) -> bytes:
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def decode_registry_auth(header_value: str | None) -> Credentials | None:
    """Decode an X-Registry-Auth header leniently: anything unusable or empty gives None."""
    if not header_value or not header_value.strip():
        return None
    try:
        obj = json.loads(_b64decode(header_value))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict):
        return None
    # Go decodes JSON keys case-insensitively; clients send "username" as well as "Username".
    fields = {str(k).lower(): v for k, v in obj.items() if isinstance(v, str)}
    username, password = fields.get("username", ""), fields.get("password", "")
    if not username and not password and fields.get("auth"):
        username, password = _split_auth(fields["auth"])
    creds = Credentials(username, password, fields.get("identitytoken", ""), fields.get("registrytoken", ""))
    return creds if creds else None


def encode_registry_auth(c: Credentials, serveraddress: str) -> str:
    """The X-Registry-Auth value the docker CLI would send (base64url, padded)."""
    obj: dict[str, str] = {}
    if c.username or c.password:
        obj["username"], obj["password"] = c.username, c.password
    if c.identity_token:
        obj["identitytoken"] = c.identity_token
    if c.registry_token:
        obj["registrytoken"] = c.registry_token
    if obj and serveraddress:
        obj["serveraddress"] = serveraddress
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode()


def _split_auth(value: str) -> tuple[str, str]:
    try:
        text = _b64decode(value).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = text.partition(":")
    return user, password


def _host_of_key(key: str) -> str:
    """``https://host:port/v1/`` → ``host:port`` (config keys come with and without scheme)."""
    for prefix in ("http://", "https://"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.split("/", 1)[0].lower()


def default_config_path() -> str:
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


class DockerConfigCredentials:
    """Credentials in Docker's config.json, so that `docker login` and dockyard share them."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or default_config_path()

    # -- reading ---------------------------------------------------------------------------------

    def get(self, registry: str) -> Credentials | None:
        config = self._load()
        key = registry_key(registry)
        helper = self._helper(config, registry)
        if helper is not None:
            found = helper.get(key)
            if found is None:
                return None
            user, secret = found
            if user == "<token>":
                return Credentials(identity_token=secret)
            return Credentials(user, secret)
        entry = self._find_entry(config, registry)
        if entry is None:
            return None
        username, password = _split_auth(entry.get("auth", "")) if isinstance(entry.get("auth"), str) else ("", "")
        if not username and isinstance(entry.get("username"), str):
            username, password = entry["username"], str(entry.get("password", ""))
        token = entry.get("identitytoken")
        creds = Credentials(username, password, token if isinstance(token, str) else "")
        return creds if creds else None

    # -- writing ---------------------------------------------------------------------------------

    def store(self, registry: str, creds: Credentials) -> bool:
        """Save ``creds``; True when the password went into the file unencrypted."""
        config = self._load()
        key = registry_key(registry)
        auths = config.setdefault("auths", {})
        if not isinstance(auths, dict):
            raise DataLoss(f"{self.path}: \"auths\" is not an object")
        helper = self._helper(config, registry)
        if helper is not None:
            if creds.identity_token:
                helper.store(key, "<token>", creds.identity_token)
            else:
                helper.store(key, creds.username, creds.password)
            # Docker leaves an empty entry so that the registry shows as logged in.
            auths[key] = {}
            self._save(config)
            return False
        entry: dict[str, str] = {}
        if creds.identity_token:
            entry["auth"] = base64.b64encode(f"{creds.username}:".encode()).decode()
            entry["identitytoken"] = creds.identity_token
        else:
            entry["auth"] = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        for old in [k for k in auths if k != key and _same_registry(k, registry)]:
            del auths[old]
        auths[key] = entry
        self._save(config)
        return not creds.identity_token

    def erase(self, registry: str) -> bool:
        """Forget the registry's credentials; False when there were none."""
        config = self._load()
        key = registry_key(registry)
        helper = self._helper(config, registry)
        erased = helper.erase(key) if helper is not None else False
        auths = config.get("auths")
        if isinstance(auths, dict):
            for old in [k for k in auths if _same_registry(k, registry)]:
                del auths[old]
                erased = True
        if erased:
            self._save(config)
        return erased

    # -- internals -------------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise DataLoss(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        if not data.strip():
            return {}
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"{self.path}: invalid JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise InvalidArgument(f"{self.path}: expected a JSON object")
        return obj

    def _save(self, config: dict[str, Any]) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(config, f, indent="\t")
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def _helper(self, config: dict[str, Any], registry: str) -> CredentialHelper | None:
        helpers = config.get("credHelpers")
        if isinstance(helpers, dict):
            for name, helper in helpers.items():
                if isinstance(helper, str) and helper and _same_registry(name, registry):
                    return CredentialHelper(helper)
        store = config.get("credsStore")
        if isinstance(store, str) and store:
            return CredentialHelper(store)
        return None

    @staticmethod
    def _find_entry(config: dict[str, Any], registry: str) -> dict[str, Any] | None:
        auths = config.get("auths")
        if not isinstance(auths, dict):
            return None
        exact = auths.get(registry_key(registry))
        if isinstance(exact, dict):
            return exact
        for key, entry in auths.items():
            if isinstance(entry, dict) and _same_registry(key, registry):
                return entry
        return None


def _same_registry(key: str, registry: str) -> bool:
    host = _host_of_key(key)
    if is_docker_hub(registry):
        return key == DOCKER_HUB_KEY or is_docker_hub(host)
    return host == registry.lower()


__all__ = ["Credentials", "DockerConfigCredentials", "decode_registry_auth", "default_config_path",
           "encode_registry_auth"]

"""OCI hooks: run each with the state JSON on stdin, honouring its timeout."""

from __future__ import annotations

from dockyard.errors import FailedPrecondition

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from dockyard.runtime.spec import Hook


def run_hooks(kind: str, hooks: Sequence[Hook], state: Mapping[str, Any]) -> None:
    import subprocess

    from dockyard.runtime import jsonfast

    payload = jsonfast.dumps(dict(state)).encode()
    for hook in hooks:
        argv = list(hook.args) or [hook.path]
        env = dict(e.split("=", 1) for e in hook.env if "=" in e)
        try:
            proc = subprocess.run(argv, executable=hook.path, input=payload, env=env, capture_output=True,
                                  timeout=hook.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise FailedPrecondition(f"{kind} hook {hook.path}: timed out after {hook.timeout}s") from None
        except OSError as exc:
            raise FailedPrecondition(f"{kind} hook {hook.path}: {exc.strerror}") from exc
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).decode(errors="replace").strip()
            raise FailedPrecondition(f"{kind} hook {hook.path}: exit status {proc.returncode}"
                                     + (f", stdout: {detail}" if detail else ""))

"""Start dockyardd in the background when nothing answers on the default socket and we are root."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Protocol

from dockyard.errors import DockyardError
from dockyard.http.client import ConnectError

DEFAULT_HOST = "unix:///run/dockyard/dockyard.sock"
LOG_PATH = "/var/lib/dockyard/dockyardd.log"


class Pingable(Protocol):
    host: str

    def ping(self) -> bool: ...


def _answers(client: Pingable) -> bool:
    try:
        client.ping()
    except ConnectError:
        return False
    except DockyardError:
        return True  # something answers, even if unhappily
    return True


def ensure_daemon(client: Pingable, *, wait: float = 10.0, log_path: str = LOG_PATH) -> None:
    """Return once the daemon answers; raise Unavailable when it does not and cannot be started."""
    if _answers(client):
        return
    if client.host != DEFAULT_HOST or os.geteuid() != 0:
        raise ConnectError(f"cannot connect to the dockyard daemon at {client.host}")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard.daemon"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _answers(client):
            return
        if proc.poll() is not None:
            # The daemon died while starting: say so now rather than after the full wait.
            raise ConnectError(f"dockyardd exited with status {proc.returncode} while starting; see {log_path}")
        time.sleep(0.1)
    raise ConnectError(f"started dockyardd but it did not answer within {wait:g}s; see {log_path}")


__all__ = ["DEFAULT_HOST", "LOG_PATH", "ensure_daemon"]

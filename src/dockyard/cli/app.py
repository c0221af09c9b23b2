"""What every command gets: the streams, the host and a lazily connected client."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from dockyard.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.client.api import DockyardClient

DEFAULT_HOST = "unix:///run/dockyard/dockyard.sock"


class UsageError(DockyardError):
    """The command line is wrong; exit status 125 for flag errors, 1 for argument counts."""

    def __init__(self, message: str, *, status: int = 125) -> None:
        super().__init__(message)
        self.status = status


class CliError(DockyardError):
    """A client-side failure, printed verbatim (no "Error response from daemon" prefix)."""


class CommandFailed(DockyardError):
    """Errors were already printed; exit with ``status``."""

    def __init__(self, status: int = 1) -> None:
        super().__init__("")
        self.status = status


class StatusError(DockyardError):
    """Exit with ``status``, printing ``message`` (when there is one) verbatim to stderr.

    ``run`` wraps its failures this way: "dockyard: <error>" plus the help hint, status 125 (126
    or 127 when the daemon says the command cannot be executed or found).
    """

    def __init__(self, message: str = "", status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _connect(host: str) -> DockyardClient:
    from dockyard.client.api import DockyardClient

    client = DockyardClient(host)
    client.ensure_daemon()
    return client


@dataclass
class Cli:
    """The command's world; tests pass a fake client factory and in-memory streams."""

    host: str = DEFAULT_HOST
    debug: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: BinaryIO = field(default_factory=lambda: sys.stdin.buffer)
    out_bytes: BinaryIO = field(default_factory=lambda: sys.stdout.buffer)
    err_bytes: BinaryIO = field(default_factory=lambda: sys.stderr.buffer)
    connect: Callable[[str], Any] = _connect
    _client: Any = None

    def client(self) -> DockyardClient:
        if self._client is None:
            self._client = self.connect(self.host)
        client: DockyardClient = self._client
        return client

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def error(self, text: str) -> None:
        self.err.write(text + "\n")

    def out_is_terminal(self) -> bool:
        try:
            return self.out_bytes.isatty()
        except (AttributeError, ValueError):
            return False

    def stdin_is_terminal(self) -> bool:
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def close(self) -> None:
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()


__all__ = ["DEFAULT_HOST", "Cli", "CliError", "CommandFailed", "StatusError", "UsageError"]

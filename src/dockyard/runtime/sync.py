"""Parent/child messages over a SOCK_SEQPACKET socketpair: one JSON object per packet.

Errors inside the container travel as {"type": "error", "step", "errno", "message"} and become one
``ContainerSetupError`` in the parent that names the failing step.
"""

from __future__ import annotations

import _socket
import os

from dockyard.errors import DockyardError
from dockyard.runtime import jsonfast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MAX = 65536


# Steps of starting the user's process whose failures read as runc's: "unable to start container
# process: exec: "x": executable file not found in $PATH" (the steps word their messages as runc).
PROCESS_START_STEPS = frozenset({"looking up the executable", "changing to the working directory",
                                 "setting up user and capabilities"})


class ContainerSetupError(DockyardError):
    """A step of container setup failed inside the child."""

    def __init__(self, step: str, errno_: int, message: str, exit_code: int = 1) -> None:
        if step in PROCESS_START_STEPS:
            text = f"unable to start container process: {message}"
        else:
            text = f"{step}: {message}" if step else message
        super().__init__(text)
        self.step = step
        self.errno = errno_
        self.exit_code = exit_code


class ProtocolError(DockyardError):
    """The peer closed the channel or sent something unexpected."""


class Channel:
    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock

    @classmethod
    def pair(cls) -> tuple[Channel, Channel]:
        # _socket, not socket: the wrapper module imports enum and selectors, which cost more
        # than the whole handshake
        a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
        return cls(a), cls(b)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, kind: str, **fields: Any) -> None:
        self.sock.send(jsonfast.dumps({"type": kind, **fields}).encode())

    def send_error(self, step: str, exc: BaseException, exit_code: int = 1) -> None:
        err = exc.errno if isinstance(exc, OSError) and exc.errno else 0
        text = _describe(exc)
        try:
            self.send("error", step=step, errno=err, message=text, exit_code=exit_code)
        except OSError:
            pass

    def recv(self) -> dict[str, Any]:
        data = self.sock.recv(_MAX)
        if not data:
            raise ProtocolError("container init exited before reporting")
        msg = jsonfast.loads(data)
        if not isinstance(msg, dict):
            raise ProtocolError(f"bad sync message: {data!r}")
        if msg.get("type") == "error":
            raise ContainerSetupError(str(msg.get("step", "")), int(msg.get("errno", 0)),
                                      str(msg.get("message", "")), int(msg.get("exit_code", 1)))
        return msg

    def expect(self, kind: str) -> dict[str, Any]:
        msg = self.recv()
        if msg.get("type") != kind:
            raise ProtocolError(f"expected sync message {kind!r}, got {msg.get('type')!r}")
        return msg

    def close(self) -> None:
        self.sock.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        parts = [exc.strerror or os.strerror(exc.errno or 0)] if exc.errno else [str(exc)]
        if exc.filename:
            parts.insert(0, str(exc.filename))
        return ": ".join(parts)
    return str(exc)

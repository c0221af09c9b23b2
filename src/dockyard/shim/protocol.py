"""The shim's control protocol: length-prefixed JSON over ``shim.sock``.

Each message is a 4-byte big-endian length and that many bytes of UTF-8 JSON. A request is
``{"op": "<name>", ...params}``; the response is ``{"ok": true, "result": {...}}`` or
``{"ok": false, "error": {"kind": "<dockyard.errors class>", "message": "..."}}``. After a
successful ``attach``, ``exec`` (not detached) or ``exec_attach`` response the connection carries
raw bytes both ways: container output out (8-byte frames unless TTY), stdin in; the client's
half-close closes the process's stdin.
"""

from __future__ import annotations

import os
import struct

from dockyard import errors
from dockyard.runtime import jsonfast

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import NamedTuple, TypeAlias
else:
    from dockyard.namedtuples import NamedTuple

JSON: TypeAlias = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]
JSONObject = dict[str, JSON]

LENGTH = struct.Struct(">I")
MAX_MESSAGE = 1 << 20

OPS = frozenset({"start", "state", "kill", "resize", "wait", "attach", "exec", "exec_attach", "exec_wait",
                 "exec_resize", "exec_kill", "exec_state", "shutdown"})


class ProtocolError(errors.InvalidArgument):
    """A malformed or oversized message on the control socket."""


class CreateFailed(errors.FailedPrecondition):
    """``<runtime> create`` failed: the runtime's message, and the exit code Docker would report."""

    def __init__(self, message: str, exit_code: int, stderr: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr = stderr


class ExecFailed(errors.FailedPrecondition):
    """``<runtime> exec`` failed before the process ran."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def exit_code_for_error(message: str) -> int:
    """Docker's codes for a process that could not be started: 127 not found, 126 not executable."""
    low = message.lower()
    if "not found" in low or "no such file or directory" in low:
        return 127
    if "permission denied" in low or "not executable" in low or "exec format error" in low:
        return 126
    return 128


def encode_message(message: JSONObject) -> bytes:
    body = jsonfast.dumps(message).encode()
    if len(body) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(body)} bytes exceeds {MAX_MESSAGE}")
    return LENGTH.pack(len(body)) + body


def _decode_body(body: bytes) -> JSONObject:
    try:
        value = jsonfast.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"bad JSON on the control socket: {exc}") from exc
    if not isinstance(value, dict):
        raise ProtocolError("a control message must be a JSON object")
    return value


class MessageDecoder:
    """Sans-IO decoder for the server side; ``rest()`` hands over bytes that followed a message."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_message(self) -> JSONObject | None:
        if len(self._buf) < LENGTH.size:
            return None
        (length,) = LENGTH.unpack_from(self._buf)
        if length > MAX_MESSAGE:
            raise ProtocolError(f"message of {length} bytes exceeds {MAX_MESSAGE}")
        end = LENGTH.size + length
        if len(self._buf) < end:
            return None
        body = bytes(self._buf[LENGTH.size:end])
        del self._buf[:end]
        return _decode_body(body)

    def rest(self) -> bytes:
        data = bytes(self._buf)
        self._buf.clear()
        return data


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    # Read no further than the message: an attach stream may follow it on the same socket.
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("the shim closed the connection")
        buf += chunk
    return bytes(buf)


def send_message(sock: socket.socket, message: JSONObject) -> None:
    sock.sendall(encode_message(message))


def recv_message(sock: socket.socket) -> JSONObject:
    (length,) = LENGTH.unpack(_recv_exactly(sock, LENGTH.size))
    if length > MAX_MESSAGE:
        raise ProtocolError(f"message of {length} bytes exceeds {MAX_MESSAGE}")
    return _decode_body(_recv_exactly(sock, length))


def ok(result: JSONObject | None = None) -> JSONObject:
    return {"ok": True, "result": result or {}}


def fail(exc: BaseException) -> JSONObject:
    kind = type(exc).__name__ if isinstance(exc, errors.DockyardError) else "DockyardError"
    for cls in type(exc).__mro__:
        if cls.__module__ == errors.__name__ and issubclass(cls, errors.DockyardError):
            kind = cls.__name__
            break
    return {"ok": False, "error": {"kind": kind, "message": str(exc)}}


def result_of(response: JSONObject) -> JSONObject:
    """The result of a response, or the error it carries raised as its dockyard.errors class."""
    if response.get("ok") is True:
        result = response.get("result")
        return result if isinstance(result, dict) else {}
    error = response.get("error")
    kind, message = "DockyardError", "malformed response from the shim"
    if isinstance(error, dict):
        kind = str(error.get("kind", kind))
        message = str(error.get("message", ""))
    cls = getattr(errors, kind, errors.DockyardError)
    if not (isinstance(cls, type) and issubclass(cls, errors.DockyardError)):
        cls = errors.DockyardError
    raise cls(message)


class ExitInfo(NamedTuple):
    """How a container or exec process ended (``exit.json`` and the ``wait`` result)."""

    exit_code: int
    oom_killed: bool = False
    finished_at: str = ""
    error: str = ""

    def to_json(self) -> JSONObject:
        return {"exit_code": self.exit_code, "oom_killed": self.oom_killed, "finished_at": self.finished_at,
                "error": self.error}

    @classmethod
    def from_json(cls, value: JSON) -> ExitInfo:
        if not isinstance(value, dict):
            raise ProtocolError("exit info must be an object")
        code = value.get("exit_code")
        if not isinstance(code, int):
            raise ProtocolError("exit info lacks an integer exit_code")
        return cls(exit_code=code, oom_killed=bool(value.get("oom_killed", False)),
                   finished_at=str(value.get("finished_at") or ""), error=str(value.get("error") or ""))


class ShimState(NamedTuple):
    """The ``state`` answer: status is created, running or stopped."""

    id: str
    pid: int
    status: str
    tty: bool
    started_at: str = ""
    exit: ExitInfo | None = None

    def to_json(self) -> JSONObject:
        return {"id": self.id, "pid": self.pid, "status": self.status, "tty": self.tty,
                "started_at": self.started_at, "exit": self.exit.to_json() if self.exit else None}

    @classmethod
    def from_json(cls, value: JSONObject) -> ShimState:
        pid = value.get("pid")
        raw_exit = value.get("exit")
        return cls(id=str(value.get("id", "")), pid=pid if isinstance(pid, int) else 0,
                   status=str(value.get("status", "")), tty=bool(value.get("tty", False)),
                   started_at=str(value.get("started_at") or ""),
                   exit=ExitInfo.from_json(raw_exit) if raw_exit is not None else None)


def exit_code_from_status(status: int) -> int:
    """A waitpid status as a shell would report it: the code, or 128 + the signal."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 255

"""Docker's multiplexed stdio stream (stdcopy): 8-byte frame headers ``[type,0,0,0,len32be]``.

Used by attach, exec and logs when the container has no TTY. Type 0 (stdin) is written as stdout,
as Go's stdcopy does; type 3 carries a system error, raised as StreamError.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from dockyard.client.errors import StreamError

STDIN = 0
STDOUT = 1
STDERR = 2
SYSTEMERR = 3

HEADER_SIZE = 8


def frame(stream: int, payload: bytes) -> bytes:
    """One frame, as the daemon writes it."""
    return struct.pack(">BxxxI", stream, len(payload)) + payload


class Demuxer:
    """Incremental decoder: feed it bytes as they arrive, get (stream, payload) pairs back."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        frames: list[tuple[int, bytes]] = []
        while len(self._buffer) >= HEADER_SIZE:
            kind = self._buffer[0]
            (size,) = struct.unpack_from(">I", self._buffer, 4)
            if len(self._buffer) < HEADER_SIZE + size:
                break
            payload = bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + size])
            del self._buffer[: HEADER_SIZE + size]
            if kind == SYSTEMERR:
                raise StreamError(payload.decode("utf-8", errors="replace"))
            if kind not in (STDIN, STDOUT, STDERR):
                raise StreamError(f"Unrecognized input header: {kind}")
            frames.append((STDOUT if kind == STDIN else kind, payload))
        return frames

    @property
    def leftover(self) -> int:
        """Bytes of an incomplete frame still buffered."""
        return len(self._buffer)


def demux(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(stream, payload) for every frame of a multiplexed byte stream, however it is chunked."""
    decoder = Demuxer()
    for chunk in chunks:
        yield from decoder.feed(chunk)


__all__ = ["HEADER_SIZE", "STDERR", "STDIN", "STDOUT", "SYSTEMERR", "Demuxer", "demux", "frame"]

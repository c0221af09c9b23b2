"""Docker's stdio multiplexing: an 8-byte header ``[type,0,0,0,len uint32 BE]`` before each payload.

Used on non-TTY attach and exec streams. Type 0 (stdin) is written as stdout by Docker, 3 carries
an error message.
"""

from __future__ import annotations

import struct

STDIN = 0
STDOUT = 1
STDERR = 2
SYSTEMERR = 3

HEADER = struct.Struct(">BxxxI")
MAX_FRAME = 1 << 20  # split bigger payloads so a reader never has to buffer much

_NAMES = {STDIN: "stdin", STDOUT: "stdout", STDERR: "stderr", SYSTEMERR: "system"}
_TYPES = {name: kind for kind, name in _NAMES.items()}


def stream_name(kind: int) -> str:
    return _NAMES[kind]


def stream_type(name: str) -> int:
    return _TYPES[name]


def encode(kind: int, data: bytes) -> bytes:
    """One or more frames carrying ``data`` (empty data gives no frame: a zero length means nothing)."""
    if kind not in _NAMES:
        raise ValueError(f"unknown stream type {kind}")
    out = bytearray()
    for start in range(0, len(data), MAX_FRAME):
        chunk = data[start:start + MAX_FRAME]
        out += HEADER.pack(kind, len(chunk))
        out += chunk
    return bytes(out)


class Demuxer:
    """Sans-IO decoder: ``feed`` bytes as they arrive, get back complete ``(type, payload)`` frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        frames: list[tuple[int, bytes]] = []
        while len(self._buf) >= HEADER.size:
            kind, length = HEADER.unpack_from(self._buf)
            if kind not in _NAMES:
                raise ValueError(f"bad stream type {kind} in multiplexed stream")
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            frames.append((kind, bytes(self._buf[HEADER.size:end])))
            del self._buf[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered (non-zero at EOF means a truncated stream)."""
        return len(self._buf)


def demux_all(data: bytes) -> dict[int, bytes]:
    """Decode a whole multiplexed stream into the concatenated payload of each stream type."""
    demuxer = Demuxer()
    out: dict[int, bytes] = {}
    for kind, payload in demuxer.feed(data):
        out[kind] = out.get(kind, b"") + payload
    if demuxer.pending:
        raise ValueError("truncated multiplexed stream")
    return out

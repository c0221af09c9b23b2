"""A minimal, fast tar writer for streaming archives out of the content store.

``tarfile`` copies data in 16 KiB steps; saving hundreds of megabytes wants large reads and
no intermediate file, so we write the headers with ``TarInfo.tobuf`` and the data ourselves.
"""

from __future__ import annotations

import tarfile
import time
from collections.abc import Iterator
from typing import BinaryIO

BLOCK = 512
CHUNK = 1 << 20


def _header(name: str, size: int, *, mode: int = 0o644, mtime: float | None = None,
            kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size if kind == tarfile.REGTYPE else 0
    info.mode = mode
    info.mtime = int(mtime if mtime is not None else time.time())
    info.type = kind
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    rest = size % BLOCK
    return b"\0" * (BLOCK - rest) if rest else b""


def directory(name: str, *, mtime: float | None = None) -> bytes:
    return _header(name.rstrip("/") + "/", 0, mode=0o755, mtime=mtime, kind=tarfile.DIRTYPE)


def file_bytes(name: str, data: bytes, *, mtime: float | None = None) -> bytes:
    return _header(name, len(data), mtime=mtime) + data + _padding(len(data))


def file_stream(name: str, src: BinaryIO, size: int, *, mtime: float | None = None) -> Iterator[bytes]:
    """Header, exactly ``size`` bytes from ``src``, padding. A short source is an error."""
    yield _header(name, size, mtime=mtime)
    left = size
    while left:
        chunk = src.read(min(CHUNK, left))
        if not chunk:
            raise OSError(f"{name}: content shorter than its recorded size")
        left -= len(chunk)
        yield chunk
    yield _padding(size)


def end() -> bytes:
    return b"\0" * (BLOCK * 2)

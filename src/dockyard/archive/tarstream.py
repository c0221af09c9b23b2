"""Sequential tar reading without tarfile's stream mode.

``tarfile``'s ``r|`` mode re-slices its whole read buffer on every small read, which makes
header-heavy layers slow. Instead the archive is opened in ordinary ``r`` mode over a reader that
only supports forward seeks (by skipping): still one sequential pass over a non-seekable source.
"""

from __future__ import annotations

import io
import tarfile
from typing import BinaryIO, Protocol, cast

from dockyard.archive.errors import CorruptLayer

_CHUNK = 1 << 20
_BLOCK = 512


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ForwardReader:
    """A buffered reader with ``tell`` and forward-only ``seek``; remembers the last short read."""

    def __init__(self, src: _Readable) -> None:
        self._src = src
        self._buf = b""
        self._off = 0  # read position inside _buf
        self._pos = 0  # absolute position of the stream
        self.last_pos = -1
        self.last = b""

    def _fill(self) -> bool:
        data = self._src.read(_CHUNK)
        self._buf, self._off = data, 0
        return bool(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buf[self._off:]]
            while self._fill():
                parts.append(self._buf)
            self._buf, self._off = b"", 0
            data = b"".join(parts)
        else:
            avail = len(self._buf) - self._off
            if size <= avail:
                data = self._buf[self._off:self._off + size]
                self._off += size
            else:
                parts = [self._buf[self._off:]] if avail else []
                need = size - avail
                self._buf, self._off = b"", 0
                while need > 0 and self._fill():
                    take = self._buf[:need]
                    parts.append(take)
                    self._off = len(take)
                    need -= len(take)
                data = b"".join(parts)
        if len(data) <= _BLOCK:
            self.last_pos, self.last = self._pos, data
        self._pos += len(data)
        return data

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self._pos
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("only forward seeks are supported")
        if pos < self._pos:
            raise io.UnsupportedOperation(f"cannot seek back from {self._pos} to {pos}")
        while self._pos < pos:
            if not self.read(min(pos - self._pos, _CHUNK)):
                break
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


def open_tar(reader: ForwardReader) -> tarfile.TarFile | None:
    """A tar reader over ``reader``, or None when the stream is empty (an empty layer)."""
    try:
        return tarfile.TarFile(fileobj=cast(BinaryIO, reader), mode="r")
    except tarfile.ReadError:
        if reader.tell() != 0:
            raise
        return None


def check_end(tf: tarfile.TarFile, reader: ForwardReader) -> None:
    """Tell a proper end of the archive from a truncated or garbled header.

    tarfile stops quietly at a bad header after the first member; Docker reports it.
    """
    end = tf.offset
    block = reader.last if reader.last_pos == end else b""
    if not block or block.count(0) == len(block) == _BLOCK:
        return
    if len(block) < _BLOCK:
        raise CorruptLayer("unexpected EOF")
    raise CorruptLayer(f"invalid tar header at offset {end}")


__all__ = ["ForwardReader", "check_end", "open_tar"]

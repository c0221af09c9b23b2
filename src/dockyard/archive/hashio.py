"""Pass-through streams that hash and count the bytes going through them."""

from __future__ import annotations

from typing import BinaryIO

from dockyard.oci.digest import Digester


class HashingReader:
    """Reads from ``src`` and feeds every byte returned to a digester."""

    __slots__ = ("_src", "digester")

    def __init__(self, src: BinaryIO, algorithm: str = "sha256") -> None:
        self._src = src
        self.digester = Digester(algorithm)

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size)
        if data:
            self.digester.update(data)
        return data

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to the end so the digest covers every byte of the stream."""
        while self.read(chunk):
            pass


class HashingWriter:
    """Writes to ``dst`` (never closing it) and hashes every byte written."""

    __slots__ = ("_dst", "digester")

    def __init__(self, dst: BinaryIO, algorithm: str = "sha256") -> None:
        self._dst = dst
        self.digester = Digester(algorithm)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._dst.write(data)
        self.digester.update(data)
        return len(data)

    def tell(self) -> int:
        return self.digester.size

    def flush(self) -> None:
        self._dst.flush()

    def close(self) -> None:
        self.flush()

"""Layer compression: detect by magic bytes, decompress as a stream, compress on write."""

from __future__ import annotations

import enum
import zlib
from typing import Any, BinaryIO, Protocol, cast

import zstandard

from dockyard.archive.errors import CorruptLayer

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20


class Compression(enum.Enum):
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


def detect(prefix: bytes) -> Compression:
    """The compression a stream starting with ``prefix`` uses (plain when unknown)."""
    if prefix.startswith(_GZIP_MAGIC):
        return Compression.GZIP
    if prefix.startswith(_ZSTD_MAGIC):
        return Compression.ZSTD
    return Compression.NONE


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _PrefixedReader:
    """Replays bytes already peeked from a (possibly non-seekable) source, then the rest."""

    def __init__(self, prefix: bytes, src: _Readable) -> None:
        self._prefix = prefix
        self._src = src

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size < 0:
                data, self._prefix = self._prefix + self._src.read(), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return self._src.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass


class _Decompressor(Protocol):
    eof: bool
    unused_data: bytes

    def decompress(self, data: bytes, /) -> bytes: ...


class _DecompressingReader:
    """Streams a gzip or zstd source (possibly several members/frames) as plain bytes."""

    def __init__(self, src: _Readable, compression: Compression) -> None:
        self._src = src
        self._compression = compression
        self._dec: _Decompressor = self._new()
        self._pending = b""
        self._started = False  # a member/frame has begun, so EOF now means truncation
        self._done = False

    def _new(self) -> _Decompressor:
        if self._compression is Compression.GZIP:
            return cast(_Decompressor, zlib.decompressobj(16 + zlib.MAX_WBITS))
        return cast(_Decompressor, zstandard.ZstdDecompressor().decompressobj())

    def _fail(self, exc: Exception) -> CorruptLayer:
        name = self._compression.value
        header_words = ("header", "compression method", "window size")
        if self._compression is Compression.GZIP and any(w in str(exc) for w in header_words):
            return CorruptLayer("gzip: invalid header")
        return CorruptLayer(f"{name}: corrupt compressed data: {exc}")

    def _feed(self, data: bytes) -> bytes:
        self._started = True
        try:
            out = self._dec.decompress(data)
        except (zlib.error, zstandard.ZstdError) as exc:
            raise self._fail(exc) from exc
        if self._dec.eof:
            rest = self._dec.unused_data
            self._started = False
            self._dec = self._new()
            if rest.strip(b"\0"):
                # Another member/frame follows (concatenated streams are valid).
                if detect(rest) is not self._compression:
                    raise self._fail(ValueError("invalid header"))
                out += self._feed(rest)
        return out

    def read(self, size: int = -1) -> bytes:
        want = size if size >= 0 else 1 << 62
        chunks = [self._pending] if self._pending else []
        have = len(self._pending)
        self._pending = b""
        while have < want and not self._done:
            raw = self._src.read(_CHUNK)
            if not raw:
                self._done = True
                if self._started:
                    raise CorruptLayer("unexpected EOF")
                break
            out = self._feed(raw)
            if out:
                chunks.append(out)
                have += len(out)
        data = b"".join(chunks)
        if len(data) > want:
            data, self._pending = data[:want], data[want:]
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass


def open_decompressed(src: BinaryIO) -> BinaryIO:
    """A readable stream of the plain bytes of ``src``, whatever its compression."""
    prefix = b""
    while len(prefix) < len(_ZSTD_MAGIC):
        more = src.read(len(_ZSTD_MAGIC) - len(prefix))
        if not more:
            break
        prefix += more
    replay = _PrefixedReader(prefix, src)
    kind = detect(prefix)
    if kind is Compression.NONE:
        return cast(BinaryIO, replay)
    return cast(BinaryIO, _DecompressingReader(replay, kind))


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self, *args: Any) -> bytes: ...


class CompressingWriter:
    """Compresses everything written into ``dst``; ``close`` ends the stream, not ``dst``."""

    def __init__(self, dst: BinaryIO, compression: Compression, level: int | None = None) -> None:
        self._dst = dst
        self._closed = False
        self._comp: _Compressor | None
        if compression is Compression.GZIP:
            lvl = -1 if level is None else level
            self._comp = zlib.compressobj(lvl, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        elif compression is Compression.ZSTD:
            lvl = 3 if level is None else level
            self._comp = cast(_Compressor, zstandard.ZstdCompressor(level=lvl, write_checksum=True).compressobj())
        else:
            self._comp = None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed compressing writer")
        if self._comp is None:
            self._dst.write(data)
        else:
            out = self._comp.compress(bytes(data))
            if out:
                self._dst.write(out)
        return len(data)

    def flush(self) -> None:
        self._dst.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._comp is not None:
            tail = self._comp.flush()
            if tail:
                self._dst.write(tail)
        self._dst.flush()

    def __enter__(self) -> CompressingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def compressing_writer(dst: BinaryIO, compression: Compression, level: int | None = None) -> CompressingWriter:
    """A writer that compresses into ``dst``; closing it finishes the stream but leaves ``dst`` open."""
    return CompressingWriter(dst, compression, level)


__all__ = ["CompressingWriter", "Compression", "compressing_writer", "detect", "open_decompressed"]

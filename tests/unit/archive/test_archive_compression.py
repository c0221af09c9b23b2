from __future__ import annotations

import gzip
import io
import os

import pytest
import zstandard
from archive_helpers import Trickle

from dockyard.archive import Compression, CorruptLayer, compressing_writer, detect, open_decompressed

PAYLOAD = os.urandom(300_000) + b"text " * 100_000


def compress(data: bytes, kind: Compression) -> bytes:
    buf = io.BytesIO()
    w = compressing_writer(buf, kind)
    for i in range(0, len(data), 65536):
        w.write(data[i:i + 65536])
    w.close()
    assert not buf.closed
    return buf.getvalue()


def test_detect_magic() -> None:
    assert detect(b"\x1f\x8b\x08\x00") is Compression.GZIP
    assert detect(b"\x28\xb5\x2f\xfd") is Compression.ZSTD
    assert detect(b"ustar") is Compression.NONE
    assert detect(b"") is Compression.NONE


@pytest.mark.parametrize("kind", list(Compression))
def test_round_trip_non_seekable(kind: Compression) -> None:
    blob = compress(PAYLOAD, kind)
    assert detect(blob[:4]) is kind
    out = open_decompressed(Trickle(blob, 5000))  # type: ignore[arg-type]
    got = b"".join(iter(lambda: out.read(10_000), b""))
    assert got == PAYLOAD


def test_writers_are_standard_formats() -> None:
    assert gzip.decompress(compress(PAYLOAD, Compression.GZIP)) == PAYLOAD
    zst = compress(PAYLOAD, Compression.ZSTD)
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(zst)).read() == PAYLOAD
    assert compress(PAYLOAD, Compression.NONE) == PAYLOAD


def test_gzip_multi_member_and_read_all() -> None:
    blob = gzip.compress(b"one ") + gzip.compress(b"two")
    assert open_decompressed(io.BytesIO(blob)).read() == b"one two"


@pytest.mark.parametrize("kind", [Compression.GZIP, Compression.ZSTD])
def test_truncated_is_unexpected_eof(kind: Compression) -> None:
    blob = compress(PAYLOAD, kind)
    reader = open_decompressed(io.BytesIO(blob[: len(blob) // 2]))
    with pytest.raises(CorruptLayer, match="unexpected EOF"):
        while reader.read(1 << 16):
            pass


def test_corrupt_gzip_header() -> None:
    blob = bytearray(gzip.compress(b"hello"))
    blob[2] = 0x07  # compression method other than deflate
    with pytest.raises(CorruptLayer, match="gzip: invalid header"):
        open_decompressed(io.BytesIO(bytes(blob))).read()


def test_corrupt_zstd_data() -> None:
    blob = bytearray(compress(PAYLOAD, Compression.ZSTD))
    for i in range(20, 60):
        blob[i] ^= 0xFF
    with pytest.raises(CorruptLayer):
        open_decompressed(io.BytesIO(bytes(blob))).read()


def test_short_plain_input_passes_through() -> None:
    assert open_decompressed(io.BytesIO(b"ab")).read() == b"ab"
    assert open_decompressed(io.BytesIO(b"")).read() == b""

"""The 8-byte stdio framing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.shim import stdcopy


def test_encode_matches_docker_bytes() -> None:
    assert stdcopy.encode(stdcopy.STDOUT, b"out\n") == b"\x01\x00\x00\x00\x00\x00\x00\x04out\n"
    assert stdcopy.encode(stdcopy.STDERR, b"") == b""


def test_big_payload_is_split() -> None:
    data = b"x" * (stdcopy.MAX_FRAME + 5)
    encoded = stdcopy.encode(stdcopy.STDERR, data)
    frames = stdcopy.Demuxer().feed(encoded)
    assert [len(p) for _, p in frames] == [stdcopy.MAX_FRAME, 5]


def test_demuxer_handles_byte_by_byte_input() -> None:
    stream = stdcopy.encode(stdcopy.STDOUT, b"a") + stdcopy.encode(stdcopy.STDERR, b"bc")
    demuxer = stdcopy.Demuxer()
    frames = [f for i in range(len(stream)) for f in demuxer.feed(stream[i:i + 1])]
    assert frames == [(1, b"a"), (2, b"bc")] and demuxer.pending == 0


def test_bad_type_and_truncation() -> None:
    with pytest.raises(ValueError):
        stdcopy.Demuxer().feed(b"\x07\x00\x00\x00\x00\x00\x00\x01x")
    with pytest.raises(ValueError):
        stdcopy.demux_all(stdcopy.encode(stdcopy.STDOUT, b"abc")[:-1])
    with pytest.raises(ValueError):
        stdcopy.encode(9, b"x")
    assert stdcopy.stream_name(stdcopy.stream_type("stderr")) == "stderr"


@given(st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(min_size=1, max_size=300)), max_size=20),
       st.integers(min_value=1, max_value=50))
def test_roundtrip(chunks: list[tuple[int, bytes]], cut: int) -> None:
    stream = b"".join(stdcopy.encode(k, d) for k, d in chunks)
    demuxer = stdcopy.Demuxer()
    frames = [f for i in range(0, len(stream), cut) for f in demuxer.feed(stream[i:i + cut])]
    assert frames == chunks

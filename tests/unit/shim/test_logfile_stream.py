"""The logs body: frames built a batch at a time equal frames built entry by entry."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from dockyard.api import log_stream
from dockyard.shim import locallog, logfile, stdcopy

BASE = 1_700_000_000 * 1_000_000_000
LINES = [("stdout", b"one\n"), ("stdout", b"two\n"), ("stderr", b"err \"q\"\n"), ("stdout", b"partial"),
         ("stderr", b"e2\n")] + [("stdout", b"%d\n" % i) for i in range(50)]


def write(path: Path, driver: str) -> None:
    counter = itertools.count()
    clock = lambda: BASE + next(counter) * 1_000_001  # noqa: E731
    writer: logfile.LogWriter
    if driver == "local":
        writer = locallog.LocalWriter(str(path), clock=clock)
    else:
        writer = logfile.JsonFileWriter(str(path), clock=clock)
    for stream, data in LINES:
        writer.write(stream, data)
        writer.end_stream(stream)
    writer.close()


def expected(path: Path, *, tty: bool, timestamps: bool, **query: object) -> bytes:
    entries = list(logfile.read_logs(str(path), **query))  # type: ignore[arg-type]
    return b"".join(log_stream._frames(entries, tty=tty, timestamps=timestamps))


def body(path: Path, *, tty: bool, timestamps: bool, follow: bool = False, **query: object) -> list[bytes]:
    reader = logfile.read_logs(str(path), follow=follow, stop=lambda: True, **query)  # type: ignore[arg-type]
    return list(log_stream.frames(reader, tty=tty, timestamps=timestamps, follow=follow))


@pytest.mark.parametrize("driver", ["json-file", "local"])
@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("timestamps", [False, True])
@pytest.mark.parametrize("query", [{}, {"stderr": False}, {"stdout": False}, {"tail": 3}])
def test_batch_frames_equal_entry_frames(tmp_path: Path, driver: str, tty: bool, timestamps: bool,
                                         query: dict[str, object]) -> None:
    log = tmp_path / "log"
    write(log, driver)
    got = body(log, tty=tty, timestamps=timestamps, **query)
    assert b"".join(got) == expected(log, tty=tty, timestamps=timestamps, **query)
    assert all(got)


def test_one_frame_per_entry(tmp_path: Path) -> None:
    log = tmp_path / "log"
    write(log, "json-file")
    raw = b"".join(body(log, tty=False, timestamps=False))
    frames = []
    while raw:
        kind, size = stdcopy.HEADER.unpack(raw[:8])
        frames.append((kind, raw[8:8 + size]))
        raw = raw[8 + size:]
    assert frames[:5] == [(1, b"one\n"), (1, b"two\n"), (2, b'err "q"\n'), (1, b"partial"), (2, b"e2\n")]
    assert len(frames) == len(LINES)


def test_oversized_payloads_are_split_like_encode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stdcopy, "MAX_FRAME", 3)
    monkeypatch.setattr(log_stream, "MAX_FRAME", 3)
    log = tmp_path / "log"
    write(log, "json-file")
    for timestamps in (False, True):
        assert b"".join(body(log, tty=False, timestamps=timestamps)) == expected(log, tty=False,
                                                                                timestamps=timestamps)


def test_first_chunk_goes_out_alone_then_large_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logfile, "FIRST_READ", 100)
    monkeypatch.setattr(logfile, "READ_SIZE", 300)
    monkeypatch.setattr(log_stream, "BATCH_BYTES", 200)
    log = tmp_path / "log"
    write(log, "json-file")
    chunks = body(log, tty=False, timestamps=False)
    assert len(chunks[0]) < 100 and all(len(c) >= 200 for c in chunks[1:-1]) and len(chunks) > 3
    assert b"".join(chunks) == expected(log, tty=False, timestamps=False)


def test_follow_sends_every_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logfile, "FIRST_READ", 100)
    monkeypatch.setattr(logfile, "READ_SIZE", 300)
    log = tmp_path / "log"
    write(log, "json-file")
    chunks = body(log, tty=True, timestamps=False, follow=True)
    assert len(chunks) > 3
    assert b"".join(chunks) == expected(log, tty=True, timestamps=False)


def test_entries_that_are_not_a_reader_still_encode() -> None:
    entries = [logfile.LogEntry("stdout", "2023-11-14T22:13:20Z", b"a\n"),
               logfile.LogEntry("stderr", "2023-11-14T22:13:21Z", b"b\n")]
    chunks = list(log_stream.frames(entries, tty=False, timestamps=True, follow=False))
    assert chunks == [stdcopy.encode(1, b"2023-11-14T22:13:20Z a\n") + stdcopy.encode(2, b"2023-11-14T22:13:21Z b\n")]

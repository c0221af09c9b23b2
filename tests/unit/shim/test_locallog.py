"""Docker's ``local`` log format: the protobuf records, the writer's rotation and compression, and
reading such logs through ``logfile.read_logs``."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.shim import locallog, logfile
from dockyard.shim.locallog import Record

BASE = 1_700_000_000 * 1_000_000_000

# Framed LogEntry{source:"stdout", time_nano:1700000000000000000, line:"hi"}: the message bytes are
# what Google's protobuf library serialises for moby's entry.proto.
GOLDEN = bytes.fromhex("00000016" "0a067374646f7574" "108080a8b1e39fe7cb17" "1a026869" "00000016")


def clock() -> Callable[[], int]:
    counter = itertools.count()
    return lambda: BASE + next(counter) * 1_000_000_000


def records(path: Path) -> list[Record]:
    data = path.read_bytes()
    spans, end = locallog.split_records(data)
    assert end == len(data)
    return [locallog.decode_message(data, a, b) for a, b in spans]


def test_golden_record() -> None:
    assert locallog.encode_record(Record("stdout", BASE, b"hi")) == GOLDEN
    spans, end = locallog.split_records(GOLDEN)
    assert (spans, end) == ([(4, len(GOLDEN) - 4)], len(GOLDEN))
    assert locallog.decode_message(GOLDEN, *spans[0]) == Record("stdout", BASE, b"hi")


def test_partial_metadata_negative_time_and_unknown_fields_round_trip() -> None:
    rec = Record("stderr", -5, b"x" * 300, partial=True, last=True, partial_id="ab" * 32, ordinal=2)
    msg = locallog.encode_message(rec)
    assert msg.startswith(b"\x0a\x06stderr\x10" + b"\xfb" + b"\xff" * 8 + b"\x01")
    assert locallog.decode_message(msg) == rec
    # newer Docker adds attrs (field 6, a message): a reader skips what it does not know
    attrs = b"\x32\x0a" + b"\x0a\x03key\x12\x03val"
    assert locallog.decode_message(msg + attrs) == rec
    assert locallog.display_line(rec) == b"x" * 300 + b"\n"
    assert locallog.display_line(rec._replace(last=False)) == b"x" * 300


def test_split_stops_at_a_torn_record_and_rejects_corruption() -> None:
    two = GOLDEN + locallog.encode_record(Record("stderr", BASE, b"second"))
    spans, end = locallog.split_records(two[:-3])
    assert len(spans) == 1 and end == len(GOLDEN)
    with pytest.raises(ValueError, match="different message sizes"):
        locallog.split_records(GOLDEN[:-1] + b"\x17")


def test_writer_lines_partials_and_end_of_stream(tmp_path: Path) -> None:
    log = tmp_path / "container.log"
    writer = locallog.LocalWriter(str(log), clock=clock())
    writer.write("stdout", b"hel")
    writer.write("stderr", b"oops\n")
    writer.write("stdout", b"lo\n" + b"a" * (locallog.PARTIAL_SIZE * 2 + 10) + b"\nnext\nno newline")
    writer.close()
    got = records(log)
    assert [(r.source, r.line[:5], len(r.line)) for r in got] == [
        ("stderr", b"oops", 4), ("stdout", b"hello", 5),
        ("stdout", b"aaaaa", locallog.PARTIAL_SIZE), ("stdout", b"aaaaa", locallog.PARTIAL_SIZE),
        ("stdout", b"aaaaa", 10), ("stdout", b"next", 4), ("stdout", b"no ne", 10)]
    first, second, last = got[2:5]
    assert first.partial and second.partial and last.partial
    assert (first.ordinal, second.ordinal, last.ordinal) == (1, 2, 3)
    assert (first.last, second.last, last.last) == (False, False, True)
    assert first.partial_id == second.partial_id == last.partial_id and len(first.partial_id) == 64
    assert not got[5].partial
    assert got[6].partial and not got[6].last  # the stream ended mid-line: shown without a newline
    assert got[0].time_nano == BASE
    lines = [e.line for e in logfile.read_logs(str(log))]
    assert lines == [b"oops\n", b"hello\n", b"a" * locallog.PARTIAL_SIZE, b"a" * locallog.PARTIAL_SIZE,
                     b"a" * 10 + b"\n", b"next\n", b"no newline"]


@pytest.mark.parametrize("compress", [True, False])
def test_rotation_keeps_max_file_files_and_compresses_them(tmp_path: Path, compress: bool) -> None:
    log = tmp_path / "container.log"
    writer = locallog.LocalWriter(str(log), max_size=200, max_file=3, compress=compress, clock=clock())
    for i in range(40):
        writer.write("stdout", b"line %02d\n" % i)
    writer.close()
    ext = ".gz" if compress else ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["container.log", f"container.log.1{ext}",
                                                         f"container.log.2{ext}"]
    if compress:
        raw = (tmp_path / "container.log.1.gz").read_bytes()
        assert raw[:4] == b"\x1f\x8b\x08\x04"  # gzip with an Extra field, as Docker writes
        extra = json.loads(raw[12:12 + int.from_bytes(raw[10:12], "little")])
        plain = gzip.decompress(raw)
        spans, _ = locallog.split_records(plain)
        last = locallog.decode_message(plain, *spans[-1])
        assert extra == {"lastTime": logfile.format_time(last.time_nano)}
    # a record goes to a new file once the current one reached max-size, so files may pass it once
    assert (tmp_path / "container.log").stat().st_size <= 200 + 40
    lines = [e.line for e in logfile.read_logs(str(log))]
    assert lines[-1] == b"line 39\n"
    assert lines == [b"line %02d\n" % i for i in range(40 - len(lines), 40)]
    assert len(lines) > 10
    assert [e.line for e in logfile.read_logs(str(log), tail=12)] == lines[-12:]
    assert list(logfile.read_logs(str(log), tail=0)) == []


def test_single_file_rotation_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "container.log"
    writer = locallog.LocalWriter(str(log), max_size=100, max_file=1, compress=True)
    for i in range(20):
        writer.write("stdout", b"line %02d\n" % i)
    writer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["container.log"]
    assert [r.line for r in records(log)][-1] == b"line 19"


def test_writer_makes_dockers_local_logs_directory(tmp_path: Path) -> None:
    log = tmp_path / "local-logs" / "container.log"
    writer = logfile.open_writer("local", str(log))
    writer.write("stdout", b"hi\n")
    writer.close()
    assert log.read_bytes()[:4] == b"\x00\x00\x00\x16"
    assert [e.line for e in logfile.read_logs(str(log))] == [b"hi\n"]


def test_open_writer_local_defaults(tmp_path: Path) -> None:
    writer = logfile.open_writer("local", str(tmp_path / "container.log"))
    assert isinstance(writer, locallog.LocalWriter)
    assert (writer.max_size, writer.max_file, writer.compress) == (20 * 1024 * 1024, 5, True)
    writer.close()
    writer = logfile.open_writer("local", str(tmp_path / "other.log"), max_size=1000, max_file=2, compress=False)
    assert isinstance(writer, locallog.LocalWriter)
    assert (writer.max_size, writer.max_file, writer.compress) == (1000, 2, False)
    writer.close()


def test_reader_entries_carry_stream_and_time(tmp_path: Path) -> None:
    log = tmp_path / "container.log"
    writer = locallog.LocalWriter(str(log), clock=clock())
    writer.write("stdout", b"a\n")
    writer.write("stderr", b"b\n")
    writer.close()
    assert list(logfile.read_logs(str(log))) == [
        logfile.LogEntry("stdout", "2023-11-14T22:13:20Z", b"a\n"),
        logfile.LogEntry("stderr", "2023-11-14T22:13:21Z", b"b\n")]


def test_since_skips_compressed_files_by_their_last_time(tmp_path: Path) -> None:
    log = tmp_path / "container.log"
    writer = locallog.LocalWriter(str(log), max_size=100, max_file=4, compress=True, clock=clock())
    for i in range(12):
        writer.write("stdout", b"line %02d\n" % i)
    writer.close()
    gz = sorted(tmp_path.glob("*.gz"))
    assert gz
    for path in gz:  # a corrupt body behind a header that says "too old" is never decompressed
        raw = path.read_bytes()
        path.write_bytes(raw[:12 + int.from_bytes(raw[10:12], "little")] + b"garbage")
    since = BASE / 1e9 + 11
    assert [e.line for e in logfile.read_logs(str(log), since=since)] == [b"line 11\n"]


def test_reader_ignores_a_torn_last_record(tmp_path: Path) -> None:
    log = tmp_path / "container.log"
    second = locallog.encode_record(Record("stdout", BASE, b"second"))
    log.write_bytes(GOLDEN + second[:-2])
    assert [e.line for e in logfile.read_logs(str(log))] == [b"hi\n"]
    assert [e.line for e in logfile.read_logs(str(log), tail=5)] == [b"hi\n"]

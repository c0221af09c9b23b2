"""The json-file writer, its rotation, and the reader behind ``logs``."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.shim import locallog, logfile

BASE = 1_700_000_000 * 1_000_000_000


def clock() -> Callable[[], int]:
    counter = itertools.count()
    return lambda: BASE + next(counter) * 1_000_000_000


def entries(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_time_format_and_parse() -> None:
    assert logfile.format_time(BASE) == "2023-11-14T22:13:20Z"
    assert logfile.format_time(BASE + 120_000_000) == "2023-11-14T22:13:20.12Z"
    assert logfile.format_time(BASE + 1) == "2023-11-14T22:13:20.000000001Z"
    for ns in (BASE, BASE + 1, BASE + 123_456_789):
        assert logfile.parse_time(logfile.format_time(ns)) == ns
    assert logfile.parse_time("2023-11-14T23:13:20.5+01:00") == BASE + 500_000_000


def test_lines_split_at_newlines_in_docker_format(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    writer = logfile.JsonFileWriter(str(log), clock=clock())
    writer.write("stdout", b"hel")
    writer.write("stderr", b"oops\n")
    writer.write("stdout", b"lo\nwor")
    writer.write("stdout", "ld \xe9\n".encode() + b"\xff\n")
    writer.write("stdout", b"tail")
    writer.close()
    got = entries(log)
    assert [(e["stream"], e["log"]) for e in got] == [
        ("stderr", "oops\n"), ("stdout", "hello\n"), ("stdout", "world é\n"), ("stdout", "\ufffd\n"),
        ("stdout", "tail")]
    assert got[0]["time"] == "2023-11-14T22:13:20Z"
    assert log.read_text().splitlines()[0] == '{"log":"oops\\n","stream":"stderr","time":"2023-11-14T22:13:20Z"}'


def test_long_lines_are_written_in_pieces(tmp_path: Path) -> None:
    log = tmp_path / "log"
    writer = logfile.JsonFileWriter(str(log))
    writer.write("stdout", b"a" * (logfile.PARTIAL_SIZE * 2 + 10) + b"\nshort\n")
    writer.close()
    sizes = [len(e["log"]) for e in entries(log)]
    assert sizes == [logfile.PARTIAL_SIZE, logfile.PARTIAL_SIZE, 11, 6]


def test_rotation_keeps_max_file_files(tmp_path: Path) -> None:
    log = tmp_path / "log"
    writer = logfile.JsonFileWriter(str(log), max_size=300, max_file=3, clock=clock())
    for i in range(40):
        writer.write("stdout", b"line %02d\n" % i)
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "log.1", "log.2"]
    assert all(p.stat().st_size <= 300 for p in tmp_path.iterdir())
    lines = [e.line for e in logfile.read_logs(str(log))]
    assert lines[-1] == b"line 39\n"
    assert lines == [b"line %02d\n" % i for i in range(40 - len(lines), 40)]
    assert [e.line for e in logfile.read_logs(str(log), tail=3)] == [b"line 37\n", b"line 38\n", b"line 39\n"]
    assert list(logfile.read_logs(str(log), tail=0)) == []


def test_compressed_rotation_as_docker_json_file(tmp_path: Path) -> None:
    import gzip
    import json

    log = tmp_path / "log"
    writer = logfile.JsonFileWriter(str(log), max_size=300, max_file=3, compress=True, clock=clock())
    for i in range(40):
        writer.write("stdout", b"line %02d\n" % i)
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "log.1.gz", "log.2.gz"]
    # each rotated file is a gzip member of json-file lines, its header's Extra naming the last time
    with gzip.open(tmp_path / "log.1.gz", "rb") as f:
        rotated = [json.loads(line) for line in f.read().splitlines()]
    assert rotated and all(set(e) == {"log", "stream", "time"} for e in rotated)
    lines = [e.line for e in logfile.read_logs(str(log))]
    assert lines == [b"line %02d\n" % i for i in range(40 - len(lines), 40)] and len(lines) > 10
    assert [e.line for e in logfile.read_logs(str(log), tail=2)] == [b"line 38\n", b"line 39\n"]


def test_compression_needs_a_file_to_rotate_into(tmp_path: Path) -> None:
    writer = logfile.JsonFileWriter(str(tmp_path / "log"), max_size=100, max_file=1, compress=True)
    assert not writer.compress
    writer.close()


def test_single_file_rotation_truncates(tmp_path: Path) -> None:
    log = tmp_path / "log"
    writer = logfile.JsonFileWriter(str(log), max_size=200, max_file=1)
    for i in range(20):
        writer.write("stdout", b"line %02d\n" % i)
    writer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["log"]
    assert log.stat().st_size <= 200


@pytest.mark.parametrize("make_writer", [
    lambda path: logfile.JsonFileWriter(path, clock=clock()),
    lambda path: locallog.LocalWriter(path, clock=clock()),
], ids=["json-file", "local"])
def test_reader_filters(tmp_path: Path, make_writer: Callable[[str], logfile.LogWriter]) -> None:
    log = tmp_path / "log"
    writer = make_writer(str(log))
    for i in range(6):
        writer.write("stdout" if i % 2 == 0 else "stderr", b"%d\n" % i)
    writer.close()
    read = lambda **kw: [e.line for e in logfile.read_logs(str(log), **kw)]  # noqa: E731
    assert read() == [b"0\n", b"1\n", b"2\n", b"3\n", b"4\n", b"5\n"]
    assert read(stderr=False) == [b"0\n", b"2\n", b"4\n"]
    assert read(stdout=False, tail=2) == [b"3\n", b"5\n"]
    since = BASE / 1e9 + 2
    assert read(since=since) == [b"2\n", b"3\n", b"4\n", b"5\n"]
    assert read(since=since, until=since + 1) == [b"2\n", b"3\n"]
    assert read(timestamps=True, tail=1) == [b"2023-11-14T22:13:25Z 5\n"]
    assert list(logfile.read_logs(str(tmp_path / "missing"))) == []


def test_reader_skips_torn_lines(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_bytes(b'{"log":"a\\n","stream":"stdout","time":"2023-11-14T22:13:20Z"}\n{"log":"b\n'
                    b'not json\n')
    assert [e.line for e in logfile.read_logs(str(log))] == [b"a\n"]


WRITERS = {
    "json-file": lambda path: logfile.JsonFileWriter(path, max_size=0, max_file=5),
    "json-file rotated": lambda path: logfile.JsonFileWriter(path, max_size=250, max_file=5),
    "local rotated and compressed": lambda path: locallog.LocalWriter(path, max_size=150, max_file=5, compress=True),
}


@pytest.mark.parametrize("kind", WRITERS)
def test_follow_sees_new_lines_across_rotation_and_stops(tmp_path: Path, kind: str) -> None:
    log = tmp_path / "log"
    writer = WRITERS[kind](str(log))
    writer.write("stdout", b"before\n")
    done = threading.Event()

    def produce() -> None:
        for i in range(15):
            writer.write("stdout", b"live %02d\n" % i)
            time.sleep(0.01)
        writer.close()
        done.set()

    thread = threading.Thread(target=produce)
    got: list[bytes] = []
    reader = logfile.read_logs(str(log), follow=True, stop=done.is_set, poll_interval=0.005)
    got.append(next(reader).line)
    thread.start()
    got += [e.line for e in reader]
    thread.join()
    assert got == [b"before\n"] + [b"live %02d\n" % i for i in range(15)]


@pytest.mark.parametrize("kind", ["json-file", "local"])
def test_follow_with_tail_starts_at_the_end(tmp_path: Path, kind: str) -> None:
    log = tmp_path / "log"
    writer = logfile.JsonFileWriter(str(log)) if kind == "json-file" else locallog.LocalWriter(str(log))
    for i in range(5):
        writer.write("stdout", b"%d\n" % i)
    writer.close()
    got = [e.line for e in logfile.read_logs(str(log), tail=1, follow=True, stop=lambda: True)]
    assert got == [b"4\n"]
    assert list(logfile.read_logs(str(log), tail=0, follow=True, stop=lambda: True)) == []


def test_open_writer_drivers(tmp_path: Path) -> None:
    none = logfile.open_writer("none", str(tmp_path / "x"))
    none.write("stdout", b"gone\n")
    none.close()
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError):
        logfile.open_writer("syslog", str(tmp_path / "x"))


def test_entries_are_quoted_and_carry_attributes_as_docker_writes_them(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    writer = logfile.JsonFileWriter(str(log), clock=clock(), attrs={"z": "1", "E1": "v 1&x"})
    writer.write("stdout", "<a&b> \u2028 \x01 \x7f \\b\b\f \u00e9\n".encode())
    writer.close()
    # byte for byte what Docker 20.10's json-file wrote for the same line and options
    assert log.read_bytes() == (
        b'{"log":"\\u003ca\\u0026b\\u003e \\u2028 \\u0001 \x7f \\\\b\\u0008\\u000c \xc3\xa9\\n","stream":"stdout",'
        b'"attrs":{"E1":"v 1\\u0026x","z":"1"},"time":"2023-11-14T22:13:20Z"}\n')
    assert json.loads(log.read_bytes())["log"] == "<a&b> \u2028 \x01 \x7f \\b\b\f \u00e9\n"

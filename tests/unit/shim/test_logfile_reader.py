"""The json-file reader's fast path against a plain json.loads reading of the same files."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from dockyard.shim import logfile

BASE = 1_700_000_000 * 1_000_000_000


def clock() -> Callable[[], int]:
    counter = itertools.count()
    # uneven fractions, so trimmed RFC3339Nano texts of every length occur
    return lambda: BASE + next(counter) * 123_456_700


def reference(path: Path, *, stdout: bool = True, stderr: bool = True, since: float | None = None,
              until: float | None = None, tail: int | None = None, timestamps: bool = False,
              details: bool = False, **_: Any) -> list[logfile.LogEntry]:
    """What the reader must return: every line through json.loads, then the filters, then tail."""
    out = []
    for name in logfile.log_files(str(path)):
        for raw in Path(name).read_bytes().split(b"\n")[:-1]:
            try:
                obj = json.loads(raw)
                entry = logfile.LogEntry(obj["stream"], obj["time"], obj["log"].encode())
                if details:  # dockerd's attrsByteSlice: sorted, query-escaped, then a space
                    attrs = sorted((obj.get("attrs") or {}).items())
                    prefix = ",".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in attrs) + " "
                    entry = entry._replace(line=prefix.encode() + entry.line)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if entry.stream not in {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}:
                continue
            ns = logfile.parse_time(entry.timestamp)
            if since is not None and ns < since * 1e9 or until is not None and ns > until * 1e9:
                continue
            if timestamps:
                entry = entry._replace(line=entry.timestamp.encode() + b" " + entry.line)
            out.append(entry)
    if tail is not None:
        out = out[-tail:] if tail else []
    return out


MIXED = [
    ("stdout", b"plain\n"), ("stderr", b"to stderr\n"), ("stdout", b'a "quoted" word\n'),
    ("stdout", b"tab\there\n"), ("stdout", "unicode \u00e9\u4e2d\n".encode()), ("stdout", b"back\\slash\n"),
    ("stdout", b"no newline at the end"), ("stdout", b"\n"), ("stdout", b"cr\r\n"), ("stderr", b"x" * 40 + b"\n"),
    ("stdout", "<b> & \b\f \u2028\n".encode()),
]


def write_log(path: Path, lines: list[tuple[str, bytes]], *, max_size: int = 0, max_file: int = 1,
              attrs: dict[str, str] | None = None) -> None:
    writer = logfile.JsonFileWriter(str(path), max_size=max_size, max_file=max_file, clock=clock(), attrs=attrs)
    for stream, data in lines:
        writer.write(stream, data)
        writer.end_stream(stream)  # so a line without newline stays its own entry
    writer.close()


QUERIES: list[dict[str, Any]] = [
    {}, {"stderr": False}, {"stdout": False}, {"tail": 3}, {"tail": 0}, {"tail": 1000}, {"stderr": False, "tail": 2},
    {"timestamps": True}, {"since": BASE / 1e9 + 1.0}, {"until": BASE / 1e9 + 1.0},
    {"since": BASE / 1e9 + 0.5, "until": BASE / 1e9 + 2.0, "tail": 2}, {"timestamps": True, "tail": 4},
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("small_reads", [False, True])
def test_reader_matches_json_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: dict[str, Any],
                                   small_reads: bool) -> None:
    if small_reads:  # batch and tail-walk boundaries in the middle of lines
        monkeypatch.setattr(logfile, "READ_SIZE", 97)
        monkeypatch.setattr(logfile, "FIRST_READ", 61)
    log = tmp_path / "c-json.log"
    write_log(log, MIXED * 3 + [("stdout", b"%d\n" % i) for i in range(30)], max_size=900, max_file=4)
    assert len(logfile.log_files(str(log))) == 4
    assert list(logfile.read_logs(str(log), **query)) == reference(log, **query)


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("attrs", [None, {"b": "2", "a k": "v 1&x", "\u00e9": "<>"}])
def test_details_put_the_attributes_before_each_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    query: dict[str, Any], attrs: dict[str, str] | None) -> None:
    monkeypatch.setattr(logfile, "READ_SIZE", 97)
    monkeypatch.setattr(logfile, "FIRST_READ", 61)
    log = tmp_path / "c-json.log"
    write_log(log, MIXED * 3, max_size=900, max_file=4, attrs=attrs)
    got = list(logfile.read_logs(str(log), details=True, **query))
    assert got == reference(log, details=True, **query)
    if attrs and got:
        assert got[0].line.split(b" ")[1 if query.get("timestamps") else 0] == b"a+k=v+1%26x,b=2,%C3%A9=%3C%3E"


def test_details_of_a_local_log_are_a_space(tmp_path: Path) -> None:
    log = tmp_path / "container.log"
    writer = logfile.open_writer("local", str(log))
    writer.write("stdout", b"a\n")
    writer.write("stderr", b"b\n")
    writer.close()
    assert [(e.stream, e.line) for e in logfile.read_logs(str(log), details=True)] == [
        ("stdout", b" a\n"), ("stderr", b" b\n")]
    assert [e.line for e in logfile.read_logs(str(log), details=True, tail=1)] == [b" b\n"]


def test_lines_written_by_docker_and_torn_lines(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    log.write_bytes(
        b'{"log":"plain\\n","stream":"stdout","time":"2023-11-14T22:13:20.5Z"}\n'
        b'{"log":"with attrs\\n","stream":"stdout","attrs":{"tag":"x"},"time":"2023-11-14T22:13:21Z"}\n'
        b'{"log":"torn\n'
        b'{"log":"other\\n","stream":"stdin","time":"2023-11-14T22:13:22Z"}\n'
        b'{"log":"no time\\n","stream":"stdout"}\n'
        b'{"log":"\\u00e9\\n","stream":"stderr","time":"2023-11-14T23:13:23+01:00"}\n'
        b'{"log":"being written')
    assert list(logfile.read_logs(str(log))) == [
        logfile.LogEntry("stdout", "2023-11-14T22:13:20.5Z", b"plain\n"),
        logfile.LogEntry("stdout", "2023-11-14T22:13:21Z", b"with attrs\n"),
        logfile.LogEntry("stderr", "2023-11-14T23:13:23+01:00", "\u00e9\n".encode())]
    assert [e.line for e in logfile.read_logs(str(log), since=BASE / 1e9 + 2.5)] == ["\u00e9\n".encode()]
    assert [e.line for e in logfile.read_logs(str(log), tail=1)] == ["\u00e9\n".encode()]


def test_batches_of_one_stream_come_as_lines(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write_log(log, [("stdout", b"%d\n" % i) for i in range(5)])
    [batch] = list(logfile.read_logs(str(log)).batches())
    assert isinstance(batch, logfile.StreamLines)
    assert (batch.stream, list(batch)) == (b"stdout", [b"0", b"1", b"2", b"3", b"4"])
    assert batch.records()[0] == (b"0\n", b"stdout", b"")
    [timed] = list(logfile.read_logs(str(log), tail=2).batches(with_time=True))
    assert [(line, stream) for line, stream, _ in timed] == [(b"3\n", b"stdout"), (b"4\n", b"stdout")]
    assert [logfile.parse_time(t.decode()) for _, _, t in timed] == [BASE + 3 * 123_456_700, BASE + 4 * 123_456_700]
    assert list(logfile.read_logs(str(log), stdout=False).batches()) == []


def test_a_reader_is_read_once(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write_log(log, [("stdout", b"a\n")])
    reader = logfile.read_logs(str(log))
    assert next(reader).line == b"a\n"
    with pytest.raises(RuntimeError):
        reader.batches()
    reader.close()


def test_follow_after_tail_reads_only_new_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write_log(log, [("stdout", b"%d\n" % i) for i in range(3)])
    with open(log, "ab") as f:
        f.write(b'{"log":"half')
    done = False
    reader = logfile.read_logs(str(log), tail=1, follow=True, stop=lambda: done, poll_interval=0.001)
    assert next(reader).line == b"2\n"
    with open(log, "ab") as f:
        f.write(b' line\\n","stream":"stdout","time":"2023-11-14T22:13:30Z"}\n')
    assert next(reader).line == b"half line\n"
    done = True
    assert list(reader) == []


def test_log_files_lists_plain_and_compressed_rotations(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    for name in ("c.log", "c.log.1", "c.log.1.gz", "c.log.2.gz", "c.log.3", "c.log.x", "c.log.1.gz.tmp", "c.log.04"):
        (tmp_path / name).write_bytes(b"")
    assert logfile.log_files(str(log)) == [str(tmp_path / n) for n in ("c.log.3", "c.log.2.gz", "c.log.1", "c.log")]


def test_open_writer_limits_default_per_driver(tmp_path: Path) -> None:
    writer = logfile.open_writer("json-file", str(tmp_path / "j.log"))
    assert isinstance(writer, logfile.JsonFileWriter)
    assert (writer.max_size, writer.max_file) == (logfile.DEFAULT_MAX_SIZE, logfile.DEFAULT_MAX_FILE)
    writer.close()

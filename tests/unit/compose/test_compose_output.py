"""What compose prints: progress events and prefixed container output."""

from __future__ import annotations

import io

from dockyard.client.stdcopy import frame
from dockyard.compose import progress as P
from dockyard.compose.logs import LineBuffer, LogPrinter, LogSession, split_output
from dockyard.compose.progress import Progress, event_line


def test_progress_lines() -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress.network("demo_default", P.CREATING)
    progress.network("demo_default", P.CREATED)
    progress.volume("demo_data", P.CREATING)
    progress.volume("demo_data", P.REMOVED, quoted=False)
    progress.container("demo-db-1", P.HEALTHY)
    progress.event("web", P.PULLING)
    progress.warn("careful")
    assert out.getvalue() == (
        " Network demo_default  Creating\n"
        " Network demo_default  Created\n"
        ' Volume "demo_data"  Creating\n'
        " Volume demo_data  Removed\n"
        " Container demo-db-1  Healthy\n"
        " web  Pulling\n"
        "WARN[0000] careful\n"
    )
    assert event_line("Container x", "Started") == " Container x  Started"
    quiet = io.StringIO()
    Progress(quiet, quiet=True).container("x", P.STARTED)
    assert quiet.getvalue() == ""


def test_prefixes_are_padded_to_the_longest_name() -> None:
    out = io.StringIO()
    printer = LogPrinter(out)
    printer.register("db-1")
    printer.register("frontend-1")
    printer.line("db-1", "ready")
    printer.line("frontend-1", "up")
    printer.status("db-1", "exited with code 0")
    assert out.getvalue() == "db-1        | ready\nfrontend-1  | up\ndb-1 exited with code 0\n"


def test_single_service_prefix_and_no_prefix() -> None:
    out = io.StringIO()
    LogPrinter(out).line("web-1", "hello")
    LogPrinter(out, prefix=False).line("web-1", "bare")
    assert out.getvalue() == "web-1  | hello\nbare\n"


def test_stderr_goes_to_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    LogPrinter(out, err).line("a-1", "oops", stderr=True)
    assert (out.getvalue(), err.getvalue()) == ("", "a-1  | oops\n")


def test_line_buffer_and_demux() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"par") == []
    assert buffer.feed(b"tial\r\nnext\nla") == ["partial", "next"]
    assert buffer.flush() == ["la"]
    chunks = [frame(1, b"out 1\nout"), frame(2, b"err\n"), frame(1, b" 2\n")]
    data = b"".join(chunks)
    assert list(split_output([data[:5], data[5:17], data[17:]], framed=True)) == [
        (1, "out 1"), (2, "err"), (1, "out 2")]
    assert list(split_output([b"tty line\r\nno newline"], framed=False)) == [(1, "tty line"), (1, "no newline")]


def test_log_session_prints_every_stream_to_the_end() -> None:
    out = io.StringIO()
    session = LogSession(LogPrinter(out))
    session.add("a", "a-1", iter([frame(1, b"one\n"), frame(1, b"two\n")]), framed=True)
    session.add("b", "bb-1", iter([b"three\n"]), framed=False)
    ended: list[str] = []
    session.run(lambda key: ended.append(key) is not None)
    lines = out.getvalue().splitlines()
    assert sorted(lines) == ["a-1   | one", "a-1   | two", "bb-1  | three"]
    assert lines.index("a-1   | one") < lines.index("a-1   | two")
    assert sorted(ended) == ["a", "b"]

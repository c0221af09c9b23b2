"""Container logs on disk: Docker's json-file format with size rotation, and a reader for ``logs``.

One JSON object per line: ``{"log":"hi\\n","stream":"stdout","time":"<RFC3339Nano>"}``. Output is
split at newlines; a line longer than ``PARTIAL_SIZE`` is written in pieces without the newline,
as Docker does. Rotation keeps ``max_file`` files in all: ``<log>``, ``<log>.1`` (newest rotated) …
"""

from __future__ import annotations

import calendar
import collections
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol

PARTIAL_SIZE = 16 * 1024
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILE = 3


class LogEntry(NamedTuple):
    stream: str
    timestamp: str
    line: bytes


class LogWriter(Protocol):
    def write(self, stream: str, data: bytes) -> None: ...

    def end_stream(self, stream: str) -> None: ...

    def close(self) -> None: ...


def format_time(ns: int) -> str:
    """RFC3339Nano in UTC, trailing zeros of the fraction trimmed as Go does."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def parse_time(text: str) -> int:
    """Nanoseconds since the epoch from an RFC3339(Nano) UTC or offset timestamp."""
    base = calendar.timegm((int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                            int(text[14:16]), int(text[17:19]), 0, 0, 0))
    rest = text[19:]
    frac = 0
    if rest.startswith("."):
        digits = 0
        while 1 + digits < len(rest) and rest[1 + digits].isdigit():
            digits += 1
        frac = int(rest[1:1 + digits][:9].ljust(9, "0"))
        rest = rest[1 + digits:]
    offset = 0
    if rest and rest[0] in "+-":
        sign = 1 if rest[0] == "+" else -1
        offset = sign * (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60)
    return (base - offset) * 1_000_000_000 + frac


class NullWriter:
    """``--log-driver none``."""

    def write(self, stream: str, data: bytes) -> None:
        pass

    def end_stream(self, stream: str) -> None:
        pass

    def close(self) -> None:
        pass


class JsonFileWriter:
    """Appends entries and rotates by size; every entry is one ``os.write`` so readers see whole lines."""

    def __init__(self, path: str, *, max_size: int = DEFAULT_MAX_SIZE, max_file: int = DEFAULT_MAX_FILE,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.path = path
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self._clock = clock
        self._partial: dict[str, bytearray] = {}
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._size = os.fstat(self._fd).st_size

    def write(self, stream: str, data: bytes) -> None:
        buf = self._partial.setdefault(stream, bytearray())
        buf += data
        while True:
            newline = buf.find(b"\n")
            if newline < 0 or newline >= PARTIAL_SIZE:
                break
            self._emit(stream, bytes(buf[:newline + 1]))
            del buf[:newline + 1]
        while len(buf) >= PARTIAL_SIZE:
            self._emit(stream, bytes(buf[:PARTIAL_SIZE]))
            del buf[:PARTIAL_SIZE]
            while (newline := buf.find(b"\n")) >= 0 and newline < PARTIAL_SIZE:
                self._emit(stream, bytes(buf[:newline + 1]))
                del buf[:newline + 1]

    def end_stream(self, stream: str) -> None:
        buf = self._partial.pop(stream, None)
        if buf:
            self._emit(stream, bytes(buf))

    def close(self) -> None:
        for stream in list(self._partial):
            self.end_stream(stream)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _emit(self, stream: str, line: bytes) -> None:
        entry = {"log": line.decode("utf-8", "replace"), "stream": stream, "time": format_time(self._clock())}
        record = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        if self.max_size > 0 and self._size > 0 and self._size + len(record) > self.max_size:
            self._rotate()
        os.write(self._fd, record)
        self._size += len(record)

    def _rotate(self) -> None:
        os.close(self._fd)
        keep = self.max_file - 1
        if keep <= 0:
            os.unlink(self.path)
        else:
            for n in range(keep, 0, -1):
                older = f"{self.path}.{n - 1}" if n > 1 else self.path
                if os.path.exists(older):
                    os.replace(older, f"{self.path}.{n}")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._size = 0


def open_writer(driver: str, path: str, *, max_size: int = DEFAULT_MAX_SIZE,
                max_file: int = DEFAULT_MAX_FILE) -> LogWriter:
    """``json-file`` and ``local`` both write this format (``local`` differs from Docker's protobuf)."""
    if driver == "none":
        return NullWriter()
    if driver in ("json-file", "local"):
        return JsonFileWriter(path, max_size=max_size, max_file=max_file)
    raise ValueError(f"unknown log driver {driver!r}")


def log_files(path: str) -> list[str]:
    """The rotated files oldest first, then the live one."""
    rotated = []
    n = 1
    while os.path.exists(f"{path}.{n}"):
        rotated.append(f"{path}.{n}")
        n += 1
    return [*reversed(rotated), path]


def _decode(raw: bytes) -> LogEntry | None:
    try:
        obj = json.loads(raw)
        return LogEntry(str(obj["stream"]), str(obj["time"]), str(obj["log"]).encode())
    except (ValueError, KeyError, TypeError):
        return None  # a torn or foreign line: skip it as Docker does


class _Filter:
    def __init__(self, stdout: bool, stderr: bool, since: float | None, until: float | None,
                 timestamps: bool) -> None:
        self.streams = {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}
        self.since = int(since * 1_000_000_000) if since else None
        self.until = int(until * 1_000_000_000) if until else None
        self.timestamps = timestamps
        self.past_until = False

    def apply(self, raw: bytes) -> LogEntry | None:
        entry = _decode(raw)
        if entry is None or entry.stream not in self.streams:
            return None
        if self.since is not None or self.until is not None:
            ns = parse_time(entry.timestamp)
            if self.since is not None and ns < self.since:
                return None
            if self.until is not None and ns > self.until:
                self.past_until = True
                return None
        if self.timestamps:
            return entry._replace(line=entry.timestamp.encode() + b" " + entry.line)
        return entry


def read_logs(path: str, *, stdout: bool = True, stderr: bool = True, since: float | None = None,
              until: float | None = None, tail: int | None = None, follow: bool = False,
              timestamps: bool = False, stop: Callable[[], bool] | None = None,
              poll_interval: float = 0.05) -> Iterator[LogEntry]:
    """Entries of a json-file log across its rotated files; ``since``/``until`` are Unix seconds.

    With ``follow`` it keeps polling for new lines (surviving rotation) until ``stop()`` is true and
    everything written so far has been read; without ``stop`` it follows forever.
    """
    filt = _Filter(stdout, stderr, since, until, timestamps)
    live: int | None = None
    try:
        live = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        if not follow:
            return
    history: Iterator[LogEntry] = _history(path, live, filt)
    if tail is not None and tail >= 0:
        # The deque consumes the whole history, which also moves the live file to its end.
        history = iter(collections.deque(history, maxlen=tail))
    yield from history
    if not follow or filt.past_until:
        if live is not None:
            os.close(live)
        return
    yield from _follow(path, live, filt, stop, poll_interval)


def _history(path: str, live: int | None, filt: _Filter) -> Iterator[LogEntry]:
    files = log_files(path)[:-1]
    for name in files:
        try:
            with open(name, "rb") as f:
                for raw in f:
                    entry = filt.apply(raw)
                    if entry is not None:
                        yield entry
        except FileNotFoundError:
            continue  # rotated away while we read
    if live is not None:
        # Read the live file through the descriptor opened first: a rotation meanwhile does not lose it.
        pos = os.lseek(live, 0, os.SEEK_CUR)
        with os.fdopen(os.dup(live), "rb") as f:
            f.seek(pos)
            data = f.read()
        complete = data.rfind(b"\n") + 1
        os.lseek(live, pos + complete, os.SEEK_SET)
        for raw in data[:complete].splitlines():
            entry = filt.apply(raw)
            if entry is not None:
                yield entry


def _follow(path: str, live: int | None, filt: _Filter, stop: Callable[[], bool] | None,
            poll_interval: float) -> Iterator[LogEntry]:
    pending = b""
    try:
        while True:
            finished = stop() if stop is not None else False
            got = False
            if live is not None:
                while chunk := os.read(live, 1 << 16):
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for raw in lines:
                        got = True
                        entry = filt.apply(raw)
                        if entry is not None:
                            yield entry
                        if filt.past_until:
                            return
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is not None and (live is None or os.fstat(live).st_ino != current.st_ino):
                # Rotated (or created): the old file is drained, switch to the new one.
                if live is not None:
                    os.close(live)
                live, pending = os.open(path, os.O_RDONLY | os.O_CLOEXEC), b""
                continue
            if finished and not got:
                return
            if not got:
                time.sleep(poll_interval)
    finally:
        if live is not None:
            os.close(live)

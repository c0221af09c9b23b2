"""Container logs on disk: Docker's json-file format with size rotation, and a reader for ``logs``.

One JSON object per line: ``{"log":"hi\\n","stream":"stdout","time":"<RFC3339Nano>"}``. Output is
split at newlines; a line longer than ``PARTIAL_SIZE`` is written in pieces without the newline,
as Docker does. Rotation keeps ``max_file`` files in all: ``<log>``, ``<log>.1`` (newest rotated) …
"""

from __future__ import annotations

import _json
import os
import time
import zlib

from dockyard.shim import locallog
from dockyard.shim.logrotate import RotatingWriter
from dockyard.shim.logrotate import format_time as format_time  # the entries' time format, also for readers

# Shims import this module for the writers: what the readers need (re, json, typing) is imported
# where they run, which is in the daemon.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Generator, Iterator, Mapping
    from typing import Any, NamedTuple, Protocol
else:
    from dockyard.namedtuples import NamedTuple

    Protocol = object

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


_encode_text = _json.encode_basestring  # what json.dumps(ensure_ascii=False) quotes strings with
# What Docker's writer escapes as \uXXXX where json.dumps would not (HTML characters and the two
# JavaScript line terminators) or would use a short escape (\b, \f).
_GO_ESCAPED = ("<", ">", "&", "\u2028", "\u2029", "\b", "\f")
_GO_SHORT = {"\b": "\\b", "\f": "\\f"}


def go_json_string(text: str) -> str:
    """``text`` quoted as Docker's json-file writer quotes it."""
    quoted = _encode_text(text)
    if not ("<" in text or ">" in text or "&" in text or "\b" in text or "\f" in text
            or not text.isascii() and ("\u2028" in text or "\u2029" in text)):
        return quoted
    out = quoted[1:-1]
    for c in _GO_ESCAPED:
        if c in text:
            short = _GO_SHORT.get(c)
            out = _replace_escape(out, short, c) if short else out.replace(c, f"\\u{ord(c):04x}")
    return f'"{out}"'


def _replace_escape(quoted: str, short: str, char: str) -> str:
    """The escape ``short`` as \\uXXXX. Escaped backslashes are split out first: what remains of
    a backslash starts an escape, so a ``\\\\b`` (backslash, then b) is left alone."""
    parts = quoted.split("\\\\")
    return "\\\\".join(p.replace(short, f"\\u{ord(char):04x}") for p in parts)


def parse_time(text: str) -> int:
    """Nanoseconds since the epoch from an RFC3339(Nano) UTC or offset timestamp."""
    import calendar  # the reading side's: shims only format times

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


class JsonFileWriter(RotatingWriter):
    """Appends entries and rotates by size; every entry is one ``os.write`` so readers see whole lines."""

    def __init__(self, path: str, *, max_size: int = DEFAULT_MAX_SIZE, max_file: int = DEFAULT_MAX_FILE,
                 compress: bool = False, clock: Callable[[], int] = time.time_ns,
                 attrs: Mapping[str, str] | None = None) -> None:
        # rotated files gzip'd with compress=true, as Docker's json-file does
        super().__init__(path, max_size=max_size, max_file=max_file, compress=compress, clock=clock)
        # every entry's "attrs" (the container's labels and variables its log options name), as Go
        # writes a map: keys sorted
        self._attrs = (',"attrs":{' + ",".join(f"{go_json_string(k)}:{go_json_string(v)}"
                                                for k, v in sorted(attrs.items())) + "}") if attrs else ""

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

    def _emit(self, stream: str, line: bytes) -> None:
        self._last_time = self._clock()
        # json.dumps(..., ensure_ascii=False, separators=(",", ":")), field by field
        record = (f'{{"log":{go_json_string(line.decode("utf-8", "replace"))},"stream":{_encode_text(stream)}'
                  f'{self._attrs},"time":"{format_time(self._last_time)}"}}\n').encode()
        size = self._file.size
        if self.max_size > 0 and size > 0 and size + len(record) > self.max_size:  # before it would pass
            self._file.rotate(self._last_time)
        self._file.write(record)


def open_writer(driver: str, path: str, *, max_size: int | None = None, max_file: int | None = None,
                compress: bool | None = None, attrs: Mapping[str, str] | None = None) -> LogWriter:
    """The writer of a log driver; unset limits take the driver's defaults (Docker's for ``local``).
    ``attrs`` go into every json-file entry (the local driver has no place for them)."""
    if driver == "none":
        return NullWriter()
    if driver == "json-file":
        return JsonFileWriter(path, max_size=DEFAULT_MAX_SIZE if max_size is None else max_size,
                              max_file=DEFAULT_MAX_FILE if max_file is None else max_file,
                              compress=bool(compress), attrs=attrs)
    if driver == "local":
        return locallog.LocalWriter(
            path, max_size=locallog.DEFAULT_MAX_SIZE if max_size is None else max_size,
            max_file=locallog.DEFAULT_MAX_FILE if max_file is None else max_file,
            compress=locallog.DEFAULT_COMPRESS if compress is None else compress)
    raise ValueError(f"unknown log driver {driver!r}")


def log_files(path: str) -> list[str]:
    """The rotated files oldest first (``<log>.N`` or, compressed, ``<log>.N.gz``), then the live one."""
    directory, base = os.path.split(path)
    rotated: dict[int, str] = {}
    try:
        names = os.listdir(directory or ".")
    except FileNotFoundError:
        names = []
    prefix = base + "."
    for name in names:
        if not name.startswith(prefix):
            continue
        number = name[len(prefix):].removesuffix(".gz")
        # While a rotated file is being compressed both exist: the plain one is complete.
        if number.isdigit() and number[0] != "0" and (int(number) not in rotated or not name.endswith(".gz")):
            rotated[int(number)] = os.path.join(directory, name)
    return [rotated[n] for n in sorted(rotated, reverse=True)] + [path]


# ---- reading ------------------------------------------------------------------------------
#
# The reader works on batches of records ``(line, stream, time)``: ``line`` as ``logs`` shows it,
# ``stream`` b"stdout"/b"stderr", ``time`` the RFC3339 text (json-file) or nanoseconds (local), or
# b"" when nobody asked for it. A run of whole lines of one stream, when nobody asked for times,
# is a ``StreamLines`` instead: just the lines without their newlines, which is what json-file's
# fast path finds. ``LogEntry`` objects are only made for callers that iterate.

if TYPE_CHECKING:
    Record = tuple[bytes, bytes, Any]


class StreamLines(list[bytes]):
    """Lines of one stream, each shown followed by a newline; no times."""

    def __init__(self, stream: bytes, lines: list[bytes]) -> None:
        super().__init__(lines)
        self.stream = stream

    def records(self) -> list[tuple[bytes, bytes, bytes]]:
        stream, nl = self.stream, b"\n"
        return [(line + nl, stream, b"") for line in self]


if TYPE_CHECKING:
    Batch = list[Record] | StreamLines
READ_SIZE = 1 << 18  # 256 KiB: larger blocks buy no speed and leave the daemon megabytes bigger
FIRST_READ = 64 * 1024  # the first batch small, so the client starts writing at once
_NL = b"\n"
_STDOUT = b"stdout"
_STDERR = b"stderr"
_STREAMS = (_STDOUT, _STDERR)


def _json_pattern(stream: bytes | None, with_time: bool) -> re.Pattern[bytes]:
    import re

    # The exact layout json-file writers (this one and Docker's) produce for a whole line without
    # escapes other than its final newline; anything else goes through json.loads. Not anchored at
    # line starts (slower): in valid JSON the prefix cannot occur inside a line, and the caller
    # checks that every line matched.
    source = rb"(stdout|stderr)" if stream is None else re.escape(stream)
    stamp = rb"([0-9TZ:.+-]*)" if with_time else rb"[0-9TZ:.+-]*"
    return re.compile(rb'\{"log":"([^"\\\n]*)\\n","stream":"' + source + rb'","time":"' + stamp + rb'"\}\n')


_JSON_FAST: dict[tuple[bytes | None, bool], re.Pattern[bytes]] = {}


def _json_fast(stream: bytes | None, with_time: bool) -> re.Pattern[bytes]:
    pattern = _JSON_FAST.get((stream, with_time))
    if pattern is None:
        pattern = _JSON_FAST[(stream, with_time)] = _json_pattern(stream, with_time)
    return pattern


def _json_line(raw: bytes, with_time: bool) -> Record | None:
    import json

    try:
        obj = json.loads(raw)
        stream = obj["stream"].encode()
        stamp = obj["time"].encode()
        record = (obj["log"].encode(), stream, stamp if with_time else b"")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a torn or foreign line: skip it as Docker does
    return record if stream in _STREAMS else None


def _lines_end(data: bytes, start: int, stop: int) -> int:
    """Where the whole lines of ``data[start:stop]`` end (past ``stop`` for a first line longer than
    that); ``start`` when there is none."""
    end = data.rfind(_NL, start, stop) + 1
    if end <= start:
        end = data.find(_NL, stop) + 1
    return max(end, start)


def _decode_json(data: bytes, start: int, stop: int, with_time: bool) -> tuple[Batch, int]:
    """The records of the whole lines in ``data[start:stop]`` (at least one line if there is one)."""
    end = _lines_end(data, start, stop)
    if end == start:
        return [], start
    has_err = data.find(b'","stream":"stderr"', start, end) >= 0
    has_out = data.find(b'","stream":"stdout"', start, end) >= 0
    stream = None if has_err and has_out else _STDERR if has_err else _STDOUT
    pattern = _json_fast(stream, with_time)
    found = pattern.findall(data, start, end)
    if len(found) == data.count(_NL, start, end):
        nl = _NL
        if stream is None:
            if with_time:
                return [(c + nl, s, t) for c, s, t in found], end
            return [(c + nl, s, b"") for c, s in found], end
        if with_time:
            return [(c + nl, stream, t) for c, t in found], end
        return StreamLines(stream, found), end
    records: list[Record] = []
    single = _json_fast(None, True)
    pos = start
    while pos < end:
        nxt = data.index(_NL, pos) + 1
        m = single.fullmatch(data, pos, nxt)
        if m is not None:
            records.append((m[1] + _NL, m[2], m[3] if with_time else b""))
        elif (rec := _json_line(data[pos:nxt], with_time)) is not None:
            records.append(rec)
        pos = nxt
    return records, end


def _decode_local(data: bytes, start: int, stop: int, with_time: bool) -> tuple[Batch, int]:
    spans, end = locallog.split_records(data, start, limit=stop)
    records: list[Record] = []
    for a, b in spans:
        try:
            rec = locallog.decode_message(data, a, b)
        except ValueError:
            continue
        stream = rec.source.encode()
        if stream in _STREAMS:
            records.append((locallog.display_line(rec), stream, rec.time_nano))
    return records, end


if TYPE_CHECKING:
    _Decoder = Callable[[bytes, int, int, bool], tuple[Batch, int]]


def _decoder_for(first: bytes, details: bool = False) -> _Decoder:
    """Sniffed from a file's first byte: a json-file line starts with ``{``, a local record with the
    high byte of its size, 0. With ``details`` each line starts with its entry's attributes."""
    if first[:1] == b"\x00":
        return _decode_local_details if details else _decode_local
    return _decode_json_details if details else _decode_json


def details_prefix(attrs: Any) -> bytes:
    """What ``logs --details`` puts before a line: the attributes sorted by name, ``k=v`` joined
    by commas and query-escaped (as dockerd does), then a space."""
    from urllib.parse import quote_plus

    if not isinstance(attrs, dict) or not attrs:
        return b" "
    return ",".join(f"{quote_plus(str(k))}={quote_plus(str(v))}" for k, v in sorted(attrs.items())).encode() + b" "


def _decode_json_details(data: bytes, start: int, stop: int, with_time: bool) -> tuple[Batch, int]:
    """``_decode_json`` with each line after its attributes (every line parsed: no fast path)."""
    import json

    end = _lines_end(data, start, stop)
    if end == start:
        return [], start
    records: list[Record] = []
    for raw in data[start:end].splitlines():
        try:
            obj = json.loads(raw)
            stream = obj["stream"].encode()
            stamp = obj["time"].encode() if with_time else b""
            line = details_prefix(obj.get("attrs")) + obj["log"].encode()
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a torn or foreign line: skipped, as without details
        if stream in _STREAMS:
            records.append((line, stream, stamp))
    return records, end


def _decode_local_details(data: bytes, start: int, stop: int, with_time: bool) -> tuple[Batch, int]:
    records, end = _decode_local(data, start, stop, with_time)
    assert not isinstance(records, StreamLines)  # local records are never a bare run of lines
    return [(b" " + record[0], record[1], record[2]) for record in records], end


def _gzip_last_time(data: bytes) -> int | None:
    """The ``lastTime`` Docker keeps in the gzip header ``Extra`` of a compressed rotated file."""
    if len(data) < 12 or data[:2] != b"\x1f\x8b" or not data[3] & 4:
        return None
    size = int.from_bytes(data[10:12], "little")
    try:
        import json

        return parse_time(json.loads(data[12:12 + size])["lastTime"])
    except (ValueError, KeyError, TypeError, IndexError):
        return None


class _TimeCache:
    """RFC3339 text <-> nanoseconds for whole runs of entries within the same second."""

    def __init__(self) -> None:
        self._secs: dict[bytes, int] = {}
        self._texts: dict[int, str] = {}

    def ns(self, value: bytes | int) -> int:
        if isinstance(value, int):
            return value
        if len(value) >= 20 and value[-1:] == b"Z":
            base = self._secs.get(value[:19])
            if base is None:
                base = self._secs[value[:19]] = parse_time(value[:19].decode() + "Z")
            if value[19:20] == b".":
                digits = value[20:-1]
                return base + int(digits[:9].ljust(9, b"0")) if digits.isdigit() else parse_time(value.decode())
            return base if len(value) == 20 else parse_time(value.decode())
        return parse_time(value.decode())

    def text(self, value: bytes | int) -> bytes:
        if isinstance(value, bytes):
            return value
        secs, frac = divmod(value, 1_000_000_000)
        base = self._texts.get(secs)
        if base is None:
            if len(self._texts) > 4096:
                self._texts.clear()
            base = self._texts[secs] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
        if frac:
            return (f"{base}.{frac:09d}".rstrip("0") + "Z").encode()
        return (base + "Z").encode()


class LogReader:
    """The entries of a container log (json-file or local, across rotated and compressed files).

    Iterating gives ``LogEntry`` objects; ``batches()`` gives the same content as lists of records
    ``(line, stream, time_text)`` for bulk encoders. Either way the log is read once.
    """

    def __init__(self, path: str, *, stdout: bool = True, stderr: bool = True, since: float | None = None,
                 until: float | None = None, tail: int | None = None, follow: bool = False,
                 timestamps: bool = False, stop: Callable[[], bool] | None = None,
                 poll_interval: float = 0.05, since_ns: int | None = None, until_ns: int | None = None,
                 details: bool = False) -> None:
        self.path = path
        self.details = details  # each line after its entry's attributes, as ``logs --details``
        self.streams = frozenset(s for s, on in ((_STDOUT, stdout), (_STDERR, stderr)) if on)
        # nanoseconds, exact when given as such: a float of seconds cannot hold them
        self.since = since_ns if since_ns is not None else int(since * 1_000_000_000) if since else None
        self.until = until_ns if until_ns is not None else int(until * 1_000_000_000) if until else None
        self.tail = tail if tail is not None and tail >= 0 else None
        self.follow = follow
        self.timestamps = timestamps
        self.stop = stop
        self.poll_interval = poll_interval
        self.past_until = False
        self._times = _TimeCache()
        self._entries: Iterator[LogEntry] | None = None
        self._batches: Generator[list[tuple[bytes, bytes, bytes]] | StreamLines, None, None] | None = None
        self._live: int | None = None
        try:
            # Opened first: a rotation while the history is read does not lose the live file.
            self._live = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            pass

    # -- public ---------------------------------------------------------------------------

    def __iter__(self) -> LogReader:
        return self

    def __next__(self) -> LogEntry:
        if self._entries is None:
            self._entries = self._iter_entries()
        return next(self._entries)

    def batches(self, *, with_time: bool = False) -> Iterator[list[tuple[bytes, bytes, bytes]] | StreamLines]:
        """Lists of ``(line, stream, time)``, ``time`` the RFC3339 text; without ``with_time`` the
        times are b"" and a batch may be a ``StreamLines``."""
        if self._batches is not None or self._entries is not None:
            raise RuntimeError("the log is already being read")
        self._batches = self._generate(with_time)
        return self._batches

    def close(self) -> None:
        for gen in (self._entries, self._batches):
            close = getattr(gen, "close", None)
            if close is not None:
                close()
        self._close_live()

    # -- internals ------------------------------------------------------------------------

    def _iter_entries(self) -> Iterator[LogEntry]:
        self._batches = self._generate(True)
        for batch in self._batches:
            for line, stream, stamp in batch.records() if isinstance(batch, StreamLines) else batch:
                yield LogEntry(stream.decode(), stamp.decode(),
                               stamp + b" " + line if self.timestamps else line)

    def _close_live(self) -> None:
        if self._live is not None:
            os.close(self._live)
            self._live = None

    def _generate(self, with_time: bool) -> Generator[list[tuple[bytes, bytes, bytes]] | StreamLines, None, None]:
        need_time = with_time or self.since is not None or self.until is not None
        try:
            if self._live is None and not self.follow:
                return
            history = self._tail(self.tail, need_time) if self.tail is not None else self._history(need_time)
            for batch in history:
                if batch:
                    yield self._finish(batch, with_time)
            if self.follow and not self.past_until:
                for batch in self._follow(need_time):
                    yield self._finish(batch, with_time)
        finally:
            self._close_live()

    def _finish(self, batch: Batch, with_time: bool) -> list[tuple[bytes, bytes, bytes]] | StreamLines:
        if isinstance(batch, StreamLines) or not isinstance(batch[0][2], int):
            return batch
        if with_time:
            text = self._times.text
            return [(line, stream, text(stamp)) for line, stream, stamp in batch]
        return [(line, stream, b"") for line, stream, _ in batch]

    def _select(self, batch: Batch) -> Batch:
        if isinstance(batch, StreamLines):
            return batch if batch.stream in self.streams else []
        records = batch
        if len(self.streams) < 2:
            records = [r for r in records if r[1] in self.streams]
        if self.since is None and self.until is None:
            return records
        since, until, ns = self.since, self.until, self._times.ns
        out: list[Record] = []
        for r in records:
            t = ns(r[2])
            if since is not None and t < since:
                continue
            if until is not None and t > until:
                self.past_until = True
                continue
            out.append(r)
        return out

    def _sources(self) -> list[str]:
        return log_files(self.path)[:-1]

    def _whole(self, name: str) -> bytes | None:
        """A rotated file's content, decompressed; None when it is gone (rotated away meanwhile)."""
        for candidate in (name, name + ".gz") if not name.endswith(".gz") else (name,):
            try:
                with open(candidate, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            if candidate.endswith(".gz"):
                if self.since is not None:
                    last = _gzip_last_time(data)
                    if last is not None and last < self.since:
                        return b""
                import gzip  # the daemon's reading side only: shims never load it

                try:
                    return gzip.decompress(data)
                except (OSError, EOFError, zlib.error):
                    return None
            return data
        return None

    def _decode_all(self, data: bytes, need_time: bool) -> Iterator[Batch]:
        decode = _decoder_for(data, self.details)
        pos = 0
        while pos < len(data):
            records, end = decode(data, pos, pos + (READ_SIZE if pos else FIRST_READ), need_time)
            if end <= pos:
                break
            pos = end
            yield self._select(records)

    def _history(self, need_time: bool) -> Iterator[Batch]:
        for name in self._sources():
            data = self._whole(name)
            if data:
                yield from self._decode_all(data, need_time)
        if self._live is None:
            return
        live = self._live
        pos = os.lseek(live, 0, os.SEEK_CUR)
        decode: _Decoder | None = None
        pending = b""
        size = FIRST_READ
        while block := os.pread(live, size, pos):
            size = READ_SIZE
            pos += len(block)
            data = pending + block if pending else block
            if decode is None:
                decode = _decoder_for(data, self.details)
            records, used = decode(data, 0, len(data), need_time)
            pending = data[used:]
            yield self._select(records)
        os.lseek(live, pos - len(pending), os.SEEK_SET)

    def _tail(self, count: int, need_time: bool) -> list[Batch]:
        """The last ``count`` selected entries, as batches oldest first; read from the newest end."""
        newest_first: list[Batch] = []
        found = 0
        if self._live is not None:
            for batch in self._tail_live(count, need_time):
                newest_first.append(batch)
                found += len(batch)
        for name in reversed(self._sources()):
            if found >= count:
                break
            data = self._whole(name)
            if not data:
                continue
            for batch in reversed(list(self._decode_all(data, need_time))):
                newest_first.append(batch)
                found += len(batch)
        out: list[Batch] = []
        wanted = count
        for batch in newest_first:
            if wanted <= 0:
                break
            if len(batch) > wanted:
                batch = StreamLines(batch.stream, batch[-wanted:]) if isinstance(batch, StreamLines) else batch[-wanted:]
            out.append(batch)
            wanted -= len(batch)
        out.reverse()
        return out

    def _tail_live(self, count: int, need_time: bool) -> Iterator[Batch]:
        """Newest records first, block by block from the end; leaves the live file at its end."""
        assert self._live is not None
        live = self._live
        size = os.fstat(live).st_size
        head = os.pread(live, 1, 0)
        if not head:
            return
        if _decoder_for(head) is _decode_local:
            data = os.pread(live, size, 0)
            spans, end = locallog.split_records(data, 0)
            os.lseek(live, end, os.SEEK_SET)
            found = 0
            stop = len(spans)
            while stop > 0 and found < count:
                start = max(0, stop - max(count - found, 64))
                chunk = data[spans[start][0] - 4:spans[stop - 1][1] + 4]
                records = self._select(_decoder_for(head, self.details)(chunk, 0, len(chunk), need_time)[0])
                found += len(records)
                stop = start
                yield records
            return
        # json-file: whole lines only; the text after the last newline is still being written.
        tail_block = os.pread(live, min(size, READ_SIZE), max(0, size - READ_SIZE))
        end = max(0, size - len(tail_block)) + tail_block.rfind(_NL) + 1
        if end == 0 and size > len(tail_block):
            end = size - len(tail_block)  # a MiB without a newline: not a json-file this writer made
        os.lseek(live, end, os.SEEK_SET)
        found = 0
        suffix = b""
        while end > 0 and found < count:
            start = max(0, end - READ_SIZE)
            data = os.pread(live, end - start, start) + suffix
            cut = data.find(_NL) + 1 if start > 0 else 0
            if start > 0 and cut == 0:
                suffix, end = data, start
                continue
            records = self._select(_decoder_for(head, self.details)(data, cut, len(data), need_time)[0])
            suffix, end = data[:cut], start
            found += len(records)
            yield records

    def _follow(self, need_time: bool) -> Iterator[Batch]:
        live = self._live
        pending = b""
        decode: _Decoder | None = None
        while True:
            finished = self.stop() if self.stop is not None else False
            got = False
            if live is not None:
                while chunk := os.read(live, READ_SIZE):
                    got = True
                    pending += chunk
                    if decode is None:
                        decode = _decoder_for(pending, self.details)
                    records, used = decode(pending, 0, len(pending), need_time)
                    pending = pending[used:]
                    records = self._select(records)
                    if records:
                        yield records
                    if self.past_until:
                        return
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                current = None
            if current is not None and (live is None or os.fstat(live).st_ino != current.st_ino):
                # Rotated (or created): the old file is drained, switch to the new one.
                self._close_live()
                live = self._live = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                pending, decode = b"", None
                continue
            if finished and not got:
                return
            if not got:
                time.sleep(self.poll_interval)


def read_logs(path: str, *, stdout: bool = True, stderr: bool = True, since: float | None = None,
              until: float | None = None, tail: int | None = None, follow: bool = False,
              timestamps: bool = False, stop: Callable[[], bool] | None = None,
              poll_interval: float = 0.05, since_ns: int | None = None, until_ns: int | None = None,
              details: bool = False) -> LogReader:
    """Entries of a json-file or local log across its rotated files; ``since``/``until`` are Unix seconds.

    With ``follow`` it keeps polling for new lines (surviving rotation) until ``stop()`` is true and
    everything written so far has been read; without ``stop`` it follows forever.
    """
    return LogReader(path, stdout=stdout, stderr=stderr, since=since, until=until, tail=tail,
                     follow=follow, timestamps=timestamps, stop=stop, poll_interval=poll_interval,
                     since_ns=since_ns, until_ns=until_ns, details=details)

"""Docker's ``local`` log driver format: length-framed protobuf ``LogEntry`` records.

Each record is ``[uint32 BE size][LogEntry protobuf][uint32 BE size]``; the trailing copy of the
size lets a reader walk a file backwards (``--tail``). The message (moby's ``entry.proto``)::

    message LogEntry {
        string source = 1;  int64 time_nano = 2;  bytes line = 3;  bool partial = 4;
        PartialLogEntryMetadata partial_log_metadata = 5;
    }
    message PartialLogEntryMetadata { bool last = 1; string id = 2; int32 ordinal = 3; }

``line`` carries no trailing newline: a reader adds one unless the record is a partial that is
not the last of its line. Files rotate by size into ``<log>.1`` … and, with compression, every
rotated file becomes ``<log>.N.gz`` (a gzip member whose header ``Extra`` holds
``{"lastTime":"<RFC3339Nano>"}`` like Docker writes).
"""

from __future__ import annotations

import os
import struct
import time

from dockyard.shim.logrotate import RotatingWriter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NamedTuple
else:
    from dockyard.namedtuples import NamedTuple

DEFAULT_MAX_SIZE = 20 * 1024 * 1024
DEFAULT_MAX_FILE = 5
DEFAULT_COMPRESS = True
PARTIAL_SIZE = 16 * 1024
MAX_MESSAGE = 1_000_000  # Docker's reader refuses bigger messages

_SIZE = struct.Struct(">I")


class Record(NamedTuple):
    source: str
    time_nano: int
    line: bytes
    partial: bool = False
    last: bool = False
    partial_id: str = ""
    ordinal: int = 0


# ---- protobuf ---------------------------------------------------------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values take ten bytes, as in Go
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift >= 64:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_message(rec: Record) -> bytes:
    """The protobuf ``LogEntry`` (fields in number order, zero values omitted, as gogo-proto writes)."""
    out = bytearray()
    if rec.source:
        out += _field(1, rec.source.encode())
    if rec.time_nano:
        out += b"\x10" + _varint(rec.time_nano)
    if rec.line:
        out += _field(3, rec.line)
    if rec.partial:
        out += b"\x20\x01"
        meta = bytearray()
        if rec.last:
            meta += b"\x08\x01"
        if rec.partial_id:
            meta += _field(2, rec.partial_id.encode())
        if rec.ordinal:
            meta += b"\x18" + _varint(rec.ordinal)
        out += _field(5, bytes(meta))
    return bytes(out)


def encode_record(rec: Record) -> bytes:
    """One framed record: size, message, size."""
    msg = encode_message(rec)
    size = _SIZE.pack(len(msg))
    return size + msg + size


def _skip(buf: bytes, pos: int, end: int, wire: int) -> int:
    if wire == 0:
        return _read_varint(buf, pos, end)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        length, pos = _read_varint(buf, pos, end)
        return pos + length
    if wire == 5:
        return pos + 4
    raise ValueError(f"unsupported wire type {wire}")


def decode_message(buf: bytes, pos: int = 0, end: int | None = None) -> Record:
    """A ``LogEntry`` from ``buf[pos:end]``; unknown fields (newer attrs) are skipped."""
    end = len(buf) if end is None else end
    source, time_nano, line = "", 0, b""
    partial = last = False
    partial_id, ordinal = "", 0
    while pos < end:
        key, pos = _read_varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 1 and wire == 2:
            length, pos = _read_varint(buf, pos, end)
            source = buf[pos:pos + length].decode("utf-8", "replace")
            pos += length
        elif number == 2 and wire == 0:
            value, pos = _read_varint(buf, pos, end)
            time_nano = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3 and wire == 2:
            length, pos = _read_varint(buf, pos, end)
            line = buf[pos:pos + length]
            pos += length
        elif number == 4 and wire == 0:
            value, pos = _read_varint(buf, pos, end)
            partial = value != 0
        elif number == 5 and wire == 2:
            length, pos = _read_varint(buf, pos, end)
            meta_end = pos + length
            while pos < meta_end:
                key, pos = _read_varint(buf, pos, meta_end)
                number, wire = key >> 3, key & 7
                if number == 1 and wire == 0:
                    value, pos = _read_varint(buf, pos, meta_end)
                    last = value != 0
                elif number == 2 and wire == 2:
                    length, pos = _read_varint(buf, pos, meta_end)
                    partial_id = buf[pos:pos + length].decode("utf-8", "replace")
                    pos += length
                elif number == 3 and wire == 0:
                    value, pos = _read_varint(buf, pos, meta_end)
                    ordinal = value - (1 << 64) if value >= 1 << 63 else value
                else:
                    pos = _skip(buf, pos, meta_end, wire)
            pos = meta_end
        else:
            pos = _skip(buf, pos, end, wire)
        if pos > end:
            raise ValueError("truncated message")
    return Record(source, time_nano, line, partial, last, partial_id, ordinal)


def display_line(rec: Record) -> bytes:
    """The line as ``docker logs`` shows it: a newline unless it continues in the next record."""
    if rec.partial and not rec.last:
        return rec.line
    return rec.line + b"\n"


def split_records(data: bytes, pos: int = 0, limit: int | None = None) -> tuple[list[tuple[int, int]], int]:
    """The message spans ``(start, end)`` of the complete records in ``data[pos:]``, and where
    the complete part ends (a torn record at the end is left for the next read). With ``limit``
    it stops at the first record boundary at or past that offset."""
    spans: list[tuple[int, int]] = []
    end = len(data)
    limit = end if limit is None else limit
    unpack = _SIZE.unpack_from
    while pos + 8 <= end and pos < limit:
        (size,) = unpack(data, pos)
        stop = pos + 4 + size
        if size > MAX_MESSAGE:
            raise ValueError(f"log message is too large ({size} > {MAX_MESSAGE})")
        if stop + 4 > end:
            break
        if unpack(data, stop)[0] != size:
            raise ValueError("log message header and footer indicate different message sizes")
        spans.append((pos + 4, stop))
        pos = stop + 4
    return spans, pos


# ---- writer -------------------------------------------------------------------------------

class LocalWriter(RotatingWriter):
    """``--log-driver local``: framed protobuf records, rotation by size, gzip'd rotated files.

    As in Docker, a write goes to a new file once the current one has reached ``max_size`` (so a
    file may exceed it by one record); compression runs in a background thread, one at a time.
    """

    def __init__(self, path: str, *, max_size: int = DEFAULT_MAX_SIZE, max_file: int = DEFAULT_MAX_FILE,
                 compress: bool = DEFAULT_COMPRESS, clock: Callable[[], int] = time.time_ns) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)  # Docker's <container>/local-logs/
        super().__init__(path, max_size=max_size, max_file=max_file, compress=compress, clock=clock)
        self._partial_ids: dict[str, tuple[str, int]] = {}  # stream -> (id, last ordinal)

    def write(self, stream: str, data: bytes) -> None:
        buf = self._partial.setdefault(stream, bytearray())
        buf += data
        start = 0
        while True:
            newline = buf.find(b"\n", start, start + PARTIAL_SIZE)
            if newline >= 0:
                self._line(stream, bytes(buf[start:newline]), complete=True)
                start = newline + 1
            elif len(buf) - start >= PARTIAL_SIZE:
                self._line(stream, bytes(buf[start:start + PARTIAL_SIZE]), complete=False)
                start += PARTIAL_SIZE
            else:
                break
        del buf[:start]

    def end_stream(self, stream: str) -> None:
        buf = self._partial.pop(stream, None)
        if buf:
            self._line(stream, bytes(buf), complete=False)
        self._partial_ids.pop(stream, None)

    def _line(self, stream: str, line: bytes, *, complete: bool) -> None:
        ongoing = self._partial_ids.get(stream)
        if complete and ongoing is None:
            rec = Record(stream, self._clock(), line)
        else:
            pid, ordinal = ongoing if ongoing is not None else (os.urandom(32).hex(), 0)
            ordinal += 1
            rec = Record(stream, self._clock(), line, partial=True, last=complete, partial_id=pid, ordinal=ordinal)
            if complete:
                del self._partial_ids[stream]
            else:
                self._partial_ids[stream] = (pid, ordinal)
        self._emit(rec)

    def _emit(self, rec: Record) -> None:
        if self.max_size > 0 and self._file.size >= self.max_size:  # Docker's local driver: once past the size
            self._file.rotate(self._last_time)
        self._file.write(encode_record(rec))
        self._last_time = rec.time_nano

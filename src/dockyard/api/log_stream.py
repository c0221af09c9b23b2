"""The body of ``GET /containers/{id}/logs``: log entries as multiplexed frames (raw with a TTY).

A ``LogReader`` is encoded a batch at a time (one frame per entry, as Docker sends them, built by
list comprehensions over the reader's records); any other iterable of ``LogEntry`` entry by entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import chain, repeat

from dockyard.engine.bridge import iterate_in_thread
from dockyard.shim.logfile import LogEntry, LogReader, StreamLines
from dockyard.shim.stdcopy import HEADER, MAX_FRAME, STDERR, STDOUT, encode

BATCH_BYTES = 256 * 1024


def _frames(entries: Iterable[LogEntry], *, tty: bool, timestamps: bool) -> Iterator[bytes]:
    for entry in entries:
        line = entry.line
        if timestamps:
            line = entry.timestamp.encode() + b" " + line
        yield line if tty else encode(STDERR if entry.stream == "stderr" else STDOUT, line)


class _Headers(dict[int, bytes]):
    """Frame headers of one stream by length (of a payload ``extra`` bytes longer); notes a payload
    too big for one frame."""

    def __init__(self, kind: int, extra: int = 0) -> None:
        super().__init__()
        self.kind = kind
        self.extra = extra
        self.oversize = False

    def __missing__(self, length: int) -> bytes:
        size = length + self.extra
        if size > MAX_FRAME:
            self.oversize = True  # not cached, so every such payload reports itself
            return b""
        header = self[length] = HEADER.pack(self.kind, size) if size else b""
        return header


def _header_caches() -> dict[bytes, _Headers]:
    return {b"stdout": _Headers(STDOUT), b"stderr": _Headers(STDERR),
            b"stdout\n": _Headers(STDOUT, 1), b"stderr\n": _Headers(STDERR, 1)}


def _encode_lines(batch: StreamLines, *, tty: bool, headers: dict[bytes, _Headers]) -> bytes:
    nl = b"\n"
    if tty:
        return nl.join(batch) + nl
    hdr = headers[batch.stream + nl]
    # header, line, newline for each line, all iterated in C
    out = b"".join(chain.from_iterable(zip(map(hdr.__getitem__, map(len, batch)), batch, repeat(nl))))
    if hdr.oversize:
        hdr.oversize = False
        kind = STDERR if batch.stream == b"stderr" else STDOUT
        out = b"".join([encode(kind, line + nl) for line in batch])
    return out


def encode_batch(batch: list[tuple[bytes, bytes, bytes]] | StreamLines, *, tty: bool, timestamps: bool,
                 headers: dict[bytes, _Headers] | None = None) -> bytes:
    """One frame per record ``(line, stream, time)`` (raw lines with a TTY), time-prefixed on request."""
    if headers is None:
        headers = _header_caches()
    if isinstance(batch, StreamLines):
        if not timestamps:
            return _encode_lines(batch, tty=tty, headers=headers)
        batch = batch.records()  # not produced when times were asked for; kept correct anyway
    if tty:
        if timestamps:
            return b"".join([t + b" " + line for line, _, t in batch])
        return b"".join([line for line, _, _ in batch])
    hdr = headers
    if timestamps:
        out = b"".join([hdr[s][len(t) + 1 + len(line)] + t + b" " + line for line, s, t in batch])
    else:
        out = b"".join([hdr[s][len(line)] + line for line, s, _ in batch])
    if hdr[b"stdout"].oversize or hdr[b"stderr"].oversize:
        hdr[b"stdout"].oversize = hdr[b"stderr"].oversize = False
        out = b"".join([encode(STDERR if s == b"stderr" else STDOUT, t + b" " + line if timestamps else line)
                        for line, s, t in batch])
    return out


def _reader_frames(reader: LogReader, *, tty: bool, timestamps: bool, follow: bool) -> Iterator[bytes]:
    headers = _header_caches()
    pending: list[bytes] = []
    size = 0
    first = True
    try:
        for batch in reader.batches(with_time=timestamps):
            chunk = encode_batch(batch, tty=tty, timestamps=timestamps, headers=headers)
            if follow:
                if chunk:
                    yield chunk
                continue
            pending.append(chunk)
            size += len(chunk)
            if size >= BATCH_BYTES or first:
                yield b"".join(pending)
                pending, size, first = [], 0, False
        if pending and size:
            yield b"".join(pending)
    finally:
        reader.close()


def _batched(frames: Iterator[bytes]) -> Iterator[bytes]:
    # Without follow, ship the log in large chunks: one thread hop per line is slow.
    batch: list[bytes] = []
    size = 0
    for frame in frames:
        batch.append(frame)
        size += len(frame)
        if size >= BATCH_BYTES:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)


def frames(entries: Iterable[LogEntry], *, tty: bool, timestamps: bool, follow: bool) -> Iterator[bytes]:
    """The body's chunks, produced synchronously (``body`` runs this in a worker thread)."""
    if isinstance(entries, LogReader) and not entries.timestamps:
        return _reader_frames(entries, tty=tty, timestamps=timestamps, follow=follow)
    per_entry = _frames(entries, tty=tty, timestamps=timestamps)
    return per_entry if follow else _batched(per_entry)


async def body(entries: Iterable[LogEntry], *, tty: bool, timestamps: bool, follow: bool) -> AsyncIterator[bytes]:
    yield b""
    async for chunk in iterate_in_thread(frames(entries, tty=tty, timestamps=timestamps, follow=follow)):
        yield chunk

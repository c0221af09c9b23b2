"""The body of ``GET /containers/{id}/logs``: log entries as multiplexed frames (raw with a TTY)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator

from dockyard.engine.bridge import iterate_in_thread
from dockyard.shim.logfile import LogEntry
from dockyard.shim.stdcopy import encode

BATCH_BYTES = 256 * 1024


def _frames(entries: Iterable[LogEntry], *, tty: bool, timestamps: bool) -> Iterator[bytes]:
    for entry in entries:
        line = entry.line
        if timestamps:
            line = entry.timestamp.encode() + b" " + line
        yield line if tty else encode(2 if entry.stream == "stderr" else 1, line)


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


async def body(entries: Iterable[LogEntry], *, tty: bool, timestamps: bool, follow: bool) -> AsyncIterator[bytes]:
    yield b""
    frames = _frames(entries, tty=tty, timestamps=timestamps)
    async for chunk in iterate_in_thread(frames if follow else _batched(frames)):
        yield chunk

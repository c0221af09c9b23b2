"""Container output with Compose's prefixes: ``web-1  | line``, names padded to the widest.

A LogSession reads several streams at once (attach sockets for ``up``, log streams for
``logs -f``), one thread each, and prints their lines from the calling thread as they arrive.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from dockyard.client.stdcopy import STDERR, STDOUT, Demuxer
from dockyard.errors import DockyardError


class LogPrinter:
    """Prefixes lines with their container's name; the width follows the longest name seen."""

    def __init__(self, out: TextIO, err: TextIO | None = None, *, prefix: bool = True) -> None:
        self.out = out
        self.err = err if err is not None else out
        self.prefix = prefix
        self._names: list[str] = []
        self._width = 0
        self._lock = threading.Lock()

    def register(self, name: str) -> None:
        if name not in self._names:
            self._names.append(name)
            self._width = max(len(n) for n in self._names) + 1

    def prefix_for(self, name: str) -> str:
        if not self.prefix:
            return ""
        self.register(name)
        return f"{name:<{self._width}} | "

    def line(self, name: str, text: str, *, stderr: bool = False) -> None:
        stream = self.err if stderr else self.out
        with self._lock:
            stream.write(self.prefix_for(name) + text + "\n")
            stream.flush()

    def status(self, name: str, message: str) -> None:
        """Compose's own lines among the logs: "web-1 exited with code 0"."""
        with self._lock:
            self.out.write(f"{name} {message}\n")
            self.out.flush()


class LineBuffer:
    """Bytes in, complete lines out (without their newline); ``flush`` gives the unfinished one."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        return [_text(line) for line in lines]

    def flush(self) -> list[str]:
        rest, self._pending = self._pending, b""
        return [_text(rest)] if rest else []


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").removesuffix("\r")


def split_output(chunks: Iterable[bytes], framed: bool) -> Iterator[tuple[int, str]]:
    """(stream, line) for a container's output: 8-byte frames unless it has a TTY."""
    demuxer = Demuxer() if framed else None
    buffers = {STDOUT: LineBuffer(), STDERR: LineBuffer()}
    for chunk in chunks:
        pairs = demuxer.feed(chunk) if demuxer is not None else [(STDOUT, chunk)]
        for stream, payload in pairs:
            for line in buffers[stream].feed(payload):
                yield stream, line
    for stream, buffer in buffers.items():
        for line in buffer.flush():
            yield stream, line


@dataclass(frozen=True)
class _Line:
    key: str
    name: str
    stream: int
    text: str


@dataclass(frozen=True)
class _End:
    key: str


class LogSession:
    """Follows several containers' output until every stream has ended."""

    def __init__(self, printer: LogPrinter) -> None:
        self.printer = printer
        self._queue: queue.Queue[_Line | _End] = queue.Queue()
        self._active: set[str] = set()
        self._closers: dict[str, Callable[[], None]] = {}

    def add(self, key: str, name: str, chunks: Iterable[bytes], *, framed: bool,
            close: Callable[[], None] | None = None) -> None:
        """Read ``chunks`` (a container's output) in a thread of its own."""
        self.printer.register(name)
        self._active.add(key)
        if close is not None:
            self._closers[key] = close

        def pump() -> None:
            try:
                for stream, line in split_output(chunks, framed):
                    self._queue.put(_Line(key, name, stream, line))
            except (OSError, DockyardError):
                pass  # the stream broke: the container or the daemon went away
            finally:
                self._queue.put(_End(key))

        threading.Thread(target=pump, name=f"logs-{name}", daemon=True).start()

    def run(self, on_end: Callable[[str], bool] | None = None) -> None:
        """Print lines until no stream is left; ``on_end(key)`` is told of each end and may add a
        stream again (a restarted container) or return True to stop following everything."""
        while self._active:
            item = self._get()
            if isinstance(item, _Line):
                self.printer.line(item.name, item.text, stderr=item.stream == STDERR)
                continue
            self._active.discard(item.key)
            self._closers.pop(item.key, None)
            if on_end is not None and on_end(item.key):
                return

    def _get(self) -> _Line | _End:
        # A timeout keeps the wait interruptible by Ctrl-C on every platform.
        while True:
            try:
                return self._queue.get(timeout=0.5)
            except queue.Empty:
                continue

    def close(self) -> None:
        for close in list(self._closers.values()):
            with contextlib.suppress(OSError, DockyardError):
                close()
        self._closers.clear()


__all__ = ["LineBuffer", "LogPrinter", "LogSession", "split_output"]

"""Bridges between the daemon's async streams and the synchronous services running in threads."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_EOF = object()


class QueueReader:
    """A blocking, file-like reader fed chunk by chunk from the event loop (bounded: backpressure)."""

    def __init__(self, depth: int = 16) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._buffer = memoryview(b"")
        self._eof = False
        self._closed = False
        self._error: BaseException | None = None

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = [bytes(self._buffer)]
            self._buffer = memoryview(b"")
            while (chunk := self._next()) is not None:
                parts.append(chunk)
            return b"".join(parts)
        while not self._buffer:
            chunk = self._next()
            if chunk is None:
                return b""
            self._buffer = memoryview(chunk)
        out = bytes(self._buffer[:n])
        self._buffer = self._buffer[n:]
        return out

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """The consumer is done: whatever still arrives is drained and dropped."""
        self._eof = True
        self._closed = True

    def __enter__(self) -> QueueReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self) -> bytes | None:
        if self._eof:
            return None
        item = self._queue.get()
        if item is _EOF:
            self._eof = True
            if self._error is not None:
                raise self._error
            return None
        assert isinstance(item, bytes)
        return item

    def _put(self, item: object) -> None:
        while not self._closed:
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    async def feed(self, chunks: AsyncIterator[bytes]) -> None:
        """Pump ``chunks`` into the reader; ends the stream (with the error, if one happened)."""
        loop = asyncio.get_running_loop()
        try:
            async for chunk in chunks:
                if chunk and not self._closed:
                    if self._queue.full():
                        await loop.run_in_executor(None, self._put, chunk)
                    else:
                        self._queue.put_nowait(chunk)
        except BaseException as exc:
            self._error = ConnectionResetError(f"request body ended early: {exc}")
            raise
        finally:
            if not self._closed:
                await loop.run_in_executor(None, self._put, _EOF)


async def consume_in_thread(chunks: AsyncIterator[bytes], work: Callable[[QueueReader], T]) -> T:
    """Run ``work(reader)`` in a thread while feeding it ``chunks`` from the loop."""
    reader = QueueReader()

    def run() -> T:
        try:
            return work(reader)
        finally:
            reader.close()

    worker = asyncio.ensure_future(asyncio.to_thread(run))
    try:
        await reader.feed(chunks)
    except BaseException:
        # The worker sees the early end as an error; wait for it so nothing is left half done.
        await asyncio.gather(worker, return_exceptions=True)
        raise
    return await worker


def iterate_in_thread(iterator: Iterator[bytes]) -> ThreadIteration:
    """Drive a blocking byte iterator from a thread, one chunk at a time; closing it (``aclose``)
    closes the iterator, also when it was never started (a client gone before the headers)."""
    return ThreadIteration(iterator)


class ThreadIteration:
    def __init__(self, iterator: Iterator[bytes]) -> None:
        self.iterator = iterator
        self.closed = False

    def __aiter__(self) -> ThreadIteration:
        return self

    async def __anext__(self) -> bytes:
        if self.closed:
            raise StopAsyncIteration
        sentinel = object()
        try:
            chunk = await asyncio.to_thread(next, self.iterator, sentinel)
        except BaseException:
            await self.aclose()
            raise
        if chunk is sentinel:
            await self.aclose()
            raise StopAsyncIteration
        assert isinstance(chunk, bytes)
        return chunk

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        close = getattr(self.iterator, "close", None)
        if close is not None:
            await asyncio.to_thread(close)


class Cancelled(Exception):
    """The client went away: the worker stops at its next progress report."""


async def stream_from_thread(work: Callable[[Callable[[T], None]], object]) -> AsyncIterator[T]:
    """Run ``work(emit)`` in a thread and yield what it emits; its exception ends the stream.

    When the consumer stops early (the client disconnected), ``emit`` raises ``Cancelled`` in the
    worker so it stops at its next report instead of running on unobserved.
    """
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[object] = asyncio.Queue()
    done = object()
    cancelled = False

    def emit(item: T) -> None:
        if cancelled:
            raise Cancelled("the client disconnected")
        loop.call_soon_threadsafe(items.put_nowait, item)

    def run() -> object:
        try:
            return work(emit)
        finally:
            loop.call_soon_threadsafe(items.put_nowait, done)

    worker = asyncio.ensure_future(asyncio.to_thread(run))
    try:
        while True:
            item = await items.get()
            if item is done:
                break
            yield item  # type: ignore[misc]
        await worker
    finally:
        if not worker.done():
            cancelled = True
            await asyncio.gather(worker, return_exceptions=True)

"""Typed progress of pull and push: the API renders it as Docker's JSON messages, the CLI as bars.

This is not logging: it is what the user watches, one event per visible change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Progress:
    status: str
    id: str = ""                       # a layer's short digest, or a tag
    current: int | None = None         # bytes done, when there is a byte count
    total: int | None = None
    aux: Mapping[str, object] = field(default_factory=dict)


ProgressSink = Callable[[Progress], None]


def discard_progress(_: Progress) -> None:
    return None


class ThrottledBytes:
    """Reports byte progress at most every ``interval`` seconds (and always the final count)."""

    def __init__(self, sink: ProgressSink, *, id: str, status: str, total: int, start: int = 0,
                 interval: float = 0.1) -> None:
        self.sink = sink
        self.id = id
        self.status = status
        self.total = total
        self.done = start
        self.interval = interval
        self._last = 0.0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            if now - self._last < self.interval and self.done < self.total:
                return
            self._last = now
            done = self.done
        self.sink(Progress(self.status, self.id, current=done, total=self.total))


def short_id(digest_text: str) -> str:
    return digest_text.split(":", 1)[-1][:12]

"""The daemon's event bus: every service publishes here, ``GET /events`` subscribes.

Publishing is safe from worker threads (the image service runs in threads); subscribers are
asyncio queues on the daemon's loop. A bounded history serves ``since``.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

HISTORY = 1024


@dataclass(frozen=True, slots=True)
class Event:
    type: str                      # "image", "container", "network", "volume", "daemon"
    action: str
    actor_id: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    time_nano: int = 0


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Docker's event filters: keys are ANDed, the values of one key ORed."""

    types: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    images: frozenset[str] = frozenset()
    containers: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()

    def matches(self, event: Event) -> bool:
        if self.types and event.type not in self.types:
            return False
        if self.actions and event.action not in self.actions and event.action.split(":")[0] not in self.actions:
            return False
        if self.images:
            names = {event.actor_id, event.attributes.get("name", ""), event.attributes.get("image", "")}
            if event.type == "image" and not names & self.images and not any(
                    n.split(":")[0] in self.images for n in names if n):
                return False
            if event.type == "container" and event.attributes.get("image") not in self.images:
                return False
            if event.type not in ("image", "container"):
                return False
        if self.containers:
            if event.type != "container":
                return False
            name = event.attributes.get("name", "")  # dockerd's FuzzyMatch: a prefix of the ID or the name
            if not any(event.actor_id.startswith(c) or (name and name.startswith(c)) for c in self.containers):
                return False
        for label in self.labels:
            key, sep, value = label.partition("=")
            if key not in event.attributes or (sep and event.attributes[key] != value):
                return False
        return True


class EventBus:
    def __init__(self) -> None:
        self._history: collections.deque[Event] = collections.deque(maxlen=HISTORY)
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]] = set()
        self._lock = threading.Lock()

    def publish(self, type_: str, action: str, actor_id: str, attributes: Mapping[str, str] | None = None) -> Event:
        event = Event(type_, action, actor_id, dict(attributes or {}), time.time_ns())
        with self._lock:
            self._history.append(event)
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:
                pass  # that subscriber's loop is closed
        return event

    async def subscribe(self, *, since_ns: int | None = None, until_ns: int | None = None,
                        filters: EventFilter | None = None) -> AsyncIterator[Event]:
        """Past events from ``since`` on, then live ones until ``until`` (or forever)."""
        filters = filters or EventFilter()
        queue: asyncio.Queue[Event] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            past = [e for e in self._history if since_ns is not None and e.time_nano >= since_ns]
            self._subscribers.add(entry)
        try:
            for event in past:
                if until_ns is not None and event.time_nano > until_ns:
                    return
                if filters.matches(event):
                    yield event
            if until_ns is not None and until_ns <= time.time_ns():
                return
            while True:
                if until_ns is not None:
                    remaining = (until_ns - time.time_ns()) / 1e9
                    if remaining <= 0:
                        return
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=remaining)
                    except TimeoutError:
                        return
                else:
                    event = await queue.get()
                if since_ns is not None and event.time_nano < since_ns:
                    continue
                if filters.matches(event):
                    yield event
        finally:
            with self._lock:
                self._subscribers.discard(entry)

"""The shim's readiness loop on epoll, without ``selectors``.

``selectors`` (and the ``socket``/``signal``/``enum`` modules around it) would cost every shim
about a megabyte; this is the part of its interface the shim uses: register, modify and
unregister a descriptor with a piece of data, and wait for events.
"""

from __future__ import annotations

import math
import select

EVENT_READ = 1
EVENT_WRITE = 2

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _epoll_mask(events: int) -> int:
    return (select.EPOLLIN if events & EVENT_READ else 0) | (select.EPOLLOUT if events & EVENT_WRITE else 0)


class Poller:
    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._entries: dict[int, tuple[int, Any]] = {}

    def register(self, fd: int, events: int, data: Any) -> None:
        self._epoll.register(fd, _epoll_mask(events))
        self._entries[fd] = (events, data)

    def modify(self, fd: int, events: int, data: Any) -> None:
        if self._entries[fd][0] != events:
            self._epoll.modify(fd, _epoll_mask(events))
        self._entries[fd] = (events, data)

    def unregister(self, fd: int) -> None:
        del self._entries[fd]
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass  # closed already: the kernel forgot it with the descriptor

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """(data, events) of every ready descriptor; errors and hang-ups count as both."""
        if timeout is None:
            wait = -1.0
        else:
            wait = math.ceil(max(timeout, 0.0) * 1e3) * 1e-3  # epoll has millisecond resolution
        ready = []
        for fd, mask in self._epoll.poll(wait):
            entry = self._entries.get(fd)
            if entry is None:
                continue
            events = 0
            if mask & ~select.EPOLLOUT:
                events |= EVENT_READ
            if mask & ~select.EPOLLIN:
                events |= EVENT_WRITE
            ready.append((entry[1], events & entry[0]))
        return ready

    def close(self) -> None:
        self._epoll.close()

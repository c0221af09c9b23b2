"""The shim's epoll loop: readiness with the data registered, modify, and closed descriptors."""

from __future__ import annotations

import os

from dockyard.shim.poller import EVENT_READ, EVENT_WRITE, Poller


def test_reports_readable_and_writable_with_their_data() -> None:
    r, w = os.pipe()
    poller = Poller()
    try:
        poller.register(r, EVENT_READ, "reader")
        poller.register(w, EVENT_WRITE, "writer")
        assert poller.select(0) == [("writer", EVENT_WRITE)]
        os.write(w, b"x")
        assert sorted(poller.select(0)) == [("reader", EVENT_READ), ("writer", EVENT_WRITE)]
    finally:
        poller.close()
        os.close(r)
        os.close(w)


def test_modify_changes_events_and_data() -> None:
    r, w = os.pipe()
    poller = Poller()
    try:
        poller.register(w, EVENT_READ, "old")
        assert poller.select(0) == []
        poller.modify(w, EVENT_WRITE, "new")
        assert poller.select(0) == [("new", EVENT_WRITE)]
        poller.modify(w, EVENT_WRITE, "newer")  # same events: only the data changes
        assert poller.select(0) == [("newer", EVENT_WRITE)]
    finally:
        poller.close()
        os.close(r)
        os.close(w)


def test_hang_up_counts_as_readable_and_timeout_returns_nothing() -> None:
    r, w = os.pipe()
    poller = Poller()
    try:
        poller.register(r, EVENT_READ, "r")
        assert poller.select(0.01) == []
        os.close(w)
        assert poller.select(0) == [("r", EVENT_READ)]
    finally:
        poller.close()
        os.close(r)


def test_unregister_after_close_is_quiet() -> None:
    r, w = os.pipe()
    poller = Poller()
    poller.register(r, EVENT_READ, "r")
    os.close(r)
    poller.unregister(r)
    assert poller.select(0) == []
    poller.close()
    os.close(w)

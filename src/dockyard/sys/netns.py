"""Network namespaces without forking: work happens in a throwaway OS thread.

A network namespace belongs to a thread (task), not to the process, so ``unshare(CLONE_NEWNET)`` or
``setns`` in a fresh thread changes only that thread; the thread exits right after and the
daemon's other threads never see another namespace. This avoids ``fork()`` in a threaded daemon
(locks held by other threads at fork time) and costs a few milliseconds less than a child process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from dockyard.sys.linux import CLONE_NEWNET, setns, unshare
from dockyard.sys.mount import MNT_DETACH, bind_mount, umount2

T = TypeVar("T")


def _in_fresh_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a new OS thread that ends when it returns; re-raise what it raised."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="dockyard-netns", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def call_in_netns(netns_path: str, fn: Callable[[], T]) -> T:
    """Call ``fn`` with the calling thread switched into the network namespace at ``netns_path``.

    Sockets created by ``fn`` stay in that namespace for their whole life, wherever they are used.
    """
    def enter_and_call() -> T:
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(fd, CLONE_NEWNET)
        finally:
            os.close(fd)
        return fn()

    return _in_fresh_thread(enter_and_call)


def create_bound(target: str) -> None:
    """Create a new network namespace and keep it alive by bind-mounting it on ``target``.

    ``target`` must be an existing regular file (as ``ip netns add`` does under /run/netns).
    """
    def make() -> None:
        unshare(CLONE_NEWNET)
        bind_mount("/proc/thread-self/ns/net", target)

    _in_fresh_thread(make)


def unbind(target: str) -> None:
    """Detach the namespace mount at ``target``; the namespace dies with its last user."""
    umount2(target, MNT_DETACH)


__all__ = ["call_in_netns", "create_bound", "unbind"]

"""Namespace kinds, their clone flags and /proc names, joining by path."""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument
from dockyard.runtime.spec import Namespace
from dockyard.sys import linux

FLAGS = {
    "pid": linux.CLONE_NEWPID, "network": linux.CLONE_NEWNET, "mount": linux.CLONE_NEWNS,
    "ipc": linux.CLONE_NEWIPC, "uts": linux.CLONE_NEWUTS, "user": linux.CLONE_NEWUSER,
    "cgroup": linux.CLONE_NEWCGROUP, "time": linux.CLONE_NEWTIME,
}
PROC_NAMES = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts", "user": "user",
              "cgroup": "cgroup", "time": "time"}
# setns order: user first (it grants the rights for the others), mount last (it hides /proc paths).
JOIN_ORDER = ("user", "cgroup", "ipc", "uts", "network", "pid", "time", "mount")


def check_paths(namespaces: tuple[Namespace, ...]) -> None:
    """Fail early, in the parent, on a namespace path that is not a namespace of that kind."""
    for ns in namespaces:
        if not ns.path:
            continue
        try:
            target = os.readlink(ns.path) if os.path.islink(ns.path) else ""
            fd = os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise InvalidArgument(f"namespace {ns.type}: cannot open {ns.path}: {exc.strerror}") from exc
        os.close(fd)
        if target and not target.startswith(PROC_NAMES[ns.type] + ":"):
            raise InvalidArgument(f"namespace {ns.type}: {ns.path} is a {target.split(':')[0]} namespace")


def open_joined(namespaces: tuple[Namespace, ...]) -> list[tuple[str, int]]:
    """Open every namespace to join, in join order, before any setns changes what paths mean."""
    by_type = {ns.type: ns for ns in namespaces if ns.path}
    out = []
    for kind in JOIN_ORDER:
        ns = by_type.get(kind)
        if ns is not None:
            out.append((kind, os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)))
    return out


def join(opened: list[tuple[str, int]]) -> None:
    for kind, fd in opened:
        try:
            linux.setns(fd, FLAGS[kind])
        except OSError as exc:
            raise OSError(exc.errno, f"setns {kind}: {os.strerror(exc.errno or 0)}") from exc
        finally:
            os.close(fd)


def new_flags(namespaces: tuple[Namespace, ...], *, exclude: tuple[str, ...] = ()) -> int:
    flags = 0
    for ns in namespaces:
        if not ns.path and ns.type not in exclude:
            flags |= FLAGS[ns.type]
    return flags

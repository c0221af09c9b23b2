"""Path handling that keeps every write inside a root, chroot-style.

Entry names are cleaned lexically (a ``..`` that climbs above the root is refused); symlinks met
while resolving a path are followed *inside* the root, as if the root were ``/`` (the same rule as
Go's securejoin and moby's FollowSymlinkInScope), so a link to ``/etc`` means ``<root>/etc``.
"""

from __future__ import annotations

import os
import stat
from collections import deque

from dockyard.archive.errors import UnsafeLayer

PATH_MAX = 4096
NAME_MAX = 255
_MAX_LINKS = 255


def clean_name(name: str) -> tuple[str, ...]:
    """The components of a layer entry name, relative to the root.

    A leading ``/`` is dropped (Docker applies absolute names relative to the root); ``.`` and
    empty components vanish; ``..`` pops a component and is refused when nothing is left to pop.
    """
    if len(name.encode("utf-8", "surrogateescape")) > PATH_MAX:
        raise UnsafeLayer(f"{name[:64]}...: path is longer than {PATH_MAX} bytes")
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UnsafeLayer(f"{name}: path escapes the root with '..'")
            parts.pop()
            continue
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX:
            raise UnsafeLayer(f"{name[:64]}...: path component is longer than {NAME_MAX} bytes")
        if "\0" in part:
            raise UnsafeLayer(f"{name!r}: path contains a NUL byte")
        parts.append(part)
    return tuple(parts)


def resolve_in_root(root: str, parts: tuple[str, ...] | list[str], *, follow_last: bool = True) -> list[str]:
    """Resolve ``parts`` under ``root`` following symlinks chroot-style.

    Returns the real components (relative to ``root``, free of symlinks except possibly the last
    one when ``follow_last`` is false). Missing components are kept lexically.
    """
    pending: deque[str] = deque(parts)
    current: list[str] = []
    links = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if current:
                current.pop()
            continue
        if not pending and not follow_last:
            current.append(part)
            break
        path = os.path.join(root, *current, part)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            current.append(part)
            continue
        if not stat.S_ISLNK(st.st_mode):
            current.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise UnsafeLayer(f"{'/'.join(parts)}: too many levels of symbolic links")
        target = os.readlink(path)
        if target.startswith("/"):
            current = []
        pending.extendleft(reversed(target.split("/")))
    return current


def secure_join(root: str | os.PathLike[str], name: str) -> str:
    """``root/name`` with every symlink along the way resolved inside ``root``."""
    base = os.path.abspath(os.fspath(root))
    parts = resolve_in_root(base, [p for p in name.split("/") if p])
    return os.path.join(base, *parts)


__all__ = ["NAME_MAX", "PATH_MAX", "clean_name", "resolve_in_root", "secure_join"]

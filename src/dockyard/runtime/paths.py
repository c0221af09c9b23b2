"""Resolve a container path under the rootfs, following symlinks as if the rootfs were ``/``."""

from __future__ import annotations

import os
from collections.abc import Callable

_MAX_LINKS = 255


def resolve_parts(unsafe: str, readlink: Callable[[list[str]], str], *, follow_last: bool = True) -> list[str]:
    """The components ``unsafe`` names inside a root once its symlinks are followed there:
    ``readlink(components)`` reads the link those components name (OSError: not a link), an
    absolute target starts again from the root, and ``..`` stops at the root."""
    parts = [p for p in unsafe.split("/") if p]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        if not parts and not follow_last:
            resolved.append(part)
            break
        try:
            target = readlink([*resolved, part])
        except OSError:
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(40, "too many levels of symbolic links", unsafe)
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p] + parts
    return resolved


def secure_join(root: str, unsafe: str) -> str:
    """Join ``unsafe`` under ``root``; symlinks and ``..`` never leave ``root``."""
    return os.path.join(root, *resolve_parts(unsafe, lambda parts: os.readlink(os.path.join(root, *parts))))

"""Resolve a container path under the rootfs, following symlinks as if the rootfs were ``/``."""

from __future__ import annotations

import os

_MAX_LINKS = 255


def secure_join(root: str, unsafe: str) -> str:
    """Join ``unsafe`` under ``root``; symlinks and ``..`` never leave ``root``."""
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
        candidate = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(candidate)
        except OSError:
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(40, "too many levels of symbolic links", unsafe)
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p] + parts
    return os.path.join(root, *resolved)

"""Reading and writing sysctls under /proc/sys (``root`` is swappable for tests)."""

from __future__ import annotations

import os

PROC_SYS = "/proc/sys"


def _path(name: str, root: str) -> str:
    return os.path.join(root, *name.split("."))


def read(name: str, *, root: str = PROC_SYS) -> str:
    with open(_path(name, root)) as f:
        return f.read().strip()


def write(name: str, value: str, *, root: str = PROC_SYS) -> None:
    # `with open` so a refused write raises here instead of being lost at garbage collection.
    with open(_path(name, root), "w") as f:
        f.write(value)


def ensure(name: str, value: str, *, root: str = PROC_SYS) -> str | None:
    """Set ``name`` to ``value``; return the previous value if it changed, else None."""
    before = read(name, root=root)
    if before == value:
        return None
    write(name, value, root=root)
    return before


__all__ = ["ensure", "read", "write"]

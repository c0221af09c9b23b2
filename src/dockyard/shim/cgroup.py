"""Where the container's memory cgroup is, and whether the kernel OOM-killed something in it."""

from __future__ import annotations

import os

CGROUP_ROOT = "/sys/fs/cgroup"


def memory_dir(pid: int, *, proc_root: str = "/proc", cgroup_root: str = CGROUP_ROOT) -> str | None:
    """The memory cgroup directory of ``pid`` (v1 ``memory`` hierarchy, else the v2 unified one)."""
    try:
        with open(f"{proc_root}/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    unified = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if "memory" in controllers.split(","):
            candidate = os.path.join(cgroup_root, "memory", path.lstrip("/"))
            if os.path.isdir(candidate):
                return candidate
        if controllers == "":
            unified = os.path.join(cgroup_root, path.lstrip("/"))
    if unified is not None and os.path.exists(os.path.join(unified, "memory.events")):
        return unified
    return None


def _counter(path: str, key: str) -> int | None:
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        return None
    return None


def oom_killed(directory: str | None) -> bool:
    """True when the cgroup recorded an OOM kill (v1 ``memory.oom_control``, v2 ``memory.events``)."""
    if directory is None:
        return False
    for name in ("memory.events", "memory.oom_control"):
        count = _counter(os.path.join(directory, name), "oom_kill")
        if count is not None:
            return count > 0
    return False

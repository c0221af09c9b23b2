"""cgroup v2: one directory in the unified hierarchy; controllers enabled top-down."""

from __future__ import annotations

import os

from dockyard.runtime.cgroups.common import (
    Stats,
    kill_and_remove,
    read_int,
    read_keyed,
    read_pids,
    read_text,
    write_file,
)
from dockyard.runtime.cgroups.resources import v2_writes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.spec import Resources


class CgroupV2:
    def __init__(self, cgroups_path: str, mount: str = "/sys/fs/cgroup") -> None:
        self.mount = mount
        self.path = os.path.join(mount, cgroups_path.lstrip("/"))
        self.paths = {"unified": self.path}

    def create(self) -> None:
        # Enable every available controller on each ancestor so the leaf gets its knobs.
        current = self.mount
        for part in [p for p in os.path.relpath(self.path, self.mount).split("/") if p not in ("", ".")]:
            available = os.path.join(current, "cgroup.controllers")
            if os.path.exists(available):
                for ctrl in read_text(available).split():
                    write_file(current, "cgroup.subtree_control", f"+{ctrl}", optional=True)
            current = os.path.join(current, part)
            os.makedirs(current, exist_ok=True)

    def apply(self, resources: Resources) -> None:
        for w in v2_writes(resources):
            write_file(self.path, w.file, w.value, optional=w.optional)

    def add(self, pid: int) -> None:
        write_file(self.path, "cgroup.procs", str(pid))

    def enter(self, *, unified_by_clone: bool) -> int | None:
        """With ``unified_by_clone``, the directory opened for the next fork to be born in
        (``fork_into``): no migration, so no wait for the threadgroup lock. Else a migration."""
        if unified_by_clone:
            return self.open_unified()
        self.add(os.getpid())
        return None

    def open_unified(self) -> int | None:
        """The directory, opened for a fork to be born in (``fork_into``)."""
        return os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def enter_legacy(self) -> None:
        """No v1 hierarchies to join."""

    def pids(self) -> list[int]:
        return read_pids(self.path)

    def freeze(self) -> None:
        write_file(self.path, "cgroup.freeze", "1")

    def thaw(self) -> None:
        write_file(self.path, "cgroup.freeze", "0")

    def destroy(self) -> None:
        if os.path.exists(os.path.join(self.path, "cgroup.kill")):
            try:
                write_file(self.path, "cgroup.kill", "1")
            except Exception:  # noqa: BLE001 - fall back to signalling each pid
                pass
        kill_and_remove([self.path], self.path)

    def stats(self) -> Stats:
        events = read_keyed(os.path.join(self.path, "memory.events"))
        cpu = read_keyed(os.path.join(self.path, "cpu.stat"))
        return Stats(memory_usage=read_int(os.path.join(self.path, "memory.current")),
                     memory_limit=read_int(os.path.join(self.path, "memory.max")),
                     memory_max_usage=read_int(os.path.join(self.path, "memory.peak")),
                     oom_kills=events.get("oom_kill", 0), cpu_usage_ns=cpu.get("usage_usec", 0) * 1000,
                     pids_current=read_int(os.path.join(self.path, "pids.current")),
                     pids_limit=read_int(os.path.join(self.path, "pids.max")))

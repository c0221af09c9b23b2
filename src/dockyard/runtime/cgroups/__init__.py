"""cgroup managers: v1 on hybrid hosts (like this one), v2 where the unified hierarchy is the only one."""

from __future__ import annotations

import errno
import os

from dockyard.runtime.cgroups.common import Stats
from dockyard.runtime.cgroups.v1 import UNIFIED, CgroupV1, discover, discover_hybrid
from dockyard.runtime.cgroups.v2 import CgroupV2
from dockyard.sys import linux

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    from dockyard.runtime.spec import Resources
else:
    Protocol = object


class Cgroup(Protocol):
    paths: dict[str, str]

    def create(self) -> None: ...
    def apply(self, resources: Resources) -> None: ...
    def add(self, pid: int) -> None: ...
    def enter(self, *, unified_by_clone: bool) -> int | None: ...
    def open_unified(self) -> int | None: ...
    def enter_legacy(self) -> None: ...
    def pids(self) -> list[int]: ...
    def freeze(self) -> None: ...
    def thaw(self) -> None: ...
    def destroy(self) -> None: ...
    def stats(self) -> Stats: ...


def default_path(container_id: str, configured: str) -> str:
    return configured or f"/dockyard/{container_id}"


def open_cgroup(cgroups_path: str) -> Cgroup:
    """The manager for this host: pure v2 when /sys/fs/cgroup is cgroup2, else v1."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return CgroupV2(cgroups_path)
    hierarchies, unified = discover_hybrid()
    return CgroupV1(cgroups_path, hierarchies, unified)


def from_paths(paths: Mapping[str, str]) -> Cgroup:
    """Reopen a manager from the paths recorded in state.json."""
    if set(paths) == {UNIFIED} and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        mgr2 = CgroupV2("/")
        mgr2.path = paths["unified"]
        mgr2.paths = dict(paths)
        return mgr2
    mgr = CgroupV1("/", {})
    mgr.paths = dict(paths)
    return mgr


def fork_into(cgroup_fd: int | None) -> int:
    """``os.fork()``, the child born in the cgroup2 directory ``cgroup_fd`` when one is given
    (see ``enter``); on kernels without clone3 the caller migrates there first. Closes the fd."""
    if cgroup_fd is None:
        return os.fork()
    try:
        try:
            return linux.fork_into_cgroup(cgroup_fd)
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.E2BIG, errno.EINVAL):
                raise
        procs = os.open("cgroup.procs", os.O_WRONLY | os.O_CLOEXEC, dir_fd=cgroup_fd)
        try:
            os.write(procs, str(os.getpid()).encode())
        finally:
            os.close(procs)
        return os.fork()
    finally:
        os.close(cgroup_fd)


__all__ = ["UNIFIED", "Cgroup", "CgroupV1", "CgroupV2", "Stats", "default_path", "discover", "discover_hybrid",
           "fork_into", "from_paths", "open_cgroup"]

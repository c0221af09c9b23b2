"""``docker update``: merge new limits into a HostConfig, and apply them to a running container.

Our runtime has no ``update`` verb, so the engine writes the container's cgroup files itself,
found through ``/proc/<pid>/cgroup`` of its init process (v1 hierarchies, or the v2 unified one).
Only the fields the request sets are written, like ``runc update``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.errors import Conflict, InvalidArgument

CGROUP_ROOT = "/sys/fs/cgroup"
CPU_PERIOD = 100_000  # what dockerd pairs with NanoCpus
UPDATABLE = ("BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems",
             "Memory", "MemorySwap", "MemoryReservation", "CpuRealtimePeriod", "CpuRealtimeRuntime")
NO_BLKIO_WEIGHT = "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."


@dataclass(frozen=True, slots=True)
class Write:
    controller: str   # v1 hierarchy; "" on a v2 host
    file: str
    value: str
    optional: bool = False  # skipped when the kernel lacks the file (memsw without swap accounting)


def _int(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"invalid value for {key}: {value!r}")
    return value


def merge_update(host_config: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """dockerd's ``Container.UpdateContainer``: zero means "leave as it is"; raises Conflict in its words."""
    out = dict(host_config)
    cur = {key: _int(host_config, key) for key in ("NanoCpus", "CpuPeriod", "CpuQuota", "MemorySwap")}
    new = {key: _int(body, key) for key in UPDATABLE if key not in ("CpusetCpus", "CpusetMems")}
    if new["NanoCpus"] > 0 and cur["CpuPeriod"] > 0:
        raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
    if new["NanoCpus"] > 0 and cur["CpuQuota"] > 0:
        raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
    if new["CpuPeriod"] > 0 and cur["NanoCpus"] > 0:
        raise Conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
    if new["CpuQuota"] > 0 and cur["NanoCpus"] > 0:
        raise Conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
    if new["Memory"] != 0 and new["Memory"] > cur["MemorySwap"] and new["MemorySwap"] == 0:
        raise Conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap "
                       "at the same time")
    for key, value in new.items():
        if value != 0:
            out[key] = value
    for key in ("CpusetCpus", "CpusetMems"):
        if body.get(key):
            out[key] = str(body[key])
    if body.get("PidsLimit") is not None:
        out["PidsLimit"] = _int(body, "PidsLimit")
    policy = body.get("RestartPolicy") or {}
    if policy.get("Name"):
        if host_config.get("AutoRemove") and policy["Name"] != "no":
            raise Conflict("Restart policy cannot be updated because AutoRemove is enabled for the container")
        out["RestartPolicy"] = {"Name": policy["Name"], "MaximumRetryCount": _int(policy, "MaximumRetryCount")}
    return out


def blkio_weight_supported(root: str = CGROUP_ROOT) -> bool:
    return os.path.exists(os.path.join(root, "blkio", "blkio.weight")) or \
        os.path.exists(os.path.join(root, "io.weight"))


def _memory_v1(body: Mapping[str, Any], current_limit: int) -> list[Write]:
    memory, swap = _int(body, "Memory"), _int(body, "MemorySwap")
    if memory == -1 and swap == 0:
        swap = -1
    mem = Write("memory", "memory.limit_in_bytes", str(memory))
    memsw = Write("memory", "memory.memsw.limit_in_bytes", str(swap), optional=True)
    if memory and swap:
        # The kernel keeps limit <= memsw at every step: raise memsw first when growing.
        return [memsw, mem] if swap == -1 or current_limit < swap else [mem, memsw]
    return ([mem] if memory else []) + ([memsw] if swap else [])


def _cpu_quota(body: Mapping[str, Any]) -> tuple[int, int]:
    nano = _int(body, "NanoCpus")
    if nano > 0:
        return CPU_PERIOD, nano * CPU_PERIOD // 1_000_000_000
    return _int(body, "CpuPeriod"), _int(body, "CpuQuota")


def v1_writes(body: Mapping[str, Any], current_limit: int = 0) -> list[Write]:
    out = _memory_v1(body, current_limit)
    if _int(body, "MemoryReservation"):
        out.append(Write("memory", "memory.soft_limit_in_bytes", str(_int(body, "MemoryReservation"))))
    if _int(body, "CpuShares"):
        out.append(Write("cpu", "cpu.shares", str(_int(body, "CpuShares"))))
    period, quota = _cpu_quota(body)
    if period:
        out.append(Write("cpu", "cpu.cfs_period_us", str(period)))
    if quota:
        out.append(Write("cpu", "cpu.cfs_quota_us", str(quota)))
    if body.get("CpusetCpus"):
        out.append(Write("cpuset", "cpuset.cpus", str(body["CpusetCpus"])))
    if body.get("CpusetMems"):
        out.append(Write("cpuset", "cpuset.mems", str(body["CpusetMems"])))
    if body.get("PidsLimit") is not None:
        limit = _int(body, "PidsLimit")
        out.append(Write("pids", "pids.max", "max" if limit <= 0 else str(limit)))
    if _int(body, "BlkioWeight"):
        out.append(Write("blkio", "blkio.weight", str(_int(body, "BlkioWeight")), optional=True))
    return out


def v2_writes(body: Mapping[str, Any]) -> list[Write]:
    out: list[Write] = []
    memory, swap = _int(body, "Memory"), _int(body, "MemorySwap")
    if memory:
        out.append(Write("", "memory.max", "max" if memory < 0 else str(memory)))
        if swap:
            out.append(Write("", "memory.swap.max", "max" if swap < 0 else str(max(0, swap - memory)),
                             optional=True))
    if _int(body, "MemoryReservation"):
        out.append(Write("", "memory.low", str(_int(body, "MemoryReservation"))))
    shares = _int(body, "CpuShares")
    if shares:
        out.append(Write("", "cpu.weight", str(1 + ((shares - 2) * 9999) // 262142)))
    period, quota = _cpu_quota(body)
    if period or quota:
        out.append(Write("", "cpu.max", f"{quota if quota > 0 else 'max'} {period or CPU_PERIOD}"))
    for key, file in (("CpusetCpus", "cpuset.cpus"), ("CpusetMems", "cpuset.mems")):
        if body.get(key):
            out.append(Write("", file, str(body[key])))
    if body.get("PidsLimit") is not None:
        limit = _int(body, "PidsLimit")
        out.append(Write("", "pids.max", "max" if limit <= 0 else str(limit)))
    weight = _int(body, "BlkioWeight")
    if weight:
        out.append(Write("", "io.weight", f"default {1 + (weight - 10) * 9999 // 990}", optional=True))
    return out


def cgroup_dirs(pid: int, root: str = CGROUP_ROOT) -> dict[str, str]:
    """Controller → directory of the process's cgroup; key "" for a pure v2 host."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = f.read().splitlines()
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        path = next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), "/")
        return {"": os.path.join(root, path.lstrip("/"))}
    dirs: dict[str, str] = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if not controllers or controllers.startswith("name="):
            continue
        mount = os.path.join(root, controllers)
        for name in controllers.split(","):
            base = mount if os.path.isdir(mount) else os.path.join(root, name)
            dirs[name] = os.path.join(base, path.lstrip("/"))
    return dirs


def _write(directory: str, w: Write) -> None:
    path = os.path.join(directory, w.file)
    try:
        with open(path, "w") as f:
            f.write(w.value)
    except FileNotFoundError:
        if not w.optional:
            raise InvalidArgument(f"cgroup: {path} does not exist") from None
    except OSError as exc:
        raise InvalidArgument(f"cgroup: write {w.value!r} to {path}: {os.strerror(exc.errno or 0)}") from exc


def apply_live(pid: int, body: Mapping[str, Any], root: str = CGROUP_ROOT) -> None:
    """Write the requested limits into the cgroup of the container whose init is ``pid``."""
    dirs = cgroup_dirs(pid, root)
    if "" in dirs:
        writes = v2_writes(body)
    else:
        current = 0
        if "memory" in dirs:
            try:
                with open(os.path.join(dirs["memory"], "memory.limit_in_bytes")) as f:
                    current = int(f.read().strip())
            except (OSError, ValueError):
                current = 0
        writes = v1_writes(body, current)
    for w in writes:
        directory = dirs.get(w.controller)
        if directory is None:
            if w.optional:
                continue
            raise InvalidArgument(f"cgroup: no {w.controller} hierarchy for process {pid}")
        _write(directory, w)


__all__ = ["NO_BLKIO_WEIGHT", "UPDATABLE", "Write", "apply_live", "blkio_weight_supported", "cgroup_dirs",
           "merge_update", "v1_writes", "v2_writes"]

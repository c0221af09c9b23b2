"""One sample of a running container's resource use, read from its cgroups and ``/proc``.

Behind ``docker stats``: CPU time (all and per CPU, user and system, throttling), memory (usage,
peak, limit, ``memory.stat``), pids, block I/O, and the traffic of its network interfaces, with
the host's CPU time beside them so that clients can work out a percentage between two samples.
cgroup v1 controllers are read where mounted (each controller in its own hierarchy), v2 otherwise.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

CGROUP_ROOT = "/sys/fs/cgroup"
_NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
_UNLIMITED = 1 << 62  # v1 reports "no limit" as a huge page-aligned number


@dataclass(frozen=True, slots=True)
class CpuSample:
    total: int = 0                      # ns
    per_cpu: tuple[int, ...] = ()       # ns, v1 only
    kernel: int = 0                     # ns
    user: int = 0                       # ns
    system_total: int = 0               # ns of the whole host
    online_cpus: int = 0
    periods: int = 0
    throttled_periods: int = 0
    throttled_time: int = 0             # ns


@dataclass(frozen=True, slots=True)
class BlkioEntry:
    major: int
    minor: int
    op: str
    value: int


@dataclass(frozen=True, slots=True)
class StatsSample:
    read_ns: int = 0                    # when it was taken; 0: not running
    cpu: CpuSample = field(default_factory=CpuSample)
    memory_usage: int = 0
    memory_max_usage: int | None = None  # v1 only
    memory_limit: int = 0
    memory_stat: dict[str, int] = field(default_factory=dict)
    pids_current: int = 0
    pids_limit: int | None = None
    io_service_bytes: tuple[BlkioEntry, ...] = ()
    io_serviced: tuple[BlkioEntry, ...] = ()
    networks: dict[str, dict[str, int]] | None = None


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _int(path: str) -> int | None:
    text = _read(path)
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _key_values(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (_read(path) or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def cgroup_dirs(pid: int, *, proc_root: str = "/proc", cgroup_root: str = CGROUP_ROOT) -> dict[str, str]:
    """Controller (``""`` for the v2 hierarchy) -> the directory of ``pid``'s cgroup."""
    out: dict[str, str] = {}
    for line in (_read(f"{proc_root}/{pid}/cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        rel = path.lstrip("/")
        if controllers == "":
            # the v2 hierarchy: the root itself on a v2 host, ``unified`` beside v1 controllers
            v2_only = os.path.exists(os.path.join(cgroup_root, "cgroup.controllers"))
            candidate = os.path.join(cgroup_root if v2_only else os.path.join(cgroup_root, "unified"), rel)
            if os.path.isdir(candidate):
                out[""] = candidate
            continue
        for controller in controllers.split(","):
            candidate = os.path.join(cgroup_root, controller, rel)
            if os.path.isdir(candidate):
                out[controller] = candidate
    return out


def _system_cpu_ns(proc_root: str) -> int:
    for line in (_read(f"{proc_root}/stat") or "").splitlines():
        if line.startswith("cpu "):
            return sum(int(v) for v in line.split()[1:8]) * _NS_PER_TICK  # user … softirq, as dockerd
    return 0


def _host_memory(proc_root: str) -> int:
    for line in (_read(f"{proc_root}/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _networks(pid: int, proc_root: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for line in (_read(f"{proc_root}/{pid}/net/dev") or "").splitlines()[2:]:
        name, _, counters = line.partition(":")
        name = name.strip()
        values = counters.split()
        if name == "lo" or len(values) < 12:
            continue
        rx = [int(v) for v in values[:4]]
        tx = [int(v) for v in values[8:12]]
        out[name] = {"rx_bytes": rx[0], "rx_packets": rx[1], "rx_errors": rx[2], "rx_dropped": rx[3],
                     "tx_bytes": tx[0], "tx_packets": tx[1], "tx_errors": tx[2], "tx_dropped": tx[3]}
    return out


def _blkio_v1(path: str) -> tuple[BlkioEntry, ...]:
    out = []
    for line in (_read(path) or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, _, minor = parts[0].partition(":")
            out.append(BlkioEntry(int(major), int(minor), parts[1], int(parts[2])))
    return tuple(out)


def _blkio_v2(path: str) -> tuple[tuple[BlkioEntry, ...], tuple[BlkioEntry, ...]]:
    """io.stat as dockerd turns it into v1 entries: bytes and operations, Read and Write."""
    service: list[BlkioEntry] = []
    serviced: list[BlkioEntry] = []
    for line in (_read(path) or "").splitlines():
        device, *fields = line.split()
        major, _, minor = device.partition(":")
        values = dict(f.partition("=")[::2] for f in fields)
        for key, op, target in (("rbytes", "read", service), ("wbytes", "write", service),
                                ("rios", "read", serviced), ("wios", "write", serviced)):
            if values.get(key, "").isdigit():
                target.append(BlkioEntry(int(major), int(minor), op, int(values[key])))
    return tuple(service), tuple(serviced)


def sample(pid: int, *, network: bool = True, proc_root: str = "/proc",
           cgroup_root: str = CGROUP_ROOT) -> StatsSample:
    """A sample of the container whose init is ``pid``; ``network``: read its interfaces (not
    for host networking, whose traffic is the host's)."""
    dirs = cgroup_dirs(pid, proc_root=proc_root, cgroup_root=cgroup_root)
    host_memory = _host_memory(proc_root)
    system = _system_cpu_ns(proc_root)
    online = os.cpu_count() or 0
    unified = dirs.get("")
    if "cpuacct" in dirs:
        acct = dirs["cpuacct"]
        per_cpu = tuple(int(v) for v in (_read(f"{acct}/cpuacct.usage_percpu") or "").split())
        ticks = _key_values(f"{acct}/cpuacct.stat")
        throttling = _key_values(f"{dirs.get('cpu', acct)}/cpu.stat")
        cpu = CpuSample(total=_int(f"{acct}/cpuacct.usage") or 0, per_cpu=per_cpu,
                        kernel=ticks.get("system", 0) * _NS_PER_TICK, user=ticks.get("user", 0) * _NS_PER_TICK,
                        system_total=system, online_cpus=len(per_cpu) or online,
                        periods=throttling.get("nr_periods", 0), throttled_periods=throttling.get("nr_throttled", 0),
                        throttled_time=throttling.get("throttled_time", 0))
    elif unified:
        st = _key_values(f"{unified}/cpu.stat")
        cpu = CpuSample(total=st.get("usage_usec", 0) * 1000, kernel=st.get("system_usec", 0) * 1000,
                        user=st.get("user_usec", 0) * 1000, system_total=system, online_cpus=online,
                        periods=st.get("nr_periods", 0), throttled_periods=st.get("nr_throttled", 0),
                        throttled_time=st.get("throttled_usec", 0) * 1000)
    else:
        cpu = CpuSample(system_total=system, online_cpus=online)
    if "memory" in dirs:
        mem = dirs["memory"]
        usage, peak = _int(f"{mem}/memory.usage_in_bytes") or 0, _int(f"{mem}/memory.max_usage_in_bytes")
        limit = _int(f"{mem}/memory.limit_in_bytes") or _UNLIMITED
        memory_stat = _key_values(f"{mem}/memory.stat")
    elif unified:
        usage, peak = _int(f"{unified}/memory.current") or 0, None
        limit = _int(f"{unified}/memory.max") or _UNLIMITED  # "max" is not a number: no limit
        memory_stat = _key_values(f"{unified}/memory.stat")
    else:
        usage, peak, limit, memory_stat = 0, None, _UNLIMITED, {}
    pids_dir = dirs.get("pids", unified)
    pids_limit = _int(f"{pids_dir}/pids.max") if pids_dir else None
    if "blkio" in dirs:
        service = _blkio_v1(f"{dirs['blkio']}/blkio.throttle.io_service_bytes_recursive")
        serviced = _blkio_v1(f"{dirs['blkio']}/blkio.throttle.io_serviced_recursive")
    elif unified:
        service, serviced = _blkio_v2(f"{unified}/io.stat")
    else:
        service = serviced = ()
    return StatsSample(
        read_ns=time.time_ns(), cpu=cpu, memory_usage=usage, memory_max_usage=peak,
        memory_limit=min(limit, host_memory) if host_memory else limit, memory_stat=memory_stat,
        pids_current=(_int(f"{pids_dir}/pids.current") or 0) if pids_dir else 0, pids_limit=pids_limit,
        io_service_bytes=service, io_serviced=serviced,
        networks=_networks(pid, proc_root) if network else None,
    )


__all__ = ["BlkioEntry", "CpuSample", "StatsSample", "cgroup_dirs", "sample"]

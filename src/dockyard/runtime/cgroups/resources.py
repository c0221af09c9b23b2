"""linux.resources → the cgroup files to write, as pure data (v1 and v2), in a safe order."""

from __future__ import annotations

from dockyard.runtime.spec import DeviceRule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass

    from dockyard.runtime.spec import Resources, ThrottleDevice
else:
    from dockyard.runtime._record import record as dataclass


@dataclass(frozen=True, slots=True)
class Write:
    controller: str  # v1 hierarchy ("memory", "cpu", …); "" for the v2 unified directory
    file: str
    value: str
    optional: bool = False  # skip silently when the kernel lacks the file


def _throttles(ctrl: str, file: str, devs: tuple[ThrottleDevice, ...]) -> list[Write]:
    return [Write(ctrl, file, f"{d.major}:{d.minor} {d.rate}") for d in devs]


def device_rule_line(rule: DeviceRule) -> str:
    """``c 1:3 rwm``; a type ``a`` rule without numbers is the whole-list ``a``."""
    if rule.type == "a" and rule.major is None and rule.minor is None:
        return "a"
    major = "*" if rule.major is None or rule.major < 0 else str(rule.major)
    minor = "*" if rule.minor is None or rule.minor < 0 else str(rule.minor)
    return f"{rule.type} {major}:{minor} {rule.access or 'rwm'}"


# What runc always allows after the configured rules (specconv.AllowedDevices).
DEFAULT_ALLOWED_DEVICES = (
    DeviceRule(True, "c", None, None, "m"), DeviceRule(True, "b", None, None, "m"),
    DeviceRule(True, "c", 1, 3, "rwm"), DeviceRule(True, "c", 1, 8, "rwm"), DeviceRule(True, "c", 1, 7, "rwm"),
    DeviceRule(True, "c", 5, 0, "rwm"), DeviceRule(True, "c", 1, 5, "rwm"), DeviceRule(True, "c", 1, 9, "rwm"),
    DeviceRule(True, "c", 136, None, "rwm"), DeviceRule(True, "c", 5, 2, "rwm"),
    DeviceRule(True, "c", 10, 200, "rwm"),  # /dev/net/tun: allowed, though no node is created
)


def v1_writes(res: Resources, devices: bool = True) -> list[Write]:
    out: list[Write] = []
    mem = res.memory
    if mem.limit is not None:
        out.append(Write("memory", "memory.limit_in_bytes", str(mem.limit)))
    if mem.swap is not None:
        # memsw must stay >= the memory limit; the limit was written first.
        out.append(Write("memory", "memory.memsw.limit_in_bytes", str(mem.swap), optional=True))
    if mem.reservation is not None:
        out.append(Write("memory", "memory.soft_limit_in_bytes", str(mem.reservation)))
    if mem.kernel_tcp is not None:
        out.append(Write("memory", "memory.kmem.tcp.limit_in_bytes", str(mem.kernel_tcp)))
    if mem.swappiness is not None:
        out.append(Write("memory", "memory.swappiness", str(mem.swappiness)))
    if mem.disable_oom_killer is not None:
        out.append(Write("memory", "memory.oom_control", "1" if mem.disable_oom_killer else "0"))
    cpu = res.cpu
    if cpu.shares:
        out.append(Write("cpu", "cpu.shares", str(cpu.shares)))
    if cpu.period:
        out.append(Write("cpu", "cpu.cfs_period_us", str(cpu.period)))
    if cpu.quota is not None and cpu.quota != 0:
        out.append(Write("cpu", "cpu.cfs_quota_us", str(cpu.quota)))
    if cpu.burst is not None:
        out.append(Write("cpu", "cpu.cfs_burst_us", str(cpu.burst), optional=True))
    if cpu.realtime_period:
        out.append(Write("cpu", "cpu.rt_period_us", str(cpu.realtime_period), optional=True))
    if cpu.realtime_runtime is not None:
        out.append(Write("cpu", "cpu.rt_runtime_us", str(cpu.realtime_runtime), optional=True))
    if cpu.idle is not None:
        out.append(Write("cpu", "cpu.idle", str(cpu.idle), optional=True))
    if cpu.cpus:
        out.append(Write("cpuset", "cpuset.cpus", cpu.cpus))
    if cpu.mems:
        out.append(Write("cpuset", "cpuset.mems", cpu.mems))
    if res.pids_limit is not None:
        out.append(Write("pids", "pids.max", "max" if res.pids_limit <= 0 else str(res.pids_limit)))
    blk = res.block_io
    if blk.weight:
        out.append(Write("blkio", "blkio.weight", str(blk.weight)))
    if blk.leaf_weight:
        out.append(Write("blkio", "blkio.leaf_weight", str(blk.leaf_weight)))
    out += _throttles("blkio", "blkio.throttle.read_bps_device", blk.throttle_read_bps)
    out += _throttles("blkio", "blkio.throttle.write_bps_device", blk.throttle_write_bps)
    out += _throttles("blkio", "blkio.throttle.read_iops_device", blk.throttle_read_iops)
    out += _throttles("blkio", "blkio.throttle.write_iops_device", blk.throttle_write_iops)
    for hp in res.hugepage_limits:
        out.append(Write("hugetlb", f"hugetlb.{hp.page_size}.limit_in_bytes", str(hp.limit)))
    if devices and res.devices:
        for rule in res.devices + DEFAULT_ALLOWED_DEVICES:
            out.append(Write("devices", "devices.allow" if rule.allow else "devices.deny", device_rule_line(rule)))
    return out


def shares_to_weight(shares: int) -> int:
    """cpu.shares (2…262144) → cpu.weight (1…10000), the conversion runc and crun use."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io(weight: int) -> int:
    return 1 + (weight - 10) * 9999 // 990


def v2_writes(res: Resources) -> list[Write]:
    out: list[Write] = []
    mem = res.memory
    if mem.limit is not None:
        out.append(Write("", "memory.max", "max" if mem.limit < 0 else str(mem.limit)))
        if mem.swap is not None:
            swap = "max" if mem.swap < 0 else str(max(0, mem.swap - mem.limit))
            out.append(Write("", "memory.swap.max", swap))
    if mem.reservation is not None:
        out.append(Write("", "memory.low", "max" if mem.reservation < 0 else str(mem.reservation)))
    cpu = res.cpu
    if cpu.shares:
        out.append(Write("", "cpu.weight", str(shares_to_weight(cpu.shares))))
    if (cpu.quota is not None and cpu.quota != 0) or cpu.period:
        quota = "max" if cpu.quota is None or cpu.quota < 0 else str(cpu.quota)
        out.append(Write("", "cpu.max", f"{quota} {cpu.period or 100000}"))
    if cpu.burst is not None:
        out.append(Write("", "cpu.max.burst", str(cpu.burst)))
    if cpu.idle is not None:
        out.append(Write("", "cpu.idle", str(cpu.idle)))
    if cpu.cpus:
        out.append(Write("", "cpuset.cpus", cpu.cpus))
    if cpu.mems:
        out.append(Write("", "cpuset.mems", cpu.mems))
    if res.pids_limit is not None:
        out.append(Write("", "pids.max", "max" if res.pids_limit <= 0 else str(res.pids_limit)))
    blk = res.block_io
    if blk.weight:
        out.append(Write("", "io.weight", f"default {blk_weight(blk.weight)}"))
    for key, devs in (("rbps", blk.throttle_read_bps), ("wbps", blk.throttle_write_bps),
                      ("riops", blk.throttle_read_iops), ("wiops", blk.throttle_write_iops)):
        out += [Write("", "io.max", f"{d.major}:{d.minor} {key}={d.rate}") for d in devs]
    for hp in res.hugepage_limits:
        out.append(Write("", f"hugetlb.{hp.page_size}.max", str(hp.limit)))
    for file, value in sorted(res.unified.items()):
        out.append(Write("", file, value))
    return out


def blk_weight(weight: int) -> int:
    return blkio_weight_to_io(weight)

"""Checks Docker's daemon makes on create options, with Docker's messages (all InvalidArgument)."""

from __future__ import annotations

import os
import re

from dockyard.engine.spec.defaults import ALL_CAPS, SYSCTL_NAMES, SYSCTL_PREFIXES, ULIMIT_NAMES
from dockyard.engine.spec.host import HostFacts
from dockyard.engine.spec.model import CreateOptions, HostOptions, Resources
from dockyard.errors import InvalidArgument

MIN_MEMORY = 6 * 1024 * 1024
_CPUSET_RE = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def normalize_caps(caps: tuple[str, ...]) -> list[str]:
    """Upper-case, ``CAP_``-prefixed names (``ALL`` kept); unknown names are refused."""
    out = []
    for cap in caps:
        c = cap.upper()
        if c != "ALL":
            if not c.startswith("CAP_"):
                c = "CAP_" + c
            if c not in ALL_CAPS:
                raise InvalidArgument(f'unknown capability: "{c}"')
        out.append(c)
    return out


def sysctl_namespace(name: str) -> str | None:
    """The namespace a sysctl belongs to, None when Docker does not allow it in a container."""
    if name in SYSCTL_NAMES:
        return SYSCTL_NAMES[name]
    for prefix, ns in SYSCTL_PREFIXES:
        if name.startswith(prefix):
            return ns
    return None


def check_sysctls(host: HostOptions) -> None:
    for name, value in host.sysctls.items():
        ns = sysctl_namespace(name)
        if ns is None:
            raise InvalidArgument(f"sysctl '{name}={value}' is not whitelisted")
        if ns == "network" and host.network_kind == "host":
            raise InvalidArgument(f'sysctl "{name}" not allowed in host network namespace')
        if ns == "ipc" and host.ipc_mode.kind == "host":
            raise InvalidArgument(f'sysctl "{name}" not allowed in host IPC namespace')
        if ns == "uts" and host.uts_mode.kind == "host":
            raise InvalidArgument(f'sysctl "{name}" not allowed in host UTS namespace')


def parse_uint_list(text: str, context: str) -> set[int]:
    """A cpuset list (``0-2,4``), as Go's parsers.ParseUintList reads it."""
    if not _CPUSET_RE.match(text):
        raise InvalidArgument(f"{context}: invalid format: {text}")
    out: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if first > last:
            raise InvalidArgument(f"{context}: invalid format: {part}")
        out.update(range(first, last + 1))
    return out


def check_resources(r: Resources, ncpu: int = 0, *, update: bool = False) -> None:
    """dockerd's verifyPlatformContainerResources; ``update``: the body of an update alone."""
    if r.memory != 0 and r.memory < MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if r.memory < 0:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if r.memory_swap > 0 and r.memory == 0 and not update:  # the container's limit may be set already
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
    if r.memory > 0 and r.memory_swap > 0 and r.memory_swap < r.memory:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
    if r.memory_swap < -1:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
    if r.memory_swappiness is not None and r.memory_swappiness != -1 and not 0 <= r.memory_swappiness <= 100:
        raise InvalidArgument(
            f"Invalid value: {r.memory_swappiness}, valid memory swappiness range is 0-100")
    if r.memory_reservation != 0 and r.memory_reservation < MIN_MEMORY:
        raise InvalidArgument("Minimum memory reservation allowed is 6MB")
    if r.memory > 0 and r.memory_reservation > 0 and r.memory < r.memory_reservation:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage")
    if r.nano_cpus > 0 and r.cpu_period > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if r.nano_cpus > 0 and r.cpu_quota > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if r.nano_cpus < 0 or (ncpu > 0 and r.nano_cpus > ncpu * 10**9):
        n = max(ncpu or os.cpu_count() or 1, 1)  # the message names the host's count either way
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available")
    if r.cpu_shares < 0:
        raise InvalidArgument("shares: invalid argument")
    if r.cpu_period != 0 and not 1000 <= r.cpu_period <= 1_000_000:
        raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if r.cpu_quota > 0 and r.cpu_quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    for text, what in ((r.cpuset_cpus, "cpus"), (r.cpuset_mems, "mems")):
        if text:
            requested = parse_uint_list(text, f"Invalid value {text} for cpuset {what}")
            if what == "cpus" and ncpu and max(requested) >= ncpu:
                raise InvalidArgument(f"Requested CPUs are not available - requested {text}, available: "
                                      f"{'0' if ncpu == 1 else f'0-{ncpu - 1}'}")
    if r.blkio_weight != 0 and not 10 <= r.blkio_weight <= 1000:
        raise InvalidArgument("Range of blkio weight is from 10 to 1000")
    for wd in r.blkio_weight_device:
        if not 10 <= wd.weight <= 1000:
            raise InvalidArgument("Range of blkio weight is from 10 to 1000")
    for group in (r.blkio_device_read_bps, r.blkio_device_write_bps, r.blkio_device_read_iops,
                  r.blkio_device_write_iops):
        for td in group:
            if td.rate < 0:
                raise InvalidArgument(f"invalid rate for device: {td.path}. The correct format is "
                                      "<device-path>:<number>. Number must be a positive integer")
    for dev in r.devices:
        if not dev.cgroup_permissions or any(ch not in "rwm" for ch in dev.cgroup_permissions):
            raise InvalidArgument(f"invalid device mode: {dev.cgroup_permissions}")
    for ul in r.ulimits:
        if ul.name not in ULIMIT_NAMES:
            raise InvalidArgument(f"invalid ulimit type: {ul.name}")
        if ul.soft > ul.hard and ul.hard != -1:
            raise InvalidArgument(
                f"ulimit soft limit must be less than or equal to hard limit: {ul.soft} > {ul.hard}")


def validate(options: CreateOptions, facts: HostFacts | None = None) -> None:
    """Everything Docker refuses at create time; raises InvalidArgument with Docker's words."""
    cfg, host = options.config, options.host
    if cfg.working_dir and not cfg.working_dir.startswith("/"):
        raise InvalidArgument(
            f"the working directory '{cfg.working_dir}' is invalid, it needs to be an absolute path")
    policy = host.restart_policy
    if policy.name in ("always", "unless-stopped", "no") and policy.maximum_retry_count != 0:
        msg = "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        if policy.maximum_retry_count < 0:
            msg += " and cannot be negative"
        raise InvalidArgument(msg)
    if policy.name == "on-failure" and policy.maximum_retry_count < 0:
        raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    if host.auto_remove and policy.name != "no":
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    if not -1000 <= host.oom_score_adj <= 1000:
        raise InvalidArgument(f"Invalid value {host.oom_score_adj}, range for oom score adj is [-1000, 1000]")
    if host.shm_size < 0:
        raise InvalidArgument("SHM size can not be less than 0")
    for field, caps in (("CapAdd", host.cap_add), ("CapDrop", host.cap_drop)):
        try:
            normalize_caps(caps)
        except InvalidArgument as exc:
            raise InvalidArgument(f"invalid {field}: {exc}") from None
    check_sysctls(host)
    check_resources(host.resources, facts.ncpu if facts is not None else 0)
    if host.uts_mode.kind not in ("private", "host"):
        raise InvalidArgument(f"invalid UTS mode: {host.uts_mode}")
    if host.pid_mode.kind not in ("private", "host", "container"):
        raise InvalidArgument(f"invalid PID mode: {host.pid_mode}")
    if host.uts_mode.kind == "host" and cfg.hostname:
        raise InvalidArgument("Conflicting options: hostname and the UTS mode")
    if host.network_kind == "container":
        # dockerd's checks, in its order, for a container that shares another's network stack
        for present, what in ((cfg.hostname, "hostname and the network mode"),
                              (host.dns, "dns and the network mode"),
                              (host.extra_hosts, "custom host-to-IP mapping and the network mode"),
                              (host.port_bindings or host.publish_all_ports,
                               "port publishing and the container type network mode"),
                              (cfg.exposed_ports, "port exposing and the container type network mode")):
            if present:
                raise InvalidArgument(f"conflicting options: {what}")


__all__ = ["MIN_MEMORY", "check_resources", "check_sysctls", "normalize_caps", "sysctl_namespace", "validate"]

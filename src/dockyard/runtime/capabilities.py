"""Capability names and applying the five sets in the order the kernel requires."""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.errors import InvalidArgument

CAP_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
CAP_BY_NAME = {name: i for i, name in enumerate(CAP_NAMES)}


_last_cap: list[int] = []  # read once: the kernel's answer does not change while it runs


def last_cap() -> int:
    """The highest capability number the running kernel knows."""
    if not _last_cap:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                _last_cap.append(int(f.read()))
        except OSError:
            return len(CAP_NAMES) - 1
    return _last_cap[0]


def cap_number(name: str) -> int:
    key = name.upper()
    if not key.startswith("CAP_"):
        key = "CAP_" + key
    try:
        return CAP_BY_NAME[key]
    except KeyError:
        raise InvalidArgument(f"unknown capability {name!r}") from None


def mask(names: Iterable[str], known: int | None = None) -> int:
    """Bit mask of the named capabilities; ones the kernel lacks are ignored (like runc)."""
    top = last_cap() if known is None else known
    out = 0
    for name in names:
        n = cap_number(name)
        if n <= top:
            out |= 1 << n
    return out


def names(bits: int) -> list[str]:
    return [name for i, name in enumerate(CAP_NAMES) if bits >> i & 1]

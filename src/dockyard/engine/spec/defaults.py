"""Docker's defaults for a Linux container (moby ``daemon/pkg/oci/defaults.go`` and ``caps``)."""

from __future__ import annotations

from typing import Any

OCI_VERSION = "1.2.0"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INIT_PATH_IN_CONTAINER = "/sbin/docker-init"
CGROUP_PARENT = "/dockyard"

DEFAULT_CAPS: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

# Every capability up to CAP_CHECKPOINT_RESTORE (40), in kernel order: what --privileged and
# --cap-add ALL grant.
ALL_CAPS: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)

MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
    "/sys/devices/virtual/powercap", "/sys/firmware",
)

READONLY_PATHS: tuple[str, ...] = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

# Default namespaces, in moby's order; a cgroup namespace is appended when private.
NAMESPACES: tuple[str, ...] = ("mount", "network", "uts", "pid", "ipc")

# Destinations that --read-only leaves writable.
RO_ROOTFS_EXEMPT = frozenset({"/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"})

# Namespaced sysctls Docker allows (docker/cli opts.ValidateSysctl); value is the namespace needed.
SYSCTL_NAMES = {
    "kernel.msgmax": "ipc", "kernel.msgmnb": "ipc", "kernel.msgmni": "ipc", "kernel.sem": "ipc",
    "kernel.shmall": "ipc", "kernel.shmmax": "ipc", "kernel.shmmni": "ipc", "kernel.shm_rmid_forced": "ipc",
    "kernel.domainname": "uts", "kernel.hostname": "uts",
}
SYSCTL_PREFIXES = (("net.", "network"), ("fs.mqueue.", "ipc"))

# Sysctls moby sets for a container with its own network namespace.
NETWORK_SYSCTLS = {"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}


def default_mounts() -> list[dict[str, Any]]:
    """The standard filesystems, in moby's order (/dev/shm gets its size from --shm-size)."""
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777"]},
    ]


def default_device_rules() -> list[dict[str, Any]]:
    """Deny everything; allow zero, null, urandom, random, tty and console; deny fuse explicitly."""
    rules: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
    for major, minor in ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)):
        rules.append({"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"})
    rules.append({"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"})
    return rules


# go-units ulimit names.
ULIMIT_NAMES = frozenset({
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
    "rttime", "sigpending", "stack",
})

__all__ = [
    "ALL_CAPS", "CGROUP_PARENT", "DEFAULT_CAPS", "DEFAULT_PATH", "INIT_PATH_IN_CONTAINER", "MASKED_PATHS",
    "NAMESPACES", "NETWORK_SYSCTLS", "OCI_VERSION", "READONLY_PATHS", "RO_ROOTFS_EXEMPT", "SYSCTL_NAMES",
    "SYSCTL_PREFIXES", "ULIMIT_NAMES", "default_device_rules", "default_mounts",
]

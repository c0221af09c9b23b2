"""Facts about the host and about other containers that the spec builder needs as plain data.

The builder itself does no I/O: the container service gathers these (``hostprobe.probe_host``
for the host side) and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dockyard.engine.spec.seccomp import KernelVersion


@dataclass(frozen=True, slots=True)
class HostDevice:
    """A device node on the host: ``path`` is the host path; ``type`` is c, b, u or p."""

    path: str
    type: str
    major: int
    minor: int
    file_mode: int = 0o666
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True, slots=True)
class HostFacts:
    """``devices`` maps each host path named by ``--device`` or ``--blkio-*`` to the device nodes
    at or below it; ``all_devices`` is every device of the host's /dev (used by --privileged).
    ``kernel`` None means "recent"; ``ncpu`` 0 means "unknown" (no --cpus range check)."""

    kernel: KernelVersion | None = None
    ncpu: int = 0
    cgroup2: bool = True
    thermal_throttle: tuple[str, ...] = ()
    hostname: str = ""
    devices: Mapping[str, tuple[HostDevice, ...]] = field(default_factory=dict, hash=False)
    all_devices: tuple[HostDevice, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", MappingProxyType(dict(self.devices)))


@dataclass(frozen=True, slots=True)
class JoinedNamespaces:
    """Namespace files of the containers named by ``container:<x>`` modes (``/proc/<pid>/ns/...``),
    and for ``--ipc container:<x>`` that container's /dev/shm source."""

    pid: str = ""
    ipc: str = ""
    ipc_shm: str = ""


__all__ = ["HostDevice", "HostFacts", "JoinedNamespaces"]

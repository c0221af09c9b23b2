"""Typed container create options: Docker's ``Config``, ``HostConfig`` and ``NetworkingConfig``.

Values are already validated and normalised (see ``wire.from_docker_json``); sizes are bytes,
CPU amounts are Docker's units (nano-CPUs, microseconds, shares). ``None`` means "not set" where
Docker tells unset from zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from dockyard.engine.spec.seccomp import Profile
from dockyard.oci.config import HealthConfig

DEFAULT_SHM_SIZE = 64 * 1024 * 1024


def _frozen(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


class MountType(StrEnum):
    BIND = "bind"
    VOLUME = "volume"
    TMPFS = "tmpfs"


@dataclass(frozen=True, slots=True)
class MountSpec:
    """One ``-v`` bind/volume or ``--mount`` entry.

    ``source`` is the host path for binds and the volume name for volumes (``""``: anonymous).
    ``propagation`` applies to binds (``""`` means Docker's default, rprivate). ``raw`` keeps the
    ``-v`` text for binds given that way, so inspect can show ``HostConfig.Binds`` as sent.
    """

    type: MountType
    target: str
    source: str = ""
    read_only: bool = False
    propagation: str = ""
    non_recursive: bool = False
    create_host_path: bool = False
    no_copy: bool = False
    volume_driver: str = ""
    volume_labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    volume_options: Mapping[str, str] = field(default_factory=dict, hash=False)
    tmpfs_size: int = 0
    tmpfs_mode: int | None = None
    raw: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "volume_labels", _frozen(self.volume_labels))
        object.__setattr__(self, "volume_options", _frozen(self.volume_options))


@dataclass(frozen=True, slots=True)
class DeviceMapping:
    """``--device /dev/x[:/dev/y[:rwm]]``."""

    path_on_host: str
    path_in_container: str
    cgroup_permissions: str = "rwm"


@dataclass(frozen=True, slots=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class ThrottleDevice:
    path: str
    rate: int


@dataclass(frozen=True, slots=True)
class WeightDevice:
    path: str
    weight: int


@dataclass(frozen=True, slots=True)
class Resources:
    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0
    memory_swappiness: int | None = None
    oom_kill_disable: bool | None = None
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int | None = None
    blkio_weight: int = 0
    blkio_weight_device: tuple[WeightDevice, ...] = ()
    blkio_device_read_bps: tuple[ThrottleDevice, ...] = ()
    blkio_device_write_bps: tuple[ThrottleDevice, ...] = ()
    blkio_device_read_iops: tuple[ThrottleDevice, ...] = ()
    blkio_device_write_iops: tuple[ThrottleDevice, ...] = ()
    devices: tuple[DeviceMapping, ...] = ()
    device_cgroup_rules: tuple[str, ...] = ()
    ulimits: tuple[Ulimit, ...] = ()
    cgroup_parent: str = ""


SeccompSetting = Literal["default", "unconfined"] | Profile


@dataclass(frozen=True, slots=True)
class SecurityOptions:
    """``--security-opt`` parsed. ``raw`` keeps the strings for inspect."""

    no_new_privileges: bool = False
    seccomp: SeccompSetting = "default"
    apparmor: str = ""
    label: tuple[str, ...] = ()
    raw: tuple[str, ...] = ()


RestartName = Literal["no", "always", "unless-stopped", "on-failure"]


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    name: RestartName = "no"
    maximum_retry_count: int = 0


@dataclass(frozen=True, slots=True)
class LogConfig:
    type: str = "json-file"
    config: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", _frozen(self.config))


@dataclass(frozen=True, slots=True)
class PortBinding:
    host_ip: str = ""
    host_port: str = ""


NamespaceKind = Literal["private", "host", "container", "none", "shareable"]


@dataclass(frozen=True, slots=True)
class NamespaceMode:
    """A ``--pid``/``--ipc``/``--uts``/``--cgroupns`` value; ``target`` for ``container:<x>``."""

    kind: NamespaceKind = "private"
    target: str = ""

    @classmethod
    def parse(cls, text: str) -> NamespaceMode:
        if text.startswith("container:"):
            return cls("container", text.split(":", 1)[1])
        if text in ("host", "none", "shareable", "private"):
            return cls(text)  # type: ignore[arg-type]
        return cls()

    def __str__(self) -> str:
        return f"container:{self.target}" if self.kind == "container" else self.kind


@dataclass(frozen=True, slots=True)
class ContainerOptions:
    """Docker's ``Config`` (the parts a container is made from)."""

    image: str = ""
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    hostname: str = ""
    domainname: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    stop_signal: str = ""
    stop_timeout: int | None = None
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    network_disabled: bool = False
    healthcheck: HealthConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))


@dataclass(frozen=True, slots=True)
class HostOptions:
    """Docker's ``HostConfig``."""

    binds: tuple[MountSpec, ...] = ()
    mounts: tuple[MountSpec, ...] = ()
    tmpfs: Mapping[str, str] = field(default_factory=dict, hash=False)
    read_only: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    security: SecurityOptions = SecurityOptions()
    group_add: tuple[str, ...] = ()
    shm_size: int = DEFAULT_SHM_SIZE
    sysctls: Mapping[str, str] = field(default_factory=dict, hash=False)
    pid_mode: NamespaceMode = NamespaceMode()
    ipc_mode: NamespaceMode = NamespaceMode()
    uts_mode: NamespaceMode = NamespaceMode()
    cgroupns_mode: NamespaceMode | None = None
    network_mode: str = "bridge"
    resources: Resources = Resources()
    init: bool | None = None
    restart_policy: RestartPolicy = RestartPolicy()
    log_config: LogConfig = LogConfig()
    auto_remove: bool = False
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    oom_score_adj: int = 0
    port_bindings: Mapping[str, tuple[PortBinding, ...]] = field(default_factory=dict, hash=False)
    publish_all_ports: bool = False
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("tmpfs", "sysctls", "annotations"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "port_bindings", MappingProxyType(dict(self.port_bindings)))

    @property
    def network_kind(self) -> str:
        """``bridge``, ``host``, ``none``, ``container`` or ``user`` (a user-defined network)."""
        mode = self.network_mode
        if mode in ("", "default", "bridge"):
            return "bridge"
        if mode in ("host", "none"):
            return mode
        if mode.startswith("container:"):
            return "container"
        return "user"


@dataclass(frozen=True, slots=True)
class EndpointOptions:
    """One entry of ``NetworkingConfig.EndpointsConfig``."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str = ""
    ipv6_address: str = ""
    mac_address: str = ""
    links: tuple[str, ...] = ()
    driver_opts: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "driver_opts", _frozen(self.driver_opts))


@dataclass(frozen=True, slots=True)
class CreateOptions:
    """Everything ``POST /containers/create`` carries, typed."""

    config: ContainerOptions = ContainerOptions()
    host: HostOptions = HostOptions()
    endpoints: tuple[EndpointOptions, ...] = ()


__all__ = [
    "DEFAULT_SHM_SIZE", "ContainerOptions", "CreateOptions", "DeviceMapping", "EndpointOptions", "HostOptions",
    "LogConfig", "MountSpec", "MountType", "NamespaceKind", "NamespaceMode", "PortBinding", "Resources",
    "RestartName", "RestartPolicy", "SeccompSetting", "SecurityOptions", "ThrottleDevice", "Ulimit",
    "WeightDevice",
]

"""The project model: what a set of compose files means once loaded, merged and normalised.

Every value object is frozen. Durations are seconds (floats), sizes are bytes; relative host paths
are already absolute; named volumes and networks are referred to by their key in the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.compose.errors import InvalidProject

CONDITION_STARTED = "service_started"
CONDITION_HEALTHY = "service_healthy"
CONDITION_COMPLETED = "service_completed_successfully"
CONDITIONS = (CONDITION_STARTED, CONDITION_HEALTHY, CONDITION_COMPLETED)

DEFAULT_NETWORK = "default"


@dataclass(frozen=True)
class PortSpec:
    """One published or exposed container port (ranges are expanded, one entry per port)."""

    target: int
    published: str = ""  # "" for an ephemeral host port; "8080" or a host range "8080-8090"
    host_ip: str = ""
    protocol: str = "tcp"
    mode: str = "ingress"
    name: str = ""
    app_protocol: str = ""

    @property
    def key(self) -> str:
        return f"{self.target}/{self.protocol}"


@dataclass(frozen=True)
class MountSpec:
    """A service volume: a named or anonymous volume, a bind mount or a tmpfs."""

    type: str  # "volume" | "bind" | "tmpfs"
    target: str
    source: str = ""  # the volume's key in the project, an absolute host path, or "" (anonymous, tmpfs)
    read_only: bool = False
    short_syntax: bool = False
    propagation: str = ""
    create_host_path: bool = True
    selinux: str = ""
    nocopy: bool = False
    subpath: str = ""
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None


@dataclass(frozen=True)
class ServiceNetwork:
    """A service's attachment to one of the project's networks."""

    name: str  # the network's key in the project
    aliases: tuple[str, ...] = ()
    ipv4_address: str = ""
    ipv6_address: str = ""
    priority: int = 0
    mac_address: str = ""


@dataclass(frozen=True)
class Dependency:
    service: str
    condition: str = CONDITION_STARTED
    required: bool = True
    restart: bool = False


@dataclass(frozen=True)
class Healthcheck:
    """``test`` is empty when only the timings override the image's check."""

    test: tuple[str, ...] = ()
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None
    disable: bool = False


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Logging:
    driver: str = ""
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    has_build: bool = False
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortSpec, ...] = ()
    expose: tuple[str, ...] = ()
    volumes: tuple[MountSpec, ...] = ()
    tmpfs: tuple[str, ...] = ()
    networks: tuple[ServiceNetwork, ...] = ()
    network_mode: str = ""
    depends_on: tuple[Dependency, ...] = ()
    restart: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    container_name: str = ""
    hostname: str = ""
    domainname: str = ""
    working_dir: str = ""
    user: str = ""
    healthcheck: Healthcheck | None = None
    stop_signal: str = ""
    stop_grace_period: float | None = None
    tty: bool = False
    stdin_open: bool = False
    init: bool | None = None
    read_only: bool = False
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    sysctls: Mapping[str, str] = field(default_factory=dict)
    ulimits: tuple[Ulimit, ...] = ()
    shm_size: int | None = None
    mem_limit: int | None = None
    mem_reservation: int | None = None
    memswap_limit: int | None = None
    mem_swappiness: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpuset: str = ""
    pids_limit: int | None = None
    oom_score_adj: int | None = None
    oom_kill_disable: bool | None = None
    logging: Logging | None = None
    scale: int = 1
    profiles: tuple[str, ...] = ()
    pull_policy: str = ""
    platform: str = ""
    security_opt: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    ipc: str = ""
    pid: str = ""
    uts: str = ""
    userns_mode: str = ""
    cgroup_parent: str = ""
    runtime: str = ""
    mac_address: str = ""
    volumes_from: tuple[str, ...] = ()
    attach: bool = True

    def dependency_names(self) -> tuple[str, ...]:
        """Services this one needs first: depends_on, then those network_mode/volumes_from name."""
        names = [d.service for d in self.depends_on]
        if self.network_mode.startswith("service:"):
            names.append(self.network_mode.split(":", 1)[1])
        for source in self.volumes_from:
            if not source.startswith("container:"):
                names.append(source.split(":", 1)[0])
        return tuple(dict.fromkeys(names))

    def networks_by_priority(self) -> tuple[ServiceNetwork, ...]:
        """Highest priority first, then by name: the first is the container's primary network."""
        return tuple(sorted(self.networks, key=lambda n: (-n.priority, n.name)))


@dataclass(frozen=True)
class IpamPool:
    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""
    aux_addresses: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ipam:
    driver: str = ""
    config: tuple[IpamPool, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Network:
    key: str
    name: str  # the engine's name: <project>_<key>, or ``name:``, or the external network's
    driver: str = ""
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    internal: bool = False
    attachable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    external: bool = False
    ipam: Ipam | None = None


@dataclass(frozen=True)
class Volume:
    key: str
    name: str
    driver: str = ""
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    external: bool = False


@dataclass(frozen=True)
class Project:
    name: str
    working_dir: str
    config_files: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    disabled: tuple[Service, ...] = ()  # switched off by profiles: their containers are not orphans
    networks: Mapping[str, Network] = field(default_factory=dict)
    volumes: Mapping[str, Volume] = field(default_factory=dict)
    environment_file: str = ""

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        if any(s.name == name for s in self.disabled):
            raise InvalidProject(f'service "{name}" is disabled by profiles')
        raise InvalidProject(f"no such service: {name}")

    def has_service(self, name: str) -> bool:
        return any(s.name == name for s in self.services)

    def all_service_names(self) -> frozenset[str]:
        return frozenset(s.name for s in (*self.services, *self.disabled))


__all__ = [
    "CONDITIONS",
    "CONDITION_COMPLETED",
    "CONDITION_HEALTHY",
    "CONDITION_STARTED",
    "DEFAULT_NETWORK",
    "Dependency",
    "Healthcheck",
    "Ipam",
    "IpamPool",
    "Logging",
    "MountSpec",
    "Network",
    "PortSpec",
    "Project",
    "Service",
    "ServiceNetwork",
    "Ulimit",
    "Volume",
]

"""A service replica as the Engine API's create request (Config + HostConfig + NetworkingConfig).

This is where the model meets Docker's wire names, and the only place in compose that writes
them. API 1.44 takes every network in NetworkingConfig.EndpointsConfig at once; HostConfig's
NetworkMode names the primary one (highest priority, then by name), as Compose sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.compose import COMPOSE_VERSION
from dockyard.compose import labels as L
from dockyard.compose.errors import InvalidProject
from dockyard.compose.hashing import config_hash
from dockyard.compose.model import Healthcheck, MountSpec, Project, Service
from dockyard.compose.names import container_name
from dockyard.compose.ports import expose_keys

Json = dict[str, Any]
ContainerOf = Callable[[str], str]
"""The (first) container of a service by name, for ``network_mode: service:x`` and ``volumes_from``."""


@dataclass(frozen=True)
class CreateRequest:
    name: str
    body: Mapping[str, Any]
    platform: str = ""


@dataclass(frozen=True)
class ReplicaContext:
    """What the create request of one replica needs besides the model."""

    number: int
    image_id: str = ""
    inherited_volumes: Mapping[str, str] = field(default_factory=dict)  # target → anonymous volume to keep
    container_of: ContainerOf | None = None
    name: str = ""  # defaults to the replica's Compose name


def replica_name(project: Project, service: Service, number: int) -> str:
    return service.container_name or container_name(project.name, service.name, number)


def references_services(service: Service) -> bool:
    """Whether network_mode or volumes_from name another service (its container, when created)."""
    return service.network_mode.startswith("service:") or any(
        not v.startswith("container:") for v in service.volumes_from)


def depends_on_label(service: Service) -> str:
    return ",".join(f"{d.service}:{d.condition}:{str(d.restart).lower()}" for d in service.depends_on)


def container_labels(project: Project, service: Service, number: int, image_id: str,
                     container_of: ContainerOf | None = None) -> dict[str, str]:
    labels = dict(service.labels)
    labels.update({
        L.CONFIG_HASH: config_hash(service, container_of if references_services(service) else None),
        L.CONTAINER_NUMBER: str(number),
        L.DEPENDS_ON: depends_on_label(service),
        L.IMAGE: image_id,
        L.ONEOFF: "False",
        L.PROJECT: project.name,
        L.CONFIG_FILES: ",".join(project.config_files),
        L.WORKING_DIR: project.working_dir,
        L.SERVICE: service.name,
        L.VERSION: COMPOSE_VERSION,
    })
    if project.environment_file:
        labels[L.ENVIRONMENT_FILE] = project.environment_file
    return labels


def _nanos(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1e9)


def healthcheck_body(check: Healthcheck) -> Json:
    if check.disable:
        return {"Test": ["NONE"]}
    body: Json = {}
    if check.test:
        body["Test"] = list(check.test)
    for key, value in (("Interval", check.interval), ("Timeout", check.timeout),
                       ("StartPeriod", check.start_period), ("StartInterval", check.start_interval)):
        if value is not None:
            body[key] = _nanos(value)
    if check.retries is not None:
        body["Retries"] = check.retries
    return body


def restart_policy(restart: str) -> Json:
    name, _, count = restart.partition(":")
    policy: Json = {"Name": name or "no"}
    if name == "on-failure":
        policy["MaximumRetryCount"] = int(count) if count else 0
    return policy


def _bind_string(mount: MountSpec) -> str:
    options = ["ro" if mount.read_only else "rw"]
    if mount.selinux:
        options.append(mount.selinux)
    if mount.propagation:
        options.append(mount.propagation)
    return f"{mount.source}:{mount.target}:{','.join(options)}"


def _mounts(project: Project, service: Service, ctx: ReplicaContext) -> tuple[list[str], list[Json]]:
    binds: list[str] = []
    mounts: list[Json] = []
    for mount in service.volumes:
        if mount.type == "bind":
            if mount.create_host_path:
                # Binds create a missing host directory (Mounts refuse it), which is what Compose wants
                binds.append(_bind_string(mount))
            else:
                entry: Json = {"Type": "bind", "Source": mount.source, "Target": mount.target,
                               "ReadOnly": mount.read_only}
                if mount.propagation:
                    entry["BindOptions"] = {"Propagation": mount.propagation}
                mounts.append(entry)
        elif mount.type == "volume":
            source = project.volumes[mount.source].name if mount.source else ctx.inherited_volumes.get(mount.target, "")
            entry = {"Type": "volume", "Target": mount.target, "ReadOnly": mount.read_only}
            if source:
                entry["Source"] = source
            options: Json = {}
            if mount.nocopy:
                options["NoCopy"] = True
            if mount.subpath:
                options["Subpath"] = mount.subpath
            if options:
                entry["VolumeOptions"] = options
            mounts.append(entry)
        else:
            entry = {"Type": "tmpfs", "Target": mount.target, "ReadOnly": mount.read_only}
            tmpfs: Json = {}
            if mount.tmpfs_size is not None:
                tmpfs["SizeBytes"] = mount.tmpfs_size
            if mount.tmpfs_mode is not None:
                tmpfs["Mode"] = mount.tmpfs_mode
            if tmpfs:
                entry["TmpfsOptions"] = tmpfs
            mounts.append(entry)
    return binds, mounts


def _ports(service: Service) -> tuple[Json, Json]:
    exposed: Json = {}
    bindings: dict[str, list[Json]] = {}
    for port in service.ports:
        exposed[port.key] = {}
        bindings.setdefault(port.key, []).append({"HostIp": port.host_ip, "HostPort": port.published})
    for entry in service.expose:
        for key in expose_keys(entry):
            exposed.setdefault(key, {})
    return exposed, dict(bindings)


def _network(project: Project, service: Service, ctx: ReplicaContext, name: str) -> tuple[str, Json]:
    mode = service.network_mode
    if mode.startswith("service:"):
        if ctx.container_of is None:
            raise InvalidProject(f"cannot share network namespace with service {mode[8:]}: container missing")
        return "container:" + ctx.container_of(mode[8:]), {}
    if mode:
        return mode, {}
    endpoints: Json = {}
    ordered = service.networks_by_priority()
    for i, net in enumerate(ordered):
        endpoint: Json = {"Aliases": [name, service.name, *(a for a in net.aliases if a not in (name, service.name))]}
        ipam: Json = {}
        if net.ipv4_address:
            ipam["IPv4Address"] = net.ipv4_address
        if net.ipv6_address:
            ipam["IPv6Address"] = net.ipv6_address
        if ipam:
            endpoint["IPAMConfig"] = ipam
        mac = net.mac_address or (service.mac_address if i == 0 else "")
        if mac:
            endpoint["MacAddress"] = mac
        endpoints[project.networks[net.name].name] = endpoint
    primary = project.networks[ordered[0].name].name if ordered else "none"
    return primary, endpoints


def _volumes_from(service: Service, ctx: ReplicaContext) -> list[str]:
    result: list[str] = []
    for source in service.volumes_from:
        if source.startswith("container:"):
            result.append(source[len("container:"):])
            continue
        name, _, mode = source.partition(":")
        if ctx.container_of is None:
            raise InvalidProject(f"cannot share volume with service {name}: container missing")
        result.append(ctx.container_of(name) + (f":{mode}" if mode else ""))
    return result


def _devices(service: Service) -> list[Json]:
    devices: list[Json] = []
    for spec in service.devices:
        parts = spec.split(":")
        host = parts[0]
        inside = parts[1] if len(parts) > 1 and parts[1] else host
        perms = parts[2] if len(parts) > 2 else "rwm"
        devices.append({"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": perms})
    return devices


def create_request(project: Project, service: Service, ctx: ReplicaContext) -> CreateRequest:
    name = ctx.name or replica_name(project, service, ctx.number)
    exposed, bindings = _ports(service)
    binds, mounts = _mounts(project, service, ctx)
    network_mode, endpoints = _network(project, service, ctx, replica_name(project, service, ctx.number))

    config: Json = {
        "Hostname": service.hostname,
        "Domainname": service.domainname,
        "User": service.user,
        "AttachStdin": False,
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": service.tty,
        "OpenStdin": service.stdin_open,
        "StdinOnce": False,
        "Env": [f"{k}={v}" for k, v in service.environment.items()],
        "Image": service.image,
        "WorkingDir": service.working_dir,
        "Labels": container_labels(project, service, ctx.number, ctx.image_id, ctx.container_of),
    }
    if exposed:
        config["ExposedPorts"] = exposed
    if service.command is not None:
        config["Cmd"] = list(service.command)
    if service.entrypoint is not None:
        config["Entrypoint"] = list(service.entrypoint)
    if service.healthcheck is not None:
        config["Healthcheck"] = healthcheck_body(service.healthcheck)
    if service.stop_signal:
        config["StopSignal"] = service.stop_signal
    if service.stop_grace_period is not None:
        config["StopTimeout"] = int(service.stop_grace_period)

    host: Json = {
        "Binds": binds,
        "NetworkMode": network_mode,
        "PortBindings": bindings,
        "RestartPolicy": restart_policy(service.restart),
        "AutoRemove": False,
        "CapAdd": list(service.cap_add),
        "CapDrop": list(service.cap_drop),
        "Dns": list(service.dns),
        "DnsOptions": list(service.dns_opt),
        "DnsSearch": list(service.dns_search),
        "ExtraHosts": list(service.extra_hosts),
        "Privileged": service.privileged,
        "ReadonlyRootfs": service.read_only,
        "SecurityOpt": list(service.security_opt),
        "GroupAdd": list(service.group_add),
        "Tmpfs": {entry.split(":", 1)[0]: entry.split(":", 1)[1] if ":" in entry else "" for entry in service.tmpfs},
        "Sysctls": dict(service.sysctls),
        "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in service.ulimits],
        "VolumesFrom": _volumes_from(service, ctx),
        "Devices": _devices(service),
    }
    if mounts:
        host["Mounts"] = mounts
    for key, value in (("IpcMode", service.ipc), ("PidMode", service.pid), ("UTSMode", service.uts),
                       ("UsernsMode", service.userns_mode), ("CgroupParent", service.cgroup_parent),
                       ("Runtime", service.runtime), ("CpusetCpus", service.cpuset)):
        if value:
            host[key] = value
    for key, number in (("ShmSize", service.shm_size), ("Memory", service.mem_limit),
                        ("MemoryReservation", service.mem_reservation), ("MemorySwap", service.memswap_limit),
                        ("MemorySwappiness", service.mem_swappiness), ("CpuShares", service.cpu_shares),
                        ("CpuQuota", service.cpu_quota), ("CpuPeriod", service.cpu_period),
                        ("PidsLimit", service.pids_limit), ("OomScoreAdj", service.oom_score_adj)):
        if number is not None:
            host[key] = number
    if service.cpus is not None:
        host["NanoCpus"] = round(service.cpus * 1e9)
    if service.init is not None:
        host["Init"] = service.init
    if service.oom_kill_disable is not None:
        host["OomKillDisable"] = service.oom_kill_disable
    if service.logging is not None:
        host["LogConfig"] = {"Type": service.logging.driver, "Config": dict(service.logging.options)}
    config["HostConfig"] = host
    config["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return CreateRequest(name=name, body=config, platform=service.platform)


__all__ = ["CreateRequest", "ReplicaContext", "container_labels", "create_request", "depends_on_label",
           "healthcheck_body", "replica_name", "restart_policy"]

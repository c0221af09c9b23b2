"""The model as plain data, in Compose's canonical form: what ``config`` prints and what the
config hash is computed over."""

from __future__ import annotations

from typing import Any

from dockyard.compose.fields import format_duration
from dockyard.compose.model import (
    Healthcheck,
    MountSpec,
    Network,
    PortSpec,
    Project,
    Service,
    Volume,
)


def _port(port: PortSpec) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if port.name:
        data["name"] = port.name
    data["mode"] = port.mode
    if port.host_ip:
        data["host_ip"] = port.host_ip
    data["target"] = port.target
    if port.published:
        data["published"] = port.published
    data["protocol"] = port.protocol
    if port.app_protocol:
        data["app_protocol"] = port.app_protocol
    return data


def _mount(mount: MountSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"type": mount.type}
    if mount.source:
        data["source"] = mount.source
    data["target"] = mount.target
    if mount.read_only:
        data["read_only"] = True
    if mount.type == "bind":
        bind: dict[str, Any] = {}
        if mount.propagation:
            bind["propagation"] = mount.propagation
        bind["create_host_path"] = mount.create_host_path
        if mount.selinux:
            bind["selinux"] = mount.selinux
        data["bind"] = bind
    elif mount.type == "volume":
        volume: dict[str, Any] = {}
        if mount.nocopy:
            volume["nocopy"] = True
        if mount.subpath:
            volume["subpath"] = mount.subpath
        data["volume"] = volume
    else:
        tmpfs: dict[str, Any] = {}
        if mount.tmpfs_size is not None:
            tmpfs["size"] = mount.tmpfs_size
        if mount.tmpfs_mode is not None:
            tmpfs["mode"] = mount.tmpfs_mode
        data["tmpfs"] = tmpfs
    return data


def _healthcheck(check: Healthcheck) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if check.disable:
        data["disable"] = True
    if check.test and not check.disable:
        data["test"] = list(check.test)
    for key in ("timeout", "interval", "start_period", "start_interval"):
        value = getattr(check, key)
        if value is not None:
            data[key] = format_duration(value)
    if check.retries is not None:
        data["retries"] = check.retries
    return data


def service_dict(service: Service) -> dict[str, Any]:
    """Every setting of the service that is not its default, keys sorted."""
    data: dict[str, Any] = {}
    if service.attach is False:
        data["attach"] = False
    data["cap_add"] = list(service.cap_add)
    data["cap_drop"] = list(service.cap_drop)
    data["cgroup_parent"] = service.cgroup_parent
    if service.command is not None:
        data["command"] = list(service.command)
    data["container_name"] = service.container_name
    data["cpu_period"] = service.cpu_period
    data["cpu_quota"] = service.cpu_quota
    data["cpu_shares"] = service.cpu_shares
    data["cpus"] = service.cpus
    data["cpuset"] = service.cpuset
    if service.depends_on:
        data["depends_on"] = {d.service: {"condition": d.condition, "required": d.required,
                                          **({"restart": True} if d.restart else {})}
                              for d in service.depends_on}
    data["devices"] = list(service.devices)
    data["dns"] = list(service.dns)
    data["dns_opt"] = list(service.dns_opt)
    data["dns_search"] = list(service.dns_search)
    data["domainname"] = service.domainname
    if service.entrypoint is not None:
        data["entrypoint"] = list(service.entrypoint)
    data["environment"] = dict(service.environment)
    data["expose"] = list(service.expose)
    data["extra_hosts"] = list(service.extra_hosts)
    data["group_add"] = list(service.group_add)
    if service.healthcheck is not None:
        data["healthcheck"] = _healthcheck(service.healthcheck)
    data["hostname"] = service.hostname
    data["image"] = service.image
    data["init"] = service.init
    data["ipc"] = service.ipc
    data["labels"] = dict(service.labels)
    if service.logging is not None:
        data["logging"] = {k: v for k, v in (("driver", service.logging.driver),
                                             ("options", dict(service.logging.options))) if v}
    data["mac_address"] = service.mac_address
    data["mem_limit"] = service.mem_limit
    data["mem_reservation"] = service.mem_reservation
    data["mem_swappiness"] = service.mem_swappiness
    data["memswap_limit"] = service.memswap_limit
    data["network_mode"] = service.network_mode
    if service.networks:
        networks: dict[str, Any] = {}
        for net in service.networks:
            settings: dict[str, Any] = {}
            if net.aliases:
                settings["aliases"] = list(net.aliases)
            if net.ipv4_address:
                settings["ipv4_address"] = net.ipv4_address
            if net.ipv6_address:
                settings["ipv6_address"] = net.ipv6_address
            if net.priority:
                settings["priority"] = net.priority
            if net.mac_address:
                settings["mac_address"] = net.mac_address
            networks[net.name] = settings or None
        data["networks"] = networks
    data["oom_kill_disable"] = service.oom_kill_disable
    data["oom_score_adj"] = service.oom_score_adj
    data["pid"] = service.pid
    data["pids_limit"] = service.pids_limit
    data["platform"] = service.platform
    data["ports"] = [_port(p) for p in service.ports]
    data["privileged"] = service.privileged
    data["profiles"] = list(service.profiles)
    data["pull_policy"] = service.pull_policy
    data["read_only"] = service.read_only
    data["restart"] = service.restart
    data["runtime"] = service.runtime
    if service.scale != 1:
        data["scale"] = service.scale
    data["security_opt"] = list(service.security_opt)
    data["shm_size"] = service.shm_size
    data["stdin_open"] = service.stdin_open
    if service.stop_grace_period is not None:
        data["stop_grace_period"] = format_duration(service.stop_grace_period)
    data["stop_signal"] = service.stop_signal
    data["sysctls"] = dict(service.sysctls)
    data["tmpfs"] = list(service.tmpfs)
    data["tty"] = service.tty
    data["ulimits"] = {u.name: u.soft if u.soft == u.hard else {"soft": u.soft, "hard": u.hard}
                       for u in service.ulimits}
    data["user"] = service.user
    data["userns_mode"] = service.userns_mode
    data["uts"] = service.uts
    data["volumes"] = [_mount(m) for m in service.volumes]
    data["volumes_from"] = list(service.volumes_from)
    data["working_dir"] = service.working_dir
    # Defaults (empty, None, False) are left out, as Compose leaves them out.
    return {k: v for k, v in data.items() if not _is_default(v) or k == "attach"}


def _is_default(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def network_dict(network: Network) -> dict[str, Any]:
    data: dict[str, Any] = {"name": network.name}
    if network.external:
        data["external"] = True
        return data
    if network.driver:
        data["driver"] = network.driver
    if network.driver_opts:
        data["driver_opts"] = dict(network.driver_opts)
    if network.ipam is not None:
        ipam: dict[str, Any] = {}
        if network.ipam.driver:
            ipam["driver"] = network.ipam.driver
        if network.ipam.config:
            ipam["config"] = [{k: v for k, v in (("subnet", p.subnet), ("gateway", p.gateway),
                                                 ("ip_range", p.ip_range),
                                                 ("aux_addresses", dict(p.aux_addresses))) if v}
                              for p in network.ipam.config]
        if network.ipam.options:
            ipam["options"] = dict(network.ipam.options)
        data["ipam"] = ipam
    if network.internal:
        data["internal"] = True
    if network.attachable:
        data["attachable"] = True
    if network.labels:
        data["labels"] = dict(network.labels)
    return data


def volume_dict(volume: Volume) -> dict[str, Any]:
    data: dict[str, Any] = {"name": volume.name}
    if volume.external:
        data["external"] = True
        return data
    if volume.driver:
        data["driver"] = volume.driver
    if volume.driver_opts:
        data["driver_opts"] = dict(volume.driver_opts)
    if volume.labels:
        data["labels"] = dict(volume.labels)
    return data


def project_dict(project: Project) -> dict[str, Any]:
    """The whole project as ``docker compose config`` shows it: services sorted by name."""
    data: dict[str, Any] = {"name": project.name}
    data["services"] = {s.name: service_dict(s) for s in sorted(project.services, key=lambda s: s.name)}
    used_networks = {n.name for s in project.services for n in s.networks}
    networks = {k: network_dict(n) for k, n in sorted(project.networks.items()) if k in used_networks}
    if networks:
        data["networks"] = networks
    if project.volumes:
        data["volumes"] = {k: volume_dict(v) for k, v in sorted(project.volumes.items())}
    return data


__all__ = ["network_dict", "project_dict", "service_dict", "volume_dict"]

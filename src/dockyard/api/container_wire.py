"""Docker's JSON shapes for containers and execs (list entries, inspect, exec inspect)."""

from __future__ import annotations

import os
import shlex
import time
from typing import Any

from dockyard.engine.containers.record import ContainerRecord, NetworkAttachment
from dockyard.engine.containers.service import ExecRecord
from dockyard.engine.containers.state import status_text
from dockyard.engine.containers.stats import BlkioEntry, CpuSample, StatsSample
from dockyard.engine.spec.defaults import MASKED_PATHS, READONLY_PATHS
from dockyard.engine.spec.model import MountType
from dockyard.engine.spec.wire import from_docker_json
from dockyard.errors import DockyardError
from dockyard.oci.image import format_rfc3339
from dockyard.shim.logrotate import format_time

ZERO_TIME = "0001-01-01T00:00:00Z"


def _time(ts: float) -> str:
    return format_rfc3339(ts) if ts else ZERO_TIME


LOCAL_LOG = os.path.join("local-logs", "container.log")
# dockerd's default cgroup namespace: private on cgroup v2 hosts, the host's on v1
_CGROUPNS_DEFAULT = "private" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "host"


def _beside(log_path: str, name: str) -> str:
    """The container directory holds the log (the local driver's one level down, in local-logs/)
    and the files bind-mounted into the container."""
    if not log_path:
        return ""
    directory = log_path[: -len(LOCAL_LOG) - 1] if log_path.endswith(os.sep + LOCAL_LOG) else os.path.dirname(log_path)
    return os.path.join(directory, name)


def _command(rec: ContainerRecord) -> str:
    parts = [rec.path, *rec.args] if rec.path else []
    return " ".join(shlex.quote(p) if " " in p or not p else p for p in parts)


def _networks(rec: ContainerRecord) -> dict[str, Any]:
    """``NetworkSettings.Networks``: the first network (NetworkMode), then those connected besides
    it, with their endpoints while the container runs."""
    mode = rec.host_config.get("NetworkMode") or "default"
    name = "bridge" if mode in ("default", "bridge") else mode
    if name.startswith("container:"):
        return {}
    out = {name: _network_entry(rec, name, rec.network)}
    configs = (rec.request.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    by_name = {a.network: a for a in rec.extra_networks}
    for other in [*configs, *by_name]:
        if other not in out and other != "default":
            out[other] = _network_entry(rec, other, by_name.get(other))
    return out


def _network_entry(rec: ContainerRecord, name: str, net: NetworkAttachment | None) -> dict[str, Any]:
    configured = ((rec.request.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).get(name) or {}
    aliases = list(configured.get("Aliases") or []) or None
    ipam = configured.get("IPAMConfig") or None
    dns_names = None
    if name != "bridge" and net is not None:  # a user-defined network: dockerd's DNSNames
        dns_names = list(dict.fromkeys([rec.name, *net.aliases, rec.id[:12], rec.hostname]))
    entry: dict[str, Any] = {
        "IPAMConfig": ipam, "Links": None, "Aliases": aliases, "MacAddress": net.mac_address if net else "",
        "NetworkID": net.network_id if net else "", "EndpointID": net.endpoint_id if net else "",
        "Gateway": net.gateway if net else "", "IPAddress": net.ip_address if net else "",
        "IPPrefixLen": net.prefix_len if net else 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "DriverOpts": None, "DNSNames": dns_names,
    }
    return entry


def _default_bridge_fields(net: NetworkAttachment | None) -> dict[str, Any]:
    """The top-level (legacy) address fields: the default bridge's endpoint only, as in dockerd."""
    return {"EndpointID": net.endpoint_id if net else "", "Gateway": net.gateway if net else "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": net.ip_address if net else "",
            "IPPrefixLen": net.prefix_len if net else 0, "IPv6Gateway": "", "MacAddress": net.mac_address if net else ""}


def _ports(rec: ContainerRecord) -> dict[str, Any]:
    """``NetworkSettings.Ports``: every exposed or bound port, with its host bindings while published."""
    exposed = rec.config.get("ExposedPorts") or {}
    bindings = rec.host_config.get("PortBindings") or {}
    ports: dict[str, Any] = {str(p): None for p in exposed}
    for port in bindings:
        ports.setdefault(str(port), None)
    if rec.state.running and rec.network is not None:
        for proto, container_port, host_ip, host_port in rec.network.ports:
            entry = ports.get(f"{container_port}/{proto}") or []
            entry.append({"HostIp": host_ip, "HostPort": str(host_port)})
            ports[f"{container_port}/{proto}"] = entry
    return ports


def _summary_ports(rec: ContainerRecord) -> list[dict[str, Any]]:
    """``Ports`` of the list: published ports with their host side, exposed ones without."""
    if not rec.state.running:
        return []  # dockerd lists the ports of a running container only
    out: list[dict[str, Any]] = []
    published = set()
    for proto, container_port, host_ip, host_port in rec.network.ports if rec.network else ():
        out.append({"IP": host_ip, "PrivatePort": int(container_port), "PublicPort": int(host_port), "Type": proto})
        published.add(f"{container_port}/{proto}")
    for key in rec.config.get("ExposedPorts") or {}:
        port, _, proto = str(key).partition("/")
        if f"{port}/{proto or 'tcp'}" not in published:
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
    return out


def _mounts(rec: ContainerRecord) -> list[dict[str, Any]]:
    """``Mounts``: the binds and tmpfs mounts of -v and --mount, as dockerd's MountPoints."""
    hc = rec.host_config
    if not (hc.get("Binds") or hc.get("Mounts") or rec.volumes or rec.inherited_mounts):
        return []  # nothing to show: skip parsing the whole create request again (every inspect)
    try:
        host = from_docker_json(rec.config, rec.host_config, {}).host
    except DockyardError:
        return []
    out: list[dict[str, Any]] = []
    shown: set[str] = set()
    for m in (*host.binds, *host.mounts):
        if m.type == MountType.VOLUME and m.target in rec.volumes:
            name, source = rec.volumes[m.target]
            shown.add(m.target)
            parts = m.raw.split(":")
            # dockerd 20.10: "z" unless -v gave a mode; nothing for -v of an anonymous volume
            mode = (parts[2] if len(parts) > 2 else "z" if m.source else "") if m.raw else "z"
            out.append({"Type": "volume", "Name": name, "Source": source, "Destination": m.target,
                        "Driver": "local", "Mode": mode, "RW": not m.read_only, "Propagation": ""})
        elif m.type == MountType.BIND:
            parts = m.raw.split(":")
            out.append({"Type": "bind", "Source": m.source, "Destination": m.target,
                        "Mode": parts[2] if len(parts) > 2 else "", "RW": not m.read_only,
                        "Propagation": m.propagation or "rprivate"})
        elif m.type == MountType.TMPFS:
            out.append({"Type": "tmpfs", "Source": "", "Destination": m.target, "Mode": "", "RW": not m.read_only,
                        "Propagation": ""})
    for dest, (name, source) in rec.volumes.items():  # the image's and Config.Volumes' anonymous ones
        if dest not in shown:
            out.append({"Type": "volume", "Name": name, "Source": source, "Destination": dest, "Driver": "local",
                        "Mode": "", "RW": True, "Propagation": ""})
    for dest, (kind, name, source, writable) in sorted(rec.inherited_mounts.items()):  # --volumes-from
        if kind == "volume":
            out.append({"Type": "volume", "Name": name, "Source": source, "Destination": dest, "Driver": "local",
                        "Mode": "", "RW": bool(writable), "Propagation": ""})
        else:
            out.append({"Type": "bind", "Source": source, "Destination": dest, "Mode": "", "RW": bool(writable),
                        "Propagation": "rprivate"})
    return out


def container_summary(rec: ContainerRecord, *, now: float | None = None) -> dict[str, Any]:
    mode = rec.host_config.get("NetworkMode") or "default"
    return {
        "Id": rec.id,
        "Names": [f"/{rec.name}"],
        "Image": rec.image,
        "ImageID": rec.image_id,
        "Command": _command(rec),
        "Created": int(rec.created),
        "Ports": _summary_ports(rec),
        "Labels": dict(rec.config.get("Labels") or {}),
        "State": rec.state.status,
        "Status": status_text(rec.state, now=now if now is not None else time.time()),
        "HostConfig": {"NetworkMode": mode},
        "NetworkSettings": {"Networks": _networks(rec)},
        "Mounts": _mounts(rec),
    }


def container_inspect(rec: ContainerRecord, *, graph_driver: str, log_path: str,
                      graph_data: dict[str, str] | None = None) -> dict[str, Any]:
    state = rec.state
    host_config: dict[str, Any] = {
        "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": "default", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
        "CgroupnsMode": "host", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
        "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "",
        "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
        "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc", "Isolation": "",
        "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0,
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
        "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": [],
        "DeviceCgroupRules": None, "DeviceRequests": None, "MemoryReservation": 0, "MemorySwap": 0,
        "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None, "Ulimits": None, "CpuCount": 0,
        "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": None,
        "ReadonlyPaths": None,
    }
    given = {k: v for k, v in rec.host_config.items() if v is not None}
    host_config.update(given)
    # dockerd's normalisation: -1 swappiness and a non-positive pids limit mean "unset"; the
    # default masked and read-only paths are recorded for unprivileged containers
    if host_config.get("MemorySwappiness") == -1:
        host_config["MemorySwappiness"] = None
    if isinstance(host_config.get("PidsLimit"), int) and host_config["PidsLimit"] <= 0:
        host_config["PidsLimit"] = None
    for key, default in (("CgroupnsMode", _CGROUPNS_DEFAULT), ("IpcMode", "private"), ("ShmSize", 64 * 1024 * 1024)):
        if not host_config.get(key):  # the docker CLI sends "" and 0 for "the daemon's default"
            host_config[key] = default
    if not host_config.get("Privileged"):
        if host_config.get("MaskedPaths") is None:
            host_config["MaskedPaths"] = list(MASKED_PATHS)
        if host_config.get("ReadonlyPaths") is None:
            host_config["ReadonlyPaths"] = list(READONLY_PATHS)
    if not (host_config.get("LogConfig") or {}).get("Type"):
        host_config["LogConfig"] = {"Type": "json-file", "Config": (given.get("LogConfig") or {}).get("Config") or {}}
    if host_config.get("NetworkMode") in ("", None):
        host_config["NetworkMode"] = "default"
    config = dict(rec.config)
    config.setdefault("Hostname", rec.hostname)
    if not config.get("Volumes"):
        config["Volumes"] = None  # an empty map from the CLI merges to the image's none
    config.setdefault("Domainname", "")
    config.setdefault("User", "")
    for key in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"):
        config.setdefault(key, False)
    config.setdefault("Env", None)
    config.setdefault("Cmd", list(rec.args) if not rec.path else [rec.path, *rec.args])
    config.setdefault("WorkingDir", "")
    config.setdefault("Entrypoint", None)
    config.setdefault("Labels", {})
    if not config.get("Hostname"):
        config["Hostname"] = rec.hostname
    net = rec.network
    return {
        "Id": rec.id,
        "Created": format_rfc3339(rec.created),
        "Path": rec.path,
        "Args": list(rec.args),
        "State": {
            "Status": state.status, "Running": state.status in ("running", "paused", "restarting"),
            "Paused": state.status == "paused", "Restarting": state.status == "restarting",
            "OOMKilled": state.oom_killed, "Dead": state.status == "dead", "Pid": state.pid,
            "ExitCode": state.exit_code, "Error": state.error, "StartedAt": _time(state.started_at),
            "FinishedAt": _time(state.finished_at),
            **({"Health": {"Status": state.health, "FailingStreak": state.health_failing_streak,
                           "Log": list(state.health_log)}} if state.health else {}),
        },
        "Image": rec.image_id,
        "ResolvConfPath": _beside(log_path, "resolv.conf"), "HostnamePath": _beside(log_path, "hostname"),
        "HostsPath": _beside(log_path, "hosts"),
        "LogPath": "" if log_path.endswith(os.sep + LOCAL_LOG) else log_path,  # Docker shows none for local
        "Name": f"/{rec.name}",
        "RestartCount": rec.restart_count,
        "Driver": graph_driver,
        "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": host_config,
        "GraphDriver": {"Name": graph_driver, "Data": dict(graph_data or {})},
        "Mounts": _mounts(rec),
        "Config": config,
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "SandboxKey": "", "HairpinMode": False,
            "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": _ports(rec),
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            **_default_bridge_fields(net if net is not None and net.network == "bridge" else None),
            "Networks": _networks(rec),
        },
    }


def exec_inspect(ex: ExecRecord) -> dict[str, Any]:
    return {
        "ID": ex.id, "Running": ex.running, "ExitCode": ex.exit_code, "ProcessConfig": {
            "tty": ex.tty, "entrypoint": ex.cmd[0], "arguments": ex.cmd[1:], "privileged": ex.privileged,
            "user": ex.user},
        "OpenStdin": ex.stdin, "OpenStderr": ex.stderr, "OpenStdout": ex.stdout, "CanRemove": False,
        "ContainerID": ex.container_id, "DetachKeys": ex.detach_keys, "Pid": ex.pid,
    }


def _stats_time(ns: int) -> str:
    return format_time(ns) if ns else ZERO_TIME


def _blkio(entries: tuple[BlkioEntry, ...]) -> list[dict[str, Any]]:
    return [{"major": e.major, "minor": e.minor, "op": e.op, "value": e.value} for e in entries]


def _cpu_stats(cpu: CpuSample) -> dict[str, Any]:
    usage: dict[str, Any] = {"total_usage": cpu.total}
    if cpu.per_cpu:
        usage["percpu_usage"] = list(cpu.per_cpu)
    usage["usage_in_kernelmode"] = cpu.kernel
    usage["usage_in_usermode"] = cpu.user
    out: dict[str, Any] = {"cpu_usage": usage}
    if cpu.system_total:
        out["system_cpu_usage"] = cpu.system_total
    if cpu.online_cpus:
        out["online_cpus"] = cpu.online_cpus
    out["throttling_data"] = {"periods": cpu.periods, "throttled_periods": cpu.throttled_periods,
                              "throttled_time": cpu.throttled_time}
    return out


def container_stats(rec: ContainerRecord, cur: StatsSample | None, pre: StatsSample | None) -> dict[str, Any]:
    """One ``/containers/{id}/stats`` object as dockerd (cgroup v1 or v2) sends it; a container
    that is not running gets dockerd's empty one."""
    if cur is None:
        return {"read": ZERO_TIME, "preread": ZERO_TIME, "pids_stats": {},
                "blkio_stats": {k: None for k in _BLKIO_KEYS}, "num_procs": 0, "storage_stats": {},
                "cpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                              "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
                "precpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                                 "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
                "memory_stats": {}, "name": "/" + rec.name, "id": rec.id}
    pids: dict[str, Any] = {"current": cur.pids_current}
    if cur.pids_limit is not None:
        pids["limit"] = cur.pids_limit
    blkio: dict[str, Any] = dict.fromkeys(_BLKIO_KEYS, [])
    blkio["io_service_bytes_recursive"] = _blkio(cur.io_service_bytes)
    blkio["io_serviced_recursive"] = _blkio(cur.io_serviced)
    memory: dict[str, Any] = {"usage": cur.memory_usage}
    if cur.memory_max_usage is not None:
        memory["max_usage"] = cur.memory_max_usage
    memory["stats"] = dict(cur.memory_stat)
    memory["limit"] = cur.memory_limit
    out: dict[str, Any] = {
        "read": _stats_time(cur.read_ns), "preread": _stats_time(pre.read_ns if pre else 0),
        "pids_stats": pids, "blkio_stats": blkio, "num_procs": 0, "storage_stats": {},
        "cpu_stats": _cpu_stats(cur.cpu), "precpu_stats": _cpu_stats(pre.cpu if pre else CpuSample()),
        "memory_stats": memory, "name": "/" + rec.name, "id": rec.id,
    }
    if cur.networks is not None:
        out["networks"] = cur.networks
    return out


_BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
               "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
               "sectors_recursive")

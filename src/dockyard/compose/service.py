"""One service's raw mapping (merged and interpolated) into a model.Service."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.compose.envfile import read_env_file
from dockyard.compose.errors import InvalidProject, Unsupported
from dockyard.compose.fields import (
    as_bool,
    as_bytes,
    as_command,
    as_duration,
    as_float,
    as_int,
    as_list_or_dict,
    as_mapping,
    as_str,
    as_str_list,
    check_keys,
    wrong_type,
)
from dockyard.compose.interpolation import Lookup
from dockyard.compose.model import (
    CONDITION_STARTED,
    CONDITIONS,
    Dependency,
    Healthcheck,
    Logging,
    Service,
    ServiceNetwork,
    Ulimit,
)
from dockyard.compose.mounts import parse_tmpfs, parse_volumes
from dockyard.compose.ports import parse_expose, parse_ports

SUPPORTED_KEYS = frozenset({
    "attach", "build", "cap_add", "cap_drop", "cgroup_parent", "command", "container_name", "cpu_period",
    "cpu_quota", "cpu_shares", "cpus", "cpuset", "depends_on", "deploy", "develop", "devices", "dns", "dns_opt",
    "dns_search", "domainname", "entrypoint", "env_file", "environment", "expose", "extra_hosts", "group_add",
    "healthcheck", "hostname", "image", "init", "ipc", "label_file", "labels", "links", "logging", "mac_address",
    "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "network_mode", "networks",
    "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports", "privileged", "profiles",
    "pull_policy", "read_only", "restart", "runtime", "scale", "security_opt", "shm_size", "stdin_open",
    "stop_grace_period", "stop_signal", "sysctls", "tmpfs", "tty", "ulimits", "user", "userns_mode", "uts",
    "volumes", "volumes_from", "working_dir",
})
"""Keys of the Compose Specification's service that dockyard compose implements (``develop`` only
configures ``watch``, which ``up`` without ``--watch`` does not use)."""

UNSUPPORTED_KEYS = frozenset({
    "annotations", "blkio_config", "cgroup", "configs", "cpu_count", "cpu_percent", "cpu_rt_period",
    "cpu_rt_runtime", "credential_spec", "device_cgroup_rules", "extends", "external_links", "gpus", "isolation",
    "models", "post_start", "pre_stop", "provider", "pull_refresh_after", "secrets", "storage_opt",
    "use_api_socket",
})
"""Keys of the specification that change what a container is, not implemented yet: refused."""

KNOWN_KEYS = SUPPORTED_KEYS | UNSUPPORTED_KEYS

_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:[0-9]+)?)$")
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_PULL_POLICIES = ("always", "never", "missing", "if_not_present")
_HEALTH_KEYS = frozenset({"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"})
_DEPENDS_KEYS = frozenset({"condition", "required", "restart"})
_NETWORK_KEYS = frozenset({"aliases", "ipv4_address", "ipv6_address", "priority", "gw_priority", "mac_address",
                           "link_local_ips", "driver_opts", "interface_name"})
_LOGGING_KEYS = frozenset({"driver", "options"})
_DEPLOY_KEYS = frozenset({"mode", "replicas", "labels", "update_config", "rollback_config", "resources",
                          "restart_policy", "placement", "endpoint_mode"})
_RESOURCES_KEYS = frozenset({"limits", "reservations"})
_LIMITS_KEYS = frozenset({"cpus", "memory", "pids"})
_RESERVATIONS_KEYS = frozenset({"cpus", "memory", "generic_resources", "devices"})
_RESTART_POLICY_KEYS = frozenset({"condition", "delay", "max_attempts", "window"})
_ENV_FILE_KEYS = frozenset({"path", "required", "format"})


@dataclass(frozen=True)
class ServiceContext:
    """What parsing a service needs besides its mapping."""

    project_dir: str
    lookup: Lookup  # the project's environment (shell, then .env)


def parse_service(name: str, raw: Any, ctx: ServiceContext) -> Service:
    path = f"services.{name}"
    data = as_mapping(raw, path)
    check_keys(data, KNOWN_KEYS, path)
    for key in sorted(UNSUPPORTED_KEYS & set(data)):
        if data[key] not in (None, [], {}):
            raise Unsupported(f"{path}.{key} is not supported by dockyard compose yet")

    def get(key: str) -> Any:
        return data.get(key)

    image = as_str(get("image") or "", f"{path}.image")
    has_build = get("build") is not None
    if not image:
        if has_build:
            raise Unsupported(f'service "{name}" has a build section but no image: building images is not '
                              "supported yet by dockyard compose; build it first (dockyard build -t NAME .) "
                              "and set image: NAME")
        raise InvalidProject(f'service "{name}" has neither an image nor a build context specified: '
                             "invalid compose project")

    container_name = as_str(get("container_name") or "", f"{path}.container_name")
    if container_name and not _CONTAINER_NAME.match(container_name):
        raise InvalidProject(f'{path}.container_name: invalid container name "{container_name}", only '
                             "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")

    restart = as_str(get("restart") or "", f"{path}.restart")
    if restart and not _RESTART.match(restart):
        raise InvalidProject(f'{path}.restart: invalid restart policy "{restart}"')

    pull_policy = as_str(get("pull_policy") or "", f"{path}.pull_policy")
    if pull_policy == "build":
        raise Unsupported(f"{path}.pull_policy: build is not supported by dockyard compose yet")
    if pull_policy and pull_policy not in _PULL_POLICIES:
        raise InvalidProject(f'{path}.pull_policy: invalid pull policy "{pull_policy}"')

    network_mode = as_str(get("network_mode") or "", f"{path}.network_mode")
    if network_mode and get("networks"):
        raise InvalidProject(f"service {name} declares mutually exclusive `network_mode` and `networks`: "
                             "invalid compose project")

    deploy = _Deploy.parse(get("deploy"), f"{path}.deploy")
    scale = deploy.replicas
    if get("scale") is not None:
        explicit = as_int(get("scale"), f"{path}.scale")
        if scale is not None and scale != explicit:
            raise InvalidProject(f"services.{name}: can't set distinct values on 'scale' and 'deploy.replicas'")
        scale = explicit
    if scale is not None and scale < 0:
        raise InvalidProject(f"{path}.scale must be a positive number")

    restart = restart or deploy.restart
    depends_on = _depends_on(get("depends_on"), f"{path}.depends_on")
    for link in as_str_list(get("links"), f"{path}.links"):
        target, _, alias = link.partition(":")
        if alias and alias != target:
            raise Unsupported(f"{path}.links: link aliases ({link}) are not supported by dockyard compose; "
                              "use network aliases")
        if not any(d.service == target for d in depends_on):
            depends_on += (Dependency(target),)

    return Service(
        name=name,
        image=image,
        has_build=has_build,
        command=as_command(get("command"), f"{path}.command"),
        entrypoint=as_command(get("entrypoint"), f"{path}.entrypoint"),
        environment=_environment(data, path, ctx),
        ports=parse_ports(get("ports"), f"{path}.ports"),
        expose=parse_expose(get("expose"), f"{path}.expose"),
        volumes=parse_volumes(get("volumes"), f"{path}.volumes", ctx.project_dir),
        tmpfs=parse_tmpfs(get("tmpfs"), f"{path}.tmpfs"),
        networks=_networks(get("networks"), f"{path}.networks") if not network_mode else (),
        network_mode=network_mode,
        depends_on=depends_on,
        restart=restart,
        labels=_labels(data, path, ctx),
        container_name=container_name,
        hostname=as_str(get("hostname") or "", f"{path}.hostname"),
        domainname=as_str(get("domainname") or "", f"{path}.domainname"),
        working_dir=as_str(get("working_dir") or "", f"{path}.working_dir"),
        user=as_str(get("user") or "", f"{path}.user"),
        healthcheck=_healthcheck(get("healthcheck"), f"{path}.healthcheck"),
        stop_signal=as_str(get("stop_signal") or "", f"{path}.stop_signal"),
        stop_grace_period=_opt(get("stop_grace_period"), as_duration, f"{path}.stop_grace_period"),
        tty=as_bool(get("tty") or False, f"{path}.tty"),
        stdin_open=as_bool(get("stdin_open") or False, f"{path}.stdin_open"),
        init=_opt(get("init"), as_bool, f"{path}.init"),
        read_only=as_bool(get("read_only") or False, f"{path}.read_only"),
        privileged=as_bool(get("privileged") or False, f"{path}.privileged"),
        cap_add=as_str_list(get("cap_add"), f"{path}.cap_add"),
        cap_drop=as_str_list(get("cap_drop"), f"{path}.cap_drop"),
        extra_hosts=_extra_hosts(get("extra_hosts"), f"{path}.extra_hosts"),
        dns=as_str_list(get("dns"), f"{path}.dns"),
        dns_search=as_str_list(get("dns_search"), f"{path}.dns_search"),
        dns_opt=as_str_list(get("dns_opt"), f"{path}.dns_opt"),
        sysctls={k: v or "" for k, v in as_list_or_dict(get("sysctls"), f"{path}.sysctls").items()},
        ulimits=_ulimits(get("ulimits"), f"{path}.ulimits"),
        shm_size=_opt(get("shm_size"), as_bytes, f"{path}.shm_size"),
        mem_limit=_opt(get("mem_limit"), as_bytes, f"{path}.mem_limit") or deploy.memory,
        mem_reservation=_opt(get("mem_reservation"), as_bytes, f"{path}.mem_reservation") or deploy.memory_reservation,
        memswap_limit=_memswap(get("memswap_limit"), f"{path}.memswap_limit"),
        mem_swappiness=_opt(get("mem_swappiness"), as_int, f"{path}.mem_swappiness"),
        cpus=_opt(get("cpus"), as_float, f"{path}.cpus") or deploy.cpus,
        cpu_shares=_opt(get("cpu_shares"), as_int, f"{path}.cpu_shares"),
        cpu_quota=_opt(get("cpu_quota"), as_int, f"{path}.cpu_quota"),
        cpu_period=_opt(get("cpu_period"), as_int, f"{path}.cpu_period"),
        cpuset=as_str(get("cpuset") or "", f"{path}.cpuset"),
        pids_limit=_opt(get("pids_limit"), as_int, f"{path}.pids_limit") or deploy.pids,
        oom_score_adj=_opt(get("oom_score_adj"), as_int, f"{path}.oom_score_adj"),
        oom_kill_disable=_opt(get("oom_kill_disable"), as_bool, f"{path}.oom_kill_disable"),
        logging=_logging(get("logging"), f"{path}.logging"),
        scale=1 if scale is None else scale,
        profiles=as_str_list(get("profiles"), f"{path}.profiles"),
        pull_policy=pull_policy,
        platform=as_str(get("platform") or "", f"{path}.platform"),
        security_opt=as_str_list(get("security_opt"), f"{path}.security_opt"),
        group_add=as_str_list(get("group_add"), f"{path}.group_add"),
        devices=_devices(get("devices"), f"{path}.devices"),
        ipc=_namespace_mode(get("ipc"), f"{path}.ipc"),
        pid=_namespace_mode(get("pid"), f"{path}.pid"),
        uts=as_str(get("uts") or "", f"{path}.uts"),
        userns_mode=as_str(get("userns_mode") or "", f"{path}.userns_mode"),
        cgroup_parent=as_str(get("cgroup_parent") or "", f"{path}.cgroup_parent"),
        runtime=as_str(get("runtime") or "", f"{path}.runtime"),
        mac_address=as_str(get("mac_address") or "", f"{path}.mac_address"),
        volumes_from=as_str_list(get("volumes_from"), f"{path}.volumes_from"),
        attach=as_bool(True if get("attach") is None else get("attach"), f"{path}.attach"),
    )


def _opt(value: Any, convert: Any, path: str) -> Any:
    return None if value is None else convert(value, path)


def _memswap(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if value in (-1, "-1"):
        return -1
    return as_bytes(value, path)


def _namespace_mode(value: Any, path: str) -> str:
    mode = as_str(value or "", path)
    if mode.startswith("service:"):
        raise Unsupported(f"{path}: sharing a namespace with a service ({mode}) is not supported by dockyard "
                          "compose yet")
    return mode


def _env_files(value: Any, path: str, ctx: ServiceContext) -> list[tuple[str, bool]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    files: list[tuple[str, bool]] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if isinstance(item, Mapping):
            check_keys(item, _ENV_FILE_KEYS, where)
            if item.get("format") not in (None, "", "dotenv"):
                raise Unsupported(f"{where}.format: only the dotenv format is supported")
            files.append((as_str(item.get("path") or "", f"{where}.path"),
                          as_bool(item.get("required", True), f"{where}.required")))
        else:
            files.append((as_str(item, where), True))
    return [(os.path.normpath(os.path.join(ctx.project_dir, os.path.expanduser(p))), required) for p, required in files]


def _read_files(files: list[tuple[str, bool]], ctx: ServiceContext) -> dict[str, str]:
    values: dict[str, str] = {}
    for file, required in files:
        if not required and not os.path.exists(file):
            continue
        values.update(read_env_file(file, ctx.lookup))
    return values


def _environment(data: Mapping[str, Any], path: str, ctx: ServiceContext) -> dict[str, str]:
    """env_file values, then ``environment`` over them; a name without a value comes from the
    project's environment, and is left out when that does not have it either."""
    env = _read_files(_env_files(data.get("env_file"), f"{path}.env_file", ctx), ctx)
    for key, value in as_list_or_dict(data.get("environment"), f"{path}.environment").items():
        if value is None:
            resolved = ctx.lookup(key)
            if resolved is None:
                env.pop(key, None)
                continue
            value = resolved
        env[key] = value
    return env


def _labels(data: Mapping[str, Any], path: str, ctx: ServiceContext) -> dict[str, str]:
    labels = _read_files(_env_files(data.get("label_file"), f"{path}.label_file", ctx), ctx)
    labels.update({k: v or "" for k, v in as_list_or_dict(data.get("labels"), f"{path}.labels").items()})
    return labels


def _depends_on(value: Any, path: str) -> tuple[Dependency, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        names = as_str_list(value, path)
        return tuple(Dependency(n) for n in dict.fromkeys(names))
    deps: list[Dependency] = []
    for dep, config in as_mapping(value, path).items():
        where = f"{path}.{dep}"
        spec = as_mapping(config, where)
        check_keys(spec, _DEPENDS_KEYS, where)
        condition = as_str(spec.get("condition") or CONDITION_STARTED, f"{where}.condition")
        if condition not in CONDITIONS:
            raise InvalidProject(f'{where}.condition must be one of "service_started", "service_healthy", '
                                 f'"service_completed_successfully", not "{condition}"')
        deps.append(Dependency(
            service=dep,
            condition=condition,
            required=as_bool(spec.get("required", True), f"{where}.required"),
            restart=as_bool(spec.get("restart", False), f"{where}.restart"),
        ))
    return tuple(deps)


def _networks(value: Any, path: str) -> tuple[ServiceNetwork, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(ServiceNetwork(n) for n in dict.fromkeys(as_str_list(value, path)))
    result: list[ServiceNetwork] = []
    for net, config in as_mapping(value, path).items():
        where = f"{path}.{net}"
        spec = as_mapping(config, where)
        check_keys(spec, _NETWORK_KEYS, where)
        for key in ("link_local_ips", "driver_opts", "interface_name"):
            if spec.get(key):
                raise Unsupported(f"{where}.{key} is not supported by dockyard compose yet")
        priority = spec.get("priority", spec.get("gw_priority", 0))
        result.append(ServiceNetwork(
            name=net,
            aliases=as_str_list(spec.get("aliases"), f"{where}.aliases"),
            ipv4_address=as_str(spec.get("ipv4_address") or "", f"{where}.ipv4_address"),
            ipv6_address=as_str(spec.get("ipv6_address") or "", f"{where}.ipv6_address"),
            priority=as_int(priority or 0, f"{where}.priority"),
            mac_address=as_str(spec.get("mac_address") or "", f"{where}.mac_address"),
        ))
    return tuple(result)


def _healthcheck(value: Any, path: str) -> Healthcheck | None:
    if value is None:
        return None
    spec = as_mapping(value, path)
    check_keys(spec, _HEALTH_KEYS, path)
    disable = as_bool(spec.get("disable", False), f"{path}.disable")
    raw_test = spec.get("test")
    test: tuple[str, ...] = ()
    if isinstance(raw_test, str):
        test = ("CMD-SHELL", raw_test)
    elif isinstance(raw_test, list):
        test = as_str_list(raw_test, f"{path}.test")
        if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise InvalidProject(f'{path}.test must start with "CMD", "CMD-SHELL" or "NONE", not "{test[0]}"')
    elif raw_test is not None:
        raise wrong_type(f"{path}.test", "string or list", raw_test)
    if disable and test and test != ("NONE",):
        raise InvalidProject(f"{path}: test and disable can't be set at the same time")
    if test == ("NONE",):
        disable = True
    return Healthcheck(
        test=test,
        interval=_opt(spec.get("interval"), as_duration, f"{path}.interval"),
        timeout=_opt(spec.get("timeout"), as_duration, f"{path}.timeout"),
        start_period=_opt(spec.get("start_period"), as_duration, f"{path}.start_period"),
        start_interval=_opt(spec.get("start_interval"), as_duration, f"{path}.start_interval"),
        retries=_opt(spec.get("retries"), as_int, f"{path}.retries"),
        disable=disable,
    )


def _extra_hosts(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    hosts: list[str] = []
    if isinstance(value, Mapping):
        for host, ips in as_mapping(value, path).items():
            for ip in as_str_list(ips, f"{path}.{host}"):
                hosts.append(f"{host}:{ip}")
        return tuple(hosts)
    for i, entry in enumerate(as_str_list(value, path)):
        if "=" in entry:
            host, _, ip = entry.partition("=")
        elif ":" in entry:
            host, _, ip = entry.partition(":")
        else:
            raise InvalidProject(f"{path}[{i}]: invalid extra host {entry!r} (HOST:IP or HOST=IP)")
        hosts.append(f"{host}:{ip.strip('[]')}")
    return tuple(hosts)


def _ulimits(value: Any, path: str) -> tuple[Ulimit, ...]:
    result: list[Ulimit] = []
    for name, spec in as_mapping(value, path).items():
        where = f"{path}.{name}"
        if isinstance(spec, Mapping):
            check_keys(spec, frozenset({"soft", "hard"}), where)
            soft = as_int(spec.get("soft"), f"{where}.soft")
            hard = as_int(spec.get("hard"), f"{where}.hard")
            if soft > hard:
                raise InvalidProject(f"{where}: soft limit {soft} is greater than hard limit {hard}")
            result.append(Ulimit(name, soft, hard))
        else:
            limit = as_int(spec, where)
            result.append(Ulimit(name, limit, limit))
    return tuple(result)


def _logging(value: Any, path: str) -> Logging | None:
    if value is None:
        return None
    spec = as_mapping(value, path)
    check_keys(spec, _LOGGING_KEYS, path)
    options = {k: v or "" for k, v in as_list_or_dict(spec.get("options"), f"{path}.options").items()}
    return Logging(as_str(spec.get("driver") or "", f"{path}.driver"), options)


def _devices(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise wrong_type(path, "list", value)
    devices: list[str] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(item, Mapping):
            source = as_str(item.get("source") or "", f"{where}.source")
            target = as_str(item.get("target") or source, f"{where}.target")
            perms = as_str(item.get("permissions") or "rwm", f"{where}.permissions")
            devices.append(f"{source}:{target}:{perms}")
        else:
            devices.append(as_str(item, where))
    return tuple(devices)


@dataclass(frozen=True)
class _Deploy:
    """The parts of ``deploy`` that mean something on one engine (swarm-only keys are ignored,
    as Compose ignores them)."""

    replicas: int | None = None
    memory: int | None = None
    memory_reservation: int | None = None
    cpus: float | None = None
    pids: int | None = None
    restart: str = ""

    @staticmethod
    def parse(value: Any, path: str) -> _Deploy:
        if value is None:
            return _Deploy()
        spec = as_mapping(value, path)
        check_keys(spec, _DEPLOY_KEYS, path)
        mode = as_str(spec.get("mode") or "replicated", f"{path}.mode")
        if mode != "replicated":
            raise Unsupported(f"{path}.mode: {mode} is not supported by dockyard compose")
        resources = as_mapping(spec.get("resources"), f"{path}.resources")
        check_keys(resources, _RESOURCES_KEYS, f"{path}.resources")
        limits = as_mapping(resources.get("limits"), f"{path}.resources.limits")
        check_keys(limits, _LIMITS_KEYS, f"{path}.resources.limits")
        reservations = as_mapping(resources.get("reservations"), f"{path}.resources.reservations")
        check_keys(reservations, _RESERVATIONS_KEYS, f"{path}.resources.reservations")
        for key in ("devices", "generic_resources"):
            if reservations.get(key):
                raise Unsupported(f"{path}.resources.reservations.{key} is not supported by dockyard compose")
        restart = ""
        policy = as_mapping(spec.get("restart_policy"), f"{path}.restart_policy")
        check_keys(policy, _RESTART_POLICY_KEYS, f"{path}.restart_policy")
        if policy:
            condition = as_str(policy.get("condition") or "any", f"{path}.restart_policy.condition")
            restart = {"none": "no", "any": "always", "on-failure": "on-failure"}.get(condition, "")
            if not restart:
                raise InvalidProject(f'{path}.restart_policy.condition: invalid condition "{condition}"')
            attempts = policy.get("max_attempts")
            if restart == "on-failure" and attempts is not None:
                restart += f":{as_int(attempts, f'{path}.restart_policy.max_attempts')}"
        return _Deploy(
            replicas=_opt(spec.get("replicas"), as_int, f"{path}.replicas"),
            memory=_opt(limits.get("memory"), as_bytes, f"{path}.resources.limits.memory"),
            memory_reservation=_opt(reservations.get("memory"), as_bytes, f"{path}.resources.reservations.memory"),
            cpus=_opt(limits.get("cpus"), as_float, f"{path}.resources.limits.cpus"),
            pids=_opt(limits.get("pids"), as_int, f"{path}.resources.limits.pids"),
            restart=restart,
        )


__all__ = ["KNOWN_KEYS", "SUPPORTED_KEYS", "UNSUPPORTED_KEYS", "ServiceContext", "parse_service"]

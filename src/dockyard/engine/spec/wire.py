"""Docker's create JSON (``Config``, ``HostConfig``, ``NetworkingConfig``) → typed ``CreateOptions``.

Wrong JSON types are refused with Go's decoder wording; bad values with the daemon's messages.
Everything raises ``InvalidArgument``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from dockyard.engine.spec.builder import merge_tmpfs_options, parse_device_cgroup_rule
from dockyard.engine.spec.model import (
    DEFAULT_SHM_SIZE,
    ContainerOptions,
    CreateOptions,
    DeviceMapping,
    EndpointOptions,
    HostOptions,
    LogConfig,
    MountSpec,
    MountType,
    NamespaceMode,
    PortBinding,
    Resources,
    RestartName,
    RestartPolicy,
    SeccompSetting,
    SecurityOptions,
    ThrottleDevice,
    Ulimit,
    WeightDevice,
)
from dockyard.engine.spec.seccomp import load_profile
from dockyard.engine.spec.validate import validate
from dockyard.errors import InvalidArgument
from dockyard.oci.config import HealthConfig
from dockyard.units import parse_go_int

LOG_DRIVERS = {
    "json-file": frozenset({"max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag",
                            "mode", "max-buffer-size"}),
    "local": frozenset({"max-file", "max-size", "compress", "mode", "max-buffer-size"}),
    "none": frozenset({"mode", "max-buffer-size"}),
}
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
    "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
    "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25,
    "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}

_GO_TYPES = {bool: "bool", int: "int64", str: "string", list: "[]string", dict: "map[string]string"}


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Obj:
    """Typed access to one JSON object, with Go-decoder-like errors naming ``struct.field``."""

    def __init__(self, obj: object, struct: str) -> None:
        if obj is None:
            obj = {}
        if not isinstance(obj, Mapping):
            raise InvalidArgument(f"json: cannot unmarshal {_json_type(obj)} into Go value of type {struct}")
        self.obj: Mapping[str, Any] = obj
        self.struct = struct

    def _bad(self, key: str, value: object, gotype: str) -> InvalidArgument:
        return InvalidArgument(f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                               f"{self.struct}.{key} of type {gotype}")

    def text(self, key: str) -> str:
        v = self.obj.get(key)
        if v is None:
            return ""
        if not isinstance(v, str):
            raise self._bad(key, v, "string")
        return v

    def flag(self, key: str) -> bool:
        v = self.obj.get(key)
        if v is None:
            return False
        if not isinstance(v, bool):
            raise self._bad(key, v, "bool")
        return v

    def opt_flag(self, key: str) -> bool | None:
        return None if self.obj.get(key) is None else self.flag(key)

    def num(self, key: str) -> int:
        v = self.obj.get(key)
        if v is None:
            return 0
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
            raise self._bad(key, v, "int64")
        return int(v)

    def opt_num(self, key: str) -> int | None:
        return None if self.obj.get(key) is None else self.num(key)

    def strs(self, key: str) -> tuple[str, ...]:
        v = self.obj.get(key)
        if v is None:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self._bad(key, v, "[]string")
        return tuple(v)

    def str_slice(self, key: str) -> tuple[str, ...] | None:
        """Docker's StrSlice: null, a string or a list of strings."""
        v = self.obj.get(key)
        if v is None:
            return None
        if isinstance(v, str):
            return (v,)
        return self.strs(key)

    def str_map(self, key: str) -> dict[str, str]:
        v = self.obj.get(key)
        if v is None:
            return {}
        if not isinstance(v, Mapping) or not all(isinstance(x, str) for x in v.values()):
            raise self._bad(key, v, "map[string]string")
        return dict(v)

    def keys(self, key: str) -> tuple[str, ...]:
        v = self.obj.get(key)
        if v is None:
            return ()
        if not isinstance(v, Mapping):
            raise self._bad(key, v, "map[string]struct {}")
        return tuple(v)

    def sub(self, key: str, struct: str) -> _Obj:
        return _Obj(self.obj.get(key), struct)

    def items(self, key: str, struct: str) -> list[_Obj]:
        v = self.obj.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self._bad(key, v, f"[]{struct}")
        return [_Obj(x, struct) for x in v]


# --- Config -----------------------------------------------------------------------------------

def parse_signal(text: str) -> str:
    """Check a stop signal (``SIGTERM``, ``TERM``, or any non-zero number, as moby's ParseSignal);
    InvalidArgument("Invalid signal: x")."""
    try:
        number = parse_go_int(text)
    except ValueError:
        name = text.upper().removeprefix("SIG")
        if name in SIGNALS or (name.startswith("RTMIN") or name.startswith("RTMAX")):
            return text
    else:
        if number != 0:
            return text
    raise InvalidArgument(f"Invalid signal: {text}")


def normalize_port(spec: str) -> str:
    port, _, proto = spec.partition("/")
    proto = proto.lower() or "tcp"
    lo, _, hi = port.partition("-")
    ok = lo.isdigit() and (not hi or hi.isdigit()) and proto in ("tcp", "udp", "sctp")
    if not ok or not 0 < int(lo) <= 65535 or (hi and not int(lo) <= int(hi) <= 65535):
        raise InvalidArgument(f"invalid port specification: \"{spec}\"")
    return f"{port}/{proto}"


def _health(o: _Obj) -> HealthConfig | None:
    if not o.obj:
        return None
    return HealthConfig(o.strs("Test"), o.num("Interval"), o.num("Timeout"), o.num("StartPeriod"),
                        o.num("StartInterval"), o.num("Retries"))


def parse_config(raw: object) -> ContainerOptions:
    o = _Obj(raw, "Config")
    env = o.strs("Env")
    for e in env:
        if e.startswith("=") or not e:
            raise InvalidArgument(f"invalid environment variable: {e}")
    stop_signal = o.text("StopSignal")
    if stop_signal:
        parse_signal(stop_signal)
    health = o.obj.get("Healthcheck")
    return ContainerOptions(
        image=o.text("Image"),
        cmd=o.str_slice("Cmd"),
        entrypoint=o.str_slice("Entrypoint"),
        env=env,
        working_dir=o.text("WorkingDir"),
        user=o.text("User"),
        hostname=o.text("Hostname"),
        domainname=o.text("Domainname"),
        labels=o.str_map("Labels"),
        tty=o.flag("Tty"),
        open_stdin=o.flag("OpenStdin"),
        stdin_once=o.flag("StdinOnce"),
        attach_stdin=o.flag("AttachStdin"),
        attach_stdout=o.flag("AttachStdout"),
        attach_stderr=o.flag("AttachStderr"),
        stop_signal=stop_signal,
        stop_timeout=o.opt_num("StopTimeout"),
        exposed_ports=tuple(normalize_port(p) for p in o.keys("ExposedPorts")),
        volumes=o.keys("Volumes"),
        network_disabled=o.flag("NetworkDisabled"),
        healthcheck=None if health is None else _health(_Obj(health, "HealthConfig")),
    )


# --- mounts -----------------------------------------------------------------------------------

TARGET_IS_ROOT = "invalid specification: destination can't be '/'"
_MODE_GROUPS = (frozenset({"rw", "ro"}), frozenset({"z", "Z"}), frozenset(PROPAGATIONS), frozenset({"nocopy"}),
                frozenset({"consistent", "cached", "delegated"}))


def valid_mount_mode(mode: str) -> bool:
    """dockerd's linuxValidMountMode: known options, at most one of each kind (ro/rw, z/Z,
    propagation, nocopy, consistency)."""
    counts = [0] * len(_MODE_GROUPS)
    for opt in mode.split(",") if mode else []:
        group = next((i for i, names in enumerate(_MODE_GROUPS) if opt in names), None)
        if group is None:
            return False
        counts[group] += 1
    return all(n <= 1 for n in counts)


def parse_bind(raw: str) -> MountSpec:
    """``-v`` syntax: ``dst``, ``src:dst`` or ``src:dst:opts`` (ro, rw, z, Z, nocopy, propagation)."""
    parts = raw.split(":")
    if len(parts) == 1:
        src, dst, mode = "", parts[0], ""
    elif len(parts) == 2:
        src, dst, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        src, dst, mode = parts
    else:
        raise InvalidArgument(f"invalid volume specification: '{raw}'")
    if not dst:
        raise InvalidArgument(f"invalid volume specification: '{raw}'")
    if not valid_mount_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    kind = "bind" if src.startswith("/") else "volume"

    def spec_error(msg: str) -> InvalidArgument:
        return InvalidArgument(f"invalid volume specification: '{raw}': invalid mount config for type \"{kind}\": {msg}")

    if posixpath.normpath(dst) == "/":
        raise spec_error(TARGET_IS_ROOT)
    if not dst.startswith("/"):
        raise spec_error(f"invalid mount path: '{dst}' mount path must be absolute")
    options = mode.split(",") if mode else []
    read_only = "ro" in options
    propagation = next((opt for opt in options if opt in PROPAGATIONS), "")
    no_copy = "nocopy" in options
    if kind == "bind":
        if no_copy:
            raise spec_error("field VolumeOptions must not be specified")
        return MountSpec(MountType.BIND, posixpath.normpath(dst), posixpath.normpath(src), read_only,
                         propagation or "rprivate", create_host_path=True, raw=raw)
    if propagation:
        raise InvalidArgument(f"invalid volume specification: '{raw}'")
    return MountSpec(MountType.VOLUME, posixpath.normpath(dst), src, read_only, no_copy=no_copy, raw=raw)


def parse_mount(o: _Obj) -> MountSpec:
    kind = o.text("Type")
    def err(msg: str) -> InvalidArgument:
        return InvalidArgument(f'invalid mount config for type "{kind}": {msg}')

    if kind not in ("bind", "volume", "tmpfs"):
        raise err("mount type unknown")
    target, source = o.text("Target"), o.text("Source")
    if not target:
        raise err("field Target must not be empty")
    if posixpath.normpath(target) == "/":
        raise err(TARGET_IS_ROOT)
    if not target.startswith("/"):
        raise err(f"invalid mount path: '{target}' mount path must be absolute")
    bind, vol, tmp = (o.obj.get(k) for k in ("BindOptions", "VolumeOptions", "TmpfsOptions"))
    for name, value, owner in (("BindOptions", bind, "bind"), ("VolumeOptions", vol, "volume"),
                               ("TmpfsOptions", tmp, "tmpfs")):
        if value is not None and kind != owner:
            raise err(f"field {name} must not be specified")
    read_only = o.flag("ReadOnly")
    if kind == "bind":
        if not source:
            raise err("field Source must not be empty")
        if not source.startswith("/"):
            raise err(f"invalid mount path: '{source}' mount path must be absolute")
        b = _Obj(bind, "BindOptions")
        propagation = b.text("Propagation") or "rprivate"
        if propagation not in PROPAGATIONS:
            raise err(f"invalid propagation mode: {propagation}")
        # unlike -v, --mount wants the source to exist (checked at create), unless it may create it
        return MountSpec(MountType.BIND, posixpath.normpath(target), posixpath.normpath(source), read_only,
                         propagation, non_recursive=b.flag("NonRecursive"), create_host_path=b.flag("CreateMountpoint"))
    if kind == "volume":
        if source.startswith("/"):
            raise err(f"invalid volume name: '{source}'")
        v = _Obj(vol, "VolumeOptions")
        drv = v.sub("DriverConfig", "Driver")
        return MountSpec(MountType.VOLUME, posixpath.normpath(target), source, read_only,
                         no_copy=v.flag("NoCopy"), volume_driver=drv.text("Name"), volume_labels=v.str_map("Labels"),
                         volume_options=drv.str_map("Options"))
    if source:
        raise err("field Source must not be specified")
    t = _Obj(tmp, "TmpfsOptions")
    size, mode = t.num("SizeBytes"), t.opt_num("Mode")
    if size < 0:
        raise err("invalid tmpfs size")
    return MountSpec(MountType.TMPFS, posixpath.normpath(target), read_only=read_only, tmpfs_size=size,
                     tmpfs_mode=mode)


# --- HostConfig -------------------------------------------------------------------------------

def parse_security_opts(opts: tuple[str, ...]) -> SecurityOptions:
    nnp, apparmor = False, ""
    seccomp: SeccompSetting = "default"
    labels: list[str] = []
    for opt in opts:
        if opt == "no-new-privileges":
            nnp = True
            continue
        if opt == "disable":
            labels.append("disable")
            continue
        sep = "=" if "=" in opt else ":" if ":" in opt else ""
        if not sep:
            raise InvalidArgument(f'invalid --security-opt 1: "{opt}"')
        key, value = opt.split(sep, 1)
        if key == "label":
            labels.append(value)
        elif key == "apparmor":
            apparmor = value
        elif key == "seccomp":
            if value == "unconfined":
                seccomp = "unconfined"
            elif value in ("builtin", ""):
                seccomp = "default"
            else:
                seccomp = load_profile(value)
        elif key == "no-new-privileges":
            if value.lower() in ("1", "t", "true"):
                nnp = True
            elif value.lower() in ("0", "f", "false"):
                nnp = False
            else:
                raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
        else:
            raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
    return SecurityOptions(nnp, seccomp, apparmor, tuple(labels), opts)


def _ns_mode(text: str, what: str, allowed: tuple[str, ...], container: bool) -> NamespaceMode:
    if text == "":
        return NamespaceMode()
    if text.startswith("container:"):
        if container and text.split(":", 1)[1]:
            return NamespaceMode.parse(text)
    elif text in allowed:
        return NamespaceMode.parse(text)
    raise InvalidArgument(f"invalid {what}: {text}")


def _restart(o: _Obj) -> RestartPolicy:
    name = o.text("Name") or "no"
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
                              "'on-failure', or 'unless-stopped'")
    policy_name: RestartName = name  # type: ignore[assignment]
    return RestartPolicy(policy_name, o.num("MaximumRetryCount"))


def _log_config(o: _Obj) -> LogConfig:
    kind = o.text("Type") or "json-file"
    opts = o.str_map("Config")
    allowed = LOG_DRIVERS.get(kind)
    if allowed is None:  # dockerd looks for a plugin of that name
        raise InvalidArgument(f'error looking up logging plugin {kind}: plugin "{kind}" not found')
    for key in opts:
        if key not in allowed:
            # each driver words it its own way in dockerd
            raise InvalidArgument(f"unknown log opt '{key}' for log driver local" if kind == "local"
                                  else f"unknown log opt '{key}' for {kind} log driver")
    if "mode" in opts and opts["mode"] not in ("blocking", "non-blocking"):
        raise InvalidArgument(f"logger: logger mode not supported: {opts['mode']}")
    # The values are read at start, when the driver opens the log (settings.log_limits).
    return LogConfig(kind, opts)


def _resources(o: _Obj) -> Resources:
    devices = []
    for dev in o.items("Devices", "DeviceMapping"):
        host_path = dev.text("PathOnHost")
        devices.append(DeviceMapping(host_path, dev.text("PathInContainer") or host_path,
                                     dev.text("CgroupPermissions") or "rwm"))
    rules = o.strs("DeviceCgroupRules")
    for rule in rules:
        parse_device_cgroup_rule(rule)

    def throttle(key: str) -> tuple[ThrottleDevice, ...]:
        return tuple(ThrottleDevice(t.text("Path"), t.num("Rate")) for t in o.items(key, "ThrottleDevice"))

    return Resources(
        memory=o.num("Memory"),
        memory_swap=o.num("MemorySwap"),
        memory_reservation=o.num("MemoryReservation"),
        memory_swappiness=o.opt_num("MemorySwappiness"),
        oom_kill_disable=o.opt_flag("OomKillDisable"),
        nano_cpus=o.num("NanoCpus"),
        cpu_shares=o.num("CpuShares"),
        cpu_quota=o.num("CpuQuota"),
        cpu_period=o.num("CpuPeriod"),
        cpuset_cpus=o.text("CpusetCpus"),
        cpuset_mems=o.text("CpusetMems"),
        pids_limit=o.opt_num("PidsLimit"),
        blkio_weight=o.num("BlkioWeight"),
        blkio_weight_device=tuple(WeightDevice(w.text("Path"), w.num("Weight"))
                                  for w in o.items("BlkioWeightDevice", "WeightDevice")),
        blkio_device_read_bps=throttle("BlkioDeviceReadBps"),
        blkio_device_write_bps=throttle("BlkioDeviceWriteBps"),
        blkio_device_read_iops=throttle("BlkioDeviceReadIOps"),
        blkio_device_write_iops=throttle("BlkioDeviceWriteIOps"),
        devices=tuple(devices),
        device_cgroup_rules=rules,
        ulimits=tuple(Ulimit(u.text("Name"), u.num("Soft"), u.num("Hard")) for u in o.items("Ulimits", "Ulimit")),
        cgroup_parent=o.text("CgroupParent"),
    )


def parse_host_config(raw: object) -> HostOptions:
    o = _Obj(raw, "HostConfig")
    isolation = o.text("Isolation")
    if isolation and isolation.lower() != "default":
        raise InvalidArgument(f'Invalid isolation: "{isolation}" - linux only supports \'default\'')
    tmpfs = o.str_map("Tmpfs")
    for dest, data in tmpfs.items():
        if posixpath.normpath(dest) == "/":
            raise InvalidArgument(TARGET_IS_ROOT)
        if not dest.startswith("/"):
            raise InvalidArgument(f"invalid mount path: '{dest}' mount path must be absolute")
        merge_tmpfs_options(data.split(",") if data else [])
    ports: dict[str, tuple[PortBinding, ...]] = {}
    pb = o.obj.get("PortBindings") or {}
    if not isinstance(pb, Mapping):
        raise o._bad("PortBindings", pb, "nat.PortMap")
    for port, bindings in pb.items():
        items = _Obj({"b": bindings}, "HostConfig").items("b", "PortBinding")
        ports[normalize_port(port)] = tuple(PortBinding(b.text("HostIp"), b.text("HostPort")) for b in items)
    cgroupns = o.text("CgroupnsMode")
    network_mode = o.text("NetworkMode") or "bridge"
    if network_mode == "default":
        network_mode = "bridge"
    if network_mode.startswith("container:") and not network_mode.split(":", 1)[1]:
        raise InvalidArgument(f"invalid network mode: {network_mode}")
    shm = o.num("ShmSize")
    return HostOptions(
        binds=tuple(parse_bind(b) for b in o.strs("Binds")),
        mounts=tuple(parse_mount(m) for m in o.items("Mounts", "Mount")),
        tmpfs=tmpfs,
        read_only=o.flag("ReadonlyRootfs"),
        cap_add=o.str_slice("CapAdd") or (),
        cap_drop=o.str_slice("CapDrop") or (),
        privileged=o.flag("Privileged"),
        security=parse_security_opts(o.strs("SecurityOpt")),
        group_add=o.strs("GroupAdd"),
        shm_size=shm if shm != 0 else DEFAULT_SHM_SIZE,
        sysctls=o.str_map("Sysctls"),
        pid_mode=_ns_mode(o.text("PidMode"), "PID mode", ("host",), True),
        ipc_mode=_ns_mode(o.text("IpcMode"), "IPC mode", ("host", "none", "private", "shareable"), True),
        uts_mode=_ns_mode(o.text("UTSMode"), "UTS mode", ("host",), False),
        cgroupns_mode=None if not cgroupns else _ns_mode(cgroupns, "cgroup namespace mode", ("host", "private"),
                                                         False),
        network_mode=network_mode,
        resources=_resources(o),
        init=o.opt_flag("Init"),
        restart_policy=_restart(o.sub("RestartPolicy", "RestartPolicy")),
        log_config=_log_config(o.sub("LogConfig", "LogConfig")),
        auto_remove=o.flag("AutoRemove"),
        dns=o.strs("Dns"),
        dns_search=o.strs("DnsSearch"),
        dns_options=o.strs("DnsOptions"),
        extra_hosts=o.strs("ExtraHosts"),
        oom_score_adj=o.num("OomScoreAdj"),
        port_bindings=ports,
        publish_all_ports=o.flag("PublishAllPorts"),
        annotations=o.str_map("Annotations"),
    )


def parse_networking_config(raw: object) -> tuple[EndpointOptions, ...]:
    o = _Obj(raw, "NetworkingConfig")
    eps = o.obj.get("EndpointsConfig") or {}
    if not isinstance(eps, Mapping):
        raise o._bad("EndpointsConfig", eps, "map[string]*network.EndpointSettings")
    out = []
    for name, body in eps.items():
        e = _Obj(body, "EndpointSettings")
        ipam = e.sub("IPAMConfig", "EndpointIPAMConfig")
        out.append(EndpointOptions(name, e.strs("Aliases"), ipam.text("IPv4Address"), ipam.text("IPv6Address"),
                                   e.text("MacAddress"), e.strs("Links"), e.str_map("DriverOpts")))
    return tuple(out)


def from_docker_json(config: Mapping[str, Any] | None, host_config: Mapping[str, Any] | None,
                     networking_config: Mapping[str, Any] | None) -> CreateOptions:
    """Parse and validate a create request; InvalidArgument with Docker's words when it is wrong."""
    options = CreateOptions(parse_config(config), parse_host_config(host_config),
                            parse_networking_config(networking_config))
    validate(options)
    return options


__all__ = [
    "LOG_DRIVERS", "from_docker_json", "normalize_port", "parse_bind", "parse_config", "parse_host_config",
    "parse_networking_config", "parse_security_opts", "parse_signal",
]

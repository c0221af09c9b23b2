"""``run``/``create`` flags → the create body Docker's CLI sends (Config + HostConfig + NetworkingConfig).

Mirrors docker/cli ``cli/command/container/opts.go``: flag values are checked here with Docker's
messages; what only the daemon can judge (``--cpus -1``, unknown capabilities) goes through as is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from dockyard.units import parse_ram

JSON = dict[str, Any]

STREAMS = ("stdin", "stdout", "stderr")
PULL_POLICIES = ("always", "missing", "never")
ULIMITS = {
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
    "rtprio", "rttime", "sigpending", "stack",
}
_NAMESPACED_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                       "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
_SYSCTL_PREFIXES = ("fs.mqueue.", "net.")


class InvalidFlag(Exception):
    """A flag value the CLI itself rejects: printed with the usage text, exit 125."""


class InvalidOptions(Exception):
    """A combination or value rejected after parsing: "dockyard: <msg>" plus the help hint, exit 125."""


@dataclass
class CreateRequest:
    """What create needs: the body, the name, the platform and the pull policy."""

    body: JSON
    name: str
    platform: str
    pull: str

    @property
    def config(self) -> JSON:
        return self.body

    @property
    def host_config(self) -> JSON:
        result: JSON = self.body["HostConfig"]
        return result


def add_create_flags(p: argparse.ArgumentParser, add_bool: Any) -> None:
    """The flags shared by ``run`` and ``create``."""
    lst: dict[str, Any] = {"action": "append", "default": []}
    p.add_argument("--add-host", **lst)
    p.add_argument("--annotation", **lst)
    p.add_argument("-a", "--attach", **lst)
    p.add_argument("--blkio-weight", default="0")
    p.add_argument("--cap-add", **lst)
    p.add_argument("--cap-drop", **lst)
    p.add_argument("--cgroup-parent", default="")
    p.add_argument("--cgroupns", default="")
    p.add_argument("--cidfile", default="")
    p.add_argument("--cpu-period", default="0")
    p.add_argument("--cpu-quota", default="0")
    p.add_argument("--cpu-rt-period", default="0")
    p.add_argument("--cpu-rt-runtime", default="0")
    p.add_argument("-c", "--cpu-shares", default="0")
    p.add_argument("--cpus", default="")
    p.add_argument("--cpuset-cpus", default="")
    p.add_argument("--cpuset-mems", default="")
    p.add_argument("--device", **lst)
    p.add_argument("--device-cgroup-rule", **lst)
    add_bool(p, "--disable-content-trust", default=True)
    p.add_argument("--dns", **lst)
    p.add_argument("--dns-option", **lst)
    p.add_argument("--dns-search", **lst)
    p.add_argument("--domainname", default="")
    p.add_argument("--entrypoint", default=None)
    p.add_argument("-e", "--env", **lst)
    p.add_argument("--env-file", **lst)
    p.add_argument("--expose", **lst)
    p.add_argument("--group-add", **lst)
    p.add_argument("-h", "--hostname", default="")
    add_bool(p, "--init", default=None)
    add_bool(p, "-i", "--interactive")
    p.add_argument("--ip", default="")
    p.add_argument("--ip6", default="")
    p.add_argument("--ipc", default="")
    p.add_argument("--isolation", default="")
    p.add_argument("-l", "--label", **lst)
    p.add_argument("--label-file", **lst)
    p.add_argument("--link", **lst)
    p.add_argument("--log-driver", default="")
    p.add_argument("--log-opt", **lst)
    p.add_argument("--mac-address", default="")
    p.add_argument("-m", "--memory", default="")
    p.add_argument("--memory-reservation", default="")
    p.add_argument("--memory-swap", default="")
    p.add_argument("--memory-swappiness", default="-1")
    p.add_argument("--mount", **lst)
    p.add_argument("--name", default="")
    p.add_argument("--network", "--net", **lst)
    p.add_argument("--network-alias", "--net-alias", **lst)
    add_bool(p, "--no-healthcheck")
    add_bool(p, "--oom-kill-disable")
    p.add_argument("--oom-score-adj", default="0")
    p.add_argument("--pid", default="")
    p.add_argument("--pids-limit", default=None)
    p.add_argument("--platform", default=os.environ.get("DOCKER_DEFAULT_PLATFORM", ""))
    add_bool(p, "--privileged")
    p.add_argument("-p", "--publish", **lst)
    add_bool(p, "-P", "--publish-all")
    p.add_argument("--pull", default="missing")
    add_bool(p, "-q", "--quiet")
    add_bool(p, "--read-only")
    p.add_argument("--restart", default="")
    add_bool(p, "--rm")
    p.add_argument("--runtime", default="")
    p.add_argument("--security-opt", **lst)
    p.add_argument("--shm-size", default="")
    p.add_argument("--stop-signal", default="")
    p.add_argument("--stop-timeout", default=None)
    p.add_argument("--storage-opt", **lst)
    p.add_argument("--sysctl", **lst)
    p.add_argument("--tmpfs", **lst)
    add_bool(p, "-t", "--tty")
    p.add_argument("--ulimit", **lst)
    p.add_argument("-u", "--user", default="")
    p.add_argument("--userns", default="")
    p.add_argument("--uts", default="")
    p.add_argument("-v", "--volume", **lst)
    p.add_argument("--volume-driver", default="")
    p.add_argument("--volumes-from", **lst)
    p.add_argument("-w", "--workdir", default="")


# -- value parsers -----------------------------------------------------------------------------


def _bad(value: str, flag: str, reason: str) -> InvalidFlag:
    return InvalidFlag(f'invalid argument "{value}" for "{flag}" flag: {reason}')


def parse_int(value: str, flag: str) -> int:
    """strconv.ParseInt with its error text."""
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d+", value):
        raise _bad(value, flag, f'strconv.ParseInt: parsing "{value}": invalid syntax')
    return int(text)


def mem_bytes(value: str, flag: str, *, allow_minus_one: bool = False) -> int:
    if not value:
        return 0
    if allow_minus_one and value == "-1":
        return -1
    try:
        return parse_ram(value)
    except ValueError as exc:
        raise _bad(value, flag, str(exc)) from None


def nano_cpus(value: str) -> int:
    """``--cpus``: a decimal, as a big.Rat, times 1e9 (must come out whole)."""
    if not value:
        return 0
    from fractions import Fraction

    try:
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?\d+/\d+", value):
            raise ValueError
        rat = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise _bad(value, "--cpus", f"failed to parse {value} as a rational number") from None
    nano = rat * 1_000_000_000
    if nano.denominator != 1:
        raise _bad(value, "--cpus", "value is too precise")
    return int(nano)


def read_kv_file(path: str, *, lookup_env: bool) -> list[str]:
    """Docker's env/label file: ``KEY=value`` lines, ``#`` comments, blank lines skipped."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise InvalidOptions(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None
    lines: list[str] = []
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        line = line_bytes.decode("utf-8", errors="replace")
        if number == 1:
            line = line.removeprefix("\ufeff")
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        key, eq, val = stripped.partition("=")
        if not key.strip():
            raise InvalidOptions(f"no variable name on line '{line}'")
        if " " in key.rstrip() or "\t" in key.rstrip():
            raise InvalidOptions(f"variable '{key}' contains whitespaces")
        if eq:
            lines.append(f"{key}={val}")
        elif lookup_env:
            name = key.strip()
            if name in os.environ:
                lines.append(f"{name}={os.environ[name]}")
        else:
            lines.append(key.strip())
    return lines


def env_list(files: list[str], values: list[str]) -> list[str]:
    """Env files first, then ``-e``; a bare name takes the value from our environment if set."""
    env: list[str] = []
    for path in files:
        env.extend(read_kv_file(path, lookup_env=True))
    for value in values:
        key, eq, _ = value.partition("=")
        if not key:
            raise _bad(value, "-e, --env", "invalid environment variable: " + value)
        if not eq and key in os.environ:
            env.append(f"{key}={os.environ[key]}")
        else:
            env.append(value)
    return env


def label_map(files: list[str], values: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    items: list[str] = []
    for path in files:
        items.extend(read_kv_file(path, lookup_env=False))
    items.extend(values)
    for item in items:
        key, _, val = item.partition("=")
        labels[key] = val
    return labels


def kv_map(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, _, val = item.partition("=")
        out[key] = val
    return out


def _port_range(text: str, what: str) -> tuple[int, int]:
    start_s, dash, end_s = text.partition("-")
    try:
        start = int(start_s)
        end = int(end_s) if dash else start
    except ValueError:
        raise InvalidOptions(f"invalid {what}: {text}") from None
    if not (0 <= start <= 65535 and 0 <= end <= 65535) or end < start:
        raise InvalidOptions(f"invalid {what}: {text}")
    return start, end


def parse_ports(publish: list[str], expose: list[str]) -> tuple[JSON, JSON]:
    """nat.ParsePortSpecs: ``[ip:][hostPort:]containerPort[/proto]``, ranges allowed."""
    exposed: JSON = {}
    bindings: dict[str, list[JSON]] = {}
    for spec in publish:
        raw, proto = spec.rsplit("/", 1) if "/" in spec else (spec, "tcp")
        proto = (proto or "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise InvalidOptions(f"invalid proto: {proto}")
        ip = host_port = ""
        if raw.startswith("["):
            close = raw.find("]")
            ip, rest = raw[1:close], raw[close + 1 :].lstrip(":")
            parts = rest.split(":")
        else:
            parts = raw.split(":")
            if len(parts) == 3:
                ip = parts.pop(0)
        if len(parts) == 1:
            container_port = parts[0]
        elif len(parts) == 2:
            host_port, container_port = parts
        else:
            raise InvalidOptions(f"invalid port format for --publish: {spec}")
        if not container_port:
            raise InvalidOptions(f"no port specified: {spec}<empty>")
        c_start, c_end = _port_range(container_port, "containerPort")
        h_start = h_end = 0
        if host_port:
            h_start, h_end = _port_range(host_port, "hostPort")
            if (h_end - h_start) != (c_end - c_start) and h_end != h_start:
                raise InvalidOptions(f"invalid ranges specified for container and host Ports: {container_port} "
                                     f"and {host_port}")
        for i in range(c_end - c_start + 1):
            port = f"{c_start + i}/{proto}"
            exposed[port] = {}
            if not host_port:
                hp = ""
            elif h_end != h_start:
                hp = str(h_start + i)
            elif c_end != c_start:
                hp = f"{h_start}-{h_end}" if h_end != h_start else str(h_start)
            else:
                hp = str(h_start)
            bindings.setdefault(port, []).append({"HostIp": ip, "HostPort": hp})
    for spec in expose:
        raw, _, proto = spec.partition("/")
        proto = proto or "tcp"
        start, end = _port_range(raw, "range format for --expose")
        for n in range(start, end + 1):
            exposed.setdefault(f"{n}/{proto}", {})
    return exposed, dict(bindings)


def parse_ulimit(value: str) -> JSON:
    name, eq, limits = value.partition("=")
    if not eq:
        raise _bad(value, "--ulimit", f"invalid ulimit argument: {value}")
    if name not in ULIMITS:
        raise _bad(value, "--ulimit", f"invalid ulimit type: {name}")
    soft_s, colon, hard_s = limits.partition(":")
    try:
        soft = int(soft_s)
        hard = int(hard_s) if colon else soft
    except ValueError:
        raise _bad(value, "--ulimit", f'strconv.ParseInt: parsing "{hard_s if colon else soft_s}": '
                   "invalid syntax") from None
    if soft > hard:
        raise _bad(value, "--ulimit", f"ulimit soft limit must be less than or equal to hard limit: "
                   f"{soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def check_sysctl(value: str) -> tuple[str, str]:
    key, eq, val = value.partition("=")
    allowed = eq and (key in _NAMESPACED_SYSCTLS or key.startswith(_SYSCTL_PREFIXES))
    if not allowed:
        raise _bad(value, "--sysctl", f"sysctl '{value}' is not allowed")
    return key, val


def parse_device(value: str) -> JSON:
    parts = value.split(":")
    src = parts[0]
    dst = src
    perms = "rwm"
    if len(parts) == 2:
        if re.fullmatch(r"[rwm]{1,3}", parts[1]):
            perms = parts[1]
        else:
            dst = parts[1]
    elif len(parts) == 3:
        dst, perms = parts[1], parts[2]
    elif len(parts) > 3:
        raise InvalidOptions(f"invalid device specification: {value}")
    if not re.fullmatch(r"[rwm]{1,3}", perms) or len(set(perms)) != len(perms):
        raise InvalidOptions(f"invalid device mode: {perms}")
    if not dst.startswith("/"):
        raise InvalidOptions(f"{dst} is not an absolute path")
    return {"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms}


def parse_security_opts(values: list[str]) -> list[str]:
    out: list[str] = []
    for opt in values:
        if opt == "systempaths=unconfined" or opt == "no-new-privileges" or opt.startswith("no-new-privileges"):
            out.append(opt)
            continue
        key, eq, val = opt.partition("=")
        if not eq:
            key, eq, val = opt.partition(":")
        if not eq:
            raise InvalidOptions(f'Invalid --security-opt: "{opt}"')
        if key == "seccomp" and val != "unconfined" and val != "builtin":
            try:
                with open(val, "rb") as f:
                    profile = f.read()
            except OSError as exc:
                raise InvalidOptions(f"opening seccomp profile ({val}) failed: open {val}: "
                                     f"{(exc.strerror or str(exc)).lower()}") from None
            try:
                compact = json.dumps(json.loads(profile), separators=(",", ":"))
            except ValueError as exc:
                raise InvalidOptions(f"compacting json for seccomp profile ({val}) failed: {exc}") from None
            out.append(f"seccomp={compact}")
            continue
        out.append(f"{key}={val}")
    return out


def parse_mount(value: str) -> JSON:
    """``--mount type=…,source=…,target=…[,readonly][,…]`` as a HostConfig.Mounts entry."""
    import csv

    fields = next(csv.reader([value]))
    mount: JSON = {"Type": "volume"}
    bind: JSON = {}
    volume: JSON = {}
    tmpfs: JSON = {}
    for field in fields:
        key, eq, val = field.partition("=")
        key = key.lower()
        if not eq:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
                continue
            if key == "volume-nocopy":
                volume["NoCopy"] = True
                continue
            raise _bad(value, "--mount", f"invalid field '{field}' must be a key=value pair")
        if key == "type":
            mount["Type"] = val.lower()
        elif key in ("source", "src"):
            mount["Source"] = val
        elif key in ("target", "dst", "destination"):
            mount["Target"] = val
        elif key in ("readonly", "ro"):
            if val.lower() not in ("true", "false", "1", "0"):
                raise _bad(value, "--mount", f"invalid value for {key}: {val}")
            mount["ReadOnly"] = val.lower() in ("true", "1")
        elif key == "consistency":
            mount["Consistency"] = val
        elif key == "bind-propagation":
            bind["Propagation"] = val
        elif key == "volume-driver":
            volume["DriverConfig"] = {"Name": val}
        elif key == "volume-label":
            lk, _, lv = val.partition("=")
            volume.setdefault("Labels", {})[lk] = lv
        elif key == "volume-opt":
            ok, _, ov = val.partition("=")
            volume.setdefault("DriverConfig", {}).setdefault("Options", {})[ok] = ov
        elif key == "tmpfs-size":
            tmpfs["SizeBytes"] = mem_bytes(val, "--mount")
        elif key == "tmpfs-mode":
            tmpfs["Mode"] = int(val, 8)
        else:
            raise _bad(value, "--mount", f"unexpected key '{key}' in '{field}'")
    if "Target" not in mount:
        raise _bad(value, "--mount", "target is required")
    if bind:
        mount["BindOptions"] = bind
    if volume:
        mount["VolumeOptions"] = volume
    if tmpfs:
        mount["TmpfsOptions"] = tmpfs
    return mount


def parse_restart(value: str) -> JSON:
    """opts.ParseRestartPolicy: syntax only; the daemon judges the name and the count."""
    if not value:
        return {"Name": "no", "MaximumRetryCount": 0}
    name, colon, count = value.partition(":")
    if colon and not name:
        raise InvalidOptions("invalid restart policy format: no policy provided before colon")
    retries = 0
    if count:
        if not re.fullmatch(r"[+-]?\d+", count):
            raise InvalidOptions("invalid restart policy format: maximum retry count must be an integer")
        retries = int(count)
    return {"Name": name, "MaximumRetryCount": retries}


UPDATE_FLAGS = ("blkio_weight", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpuset_cpus",
                "cpuset_mems", "cpu_shares", "memory", "memory_reservation", "memory_swap", "restart",
                "pids_limit", "cpus", "kernel_memory")


def add_update_flags(p: argparse.ArgumentParser) -> None:
    """``update``'s flags; None marks a flag not given (the CLI counts the flags set)."""
    for flag in ("--blkio-weight", "--cpu-period", "--cpu-quota", "--cpu-rt-period", "--cpu-rt-runtime",
                 "--cpuset-cpus", "--cpuset-mems", "--memory-reservation", "--memory-swap", "--restart",
                 "--pids-limit", "--cpus", "--kernel-memory"):
        p.add_argument(flag, default=None)
    p.add_argument("-c", "--cpu-shares", default=None)
    p.add_argument("-m", "--memory", default=None)


def build_update(opts: argparse.Namespace) -> JSON:
    """The ContainerUpdate body from ``update``'s flags (runUpdate), with the CLI's errors."""
    if all(getattr(opts, name) is None for name in UPDATE_FLAGS):
        raise InvalidOptions("you must provide one or more flags when using this command")

    def integer(name: str, flag: str) -> int:
        value = getattr(opts, name)
        return parse_int(value, flag) if value is not None else 0

    blkio = integer("blkio_weight", "--blkio-weight")
    if not 0 <= blkio <= 65535:
        raise _bad(opts.blkio_weight, "--blkio-weight", f'strconv.ParseUint: parsing "{opts.blkio_weight}": '
                   "value out of range")
    restart = parse_restart(opts.restart) if opts.restart else {"Name": "", "MaximumRetryCount": 0}
    pids = integer("pids_limit", "--pids-limit")
    return {
        "BlkioWeight": blkio,
        "CpuShares": integer("cpu_shares", "-c, --cpu-shares"),
        "Memory": mem_bytes(opts.memory or "", "-m, --memory"),
        "MemoryReservation": mem_bytes(opts.memory_reservation or "", "--memory-reservation"),
        "MemorySwap": mem_bytes(opts.memory_swap or "", "--memory-swap", allow_minus_one=True),
        "CpuPeriod": integer("cpu_period", "--cpu-period"),
        "CpuQuota": integer("cpu_quota", "--cpu-quota"),
        "CpuRealtimePeriod": integer("cpu_rt_period", "--cpu-rt-period"),
        "CpuRealtimeRuntime": integer("cpu_rt_runtime", "--cpu-rt-runtime"),
        "CpusetCpus": opts.cpuset_cpus or "",
        "CpusetMems": opts.cpuset_mems or "",
        "NanoCpus": nano_cpus(opts.cpus or ""),
        "PidsLimit": pids if pids != 0 else None,
        "RestartPolicy": restart,
    }


def _volumes(values: list[str]) -> tuple[list[str], JSON]:
    """``-v``: a bare container path is an anonymous volume, anything else a bind."""
    binds: list[str] = []
    anonymous: JSON = {}
    for spec in values:
        if ":" not in spec:
            anonymous[spec] = {}
        else:
            binds.append(spec)
    return binds, anonymous


def _endpoint(aliases: list[str] | None = None) -> JSON:
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": aliases or None,
        "MacAddress": "",
        "DriverOpts": None,
        "GwPriority": 0,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": None,
    }


def build(opts: argparse.Namespace, image: str, command: list[str], *,
          console_size: tuple[int, int] = (0, 0)) -> CreateRequest:
    """The create request for these flags; raises InvalidFlag or InvalidOptions like docker's parse()."""
    # Values the flag parser itself checks (cobra/pflag "invalid argument" errors).
    memory = mem_bytes(opts.memory, "-m, --memory")
    memory_reservation = mem_bytes(opts.memory_reservation, "--memory-reservation")
    memory_swap = mem_bytes(opts.memory_swap, "--memory-swap", allow_minus_one=True)
    shm_size = mem_bytes(opts.shm_size, "--shm-size")
    cpus = nano_cpus(opts.cpus)
    cpu_shares = parse_int(opts.cpu_shares, "-c, --cpu-shares")
    cpu_period = parse_int(opts.cpu_period, "--cpu-period")
    cpu_quota = parse_int(opts.cpu_quota, "--cpu-quota")
    cpu_rt_period = parse_int(opts.cpu_rt_period, "--cpu-rt-period")
    cpu_rt_runtime = parse_int(opts.cpu_rt_runtime, "--cpu-rt-runtime")
    blkio_weight = parse_int(opts.blkio_weight, "--blkio-weight")
    swappiness = parse_int(opts.memory_swappiness, "--memory-swappiness")
    oom_score_adj = parse_int(opts.oom_score_adj, "--oom-score-adj")
    pids_limit = parse_int(opts.pids_limit, "--pids-limit") if opts.pids_limit is not None else None
    stop_timeout = parse_int(opts.stop_timeout, "--stop-timeout") if opts.stop_timeout is not None else None
    attach = []
    for stream in opts.attach:
        if stream.lower() not in STREAMS:
            raise _bad(stream, "-a, --attach", "valid streams are STDIN, STDOUT and STDERR")
        attach.append(stream.lower())
    ulimits = [parse_ulimit(u) for u in opts.ulimit]
    sysctls = dict(check_sysctl(s) for s in opts.sysctl)
    mounts = [parse_mount(m) for m in opts.mount]

    # parse(): checks after the flags.
    if opts.pull not in PULL_POLICIES:
        raise InvalidOptions(f"invalid pull option: '{opts.pull}': must be one of \"always\", \"missing\" "
                             'or "never"')
    if opts.rm and opts.restart and opts.restart != "no":
        raise InvalidOptions("conflicting options: cannot specify both --restart and --rm")
    if swappiness != -1 and not 0 <= swappiness <= 100:
        raise InvalidOptions(f"invalid value: {swappiness}. Valid memory swappiness range is 0-100")
    if not -1000 <= oom_score_adj <= 1000:
        raise InvalidOptions("oom-score-adj should be between -1000 and 1000")
    exposed, bindings = parse_ports(opts.publish, opts.expose)
    binds, anonymous = _volumes(opts.volume)
    tmpfs: dict[str, str] = {}
    for spec in opts.tmpfs:
        path, _, options = spec.partition(":")
        if not path.startswith("/"):
            raise InvalidOptions(f"invalid mount path for tmpfs: {path}")
        tmpfs[path] = options
    devices = [parse_device(d) for d in opts.device]
    security_opt = parse_security_opts(opts.security_opt)
    restart = parse_restart(opts.restart)
    env = env_list(opts.env_file, opts.env)
    labels = label_map(opts.label_file, opts.label)
    log_opts = kv_map(opts.log_opt)
    if opts.cpus and (cpu_period or cpu_quota):
        raise InvalidOptions("Conflicting options: Nano CPUs and CPU Period cannot both be set")

    attach_stdin = "stdin" in attach or opts.interactive
    attach_stdout = "stdout" in attach or not attach
    attach_stderr = "stderr" in attach or not attach

    entrypoint: list[str] | None = None
    if opts.entrypoint is not None:
        entrypoint = [opts.entrypoint]

    networks = opts.network or []
    network_mode = networks[0] if networks else "default"
    endpoints: JSON = {}
    for i, net in enumerate(networks or ["default"]):
        endpoints[net] = _endpoint(opts.network_alias if i == 0 else None)

    config: JSON = {
        "Hostname": opts.hostname,
        "Domainname": opts.domainname,
        "User": opts.user,
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_stdout,
        "AttachStderr": attach_stderr,
    }
    if exposed:
        config["ExposedPorts"] = exposed
    config.update({
        "Tty": opts.tty,
        "OpenStdin": opts.interactive,
        "StdinOnce": False,
        "Env": env,
        "Cmd": command or None,
        "Image": image,
        "Volumes": anonymous or None,
        "WorkingDir": opts.workdir,
        "Entrypoint": entrypoint,
        "OnBuild": None,
        "Labels": labels,
    })
    if opts.no_healthcheck:
        config["Healthcheck"] = {"Test": ["NONE"]}
    if opts.mac_address:
        config["MacAddress"] = opts.mac_address
    if opts.stop_signal:
        config["StopSignal"] = opts.stop_signal
    if stop_timeout is not None:
        config["StopTimeout"] = stop_timeout

    host: JSON = {
        "Binds": binds or None,
        "ContainerIDFile": opts.cidfile,
        "LogConfig": {"Type": opts.log_driver, "Config": log_opts or None},
        "NetworkMode": network_mode,
        "PortBindings": bindings,
        "RestartPolicy": restart,
        "AutoRemove": opts.rm,
        "VolumeDriver": opts.volume_driver,
        "VolumesFrom": opts.volumes_from or None,
        "ConsoleSize": list(console_size),
    }
    if opts.annotation:
        host["Annotations"] = kv_map(opts.annotation)
    host.update({
        "CapAdd": opts.cap_add or None,
        "CapDrop": opts.cap_drop or None,
        "CgroupnsMode": opts.cgroupns,
        "Dns": opts.dns,
        "DnsOptions": opts.dns_option,
        "DnsSearch": opts.dns_search,
        "ExtraHosts": opts.add_host or None,
        "GroupAdd": opts.group_add or None,
        "IpcMode": opts.ipc,
        "Cgroup": "",
        "Links": opts.link or None,
        "OomScoreAdj": oom_score_adj,
        "PidMode": opts.pid,
        "Privileged": opts.privileged,
        "PublishAllPorts": opts.publish_all,
        "ReadonlyRootfs": opts.read_only,
        "SecurityOpt": security_opt or None,
    })
    if opts.storage_opt:
        host["StorageOpt"] = kv_map(opts.storage_opt)
    if tmpfs:
        host["Tmpfs"] = tmpfs
    host.update({"UTSMode": opts.uts, "UsernsMode": opts.userns, "ShmSize": shm_size})
    if sysctls:
        host["Sysctls"] = sysctls
    if opts.runtime:
        host["Runtime"] = opts.runtime
    host.update({
        "Isolation": opts.isolation,
        "CpuShares": cpu_shares,
        "Memory": memory,
        "NanoCpus": cpus,
        "CgroupParent": opts.cgroup_parent,
        "BlkioWeight": blkio_weight,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": cpu_period,
        "CpuQuota": cpu_quota,
        "CpuRealtimePeriod": cpu_rt_period,
        "CpuRealtimeRuntime": cpu_rt_runtime,
        "CpusetCpus": opts.cpuset_cpus,
        "CpusetMems": opts.cpuset_mems,
        "Devices": devices,
        "DeviceCgroupRules": opts.device_cgroup_rule or None,
        "DeviceRequests": None,
        "MemoryReservation": memory_reservation,
        "MemorySwap": memory_swap,
        "MemorySwappiness": swappiness if swappiness != -1 else None,
        "OomKillDisable": opts.oom_kill_disable,
        "PidsLimit": pids_limit,
        "Ulimits": ulimits or None,
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": None,
        "ReadonlyPaths": None,
    })
    if mounts:
        host["Mounts"] = mounts
    if opts.init is not None:
        host["Init"] = opts.init

    body = dict(config)
    body["HostConfig"] = host
    body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return CreateRequest(body=body, name=opts.name, platform=opts.platform, pull=opts.pull)


__all__ = [
    "CreateRequest",
    "InvalidFlag",
    "InvalidOptions",
    "add_create_flags",
    "add_update_flags",
    "build",
    "build_update",
    "env_list",
    "mem_bytes",
    "nano_cpus",
    "parse_device",
    "parse_mount",
    "parse_ports",
    "parse_restart",
    "parse_ulimit",
    "read_kv_file",
]

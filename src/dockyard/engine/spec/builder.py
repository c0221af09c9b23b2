"""Image config + create options → OCI runtime config.json, with Docker's defaults.

A pure function: the only outside data it reads is the image's /etc/passwd and /etc/group,
through the injected ``PasswdReader``; host facts come in as ``HostFacts``.
"""

from __future__ import annotations

import os.path
import posixpath
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from dockyard.engine.spec import defaults as d
from dockyard.engine.spec.host import HostDevice, HostFacts, JoinedNamespaces
from dockyard.engine.spec.model import CreateOptions, HostOptions, MountSpec, MountType, Resources
from dockyard.engine.spec.seccomp import Profile, default_profile, native_arch, to_oci
from dockyard.engine.spec.user import ExecUser, PasswdReader, resolve_user
from dockyard.engine.spec.validate import normalize_caps, validate
from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.oci.config import ContainerConfig, ImageConfig
from dockyard.runtime.process import REAPER_ANNOTATION

_EMPTY: Mapping[str, str] = MappingProxyType({})


# --- command, environment ---------------------------------------------------------------------


SHM_DIR = "shm"  # a shareable container's /dev/shm, in its container directory

def resolve_command(options: CreateOptions, image: ContainerConfig) -> list[str]:
    """Docker's entrypoint/cmd merge: an entrypoint given at create replaces the image's and
    drops the image's cmd; otherwise a cmd given at create replaces the image's cmd."""
    entrypoint, cmd = options.config.entrypoint, options.config.cmd
    if not entrypoint:
        if not cmd:
            cmd = image.cmd
        if entrypoint is None:
            entrypoint = image.entrypoint
    ep = list(entrypoint or ())
    if ep == [""]:  # --entrypoint "": no entrypoint at all
        ep = []
    args = ep + list(cmd or ())
    if not args:
        raise InvalidArgument("no command specified")
    return args


def merge_env(image_env: Sequence[str], user_env: Sequence[str]) -> list[str]:
    """Create-time merge: the user's variables, then the image's ones the user did not set."""
    if not user_env:
        return list(image_env)
    user_keys = {e.split("=", 1)[0] for e in user_env}
    return list(user_env) + [e for e in image_env if e.split("=", 1)[0] not in user_keys]


def replace_or_append_env(defaults: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """Overrides replace same-named defaults in place or are appended; a bare ``NAME`` unsets."""
    out: list[str | None] = list(defaults)
    index = {e.split("=", 1)[0]: i for i, e in enumerate(defaults)}
    for value in overrides:
        key, eq, _ = value.partition("=")
        if not eq:
            if key in index:
                out[index[key]] = None
            continue
        if key in index and out[index[key]] is not None:
            out[index[key]] = value
        else:
            index[key] = len(out)
            out.append(value)
    return [e for e in out if e is not None]


def container_env(options: CreateOptions, image: ContainerConfig, hostname: str, home: str) -> list[str]:
    base = [f"PATH={d.DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if options.config.tty:
        base.append("TERM=xterm")
    env = replace_or_append_env(base, merge_env(image.env, options.config.env))
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={home}")
    return env


def default_hostname(options: CreateOptions, container_id: str, host: HostFacts) -> str:
    """``--hostname``, else the host's name with --network host, else the short container ID."""
    if options.config.hostname:
        return options.config.hostname
    if options.host.network_kind == "host" and host.hostname:
        return host.hostname
    return container_id[:12]


# --- capabilities -----------------------------------------------------------------------------

def effective_caps(host: HostOptions) -> list[str]:
    """moby's TweakCapabilities: privileged → all; ``--cap-add ALL`` → all but the dropped;
    ``--cap-drop ALL`` → only the added; else defaults minus dropped plus added."""
    if host.privileged:
        return list(d.ALL_CAPS)
    if not host.cap_add and not host.cap_drop:
        return list(d.DEFAULT_CAPS)
    drop, add = normalize_caps(host.cap_drop), normalize_caps(host.cap_add)
    if "ALL" in add:
        caps = [c for c in d.ALL_CAPS if c not in drop]
    elif "ALL" in drop:
        caps = add
    else:
        caps = [c for c in d.DEFAULT_CAPS if c not in drop] + add
    out: list[str] = []
    for c in caps:
        if c != "ALL" and c not in out:
            out.append(c)
    return out


def capabilities_json(caps: list[str], uid: int) -> dict[str, Any]:
    """Root gets bounding, effective and permitted; other users only bounding (what execve does)."""
    if uid == 0:
        return {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)}
    return {"bounding": list(caps)}


# --- mounts -----------------------------------------------------------------------------------

_FLAG_KEYS = {
    "ro": "rdonly", "rw": "rdonly", "suid": "nosuid", "nosuid": "nosuid", "dev": "nodev", "nodev": "nodev",
    "exec": "noexec", "noexec": "noexec", "sync": "sync", "async": "sync", "dirsync": "dirsync",
    "remount": "remount", "mand": "mand", "nomand": "mand", "atime": "noatime", "noatime": "noatime",
    "diratime": "nodiratime", "nodiratime": "nodiratime", "bind": "bind", "rbind": "rbind",
    "relatime": "relatime", "norelatime": "relatime", "strictatime": "strictatime",
    "nostrictatime": "strictatime",
}
_PROPAGATION = frozenset({"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
                          "runbindable"})
_TMPFS_DATA = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})


def merge_tmpfs_options(options: Sequence[str]) -> list[str]:
    """moby's MergeTmpfsOptions: later options win over earlier ones of the same kind."""
    seen: set[str] = set()
    out: list[str] = []
    for opt in reversed(options):
        if opt == "defaults" or not opt:
            continue
        if opt in _PROPAGATION:
            key = "propagation"
        elif opt in _FLAG_KEYS:
            key = _FLAG_KEYS[opt]
        else:
            name, eq, _ = opt.partition("=")
            if not eq or name not in _TMPFS_DATA:
                raise InvalidArgument(f'invalid tmpfs option ["{name}"]' if not eq
                                      else f'invalid tmpfs option ["{name}" "{opt.split("=", 1)[1]}"]')
            key = "data:" + name
        if key not in seen:
            seen.add(key)
            out.insert(0, opt)
    return out


def tmpfs_data(m: MountSpec) -> str:
    """``--mount type=tmpfs`` options as ``--tmpfs`` data (moby's ConvertTmpfsOptions)."""
    raw = []
    if m.read_only:
        raw.append("ro")
    if m.tmpfs_mode:
        raw.append(f"mode={m.tmpfs_mode:o}")
    if m.tmpfs_size:
        size, suffix = m.tmpfs_size, ""
        for suf, div in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % div == 0:
                size, suffix = size // div, suf
                break
        raw.append(f"size={size}{suffix}")
    return ",".join(raw)


def _tmpfs_mount(dest: str, data: str) -> dict[str, Any]:
    opts = ["noexec", "nosuid", "nodev", "rprivate"] + ([o for o in data.split(",")] if data else [])
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": merge_tmpfs_options(opts)}


def _bind(dest: str, source: str, *, writable: bool, propagation: str, recursive: bool = True) -> dict[str, Any]:
    opts = ["rbind" if recursive else "bind"]
    if not writable:
        opts.append("ro")
    if propagation:
        opts.append(propagation)
    return {"destination": dest, "type": "bind", "source": source, "options": opts}


def _clean(path: str) -> str:
    return posixpath.normpath(path) if path else path


def _depth(dest: str) -> int:
    return posixpath.normpath(dest).count("/")


def user_mounts(options: CreateOptions, image: ContainerConfig, *, container_dir: str,
                volume_sources: Mapping[str, str], joined: JoinedNamespaces) -> list[dict[str, Any]]:
    """Binds, volumes, tmpfs, IPC and network-file mounts, sorted by depth as moby does."""
    host = options.host
    vols: list[dict[str, Any]] = []
    taken: set[str] = set()
    tmpfs: list[dict[str, Any]] = []
    for m in (*host.binds, *host.mounts):
        dest = _clean(m.target)
        if dest in taken:
            raise InvalidArgument(f"Duplicate mount point: {dest}")
        taken.add(dest)
        if m.type is MountType.TMPFS:
            tmpfs.append(_tmpfs_mount(dest, tmpfs_data(m)))
        elif m.type is MountType.BIND:
            vols.append(_bind(dest, m.source, writable=not m.read_only, propagation=m.propagation or "rprivate",
                              recursive=not m.non_recursive))
        else:
            source = volume_sources.get(dest)
            if source is None:
                raise InvalidArgument(f"no volume source for mount point {dest}")
            vols.append(_bind(dest, source, writable=not m.read_only, propagation=""))
    for dest in sorted(host.tmpfs):
        clean = _clean(dest)
        if clean in taken:
            raise InvalidArgument(f"Duplicate mount point: {clean}")
        taken.add(clean)
        tmpfs.append(_tmpfs_mount(clean, host.tmpfs[dest]))
    # Anonymous volumes the image declares and nothing else covers.
    for dest in (*image.volumes, *options.config.volumes):
        clean = _clean(dest)
        if clean not in taken and clean in volume_sources:
            taken.add(clean)
            vols.append(_bind(clean, volume_sources[clean], writable=True, propagation=""))
    vols.sort(key=lambda m: _depth(m["destination"]))

    net: list[dict[str, Any]] = []
    writable = not host.read_only
    for name, dest in (("resolv.conf", "/etc/resolv.conf"), ("hostname", "/etc/hostname"),
                       ("hosts", "/etc/hosts")):
        if dest not in taken:
            net.append(_bind(dest, os.path.join(container_dir, name), writable=writable, propagation="rprivate"))

    ipc: list[dict[str, Any]] = []
    if "/dev/shm" not in taken:
        if host.ipc_mode.kind == "host":
            ipc.append(_bind("/dev/shm", "/dev/shm", writable=True, propagation="rprivate"))
        elif host.ipc_mode.kind == "container":
            if not joined.ipc_shm:
                raise InvalidArgument(f"invalid IPC mode: {host.ipc_mode}")
            ipc.append(_bind("/dev/shm", joined.ipc_shm, writable=True, propagation="rprivate"))
        elif host.ipc_mode.kind == "shareable":
            # a tmpfs the engine mounts on the host, so that other containers can be given it too
            ipc.append(_bind("/dev/shm", os.path.join(container_dir, SHM_DIR), writable=True,
                             propagation="rprivate"))

    ms = vols + net + ipc + tmpfs
    ms.sort(key=lambda m: _depth(m["destination"]))
    return ms


def build_mounts(options: CreateOptions, image: ContainerConfig, *, container_dir: str,
                 volume_sources: Mapping[str, str], joined: JoinedNamespaces,
                 init_path: str | None) -> list[dict[str, Any]]:
    host = options.host
    ms = user_mounts(options, image, container_dir=container_dir, volume_sources=volume_sources, joined=joined)
    user_dests = {m["destination"] for m in ms}
    base = d.default_mounts()
    if init_path is not None:
        base.append({"destination": d.INIT_PATH_IN_CONTAINER, "type": "bind", "source": init_path,
                     "options": ["bind", "ro"]})
    out: list[dict[str, Any]] = []
    for m in base:
        dest = m["destination"]
        if dest in user_dests or ("/dev" in user_dests and dest.startswith("/dev/")):
            continue
        if dest == "/dev/shm":
            if host.ipc_mode.kind == "none":
                continue
            m["options"].append(f"size={host.shm_size}")
        if host.read_only and dest not in d.RO_ROOTFS_EXEMPT and "ro" not in m["options"]:
            m["options"].append("ro")
        if host.privileged and dest in ("/sys", "/sys/fs/cgroup"):
            m["options"] = [o for o in m["options"] if o != "ro"]
        out.append(m)
    return out + ms


def rootfs_propagation(mounts: Sequence[dict[str, Any]]) -> str:
    """Shared bind mounts need a shared rootfs (moby's rule). Slave binds need at least rslave,
    which is already the runtime's default, so nothing is written for them (the schema's enum
    has no "rslave")."""
    props = {o for m in mounts if m["type"] == "bind" for o in m["options"]}
    return "shared" if props & {"shared", "rshared"} else ""


# --- namespaces -------------------------------------------------------------------------------

def build_namespaces(options: CreateOptions, *, netns_path: str | None, joined: JoinedNamespaces,
                     facts: HostFacts) -> list[dict[str, Any]]:
    host = options.host
    nss: dict[str, dict[str, Any]] = {t: {"type": t} for t in d.NAMESPACES}

    net = host.network_kind
    if net == "host":
        del nss["network"]
    elif net == "container":
        if not netns_path:
            raise InvalidArgument(f"cannot join network of container: {host.network_mode.split(':', 1)[1]}")
        nss["network"]["path"] = netns_path
    elif netns_path:
        nss["network"]["path"] = netns_path

    if host.ipc_mode.kind == "host":
        del nss["ipc"]
    elif host.ipc_mode.kind == "container":
        if not joined.ipc:
            raise InvalidArgument(f"invalid IPC mode: {host.ipc_mode}")
        nss["ipc"]["path"] = joined.ipc

    if host.pid_mode.kind == "host":
        del nss["pid"]
    elif host.pid_mode.kind == "container":
        if not joined.pid:
            raise InvalidArgument(f"invalid PID mode: {host.pid_mode}")
        nss["pid"]["path"] = joined.pid

    if host.uts_mode.kind == "host":
        del nss["uts"]

    cgroupns = host.cgroupns_mode.kind if host.cgroupns_mode is not None else (
        "private" if facts.cgroup2 else "host")
    if cgroupns == "private":
        nss["cgroup"] = {"type": "cgroup"}
    return list(nss.values())


# --- resources and devices --------------------------------------------------------------------

def _devices_for(path: str, facts: HostFacts) -> tuple[HostDevice, ...]:
    found = facts.devices.get(path)
    if not found:
        raise InvalidArgument(
            f'error gathering device information while adding custom device "{path}": no such file or directory')
    return found


def _throttle(items: Sequence[Any], facts: HostFacts, attr: str) -> list[dict[str, Any]]:
    out = []
    for item in items:
        found = facts.devices.get(item.path)
        if not found:  # dockerd stats the throttled device itself, and says so
            raise InvalidArgument(f"stat {item.path}: no such file or directory")
        dev = found[0]
        out.append({"major": dev.major, "minor": dev.minor, attr: getattr(item, "rate" if attr == "rate" else "weight")})
    return out


def build_resources(r: Resources, facts: HostFacts) -> dict[str, Any]:
    out: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    if r.memory > 0:
        memory["limit"] = r.memory
    if r.memory_reservation > 0:
        memory["reservation"] = r.memory_reservation
    swap = r.memory_swap
    if r.memory > 0 and swap == 0:
        swap = 2 * r.memory  # Docker's default: as much swap as memory
    if swap > 0 or swap == -1:
        memory["swap"] = swap
    if r.memory_swappiness is not None and r.memory_swappiness >= 0:
        memory["swappiness"] = r.memory_swappiness
    if r.oom_kill_disable is not None:
        memory["disableOOMKiller"] = r.oom_kill_disable
    if memory:
        out["memory"] = memory

    cpu: dict[str, Any] = {}
    if r.cpu_shares > 0:
        cpu["shares"] = r.cpu_shares
    if r.nano_cpus > 0:
        cpu["quota"] = r.nano_cpus * 100_000 // 10**9
        cpu["period"] = 100_000
    if r.cpu_quota != 0:
        cpu["quota"] = r.cpu_quota
    if r.cpu_period != 0:
        cpu["period"] = r.cpu_period
    if r.cpuset_cpus:
        cpu["cpus"] = r.cpuset_cpus
    if r.cpuset_mems:
        cpu["mems"] = r.cpuset_mems
    if cpu:
        out["cpu"] = cpu

    if r.pids_limit is not None:
        out["pids"] = {"limit": r.pids_limit if r.pids_limit > 0 else -1}

    blkio: dict[str, Any] = {}
    if r.blkio_weight:
        blkio["weight"] = r.blkio_weight
    if r.blkio_weight_device:
        blkio["weightDevice"] = _throttle(r.blkio_weight_device, facts, "weight")
    for key, items in (("throttleReadBpsDevice", r.blkio_device_read_bps),
                       ("throttleWriteBpsDevice", r.blkio_device_write_bps),
                       ("throttleReadIOPSDevice", r.blkio_device_read_iops),
                       ("throttleWriteIOPSDevice", r.blkio_device_write_iops)):
        if items:
            blkio[key] = _throttle(items, facts, "rate")
    if blkio:
        out["blockIO"] = blkio
    return out


def _device_json(dev: HostDevice, path: str) -> dict[str, Any]:
    return {"path": path, "type": dev.type, "major": dev.major, "minor": dev.minor, "fileMode": dev.file_mode,
            "uid": dev.uid, "gid": dev.gid}


def parse_device_cgroup_rule(rule: str) -> dict[str, Any]:
    """``c 1:3 rwm``-style rules (``a`` alone is every device)."""
    text = "a *:* rwm" if rule == "a" else rule
    parts = text.split(" ")
    ok = len(parts) == 3 and parts[0] in ("a", "b", "c") and ":" in parts[1] and parts[2] \
        and len(parts[2]) <= 3 and all(ch in "rwm" for ch in parts[2])
    if ok:
        major, _, minor = parts[1].partition(":")
        ok = all(x == "*" or x.isdigit() for x in (major, minor))
    if not ok:
        raise InvalidArgument(f"invalid device cgroup rule format: '{rule}'")
    return {"allow": True, "type": parts[0], "major": -1 if major == "*" else int(major),
            "minor": -1 if minor == "*" else int(minor), "access": parts[2]}


def build_devices(host: HostOptions, facts: HostFacts) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(linux.devices, linux.resources.devices)."""
    devs: list[dict[str, Any]] = []
    if host.privileged:
        devs = [_device_json(dev, dev.path) for dev in facts.all_devices]
        for m in host.resources.devices:
            if m.path_on_host == m.path_in_container:
                continue
            devs += [_device_json(dev, m.path_in_container + dev.path[len(m.path_on_host):])
                     for dev in _devices_for(m.path_on_host, facts)]
        return devs, [{"allow": True, "access": "rwm"}]
    rules = d.default_device_rules()
    for m in host.resources.devices:
        for dev in _devices_for(m.path_on_host, facts):
            devs.append(_device_json(dev, m.path_in_container + dev.path[len(m.path_on_host):]))
            rules.append({"allow": True, "type": dev.type, "major": dev.major, "minor": dev.minor,
                          "access": m.cgroup_permissions})
    rules += [parse_device_cgroup_rule(r) for r in host.resources.device_cgroup_rules]
    return devs, rules


# --- the whole spec ---------------------------------------------------------------------------

def seccomp_json(host: HostOptions, caps: list[str], arch: str, facts: HostFacts) -> dict[str, Any] | None:
    setting = host.security.seccomp
    if host.privileged or setting == "unconfined":
        return None
    profile: Profile = setting if isinstance(setting, Profile) else default_profile()
    return to_oci(profile, arch=arch, caps=caps, kernel=facts.kernel)


def build_spec(
    options: CreateOptions,
    image_config: ImageConfig,
    *,
    container_id: str,
    rootfs: str,
    container_dir: str,
    netns_path: str | None,
    passwd: PasswdReader,
    arch: str | None = None,
    host: HostFacts | None = None,
    joined: JoinedNamespaces | None = None,
    volume_sources: Mapping[str, str] = _EMPTY,
    init_path: str | None = None,
    reaper_init: bool = False,
    cgroups_path: str | None = None,
) -> dict[str, Any]:
    """The OCI runtime config (config.json as a dict) for a container.

    ``arch`` is the native architecture name (``amd64``, ``arm64``…; default: this host's).
    ``netns_path`` is the network namespace to join (a prepared one, or the other container's
    for ``--network container:<x>``); None makes a new one (none with ``--network host``).
    ``init_path`` is the host path of the init binary for ``--init``; without one, ``reaper_init``
    (the runtime is ours) has the runtime itself stay as the reaping PID 1.
    ``volume_sources`` maps each volume mount's destination to its host directory.
    """
    facts = host or HostFacts()
    joined = joined or JoinedNamespaces()
    arch = arch or native_arch()
    validate(options, facts)
    cfg, hc, img = options.config, options.host, image_config.config

    exec_user: ExecUser = resolve_user(cfg.user or img.user, passwd, hc.group_add)
    hostname = default_hostname(options, container_id, facts)
    args = resolve_command(options, img)
    use_init = bool(hc.init) and hc.pid_mode.kind == "private"
    reaper = use_init and not init_path and reaper_init
    if use_init and not reaper:
        if not init_path:
            raise FailedPrecondition("--init was requested but no init binary is available")
        args = [d.INIT_PATH_IN_CONTAINER, "--", *args]

    caps = effective_caps(hc)
    user: dict[str, Any] = {"uid": exec_user.uid, "gid": exec_user.gid}
    if exec_user.additional_gids:
        user["additionalGids"] = list(exec_user.additional_gids)
    process: dict[str, Any] = {
        "terminal": cfg.tty,
        "user": user,
        "args": args,
        "env": container_env(options, img, hostname, exec_user.home),
        "cwd": cfg.working_dir or img.working_dir or "/",
        "capabilities": capabilities_json(caps, exec_user.uid),
    }
    if hc.resources.ulimits:
        process["rlimits"] = [{"type": "RLIMIT_" + u.name.upper(), "hard": _rlim(u.hard), "soft": _rlim(u.soft)}
                              for u in hc.resources.ulimits]
    if hc.security.no_new_privileges:
        process["noNewPrivileges"] = True
    process["oomScoreAdj"] = hc.oom_score_adj

    mounts = build_mounts(options, img, container_dir=container_dir, volume_sources=volume_sources,
                          joined=joined, init_path=init_path if use_init else None)

    sysctl: dict[str, str] = {}
    if cfg.domainname:
        sysctl["kernel.domainname"] = cfg.domainname
    if hc.network_kind in ("bridge", "none", "user"):
        sysctl.update(d.NETWORK_SYSCTLS)
    sysctl.update(hc.sysctls)

    devices, device_rules = build_devices(hc, facts)
    resources = {"devices": device_rules, **build_resources(hc.resources, facts)}
    parent = hc.resources.cgroup_parent or d.CGROUP_PARENT
    linux: dict[str, Any] = {}
    if sysctl:
        linux["sysctl"] = dict(sorted(sysctl.items()))
    linux["resources"] = resources
    linux["cgroupsPath"] = cgroups_path or posixpath.join(parent, container_id)
    linux["namespaces"] = build_namespaces(options, netns_path=netns_path, joined=joined, facts=facts)
    seccomp = seccomp_json(hc, caps, arch, facts)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    if devices:
        linux["devices"] = devices
    if not hc.privileged:
        linux["maskedPaths"] = [*d.MASKED_PATHS, *facts.thermal_throttle]
        linux["readonlyPaths"] = list(d.READONLY_PATHS)
    propagation = rootfs_propagation(mounts)
    if propagation:
        linux["rootfsPropagation"] = propagation

    spec: dict[str, Any] = {
        "ociVersion": d.OCI_VERSION,
        "process": process,
        "root": {"path": rootfs, "readonly": hc.read_only} if hc.read_only else {"path": rootfs},
    }
    if hc.uts_mode.kind != "host":
        spec["hostname"] = hostname
    spec["mounts"] = mounts
    if hc.annotations:
        spec["annotations"] = dict(hc.annotations)
    if reaper:  # our runtime stays as PID 1 itself
        spec["annotations"] = {**spec.get("annotations", {}), REAPER_ANNOTATION: "reaper"}
    spec["linux"] = linux
    return spec


def _rlim(value: int) -> int:
    """-1 (unlimited) is RLIM_INFINITY as an unsigned 64-bit number."""
    return 2**64 - 1 if value < 0 else value


__all__ = [
    "build_devices", "build_mounts", "build_namespaces", "build_resources", "build_spec", "capabilities_json",
    "container_env", "default_hostname", "effective_caps", "merge_env", "merge_tmpfs_options",
    "parse_device_cgroup_rule", "replace_or_append_env", "resolve_command", "rootfs_propagation",
    "seccomp_json", "tmpfs_data", "user_mounts",
]

"""The runtime-spec config.json as typed, frozen values, checked while parsed.

Parsing doubles as validation against the parts of the OCI schema the runtime uses: the first
error names its JSON path (``$.linux.namespaces[1].type``), as a schema validator would.
"""

from __future__ import annotations

from types import MappingProxyType

from dockyard.errors import InvalidArgument
from dockyard.runtime._json import Node, opt_bool, opt_int, opt_str, opt_strs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from dataclasses import dataclass, field
else:
    from dockyard.runtime._record import field
    from dockyard.runtime._record import record as dataclass

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
PROPAGATIONS = ("private", "shared", "slave", "unbindable", "rprivate", "rshared", "rslave", "runbindable", "")
_U32 = 0xFFFFFFFF
_I64 = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Mount:
    destination: str
    type: str = ""
    source: str = ""
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class User:
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Capabilities:
    bounding: tuple[str, ...] = ()
    effective: tuple[str, ...] = ()
    inheritable: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rlimit:
    type: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class Process:
    args: tuple[str, ...]
    cwd: str = "/"
    env: tuple[str, ...] = ()
    terminal: bool = False
    console_size: tuple[int, int] | None = None  # (height, width)
    user: User = User()
    capabilities: Capabilities | None = None
    rlimits: tuple[Rlimit, ...] = ()
    no_new_privileges: bool = False
    oom_score_adj: int | None = None


@dataclass(frozen=True, slots=True)
class Namespace:
    type: str
    path: str = ""


@dataclass(frozen=True, slots=True)
class IdMapping:
    container_id: int
    host_id: int
    size: int


@dataclass(frozen=True, slots=True)
class Device:
    type: str
    path: str
    major: int = 0
    minor: int = 0
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceRule:
    allow: bool
    type: str = "a"
    major: int | None = None
    minor: int | None = None
    access: str = "rwm"


@dataclass(frozen=True, slots=True)
class ThrottleDevice:
    major: int
    minor: int
    rate: int


@dataclass(frozen=True, slots=True)
class Memory:
    limit: int | None = None
    reservation: int | None = None
    swap: int | None = None
    kernel: int | None = None
    kernel_tcp: int | None = None
    swappiness: int | None = None
    disable_oom_killer: bool | None = None


@dataclass(frozen=True, slots=True)
class Cpu:
    shares: int | None = None
    quota: int | None = None
    burst: int | None = None
    period: int | None = None
    realtime_runtime: int | None = None
    realtime_period: int | None = None
    cpus: str = ""
    mems: str = ""
    idle: int | None = None


@dataclass(frozen=True, slots=True)
class BlockIO:
    weight: int | None = None
    leaf_weight: int | None = None
    throttle_read_bps: tuple[ThrottleDevice, ...] = ()
    throttle_write_bps: tuple[ThrottleDevice, ...] = ()
    throttle_read_iops: tuple[ThrottleDevice, ...] = ()
    throttle_write_iops: tuple[ThrottleDevice, ...] = ()


@dataclass(frozen=True, slots=True)
class HugepageLimit:
    page_size: str
    limit: int


@dataclass(frozen=True, slots=True)
class Resources:
    memory: Memory = Memory()
    cpu: Cpu = Cpu()
    pids_limit: int | None = None
    block_io: BlockIO = BlockIO()
    devices: tuple[DeviceRule, ...] = ()
    hugepage_limits: tuple[HugepageLimit, ...] = ()
    unified: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class SeccompArg:
    index: int
    value: int
    op: str
    value_two: int = 0


@dataclass(frozen=True, slots=True)
class SeccompSyscall:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[SeccompArg, ...] = ()


@dataclass(frozen=True, slots=True)
class Seccomp:
    default_action: str
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    syscalls: tuple[SeccompSyscall, ...] = ()


@dataclass(frozen=True, slots=True)
class Hook:
    path: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    timeout: int | None = None


@dataclass(frozen=True, slots=True)
class Hooks:
    prestart: tuple[Hook, ...] = ()
    create_runtime: tuple[Hook, ...] = ()
    create_container: tuple[Hook, ...] = ()
    start_container: tuple[Hook, ...] = ()
    poststart: tuple[Hook, ...] = ()
    poststop: tuple[Hook, ...] = ()


@dataclass(frozen=True, slots=True)
class Linux:
    namespaces: tuple[Namespace, ...] = ()
    uid_mappings: tuple[IdMapping, ...] = ()
    gid_mappings: tuple[IdMapping, ...] = ()
    devices: tuple[Device, ...] = ()
    cgroups_path: str = ""
    resources: Resources = Resources()
    rootfs_propagation: str = ""
    seccomp: Seccomp | None = None
    sysctl: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    personality_domain: str = ""
    time_offsets: Mapping[str, tuple[int, int]] = field(default_factory=lambda: MappingProxyType({}))

    def namespace(self, kind: str) -> Namespace | None:
        for ns in self.namespaces:
            if ns.type == kind:
                return ns
        return None


@dataclass(frozen=True, slots=True)
class Spec:
    oci_version: str
    root_path: str = ""
    root_readonly: bool = False
    hostname: str = ""
    domainname: str = ""
    mounts: tuple[Mount, ...] = ()
    process: Process | None = None
    hooks: Hooks = Hooks()
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    linux: Linux = Linux()


def parse_spec(data: bytes | str) -> Spec:
    from dockyard.runtime import jsonfast

    try:
        raw = jsonfast.loads(data)
    except ValueError as exc:
        raise InvalidArgument(f"config.json: invalid JSON: {exc}") from exc
    return spec_from_node(Node(raw))


def spec_from_node(top: Node) -> Spec:
    top.obj()
    root = top.get("root")
    linux = top.get("linux")
    hooks = top.get("hooks")
    process = top.get("process")
    return Spec(
        oci_version=top.need("ociVersion").text(),
        root_path=root.need("path").text() if root else "",
        root_readonly=opt_bool(root, "readonly") if root else False,
        hostname=opt_str(top, "hostname"),
        domainname=opt_str(top, "domainname"),
        mounts=tuple(_mount(n) for n in top.get("mounts").items()) if top.has("mounts") else (),  # type: ignore[union-attr]
        process=_process(process) if process else None,
        hooks=_hooks(hooks) if hooks else Hooks(),
        annotations=MappingProxyType(top.get("annotations").str_map()) if top.has("annotations") else MappingProxyType({}),  # type: ignore[union-attr]
        linux=_linux(linux) if linux else Linux(),
    )


def _list(node: Node, key: str) -> list[Node]:
    child = node.get(key)
    return [] if child is None else child.items()


def _mount(n: Node) -> Mount:
    dest = n.need("destination").text()
    return Mount(destination=dest, type=opt_str(n, "type"), source=opt_str(n, "source"),
                 options=opt_strs(n, "options"))


def _process(n: Node) -> Process:
    user = n.get("user")
    caps = n.get("capabilities")
    size = n.get("consoleSize")
    args = opt_strs(n, "args")
    cwd = n.need("cwd").text()
    if not cwd.startswith("/"):
        raise Node(cwd, f"{n.path}.cwd").fail("cwd must be an absolute path")
    return Process(
        args=args, cwd=cwd, env=opt_strs(n, "env"), terminal=opt_bool(n, "terminal"),
        console_size=(size.need("height").integer(0, _U32), size.need("width").integer(0, _U32)) if size else None,
        user=User(uid=user.need("uid").integer(0, _U32), gid=user.need("gid").integer(0, _U32),
                  umask=opt_int(user, "umask", 0, _U32),
                  additional_gids=tuple(g.integer(0, _U32) for g in _list(user, "additionalGids")))
        if user else User(),
        capabilities=Capabilities(
            bounding=opt_strs(caps, "bounding"), effective=opt_strs(caps, "effective"),
            inheritable=opt_strs(caps, "inheritable"), permitted=opt_strs(caps, "permitted"),
            ambient=opt_strs(caps, "ambient")) if caps else None,
        rlimits=tuple(Rlimit(type=r.need("type").text(), soft=r.need("soft").integer(0, 2**64 - 1),
                             hard=r.need("hard").integer(0, 2**64 - 1)) for r in _list(n, "rlimits")),
        no_new_privileges=opt_bool(n, "noNewPrivileges"),
        oom_score_adj=opt_int(n, "oomScoreAdj", -1000, 1000),
    )


def _hook_list(n: Node, key: str) -> tuple[Hook, ...]:
    return tuple(Hook(path=h.need("path").text(), args=opt_strs(h, "args"), env=opt_strs(h, "env"),
                      timeout=opt_int(h, "timeout", 1)) for h in _list(n, key))


def _hooks(n: Node) -> Hooks:
    return Hooks(prestart=_hook_list(n, "prestart"), create_runtime=_hook_list(n, "createRuntime"),
                 create_container=_hook_list(n, "createContainer"),
                 start_container=_hook_list(n, "startContainer"),
                 poststart=_hook_list(n, "poststart"), poststop=_hook_list(n, "poststop"))


def _idmaps(n: Node, key: str) -> tuple[IdMapping, ...]:
    return tuple(IdMapping(container_id=m.need("containerID").integer(0, _U32), host_id=m.need("hostID").integer(0, _U32),
                           size=m.need("size").integer(0, _U32)) for m in _list(n, key))


def _throttle(n: Node, key: str) -> tuple[ThrottleDevice, ...]:
    return tuple(ThrottleDevice(major=t.need("major").integer(), minor=t.need("minor").integer(),
                                rate=t.need("rate").integer(0)) for t in _list(n, key))


def _resources(n: Node) -> Resources:
    mem = n.get("memory")
    cpu = n.get("cpu")
    pids = n.get("pids")
    blk = n.get("blockIO")
    return Resources(
        memory=Memory(limit=opt_int(mem, "limit"), reservation=opt_int(mem, "reservation"),
                      swap=opt_int(mem, "swap"), kernel=opt_int(mem, "kernel"),
                      kernel_tcp=opt_int(mem, "kernelTCP"), swappiness=opt_int(mem, "swappiness", 0),
                      disable_oom_killer=mem.get("disableOOMKiller").boolean() if mem.has("disableOOMKiller") else None)  # type: ignore[union-attr]
        if mem else Memory(),
        cpu=Cpu(shares=opt_int(cpu, "shares", 0), quota=opt_int(cpu, "quota"), burst=opt_int(cpu, "burst", 0),
                period=opt_int(cpu, "period", 0), realtime_runtime=opt_int(cpu, "realtimeRuntime"),
                realtime_period=opt_int(cpu, "realtimePeriod", 0), cpus=opt_str(cpu, "cpus"),
                mems=opt_str(cpu, "mems"), idle=opt_int(cpu, "idle"))
        if cpu else Cpu(),
        pids_limit=pids.need("limit").integer() if pids else None,
        block_io=BlockIO(weight=opt_int(blk, "weight", 0, 1000), leaf_weight=opt_int(blk, "leafWeight", 0, 1000),
                         throttle_read_bps=_throttle(blk, "throttleReadBpsDevice"),
                         throttle_write_bps=_throttle(blk, "throttleWriteBpsDevice"),
                         throttle_read_iops=_throttle(blk, "throttleReadIOPSDevice"),
                         throttle_write_iops=_throttle(blk, "throttleWriteIOPSDevice"))
        if blk else BlockIO(),
        devices=tuple(DeviceRule(allow=d.need("allow").boolean(), type=_dev_rule_type(d),
                                 major=opt_int(d, "major"), minor=opt_int(d, "minor"),
                                 access=opt_str(d, "access", "rwm")) for d in _list(n, "devices")),
        hugepage_limits=tuple(HugepageLimit(page_size=h.need("pageSize").text(), limit=h.need("limit").integer(0))
                              for h in _list(n, "hugepageLimits")),
        unified=MappingProxyType(n.get("unified").str_map()) if n.has("unified") else MappingProxyType({}),  # type: ignore[union-attr]
    )


def _dev_rule_type(d: Node) -> str:
    t = d.get("type")
    return "a" if t is None else t.enum(("a", "b", "c"))


_SECCOMP_ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY")
_SECCOMP_OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                "SCMP_CMP_MASKED_EQ")


def _seccomp(n: Node) -> Seccomp:
    return Seccomp(
        default_action=n.need("defaultAction").enum(_SECCOMP_ACTIONS),
        default_errno_ret=opt_int(n, "defaultErrnoRet", 0, _U32),
        architectures=opt_strs(n, "architectures"), flags=opt_strs(n, "flags"),
        syscalls=tuple(SeccompSyscall(
            names=s.need("names").strs(), action=s.need("action").enum(_SECCOMP_ACTIONS),
            errno_ret=opt_int(s, "errnoRet", 0, _U32),
            args=tuple(SeccompArg(index=a.need("index").integer(0, 5), value=a.need("value").integer(0, 2**64 - 1),
                                  value_two=opt_int(a, "valueTwo", 0, 2**64 - 1) or 0,
                                  op=a.need("op").enum(_SECCOMP_OPS)) for a in _list(s, "args")))
            for s in _list(n, "syscalls")),
    )


def _device(d: Node) -> Device:
    kind = d.need("type").enum(("c", "b", "u", "p"))
    return Device(type=kind, path=d.need("path").text(), major=opt_int(d, "major") or 0,
                  minor=opt_int(d, "minor") or 0, file_mode=opt_int(d, "fileMode", 0, 0o7777),
                  uid=opt_int(d, "uid", 0, _U32), gid=opt_int(d, "gid", 0, _U32))


def _linux(n: Node) -> Linux:
    namespaces = []
    seen: set[str] = set()
    for ns in _list(n, "namespaces"):
        kind = ns.need("type").enum(NAMESPACE_TYPES)
        if kind in seen:
            raise ns.fail(f"duplicate namespace type {kind!r}")
        seen.add(kind)
        namespaces.append(Namespace(type=kind, path=opt_str(ns, "path")))
    personality = n.get("personality")
    offsets: dict[str, tuple[int, int]] = {}
    if n.has("timeOffsets"):
        node = n.need("timeOffsets")
        for key in node.obj():
            entry = node.need(key)
            offsets[key] = (opt_int(entry, "secs") or 0, opt_int(entry, "nanosecs") or 0)
    resources = n.get("resources")
    seccomp = n.get("seccomp")
    sysctl = n.get("sysctl")
    return Linux(
        namespaces=tuple(namespaces), uid_mappings=_idmaps(n, "uidMappings"), gid_mappings=_idmaps(n, "gidMappings"),
        devices=tuple(_device(d) for d in _list(n, "devices")), cgroups_path=opt_str(n, "cgroupsPath"),
        resources=_resources(resources) if resources else Resources(),
        rootfs_propagation=n.get("rootfsPropagation").enum(PROPAGATIONS) if n.has("rootfsPropagation") else "",  # type: ignore[union-attr]
        seccomp=_seccomp(seccomp) if seccomp else None,
        sysctl=MappingProxyType(sysctl.str_map()) if sysctl else MappingProxyType({}),
        masked_paths=opt_strs(n, "maskedPaths"), readonly_paths=opt_strs(n, "readonlyPaths"),
        personality_domain=personality.need("domain").enum(("LINUX", "LINUX32")) if personality else "",
        time_offsets=MappingProxyType(offsets),
    )

"""OCI bundles, a probe and runtime drivers for the differential runtime suite.

The same bundle is run under ``runc`` (the reference) and ``dockyard-runtime``; a busybox shell
script inside the container prints the observable state (credentials, capabilities, mounts, maps,
cgroup limits, rlimits, environment, seccomp, sysctls...) and the two outputs must match after
normalising what legitimately differs between two runs (ids, paths, inode numbers).

    rt = Runtime.get("runc", tmp_path / "state")
    bundle = build_bundle(tmp_path / "b", VARIANTS["default"], ctx)
    res = rt.run(bundle, "cid-1")
"""

from __future__ import annotations

import array
import copy
import functools
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUSYBOX = Path("/bin/busybox")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
DOCKYARD_RUNTIME = "dockyard-runtime"

# Docker's default capability set (moby oci/caps/defaults.go), 14 capabilities.
DOCKER_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

USERNS_HOST_ID = 100000
USERNS_SIZE = 65536

# --------------------------------------------------------------------------------------------
# rootfs


def _write_rootfs(dest: Path) -> None:
    dest.mkdir(parents=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root",
              "home/tester", "mnt", "var", "run"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    os.chown(dest / "home/tester", 1000, 1000)
    shutil.copy2(BUSYBOX, dest / "bin/busybox")
    listing = subprocess.run([str(BUSYBOX), "--list-full"], capture_output=True, text=True, check=True)
    for rel in listing.stdout.split():
        link = dest / rel
        if rel == "bin/busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")
    (dest / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "tester:x:1000:1000:tester:/home/tester:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    )
    (dest / "etc/group").write_text(
        "root:x:0:\nwheel:x:10:\nusers:x:100:\ntester:x:1000:\nnogroup:x:65534:\n"
    )
    (dest / "etc/hostname").write_text("rootfs\n")
    (dest / "probe.sh").write_text(PROBE_SCRIPT)
    os.chmod(dest / "probe.sh", 0o755)


_template_lock = threading.Lock()
_template: Path | None = None


def rootfs_template() -> Path:
    """A busybox rootfs built once per test process; bundles get copies of it."""
    global _template
    with _template_lock:
        if _template is None or not _template.exists():
            base = Path(tempfile.mkdtemp(prefix="dockyard-rdiff-"))
            _write_rootfs(base / "rootfs")
            _template = base / "rootfs"
        return _template


def copy_rootfs(dest: Path, shift: int = 0) -> None:
    """Copy the template to ``dest``; ``shift`` adds to every owner (user-namespace bundles)."""
    shutil.copytree(rootfs_template(), dest, symlinks=True)
    if shift:
        for dirpath, dirnames, filenames in os.walk(dest):
            for name in [*dirnames, *filenames, ""]:
                p = os.path.join(dirpath, name) if name else dirpath
                st = os.lstat(p)
                os.lchown(p, st.st_uid + shift, st.st_gid + shift)
                if not os.path.islink(p):
                    os.chmod(p, st.st_mode & 0o7777)  # chown clears set-id bits; keep modes


# --------------------------------------------------------------------------------------------
# the probe

PROBE_SCRIPT = r"""#!/bin/sh
# Prints the observable state of this container; the host side normalises ids and paths.
sec() { echo "== $1"; }
sec status
grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):' \
  /proc/self/status | tr -s '\t ' ' '
sec maps
echo "uid_map: $(awk '{ print $1, $2, $3 }' /proc/self/uid_map)"
echo "gid_map: $(awk '{ print $1, $2, $3 }' /proc/self/gid_map)"
sec ns
for n in cgroup ipc mnt net pid user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done
sec mounts
# mount point, per-mount options, propagation tags, fs type, super options. Mount ids, parent ids,
# device numbers, the root within the source fs and the source are dropped: they name host paths
# and counters that differ between any two containers. Sorted: the order of independent mounts is
# an implementation detail (overlapping mounts show up as distinct mount points anyway).
awk '{ opt=""; i=7; while ($i != "-") { t=$i; sub(/:[0-9]+$/, "", t); opt=opt " " t; i++ }
       print $5, $6, "[" opt " ]", $(i+1), $(i+3) }' /proc/self/mountinfo | sort
sec dev
for f in /dev/* /dev/pts/* /dev/mqueue /dev/shm; do
  stat -c '%n %F %a %t:%T %u:%g' "$f" 2>&1
done | sed 's/character special file/char/; s/symbolic link/symlink/'
sec devlinks
for f in /dev/*; do [ -L "$f" ] && echo "$f -> $(readlink "$f")"; done
sec cgroup
# the cgroup paths contain the cgroupsPath, which the host side replaces by a placeholder
cat /proc/self/cgroup | sort
for f in memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes \
         memory/memory.memsw.limit_in_bytes memory/memory.swappiness memory/memory.oom_control \
         pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us \
         cpuset/cpuset.cpus cpuset/cpuset.mems devices/devices.list; do
  if [ -r /sys/fs/cgroup/$f ]; then
    # sorted: devices.list keeps rules in insertion order, which carries no meaning here;
    # oom_control's live counters are left out
    echo "$f: $(grep -v -e under_oom -e oom_kill /sys/fs/cgroup/$f | sort | tr '\n' ' ')"
  else
    echo "$f: unreadable"
  fi
done
sec process
echo "id: $(id)"
echo "pwd: $(pwd)"
echo "umask: $(umask)"
echo "hostname: $(hostname)"
echo "domainname: $(cat /proc/sys/kernel/domainname)"
echo "oom_score_adj: $(cat /proc/self/oom_score_adj)"
# the listing goes to a file first: inside $(...) or a pipeline, busybox sh may still hold the
# write end of its own pipe (fd 4) when ls looks, a race seen under either runtime. A file
# redirect is done in the child, so the shell's fds are exactly the inherited ones.
ls /proc/$$/fd > /dev/shm/.probe-fds
echo "fds: $(sort -n /dev/shm/.probe-fds | tr '\n' ' ')"
rm -f /dev/shm/.probe-fds
# (stdin itself is not printed: runc's foreground `run` relays stdio through its own pipes, another
# runtime may hand over the caller's fds; both deliver the same stream)
sec env
env | sort
sec ulimit
ulimit -a
sec sysctl
for s in net/ipv4/ip_forward net/ipv4/ping_group_range kernel/shmmax kernel/msgmax; do
  echo "$s: $(cat /proc/sys/$s 2>&1 | tr -s '\t ' ' ')"
done
sec netdev
# veths and test bridges (dy*) come and go with whatever else runs on the host: left out
tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | grep -v -e '^veth' -e '^dy' | sort | tr '\n' ' '; echo
sec sysvipc
# segment sizes only: keys are random (ipcmk) and ids are per namespace counters
awk 'NR > 1 { print "shm size", $4 }' /proc/sysvipc/shm | sort
sec masked
for p in /proc/keys /proc/timer_list /proc/acpi /sys/firmware /proc/kcore /proc/sysrq-trigger; do
  # readable content or not (0/1): the size of an unmasked file depends on the moment
  echo "$p: $(stat -c '%F %t:%T' $p 2>&1) data=$(cat $p 2>/dev/null | head -c 1 | wc -c) entries=$(ls $p 2>/dev/null | wc -l)"
done
sec writes
touch /.probe-rw 2>&1 && echo "rootfs: writable"
(echo probe.write > /proc/sys/kernel/domainname) 2>&1 | sed "s/.*: //"
sec syscalls
# errors of syscalls a seccomp profile may block; the messages carry the errno text
linux32 true 2>&1; echo "linux32 rc=$?"
nc -w 1 ::1 1 </dev/null 2>&1 | head -1
mkdir /tmp/probe-dir 2>&1; echo "mkdir rc=$?"
"""


# --------------------------------------------------------------------------------------------
# bundles


@dataclass
class Ctx:
    """What variants may need: a scratch dir, the helper's pid for joined namespaces, a token."""

    tmp: Path
    token: str
    helper_pid: int | None = None
    hooks_dir: Path | None = None
    cleanup: list[Path] = field(default_factory=list)

    def remove(self) -> None:
        for p in self.cleanup:
            shutil.rmtree(p, ignore_errors=True)


@dataclass
class Variant:
    name: str
    mutate: Callable[[dict[str, Any], Ctx], None]
    extra_probe: str = ""
    rootfs_shift: int = 0
    # the rootfs must be reachable by the container's (mapped) root: pytest's base temp dir is
    # 0700, so such a rootfs lives in a 0711 directory under /tmp instead, removed by the caller
    rootfs_outside: bool = False
    needs_helper: bool = False
    doc: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


@functools.cache
def runc_default_spec() -> str:
    """`runc spec`'s default config.json (Docker-like namespaces, mounts, masked paths)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([RUNC, "spec", "--bundle", d], check=True, capture_output=True)
        return Path(d, "config.json").read_text()


def base_spec(ctx: Ctx) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(runc_default_spec())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["sh", "/probe.sh"]
    spec["process"]["env"].append("PROBE=1")
    spec["linux"]["cgroupsPath"] = f"/rdiff-{ctx.token}"
    return spec


def build_bundle(bundle: Path, variant: Variant, ctx: Ctx) -> Path:
    bundle.mkdir(parents=True, exist_ok=True)
    rootfs = bundle / "rootfs"
    if variant.rootfs_outside:
        outside = Path(tempfile.mkdtemp(prefix="rdiff-rootfs-"))
        os.chmod(outside, 0o711)
        ctx.cleanup.append(outside)
        rootfs = outside / "rootfs"
    copy_rootfs(rootfs, variant.rootfs_shift)
    if variant.extra_probe:
        with open(rootfs / "probe.sh", "a") as f:
            f.write("sec extra\n" + variant.extra_probe + "\n")
    spec = base_spec(ctx)
    if variant.rootfs_outside:
        spec["root"]["path"] = str(rootfs)
    variant.mutate(spec, ctx)
    (bundle / "config.json").write_text(json.dumps(spec, indent=1))
    return bundle


def write_config(bundle: Path, spec: dict[str, Any]) -> None:
    (bundle / "config.json").write_text(json.dumps(spec, indent=1))


def _caps(spec: dict[str, Any], **sets: list[str]) -> None:
    caps = spec["process"].setdefault("capabilities", {})
    for k in ("bounding", "effective", "permitted", "inheritable", "ambient"):
        caps[k] = list(sets.get(k, []))


def _docker_caps(spec: dict[str, Any], extra: tuple[str, ...] = ()) -> None:
    c = DOCKER_CAPS + list(extra)
    _caps(spec, bounding=c, effective=c, permitted=c)


def _ns(spec: dict[str, Any], kind: str, path: str | None = None, remove: bool = False) -> None:
    nss = [n for n in spec["linux"]["namespaces"] if n["type"] != kind]
    if not remove:
        nss.append({"type": kind, **({"path": path} if path else {})})
    spec["linux"]["namespaces"] = nss


def _resources(spec: dict[str, Any], **res: Any) -> None:
    spec["linux"].setdefault("resources", {}).update(res)


def _v_default(spec: dict[str, Any], ctx: Ctx) -> None:
    pass


def _v_docker_caps(spec: dict[str, Any], ctx: Ctx) -> None:
    _docker_caps(spec)


def _v_caps_empty(spec: dict[str, Any], ctx: Ctx) -> None:
    _caps(spec)


def _v_caps_net_admin(spec: dict[str, Any], ctx: Ctx) -> None:
    _docker_caps(spec, ("CAP_NET_ADMIN",))


def _v_caps_bounding_ne_effective(spec: dict[str, Any], ctx: Ctx) -> None:
    # non-root user so that execve does not refill the permitted set from the bounding set
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    _caps(spec, bounding=DOCKER_CAPS, effective=["CAP_CHOWN", "CAP_KILL"],
          permitted=["CAP_CHOWN", "CAP_KILL"], inheritable=["CAP_KILL"], ambient=["CAP_KILL"])


def _v_rlimits(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 8192},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 600},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608},
    ]


def _v_hostname(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["hostname"] = "probe-host"
    # "domainname" is left out: runc 1.1 (the Debian 12 reference) ignores it, so a runtime
    # that honours it would differ from the reference for the right reason


def _v_user_env_cwd(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 100]}
    spec["process"]["cwd"] = "/home/tester"
    spec["process"]["env"] += ["FOO=bar baz", "HOME=/home/tester", "EMPTY="]


def _v_umask(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["process"]["user"]["umask"] = 0o077


def _v_nnp_false(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["process"]["noNewPrivileges"] = False


def _v_oom_score_adj(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["process"]["oomScoreAdj"] = 500


def _v_sysctl(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["linux"]["sysctl"] = {
        "net.ipv4.ip_forward": "1",
        "net.ipv4.ping_group_range": "0 1000",
        "kernel.shmmax": "68719476736",
        "kernel.msgmax": "16384",
    }


def _v_tmpfs(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["root"]["readonly"] = False
    spec["mounts"] += [
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=1700"]},
        {"destination": "/run/owned", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=512k", "mode=750", "uid=1000", "gid=1000"]},
    ]


def _v_bind(spec: dict[str, Any], ctx: Ctx) -> None:
    host = ctx.tmp / "bind-src"
    host.mkdir(exist_ok=True)
    (host / "hello").write_text("from host\n")
    spec["mounts"] += [
        {"destination": "/mnt/rw", "type": "bind", "source": str(host),
         "options": ["rbind", "rw", "nosuid", "nodev", "noexec"]},
        {"destination": "/mnt/ro", "type": "bind", "source": str(host),
         "options": ["bind", "ro", "nosuid"]},
        {"destination": "/etc/hostname", "type": "bind", "source": str(host / "hello"),
         "options": ["bind", "ro"]},
    ]


BIND_PROBE = """cat /mnt/ro/hello /etc/hostname
echo new > /mnt/rw/written 2>&1 && echo "rw: ok $(cat /mnt/ro/written)"
echo new > /mnt/ro/x 2>&1 || echo "ro: refused"
cp /bin/busybox /mnt/rw/bb && { /mnt/rw/bb true 2>&1; echo "noexec rc=$?"; }
rm -f /mnt/rw/bb /mnt/rw/written
"""


def _v_rootfs_rw(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["root"]["readonly"] = False


def _v_masked(spec: dict[str, Any], ctx: Ctx) -> None:
    # paths present on this kernel plus ones it lacks (which must be skipped silently)
    spec["linux"]["maskedPaths"] = ["/proc/keys", "/proc/timer_list", "/proc/acpi", "/sys/firmware",
                                    "/proc/kcore", "/proc/scsi", "/proc/does-not-exist"]
    spec["linux"]["readonlyPaths"] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger", "/proc/version"]


def _v_no_masks(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["linux"].pop("maskedPaths", None)
    spec["linux"].pop("readonlyPaths", None)


def _v_userns(spec: dict[str, Any], ctx: Ctx) -> None:
    _ns(spec, "user")
    m = [{"containerID": 0, "hostID": USERNS_HOST_ID, "size": USERNS_SIZE}]
    spec["linux"]["uidMappings"] = m
    spec["linux"]["gidMappings"] = copy.deepcopy(m)
    # a cgroup v1 hierarchy cannot be mounted from inside the user namespace; Docker binds it
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/sys/fs/cgroup"]


def _v_joined(spec: dict[str, Any], ctx: Ctx) -> None:
    assert ctx.helper_pid
    for kind, nsname in (("network", "net"), ("ipc", "ipc"), ("uts", "uts")):
        _ns(spec, kind, f"/proc/{ctx.helper_pid}/ns/{nsname}")
    spec.pop("hostname", None)  # a hostname needs a new UTS namespace


def _v_host_net_ipc(spec: dict[str, Any], ctx: Ctx) -> None:
    _ns(spec, "network", remove=True)
    _ns(spec, "ipc", remove=True)
    # /sys of the host's network namespace may only be bound, not mounted fresh; drop it
    spec["mounts"] = [m for m in spec["mounts"] if not m["destination"].startswith("/sys")]
    spec["linux"]["maskedPaths"] = [p for p in spec["linux"]["maskedPaths"] if not p.startswith("/sys")]


def _v_cgroupns(spec: dict[str, Any], ctx: Ctx) -> None:
    _ns(spec, "cgroup")


def _v_memory(spec: dict[str, Any], ctx: Ctx) -> None:
    _resources(spec, memory={"limit": 64 << 20, "reservation": 32 << 20, "swap": 96 << 20,
                             "swappiness": 10})


def _v_pids(spec: dict[str, Any], ctx: Ctx) -> None:
    _resources(spec, pids={"limit": 64})


def _v_cpu(spec: dict[str, Any], ctx: Ctx) -> None:
    _resources(spec, cpu={"shares": 512, "quota": 50000, "period": 100000})


def _v_cpuset(spec: dict[str, Any], ctx: Ctx) -> None:
    _resources(spec, cpu={"cpus": "0", "mems": "0"})


def _v_devices(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["linux"]["devices"] = [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666, "uid": 0, "gid": 0},
    ]
    spec["linux"]["resources"]["devices"] = [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
    ]


def _v_seccomp(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            # personality(2) only for the query value, as in Docker's profile
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 0, "value": 0xFFFFFFFF, "op": "SCMP_CMP_NE"}]},
            # no IPv6 sockets: EAFNOSUPPORT
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
        ],
    }


def _v_seccomp_masked(spec: dict[str, Any], ctx: Ctx) -> None:
    _v_seccomp(spec, ctx)
    spec["linux"]["seccomp"]["syscalls"].append(
        # uname(2) masked with its argument's low byte: SCMP_CMP_MASKED_EQ on a pointer is
        # effectively never equal to 0xff, so the rule must not fire
        {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 0, "value": 0xFF, "valueTwo": 0xFF, "op": "SCMP_CMP_MASKED_EQ"}]})
    spec["linux"]["seccomp"]["syscalls"].append(
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO"})  # errnoRet omitted: EPERM


def _v_ambient_user(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    c = ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
    _caps(spec, bounding=DOCKER_CAPS, effective=c, permitted=c, inheritable=c, ambient=c)


def _v_docker_like(spec: dict[str, Any], ctx: Ctx) -> None:
    """Close to what Docker generates: caps, rw rootfs, shm size, oom, rlimits, hostname."""
    _docker_caps(spec)
    spec["root"]["readonly"] = False
    spec["hostname"] = "0123456789ab"
    spec["process"]["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "HOSTNAME=0123456789ab"]
    # Docker asks for 1048576; without CAP_SYS_RESOURCE (absent here) the hard limit cannot rise
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    n = 1048576 if hard == resource.RLIM_INFINITY else min(1048576, hard)
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": n, "hard": n}]
    spec["process"]["oomScoreAdj"] = 0
    for m in spec["mounts"]:
        if m["destination"] == "/dev/shm":
            m["options"] = ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    spec["linux"]["maskedPaths"] += ["/proc/interrupts"]


def _v_propagation(spec: dict[str, Any], ctx: Ctx) -> None:
    spec["linux"]["rootfsPropagation"] = "rslave"
    spec["mounts"].append({"destination": "/mnt/priv", "type": "tmpfs", "source": "tmpfs",
                           "options": ["rprivate", "size=64k"]})


def _v_hooks(spec: dict[str, Any], ctx: Ctx) -> None:
    assert ctx.hooks_dir
    hooks: dict[str, list[dict[str, Any]]] = {}
    log = ctx.hooks_dir / "hooks.log"
    for kind in ("prestart", "createRuntime", "startContainer", "poststart", "poststop"):
        hooks[kind] = [{
            "path": "/bin/sh",
            # startContainer runs inside the container (after pivot_root, so /bin/sh is busybox):
            # it logs to /dev/shm, which the probe prints
            # (the state's JSON layout and extra fields are the runtime's own: only its id is kept)
            "args": ["sh", "-c",
                     f'echo "{kind} $HOOKVAR $0 $1 $(tr -d \' \' | grep -o \'"id":"[^"]*"\')" >> /dev/shm/hook.log'
                     if kind == "startContainer" else f'echo "{kind} $HOOKVAR $0 $1 $(cat)" >> "{log}"',
                     "a1", "a2"],
            "env": ["HOOKVAR=hooked"],
            "timeout": 10,
        }]
    spec["hooks"] = hooks


# Names are stable test ids; keep them short.
VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("default", _v_default, doc="runc spec's default, process = probe"),
    Variant("docker_caps", _v_docker_caps, doc="Docker's 14 default capabilities"),
    Variant("caps_empty", _v_caps_empty),
    Variant("caps_net_admin", _v_caps_net_admin),
    Variant("caps_bounding_ne_effective", _v_caps_bounding_ne_effective),
    Variant("caps_ambient_user", _v_ambient_user),
    Variant("rlimits", _v_rlimits),
    Variant("hostname", _v_hostname),
    Variant("user_env_cwd", _v_user_env_cwd),
    Variant("umask", _v_umask),
    Variant("no_new_privs_false", _v_nnp_false),
    Variant("oom_score_adj", _v_oom_score_adj),
    Variant("sysctls", _v_sysctl),
    Variant("tmpfs_mounts", _v_tmpfs,
            extra_probe="touch /scratch/f && ls -ld /scratch | cut -c1-10; ls -ln /run | grep owned | cut -c1-30"),
    Variant("bind_mounts", _v_bind, extra_probe=BIND_PROBE),
    Variant("rootfs_rw", _v_rootfs_rw),
    Variant("masked_readonly_paths", _v_masked),
    Variant("no_masked_paths", _v_no_masks),
    Variant("userns_maps", _v_userns, rootfs_shift=USERNS_HOST_ID, rootfs_outside=True,
            extra_probe="ls -ln /probe.sh | cut -c1-30; ls -ln /proc/1/exe 2>&1 | cut -c1-30"),
    Variant("joined_namespaces", _v_joined, needs_helper=True),
    Variant("host_net_ipc", _v_host_net_ipc),
    Variant("cgroupns", _v_cgroupns),
    Variant("memory_limit", _v_memory),
    Variant("pids_limit", _v_pids),
    Variant("cpu_quota_shares", _v_cpu),
    Variant("cpuset", _v_cpuset),
    Variant("devices", _v_devices,
            extra_probe="head -c 0 /dev/fuse 2>&1 | sed 's/.*: //'; echo x > /dev/null && echo null ok"),
    Variant("seccomp_args", _v_seccomp),
    Variant("seccomp_masked_eq_default_errno", _v_seccomp_masked,
            extra_probe="uname -s; renice -n 1 $$ 2>&1 | sed 's/.*: //'"),
    Variant("docker_like", _v_docker_like),
    Variant("rootfs_propagation", _v_propagation),
    Variant("hooks", _v_hooks, extra_probe="cat /dev/shm/hook.log"),
]}


# --------------------------------------------------------------------------------------------
# runtimes


@dataclass
class Result:
    rc: int
    out: str
    err: str


@dataclass
class Runtime:
    name: str
    argv0: list[str]
    root: Path

    @classmethod
    def get(cls, name: str, root: Path) -> Runtime:
        argv0 = [RUNC] if name == "runc" else [shutil.which(DOCKYARD_RUNTIME) or DOCKYARD_RUNTIME]
        return cls(name, argv0, root)

    def cmd(self, *args: str) -> list[str]:
        return [*self.argv0, "--root", str(self.root), *args]

    def call(self, *args: str, timeout: float = 30, stdin: Any = subprocess.DEVNULL,
             capture: bool = True) -> Result:
        if not capture:
            p = subprocess.run(self.cmd(*args), stdin=stdin, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=timeout, text=True)
            return Result(p.returncode, "", p.stderr)
        p = subprocess.run(self.cmd(*args), stdin=stdin, capture_output=True, timeout=timeout, text=True)
        return Result(p.returncode, p.stdout, p.stderr)

    def run(self, bundle: Path, cid: str, timeout: float = 30) -> Result:
        try:
            return self.call("run", "--bundle", str(bundle), cid, timeout=timeout)
        finally:
            self.force_delete(cid)

    def force_delete(self, cid: str) -> None:
        subprocess.run(self.cmd("delete", "--force", cid), capture_output=True, timeout=30)

    def state(self, cid: str) -> dict[str, Any] | None:
        p = subprocess.run(self.cmd("state", cid), capture_output=True, text=True, timeout=10)
        if p.returncode != 0:
            return None
        st: dict[str, Any] = json.loads(p.stdout)
        return st

    def wait_stopped(self, cid: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.state(cid)
            if st is None or st.get("status") == "stopped":
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: container {cid} still running after {timeout}s")


def new_id(prefix: str = "rdiff") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@functools.cache
def dockyard_runtime_unavailable() -> str | None:
    """None when dockyard-runtime can run a trivial bundle here, else the reason it cannot."""
    exe = shutil.which(DOCKYARD_RUNTIME)
    if exe is None:
        return "dockyard-runtime is not installed"
    try:
        v = subprocess.run([exe, "features"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"dockyard-runtime features: {e}"
    if v.returncode != 0:
        return f"dockyard-runtime features failed: {(v.stderr or v.stdout).strip()[-300:]}"
    with tempfile.TemporaryDirectory(prefix="rdiff-trial-") as d:
        ctx = Ctx(tmp=Path(d), token=uuid.uuid4().hex[:12])
        bundle = Path(d, "bundle")
        copy_rootfs(bundle / "rootfs")
        spec = base_spec(ctx)
        spec["process"]["args"] = ["true"]
        write_config(bundle, spec)
        rt = Runtime.get("dockyard-runtime", Path(d, "state"))
        cid = new_id("trial")
        try:
            r = rt.run(bundle, cid, timeout=30)
        except subprocess.TimeoutExpired:
            return "dockyard-runtime run of a `true` bundle timed out"
        finally:
            rt.force_delete(cid)
        if r.rc != 0:
            return f"dockyard-runtime cannot run a `true` bundle yet: {r.err.strip()[-300:]}"
    return None


@functools.cache
def dockyard_features() -> dict[str, Any]:
    p = subprocess.run([DOCKYARD_RUNTIME, "features"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        return {}
    try:
        f: dict[str, Any] = json.loads(p.stdout)
        return f
    except ValueError:
        return {}


@functools.cache
def dockyard_has_command(command: str) -> bool:
    p = subprocess.run([DOCKYARD_RUNTIME, command, "--help"], capture_output=True, text=True, timeout=30)
    return p.returncode == 0


NOT_IMPLEMENTED = re.compile(r"not (yet )?implemented|unsupported|not supported|NotImplementedError|"
                             r"invalid choice|unknown (command|option|argument)|"
                             r"unrecognized arguments|No module named", re.I)


def looks_unimplemented(res: Result) -> bool:
    """A dockyard-runtime failure that says the feature has not landed yet."""
    return res.rc != 0 and bool(NOT_IMPLEMENTED.search(res.err + res.out))


# --------------------------------------------------------------------------------------------
# normalisation


def ns_labels(helper_pid: int | None) -> dict[str, str]:
    """Map namespace links (`net:[4026531840]`) to host/helper labels; others become `new`."""
    labels: dict[str, str] = {}
    for n in os.listdir("/proc/self/ns"):
        try:
            labels[os.readlink(f"/proc/self/ns/{n}")] = "host"
        except OSError:
            pass
        if helper_pid:
            try:
                labels.setdefault(os.readlink(f"/proc/{helper_pid}/ns/{n}"), "helper")
            except OSError:
                pass
    return labels


def normalise(out: str, *, cid: str, token: str, bundle: Path, tmp: Path,
              labels: dict[str, str]) -> str:
    text = out.replace("\r\n", "\n")  # a pty turns \n into \r\n
    # ids and paths chosen per run (container id, cgroupsPath token, tmp dirs)
    text = text.replace(cid, "<CID>").replace(token, "<TOKEN>")
    text = text.replace(str(bundle), "<BUNDLE>").replace(str(tmp), "<TMP>")
    # the spec version a runtime implements is its own business (hook state JSON)
    text = re.sub(r'"ociVersion": ?"[^"]*"', '"ociVersion":"<V>"', text)

    # namespace inode numbers are per boot and per container; what matters is whether the
    # namespace is the host's, the helper's (joined by path) or a fresh one
    def ns(m: re.Match[str]) -> str:
        return f"{m.group(1)}:{labels.get(m.group(0), 'new')}"

    text = re.sub(r"\b(cgroup|ipc|mnt|net|pid|user|uts|time)?:\[\d+\]", ns, text)
    return text


# --------------------------------------------------------------------------------------------
# helpers for joined namespaces and the console socket


@contextmanager
def namespace_helper() -> Iterator[int]:
    """A process in its own net/ipc/uts namespaces (with a dummy link, a shm segment and a
    hostname to recognise them); yields the pid whose /proc/<pid>/ns/* the bundle joins."""
    script = "hostname rdiff-helper && ip link add rdiffv0 type veth peer name rdiffv1 && " \
             "ipcmk -M 4096 >/dev/null && echo ready && exec sleep 60"
    p = subprocess.Popen(["unshare", "--fork", "--kill-child", "--net", "--ipc", "--uts",
                          "sh", "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("namespace helper did not start")
        children = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
        yield int(children[0])
    finally:
        p.kill()
        p.wait()
        if p.stdout:
            p.stdout.close()


class ConsoleReceiver:
    """The `--console-socket` end: accepts one connection, receives the pty master fd with
    SCM_RIGHTS, then reads everything the container writes to its terminal until it closes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.output = b""
        self.error: BaseException | None = None
        self.master_fd: int | None = None
        self.got_fd = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                fds = array.array("i")
                msg, anc, _flags, _addr = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
                for level, typ, data in anc:
                    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                        fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
                if not fds:
                    raise RuntimeError(f"no fd received on the console socket (message {msg!r})")
                for extra in fds[1:]:
                    os.close(extra)
                self.master_fd = fds[0]
                self.got_fd.set()
            chunks = []
            while True:
                try:
                    data = os.read(self.master_fd, 65536)
                except OSError:  # EIO once the last slave fd is closed
                    break
                if not data:
                    break
                chunks.append(data)
            self.output = b"".join(chunks)
        except BaseException as e:  # reported by close()
            self.error = e
            self.got_fd.set()

    def close(self, timeout: float = 30) -> bytes:
        self.thread.join(timeout)
        self.sock.close()
        if self.master_fd is not None:
            try:
                os.close(self.master_fd)
            except OSError:
                pass
        if self.thread.is_alive():
            raise TimeoutError("console output did not end")
        if self.error:
            raise self.error
        return self.output


# --------------------------------------------------------------------------------------------
# cgroups, seen from the host


def host_cgroup_paths(pid: int) -> dict[str, Path]:
    """controller -> /sys/fs/cgroup/<mount>/<path> for a process (v1 hierarchies and unified)."""
    out: dict[str, Path] = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _hid, ctrls, path = line.split(":", 2)
        for c in (ctrls.split(",") if ctrls else ["unified"]):
            name = c.removeprefix("name=")
            mount = Path("/sys/fs/cgroup") / name
            if mount.is_dir():
                out[name] = mount / path.lstrip("/")
    return out


def cgroup_dirs_named(token: str) -> list[Path]:
    """Every cgroup directory (in any hierarchy) whose path contains ``token``."""
    found = []
    for hier in Path("/sys/fs/cgroup").iterdir():
        if not hier.is_dir():
            continue
        for dirpath, dirnames, _ in os.walk(hier):
            for d in dirnames:
                if token in d:
                    found.append(Path(dirpath, d))
            if dirpath.count("/") > 8:
                dirnames.clear()
    return found


def kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

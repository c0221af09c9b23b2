"""Inside the new container: the intermediate child (namespaces) and the init (filesystem, process).

Both run in freshly forked copies of the single-threaded runtime and never return: they either
execve the user process or report {"type": "error", "step", …} to the parent and exit.
"""

from __future__ import annotations

import errno
import os
import sys

from dockyard.runtime import cgroups, hooks, namespaces, rootfs
from dockyard.runtime.paths import secure_join
from dockyard.runtime.process import (
    REAPER_ANNOTATION,
    ExecError,
    apply_rlimits,
    check_cwd_inside_root,
    close_fds_except,
    drop_privileges,
    env_map,
    exec_under_reaper,
    go_error_text,
    home_for,
    lookup_executable,
    reset_signals,
    write_oom_score_adj,
)
from dockyard.sys import linux

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from dataclasses import dataclass
    from typing import Any, NoReturn

    from dockyard.runtime.cgroups import Cgroup
    from dockyard.runtime.spec import Process, Spec
    from dockyard.runtime.sync import Channel
else:
    from dockyard.runtime._record import record as dataclass

if TYPE_CHECKING:
    import signal
else:
    import _signal as signal  # the C module: `signal` builds its enums (and imports enum) on import

PERSONALITY = {"LINUX": 0x0000, "LINUX32": 0x0008}


@dataclass(frozen=True, slots=True)
class InitConfig:
    spec: Spec
    process: Process
    rootfs: str
    bundle: str
    fifo_fd: int  # O_PATH fd of the exec fifo, opened by the parent (-1 for exec)
    seccomp_bpf: bytes | None
    preserve_fds: int
    cgroup: Cgroup | None
    console: _socket.socket | None
    # exec from a long-lived caller: the process's stdio, dup'd onto 0-2 in the intermediate
    stdio: tuple[int, int, int] | None = None


class _Steps:
    """Remembers the step in progress so a failure names it."""

    def __init__(self, chan: Channel) -> None:
        self.chan = chan
        self.name = "init"

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        self.name = name
        return fn()


def _preload(cfg: InitConfig) -> None:
    """Import now what the container side needs later: after pivot_root or a setns into the
    container's mount namespace (or as a mapped root) the interpreter's files are out of reach."""
    if cfg.process.terminal:
        import dockyard.runtime.tty  # noqa: F401
    if cfg.spec.hooks.create_container or cfg.spec.hooks.start_container:
        import subprocess  # noqa: F401


def _fail(chan: Channel, step: str, exc: BaseException) -> NoReturn:
    code = exc.exit_code if isinstance(exc, ExecError) else 1
    chan.send_error(step, exc, exit_code=code)
    os._exit(code)


def intermediate(cfg: InitConfig, chan: Channel) -> NoReturn:
    """First child: cgroup, rlimits, user namespace handshake, other namespaces, then fork the init."""
    steps = _Steps(chan)
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _preload(cfg)
        linux_cfg = cfg.spec.linux
        user_ns = linux_cfg.namespace("user")
        cgroup_fd = _enter_cgroup(cfg, steps, by_clone=user_ns is None)
        steps.run("setting rlimits", lambda: apply_rlimits(cfg.process.rlimits))
        if cfg.process.oom_score_adj is not None:
            steps.run("writing oom_score_adj", lambda: write_oom_score_adj(cfg.process.oom_score_adj or 0))
        opened = steps.run("opening namespaces to join", lambda: namespaces.open_joined(linux_cfg.namespaces))
        # The init enters its cgroup namespace itself, once it is in its cgroup (_enter_cgroupns).
        cgroupns_fd = next((fd for kind, fd in opened if kind == "cgroup"), None)
        opened = [x for x in opened if x[0] != "cgroup"]
        new_cgroupns = linux_cfg.namespace("cgroup") is not None and cgroupns_fd is None
        user_join = [x for x in opened if x[0] == "user"]
        steps.run("joining the user namespace", lambda: namespaces.join(user_join))
        if user_ns is not None and not user_ns.path:
            steps.run("creating the user namespace", lambda: linux.unshare(linux.CLONE_NEWUSER))
            chan.send("userns")
            chan.expect("userns-done")
        if user_ns is not None:
            # Like runc's nsexec: the uid first, the gid once the other namespaces exist (so a new
            # IPC namespace's mqueue root belongs to the overflow gid, as under runc).
            steps.run("becoming root in the user namespace", lambda: os.setresuid(0, 0, 0))
        steps.run("joining namespaces", lambda: namespaces.join([x for x in opened if x[0] != "user"]))
        flags = namespaces.new_flags(linux_cfg.namespaces, exclude=("user", "cgroup"))
        steps.run("creating namespaces", lambda: linux.unshare(flags) if flags else None)
        if user_ns is not None:
            steps.run("becoming root in the user namespace", _become_ns_root)
        net_ns = linux_cfg.namespace("network")
        if net_ns is not None and not net_ns.path:
            steps.run("bringing up the loopback interface", linux.set_link_up)
        if linux_cfg.time_offsets and linux_cfg.namespace("time") and not linux_cfg.namespace("time").path:  # type: ignore[union-attr]
            steps.run("writing time namespace offsets", lambda: _time_offsets(linux_cfg.time_offsets))
        ready_r, ready_w = os.pipe()
        pid = steps.run("forking the init", lambda: cgroups.fork_into(cgroup_fd))
        if pid == 0:
            os.close(ready_w)
            while os.read(ready_r, 1):
                pass
            os.close(ready_r)
            inner = _Steps(chan)
            try:
                inner.run("entering the cgroup namespace", lambda: _enter_cgroupns(cgroupns_fd, new=new_cgroupns))
            except BaseException as exc:  # noqa: BLE001
                _fail(chan, inner.name, exc)
            container_init(cfg, chan)
        os.close(ready_r)
        chan.send("init", pid=pid)
        os.close(ready_w)
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001 - everything goes to the parent
        _fail(chan, steps.name, exc)


def _enter_cgroup(cfg: InitConfig, steps: _Steps, *, by_clone: bool) -> int | None:
    """Join the container's cgroup; the unified hierarchy's directory may come back to fork into.
    Not under a user namespace: clone3 checks write access to the cgroup as the mapped user."""
    if cfg.cgroup is None:
        return None
    cgroup = cfg.cgroup
    return steps.run("joining the cgroup", lambda: cgroup.enter(unified_by_clone=by_clone))  # type: ignore[no-any-return]


def _enter_cgroupns(fd: int | None, *, new: bool) -> None:
    """The child's cgroup namespace, entered once the child is in its cgroup: a new namespace is
    rooted at the cgroup its creator is in, and clone3 refuses a cgroup outside the caller's."""
    if fd is not None:
        namespaces.join([("cgroup", fd)])
    elif new:
        linux.unshare(linux.CLONE_NEWCGROUP)


def _become_ns_root() -> None:
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


def _time_offsets(offsets: Any) -> None:
    lines = "".join(f"{clock} {secs} {nsecs}\n" for clock, (secs, nsecs) in offsets.items())
    fd = os.open("/proc/self/timens_offsets", os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)


def _write_sysctl(key: str, value: str) -> None:
    fd = os.open("/proc/sys/" + key.replace(".", "/"), os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def container_init(cfg: InitConfig, chan: Channel) -> NoReturn:
    steps = _Steps(chan)
    spec, proc = cfg.spec, cfg.process
    in_userns = spec.linux.namespace("user") is not None
    try:
        cgroupns = spec.linux.namespace("cgroup") is not None
        cg_paths = dict(cfg.cgroup.paths) if cfg.cgroup is not None else {}
        steps.run("preparing the rootfs", lambda: rootfs.prepare_root(spec, cfg.rootfs))
        for mnt in spec.mounts:
            steps.run(f"mounting {mnt.destination}", lambda mnt=mnt: rootfs.mount_one(  # type: ignore[misc]
                mnt, cfg.rootfs, cfg.bundle, in_userns=in_userns, cgroup_paths=cg_paths, cgroupns=cgroupns))
        steps.run("creating devices", lambda: rootfs.setup_dev(spec, cfg.rootfs, in_userns))
        steps.run("creating the working directory",
                  lambda: os.makedirs(secure_join(cfg.rootfs, proc.cwd), exist_ok=True))
        chan.send("mounts")
        state = chan.expect("hooks-done").get("state", {})
        if spec.hooks.create_container:
            steps.run("running createContainer hooks",
                      lambda: hooks.run_hooks("createContainer", spec.hooks.create_container, state))
        fifo_fd = cfg.fifo_fd
        steps.run("pivot_root", lambda: rootfs.pivot(cfg.rootfs))
        for key, value in spec.linux.sysctl.items():
            steps.run(f"setting sysctl {key}", lambda key=key, value=value: _write_sysctl(key, value))  # type: ignore[misc]
        if spec.hostname:
            steps.run("setting the hostname", lambda: linux.sethostname(spec.hostname))
        if spec.domainname:
            steps.run("setting the domainname", lambda: linux.setdomainname(spec.domainname))
        steps.run("making paths read-only", lambda: rootfs.readonly_paths(spec.linux.readonly_paths))
        steps.run("masking paths", lambda: rootfs.mask_paths(spec.linux.masked_paths))
        if spec.root_readonly:
            steps.run("making the rootfs read-only", rootfs.readonly_root)
        if spec.linux.personality_domain:
            steps.run("setting the personality", lambda: linux.personality(PERSONALITY[spec.linux.personality_domain]))
        _finish_process(cfg, proc, chan, steps, keep={fifo_fd}, state=state, fifo_fd=fifo_fd)
    except BaseException as exc:  # noqa: BLE001
        _fail(chan, steps.name, exc)


def _finish_process(cfg: InitConfig, proc: Process, chan: Channel, steps: _Steps, *, keep: set[int],
                    state: dict[str, Any], fifo_fd: int | None) -> NoReturn:
    """Shared by create and exec: session, terminal, fds, cwd, credentials, lookup, then execve."""
    steps.run("setsid", os.setsid)
    if proc.terminal:
        if cfg.console is None:
            raise OSError(22, "a terminal was requested but no console socket was given")
        from dockyard.runtime.tty import setup_terminal

        steps.run("setting up the terminal", lambda: setup_terminal(cfg.console, proc.console_size))  # type: ignore[arg-type]
    preserved = set(range(3, 3 + cfg.preserve_fds))
    steps.run("closing file descriptors", lambda: close_fds_except(keep | preserved | {chan.fileno()}))
    steps.run("changing to the working directory", lambda: _chdir(proc.cwd))
    steps.run("checking the working directory", check_cwd_inside_root)
    if proc.user.umask is not None:
        os.umask(proc.user.umask)
    env = env_map(proc.env)
    if "HOME" not in env:
        env["HOME"] = home_for(proc.user.uid)
    steps.run("making the runtime non-dumpable", lambda: linux.set_dumpable(False))
    steps.run("setting up user and capabilities", lambda: drop_privileges(proc, cfg.seccomp_bpf))
    path = steps.run("looking up the executable", lambda: lookup_executable(proc.args[0], env))
    if fifo_fd is None:
        # exec: a failed execve still reaches the parent; a successful one closes the socket.
        os.set_inheritable(chan.fileno(), False)
        if proc.no_new_privileges and cfg.seccomp_bpf is not None:
            steps.run("loading seccomp", lambda: linux.seccomp_load_bpf(cfg.seccomp_bpf or b""))
        reset_signals()
        # Past the point of no return, as under runc: a failed execve is the process's own
        # failure (its stderr, exit status 1), not a failure to start it.
        try:
            _execve(path, list(proc.args), env)
        except ExecError as exc:
            _exit_with(exc)
    chan.send("ready")
    chan.close()
    try:
        fd = os.open(f"/proc/self/fd/{fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
        os.write(fd, b"0")
        os.close(fd)
        os.close(fifo_fd)
        if cfg.spec.hooks.start_container:
            hooks.run_hooks("startContainer", cfg.spec.hooks.start_container, {**state, "status": "running"})
        if proc.no_new_privileges and cfg.seccomp_bpf is not None:
            linux.seccomp_load_bpf(cfg.seccomp_bpf)
        reset_signals()
        if cfg.spec.annotations.get(REAPER_ANNOTATION) == "reaper":
            exec_under_reaper(path, list(proc.args), env)
        _execve(path, list(proc.args), env)
    except ExecError as exc:
        _exit_with(exc)
    except BaseException as exc:  # noqa: BLE001 - nobody listens any more: say it on stderr
        try:
            sys.stderr.write(f"dockyard-runtime init: {exc}\n")
            sys.stderr.flush()
        finally:
            os._exit(1)


def exec_child(cfg: InitConfig, chan: Channel, pid: int) -> NoReturn:
    """exec: join the container's cgroup and namespaces, fork into its pid namespace, then execve."""
    steps = _Steps(chan)
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if cfg.stdio is not None:
            steps.run("setting up stdio", lambda: _take_caller_stdio(cfg.stdio))  # type: ignore[arg-type]
        _preload(cfg)
        opened = steps.run("opening the container's namespaces", lambda: _open_container_ns(pid))
        cgroup_fd = _enter_cgroup(cfg, steps, by_clone=not any(kind == "user" for kind, _ in opened))
        steps.run("setting rlimits", lambda: apply_rlimits(cfg.process.rlimits))
        cgroupns_fd = next((fd for kind, fd in opened if kind == "cgroup"), None)
        opened = [x for x in opened if x[0] != "cgroup"]
        steps.run("joining the container's namespaces", lambda: namespaces.join(opened))
        if any(kind == "user" for kind, _ in opened):
            steps.run("becoming root in the user namespace", _become_ns_root)
        # The process goes on at once: whether its pid or its error reaches the parent first,
        # the parent learns of both (an error before the pid leaves it to the subreaper to reap).
        child = steps.run("forking the process", lambda: cgroups.fork_into(cgroup_fd))
        if child == 0:
            inner = _Steps(chan)
            try:
                inner.run("joining the cgroup namespace", lambda: _enter_cgroupns(cgroupns_fd, new=False))
                _finish_process(cfg, cfg.process, chan, inner, keep=set(), state={}, fifo_fd=None)
            except BaseException as exc:  # noqa: BLE001
                _fail(chan, inner.name, exc)
        chan.send("init", pid=child)
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001
        _fail(chan, steps.name, exc)


def exec_in_one_fork(cfg: InitConfig, chan: Channel, child_chan: Channel, pid: int) -> int | None:
    """exec with one fork instead of two: this (single-threaded) caller points its children's pid
    namespace at the container's and clones the process straight into the container's unified
    cgroup; the process joins the other namespaces itself. Returns its pid, or None when that
    cannot be done here (a user or time namespace to join, another thread in this process, a
    kernel without clone3), for the caller to go through ``exec_child`` instead."""
    if len(os.listdir("/proc/self/task")) != 1:
        return None  # a raw clone3 skips the C library's fork locks: one thread only
    opened = _open_container_ns(pid)
    kinds = dict(opened)
    unified_fd = None
    own_pidns = None
    child = -1
    try:
        if "user" in kinds or "time" in kinds:
            return None
        pid_fd, cgroupns_fd = kinds.get("pid"), kinds.get("cgroup")
        rest = [(kind, fd) for kind, fd in opened if kind not in ("pid", "cgroup")]
        unified_fd = cfg.cgroup.open_unified() if cfg.cgroup is not None else None
        if pid_fd is not None:
            own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            linux.setns(pid_fd, linux.CLONE_NEWPID)  # for our next child only
        try:
            child = linux.fork_into_cgroup(unified_fd) if unified_fd is not None else os.fork()
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.E2BIG, errno.EINVAL):
                raise
            return None
        if child == 0:
            _exec_joined(cfg, child_chan, chan, rest, cgroupns_fd)
        return child
    finally:  # the parent only: the child never leaves _exec_joined
        if own_pidns is not None:
            try:
                linux.setns(own_pidns, linux.CLONE_NEWPID)
            finally:
                os.close(own_pidns)
        for fd in [fd for _, fd in opened] + ([unified_fd] if unified_fd is not None else []):
            os.close(fd)


def _exec_joined(cfg: InitConfig, chan: Channel, parent_chan: Channel, opened: list[tuple[str, int]],
                 cgroupns_fd: int | None) -> NoReturn:
    """The process of ``exec_in_one_fork``: born in the container's pid namespace and unified
    cgroup, it joins the v1 cgroups and the other namespaces, then goes on as ``exec_child``'s."""
    steps = _Steps(chan)
    try:
        parent_chan.close()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if cfg.stdio is not None:
            steps.run("setting up stdio", lambda: _take_caller_stdio(cfg.stdio))  # type: ignore[arg-type]
        _preload(cfg)
        if cfg.cgroup is not None:
            steps.run("joining the cgroup", cfg.cgroup.enter_legacy)
        steps.run("setting rlimits", lambda: apply_rlimits(cfg.process.rlimits))
        steps.run("joining the container's namespaces", lambda: namespaces.join(opened))
        steps.run("joining the cgroup namespace", lambda: _enter_cgroupns(cgroupns_fd, new=False))
        _finish_process(cfg, cfg.process, chan, steps, keep=set(), state={}, fifo_fd=None)
    except BaseException as exc:  # noqa: BLE001
        _fail(chan, steps.name, exc)


def _chdir(cwd: str) -> None:
    try:
        os.chdir(cwd)
    except OSError as exc:  # runc's words
        raise ExecError(f'chdir to cwd ("{cwd}") set in config.json failed: {go_error_text(exc)}', 1) from exc


def _execve(path: str, args: list[str], env: dict[str, str]) -> NoReturn:
    try:
        os.execve(path, args, env)
    except OSError as exc:  # runc's words and status
        raise ExecError(f"exec {path}: {go_error_text(exc)}", 1) from exc


def _exit_with(exc: ExecError) -> NoReturn:
    """The process's own end: its message on its stderr, its status."""
    try:
        os.write(2, f"{exc}\n".encode())
    finally:
        os._exit(exc.exit_code)


def _take_caller_stdio(stdio: tuple[int, int, int]) -> None:
    """A fork of a long-lived caller (the shim) rather than of a runtime command: take the exec's
    stdio, and leave the caller's signal wake-up descriptor and objects alone."""
    import gc

    gc.freeze()  # no finaliser of the caller's objects runs here
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(stdio):
        if fd != target:
            os.dup2(fd, target)


def _open_container_ns(pid: int) -> list[tuple[str, int]]:
    out = []
    for kind in namespaces.JOIN_ORDER:
        name = namespaces.PROC_NAMES[kind]
        path = f"/proc/{pid}/ns/{name}"
        try:
            if os.readlink(path) == os.readlink(f"/proc/self/ns/{name}"):
                continue  # shared with the host: nothing to join
            out.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        except FileNotFoundError:
            continue
    return out

"""The parent side of ``create`` and ``exec``: fork, handshake over the sync socket, record state.

Anything that fails leaves nothing behind: the children are killed, the cgroup and the state
directory removed. Mounts live only in the container's own mount namespace and die with it.
"""

from __future__ import annotations

import os
import time
from types import MappingProxyType

from dockyard.errors import InvalidArgument
from dockyard.runtime import idmap, namespaces
from dockyard.runtime.bundle import load_bundle
from dockyard.runtime.cgroups import default_path, from_paths, open_cgroup
from dockyard.runtime.init import InitConfig, exec_child, exec_in_one_fork, intermediate
from dockyard.runtime.state import State, StateDir, atomic_write, oci_state, proc_start_time
from dockyard.runtime.sync import Channel, ProtocolError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from dataclasses import dataclass

    from dockyard.runtime.cgroups import Cgroup
    from dockyard.runtime.spec import Process, Seccomp, Spec
else:
    from dockyard.runtime._record import record as dataclass

if TYPE_CHECKING:
    pass
else:
    pass  # the C module: `signal` builds its enums (and imports enum) on import

# (hooks, seccomp, tty and signal handling are imported where used: most containers need none of them)


@dataclass(frozen=True, slots=True)
class CreateOptions:
    root: str
    container_id: str
    bundle: str
    pid_file: str | None = None
    console_socket: str | None = None
    preserve_fds: int = 0


def _now() -> str:
    """RFC 3339 in UTC with nanoseconds, as runc writes ``created``."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


def compile_seccomp(config: Seccomp | None, root: str) -> bytes | None:
    if config is None:
        return None
    from dockyard.runtime import seccomp

    return seccomp.compile_filter_cached(config, root)


def _console(path: str | None, terminal: bool) -> _socket.socket | None:
    if not (terminal and path):
        return None
    from dockyard.runtime.tty import connect_console_socket

    return connect_console_socket(path)


def _kill_wait(pid: int, timeout: float = 5.0) -> None:
    try:
        os.kill(pid, 9)  # SIGKILL
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            if proc_start_time(pid) is None:
                return
        time.sleep(0.002)


def _reap(pid: int) -> int:
    """waitpid that turns the status into a shell-style exit code."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def create(opts: CreateOptions) -> State:
    sd = StateDir(opts.root, opts.container_id)
    if sd.exists():
        from dockyard.errors import AlreadyExists

        raise AlreadyExists(f"container with id exists: {opts.container_id}")
    bundle = load_bundle(opts.bundle)
    spec = bundle.spec
    process = spec.process
    assert process is not None
    namespaces.check_paths(spec.linux.namespaces)
    bpf = compile_seccomp(spec.linux.seccomp, opts.root)
    if process.terminal and not opts.console_socket:
        raise InvalidArgument("cannot allocate tty if runc will detach without setting console socket")
    sd.create()
    cg: Cgroup | None = None
    inter_pid = init_pid = 0
    chan: Channel | None = None
    console: _socket.socket | None = None
    fifo_fd = -1
    try:
        atomic_write(sd.config, bundle.raw)
        cg = open_cgroup(default_path(opts.container_id, spec.linux.cgroups_path))
        cg.create()
        cg.apply(spec.linux.resources)
        os.mkfifo(sd.fifo, 0o622)
        os.chmod(sd.fifo, 0o622)
        _chown_to_container_root(str(sd.fifo), spec)
        # Opened here and inherited, like runc: the init reopens it through /proc/self/fd, which
        # needs no search permission on the state directory's ancestors (a mapped root has none).
        fifo_fd = os.open(sd.fifo, os.O_PATH | os.O_CLOEXEC)
        console = _console(opts.console_socket, process.terminal)
        chan, child_chan = Channel.pair()
        cfg = InitConfig(spec=spec, process=process, rootfs=bundle.rootfs, bundle=bundle.path, fifo_fd=fifo_fd,
                         seccomp_bpf=bpf, preserve_fds=opts.preserve_fds, cgroup=cg, console=console)
        inter_pid = os.fork()
        if inter_pid == 0:
            chan.close()
            intermediate(cfg, child_chan)
        child_chan.close()
        os.close(fifo_fd)
        fifo_fd = -1
        if console is not None:
            console.close()
            console = None
        state = State(id=opts.container_id, bundle=bundle.path, pid=0, start_time=0, created=_now(),
                      rootfs=bundle.rootfs, cgroup_paths=MappingProxyType(dict(cg.paths)),
                      annotations=spec.annotations)
        try:
            init_pid = _handshake(chan, spec, inter_pid, state)
        except ProtocolError as exc:
            raise _explain_early_death(cg, spec) or exc
        _reap(inter_pid)
        inter_pid = 0
        start_time = proc_start_time(init_pid)
        if start_time is None:
            raise InvalidArgument("container init exited during create")
        state = state.with_pid(init_pid, start_time)
        sd.write(state)
        if opts.pid_file:
            write_pid_file(opts.pid_file, init_pid)
        return state
    except BaseException:
        for pid in (init_pid, inter_pid):
            if pid:
                _kill_wait(pid)
        if cg is not None:
            try:
                cg.destroy()
            except OSError:
                pass
        sd.remove()
        raise
    finally:
        if fifo_fd >= 0:
            os.close(fifo_fd)
        if chan is not None:
            chan.close()
        if console is not None:
            console.close()


def _explain_early_death(cg: Cgroup, spec: Spec) -> InvalidArgument | None:
    """The init died without a word: a memory limit the kernel took but that the setup cannot
    live within gets the OOM killer; say so, naming the limit (runc fails on the same limit with
    "unable to set memory limit")."""
    limit = spec.linux.resources.memory.limit
    if limit is None or limit < 0:
        return None
    try:
        kills = cg.stats().oom_kills
    except OSError:
        return None
    if kills <= 0:
        return None
    knob = "memory.max" if "memory" not in cg.paths else "memory.limit_in_bytes"
    return InvalidArgument(f"unable to set memory limit to {limit} ({knob}): the container init was "
                           "killed by the OOM killer during setup; the limit is too low")


def _chown_to_container_root(path: str, spec: Spec) -> None:
    """A new user namespace's root owns the fifo on the host (runc does the same)."""
    user_ns = spec.linux.namespace("user")
    if user_ns is None or user_ns.path:
        return
    uid = idmap.to_host(0, spec.linux.uid_mappings)
    gid = idmap.to_host(0, spec.linux.gid_mappings)
    os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)


def _handshake(chan: Channel, spec: Spec, inter_pid: int, state: State) -> int:
    user_ns = spec.linux.namespace("user")
    if user_ns is not None and not user_ns.path:
        chan.expect("userns")
        idmap.write_maps(inter_pid, spec.linux.uid_mappings, spec.linux.gid_mappings)
        chan.send("userns-done")
    init_pid = int(chan.expect("init")["pid"])
    chan.expect("mounts")
    hook_state = oci_state(state.with_pid(init_pid, 0), "creating")
    hook_state["pid"] = init_pid
    if spec.hooks.prestart or spec.hooks.create_runtime:
        from dockyard.runtime import hooks

        hooks.run_hooks("prestart", spec.hooks.prestart, hook_state)
        hooks.run_hooks("createRuntime", spec.hooks.create_runtime, hook_state)
    chan.send("hooks-done", state={**hook_state, "status": "created"})
    chan.expect("ready")
    return init_pid


def write_pid_file(path: str, pid: int) -> None:
    atomic_write(os.path.abspath(path), str(pid).encode())


@dataclass(frozen=True, slots=True)
class ExecOptions:
    process: Process
    pid_file: str | None = None
    console_socket: str | None = None
    preserve_fds: int = 0
    # The process's stdin, stdout and stderr; None: this process's own (the runtime command's).
    stdio: tuple[int, int, int] | None = None


def exec_process(sd: StateDir, state: State, spec: Spec, opts: ExecOptions) -> int:
    """Start a process in a running container; returns its host pid."""
    return exec_with_filter(sd, state, spec, opts, compile_seccomp(spec.linux.seccomp, sd.root))


def exec_with_filter(sd: StateDir, state: State, spec: Spec, opts: ExecOptions, bpf: bytes | None) -> int:
    """``exec_process`` with the spec's seccomp program compiled already."""
    if opts.process.terminal and not opts.console_socket:
        raise InvalidArgument("cannot allocate tty if runc will detach without setting console socket")
    console = _console(opts.console_socket, opts.process.terminal)
    cg = from_paths(state.cgroup_paths) if state.cgroup_paths else None
    chan, child_chan = Channel.pair()
    cfg = InitConfig(spec=spec, process=opts.process, rootfs="/", bundle=state.bundle, fifo_fd=-1, seccomp_bpf=bpf,
                     preserve_fds=opts.preserve_fds, cgroup=cg, console=console, stdio=opts.stdio)
    inter = 0
    try:
        pid = exec_in_one_fork(cfg, chan, child_chan, state.pid) or 0
    except BaseException:
        for end in (chan, child_chan, console):
            if end is not None:
                end.close()
        raise
    if not pid:
        inter = os.fork()
        if inter == 0:
            chan.close()
            exec_child(cfg, child_chan, state.pid)
    child_chan.close()
    if console is not None:
        console.close()
    try:
        if inter:
            pid = int(chan.expect("init")["pid"])
            _reap(inter)
            inter = 0
        # The child closes its end on a successful execve (close-on-exec) or reports why it failed.
        while True:
            data = chan.sock.recv(65536)
            if not data:
                break
            from dockyard.runtime import jsonfast
            from dockyard.runtime.sync import ContainerSetupError

            msg = jsonfast.loads(data)
            if msg.get("type") == "error":
                raise ContainerSetupError(str(msg.get("step", "")), int(msg.get("errno", 0)),
                                          str(msg.get("message", "")), int(msg.get("exit_code", 1)))
        if opts.pid_file:
            write_pid_file(opts.pid_file, pid)
        return pid
    except BaseException:
        for p in (pid, inter):
            if p:
                _kill_wait(p)
        raise
    finally:
        chan.close()



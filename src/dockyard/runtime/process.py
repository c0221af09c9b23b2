"""The last steps before execve: rlimits, user, capabilities, seccomp, the PATH lookup."""

from __future__ import annotations

import errno
import os
import resource
import stat

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.runtime import capabilities as caps
from dockyard.sys import linux
from dockyard.sys.process import rewrite_cmdline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
    from typing import NoReturn

    from dockyard.runtime.spec import Process, Rlimit
else:
    from dockyard.runtime._record import record as dataclass

if TYPE_CHECKING:
    import signal
else:
    import _signal as signal  # the C module: `signal` builds its enums (and imports enum) on import

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_RLIM_MAX = 2**63


class ExecError(DockyardError):
    """The process cannot be started; ``exit_code`` is Docker's 127 (not found) or 126 (not executable)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def go_error_text(exc: OSError) -> str:
    """Go's text for an errno, as runc prints it: strerror in lower case ("no such file or directory")."""
    text = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    return text[:1].lower() + text[1:]


def rlimit_number(name: str) -> int:
    value = getattr(resource, name, None)
    if not isinstance(value, int):
        raise InvalidArgument(f"unknown rlimit {name!r}")
    return value


def apply_rlimits(rlimits: tuple[Rlimit, ...]) -> None:
    for rl in rlimits:
        soft = resource.RLIM_INFINITY if rl.soft >= _RLIM_MAX else rl.soft
        hard = resource.RLIM_INFINITY if rl.hard >= _RLIM_MAX else rl.hard
        resource.setrlimit(rlimit_number(rl.type), (soft, hard))


def write_oom_score_adj(value: int) -> None:
    fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def env_map(env: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env:
        key, sep, value = item.partition("=")
        if sep:
            out[key] = value
    return out


def home_for(uid: int) -> str:
    try:
        with open("/etc/passwd") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"


def lookup_executable(name: str, env: dict[str, str]) -> str:
    """Resolve args[0] like Docker does, with its error texts."""
    if not name:
        raise ExecError('exec: "": executable file not found in $PATH', 127)
    if "/" in name:
        return _check_executable(name, name)
    for directory in (env.get("PATH") or DEFAULT_PATH).split(":"):
        candidate = os.path.join(directory or ".", name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and os.access(candidate, os.X_OK):
            return candidate
    raise ExecError(f'exec: "{name}": executable file not found in $PATH', 127)


def _check_executable(name: str, path: str) -> str:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ExecError(f"exec: \"{name}\": stat {path}: no such file or directory", 127) from None
    except OSError as exc:
        raise ExecError(f'exec: "{name}": {os.strerror(exc.errno or 0).lower()}', 126) from None
    if stat.S_ISDIR(st.st_mode) or not os.access(path, os.X_OK):
        raise ExecError(f'exec: "{name}": permission denied', 126)
    return path


@dataclass(frozen=True, slots=True)
class CapSets:
    bounding: int
    effective: int
    permitted: int
    inheritable: int
    ambient: tuple[int, ...]


def cap_sets(process: Process) -> CapSets | None:
    c = process.capabilities
    if c is None:
        return None
    top = caps.last_cap()
    return CapSets(bounding=caps.mask(c.bounding, top), effective=caps.mask(c.effective, top),
                   permitted=caps.mask(c.permitted, top), inheritable=caps.mask(c.inheritable, top),
                   ambient=tuple(caps.cap_number(n) for n in c.ambient if caps.cap_number(n) <= top))


def drop_privileges(process: Process, seccomp_bpf: bytes | None) -> None:
    """Groups, early seccomp, then bounding → keepcaps → setresgid → setresuid → capset → ambient → nnp."""
    user = process.user
    os.setgroups(list(user.additional_gids))
    if seccomp_bpf is not None and not process.no_new_privileges:
        linux.seccomp_load_bpf(seccomp_bpf)  # still holds CAP_SYS_ADMIN, which a filter needs without nnp
    sets = cap_sets(process)
    if sets is not None:
        for n in range(caps.last_cap() + 1):
            if not sets.bounding >> n & 1:
                linux.capbset_drop(n)  # dropping one that is gone already succeeds too
        linux.set_keepcaps(True)
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
    if sets is not None:
        try:
            linux.capset(sets.effective, sets.permitted, sets.inheritable)
        except OSError as exc:  # runc's words (an exec asking for more than the bounding set)
            raise ExecError(f"unable to apply caps: {go_error_text(exc)}", 1) from exc
        linux.set_keepcaps(False)
        linux.ambient_clear_all()
        for n in sets.ambient:
            try:
                linux.ambient_raise(n)
            except OSError as exc:
                if exc.errno != errno.EPERM:  # not in permitted+inheritable: runc ignores it too
                    raise
    if process.no_new_privileges:
        linux.set_no_new_privs()


def reset_signals() -> None:
    """Python ignores SIGPIPE and SIGXFSZ; ignored signals survive execve, so restore them."""
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def close_fds_except(keep: set[int], first: int = 3) -> None:
    """Close every fd >= first not in keep (so no host fd survives into the container)."""
    start = first
    for fd in sorted(k for k in keep if k >= first):
        if fd > start:
            os.closerange(start, fd)
        start = max(start, fd + 1)
    os.closerange(start, 1 << 20)


def check_cwd_inside_root() -> None:
    """After chdir: an fd-based escape (CVE-2024-21626) leaves a cwd outside the new root."""
    try:
        cwd = os.getcwd()
    except OSError as exc:
        raise OSError(exc.errno or errno.ENOENT, "current working directory is outside of the container root") from exc
    if not cwd.startswith("/"):
        raise OSError(errno.EPERM, "current working directory is outside of the container root")


REAPER_ANNOTATION = "org.dockyard.init"  # "reaper": the runtime stays as PID 1 (--init without tini)


def wait_forwarding_signals(pid: int) -> int:
    """Forward signals to ``pid`` and return its exit code (128 + signal when killed), reaping
    every other child meanwhile: foreground run/exec, and the reaper below."""
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                 signal.SIGWINCH, signal.SIGCONT, signal.SIGALRM)

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in forwarded:
        signal.signal(sig, forward)
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        if done == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def exec_under_reaper(path: str, args: list[str], env: dict[str, str]) -> NoReturn:
    """``--init`` without an init binary: run the process as our child and stay PID 1, reaping
    every orphan and passing signals on, then exit as the process did (tini's contract).

    Only what is already imported may run here: the container's root is no longer the host's."""
    child = os.fork()
    if child == 0:
        try:
            os.execve(path, args, env)
        finally:
            os._exit(127)
    # Inside the container PID 1 shows as the init, not as the runtime's host command line.
    rewrite_cmdline(["/sbin/docker-init", "--", *args])
    linux.set_process_name("docker-init")
    os._exit(wait_forwarding_signals(child))

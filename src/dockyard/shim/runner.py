"""How the shim runs OCI runtime commands: exec a runtime binary, or fork ours without an exec.

runc, crun or any runtime with runc's command line is executed as a program. Our own
``dockyard-runtime`` is a Python program too: a shim that has it imported already (forked from
the launcher) runs its command line in a forked child instead, which skips starting an
interpreter and importing the runtime for every create, start, exec, kill and delete.
The child is a separate process either way: same exit status, same stdio, same isolation.
"""

from __future__ import annotations

import _signal
import gc
import os
import select
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple, Protocol

    from dockyard.runtime.executor import Executor
else:
    from dockyard.namedtuples import NamedTuple

    Protocol = object

RUNTIME_NAME = "dockyard-runtime"
DEVNULL = -3  # a stdio argument meaning /dev/null (subprocess.DEVNULL's value, for Popen too)


class Completed(NamedTuple):
    """What a runtime command did (the fields of subprocess.CompletedProcess the shim reads)."""

    args: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes


class RuntimeTimeout(Exception):
    """A runtime command outlived its timeout (and was killed)."""


class Child(Protocol):
    @property
    def pid(self) -> int: ...
    def poll(self) -> int | None: ...
    def wait(self) -> int: ...


class Runtime(Protocol):
    binary: str
    root: str

    def spawn(self, *args: str, stdin: int, stdout: int, stderr: int, cwd: str) -> Child: ...
    def run(self, *args: str, timeout: float = 60) -> Completed: ...


class ExecRuntime:
    """A runtime binary with runc's command line."""

    def __init__(self, binary: str, root: str) -> None:
        self.binary = binary
        self.root = root

    def argv(self, *args: str) -> list[str]:
        return [self.binary, "--root", self.root, *args]

    def spawn(self, *args: str, stdin: int, stdout: int, stderr: int, cwd: str) -> Child:
        import subprocess  # only shims that run another runtime pay for it

        return subprocess.Popen(self.argv(*args), stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd,
                                close_fds=True)

    def run(self, *args: str, timeout: float = 60) -> Completed:
        import subprocess

        try:
            done = subprocess.run(self.argv(*args), stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeTimeout(f"{self.binary} {' '.join(args)}: no answer in {timeout:g}s") from exc
        return Completed(list(done.args), done.returncode, done.stdout, done.stderr)


class Finished:
    """A Child that has exited already (the outcome of a call rather than of a process)."""

    def __init__(self, returncode: int) -> None:
        self.pid = 0
        self.returncode = returncode

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int:
        return self.returncode


class _Forked:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)  # retried on EINTR by Python
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


class RuntimeFailure(Exception):
    """A runtime command failed: its message, as it would print it, and its exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ForkedRuntime:
    """``dockyard-runtime``'s command line run in a forked child of this (single-threaded) process."""

    def __init__(self, binary: str, root: str) -> None:
        self.binary = binary
        self.root = root
        self._executors: dict[str, Executor] = {}

    def exec_detached(self, container_id: str, process: str, *, stdio: tuple[int, int, int],
                      console_socket: str | None) -> int:
        """``exec --detach --process <process>`` without a runtime process: the exec's own
        processes fork from this one, which keeps the container's parsed spec and seccomp program
        from one exec to the next. Returns the process's pid; raises RuntimeFailure."""
        from dockyard.runtime.executor import Executor, exec_failure_text

        executor = self._executors.get(container_id)
        if executor is None:
            executor = self._executors[container_id] = Executor(self.root, container_id)
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC) if min(stdio) < 0 else -1
        try:
            fds = (stdio[0] if stdio[0] >= 0 else null, stdio[1] if stdio[1] >= 0 else null,
                   stdio[2] if stdio[2] >= 0 else null)
            return executor.exec(process, stdio=fds, console_socket=console_socket)
        except Exception as exc:  # noqa: BLE001 - reported in the runtime's words, as from its command
            raise RuntimeFailure(*exec_failure_text(exc)) from exc
        finally:
            if null >= 0:
                os.close(null)

    def spawn(self, *args: str, stdin: int, stdout: int, stderr: int, cwd: str) -> Child:
        argv = ["--root", self.root, *args]
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            # subprocess.DEVNULL (a negative number) stands for /dev/null, as with Popen.
            fds = [null if fd < 0 else fd for fd in (stdin, stdout, stderr)]
            pid = os.fork()
            if pid == 0:
                _run_in_child(argv, fds[0], fds[1], fds[2], cwd)
        finally:
            os.close(null)
        return _Forked(pid)

    def run(self, *args: str, timeout: float = 60) -> Completed:
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            child = self.spawn(*args, stdin=DEVNULL, stdout=out_w, stderr=err_w, cwd="/")
        finally:
            for fd in (out_w, err_w):
                os.close(fd)
        output = _read_all({out_r: bytearray(), err_r: bytearray()}, time.monotonic() + timeout)
        if output is None:
            os.kill(child.pid, _signal.SIGKILL)
            child.wait()
            raise RuntimeTimeout(f"{self.binary} {' '.join(args)}: no answer in {timeout:g}s")
        rc = child.wait()
        return Completed([self.binary, *args], rc, bytes(output[out_r]), bytes(output[err_r]))


def _read_all(buffers: dict[int, bytearray], deadline: float) -> dict[int, bytearray] | None:
    """Both pipes to EOF (then closed), or None at the deadline."""
    poll = select.poll()
    try:
        for fd in buffers:
            poll.register(fd, select.POLLIN)
        open_fds = set(buffers)
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for fd, _ in poll.poll(left * 1000):
                chunk = os.read(fd, 65536)
                if chunk:
                    buffers[fd] += chunk
                else:
                    poll.unregister(fd)
                    open_fds.discard(fd)
        return buffers
    finally:
        for fd in buffers:
            os.close(fd)


def _run_in_child(argv: list[str], stdin: int, stdout: int, stderr: int, cwd: str) -> None:
    """Become ``dockyard-runtime <argv>``: the stdio and signal state an exec would give, then exit."""
    code = 1
    try:
        # The parent's objects are never collected or finalised here: a finaliser closing a
        # descriptor number the runtime has since reused would be a silent bug.
        gc.freeze()
        _signal.set_wakeup_fd(-1)
        for signo in (_signal.SIGCHLD, _signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
            _signal.signal(signo, _signal.SIG_DFL)
        for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
            if fd != target:
                os.dup2(fd, target)
        os.closerange(3, _max_fd())
        os.chdir(cwd)
        from dockyard.runtime.command import main

        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - reported like an exec'd runtime would
        try:
            os.write(2, f"{RUNTIME_NAME}: {exc}\n".encode())
        except BaseException:  # noqa: BLE001, S110 - nowhere left to say it
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001, S110 - exiting either way
            pass
        os._exit(code)


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 65536


def runtime_for(binary: str, root: str, *, in_process: bool) -> Runtime:
    """Our runtime forked in-process when allowed, anything else executed."""
    if in_process and os.path.basename(binary) == RUNTIME_NAME:
        return ForkedRuntime(binary, root)
    return ExecRuntime(binary, root)

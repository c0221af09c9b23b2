"""Synchronous client of a shim's control socket, safe to use from several threads at once.

Every call opens its own connection, so threads never share a socket; ``attach`` and ``exec``
hand the connection over as the raw stream once the shim has answered.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockyard import errors
from dockyard.shim import protocol
from dockyard.shim.protocol import ExitInfo, JSONObject, ShimState
from dockyard.shim.supervisor import EXIT_FILE, PID_FILE, SOCKET_NAME

LOG_ATTRS_FILE = "log-attrs.json"

CALL_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecHandle:
    """A started exec: its id, pid, and the attached stream unless it was detached."""

    id: str
    pid: int
    tty: bool
    stream: socket.socket | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecState:
    id: str
    pid: int
    running: bool
    exit: ExitInfo | None


def _signal_name(sig: int | str) -> str:
    if isinstance(sig, int):
        try:
            return signal.Signals(sig).name.removeprefix("SIG")
        except ValueError:  # real-time signals have no name of their own here
            return str(sig)
    return sig.upper().removeprefix("SIG") if not sig.isdigit() else sig


class ShimClient:
    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = os.fspath(state_dir)
        self.socket_path = os.path.join(self.state_dir, SOCKET_NAME)

    # ---- plumbing ------------------------------------------------------------------------------

    def _connect(self, timeout: float | None) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            if len(self.socket_path) < 100:
                sock.connect(self.socket_path)
            else:
                # Too long for sockaddr_un: reach it through a descriptor of its directory.
                dirfd = os.open(self.state_dir, os.O_PATH | os.O_DIRECTORY)
                try:
                    sock.connect(f"/proc/self/fd/{dirfd}/{SOCKET_NAME}")
                finally:
                    os.close(dirfd)
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
                raise errors.Unavailable(f"the shim at {self.state_dir} is not running") from exc
            raise
        return sock

    def _request(self, request: JSONObject, timeout: float | None = CALL_TIMEOUT) -> tuple[socket.socket, JSONObject]:
        sock = self._connect(timeout)
        try:
            protocol.send_message(sock, request)
            result = protocol.result_of(protocol.recv_message(sock))
        except BaseException:
            sock.close()
            raise
        return sock, result

    def _call(self, request: JSONObject, timeout: float | None = CALL_TIMEOUT) -> JSONObject:
        sock, result = self._request(request, timeout)
        sock.close()
        return result

    def _stream(self, request: JSONObject) -> tuple[socket.socket, JSONObject]:
        sock, result = self._request(request)
        sock.settimeout(None)
        return sock, result

    # ---- container -----------------------------------------------------------------------------

    def start(self) -> ShimState:
        return ShimState.from_json(self._call({"op": "start"}))

    def state(self) -> ShimState:
        """The live state, or (the shim gone) what ``exit.json`` recorded."""
        try:
            return ShimState.from_json(self._call({"op": "state"}))
        except errors.Unavailable:
            info = self.read_exit()
            if info is None:
                raise
            return ShimState(id="", pid=0, status="stopped", tty=False, exit=info)

    def kill(self, sig: int | str = signal.SIGKILL, *, all_processes: bool = False) -> None:
        self._call({"op": "kill", "signal": _signal_name(sig), "all": all_processes})

    def resize(self, height: int, width: int) -> None:
        self._call({"op": "resize", "height": height, "width": width})

    def wait(self, timeout: float | None = None) -> ExitInfo:
        """Block until the container exits; ``TimeoutError`` after ``timeout`` seconds."""
        try:
            result = self._call({"op": "wait"}, timeout)
        except errors.Unavailable:
            info = self.read_exit()
            if info is None:
                raise
            return info
        except TimeoutError as exc:
            raise TimeoutError(f"the container did not exit within {timeout} s") from exc
        return ExitInfo.from_json(result.get("exit"))

    def attach(self, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               logs: bool = False, close_stdin: bool = True) -> socket.socket:
        """The raw stream: 8-byte frames (see ``stdcopy``) unless TTY; ``shutdown(SHUT_WR)`` ends this
        client's stdin, and the process's too with ``close_stdin``."""
        sock, _ = self._stream({"op": "attach", "stdin": stdin, "stdout": stdout, "stderr": stderr, "logs": logs,
                                "close_stdin": close_stdin})
        return sock

    def shutdown(self, *, force: bool = False, timeout: float = 10.0) -> None:
        """Tell the shim to exit (``force`` kills a live container first) and wait until it has."""
        pid = self.shim_pid()
        exited = _exit_notifier(pid)  # opened first: the pid cannot be reused under us
        try:
            try:
                self._call({"op": "shutdown", "force": force})
            except errors.Unavailable:
                return
            if exited >= 0:
                select.select([exited], [], [], timeout)
                return
            deadline = time.monotonic() + timeout
            while pid is not None and _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            if exited >= 0:
                os.close(exited)

    # ---- exec ----------------------------------------------------------------------------------

    def exec(self, process_path: str | os.PathLike[str], *, exec_id: str | None = None, tty: bool = False,
             stdin: bool = False, detach: bool = False, console_size: tuple[int, int] | None = None) -> ExecHandle:
        request: JSONObject = {"op": "exec", "process": os.fspath(process_path), "tty": tty, "stdin": stdin,
                               "detach": detach}
        if exec_id:
            request["id"] = exec_id
        if console_size:
            request["height"], request["width"] = console_size
        try:
            if detach:
                result = self._call(request)
                stream = None
            else:
                stream, result = self._stream(request)
        except errors.FailedPrecondition as exc:
            message = str(exc)
            raise protocol.ExecFailed(message, protocol.exit_code_for_error(message)) from exc
        pid = result.get("pid")
        return ExecHandle(id=str(result.get("id")), pid=pid if isinstance(pid, int) else 0, tty=tty, stream=stream)

    def exec_attach(self, exec_id: str, stdin: bool = False, stdout: bool = True,
                    stderr: bool = True) -> socket.socket:
        sock, _ = self._stream({"op": "exec_attach", "id": exec_id, "stdin": stdin, "stdout": stdout,
                                "stderr": stderr})
        return sock

    def exec_wait(self, exec_id: str, timeout: float | None = None) -> ExitInfo:
        try:
            result = self._call({"op": "exec_wait", "id": exec_id}, timeout)
        except TimeoutError as exc:
            raise TimeoutError(f"exec {exec_id} did not exit within {timeout} s") from exc
        return ExitInfo.from_json(result.get("exit"))

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        self._call({"op": "exec_resize", "id": exec_id, "height": height, "width": width})

    def exec_kill(self, exec_id: str, sig: int | str = signal.SIGKILL) -> None:
        self._call({"op": "exec_kill", "id": exec_id, "signal": _signal_name(sig)})

    def exec_state(self, exec_id: str) -> ExecState:
        result = self._call({"op": "exec_state", "id": exec_id})
        pid, raw_exit = result.get("pid"), result.get("exit")
        return ExecState(id=exec_id, pid=pid if isinstance(pid, int) else 0, running=bool(result.get("running")),
                         exit=ExitInfo.from_json(raw_exit) if raw_exit is not None else None)

    # ---- files ---------------------------------------------------------------------------------

    def read_exit(self) -> ExitInfo | None:
        try:
            with open(os.path.join(self.state_dir, EXIT_FILE)) as f:
                return ExitInfo.from_json(json.load(f))
        except (OSError, ValueError, protocol.ProtocolError):
            return None

    def shim_pid(self) -> int | None:
        try:
            with open(os.path.join(self.state_dir, PID_FILE)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        pid = self.shim_pid()
        return pid is not None and _alive(pid)


def _exit_notifier(pid: int | None) -> int:
    """A pidfd of ``pid`` (readable once it has exited, reaped or not), or -1."""
    if pid is None:
        return -1
    try:
        return os.pidfd_open(pid)
    except OSError:
        return -1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def shim_command() -> list[str]:
    script = Path(sys.executable).with_name("dockyard-shim")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "dockyard.shim.main"]


def launcher_command() -> list[str]:
    """``dockyard-shim`` for the launcher: our interpreter without ``site`` (-S -I), told where the
    dockyard package is instead. site's start-up (.pth files, an editable install's finder) would
    cost the launcher, and so every shim it forks, about 2 MB. Forked shims show the script's
    name in their command line, as executed ones do."""
    import dockyard

    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dockyard.__file__)))
    script = Path(sys.executable).with_name("dockyard-shim")
    boot = (f"import sys; sys.path.insert(0, {package_parent!r}); sys.argv[0] = {str(script)!r}; "
            "from dockyard.shim.main import main; sys.exit(main())")
    return [sys.executable, "-S", "-I", "-c", boot]


def spawn_shim(*, id: str, bundle: str | os.PathLike[str], runtime: str, runtime_root: str | os.PathLike[str],
               state_dir: str | os.PathLike[str], log_path: str | os.PathLike[str] = "",
               log_driver: str = "json-file", log_max_size: int | None = None,
               log_max_file: int | None = None, log_compress: bool | None = None,
               log_attrs: Mapping[str, str] | None = None, tty: bool = False,
               stdin: bool = False, console_size: tuple[int, int] | None = None, timeout: float = 60.0,
               command: list[str] | None = None, launcher: str | None = None) -> ShimClient:
    """Start a detached shim that runs ``<runtime> create`` and return its client once it answers.

    Raises ``protocol.CreateFailed`` (a ``FailedPrecondition``) with the runtime's message and the
    exit code Docker would report (127 not found, 126 not executable) when create fails.
    """
    state = os.fspath(state_dir)
    os.makedirs(state, exist_ok=True)
    argv = ["--id", id, "--bundle", os.fspath(bundle), "--runtime", runtime, "--runtime-root",
            os.fspath(runtime_root), "--state-dir", state, "--log-driver", log_driver]
    for flag, value in (("--log-max-size", log_max_size), ("--log-max-file", log_max_file),
                        ("--log-compress", None if log_compress is None else str(log_compress).lower())):
        if value is not None:  # unset: the driver's default
            argv += [flag, str(value)]
    if log_path:
        argv += ["--log-path", os.fspath(log_path)]
    if log_attrs:
        attrs_path = os.path.join(state, LOG_ATTRS_FILE)
        fd = os.open(attrs_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(dict(log_attrs), f)
        argv += ["--log-attrs", attrs_path]
    if tty:
        argv.append("--tty")
    if stdin:
        argv.append("--stdin")
    if console_size:
        argv += ["--console-size", f"{console_size[0]}x{console_size[1]}"]
    message = _launch(launcher, argv, timeout) if launcher and command is None else None
    if message is None:
        message = _execute([*(command or shim_command()), *argv, "--daemonize"], timeout)
    client = ShimClient(state)
    if not message:
        raise errors.Unavailable(f"dockyard-shim died during create: {_tail(os.path.join(state, 'shim.log'))}")
    response = json.loads(message)
    if response.get("ok") is not True:
        error = response.get("error") or {}
        raise protocol.CreateFailed(str(error.get("message", "create failed")), int(response.get("exit_code", 128)),
                                    str(response.get("stderr", "")))
    return client


def _launch(launcher: str, argv: list[str], timeout: float) -> bytes | None:
    """The create outcome of a shim forked by the launcher; None when no launcher answers."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        try:
            sock.connect(launcher)
        except OSError:  # none listening (yet, or any more), or a path too long for sockaddr_un
            return None
        sock.sendall(json.dumps({"argv": argv}).encode() + b"\n")
        sock.shutdown(socket.SHUT_WR)
        return _read_ready(sock.fileno(), timeout)
    finally:
        sock.close()


def _execute(argv: list[str], timeout: float) -> bytes:
    """The create outcome of a shim started as a program (it daemonizes; its first process exits)."""
    ready_r, ready_w = os.pipe()
    try:
        argv = [*argv, "--ready-fd", str(ready_w)]
        # Its own session, and the intermediate process exits at once: nothing ties the shim to us.
        first = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, pass_fds=(ready_w,), start_new_session=True)
        os.close(ready_w)
        ready_w = -1
        _, early_err = first.communicate(timeout=timeout)
        if first.returncode != 0:
            raise errors.InvalidArgument(f"dockyard-shim refused to start: {early_err.decode(errors='replace')}")
        return _read_ready(ready_r, timeout)
    finally:
        os.close(ready_r)
        if ready_w >= 0:
            os.close(ready_w)


def _read_ready(fd: int, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise errors.Unavailable(f"dockyard-shim did not report within {timeout} s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return data
        data += chunk


def _tail(path: str, size: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode(errors="replace").strip()
    except OSError:
        return ""

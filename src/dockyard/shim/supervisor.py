"""The shim's event loop: one container, its execs, their stdio, the control socket and reaping.

Single-threaded on epoll: the shim forks the runtime, so no threads. Runtime commands
(start, kill, exec, delete) run synchronously; they are short and their children are reaped by
a pid-specific wait, while our ``waitpid(-1)`` only runs between them.

Every shim is a fork of one warm launcher and pays for what it imported, so this module and the
ones it imports use the interpreter's C modules (``_socket``, ``_signal``, ``_json``) rather than
``socket``, ``signal``, ``selectors``, ``json`` and ``subprocess``, which bring ``enum``, ``re``
and ``threading`` with them.
"""

from __future__ import annotations

import _signal
import _socket
import errno
import fcntl
import os
import struct
import sys
import termios
import time

from dockyard import errors
from dockyard.runtime import jsonfast
from dockyard.shim import cgroup, logfile, protocol, runner, stdcopy
from dockyard.shim.poller import EVENT_READ, EVENT_WRITE, Poller
from dockyard.shim.protocol import ExitInfo, JSONObject

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NamedTuple
else:
    from dockyard.namedtuples import NamedTuple

DRAIN_GRACE = 2.0  # after an exit, how long stray holders of the output pipes may keep them open
HIGH_WATER = 1 << 20  # stop reading a process's output while an attached client lags this far behind
SOCKET_NAME = "shim.sock"
EXIT_FILE = "exit.json"
PID_FILE = "pid"

if TYPE_CHECKING:
    Handler = Callable[[int], None]


MAX_SOCKET_PATH = 100


class ShimConfig(NamedTuple):
    id: str
    bundle: str
    runtime: str
    runtime_root: str
    state_dir: str
    log_path: str
    log_driver: str = "json-file"
    log_max_size: int | None = None  # None: the driver's default
    log_max_file: int | None = None
    log_compress: bool | None = None
    log_attrs: dict[str, str] | None = None  # json-file's attrs of every entry
    tty: bool = False
    stdin: bool = False
    console_size: tuple[int, int] | None = None
    in_process_runtime: bool = False  # fork our own runtime instead of executing it (see runner)


def runtime_message(output: bytes) -> str:
    """The runtime's error text (runc may log JSON lines; keep their ``msg``)."""
    lines = []
    for line in output.decode(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = jsonfast.loads(line)
                line = str(obj.get("msg", line))
            except ValueError:
                pass
        if line:
            lines.append(line)
    return "\n".join(lines)


def write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def accept(listener: _socket.socket) -> _socket.socket:
    """``socket.accept()`` for the C module's socket, which only hands out the descriptor."""
    fd, _ = listener._accept()  # type: ignore[attr-defined]
    return _socket.socket(fileno=fd)


def unix_stream_socket() -> _socket.socket:
    return _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)


def signal_number(name: str) -> int:
    """``signal.Signals[name].value`` ("KILL" or "SIGKILL"); KeyError for what is no signal."""
    full = name if name.startswith("SIG") else f"SIG{name}"
    value = getattr(_signal, full, None) if "_" not in full else None
    if not isinstance(value, int):
        raise KeyError(full)
    return value


def set_winsize(fd: int, height: int, width: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def recv_fd(sock: _socket.socket) -> int:
    _, ancdata, _, _ = sock.recvmsg(4096, _socket.CMSG_SPACE(struct.calcsize("i")))
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            return int(struct.unpack("i", data[: struct.calcsize("i")])[0])
    raise OSError(errno.EPROTO, "no file descriptor received on the console socket")


class Conn:
    """A client of ``shim.sock``: control messages first, possibly a raw stream afterwards."""

    def __init__(self, sock: _socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.decoder = protocol.MessageDecoder()
        self.outbuf = bytearray()
        self.proc: Proc | None = None  # set once the connection is an attach stream
        self.want: frozenset[str] = frozenset()
        self.stdin = False
        self.close_stdin = True  # this client's EOF is the process's (an exec's, or StdinOnce)
        self.read_closed = False
        self.close_when_flushed = False
        self.parked = False  # a wait that has not been answered yet
        self.after_response = b""  # replayed logs of an attach, sent right after its response

    def send(self, data: bytes) -> None:
        self.outbuf += data


class Proc:
    """A supervised process (the container init or one exec) and its pipes or pty."""

    def __init__(self, key: str, *, tty: bool, writer: logfile.LogWriter) -> None:
        self.key = key
        self.tty = tty
        self.writer = writer
        self.pid = 0
        self.sources: dict[int, str] = {}
        self.master = -1
        self.stdin_fd = -1
        self.stdin_buf = bytearray()
        self.stdin_closing = False
        self.attached: list[Conn] = []
        self.waiters: list[Conn] = []
        self.status: int | None = None
        self.exited_ns = 0
        self.exited_mono = 0.0
        self.exit: ExitInfo | None = None

    def deliver(self, stream: str, data: bytes) -> None:
        self.writer.write(stream, data)
        frame = data if self.tty else stdcopy.encode(stdcopy.stream_type(stream), data)
        for conn in self.attached:
            if stream in conn.want:
                conn.send(frame)

    def lagging(self) -> bool:
        return any(len(c.outbuf) > HIGH_WATER for c in self.attached)


class Supervisor:
    def __init__(self, config: ShimConfig) -> None:
        self.config = config
        self.runtime = runner.runtime_for(config.runtime, config.runtime_root,
                                          in_process=config.in_process_runtime)
        self.sel = Poller()
        self.registered: dict[int, tuple[int, Handler]] = {}
        self.conns: dict[int, Conn] = {}
        self.listener: _socket.socket | None = None
        self.wake_r, self.wake_w = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        writer = logfile.open_writer(config.log_driver, config.log_path, max_size=config.log_max_size,
                                     max_file=config.log_max_file, compress=config.log_compress,
                                     attrs=config.log_attrs)
        self.container = Proc("", tty=config.tty, writer=writer)
        self.execs: dict[str, Proc] = {}
        self.started = False
        self.started_at = ""
        self.cgroup_dir: str | None = None
        self.shutting_down = False

    # ---- paths -------------------------------------------------------------------------------

    def path(self, name: str) -> str:
        return os.path.join(self.config.state_dir, name)

    def socket_path(self, name: str) -> str:
        """A socket's address: relative to the state dir (our cwd, inherited by the runtime) when
        the absolute path would not fit in sockaddr_un's 108 bytes."""
        full = self.path(name)
        return full if len(full) < MAX_SOCKET_PATH else name

    def runtime_socket_path(self, name: str, cwd: str) -> str:
        """The same socket as the runtime, started in ``cwd``, can reach it."""
        full = self.path(name)
        return full if len(full) < MAX_SOCKET_PATH else os.path.relpath(full, cwd)

    # ---- set-up --------------------------------------------------------------------------------

    def listen(self) -> None:
        os.chdir(self.config.state_dir)
        sock_path = self.socket_path(SOCKET_NAME)
        if os.path.lexists(sock_path):
            os.unlink(sock_path)
        listener = unix_stream_socket()
        listener.bind(sock_path)
        os.chmod(sock_path, 0o600)
        listener.listen(64)
        listener.setblocking(False)
        self.listener = listener
        for fd in (self.wake_r.fileno(), self.wake_w.fileno()):
            os.set_blocking(fd, False)
        _signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
        _signal.signal(_signal.SIGCHLD, lambda _signo, _frame: None)

    def create(self) -> None:
        """``<runtime> create`` with stdio we own; raises CreateFailed with the runtime's words."""
        cfg = self.config
        pid_file = self.path("container.pid")
        args = ["create", "--bundle", cfg.bundle, "--pid-file", pid_file]
        console: _socket.socket | None = None
        child_fds: list[int] = []
        if cfg.tty:
            console_path = self.socket_path("console.sock")
            if os.path.lexists(console_path):
                os.unlink(console_path)
            console = unix_stream_socket()
            console.bind(console_path)
            console.listen(1)
            args += ["--console-socket", self.runtime_socket_path("console.sock", cfg.bundle)]
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            stdio = (runner.DEVNULL, err_w, err_w)
            child_fds.append(err_w)
            out_r = err_r
        else:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            child_fds += [out_w, err_w]
            stdin: int = runner.DEVNULL
            if cfg.stdin:
                in_r, in_w = os.pipe2(os.O_CLOEXEC)
                child_fds.append(in_r)
                stdin = in_r
                self.container.stdin_fd = in_w
            stdio = (stdin, out_w, err_w)
        try:
            proc = self.runtime.spawn(*args, cfg.id, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2],
                                      cwd=cfg.bundle)
        except OSError as exc:
            raise protocol.CreateFailed(f"cannot run the runtime {cfg.runtime}: {exc.strerror}", 127,
                                        str(exc)) from exc
        finally:
            for fd in child_fds:
                os.close(fd)
        master = -1
        try:
            if console is not None:
                master = self._receive_console(console, proc)
            rc = proc.wait()
        finally:
            if console is not None:
                console.close()
                os.unlink(self.path("console.sock"))
        if rc != 0:
            output = b""
            for fd in {out_r, err_r}:
                output += _read_until_eof(fd, time.monotonic() + 2)
                os.close(fd)
            if master >= 0:
                os.close(master)
            message = runtime_message(output) or f"{cfg.runtime} create exited with status {rc}"
            self.runtime.run("delete", "--force", cfg.id)
            raise protocol.CreateFailed(message, protocol.exit_code_for_error(message), output.decode(errors="replace"))
        # Anything written so far came from the runtime: the user process only runs after start.
        for fd in {out_r, err_r}:
            os.set_blocking(fd, False)
            noise = _read_available(fd)
            if noise:
                sys.stderr.write(f"runtime create said: {noise.decode(errors='replace')}\n")
        with open(pid_file) as f:
            self.container.pid = int(f.read().strip())
        self.cgroup_dir = cgroup.memory_dir(self.container.pid)
        if cfg.tty:
            os.close(out_r)
            self._adopt_master(self.container, master, cfg.console_size, stdin=cfg.stdin)
        else:
            self.container.sources = {out_r: "stdout", err_r: "stderr"}
            if self.container.stdin_fd >= 0:
                os.set_blocking(self.container.stdin_fd, False)

    def _receive_console(self, console: _socket.socket, proc: runner.Child) -> int:
        console.settimeout(0.05)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = accept(console)
            except TimeoutError:
                if proc.poll() is not None:
                    # The runtime may have connected just before exiting; one last look.
                    try:
                        conn = accept(console)
                    except TimeoutError:
                        return -1
                else:
                    continue
            try:
                conn.settimeout(10)
                return recv_fd(conn)
            finally:
                conn.close()
        return -1

    def _adopt_master(self, proc: Proc, master: int, size: tuple[int, int] | None, *, stdin: bool) -> None:
        if master < 0:
            raise protocol.CreateFailed("the runtime sent no terminal on the console socket", 128, "")
        os.set_blocking(master, False)
        if size is not None:
            set_winsize(master, *size)
        proc.master = master
        proc.sources = {master: "stdout"}
        if stdin:
            proc.stdin_fd = os.dup(master)  # its own descriptor so half-close never closes the output

    # ---- the loop ------------------------------------------------------------------------------

    def serve(self) -> None:
        assert self.listener is not None
        while True:
            self._finalize_due()
            if self.shutting_down and self.container.exit is not None and not any(c.outbuf for c in self.conns.values()):
                break
            self._sync()
            for handler, mask in self.sel.select(self._timeout()):
                handler(mask)
        self.close()

    def _timeout(self) -> float | None:
        deadlines = [p.exited_mono + DRAIN_GRACE for p in self._procs() if p.status is not None and p.exit is None]
        if self.shutting_down:
            deadlines.append(time.monotonic() + 0.1)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _procs(self) -> list[Proc]:
        return [self.container, *self.execs.values()]

    def _sync(self) -> None:
        """Make the selector match what every fd wants right now (few fds: recomputing is cheap)."""
        want: dict[int, tuple[int, Handler]] = {}
        assert self.listener is not None
        want[self.listener.fileno()] = (EVENT_READ, self._on_accept)
        want[self.wake_r.fileno()] = (EVENT_READ, self._on_wake)
        for proc in self._procs():
            if not proc.lagging():
                for fd, stream in proc.sources.items():
                    want[fd] = (EVENT_READ, self._source_handler(proc, fd, stream))
            if proc.stdin_fd >= 0 and proc.stdin_buf:
                want[proc.stdin_fd] = (EVENT_WRITE, self._stdin_handler(proc))
        for fd, conn in self.conns.items():
            events = 0 if conn.read_closed else EVENT_READ
            if conn.outbuf:
                events |= EVENT_WRITE
            if events:
                want[fd] = (events, self._conn_handler(conn))
        for fd in list(self.registered):
            if fd not in want:
                self.sel.unregister(fd)
                del self.registered[fd]
        for fd, (events, handler) in want.items():
            if fd not in self.registered:
                self.sel.register(fd, events, handler)
            else:
                self.sel.modify(fd, events, handler)  # same events: only the data changes, no syscall
            self.registered[fd] = (events, handler)

    def _forget(self, fd: int) -> None:
        if self.registered.pop(fd, None) is not None:
            self.sel.unregister(fd)

    def _close_fd(self, fd: int) -> None:
        self._forget(fd)
        os.close(fd)

    # ---- handlers ------------------------------------------------------------------------------

    def _on_accept(self, _mask: int) -> None:
        assert self.listener is not None
        try:
            sock = accept(self.listener)
        except BlockingIOError:
            return
        self.conns[sock.fileno()] = Conn(sock)

    def _on_wake(self, _mask: int) -> None:
        try:
            while self.wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        self.reap()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for proc in self._procs():
                if proc.pid == pid and proc.status is None:
                    proc.status = status
                    proc.exited_ns = time.time_ns()
                    proc.exited_mono = time.monotonic()

    def _source_handler(self, proc: Proc, fd: int, stream: str) -> Handler:
        def on_read(_mask: int) -> None:
            try:
                data = os.read(fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: the pty's last slave closed
                    raise
                data = b""
            if data:
                proc.deliver(stream, data)
                return
            del proc.sources[fd]
            proc.writer.end_stream(stream)
            self._close_fd(fd)
            if fd == proc.master:
                proc.master = -1
        return on_read

    def _stdin_handler(self, proc: Proc) -> Handler:
        def on_write(_mask: int) -> None:
            try:
                sent = os.write(proc.stdin_fd, proc.stdin_buf)
            except BlockingIOError:
                return
            except OSError:
                proc.stdin_buf.clear()
                self._close_stdin(proc)
                return
            del proc.stdin_buf[:sent]
            if not proc.stdin_buf and proc.stdin_closing:
                self._close_stdin(proc)
        return on_write

    def _close_stdin(self, proc: Proc) -> None:
        if proc.stdin_fd >= 0:
            self._close_fd(proc.stdin_fd)
            proc.stdin_fd = -1

    def _half_close_stdin(self, proc: Proc) -> None:
        if proc.tty:
            return  # a terminal has no EOF to give; the pty stays open for output
        proc.stdin_closing = True
        if not proc.stdin_buf:
            self._close_stdin(proc)

    def _conn_handler(self, conn: Conn) -> Handler:
        def on_event(mask: int) -> None:
            if mask & EVENT_READ:
                self._conn_read(conn)
            if mask & EVENT_WRITE and conn.sock.fileno() >= 0:
                self._conn_write(conn)
        return on_event

    def _drop(self, conn: Conn) -> None:
        fd = conn.sock.fileno()
        if fd >= 0:
            self._forget(fd)
            self.conns.pop(fd, None)
        conn.sock.close()
        for proc in self._procs():
            if conn in proc.attached:
                proc.attached.remove(conn)
            if conn in proc.waiters:
                proc.waiters.remove(conn)

    def _conn_read(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn)
            return
        if not data:
            conn.read_closed = True
            if conn.proc is not None:
                if conn.stdin and conn.close_stdin:
                    self._half_close_stdin(conn.proc)
            elif not conn.outbuf and not conn.parked:
                self._drop(conn)
            return
        if conn.proc is not None:
            self._stdin_data(conn, data)
            return
        conn.decoder.feed(data)
        self._process(conn)

    def _stdin_data(self, conn: Conn, data: bytes) -> None:
        proc = conn.proc
        if conn.stdin and proc is not None and proc.stdin_fd >= 0 and not proc.stdin_closing:
            proc.stdin_buf += data

    def _conn_write(self, conn: Conn) -> None:
        try:
            sent = conn.sock.send(conn.outbuf)
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn)
            return
        del conn.outbuf[:sent]
        if not conn.outbuf and conn.close_when_flushed:
            self._drop(conn)

    def _process(self, conn: Conn) -> None:
        while conn.proc is None and not conn.parked:
            try:
                request = conn.decoder.next_message()
            except protocol.ProtocolError as exc:
                conn.send(protocol.encode_message(protocol.fail(exc)))
                conn.close_when_flushed = True
                return
            if request is None:
                return
            try:
                response = self.handle(conn, request)
            except errors.DockyardError as exc:
                response = protocol.fail(exc)
            except Exception as exc:  # keep serving: a bug in one request must not kill the container's shim
                response = protocol.fail(errors.DockyardError(f"shim: {type(exc).__name__}: {exc}"))
            if response is not None:
                self._respond(conn, response)
                conn.send(conn.after_response)
                conn.after_response = b""
        if conn.proc is not None:
            rest = conn.decoder.rest()
            if rest:
                self._stdin_data(conn, rest)

    def _respond(self, conn: Conn, response: JSONObject) -> None:
        conn.send(protocol.encode_message(response))

    # ---- requests ------------------------------------------------------------------------------

    def handle(self, conn: Conn, request: JSONObject) -> JSONObject | None:
        op = request.get("op")
        if op == "state":
            return protocol.ok(self.state().to_json())
        if op == "start":
            return self._start()
        if op == "kill":
            return self._kill(str(request.get("signal", "KILL")), bool(request.get("all", False)))
        if op == "resize":
            return self._resize(self.container, request)
        if op == "wait":
            return self._wait(conn, self.container)
        if op == "attach":
            return self._attach(conn, self.container, request, logs=bool(request.get("logs", False)))
        if op == "exec":
            return self._exec(conn, request)
        if op == "exec_attach":
            return self._attach(conn, self._exec_proc(request), request, logs=False)
        if op == "exec_wait":
            return self._wait(conn, self._exec_proc(request))
        if op == "exec_resize":
            return self._resize(self._exec_proc(request), request)
        if op == "exec_kill":
            return self._exec_kill(self._exec_proc(request), request)
        if op == "exec_state":
            proc = self._exec_proc(request)
            return protocol.ok({"id": proc.key, "pid": proc.pid, "running": proc.exit is None,
                                "exit": proc.exit.to_json() if proc.exit else None})
        if op == "shutdown":
            return self._shutdown(bool(request.get("force", False)))
        raise errors.InvalidArgument(f"unknown shim request {op!r}")

    def status(self) -> str:
        if self.container.exit is not None:
            return "stopped"
        return "running" if self.started else "created"

    def state(self) -> protocol.ShimState:
        return protocol.ShimState(id=self.config.id, pid=self.container.pid, status=self.status(),
                                  tty=self.config.tty, started_at=self.started_at, exit=self.container.exit)

    def _start(self) -> JSONObject:
        if self.status() != "created":
            raise errors.Conflict(f"container {self.config.id} is {self.status()}, not created")
        result = self.runtime.run("start", self.config.id)
        if result.returncode != 0:
            raise errors.FailedPrecondition(runtime_message(result.stderr + result.stdout)
                                            or f"runtime start exited with status {result.returncode}")
        self.started = True
        self.started_at = logfile.format_time(time.time_ns())
        return protocol.ok(self.state().to_json())

    def _kill(self, sig: str, all_procs: bool) -> JSONObject:
        if self.container.status is not None or self.container.exit is not None:
            raise errors.Conflict(f"Container {self.config.id} is not running")
        args = ["kill", *(["--all"] if all_procs else []), self.config.id, sig]
        result = self.runtime.run(*args)
        if result.returncode != 0:
            self.reap()
            if self.container.status is not None:
                raise errors.Conflict(f"Container {self.config.id} is not running")
            raise errors.FailedPrecondition(runtime_message(result.stderr + result.stdout)
                                            or f"runtime kill exited with status {result.returncode}")
        return protocol.ok()

    def _resize(self, proc: Proc, request: JSONObject) -> JSONObject:
        height, width = request.get("height"), request.get("width")
        if not isinstance(height, int) or not isinstance(width, int) or height < 0 or width < 0:
            raise errors.InvalidArgument("resize needs non-negative integer height and width")
        if not proc.tty:
            raise errors.FailedPrecondition("cannot resize: the process has no terminal")
        if proc.master >= 0:
            set_winsize(proc.master, height, width)
        return protocol.ok()

    def _wait(self, conn: Conn, proc: Proc) -> JSONObject | None:
        if proc.exit is not None:
            return protocol.ok({"exit": proc.exit.to_json()})
        conn.parked = True
        proc.waiters.append(conn)
        return None

    def _attach(self, conn: Conn, proc: Proc, request: JSONObject, *, logs: bool) -> JSONObject:
        want = frozenset(s for s in ("stdout", "stderr") if request.get(s, True))
        stdin = bool(request.get("stdin", False))
        if stdin and proc.stdin_fd < 0 and proc.exit is None and not proc.stdin_closing:
            raise errors.FailedPrecondition("the process was not started with stdin open")
        conn.proc, conn.want, conn.stdin = proc, want, stdin
        conn.close_stdin = bool(request.get("close_stdin", True))
        if logs and self.config.log_driver != "none":
            replay = bytearray()
            for entry in logfile.read_logs(self.config.log_path, stdout="stdout" in want, stderr="stderr" in want):
                replay += entry.line if proc.tty else stdcopy.encode(stdcopy.stream_type(entry.stream), entry.line)
            conn.after_response = bytes(replay)
        if proc.exit is not None:
            conn.close_when_flushed = True
        else:
            proc.attached.append(conn)
        return protocol.ok({"tty": proc.tty})

    def _exec_proc(self, request: JSONObject) -> Proc:
        key = str(request.get("id", ""))
        proc = self.execs.get(key)
        if proc is None:
            raise errors.NotFound(f"No such exec instance: {key}")
        return proc

    def _exec(self, conn: Conn, request: JSONObject) -> JSONObject:
        if self.status() != "running" or self.container.status is not None:
            raise errors.Conflict(f"Container {self.config.id} is not running")
        process = request.get("process")
        if not isinstance(process, str) or not process:
            raise errors.InvalidArgument("exec needs the path of a process.json")
        key = str(request.get("id") or os.urandom(16).hex())
        if key in self.execs:
            raise errors.AlreadyExists(f"exec {key} exists already")
        tty, stdin = bool(request.get("tty", False)), bool(request.get("stdin", False))
        proc = Proc(key, tty=tty, writer=logfile.NullWriter())
        size = _size_of(request)
        if tty and size is not None:
            process = self._with_console_size(process, key, size)
        pid_file = self.path(f"exec-{key}.pid")
        args = ["exec", "--detach", "--process", process, "--pid-file", pid_file]
        child_fds: list[int] = []
        console: _socket.socket | None = None
        console_path = self.socket_path(f"exec-{key[:12]}.sock")
        if tty:
            console = unix_stream_socket()
            console.bind(console_path)
            console.listen(1)
            args += ["--console-socket", self.runtime_socket_path(f"exec-{key[:12]}.sock", self.config.state_dir)]
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            child_fds.append(out_w)
            stdio: tuple[int, int, int] = (runner.DEVNULL, out_w, out_w)
            err_r = out_r
        else:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            child_fds += [out_w, err_w]
            stdin_fd: int = runner.DEVNULL
            if stdin:
                in_r, in_w = os.pipe2(os.O_CLOEXEC)
                child_fds.append(in_r)
                stdin_fd, proc.stdin_fd = in_r, in_w
            stdio = (stdin_fd, out_w, err_w)
        master = -1
        failure: runner.RuntimeFailure | None = None
        try:
            if isinstance(self.runtime, runner.ForkedRuntime):
                console_socket = args[args.index("--console-socket") + 1] if console is not None else None
                try:
                    proc.pid = self.runtime.exec_detached(self.config.id, process, stdio=stdio,
                                                          console_socket=console_socket)
                except runner.RuntimeFailure as exc:
                    failure = exc
                child: runner.Child = runner.Finished(0 if failure is None else failure.exit_code)
            else:
                child = self.runtime.spawn(*args, self.config.id, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2],
                                           cwd=self.config.state_dir)
            for fd in child_fds:
                os.close(fd)
            child_fds = []
            if console is not None:
                master = self._receive_console(console, child)
            rc = child.wait()
        finally:
            for fd in child_fds:
                os.close(fd)
            if console is not None:
                console.close()
                os.unlink(console_path)
            if process.startswith(self.path("exec-")):
                os.unlink(process)  # our sized copy
        if rc != 0:
            # The runtime failed before the process ran, so the pipes hold its error message.
            output = b""
            for fd in {out_r, err_r}:
                os.set_blocking(fd, False)
                output += _read_available(fd)
                os.close(fd)
            for fd in (proc.stdin_fd, master):
                if fd >= 0:
                    os.close(fd)
            message = (failure.message if failure is not None else runtime_message(output)) \
                or f"runtime exec exited with status {rc}"
            raise protocol.ExecFailed(message, protocol.exit_code_for_error(message))
        if failure is None and not proc.pid:
            with open(pid_file) as f:
                proc.pid = int(f.read().strip())
            os.unlink(pid_file)
        if tty:
            os.close(out_r)
            if master < 0:
                os.kill(proc.pid, _signal.SIGKILL)  # reaped as an unknown child by the loop
                raise protocol.ExecFailed("the runtime sent no terminal on the console socket", 126)
            self._adopt_master(proc, master, size, stdin=stdin)
        else:
            for fd in (out_r, err_r):
                os.set_blocking(fd, False)
            proc.sources = {out_r: "stdout", err_r: "stderr"}
            if proc.stdin_fd >= 0:
                os.set_blocking(proc.stdin_fd, False)
        self.execs[key] = proc
        self.reap()
        if request.get("detach", False):
            return protocol.ok({"id": key, "pid": proc.pid})
        conn.proc, conn.want, conn.stdin = proc, frozenset({"stdout", "stderr"}), stdin
        proc.attached.append(conn)
        return protocol.ok({"id": key, "pid": proc.pid, "tty": tty})

    def _with_console_size(self, process: str, key: str, size: tuple[int, int]) -> str:
        # The runtime sizes the pty before the process runs; setting it afterwards would race it.
        try:
            with open(process) as f:
                spec = jsonfast.loads(f.read())
        except (OSError, ValueError) as exc:
            raise errors.InvalidArgument(f"cannot read {process}: {exc}") from exc
        spec["consoleSize"] = {"height": size[0], "width": size[1]}
        sized = self.path(f"exec-{key}.json")
        write_atomic(sized, jsonfast.dumps(spec).encode())
        return sized

    def _exec_kill(self, proc: Proc, request: JSONObject) -> JSONObject:
        sig = request.get("signal", _signal.SIGKILL)
        signo = sig if isinstance(sig, int) else signal_number(str(sig))
        if proc.status is None and proc.pid > 0:
            os.kill(proc.pid, signo)
        return protocol.ok()

    def _shutdown(self, force: bool) -> JSONObject:
        if self.container.exit is None:
            if not force:
                raise errors.Conflict(f"container {self.config.id} is still {self.status()}")
            self.runtime.run("kill", self.config.id, "KILL")
        self.shutting_down = True
        return protocol.ok()

    # ---- exits ---------------------------------------------------------------------------------

    def _finalize_due(self) -> None:
        now = time.monotonic()
        for proc in self._procs():
            if proc.status is not None and proc.exit is None and (
                    not proc.sources or now >= proc.exited_mono + DRAIN_GRACE):
                self._finalize(proc)

    def _finalize(self, proc: Proc) -> None:
        assert proc.status is not None
        for fd, stream in list(proc.sources.items()):
            proc.writer.end_stream(stream)
            self._close_fd(fd)
        proc.sources.clear()
        proc.master = -1
        self._close_stdin(proc)
        code = protocol.exit_code_from_status(proc.status)
        oom = False
        if proc is self.container:
            if os.WIFSIGNALED(proc.status) and os.WTERMSIG(proc.status) == _signal.SIGKILL:
                oom = cgroup.oom_killed(self.cgroup_dir)
            proc.writer.close()
        proc.exit = ExitInfo(exit_code=code, oom_killed=oom, finished_at=logfile.format_time(proc.exited_ns))
        if proc is self.container:
            write_atomic(self.path(EXIT_FILE), jsonfast.dumps(proc.exit.to_json()).encode())
            result = self.runtime.run("delete", "--force", self.config.id)
            if result.returncode != 0:
                sys.stderr.write(f"runtime delete: {runtime_message(result.stderr)}\n")
        for conn in proc.waiters:
            conn.parked = False
            self._respond(conn, protocol.ok({"exit": proc.exit.to_json()}))
        proc.waiters.clear()
        for conn in proc.attached:
            conn.close_when_flushed = True
            if not conn.outbuf:
                self._drop_later(conn)
        proc.attached.clear()
        for conn in list(self.conns.values()):
            if not conn.parked and conn.proc is None:
                self._process(conn)

    def _drop_later(self, conn: Conn) -> None:
        # An empty buffer never triggers a write event: close it here.
        self._drop(conn)

    def fail_create(self, exc: protocol.CreateFailed) -> None:
        info = ExitInfo(exit_code=exc.exit_code, finished_at=logfile.format_time(time.time_ns()), error=exc.message)
        write_atomic(self.path(EXIT_FILE), jsonfast.dumps(info.to_json()).encode())

    def close(self) -> None:
        for conn in list(self.conns.values()):
            self._drop(conn)
        if self.listener is not None:
            self._forget(self.listener.fileno())
            self.listener.close()
            try:
                os.unlink(self.path(SOCKET_NAME))
            except FileNotFoundError:
                pass
        self.container.writer.close()


def _size_of(request: JSONObject) -> tuple[int, int] | None:
    height, width = request.get("height"), request.get("width")
    if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
        return height, width
    return None


def _read_available(fd: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except (BlockingIOError, OSError):
            return out
        if not chunk:
            return out
        out += chunk


def _read_until_eof(fd: int, deadline: float) -> bytes:
    """A failed runtime's output; bounded in time in case a stray process still holds the pipe."""
    os.set_blocking(fd, False)
    out = b""
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        if not chunk:
            break
        out += chunk
    return out

"""A warm process that forks ready shims: ``dockyard-shim --launcher SOCKET``.

Starting a shim as a new program costs an interpreter start and the imports of the shim and of
our runtime, once per container. The launcher pays them once: it imports everything, freezes
the heap (the garbage collector then leaves those objects' pages alone, so forked shims keep
sharing them), and for each request forks twice — the shim ends up in its own session,
reparented away from both the launcher and the daemon, exactly like an executed shim.

The launcher is the daemon's child and dies with it (parent-death signal); shims do not depend
on it. Each shim rewrites its command line to the one an executed shim would have.
Protocol, one request per connection: the client sends the shim's arguments as one JSON
line; the connection itself becomes the shim's ``--ready-fd``, so the client reads the create
outcome from it until EOF, as it would from the pipe it passes an executed shim.
"""

from __future__ import annotations

import _signal
import _socket
import gc
import os
import sys

from dockyard.runtime import jsonfast
from dockyard.sys import process

MAX_REQUEST = 64 * 1024
# Packages a shim runs: imported before forking so that no shim imports them again.
WARM_PACKAGES = ("dockyard.shim", "dockyard.runtime", "dockyard.sys")
WARM_MODULES = ("termios", "fcntl", "struct", "zlib", "select", "_json")
# What a shim never runs (the daemon's side of the shim protocol and of the network, this
# launcher). Every shim's memory holds what the launcher imported; these modules, and the
# ``socket``, ``signal``, ``json``, ``typing`` or ``subprocess`` modules they would bring, stay out.
COLD_MODULES = ("dockyard.shim.client", "dockyard.shim.launcher", "dockyard.runtime.cli", "dockyard.sys.netns")


def _import(name: str) -> object:
    __import__(name)
    return sys.modules[name]


def warm_up() -> None:
    for name in WARM_MODULES:
        _import(name)
    for package_name in WARM_PACKAGES:
        for name in _modules_of(package_name):
            if not name.endswith("__main__") and name not in COLD_MODULES:
                try:
                    _import(name)
                except ImportError:
                    pass  # an optional module this host cannot load: a shim would not either


def _modules_of(package_name: str) -> list[str]:
    """The modules of a package and its subpackages, from its directory (pkgutil would import
    inspect and more, into every shim)."""
    package = _import(package_name)
    names = []
    for directory in package.__path__:  # type: ignore[attr-defined]
        for entry in sorted(os.listdir(directory)):
            path = os.path.join(directory, entry)
            if entry.endswith(".py") and entry != "__init__.py":
                names.append(f"{package_name}.{entry[:-3]}")
            elif os.path.isfile(os.path.join(path, "__init__.py")):
                names.append(f"{package_name}.{entry}")
                names.extend(_modules_of(f"{package_name}.{entry}"))
    return names


TITLE_ROOM = 4096  # bytes of command line the daemon reserves for each forked shim's own


def serve(socket_path: str, *, parent_pid: int = 0) -> int:
    process.set_parent_death_signal(_signal.SIGKILL)
    if parent_pid and os.getppid() != parent_pid:
        return 0  # the daemon is gone already
    # Our command line carries padding (--title-room): show it without, keeping the room.
    process.rewrite_cmdline([sys.executable, sys.argv[0], "--launcher", socket_path, "--parent-pid", str(parent_pid)])
    warm_up()
    directory, name = os.path.split(os.path.abspath(socket_path))
    os.chdir(directory)  # bind by the short name: the full path may not fit in sockaddr_un
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass
    listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    old_umask = os.umask(0o177)
    try:
        listener.bind(name)
    finally:
        os.umask(old_umask)
    listener.listen(128)
    gc.collect()
    gc.freeze()
    while True:
        fd, _ = listener._accept()  # type: ignore[attr-defined]
        conn = _socket.socket(fileno=fd)
        try:
            argv = _read_request(conn)
            if argv is not None:
                _fork_shim(listener, conn, argv)
        except OSError as exc:
            sys.stderr.write(f"dockyard-shim launcher: {exc}\n")
        finally:
            conn.close()


def _read_request(conn: _socket.socket) -> list[str] | None:
    conn.settimeout(10)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(MAX_REQUEST)
        if not chunk or len(data) + len(chunk) > MAX_REQUEST:
            return None
        data += chunk
    try:
        request = jsonfast.loads(data)
    except ValueError:
        return None
    argv = request.get("argv") if isinstance(request, dict) else None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return None
    return argv


def _fork_shim(listener: _socket.socket, conn: _socket.socket, argv: list[str]) -> None:
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            listener.close()
            os.setsid()
            if os.fork() == 0:
                code = _run_shim(conn, argv)
            else:
                code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)  # the middle process exits at once


def _run_shim(conn: _socket.socket, argv: list[str]) -> int:
    from dockyard.shim.main import main

    # ps, pgrep and leak checks find a shim by its arguments, as if it had been executed.
    process.rewrite_cmdline([sys.executable, sys.argv[0], *argv])
    conn.settimeout(None)
    try:
        return main([*argv, "--ready-fd", str(conn.fileno())])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - the shim's log is where this goes
        try:
            sys.stderr.write(f"dockyard-shim: {exc}\n")
        except BaseException:  # noqa: BLE001, S110 - nowhere left to say it
            pass
        return 1
    finally:
        try:
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001, S110 - exiting either way
            pass

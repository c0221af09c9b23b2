"""``dockyard-shim``: supervise one container, outliving the daemon that started it."""

from __future__ import annotations

import os
import sys

from dockyard.runtime import jsonfast
from dockyard.shim import protocol
from dockyard.shim.supervisor import PID_FILE, ShimConfig, Supervisor
from dockyard.sys import process

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any


def _size(text: str) -> tuple[int, int]:
    height, sep, width = text.lower().partition("x")
    if not sep or not height.isdigit() or not width.isdigit():
        raise ValueError(f"console size must be HEIGHTxWIDTH, not {text!r}")
    return int(height), int(width)


# The command lines the daemon and the launcher give, parsed without argparse (which would be in
# every forked shim's memory): option -> (attribute, conversion); anything else goes to argparse.
_SHIM_OPTIONS: dict[str, tuple[str, Any]] = {
    "--id": ("id", str), "--bundle": ("bundle", str), "--runtime": ("runtime", str),
    "--runtime-root": ("runtime_root", str), "--state-dir": ("state_dir", str), "--log-path": ("log_path", str),
    "--log-driver": ("log_driver", str), "--log-max-size": ("log_max_size", int),
    "--log-max-file": ("log_max_file", int), "--log-compress": ("log_compress", str),
    "--log-attrs": ("log_attrs", str),
    "--console-size": ("console_size", _size), "--ready-fd": ("ready_fd", int),
}
_SHIM_SWITCHES = {"--tty": "tty", "--stdin": "stdin", "--daemonize": "daemonize", "--exec-runtime": "exec_runtime"}
_SHIM_DEFAULTS: dict[str, Any] = {"log_path": "", "log_driver": "json-file", "log_max_size": None, "log_max_file": None,
                                  "log_compress": None, "log_attrs": "", "console_size": None, "ready_fd": -1, "tty": False,
                                  "stdin": False, "daemonize": False, "exec_runtime": False}
_SHIM_REQUIRED = ("id", "bundle", "runtime", "runtime_root", "state_dir")
_LAUNCHER_OPTIONS: dict[str, tuple[str, Any]] = {
    "--launcher": ("launcher", str), "--parent-pid": ("parent_pid", int), "--title-room": ("title_room", str)}


class _Args:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _fast_parse(argv: list[str], options: dict[str, tuple[str, Any]], switches: dict[str, str],
                defaults: dict[str, Any], required: tuple[str, ...]) -> Any:
    """The parsed options, or None for anything unusual (argparse then says what is wrong)."""
    values = dict(defaults)
    i = 0
    try:
        while i < len(argv):
            arg = argv[i]
            if arg in switches:
                values[switches[arg]] = True
                i += 1
                continue
            name, eq, value = arg.partition("=")
            if name not in options:
                return None
            if not eq:
                if i + 1 >= len(argv):
                    return None
                value = argv[i + 1]
                i += 1
            i += 1
            dest, convert = options[name]
            values[dest] = convert(value)
    except ValueError:
        return None
    if any(name not in values for name in required):
        return None
    if values.get("log_driver", "json-file") not in ("json-file", "local", "none") \
            or values.get("log_compress") not in (None, "true", "false"):
        return None
    return _Args(values)


def _parser() -> argparse.ArgumentParser:
    import argparse

    def size(text: str) -> tuple[int, int]:
        try:
            return _size(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    p = argparse.ArgumentParser(prog="dockyard-shim", description="Supervise one container.")
    p.add_argument("--id", required=True)
    p.add_argument("--bundle", required=True)
    p.add_argument("--runtime", required=True, help="the OCI runtime binary (runc command line)")
    p.add_argument("--runtime-root", required=True)
    p.add_argument("--state-dir", required=True, help="holds shim.sock, exit.json, pid and shim.log")
    p.add_argument("--log-path", default="")
    p.add_argument("--log-driver", default="json-file", choices=("json-file", "local", "none"))
    p.add_argument("--log-max-size", type=int, default=None, help="bytes; 0: unbounded; default: the driver's")
    p.add_argument("--log-max-file", type=int, default=None, help="default: the driver's")
    p.add_argument("--log-attrs", default="", help="a JSON file of the attributes json-file entries carry")
    p.add_argument("--log-compress", choices=("true", "false"), default=None,
                   help="compress rotated files (local driver); default: the driver's")
    p.add_argument("--tty", action="store_true")
    p.add_argument("--stdin", action="store_true", help="keep the container's stdin open for attach")
    p.add_argument("--console-size", type=size, default=None, metavar="HxW")
    p.add_argument("--ready-fd", type=int, default=-1, help="write the create outcome (JSON) here, then close")
    p.add_argument("--daemonize", action="store_true", help="fork and let the parent exit at once")
    p.add_argument("--exec-runtime", action="store_true",
                   help="execute dockyard-runtime for each command instead of forking it in-process")
    return p


def _launcher_parser() -> argparse.ArgumentParser:
    import argparse

    p = argparse.ArgumentParser(prog="dockyard-shim --launcher", description="Fork ready shims on request.")
    p.add_argument("--launcher", required=True, metavar="SOCKET")
    p.add_argument("--parent-pid", type=int, default=0, help="exit at once unless this is still our parent")
    p.add_argument("--title-room", default="", help="padding: room for the forked shims' command lines")
    return p


def _report(fd: int, message: protocol.JSONObject) -> None:
    if fd < 0:
        return
    try:
        os.write(fd, jsonfast.dumps(message).encode())
    finally:
        os.close(fd)


def _redirect_stdio(state_dir: str) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(os.path.join(state_dir, "shim.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)


def _read_attrs(path: str) -> dict[str, str] | None:
    # in a file rather than on the command line, where every user could read them
    if not path:
        return None
    with open(path, "rb") as f:
        attrs = jsonfast.loads(f.read())
    if not isinstance(attrs, dict):
        raise ValueError(f"{path}: not a JSON object")
    return {str(k): str(v) for k, v in attrs.items()}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--launcher":
        from dockyard.shim import launcher

        options = _fast_parse(argv, _LAUNCHER_OPTIONS, {}, {"parent_pid": 0, "title_room": ""}, ("launcher",)) \
            or _launcher_parser().parse_args(argv)
        return launcher.serve(options.launcher, parent_pid=options.parent_pid)
    args = _fast_parse(argv, _SHIM_OPTIONS, _SHIM_SWITCHES, _SHIM_DEFAULTS, _SHIM_REQUIRED) \
        or _parser().parse_args(argv)
    if args.log_driver != "none" and not args.log_path:
        _parser().error("--log-path is required unless --log-driver none")
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    if args.daemonize and os.fork() != 0:
        # The spawner reaps this parent at once; the shim is reparented away from the daemon.
        os._exit(0)
    _redirect_stdio(state_dir)
    with open(os.path.join(state_dir, PID_FILE), "w") as f:
        f.write(str(os.getpid()))
    process.set_child_subreaper()
    config = ShimConfig(id=args.id, bundle=os.path.abspath(args.bundle), runtime=args.runtime,
                        runtime_root=args.runtime_root, state_dir=state_dir, log_path=args.log_path,
                        log_driver=args.log_driver, log_max_size=args.log_max_size, log_max_file=args.log_max_file,
                        log_compress=None if args.log_compress is None else args.log_compress == "true",
                        log_attrs=_read_attrs(args.log_attrs),
                        tty=args.tty, stdin=args.stdin, console_size=args.console_size,
                        in_process_runtime=not args.exec_runtime)
    supervisor = Supervisor(config)
    supervisor.listen()
    try:
        supervisor.create()
    except protocol.CreateFailed as exc:
        supervisor.fail_create(exc)
        supervisor.close()
        failure = protocol.fail(exc)
        failure["exit_code"] = exc.exit_code
        failure["stderr"] = exc.stderr
        _report(args.ready_fd, failure)
        sys.stderr.write(f"create failed: {exc}\n")
        os.unlink(os.path.join(state_dir, PID_FILE))
        return 1
    _report(args.ready_fd, protocol.ok({"pid": supervisor.container.pid}))
    supervisor.serve()
    os.unlink(os.path.join(state_dir, PID_FILE))
    return 0


if __name__ == "__main__":
    sys.exit(main())

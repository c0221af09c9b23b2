"""``dockyard-runtime``: the runc command line (global flags, then a verb); ``cli`` is its entry point."""

from __future__ import annotations

import os
import sys

from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.runtime import lifecycle
from dockyard.runtime.state import StateDir, list_ids, oci_state

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

DEFAULT_ROOT = "/run/dockyard/runtime"


def _parser() -> argparse.ArgumentParser:
    import argparse

    p = argparse.ArgumentParser(prog="dockyard-runtime")
    p.add_argument("--root", default=DEFAULT_ROOT)
    p.add_argument("--log", default="")
    p.add_argument("--log-format", default="text", choices=("text", "json"))
    p.add_argument("--debug", action="store_true")
    p.add_argument("--systemd-cgroup", action="store_true")
    sub = p.add_subparsers(dest="verb", required=True)

    def with_id(name: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name)
        sp.add_argument("id")
        return sp

    for name in ("create", "run"):
        sp = with_id(name)
        sp.add_argument("--bundle", "-b", default=".")
        sp.add_argument("--pid-file", default=None)
        sp.add_argument("--console-socket", default=None)
        sp.add_argument("--preserve-fds", type=int, default=0)
        sp.add_argument("--no-pivot", action="store_true")
        sp.add_argument("--no-new-keyring", action="store_true")
        if name == "run":
            sp.add_argument("--detach", "-d", action="store_true")
    with_id("start")
    sp = with_id("state")
    sp = with_id("kill")
    sp.add_argument("signal", nargs="?", default="TERM")
    sp.add_argument("--all", "-a", action="store_true")
    sp = with_id("delete")
    sp.add_argument("--force", "-f", action="store_true")
    with_id("pause")
    with_id("resume")
    sp = with_id("ps")
    sp.add_argument("--format", "-f", default="table", choices=("table", "json"))
    sp.add_argument("ps_args", nargs=argparse.REMAINDER)
    sp = with_id("events")
    sp.add_argument("--stats", action="store_true")
    sp = sub.add_parser("list")
    sp.add_argument("--format", "-f", default="table", choices=("table", "json"))
    sp.add_argument("--quiet", "-q", action="store_true")
    sub.add_parser("features")
    sp = sub.add_parser("spec")
    sp.add_argument("--bundle", "-b", default=".")
    sp.add_argument("--rootless", action="store_true")
    sp = with_id("exec")
    sp.add_argument("--process", "-p", default=None)
    sp.add_argument("--tty", "-t", action="store_true")
    sp.add_argument("--env", "-e", action="append", default=[])
    sp.add_argument("--cwd", default=None)
    sp.add_argument("--user", "-u", default=None)
    sp.add_argument("--additional-gids", "-g", action="append", default=[])
    sp.add_argument("--cap", "-c", action="append", default=[])
    sp.add_argument("--no-new-privs", action="store_true")
    sp.add_argument("--detach", "-d", action="store_true")
    sp.add_argument("--pid-file", default=None)
    sp.add_argument("--console-socket", default=None)
    sp.add_argument("--preserve-fds", type=int, default=0)
    sp.add_argument("args", nargs=argparse.REMAINDER)
    return p


class _Log:
    def __init__(self, path: str, fmt: str) -> None:
        self.path = path
        self.fmt = fmt

    def error(self, message: str) -> None:
        if not self.path:
            return
        import json
        from datetime import UTC, datetime

        now = datetime.now(UTC).isoformat()
        line = (json.dumps({"level": "error", "msg": message, "time": now}) if self.fmt == "json"
                else f'time="{now}" level=error msg="{message}"')
        try:
            with open(self.path, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args: Any = _fast_parse(argv) or _parser().parse_args(argv)
    log = _Log(args.log, args.log_format)
    try:
        return _dispatch(args)
    except (DockyardError, OSError) as exc:
        from dockyard.runtime.executor import exec_failure_text, failure_text

        return _report(log, *(exec_failure_text(exc) if args.verb == "exec" else failure_text(exc)))


class _Args:
    """What argparse would produce for the common verbs (see ``_fast_parse``)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


_GLOBAL_VALUES = {"--root": "root", "--log": "log", "--log-format": "log_format"}
_GLOBAL_SWITCHES = {"--debug": "debug", "--systemd-cgroup": "systemd_cgroup"}
_VERB_VALUES = {
    "create": {"--bundle": "bundle", "-b": "bundle", "--pid-file": "pid_file", "--console-socket": "console_socket",
               "--preserve-fds": "preserve_fds"},
    "start": {}, "state": {}, "kill": {}, "delete": {},
    # exec only as shims call it: the whole process in a --process file
    "exec": {"--process": "process", "-p": "process", "--pid-file": "pid_file", "--console-socket": "console_socket",
             "--preserve-fds": "preserve_fds"},
}
_VERB_VALUES["run"] = _VERB_VALUES["create"]
_VERB_SWITCHES = {
    "create": {"--no-pivot": "no_pivot", "--no-new-keyring": "no_new_keyring"},
    "run": {"--no-pivot": "no_pivot", "--no-new-keyring": "no_new_keyring", "--detach": "detach", "-d": "detach"},
    "start": {}, "state": {}, "kill": {"--all": "all", "-a": "all"}, "delete": {"--force": "force", "-f": "force"},
    "exec": {"--detach": "detach", "-d": "detach"},
}


def _fast_parse(argv: list[str]) -> _Args | None:
    """The verbs a container's life goes through, parsed without building argparse's parser
    (which costs more than the rest of ``run``); anything unusual (help, other verbs, odd
    spellings, errors) returns None and goes to argparse."""
    values: dict[str, Any] = {"root": DEFAULT_ROOT, "log": "", "log_format": "text", "debug": False,
                              "systemd_cgroup": False}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        key, eq, val = argv[i].partition("=")
        if key in _GLOBAL_VALUES:
            if not eq:
                if i + 1 >= len(argv):
                    return None
                i += 1
                val = argv[i]
            values[_GLOBAL_VALUES[key]] = val
        elif key in _GLOBAL_SWITCHES and not eq:
            values[_GLOBAL_SWITCHES[key]] = True
        else:
            return None
        i += 1
    if i >= len(argv) or argv[i] not in _VERB_VALUES:
        return None
    verb = argv[i]
    opts, switches = _VERB_VALUES[verb], _VERB_SWITCHES[verb]
    values.update({"verb": verb, "bundle": ".", "pid_file": None, "console_socket": None, "preserve_fds": 0,
                   "no_pivot": False, "no_new_keyring": False, "detach": False, "force": False, "all": False,
                   "process": None, "args": [], "env": [], "cwd": None, "user": None, "additional_gids": [],
                   "cap": [], "no_new_privs": False, "tty": False})
    positional: list[str] = []
    i += 1
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-") and arg != "-":
            key, eq, val = arg.partition("=")
            if key in opts:
                if not eq:
                    if i + 1 >= len(argv):
                        return None
                    i += 1
                    val = argv[i]
                values[opts[key]] = val
            elif key in switches and not eq:
                values[switches[key]] = True
            else:
                return None
        else:
            positional.append(arg)
        i += 1
    wanted = 2 if verb == "kill" else 1
    if not 1 <= len(positional) <= wanted or (verb == "exec" and not values["process"]):
        return None
    values["id"] = positional[0]
    if verb == "kill":
        values["signal"] = positional[1] if len(positional) > 1 else "TERM"
    try:
        values["preserve_fds"] = int(values["preserve_fds"])
    except ValueError:
        return None
    return _Args(**values)


def _report(log: _Log, message: str, code: int) -> int:
    log.error(message)
    print(message, file=sys.stderr)
    return code


def _dispatch(args: Any) -> int:
    verb: str = args.verb
    root: str = args.root
    if verb == "features":
        import json

        from dockyard.runtime.defaults import features

        print(json.dumps(features(), indent=2))
        return 0
    if verb == "spec":
        import json

        from dockyard.runtime.defaults import default_spec

        path = os.path.join(args.bundle, "config.json")
        if os.path.exists(path):
            raise InvalidArgument("File config.json exists. Remove it first")
        with open(path, "w") as f:
            json.dump(default_spec(), f, indent="\t")
        return 0
    if verb == "list":
        return _list(root, args.format, args.quiet)
    sd = StateDir(root, args.id)
    if verb in ("create", "run"):
        from dockyard.runtime.create import CreateOptions, create
        from dockyard.runtime.process import wait_forwarding_signals

        foreground = verb == "run" and not args.detach
        if foreground:
            from dockyard.sys import linux

            linux.set_child_subreaper()
        state = create(CreateOptions(root=root, container_id=args.id, bundle=args.bundle, pid_file=args.pid_file,
                                     console_socket=args.console_socket, preserve_fds=args.preserve_fds))
        if verb == "create":
            return 0
        try:
            lifecycle.start(sd)
        except BaseException:
            lifecycle.delete(sd, force=True)
            raise
        if not foreground:
            return 0
        code = wait_forwarding_signals(state.pid)
        lifecycle.delete(sd, force=True)
        return code
    if verb == "start":
        lifecycle.start(sd)
        return 0
    if verb == "state":
        import json

        state = sd.load()
        print(json.dumps(oci_state(state, sd.status(state)), indent=2))
        return 0
    if verb == "kill":
        lifecycle.kill(sd, lifecycle.parse_signal(args.signal), all_processes=args.all)
        return 0
    if verb == "delete":
        try:
            lifecycle.delete(sd, force=args.force)
        except NotFound:
            if args.force:
                return 0
            raise
        return 0
    if verb == "pause":
        lifecycle.pause(sd)
        return 0
    if verb == "resume":
        lifecycle.resume(sd)
        return 0
    if verb == "ps":
        return _ps(sd, args.format, args.ps_args)
    if verb == "events":
        import json

        st = lifecycle.stats(sd)
        print(json.dumps({"type": "stats", "id": sd.id, "data": {
            "memory": {"usage": {"usage": st.memory_usage, "limit": st.memory_limit, "max": st.memory_max_usage},
                       "oom_kill": st.oom_kills},
            "cpu": {"usage": {"total": st.cpu_usage_ns}},
            "pids": {"current": st.pids_current, "limit": st.pids_limit}}}))
        return 0
    if verb == "exec":
        return _exec(sd, args)
    raise InvalidArgument(f"unknown command {verb}")


def _list(root: str, fmt: str, quiet: bool) -> int:
    rows: list[dict[str, Any]] = []
    for cid in list_ids(root):
        sd = StateDir(root, cid)
        try:
            state = sd.load()
        except (NotFound, ValueError):
            continue
        status = sd.status(state)
        rows.append({"ociVersion": "1.2.0", "id": cid, "pid": state.pid if status != "stopped" else 0,
                     "status": status, "bundle": state.bundle, "rootfs": state.rootfs, "created": state.created,
                     "owner": "root"})
    if quiet:
        for r in rows:
            print(r["id"])
    elif fmt == "json":
        import json

        print(json.dumps(rows or None))
    else:
        print(f"{'ID':<12}{'PID':<10}{'STATUS':<10}{'BUNDLE':<40}{'CREATED':<32}OWNER")
        for r in rows:
            print(f"{r['id']:<12}{r['pid']:<10}{r['status']:<10}{r['bundle']:<40}{r['created']:<32}{r['owner']}")
    return 0


def _ps(sd: StateDir, fmt: str, ps_args: list[str]) -> int:
    import json
    import subprocess

    pids = lifecycle.pids(sd)
    if fmt == "json":
        print(json.dumps(pids))
        return 0
    out = subprocess.run(["ps", *(ps_args or ["-ef"])], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    if not lines:
        return 0
    header = lines[0]
    try:
        col = header.split().index("PID")
    except ValueError:
        raise InvalidArgument("couldn't find PID field in ps output") from None
    print(header)
    wanted = set(pids)
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            print(line)
    return 0


def _exec(sd: StateDir, args: Any) -> int:
    import json

    from dockyard.runtime._json import Node
    from dockyard.runtime.create import ExecOptions, exec_process
    from dockyard.runtime.executor import check_can_exec
    from dockyard.runtime.process import wait_forwarding_signals
    from dockyard.runtime.spec import Capabilities, Process, User, _process

    state = sd.load()
    check_can_exec(sd.status(state))
    spec = lifecycle.load_spec(sd)
    if args.process:
        with open(args.process, "rb") as f:
            process = _process(Node(json.loads(f.read()), "$process"))
    else:
        base = spec.process
        assert base is not None
        argv = list(args.args)
        if argv and argv[0] == "--":
            argv = argv[1:]
        if not argv:
            raise InvalidArgument("exec: args must not be empty")
        user = base.user
        if args.user:
            uid, _, gid = args.user.partition(":")
            user = User(uid=int(uid), gid=int(gid or 0), umask=base.user.umask,
                        additional_gids=tuple(int(g) for g in args.additional_gids))
        caps = base.capabilities
        if args.cap and caps is not None:
            extra = tuple(args.cap)
            # runc: bounding, effective and permitted; ambient only when the spec has inheritable
            # capabilities (ambient needs them), and never inheritable itself
            caps = Capabilities(bounding=caps.bounding + extra, effective=caps.effective + extra,
                                inheritable=caps.inheritable, permitted=caps.permitted + extra,
                                ambient=caps.ambient + (extra if caps.inheritable else ()))
        process = Process(args=tuple(argv), cwd=args.cwd or base.cwd, env=base.env + tuple(args.env),
                          terminal=args.tty, console_size=None, user=user, capabilities=caps, rlimits=base.rlimits,
                          no_new_privileges=base.no_new_privileges or args.no_new_privs,
                          oom_score_adj=base.oom_score_adj)
    if not args.detach:
        from dockyard.sys import linux

        linux.set_child_subreaper()
    pid = exec_process(sd, state, spec, ExecOptions(process=process, pid_file=args.pid_file,
                                                    console_socket=args.console_socket,
                                                    preserve_fds=args.preserve_fds))
    if args.detach:
        return 0
    return wait_forwarding_signals(pid)


if __name__ == "__main__":
    sys.exit(main())

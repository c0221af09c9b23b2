"""Container commands without a stdio session: stop, kill, restart, rm, pause, unpause, wait, ps,
logs, inspect, rename, top."""

from __future__ import annotations

import re
import time
from argparse import Namespace
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dockyard.cli.app import Cli, CliError, CommandFailed
from dockyard.cli.flags import parse_filters
from dockyard.cli.formatter import render, resolve_format
from dockyard.errors import DockyardError, NotFound


def _is_connect_error(exc: Exception) -> bool:
    from dockyard.client import ConnectError

    return isinstance(exc, ConnectError)


def for_each(cli: Cli, names: list[str], action: Callable[[str], str | None]) -> int:
    """Docker's pattern for multi-container commands: print what succeeded, errors last, exit 1."""
    errors: list[str] = []
    for name in names:
        try:
            shown = action(name)
        except DockyardError as exc:
            if _is_connect_error(exc):
                raise
            errors.append(f"Error response from daemon: {exc}")
            continue
        if shown is not None:
            cli.print(shown)
    if errors:
        cli.error("\n".join(errors))
        raise CommandFailed(1)
    return 0


def _timeout(opts: Namespace) -> int | None:
    value = opts.time if opts.time is not None else opts.timeout
    if value is None:
        return None
    from dockyard.cli.runopts import InvalidFlag, parse_int

    try:
        return parse_int(value, "-t, --time")
    except InvalidFlag as exc:
        from dockyard.cli.app import UsageError

        raise UsageError(str(exc)) from None


def stop(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()
    t = _timeout(opts)

    def one(name: str) -> str:
        client.stop(name, t=t, signal=opts.signal or None)
        return name

    return for_each(cli, args, one)


def restart(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()
    t = _timeout(opts)

    def one(name: str) -> str:
        client.restart(name, t=t, signal=opts.signal or None)
        return name

    return for_each(cli, args, one)


def kill(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()

    def one(name: str) -> str:
        client.kill(name, signal=opts.signal or None)
        return name

    return for_each(cli, args, one)


def pause(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()

    def one(name: str) -> str:
        client.pause(name)
        return name

    return for_each(cli, args, one)


def unpause(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()

    def one(name: str) -> str:
        client.unpause(name)
        return name

    return for_each(cli, args, one)


def wait(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()

    def one(name: str) -> str:
        result = client.wait(name).result()
        error = result.get("Error")
        if isinstance(error, dict) and error.get("Message"):
            raise DockyardError(str(error["Message"]))
        return str(result.get("StatusCode", 0))

    return for_each(cli, args, one)


def remove(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()
    errors: list[str] = []
    for name in args:
        name = name.strip("/")
        if not name:
            errors.append("Error: container name cannot be empty")
            continue
        try:
            client.remove(name, v=opts.volumes, force=opts.force, link=opts.link)
        except NotFound as exc:
            if opts.force:
                # docker rm -f reports a missing container but does not fail for it.
                cli.error(f"Error response from daemon: {exc}")
                continue
            errors.append(f"Error response from daemon: {exc}")
            continue
        except DockyardError as exc:
            if _is_connect_error(exc):
                raise
            errors.append(f"Error response from daemon: {exc}")
            continue
        cli.print(name)
    if errors:
        cli.error("\n".join(errors))
        raise CommandFailed(1)
    return 0


def rename(cli: Cli, opts: Namespace, args: list[str]) -> int:
    old, new = args[0].strip(), args[1].strip()
    if not old or not new:
        raise CliError("Error: Neither old nor new names may be empty")
    cli.client().rename(old, new)
    return 0


def top(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.cli.tabwriter import tabwrite

    result = cli.client().top(args[0], " ".join(args[1:]) or None)
    lines = ["\t".join(str(t) for t in result.get("Titles") or [])]
    lines += ["\t".join(str(f) for f in proc) for proc in result.get("Processes") or []]
    cli.out.write(tabwrite("\n".join(lines) + "\n", minwidth=20))
    return 0


def diff(cli: Cli, opts: Namespace, args: list[str]) -> int:
    letters = {0: "C", 1: "A", 2: "D"}
    for change in cli.client().changes(args[0]) or []:
        cli.print(f"{letters.get(int(change.get('Kind', 0)), '?')} {change.get('Path', '')}")
    return 0


# -- ps ------------------------------------------------------------------------------------------


def ps(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.cli.containerrows import PS_HEADERS, PS_QUIET, PS_TABLE, ps_rows
    from dockyard.cli.runopts import InvalidFlag, parse_int

    try:
        last = parse_int(opts.last, "-n, --last")
    except InvalidFlag as exc:
        from dockyard.cli.app import UsageError

        raise UsageError(str(exc)) from None
    if opts.latest:
        last = 1
    filters = parse_filters(opts.filter)
    size = opts.size or (bool(opts.format) and ".Size" in opts.format)
    containers = cli.client().containers(all=opts.all, limit=last if last > 0 else None, size=size,
                                         filters=filters or None)
    if opts.quiet and (not opts.format or opts.format == "table"):
        fmt = PS_QUIET
    else:
        table = PS_TABLE + ("\t{{.Size}}" if opts.size else "")
        fmt = resolve_format(opts.format, table)
    cli.out.write(render(fmt, ps_rows(containers, trunc=not opts.no_trunc), PS_HEADERS))
    return 0


# -- logs ----------------------------------------------------------------------------------------

_DURATION = re.compile(r"^([+-]?)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def get_timestamp(value: str, now: float | None = None) -> str:
    """timetypes.GetTimestamp: a Go duration (before now), a date/time, or a unix timestamp as is."""
    if not value:
        return value
    now = time.time() if now is None else now
    if _DURATION.match(value):
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(value))
        if value.startswith("-"):
            seconds = -seconds
        moment = now - seconds
        whole = int(moment // 1)
        return f"{whole}.{int(round((moment - whole) * 1e9)) % 1_000_000_000:09d}"
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return value
    text = value.replace("Z", "+00:00")
    try:
        moment_dt = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f'invalid value for "since": failed to parse value as time or duration: "{value}"') \
            from None
    if moment_dt.tzinfo is None:
        moment_dt = moment_dt.astimezone()
    ts = moment_dt.timestamp()
    whole = int(ts // 1)
    return f"{whole}.{int(round((ts - whole) * 1e9)) % 1_000_000_000:09d}"


def write_logs(cli: Cli, chunks: Any, tty: bool) -> None:
    """Raw to stdout with a TTY; otherwise demultiplexed to stdout and stderr."""
    cli.out.flush()
    if tty:
        for chunk in chunks:
            cli.out_bytes.write(chunk)
            cli.out_bytes.flush()
        return
    from dockyard.client.stdcopy import STDERR, demux

    for kind, payload in demux(chunks):
        stream = cli.err_bytes if kind == STDERR else cli.out_bytes
        stream.write(payload)
        stream.flush()


def logs(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()
    info = client.inspect_container(args[0])
    tty = bool((info.get("Config") or {}).get("Tty"))
    chunks = client.logs(
        args[0],
        stdout=True,
        stderr=True,
        follow=opts.follow,
        since=get_timestamp(opts.since) or None,
        until=get_timestamp(opts.until) or None,
        timestamps=opts.timestamps,
        tail=opts.tail or "all",
        details=opts.details,
    )
    write_logs(cli, chunks, tty)
    return 0


# -- inspect -------------------------------------------------------------------------------------


def inspect_containers(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.cli.commands.images import write_inspect
    from dockyard.cli.template import compile_template

    if opts.format:
        compile_template(opts.format)
    client = cli.client()
    elements: list[Any] = []
    errors: list[str] = []
    for name in args:
        try:
            elements.append(client.inspect_container(name, size=opts.size))
        except DockyardError as exc:
            if _is_connect_error(exc):
                raise
            errors.append(f"Error response from daemon: {exc}")
    write_inspect(cli, opts.format, elements)
    for message in errors:
        cli.error(message)
    return 1 if errors else 0


__all__ = [
    "diff",
    "for_each",
    "get_timestamp",
    "inspect_containers",
    "kill",
    "logs",
    "pause",
    "ps",
    "remove",
    "rename",
    "restart",
    "stop",
    "top",
    "unpause",
    "wait",
    "write_logs",
]

"""update: new resource limits and restart policy for one or more containers (docker/cli runUpdate)."""

from __future__ import annotations

from argparse import Namespace

from dockyard.cli.app import Cli, CliError, CommandFailed, UsageError
from dockyard.errors import DockyardError

USAGE = "dockyard update [OPTIONS] CONTAINER [CONTAINER...]"


def update(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.cli.runopts import InvalidFlag, InvalidOptions, build_update

    try:
        body = build_update(opts)
    except InvalidFlag as exc:
        raise UsageError(f"{exc}\n\nUsage:  {USAGE}\n\nRun 'dockyard update --help' for more information") \
            from None
    except InvalidOptions as exc:
        raise CliError(str(exc)) from None
    client = cli.client()
    errors: list[str] = []
    warnings: list[str] = []
    for name in args:
        try:
            result = client.update_container(name, body)
        except DockyardError as exc:
            from dockyard.client import ConnectError

            if isinstance(exc, ConnectError):
                raise
            errors.append(f"Error response from daemon: {exc}")
            continue
        cli.print(name)
        warnings += [str(w) for w in result.get("Warnings") or []]
    if warnings:
        cli.print("\n".join(warnings))
    if errors:
        cli.error("\n".join(errors))
        raise CommandFailed(1)
    return 0

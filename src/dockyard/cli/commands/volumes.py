"""volume create, ls, inspect, rm, prune."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from dockyard.cli.app import Cli, CliError, CommandFailed
from dockyard.cli.commands.images import write_inspect
from dockyard.cli.flags import confirm, parse_filters
from dockyard.cli.formatter import Row, render, resolve_format
from dockyard.cli.runopts import kv_map
from dockyard.cli.template import compile_template
from dockyard.errors import DockyardError
from dockyard.units import human_size

VOLUME_TABLE = "table {{.Driver}}\t{{.Name}}"
VOLUME_HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
                  "Labels": "LABELS"}
PRUNE_WARNING = "WARNING! This will remove anonymous local volumes not used by at least one container.\n" \
    "Are you sure you want to continue?"
PRUNE_ALL_WARNING = "WARNING! This will remove all local volumes not used by at least one container.\n" \
    "Are you sure you want to continue?"


class VolumeRow(Row):
    FIELDS = ("Driver", "Name", "Scope", "Mountpoint", "Labels")

    def __init__(self, volume: dict[str, Any]) -> None:
        self.volume = volume

    def Driver(self) -> str:  # noqa: N802 - Docker's template field names
        return str(self.volume.get("Driver") or "")

    def Name(self) -> str:  # noqa: N802
        return str(self.volume.get("Name") or "")

    def Scope(self) -> str:  # noqa: N802
        return str(self.volume.get("Scope") or "")

    def Mountpoint(self) -> str:  # noqa: N802
        return str(self.volume.get("Mountpoint") or "")

    def Labels(self) -> str:  # noqa: N802
        return ",".join(f"{k}={v}" for k, v in sorted((self.volume.get("Labels") or {}).items()))


def create(cli: Cli, opts: Namespace, args: list[str]) -> int:
    name = args[0] if args else opts.name
    if args and opts.name and opts.name != args[0]:
        raise CliError("conflicting options: cannot specify a volume-name through both --name and as a "
                       "positional arg")
    volume = cli.client().create_volume(name or "", driver=opts.driver, labels=kv_map(opts.label),
                                        options=kv_map(opts.opt))
    cli.print(str(volume.get("Name", "")))
    return 0


def list_volumes(cli: Cli, opts: Namespace, args: list[str]) -> int:
    volumes = cli.client().volumes(parse_filters(opts.filter) or None)
    if opts.quiet and (not opts.format or opts.format == "table"):
        fmt = "{{.Name}}"
    else:
        fmt = resolve_format(opts.format, VOLUME_TABLE)
    rows = [VolumeRow(v) for v in sorted(volumes, key=lambda v: str(v.get("Name")))]
    cli.out.write(render(fmt, rows, VOLUME_HEADERS))
    return 0


def inspect(cli: Cli, opts: Namespace, args: list[str]) -> int:
    if opts.format:
        compile_template(opts.format)
    elements: list[Any] = []
    errors: list[str] = []
    client = cli.client()
    for name in args:
        try:
            elements.append(client.volume(name))
        except DockyardError as exc:
            errors.append(f"Error response from daemon: {exc}")
    write_inspect(cli, opts.format, elements)
    if errors:
        for message in errors:
            cli.error(message)
        raise CommandFailed(1)
    return 0


def remove(cli: Cli, opts: Namespace, args: list[str]) -> int:
    errors: list[str] = []
    client = cli.client()
    for name in args:
        try:
            client.remove_volume(name, force=opts.force)
            cli.print(name)
        except DockyardError as exc:
            errors.append(f"Error response from daemon: {exc}")
    if errors:
        for message in errors:
            cli.error(message)
        raise CommandFailed(1)
    return 0


def prune(cli: Cli, opts: Namespace, args: list[str]) -> int:
    filters = parse_filters(opts.filter)
    if opts.all:
        filters["all"] = ["true"]
    if not opts.force and not confirm(cli, PRUNE_ALL_WARNING if opts.all else PRUNE_WARNING):
        return 0
    report = cli.client().prune_volumes(filters)
    deleted = report.get("VolumesDeleted") or []
    if deleted:
        cli.print("Deleted Volumes:\n" + "\n".join(deleted) + "\n")
    cli.print(f"Total reclaimed space: {human_size(int(report.get('SpaceReclaimed') or 0))}")
    return 0


__all__ = ["create", "inspect", "list_volumes", "prune", "remove"]

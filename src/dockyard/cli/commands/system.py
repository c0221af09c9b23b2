"""version, info, system df, system check, events."""

from __future__ import annotations

import json
import platform
import sys
from argparse import Namespace
from typing import Any

from dockyard.cli.app import Cli, CommandFailed
from dockyard.cli.flags import parse_filters
from dockyard.cli.formatter import Row, render, resolve_format
from dockyard.cli.template import compile_template
from dockyard.errors import DockyardError
from dockyard.units import bytes_size, human_size


def _client_version() -> dict[str, Any]:
    from dockyard import __version__
    from dockyard.client import API_VERSION

    return {
        "Version": __version__,
        "ApiVersion": API_VERSION,
        "PythonVersion": platform.python_version(),
        "Os": sys.platform,
        "Arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine()),
        "Context": "default",
    }


def version(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client_info = _client_version()
    server: dict[str, Any] | None = None
    failure: DockyardError | None = None
    try:
        server = cli.client().version()
    except DockyardError as exc:
        failure = exc
    if opts.format:
        fmt = "{{json .}}" if opts.format == "json" else opts.format
        cli.print(compile_template(fmt).render({"Client": client_info, "Server": server}))
    else:
        lines = [
            "Client:",
            f" Version:           {client_info['Version']}",
            f" API version:       {client_info['ApiVersion']}",
            f" Python version:    {client_info['PythonVersion']}",
            f" OS/Arch:           {client_info['Os']}/{client_info['Arch']}",
            f" Context:           {client_info['Context']}",
        ]
        if server is not None:
            lines += ["", f"Server: {(server.get('Platform') or {}).get('Name', '')}".rstrip()]
            for comp in server.get("Components") or [
                {"Name": "Engine", "Version": server.get("Version"), "Details": server}
            ]:
                details = comp.get("Details") or {}
                lines.append(f" {comp.get('Name')}:")
                lines.append(f"  {'Version:':<17} {comp.get('Version', '')}")
                if comp.get("Name") == "Engine":
                    api = server.get("ApiVersion", details.get("ApiVersion", ""))
                    minimum = server.get("MinAPIVersion", details.get("MinAPIVersion", ""))
                    lines.append(f"  {'API version:':<17} {api} (minimum version {minimum})")
                    for label, key in (
                        ("Go version:", "GoVersion"),
                        ("Git commit:", "GitCommit"),
                        ("Built:", "BuildTime"),
                    ):
                        if server.get(key):
                            lines.append(f"  {label:<17} {server[key]}")
                    lines.append(f"  {'OS/Arch:':<17} {server.get('Os', '')}/{server.get('Arch', '')}")
                    lines.append(f"  {'Experimental:':<17} {str(bool(server.get('Experimental'))).lower()}")
                elif details.get("GitCommit"):
                    lines.append(f"  {'GitCommit:':<17} {details['GitCommit']}")
        cli.print("\n".join(lines))
    if failure is not None:
        raise failure
    return 0


def _info_lines(info: dict[str, Any]) -> list[str]:
    lines = ["Server:"]

    def add(label: str, value: Any, indent: int = 1) -> None:
        if value is None or value == "":
            return
        if isinstance(value, bool):
            value = str(value).lower()
        lines.append(f"{' ' * indent}{label}: {value}")

    add("Containers", info.get("Containers"))
    add("Running", info.get("ContainersRunning"), 2)
    add("Paused", info.get("ContainersPaused"), 2)
    add("Stopped", info.get("ContainersStopped"), 2)
    add("Images", info.get("Images"))
    add("Server Version", info.get("ServerVersion"))
    add("Storage Driver", info.get("Driver"))
    for pair in info.get("DriverStatus") or []:
        if isinstance(pair, list) and len(pair) == 2:
            add(str(pair[0]), pair[1], 2)
    add("Logging Driver", info.get("LoggingDriver"))
    add("Cgroup Driver", info.get("CgroupDriver"))
    add("Cgroup Version", info.get("CgroupVersion"))
    swarm = info.get("Swarm") or {}
    add("Swarm", swarm.get("LocalNodeState"))
    runtimes = info.get("Runtimes") or {}
    if runtimes:
        add("Runtimes", " ".join(sorted(runtimes)))
    add("Default Runtime", info.get("DefaultRuntime"))
    add("Kernel Version", info.get("KernelVersion"))
    add("Operating System", info.get("OperatingSystem"))
    add("OSType", info.get("OSType"))
    add("Architecture", info.get("Architecture"))
    add("CPUs", info.get("NCPU"))
    if isinstance(info.get("MemTotal"), int):
        add("Total Memory", bytes_size(info["MemTotal"]))
    add("Name", info.get("Name"))
    add("ID", info.get("ID"))
    add("Docker Root Dir", info.get("DockerRootDir"))
    add("Debug Mode", info.get("Debug"))
    add("Experimental", info.get("ExperimentalBuild"))
    add("Live Restore Enabled", info.get("LiveRestoreEnabled"))
    return lines


def info(cli: Cli, opts: Namespace, args: list[str]) -> int:
    data = cli.client().info()
    if opts.format:
        fmt = "{{json .}}" if opts.format == "json" else opts.format
        cli.print(compile_template(fmt).render(data))
        return 0
    lines = [
        "Client:",
        f" Version:    {_client_version()['Version']}",
        " Context:    default",
        f" Debug Mode: {str(cli.debug).lower()}",
        "",
    ]
    cli.print("\n".join(lines + _info_lines(data)))
    warnings = data.get("Warnings") or []
    for warning in warnings:
        cli.error(str(warning))
    return 0


DF_HEADERS = {
    "Type": "TYPE",
    "TotalCount": "TOTAL",
    "Active": "ACTIVE",
    "Size": "SIZE",
    "Reclaimable": "RECLAIMABLE",
}
DF_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"


class DfRow(Row):
    FIELDS = tuple(DF_HEADERS)

    def __init__(
        self, kind: str, total: int, active: int, size: int, reclaimable: int, *, percent: bool
    ) -> None:
        self.kind, self.total, self.active, self.size, self.reclaimable = (
            kind,
            total,
            active,
            size,
            reclaimable,
        )
        self.percent = percent

    def Type(self) -> str:
        return self.kind

    def TotalCount(self) -> str:
        return str(self.total)

    def Active(self) -> str:
        return str(self.active)

    def Size(self) -> str:
        return human_size(self.size)

    def Reclaimable(self) -> str:
        text = human_size(self.reclaimable)
        if self.percent and self.size > 0:
            text += f" ({self.reclaimable * 100 // self.size}%)"
        return text


def df_rows(usage: dict[str, Any]) -> list[DfRow]:
    """The summary rows of `system df`, computed as Docker's disk-usage formatter does."""
    images = usage.get("Images") or []
    total = int(usage.get("LayersSize") or 0)
    used = sum(
        int(i.get("Size", 0)) - int(i.get("SharedSize", 0))
        for i in images
        if i.get("Containers", 0) not in (0, None)
        and i.get("Size", -1) != -1
        and i.get("SharedSize", -1) != -1
    )
    rows = [
        DfRow(
            "Images",
            len(images),
            sum(1 for i in images if (i.get("Containers") or 0) > 0),
            total,
            total - used,
            percent=True,
        )
    ]
    containers = usage.get("Containers") or []
    c_size = sum(int(c.get("SizeRw") or 0) for c in containers)
    active = [c for c in containers if c.get("State") in ("running", "paused")]
    c_reclaim = sum(int(c.get("SizeRw") or 0) for c in containers if c not in active)
    rows.append(DfRow("Containers", len(containers), len(active), c_size, c_reclaim, percent=True))
    volumes = usage.get("Volumes") or []
    v_size = v_reclaim = v_active = 0
    for v in volumes:
        data = v.get("UsageData") or {}
        size = int(data.get("Size", -1))
        refs = int(data.get("RefCount", 0))
        if refs > 0:
            v_active += 1
        if size != -1:
            v_size += size
            if refs == 0:
                v_reclaim += size
    rows.append(DfRow("Local Volumes", len(volumes), v_active, v_size, v_reclaim, percent=True))
    cache = usage.get("BuildCache") or []
    b_size = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared"))
    b_reclaim = sum(int(b.get("Size") or 0) for b in cache if not b.get("InUse") and not b.get("Shared"))
    rows.append(
        DfRow(
            "Build Cache",
            len(cache),
            sum(1 for b in cache if b.get("InUse")),
            b_size,
            b_reclaim,
            percent=False,
        )
    )
    return rows


def df(cli: Cli, opts: Namespace, args: list[str]) -> int:
    usage = cli.client().system_df()
    if opts.verbose and not opts.format:
        _df_verbose(cli, usage)
        return 0
    cli.out.write(render(resolve_format(opts.format, DF_TABLE), df_rows(usage), DF_HEADERS))
    return 0


def _df_verbose(cli: Cli, usage: dict[str, Any]) -> None:
    from dockyard.cli.formatter import truncate_id
    from dockyard.cli.imagerows import image_rows
    from dockyard.cli.tabwriter import tabwrite

    lines = ["REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"]
    for row in image_rows(usage.get("Images") or [], digests=False, trunc=True):
        lines.append(
            "\t".join(
                [
                    row.Repository(),
                    row.Tag(),
                    row.ID(),
                    row.CreatedSince(),
                    row.Size(),
                    row.SharedSize(),
                    row.UniqueSize(),
                    row.Containers(),
                ]
            )
        )
    out = "Images space usage:\n\n" + tabwrite("\n".join(lines) + "\n")
    lines = ["CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES"]
    for c in usage.get("Containers") or []:
        names = ",".join(n.lstrip("/") for n in c.get("Names") or [])
        lines.append(
            "\t".join(
                [
                    truncate_id(str(c.get("Id", ""))),
                    str(c.get("Image", "")),
                    json.dumps(str(c.get("Command", ""))),
                    str(len(c.get("Mounts") or [])),
                    human_size(int(c.get("SizeRw") or 0)),
                    "",
                    str(c.get("Status", "")),
                    names,
                ]
            )
        )
    out += "\nContainers space usage:\n\n" + tabwrite("\n".join(lines) + "\n")
    lines = ["VOLUME NAME\tLINKS\tSIZE"]
    for v in usage.get("Volumes") or []:
        data = v.get("UsageData") or {}
        size = int(data.get("Size", -1))
        lines.append(
            "\t".join(
                [
                    str(v.get("Name", "")),
                    str(data.get("RefCount", 0)),
                    "N/A" if size == -1 else human_size(size),
                ]
            )
        )
    out += "\nLocal Volumes space usage:\n\n" + tabwrite("\n".join(lines) + "\n")
    lines = ["CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED"]
    for b in usage.get("BuildCache") or []:
        lines.append(
            "\t".join(
                [
                    str(b.get("ID", ""))[:12],
                    str(b.get("Type", "")),
                    human_size(int(b.get("Size") or 0)),
                    "",
                    "",
                    str(b.get("UsageCount", 0)),
                    str(bool(b.get("Shared"))).lower(),
                ]
            )
        )
    out += "\nBuild cache usage: " + human_size(
        sum(int(b.get("Size") or 0) for b in usage.get("BuildCache") or [])
    )
    out += "\n\n" + tabwrite("\n".join(lines) + "\n")
    cli.out.write(out)


def check(cli: Cli, opts: Namespace, args: list[str]) -> int:
    report = cli.client().system_check(repair=opts.repair)
    problems = report.get("Problems") or []
    if not problems:
        cli.print("No problems found.")
        return 0
    from dockyard.cli.tabwriter import tabwrite

    lines = ["KIND\tSUBJECT\tDETAIL"]
    lines += [f"{p.get('Kind', '')}\t{p.get('Subject', '')}\t{p.get('Detail', '')}" for p in problems]
    cli.out.write(tabwrite("\n".join(lines) + "\n"))
    if report.get("Repaired"):
        cli.print(f"\nRepaired {len(problems)} problem{'s' if len(problems) != 1 else ''}.")
        return 0
    if not opts.repair:
        cli.print("\nRun 'dockyard system check --repair' to repair them.")
    raise CommandFailed(1)


def events(cli: Cli, opts: Namespace, args: list[str]) -> int:
    filters = parse_filters(opts.filter)
    tmpl = compile_template("{{json .}}" if opts.format == "json" else opts.format) if opts.format else None
    for event in cli.client().events(since=opts.since, until=opts.until, filters=filters or None):
        if tmpl is not None:
            cli.print(tmpl.render(event))
        else:
            attrs = (event.get("Actor") or {}).get("Attributes") or {}
            attr_text = ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs))
            nano = int(event.get("timeNano") or int(event.get("time") or 0) * 1_000_000_000)
            from datetime import datetime

            moment = datetime.fromtimestamp(nano // 1_000_000_000).astimezone()
            stamp = (
                moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nano % 1_000_000_000:09d}" + moment.strftime("%z")
            )
            stamp = stamp[:-2] + ":" + stamp[-2:]
            line = f"{stamp} {event.get('Type', '')} {event.get('Action', '')} {(event.get('Actor') or {}).get('ID', '')}"
            cli.print(line + (f" ({attr_text})" if attr_text else ""))
        cli.out.flush()
    return 0


__all__ = ["check", "df", "df_rows", "events", "info", "version"]

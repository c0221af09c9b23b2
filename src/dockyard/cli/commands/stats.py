"""stats: a live table of the containers' resource use, or one sample of it (``--no-stream``)."""

from __future__ import annotations

import threading
import time
from argparse import Namespace
from typing import Any

from dockyard.cli.app import Cli, CommandFailed
from dockyard.cli.formatter import Row, render, resolve_format
from dockyard.errors import DockyardError
from dockyard.units import bytes_size, human_size_with_precision

STATS_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"
               "\t{{.PIDs}}")
STATS_HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
                 "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
                 "PIDs": "PIDS"}


def cpu_percent(cur: dict[str, Any], pre: dict[str, Any]) -> float:
    """The docker CLI's CPU %: the container's share of the host's CPU time between two samples,
    times the number of CPUs."""
    cpu, precpu = cur.get("cpu_stats") or {}, pre.get("cpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (precpu.get("cpu_usage") or {}).get(
        "total_usage", 0)
    system_delta = cpu.get("system_cpu_usage", 0) - precpu.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [])
    if system_delta > 0 and cpu_delta > 0:
        return float(cpu_delta / system_delta * cpus * 100.0)
    return 0.0


def memory_usage(stats: dict[str, Any]) -> int:
    """Usage without the page cache that could be dropped, as the docker CLI shows it."""
    memory = stats.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    detail = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):  # cgroup v1, then v2
        if key in detail and detail[key] < usage:
            return usage - int(detail[key])
    return usage


class StatsRow(Row):
    FIELDS = ("Container", "ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs")

    def __init__(self, ref: str, cur: dict[str, Any], pre: dict[str, Any], *, trunc: bool) -> None:
        self.ref, self.cur, self.pre, self.trunc = ref, cur, pre, trunc

    def Container(self) -> str:  # noqa: N802 - Docker's template field names
        return self.ref

    def ID(self) -> str:  # noqa: N802
        cid = str(self.cur.get("id") or "")
        return cid[:12] if self.trunc else cid

    def Name(self) -> str:  # noqa: N802
        return str(self.cur.get("name") or "").lstrip("/") or "--"

    def CPUPerc(self) -> str:  # noqa: N802
        return f"{cpu_percent(self.cur, self.pre):.2f}%"

    def MemUsage(self) -> str:  # noqa: N802
        limit = int((self.cur.get("memory_stats") or {}).get("limit") or 0)
        return f"{bytes_size(memory_usage(self.cur))} / {bytes_size(limit)}"

    def MemPerc(self) -> str:  # noqa: N802
        limit = int((self.cur.get("memory_stats") or {}).get("limit") or 0)
        return f"{memory_usage(self.cur) / limit * 100 if limit else 0.0:.2f}%"

    def NetIO(self) -> str:  # noqa: N802
        networks = (self.cur.get("networks") or {}).values()
        rx = sum(int(n.get("rx_bytes") or 0) for n in networks)
        tx = sum(int(n.get("tx_bytes") or 0) for n in networks)
        return f"{human_size_with_precision(rx, 3)} / {human_size_with_precision(tx, 3)}"

    def BlockIO(self) -> str:  # noqa: N802
        entries = (self.cur.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
        read = sum(int(e.get("value") or 0) for e in entries if str(e.get("op", "")).lower() == "read")
        write = sum(int(e.get("value") or 0) for e in entries if str(e.get("op", "")).lower() == "write")
        return f"{human_size_with_precision(read, 3)} / {human_size_with_precision(write, 3)}"

    def PIDs(self) -> str:  # noqa: N802
        return str((self.cur.get("pids_stats") or {}).get("current") or 0)


def _targets(cli: Cli, opts: Namespace, args: list[str]) -> list[str]:
    if args:
        return list(args)
    return [str(c.get("Id")) for c in cli.client().containers(all=opts.all)]


def _sample_all(cli: Cli, refs: list[str], *, one_shot: bool) -> dict[str, dict[str, Any] | DockyardError]:
    """Every container's stats at once (each takes a second when the daemon takes two samples)."""
    out: dict[str, dict[str, Any] | DockyardError] = {}

    def fetch(ref: str) -> None:
        client = cli.connect(cli.host)  # a connection of its own: one request at a time on each
        try:
            out[ref] = client.container_stats(ref, one_shot=one_shot)
        except DockyardError as exc:
            out[ref] = exc
        finally:
            client.close()

    threads = [threading.Thread(target=fetch, args=(ref,)) for ref in refs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def stats(cli: Cli, opts: Namespace, args: list[str]) -> int:
    fmt = resolve_format(opts.format, STATS_TABLE)
    refs = _targets(cli, opts, args)
    if opts.no_stream:
        samples = _sample_all(cli, refs, one_shot=False)
        failures = [exc for exc in samples.values() if isinstance(exc, DockyardError)]
        for exc in failures:
            cli.error(f"Error response from daemon: {exc}")
        rows = [StatsRow(ref, s, s, trunc=not opts.no_trunc) for ref, s in samples.items() if isinstance(s, dict)]
        for row in rows:
            row.pre = {"cpu_stats": row.cur.get("precpu_stats") or {}}
        cli.out.write(render(fmt, rows, STATS_HEADERS))
        if failures:
            raise CommandFailed(1)
        return 0
    previous: dict[str, dict[str, Any]] = {}
    terminal = cli.out_is_terminal()
    while True:
        if not args:
            refs = _targets(cli, opts, args)
        samples = _sample_all(cli, refs, one_shot=True)
        rows = []
        for ref in refs:
            sample = samples.get(ref)
            if isinstance(sample, dict):
                rows.append(StatsRow(ref, sample, previous.get(ref) or {}, trunc=not opts.no_trunc))
                previous[ref] = sample
        table = render(fmt, rows, STATS_HEADERS)
        cli.out.write(("\033[2J\033[H" if terminal else "") + table)
        cli.out.flush()
        if args and not rows:
            raise CommandFailed(1)
        time.sleep(1.0)


__all__ = ["cpu_percent", "memory_usage", "stats"]

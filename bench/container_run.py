#!/usr/bin/env python3
"""Benchmark the container lifecycle: dockyard vs Docker (issue 5's targets).

Same docker v28 CLI through DOCKER_HOST for both engines, alternating engine order every round,
with ``--settle`` seconds of quiet before each timed command (an engine's background work, such as
removing the last ``--rm`` container, would otherwise land in the next command's time, whichever
engine runs it). Measured per engine:

- ``run``:        wall time of ``docker run --rm busybox true`` (median of ``--rounds``)
- ``exec``:       wall time of ``docker exec <c> true`` on a running ``sleep 1000`` container
- ``run_d_20``:   20 concurrent ``docker run -d busybox sleep 1000``, wall time until all returned
                  (median of ``--concurrent-rounds``; ``docker rm -f`` afterwards, untimed)
- ``logs``:       wall time of ``docker logs`` of a container that printed ``seq 100000``
- RSS (VmRSS from /proc/<pid>/status): the idle daemon (dockyardd + its shim launcher; dockerd +
  its containerd), once after the image load and once at the end, and per running container with
  5 running (dockyard-shim processes; containerd-shim-runc-v2 processes), divided by 5; PSS and
  USS (smaps_rollup: proportional, and private pages only) per running container too, since
  dockyard's shims share their launcher's pages: USS is what one more container costs the host.
- ``exec_client_floor``: the same ``docker exec`` against a stub engine that answers at once
  (bench/cli_floor.py): the CLI's own part of every exec time above, the same for both engines.

Not a test: run by hand (see bench/README.md).

    python3 bench/container_run.py                       # both engines, 20 rounds
    python3 bench/container_run.py --rounds 10 --json --out bench/results/$(date +%F)-container_run.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_floor import exec_floor  # noqa: E402 - after the path set-up
from image_load_save import (  # noqa: E402 - after the path set-up
    MAKE_IMAGE,
    docker,
    docker_engine,
    dockyardd_process,
    engine_version,
    engines_from,
    log,
    round_order,
    write_report,
)

IMAGE = "busybox:latest"
PEER_PIDFILE = Path("/var/lib/peer-docker/dockerd.pid")
BRIDGE = "dybench0"
CONCURRENT = 20
RSS_CONTAINERS = 5
LOG_LINES = 100_000

# metric -> (label, unit, target kind, target value); "ratio" targets compare with Docker's median.
METRICS: dict[str, tuple[str, str, str, float]] = {
    "run": ("run --rm busybox true", "ms", "ratio", 0.4),
    "exec": ("exec true", "ms", "abs", 30),
    "run_d_20": ("20 concurrent run -d", "s", "abs", 1.2),
    "rss_idle_start": ("daemon RSS idle (start)", "MB", "abs", 60),
    "rss_idle_end": ("daemon RSS idle (end)", "MB", "abs", 60),
    "rss_per_container": ("RSS per running container", "MB", "abs", 8),
    "pss_per_container": ("PSS per running container", "MB", "abs", 8),
    "uss_per_container": ("USS per running container", "MB", "abs", 8),
    "logs": ("logs of 100k lines", "ms", "abs", 250),
}
SCALE = {"ms": 1000.0, "s": 1.0, "MB": 1.0}



def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def processes() -> Iterator[tuple[int, int, str, list[str]]]:
    """(pid, ppid, comm, argv) of every process."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        yield int(d), ppid, comm, argv


def smaps_mb(pid: int) -> tuple[float, float]:
    """(PSS, USS): shared pages divided among the processes sharing them, and private pages only."""
    pss = uss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                    uss += int(line.split()[1])
    except OSError:
        pass
    return pss / 1024, uss / 1024


def daemon_pids(engine: str, dockyardd_pid: int | None) -> list[int]:
    if engine == "dockyard":
        assert dockyardd_pid is not None
        # dockyardd and its shim launcher (a child that forks the shims)
        return [dockyardd_pid] + [pid for pid, ppid, _, argv in processes()
                                  if ppid == dockyardd_pid and "--launcher" in argv]
    dockerd = int(PEER_PIDFILE.read_text().strip())
    return [dockerd] + [pid for pid, ppid, comm, _ in processes() if ppid == dockerd and comm == "containerd"]


def shim_pids(engine: str, ids: list[str]) -> list[int]:
    """The shims of these containers (dockyard-shim / containerd-shim-runc-v2 with --id/-id <id>)."""
    want = set(ids)
    found = []
    for pid, _, _, argv in processes():
        if not any("shim" in a for a in argv[:2]):
            continue
        for flag in ("--id", "-id"):
            if flag in argv[:-1] and argv[argv.index(flag) + 1] in want:
                found.append(pid)
                break
    return found


def timed(host: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = docker(host, *args)
    return time.perf_counter() - t0, proc


def run_detached(host: str, n: int) -> list[str]:
    with ThreadPoolExecutor(n) as pool:
        procs = list(pool.map(lambda _: docker(host, "run", "-d", IMAGE, "sleep", "1000"), range(n)))
    return [p.stdout.strip() for p in procs]


def remove(host: str, ids: list[str]) -> None:
    if ids:
        docker(host, "rm", "-f", *ids, check=False, timeout=300)


def concurrent_round(host: str) -> float:
    t0 = time.perf_counter()
    ids: list[str] = []
    try:
        ids = run_detached(host, CONCURRENT)
        wall = time.perf_counter() - t0
        running = docker(host, "ps", "-q", "--no-trunc").stdout.split()
        missing = set(ids) - set(running)
        if missing:
            raise RuntimeError(f"{host}: {len(missing)} of {CONCURRENT} containers are not running")
        return wall
    finally:
        remove(host, ids)


def measure_shims(engine: str, host: str, dpid: int | None) -> tuple[float, float, float]:
    """Shim (RSS, PSS, USS) per running container, with RSS_CONTAINERS sleep containers.
    dockyard's shims are forks of one launcher and share most pages (RSS counts them in every
    shim, PSS divides them, USS leaves them out): USS is what each more container costs."""
    ids = run_detached(host, RSS_CONTAINERS)
    try:
        time.sleep(1)
        pids = shim_pids(engine, ids)
        if len(pids) < RSS_CONTAINERS:
            raise RuntimeError(f"{engine}: found {len(pids)} shims for {RSS_CONTAINERS} containers")
        smaps = [smaps_mb(p) for p in pids]
        return (sum(rss_mb(p) for p in pids) / RSS_CONTAINERS, sum(pss for pss, _ in smaps) / RSS_CONTAINERS,
                sum(uss for _, uss in smaps) / RSS_CONTAINERS)
    finally:
        remove(host, ids)


def idle_rss(engine: str, dpid: int | None) -> float:
    time.sleep(1)
    return sum(rss_mb(p) for p in daemon_pids(engine, dpid))


def summarize(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for engine, metrics in samples.items():
        results[engine] = {}
        for m, v in metrics.items():
            unit = METRICS[m][1]
            k = "s" if unit in ("ms", "s") else "mb"
            results[engine][m] = {
                f"median_{k}": round(statistics.median(v), 4),
                f"min_{k}": round(min(v), 4),
                f"max_{k}": round(max(v), 4),
                f"samples_{k}": [round(x, 4) for x in v],
            }
    ratios: dict[str, float] = {}
    if "dockyard" in results and "docker" in results:
        for m in METRICS:
            a, b = median(results, "dockyard", m), median(results, "docker", m)
            if b:
                ratios[m] = round(a / b, 3)
    return {"results": results, "ratios_dockyard_over_docker": ratios}


def median(results: dict[str, Any], engine: str, metric: str) -> float:
    r = results[engine][metric]
    return r.get("median_s", r.get("median_mb", 0.0))


def target_text(metric: str) -> str:
    _, unit, kind, value = METRICS[metric]
    return f"<= {value:g}x docker" if kind == "ratio" else f"<= {value:g} {unit}"


def meets(summary: dict[str, Any], metric: str) -> str:
    res, ratios = summary["results"], summary["ratios_dockyard_over_docker"]
    if "dockyard" not in res:
        return "-"
    _, unit, kind, value = METRICS[metric]
    if kind == "ratio":
        if metric not in ratios:
            return "-"
        return "yes" if ratios[metric] <= value else "no"
    return "yes" if median(res, "dockyard", metric) * SCALE[unit] <= value else "no"


def table(summary: dict[str, Any], engines: list[str]) -> str:
    res, ratios = summary["results"], summary["ratios_dockyard_over_docker"]
    head = ["metric", "unit", *engines]
    if ratios:
        head.append("dockyard/docker")
    head += ["target", "met"]
    rows = [head]
    for m, (label, unit, _, _) in METRICS.items():
        row = [label, unit] + [f"{median(res, e, m) * SCALE[unit]:.{1 if unit != 's' else 3}f}" for e in engines]
        if ratios:
            row.append(f"{ratios[m]:.2f}" if m in ratios else "-")
        row += [target_text(m), meets(summary, m)]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="container run/exec/logs/memory: dockyard vs Docker")
    p.add_argument("--engines", default="dockyard,docker", help="comma list of dockyard, docker")
    p.add_argument("--rounds", type=int, default=20, help="samples of run, exec and logs per engine")
    p.add_argument("--concurrent-rounds", type=int, default=3, help="rounds of 20 concurrent run -d")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds per engine first")
    p.add_argument("--settle", type=float, default=0.5,
                   help="seconds of quiet before each timed command: the previous one's background work "
                        "(either engine removing a --rm container, say) must not land in the next one's time")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--out", type=Path, help="also write the JSON results to this file")
    p.add_argument(
        "--keep-peer", action="store_true", help="leave peer-docker running if this script started it"
    )
    args = p.parse_args(argv)
    engines = engines_from(p, args.engines)

    samples: dict[str, dict[str, list[float]]] = {e: {m: [] for m in METRICS} for e in engines}
    with ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-", dir="/var/tmp")))
        archive = base / "busybox.tar"
        subprocess.run([sys.executable, str(MAKE_IMAGE), "-t", IMAGE, "-o", str(archive)], check=True)
        hosts: dict[str, str] = {}
        dpids: dict[str, int | None] = {}
        for e in engines:
            if e == "dockyard":
                hosts[e], dpids[e] = stack.enter_context(dockyardd_process(base, "--bridge-name", BRIDGE))
            else:
                hosts[e], dpids[e] = stack.enter_context(docker_engine(args.keep_peer)), None
        versions = {e: engine_version(h) for e, h in hosts.items()}
        sleepers: dict[str, str] = {}
        logsc: dict[str, str] = {}
        try:
            for e, h in hosts.items():
                docker(h, "load", "-q", "-i", str(archive))
                samples[e]["rss_idle_start"].append(idle_rss(e, dpids[e]))
                sleepers[e] = docker(h, "run", "-d", IMAGE, "sleep", "1000").stdout.strip()
                logsc[e] = docker(h, "run", "-d", IMAGE, "seq", str(LOG_LINES)).stdout.strip()
                docker(h, "wait", logsc[e])
                for _ in range(args.warmup):
                    docker(h, "run", "--rm", IMAGE, "true")
                    docker(h, "exec", sleepers[e], "true")
                    docker(h, "logs", logsc[e])
            for r in range(args.rounds):
                # Alternate who goes first so cache effects fall on both alike.
                for e in round_order(engines, r):
                    h = hosts[e]
                    time.sleep(args.settle)
                    t_run, _ = timed(h, "run", "--rm", IMAGE, "true")
                    time.sleep(args.settle)
                    t_exec, _ = timed(h, "exec", sleepers[e], "true")
                    time.sleep(args.settle)
                    t_logs, out = timed(h, "logs", logsc[e])
                    if out.stdout.count("\n") != LOG_LINES:
                        raise RuntimeError(f"{e}: logs gave {out.stdout.count(chr(10))} lines")
                    samples[e]["run"].append(t_run)
                    samples[e]["exec"].append(t_exec)
                    samples[e]["logs"].append(t_logs)
                    log(f"round {r + 1}/{args.rounds} {e}: run {t_run * 1000:.0f} ms, "
                        f"exec {t_exec * 1000:.0f} ms, logs {t_logs * 1000:.0f} ms")
            for e in engines:
                remove(hosts[e], [sleepers.pop(e), logsc.pop(e)])
            for r in range(args.concurrent_rounds):
                for e in round_order(engines, r):
                    t = concurrent_round(hosts[e])
                    samples[e]["run_d_20"].append(t)
                    log(f"concurrent round {r + 1}/{args.concurrent_rounds} {e}: {t:.3f} s")
            for e in engines:
                rss, pss, uss = measure_shims(e, hosts[e], dpids[e])
                samples[e]["rss_per_container"].append(rss)
                samples[e]["pss_per_container"].append(pss)
                samples[e]["uss_per_container"].append(uss)
                samples[e]["rss_idle_end"].append(idle_rss(e, dpids[e]))
        finally:
            for e, h in hosts.items():
                remove(h, [c for c in (sleepers.get(e), logsc.get(e)) if c])

    with tempfile.TemporaryDirectory(prefix="bench-floor-", dir="/var/tmp") as tmp:
        floor = exec_floor(Path(tmp), args.rounds)
    summary = summarize(samples)
    report = {
        "benchmark": "container_run",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"machine": platform.machine(), "kernel": platform.release(), "cpus": os.cpu_count()},
        "rounds": args.rounds,
        "concurrent_rounds": args.concurrent_rounds,
        "warmup": args.warmup,
        "settle_s": args.settle,
        "engines": versions,
        "targets": {m: target_text(m) for m in METRICS},
        **summary,
        "exec_client_floor": {"median_s": round(statistics.median(floor), 4), "samples_s": [round(x, 4) for x in floor]},
    }
    if not write_report(report, args.out, args.json):
        print(f"container lifecycle; medians of {args.rounds} rounds ({args.concurrent_rounds} for run -d)")
        for e, v in versions.items():
            print(f"  {e}: {v}")
        print(table(summary, engines))
        print(f"docker exec against an engine that answers at once: {statistics.median(floor) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

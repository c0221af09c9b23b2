#!/usr/bin/env python3
"""Benchmark ``docker load`` / ``docker save`` of a large multi-layer image: dockyard vs Docker.

Both engines are driven by the same docker CLI through DOCKER_HOST, alternating engine order
every round, and the report gives medians and the dockyard/docker ratio (below 1 = dockyard
faster). Not a test: run by hand (see bench/README.md).

    python3 bench/image_load_save.py                     # both engines, 5 rounds
    python3 bench/image_load_save.py --engines docker --rounds 3 --json

dockyard: a private ``dockyardd`` on a socket in a temp dir, stopped at the end.
docker:   the reference engine of ``../shared/tools/peer-docker``; stopped at the end if this
          script started it (it rewrites iptables), left alone if it was already running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MAKE_IMAGE = REPO / "scripts" / "make_busybox_image.py"
PEER_DOCKER = REPO.parent / "shared" / "tools" / "peer-docker"
PEER_SOCK = "/run/peer-docker.sock"
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
TAG = "dockyard-bench/busybox:load-save"
OPS = ("load", "save")


def engines_from(p: argparse.ArgumentParser, text: str) -> list[str]:
    """The --engines list (dockyard and/or docker), or the parser's usage error."""
    engines = [e.strip() for e in text.split(",") if e.strip()]
    if not engines or set(engines) - {"dockyard", "docker"}:
        p.error("--engines takes dockyard and/or docker")
    return engines


def round_order(engines: list[str], round_index: int) -> list[str]:
    """Who goes first alternates round by round, so page-cache and disk effects fall on both alike."""
    return engines if round_index % 2 == 0 else list(reversed(engines))


def write_report(report: dict[str, Any], out: Path | None, as_json: bool) -> bool:
    """Save the JSON report to ``out`` (if given) and print it when asked; True when printed."""
    text = json.dumps(report, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    if as_json:
        print(text)
    return as_json


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def docker(
    host: str, *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": host}
    proc = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"docker {' '.join(args)} on {host}: exit {proc.returncode}: {proc.stderr.strip()}"
        )
    return proc


def wait_ready(host: str, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before answering")
        if (
            docker(host, "version", "--format", "{{.Server.Version}}", check=False, timeout=10).returncode
            == 0
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on {host} within {timeout:.0f}s")


@contextmanager
def dockyardd_process(workdir: Path, *extra: str) -> Iterator[tuple[str, int]]:
    """A private dockyardd (``extra`` daemon flags); yields (DOCKER_HOST, pid), stops only it."""
    exe = shutil.which("dockyardd")
    if exe is None:
        raise RuntimeError("dockyardd is not on PATH (pip install -e . in the repository)")
    root = Path(tempfile.mkdtemp(prefix="dockyard-bench-", dir=workdir))
    sock = root / "d.sock"
    host = f"unix://{sock}"
    logf = open(root / "dockyardd.log", "wb")  # noqa: SIM115 - closed in finally below
    proc = subprocess.Popen(
        [exe, "--data-root", str(root / "data"), "--exec-root", str(root / "exec"), "-H", host, *extra],
        stdout=logf,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        try:
            wait_ready(host, 60, "dockyardd", proc)
        except RuntimeError as e:
            tail = (root / "dockyardd.log").read_text(errors="replace").strip().splitlines()[-15:]
            raise RuntimeError(f"{e}; its log ends:\n" + "\n".join(tail)) from None
        yield host, proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        logf.close()
        if proc.returncode not in (0, -signal.SIGTERM):
            log(f"dockyardd exited with {proc.returncode}; log: {root / 'dockyardd.log'}")
        else:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def dockyard_engine(workdir: Path) -> Iterator[str]:
    """A private dockyardd; yields its DOCKER_HOST and stops it (only it) afterwards."""
    with dockyardd_process(workdir) as (host, _):
        yield host


@contextmanager
def docker_engine(keep: bool) -> Iterator[str]:
    """The peer-docker reference engine; stopped afterwards unless it was already running."""
    host = f"unix://{PEER_SOCK}"
    was_running = docker(host, "version", check=False, timeout=10).returncode == 0
    if not was_running:
        log("starting peer-docker ...")
        subprocess.run([str(PEER_DOCKER), "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        wait_ready(host, 30, "peer-docker")
        yield host
    finally:
        if not was_running and not keep:
            log("stopping peer-docker ...")
            subprocess.run([str(PEER_DOCKER), "stop"], check=False, stdout=subprocess.DEVNULL)


def build_archive(path: Path, pad_mb: int, layers: int) -> None:
    log(f"building {pad_mb} MB, {layers}-layer busybox archive ...")
    subprocess.run(
        [
            sys.executable,
            str(MAKE_IMAGE),
            "--pad-mb",
            str(pad_mb),
            "--layers",
            str(layers),
            "-t",
            TAG,
            "-o",
            str(path),
        ],
        check=True,
    )


def remove_image(host: str) -> None:
    docker(host, "rmi", "-f", TAG, check=False)


def one_round(host: str, archive: Path, out: Path, layers: int) -> dict[str, float]:
    remove_image(host)
    t0 = time.perf_counter()
    docker(host, "load", "-q", "-i", str(archive))
    t_load = time.perf_counter() - t0
    got = docker(host, "image", "inspect", "--format", "{{len .RootFS.Layers}}", TAG).stdout.strip()
    if got != str(layers):
        raise RuntimeError(f"{host}: loaded image has {got} layers, expected {layers}")
    t0 = time.perf_counter()
    docker(host, "save", "-o", str(out), TAG)
    t_save = time.perf_counter() - t0
    if out.stat().st_size < archive.stat().st_size * 0.9:
        raise RuntimeError(
            f"{host}: saved archive is {out.stat().st_size} bytes, expected about {archive.stat().st_size}"
        )
    out.unlink()
    remove_image(host)
    return {"load": t_load, "save": t_save}


def summarize(samples: dict[str, dict[str, list[float]]], ops: tuple[str, ...] = OPS) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for engine, ops in samples.items():
        results[engine] = {
            op: {
                "median_s": round(statistics.median(v), 4),
                "min_s": round(min(v), 4),
                "max_s": round(max(v), 4),
                "samples_s": [round(x, 4) for x in v],
            }
            for op, v in ops.items()
        }
    ratios: dict[str, float] = {}
    if "dockyard" in results and "docker" in results:
        for op in ops:
            ratios[op] = round(results["dockyard"][op]["median_s"] / results["docker"][op]["median_s"], 3)
    return {"results": results, "ratios_dockyard_over_docker": ratios}


def table(summary: dict[str, Any], engines: list[str], archive_mb: float, ops: tuple[str, ...] = OPS) -> str:
    res, ratios = summary["results"], summary["ratios_dockyard_over_docker"]
    head = ["op"] + [f"{e} median s" for e in engines] + [f"{e} MB/s" for e in engines]
    if ratios:
        head.append("dockyard/docker")
    rows = [head]
    for op in ops:
        row = [op] + [f"{res[e][op]['median_s']:.3f}" for e in engines]
        row += [f"{archive_mb / res[e][op]['median_s']:.0f}" for e in engines]
        if ratios:
            row.append(f"{ratios[op]:.2f}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def engine_version(host: str) -> str:
    return docker(
        host, "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})", check=False
    ).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="docker load/save: dockyard vs Docker")
    p.add_argument("--engines", default="dockyard,docker", help="comma list of dockyard, docker")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds per engine first")
    p.add_argument("--pad-mb", type=int, default=200)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument(
        "--workdir", type=Path, default=None, help="scratch dir (default: a temp dir under /var/tmp)"
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--out", type=Path, help="also write the JSON results to this file")
    p.add_argument(
        "--keep-peer", action="store_true", help="leave peer-docker running if this script started it"
    )
    args = p.parse_args(argv)
    engines = engines_from(p, args.engines)

    with ExitStack() as stack:
        base = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-", dir="/var/tmp"))
        )
        base.mkdir(parents=True, exist_ok=True)
        archive = base / f"busybox-{args.pad_mb}mb-{args.layers}l.tar"
        if not archive.exists():
            build_archive(archive, args.pad_mb, args.layers)
        archive_mb = archive.stat().st_size / 1e6
        hosts: dict[str, str] = {}
        for e in engines:
            hosts[e] = stack.enter_context(
                dockyard_engine(base) if e == "dockyard" else docker_engine(args.keep_peer)
            )
        versions = {e: engine_version(h) for e, h in hosts.items()}
        samples: dict[str, dict[str, list[float]]] = {e: {op: [] for op in OPS} for e in engines}
        out = base / "saved.tar"
        for e in engines:
            for _ in range(args.warmup):
                one_round(hosts[e], archive, out, args.layers)
        for r in range(args.rounds):
            for e in round_order(engines, r):
                t = one_round(hosts[e], archive, out, args.layers)
                for op in OPS:
                    samples[e][op].append(t[op])
                log(f"round {r + 1}/{args.rounds} {e}: load {t['load']:.3f}s save {t['save']:.3f}s")

    summary = summarize(samples)
    report = {
        "benchmark": "image_load_save",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"machine": platform.machine(), "kernel": platform.release(), "cpus": os.cpu_count()},
        "archive": {"bytes": int(archive_mb * 1e6), "pad_mb": args.pad_mb, "layers": args.layers},
        "rounds": args.rounds,
        "warmup": args.warmup,
        "engines": versions,
        **summary,
    }
    if not write_report(report, args.out, args.json):
        print(
            f"docker load/save of a {archive_mb:.0f} MB, {args.layers}-layer image; medians of {args.rounds} rounds"
        )
        for e, v in versions.items():
            print(f"  {e}: {v}")
        print(table(summary, engines, archive_mb))
    return 0


if __name__ == "__main__":
    sys.exit(main())

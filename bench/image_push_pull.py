#!/usr/bin/env python3
"""Benchmark ``docker push`` and a cold ``docker pull`` against a local registry: dockyard vs Docker.

The image is a busybox padded with random (incompressible) data, 200 MB over 5 layers by default,
built by ``scripts/make_busybox_image.py``. Each round, for each engine (the order alternates):
push it to a fresh repository of Debian's docker-registry on 127.0.0.1:<free port> (every layer
uploaded), remove it from the engine, then pull it back (cold: no layer present). Same docker v28
CLI through DOCKER_HOST for both engines; medians and dockyard/docker ratios (below 1 = dockyard
faster). Not a test: run by hand (see bench/README.md).

    python3 bench/image_push_pull.py                      # both engines, 5 rounds
    python3 bench/image_push_pull.py --engines dockyard --rounds 3 --json

Both engines treat 127.0.0.0/8 as an insecure (plain HTTP) registry by default.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from image_load_save import (  # noqa: E402 - after the path set-up
    TAG,
    build_archive,
    docker,
    docker_engine,
    dockyard_engine,
    engine_version,
    engines_from,
    log,
    round_order,
    summarize,
    table,
    write_report,
)
from registry_fixtures import Registry  # noqa: E402

OPS = ("push", "pull")


def one_round(host: str, archive: Path, workdir: Path, layers: int) -> dict[str, float]:
    """Push to and cold-pull from a registry of its own (new port: no engine knows any layer there)."""
    root = Path(tempfile.mkdtemp(prefix="registry-", dir=workdir))
    try:
        with Registry(root) as registry:
            return timed_push_pull(host, archive, f"{registry.host}/bench/bb:1", layers)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def timed_push_pull(host: str, archive: Path, ref: str, layers: int) -> dict[str, float]:
    docker(host, "rmi", "-f", TAG, ref, check=False)
    docker(host, "load", "-q", "-i", str(archive))
    docker(host, "tag", TAG, ref)
    t0 = time.perf_counter()
    out = docker(host, "push", ref).stdout
    t_push = time.perf_counter() - t0
    if out.count(": Pushed") != layers:
        raise RuntimeError(f"{host}: push uploaded {out.count(': Pushed')} layers, expected {layers}:\n{out}")
    image_id = docker(host, "image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
    docker(host, "rmi", "-f", image_id)  # every tag of it, also ones an aborted run left behind
    if image_id in docker(host, "images", "-a", "-q", "--no-trunc").stdout.split():
        raise RuntimeError(f"{host}: {image_id} is still there before the cold pull")
    t0 = time.perf_counter()
    out = docker(host, "pull", ref).stdout
    t_pull = time.perf_counter() - t0
    if f"Status: Downloaded newer image for {ref}" not in out:
        raise RuntimeError(f"{host}: pull did not download the image:\n{out}")
    got = docker(host, "image", "inspect", "--format", "{{len .RootFS.Layers}}", ref).stdout.strip()
    if got != str(layers):
        raise RuntimeError(f"{host}: pulled image has {got} layers, expected {layers}")
    docker(host, "rmi", "-f", ref, check=False)
    return {"push": t_push, "pull": t_pull}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="docker push / cold pull against a local registry: dockyard vs Docker")
    p.add_argument("--engines", default="dockyard,docker", help="comma list of dockyard, docker")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds per engine first")
    p.add_argument("--pad-mb", type=int, default=200)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--workdir", type=Path, default=None, help="scratch dir (default: a temp dir under /var/tmp)")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--out", type=Path, help="also write the JSON results to this file")
    p.add_argument("--keep-peer", action="store_true", help="leave peer-docker running if this script started it")
    args = p.parse_args(argv)
    engines = engines_from(p, args.engines)

    with ExitStack() as stack:
        base = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-", dir="/var/tmp")))
        base.mkdir(parents=True, exist_ok=True)
        archive = base / f"busybox-{args.pad_mb}mb-{args.layers}l.tar"
        if not archive.exists():
            build_archive(archive, args.pad_mb, args.layers)
        archive_mb = archive.stat().st_size / 1e6
        hosts: dict[str, str] = {}
        for e in engines:
            hosts[e] = stack.enter_context(dockyard_engine(base) if e == "dockyard" else docker_engine(args.keep_peer))
        versions = {e: engine_version(h) for e, h in hosts.items()}
        samples: dict[str, dict[str, list[float]]] = {e: {op: [] for op in OPS} for e in engines}
        for e in engines:
            for _ in range(args.warmup):
                one_round(hosts[e], archive, base, args.layers)
        for r in range(args.rounds):
            for e in round_order(engines, r):
                t = one_round(hosts[e], archive, base, args.layers)
                for op in OPS:
                    samples[e][op].append(t[op])
                log(f"round {r + 1}/{args.rounds} {e}: push {t['push']:.3f}s pull {t['pull']:.3f}s")

    summary = summarize(samples, OPS)
    report = {
        "benchmark": "image_push_pull",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"machine": platform.machine(), "kernel": platform.release(), "cpus": os.cpu_count()},
        "archive": {"bytes": int(archive_mb * 1e6), "pad_mb": args.pad_mb, "layers": args.layers},
        "registry": "docker-registry (CNCF distribution) on 127.0.0.1, filesystem storage, a new one per round",
        "rounds": args.rounds,
        "warmup": args.warmup,
        "engines": versions,
        **summary,
    }
    if not write_report(report, args.out, args.json):
        print(f"docker push / cold pull of a {archive_mb:.0f} MB, {args.layers}-layer image to a local registry; "
              f"medians of {args.rounds} rounds")
        for e, v in versions.items():
            print(f"  {e}: {v}")
        print(table(summary, engines, archive_mb, OPS))
    return 0


if __name__ == "__main__":
    sys.exit(main())

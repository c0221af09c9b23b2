#!/usr/bin/env python3
"""Benchmark `run` of a busybox `true` bundle: dockyard-runtime vs runc.

Both runtimes run the same bundle (runc spec's default config, process `true`, a fresh
container id each time, a private `--root` state dir) alternating round by round; the report
gives each runtime's median, min and p90 over the samples and the dockyard-runtime/runc ratio of
medians (below 1 = dockyard-runtime faster). Not a test: run by hand as root (see bench/README.md).

    python3 bench/runtime_run.py                          # both runtimes, 50 runs each
    python3 bench/runtime_run.py --runtimes runc --json   # runc alone (baseline)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from image_load_save import round_order, write_report  # noqa: E402 - after the path set-up

RUNC = shutil.which("runc") or "/usr/sbin/runc"
DOCKYARD_RUNTIME = shutil.which("dockyard-runtime") or "dockyard-runtime"
BUSYBOX = Path("/bin/busybox")
RUNTIMES = {"dockyard-runtime": DOCKYARD_RUNTIME, "runc": RUNC}


def make_bundle(base: Path) -> Path:
    bundle = base / "bundle"
    rootfs = bundle / "rootfs"
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, rootfs / "bin/busybox")
    for applet in ("sh", "true"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    (rootfs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (rootfs / "etc/group").write_text("root:x:0:\n")
    subprocess.run([RUNC, "spec", "--bundle", str(bundle)], check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["true"]
    (bundle / "config.json").write_text(json.dumps(spec, indent=1))
    return bundle


def version(name: str, exe: str) -> str:
    args = [exe, "--version"] if name == "runc" else [exe, "features"]
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except OSError as e:
        return f"unavailable: {e}"
    if p.returncode != 0:
        return "unavailable"
    if name == "runc":
        return p.stdout.splitlines()[0]
    try:
        return "ociVersionMax " + str(json.loads(p.stdout).get("ociVersionMax"))
    except ValueError:
        return "unknown"


def run_once(exe: str, root: Path, bundle: Path, cid: str) -> float:
    t0 = time.perf_counter()
    p = subprocess.run([exe, "--root", str(root), "run", "--bundle", str(bundle), cid],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        subprocess.run([exe, "--root", str(root), "delete", "--force", cid], capture_output=True)
        raise RuntimeError(f"{exe} run failed ({p.returncode}): {p.stderr.decode(errors='replace').strip()}")
    return dt


def summary(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {
        "median_ms": round(statistics.median(ms), 2),
        "min_ms": round(ms[0], 2),
        "p90_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.9))], 2),
        "max_ms": round(ms[-1], 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtimes", default="dockyard-runtime,runc",
                    help="comma-separated subset of: dockyard-runtime, runc")
    ap.add_argument("--runs", type=int, default=50, help="timed runs per runtime (default 50)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs per runtime first")
    ap.add_argument("--json", action="store_true", help="print a JSON report")
    ap.add_argument("--out", type=Path, help="also write the JSON report here")
    args = ap.parse_args()

    if os.geteuid() != 0:
        print("runtime_run.py: needs root", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.runtimes.split(",") if n.strip()]
    for n in names:
        if n not in RUNTIMES:
            ap.error(f"unknown runtime {n!r}")

    samples: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="bench-runtime-run-", dir="/var/tmp") as d:
        base = Path(d)
        bundle = make_bundle(base)
        roots = {n: base / f"state-{n}" for n in names}
        counter = 0
        for rnd in range(args.warmup + args.runs):
            # alternate which runtime goes first, so neither always runs on a warmer cache
            for n in round_order(names, rnd):
                counter += 1
                dt = run_once(RUNTIMES[n], roots[n], bundle, f"bench-{os.getpid()}-{counter}")
                if rnd >= args.warmup:
                    samples[n].append(dt)

    report: dict[str, Any] = {
        "benchmark": "runtime_run",
        "what": "`<runtime> run` of a busybox `true` bundle (runc spec default config)",
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "versions": {n: version(n, RUNTIMES[n]) for n in names},
        "runs": args.runs,
        "warmup": args.warmup,
        "results": {n: summary(s) for n, s in samples.items()},
        "samples_ms": {n: [round(x * 1000, 3) for x in s] for n, s in samples.items()},
    }
    if "runc" in samples and "dockyard-runtime" in samples:
        report["ratio_dockyard_over_runc"] = round(
            statistics.median(samples["dockyard-runtime"]) / statistics.median(samples["runc"]), 3)
    if not write_report(report, args.out, args.json):
        for n, r in report["results"].items():
            print(f"{n:18} median {r['median_ms']:7.2f} ms  min {r['min_ms']:7.2f}  p90 {r['p90_ms']:7.2f}"
                  f"  ({args.runs} runs)")
        if "ratio_dockyard_over_runc" in report:
            print(f"ratio dockyard-runtime/runc (medians): {report['ratio_dockyard_over_runc']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Busybox test images built locally by scripts/make_busybox_image.py (no registry needed).

    from busybox_image import busybox_archive, busybox_rootfs_tar
    tar = busybox_archive(tmp_path)                                 # docker save layout
    tar = busybox_archive(tmp_path, fmt="oci-archive", layers=3)    # OCI layout tarball
    rootfs = busybox_rootfs_tar(tmp_path)                           # for `docker import`

Each distinct set of arguments is built once per test process into a private cache directory;
callers get their own copy in ``tmp_dir`` (so a test may modify or delete it), or the cached
file itself when ``tmp_dir`` is None (then treat it as read-only).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "make_busybox_image.py"
BUSYBOX = Path("/bin/busybox")
# The tags suites expect besides busybox (TESTING.md): busybox stands in for alpine.
ALPINE_TAGS = ("busybox:latest", "alpine:latest", "alpine:3.10")

_lock = threading.Lock()
_cache: dict[tuple[object, ...], Path] = {}
_cache_dir: Path | None = None


def busybox_available() -> bool:
    """Whether the image can be built here (Debian's busybox-static provides /bin/busybox)."""
    return BUSYBOX.is_file() and os.access(BUSYBOX, os.X_OK)


def _dir() -> Path:
    global _cache_dir
    if _cache_dir is None:
        _cache_dir = Path(tempfile.mkdtemp(prefix="dockyard-busybox-"))
        atexit.register(shutil.rmtree, _cache_dir, True)
    return _cache_dir


def _build(key: tuple[object, ...], args: list[str], suffix: str) -> Path:
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached.exists():
            return cached
        out = _dir() / f"image-{len(_cache)}{suffix}"
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), *args, "-o", str(out)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"make_busybox_image.py {' '.join(args)} failed:\n{proc.stderr}")
        _cache[key] = out
        return out


def _deliver(cached: Path, tmp_dir: Path | str | None, name: str) -> Path:
    if tmp_dir is None:
        return cached
    dest = Path(tmp_dir) / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, dest)
    return dest


def busybox_archive(
    tmp_dir: Path | str | None = None,
    *,
    fmt: str = "docker-archive",
    tags: Sequence[str] = ("busybox:latest",),
    layers: int = 1,
    pad_mb: int = 0,
    gzip: bool = False,
    docker_manifest: bool = False,
    cmd: Sequence[str] = ("sh",),
) -> Path:
    """An image archive for ``docker load``.

    fmt: "docker-archive" (Docker 20.10 ``docker save`` layout) or "oci-archive" (OCI layout;
    ``docker_manifest`` adds Docker 25's manifest.json beside it, ``gzip`` compresses layers).
    tags: RepoTags / ref names; empty for an untagged image. layers: 1..N; with 3 or more the
    third layer deletes a file of the second through a ``.wh.`` whiteout. pad_mb: MB of random,
    incompressible data spread over the layers (for size and speed tests).
    """
    if fmt not in ("docker-archive", "oci-archive"):
        raise ValueError(f"fmt must be docker-archive or oci-archive, not {fmt!r}")
    if (gzip or docker_manifest) and fmt != "oci-archive":
        raise ValueError("gzip and docker_manifest apply to oci-archive only")
    args = ["--format", fmt, "--layers", str(layers), "--pad-mb", str(pad_mb), "--cmd", json.dumps(list(cmd))]
    args += [a for t in tags for a in ("-t", t)] if tags else ["--no-tag"]
    if gzip:
        args.append("--gzip")
    if docker_manifest:
        args.append("--docker-manifest")
    key = ("archive", fmt, tuple(tags), layers, pad_mb, gzip, docker_manifest, tuple(cmd))
    cached = _build(key, args, ".tar")
    return _deliver(cached, tmp_dir, f"busybox-{fmt}-{layers}l.tar")


def busybox_rootfs_tar(tmp_dir: Path | str | None = None, *, layers: int = 1, pad_mb: int = 0) -> Path:
    """The flattened busybox root filesystem as one tar (for ``docker import``)."""
    args = ["--format", "rootfs", "--layers", str(layers), "--pad-mb", str(pad_mb)]
    cached = _build(("rootfs", layers, pad_mb), args, ".tar")
    return _deliver(cached, tmp_dir, "busybox-rootfs.tar")

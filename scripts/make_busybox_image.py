#!/usr/bin/env python3
"""Build a busybox image from Debian's busybox-static without a registry.

The image is ``FROM scratch``: ``/bin/busybox`` with its applet symlinks, a minimal ``/etc``
(passwd, group), ``/tmp`` (1777), ``/root`` and ``/home``. It is written as

- ``docker-archive``: what ``docker save`` of Docker 20.10 writes (``manifest.json``,
  ``<config-hex>.json``, ``<v1-id>/{layer.tar,VERSION,json}``, ``repositories``);
- ``oci-archive``: an OCI image layout tarball (``oci-layout``, ``index.json``, ``blobs/sha256``),
  optionally with Docker 25's ``manifest.json`` beside it;
- ``rootfs``: the flattened root filesystem as one tar, for ``docker import``.

Standard library only, and deliberately independent of dockyard: it is the reference producer
that dockyard's loaders are tested against.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

BUSYBOX = "/bin/busybox"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Fixed time for --reproducible output: entries, config and history all carry it.
EPOCH = 1704067200  # 2024-01-01T00:00:00Z
DOOMED = "etc/removed-by-whiteout"
PAD_FILE_MAX = 16 << 20

MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

ARCHES = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
}


# ---------------------------------------------------------------- layer contents


@dataclass
class Entry:
    """One tar member of a layer: a directory, regular file, symlink or whiteout."""

    path: str
    kind: str  # "dir" | "file" | "symlink"
    mode: int = 0o755
    data: bytes = b""
    source: str | None = None  # regular file read from the host
    target: str = ""  # symlink target
    pad: tuple[bytes, int] | None = None  # (seed, size): deterministic random content


@dataclass
class LayerSpec:
    created_by: str
    entries: list[Entry] = field(default_factory=list)


def applet_links() -> list[str]:
    out = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True, text=True).stdout
    return sorted({p.strip().lstrip("/") for p in out.splitlines() if p.strip()} - {"bin/busybox"})


def parents_of(paths: list[str]) -> list[str]:
    dirs: set[str] = set()
    for p in paths:
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


def dir_entries(paths: list[str], modes: dict[str, int] | None = None) -> list[Entry]:
    modes = modes or {}
    return [Entry(d, "dir", modes.get(d, 0o755)) for d in paths]


PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
GROUP = b"root:x:0:\nnobody:x:65534:\n"


def base_dirs() -> list[Entry]:
    return dir_entries(["etc", "home", "root", "tmp"], {"root": 0o700, "tmp": 0o1777})


def etc_files() -> list[Entry]:
    return [
        Entry("etc/group", "file", 0o644, GROUP),
        Entry("etc/passwd", "file", 0o644, PASSWD),
    ]


def links_entries(links: list[str]) -> list[Entry]:
    return dir_entries([d for d in parents_of(links) if d != "bin"]) + [
        Entry(p, "symlink", 0o777, target="/" + "bin/busybox") for p in links
    ]


def plan_layers(n: int, pad_mb: int) -> list[LayerSpec]:
    """Split the rootfs over ``n`` layers.

    1 layer: everything. 2: the binary, then the rest. 3 or more: the binary; the applet links
    with /etc and a file that the third layer deletes with a ``.wh.`` whiteout; then one small
    marker file per further layer. Padding (random, incompressible) is spread over all layers.
    """
    if n < 1:
        raise SystemExit("--layers must be at least 1")
    links = applet_links()
    binary = [Entry("bin", "dir"), Entry("bin/busybox", "file", 0o755, source=BUSYBOX)]
    rest = base_dirs() + etc_files() + links_entries(links)
    if n == 1:
        layers = [LayerSpec("ADD busybox rootfs in /", binary + rest)]
    elif n == 2:
        layers = [LayerSpec("ADD busybox in /bin/", binary), LayerSpec("ADD rootfs in /", rest)]
    else:
        doomed = Entry(DOOMED, "file", 0o644, b"this file is deleted by the next layer\n")
        layers = [
            LayerSpec("ADD busybox in /bin/", binary),
            LayerSpec("ADD rootfs in /", rest + [doomed]),
            LayerSpec(
                f"RUN rm /{DOOMED}",
                [
                    Entry("etc", "dir"),
                    Entry(os.path.dirname(DOOMED) + "/.wh." + os.path.basename(DOOMED), "file", 0o644),
                ],
            ),
        ]
        for i in range(4, n + 1):
            layers.append(
                LayerSpec(
                    f"RUN echo {i} > /etc/layer-{i}",
                    [Entry("etc", "dir"), Entry(f"etc/layer-{i}", "file", 0o644, f"{i}\n".encode())],
                )
            )
    if pad_mb > 0:
        total = pad_mb << 20
        for i, layer in enumerate(layers):
            share = total // n + (1 if i < total % n else 0)
            if share <= 0:
                continue
            d = f"pad/{i + 1}"
            layer.entries += [Entry("pad", "dir"), Entry(d, "dir")]
            k = 0
            while share > 0:
                size = min(share, PAD_FILE_MAX)
                layer.entries.append(
                    Entry(f"{d}/data-{k:03d}", "file", 0o644, pad=(f"{i}/{k}".encode(), size))
                )
                share -= size
                k += 1
            layer.created_by += f" && add {sum(e.pad[1] for e in layer.entries if e.pad)} bytes of padding"
    for layer in layers:
        layer.entries.sort(key=lambda e: e.path)
    return layers


# ---------------------------------------------------------------- writing tars


class HashingWriter(io.RawIOBase):
    """Write-through file object that counts and hashes what passes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        mv = memoryview(b)
        self.sha.update(mv)
        self.out.write(mv)
        self.size += len(mv)
        return len(mv)


class PadReader(io.RawIOBase):
    """Deterministic incompressible bytes: SHAKE-128 of the seed, produced in chunks."""

    def __init__(self, seed: bytes, size: int) -> None:
        self.seed, self.size, self.pos = seed, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self.size - self.pos, 1 << 20)
        if n <= 0:
            return 0
        chunk = hashlib.shake_128(self.seed + b"/" + str(self.pos).encode()).digest(n)
        buf[:n] = chunk
        self.pos += n
        return n


def tarinfo(name: str, mtime: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.mtime = mtime
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def write_layer(entries: list[Entry], out: IO[bytes], mtime: int) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            ti = tarinfo(e.path, mtime)
            ti.mode = e.mode
            if e.kind == "dir":
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            elif e.kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e.target
                tar.addfile(ti)
            elif e.source is not None:
                ti.size = os.stat(e.source).st_size
                with open(e.source, "rb") as f:
                    tar.addfile(ti, f)
            elif e.pad is not None:
                ti.size = e.pad[1]
                tar.addfile(ti, io.BufferedReader(PadReader(*e.pad), 1 << 20))
            else:
                ti.size = len(e.data)
                tar.addfile(ti, io.BytesIO(e.data))


@dataclass
class BuiltLayer:
    path: Path  # uncompressed tar
    diff_id: str  # sha256:<hex> of the uncompressed tar
    size: int
    created_by: str
    blob_path: Path | None = None  # compressed blob, when --gzip
    blob_digest: str = ""
    blob_size: int = 0


def build_layer(spec: LayerSpec, workdir: Path, index: int, mtime: int) -> BuiltLayer:
    path = workdir / f"layer-{index}.tar"
    with open(path, "wb") as f:
        w = HashingWriter(f)
        write_layer(spec.entries, w, mtime)  # type: ignore[arg-type]
    return BuiltLayer(path, "sha256:" + w.sha.hexdigest(), w.size, spec.created_by)


def gzip_layer(layer: BuiltLayer) -> None:
    gz = layer.path.with_suffix(".tar.gz")
    with open(gz, "wb") as raw:
        w = HashingWriter(raw)
        # mtime=0 and no file name in the header keep the blob digest reproducible.
        with gzip.GzipFile(filename="", mode="wb", fileobj=w, mtime=0) as z, open(layer.path, "rb") as src:  # type: ignore[arg-type]
            shutil.copyfileobj(src, z, 1 << 20)
    layer.blob_path, layer.blob_digest, layer.blob_size = gz, "sha256:" + w.sha.hexdigest(), w.size


# ---------------------------------------------------------------- image metadata


def rfc3339(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_platform() -> tuple[str, str]:
    m = platform.machine()
    return ARCHES.get(m, (m, ""))


def image_config(layers: list[BuiltLayer], cmd: list[str], created: int) -> dict[str, Any]:
    arch, variant = host_platform()
    cfg: dict[str, Any] = {
        "architecture": arch,
        "config": {"Env": [PATH_ENV], "Cmd": cmd},
        "created": rfc3339(created),
        "history": [
            {"created": rfc3339(created), "created_by": "/bin/sh -c #(nop) " + ly.created_by} for ly in layers
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [ly.diff_id for ly in layers]},
    }
    cfg["history"].append(
        {
            "created": rfc3339(created),
            "created_by": "/bin/sh -c #(nop)  CMD " + json.dumps(cmd),
            "empty_layer": True,
        }
    )
    if variant:
        cfg["variant"] = variant
    return cfg


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def split_tag(tag: str) -> tuple[str, str]:
    """("busybox:latest") -> ("busybox", "latest"); a port in the registry is not a tag."""
    name, sep, t = tag.rpartition(":")
    if not sep or "/" in t:
        return tag, "latest"
    return name, t


def normalized_name(repo: str) -> str:
    """Docker's fully qualified name, e.g. busybox -> docker.io/library/busybox."""
    first = repo.split("/", 1)[0]
    if "/" not in repo:
        return "docker.io/library/" + repo
    if "." in first or ":" in first or first == "localhost":
        return repo
    return "docker.io/" + repo


class TarOut:
    """The outer archive: members with fixed metadata, from bytes or from files on disk."""

    def __init__(self, fileobj: IO[bytes], mtime: int) -> None:
        # Closed by close(): members are added one by one from several writers.
        self.tar = tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.mtime = mtime
        self.dirs: set[str] = set()

    def mkdir(self, name: str) -> None:
        if name in self.dirs:
            return
        self.dirs.add(name)
        ti = tarinfo(name, self.mtime)
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        self.tar.addfile(ti)

    def add_bytes(self, name: str, data: bytes) -> None:
        ti = tarinfo(name, self.mtime)
        ti.mode, ti.size = 0o644, len(data)
        self.tar.addfile(ti, io.BytesIO(data))

    def add_file(self, name: str, path: Path) -> None:
        ti = tarinfo(name, self.mtime)
        ti.mode, ti.size = 0o644, path.stat().st_size
        with open(path, "rb") as f:
            self.tar.addfile(ti, f)

    def close(self) -> None:
        self.tar.close()


def write_docker_archive(
    out: IO[bytes], layers: list[BuiltLayer], config: dict[str, Any], tags: list[str], mtime: int
) -> None:
    config_bytes = canonical(config)
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    tar = TarOut(out, mtime)
    parent = ""
    layer_paths = []
    v1_config = {k: config[k] for k in ("architecture", "config", "created", "os") if k in config}
    for i, ly in enumerate(layers):
        top = i == len(layers) - 1
        # v1 IDs chain the parent's ID and the layer's diff ID, like docker's v1 compatibility IDs.
        v1_id = hashlib.sha256(f"{parent} {ly.diff_id}{' ' + config_hex if top else ''}".encode()).hexdigest()
        v1: dict[str, Any] = {"id": v1_id, "created": rfc3339(mtime) if not top else config["created"]}
        if parent:
            v1["parent"] = parent
        v1["container_config"] = {"Cmd": None, "Env": None}
        if top:
            v1.update(v1_config)
        tar.mkdir(v1_id)
        tar.add_bytes(f"{v1_id}/VERSION", b"1.0")
        tar.add_bytes(f"{v1_id}/json", canonical(v1))
        tar.add_file(f"{v1_id}/layer.tar", ly.path)
        layer_paths.append(f"{v1_id}/layer.tar")
        parent = v1_id
    tar.add_bytes(f"{config_hex}.json", config_bytes)
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": tags or None, "Layers": layer_paths}]
    tar.add_bytes("manifest.json", json.dumps(manifest).encode())
    repos: dict[str, dict[str, str]] = {}
    for tag in tags:
        repo, t = split_tag(tag)
        repos.setdefault(repo, {})[t] = parent
    if repos:
        tar.add_bytes("repositories", json.dumps(repos).encode())
    tar.close()


def write_oci_archive(
    out: IO[bytes],
    layers: list[BuiltLayer],
    config: dict[str, Any],
    tags: list[str],
    mtime: int,
    docker_manifest: bool,
) -> None:
    config_bytes = canonical(config)
    config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    layer_descs = []
    blobs: list[tuple[str, Path]] = []
    for ly in layers:
        if ly.blob_path is not None:
            layer_descs.append(
                {"mediaType": MT_OCI_LAYER_GZIP, "digest": ly.blob_digest, "size": ly.blob_size}
            )
            blobs.append((ly.blob_digest, ly.blob_path))
        else:
            layer_descs.append({"mediaType": MT_OCI_LAYER, "digest": ly.diff_id, "size": ly.size})
            blobs.append((ly.diff_id, ly.path))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": layer_descs,
    }
    manifest_bytes = json.dumps(manifest, indent=None, separators=(",", ":")).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    arch, variant = host_platform()
    plat: dict[str, str] = {"architecture": arch, "os": "linux"}
    if variant:
        plat["variant"] = variant
    descs = []
    for tag in tags or [None]:  # type: ignore[list-item]
        desc: dict[str, Any] = {
            "mediaType": MT_OCI_MANIFEST,
            "digest": manifest_digest,
            "size": len(manifest_bytes),
        }
        if tag is not None:
            repo, t = split_tag(tag)
            desc["annotations"] = {
                "io.containerd.image.name": f"{normalized_name(repo)}:{t}",
                "org.opencontainers.image.ref.name": t,
            }
        desc["platform"] = plat
        descs.append(desc)
    index = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": descs}

    tar = TarOut(out, mtime)
    tar.mkdir("blobs")
    tar.mkdir("blobs/sha256")
    seen: set[str] = set()
    for digest, path in blobs:
        if digest not in seen:
            seen.add(digest)
            tar.add_file("blobs/sha256/" + digest.split(":", 1)[1], path)
    tar.add_bytes("blobs/sha256/" + config_digest.split(":", 1)[1], config_bytes)
    tar.add_bytes("blobs/sha256/" + manifest_digest.split(":", 1)[1], manifest_bytes)
    tar.add_bytes("index.json", json.dumps(index).encode())
    if docker_manifest:
        # Docker 25+ writes this beside the OCI layout so older loaders still understand it.
        legacy = [
            {
                "Config": "blobs/sha256/" + config_digest.split(":", 1)[1],
                "RepoTags": tags or None,
                "Layers": ["blobs/sha256/" + d.split(":", 1)[1] for d, _ in blobs],
            }
        ]
        tar.add_bytes("manifest.json", json.dumps(legacy).encode())
    tar.add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    tar.close()


def write_rootfs(out: IO[bytes], specs: list[LayerSpec], mtime: int) -> None:
    """The flattened filesystem: later layers win, whiteouts delete."""
    merged: dict[str, Entry] = {}
    for spec in specs:
        for e in spec.entries:
            base = os.path.basename(e.path)
            if base.startswith(".wh."):
                gone = os.path.join(os.path.dirname(e.path), base[4:])
                for p in [p for p in merged if p == gone or p.startswith(gone + "/")]:
                    del merged[p]
            else:
                merged[e.path] = e
    write_layer([merged[p] for p in sorted(merged)], out, mtime)


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--format", choices=["docker-archive", "oci-archive", "rootfs"], default="docker-archive")
    p.add_argument("-o", "--output", default="-", help="output file, or - for stdout (default)")
    p.add_argument("-t", "--tag", action="append", dest="tags", help="repeatable; default busybox:latest")
    p.add_argument("--no-tag", action="store_true", help="write an untagged image")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--pad-mb", type=int, default=0, help="MB of random data spread over the layers")
    p.add_argument("--gzip", action="store_true", help="gzip the layers (oci-archive)")
    p.add_argument(
        "--docker-manifest", action="store_true", help="oci-archive: add Docker 25's manifest.json"
    )
    p.add_argument("--cmd", default='["sh"]', help='JSON list, default ["sh"]')
    p.add_argument("--reproducible", action=argparse.BooleanOptionalAction, default=True)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.path.exists(BUSYBOX):
        print(f"{BUSYBOX} is missing: apt-get install busybox-static", file=sys.stderr)
        return 1
    cmd = json.loads(args.cmd)
    if not (isinstance(cmd, list) and all(isinstance(c, str) for c in cmd)):
        raise SystemExit("--cmd must be a JSON list of strings")
    tags = [] if args.no_tag else (args.tags or ["busybox:latest"])
    mtime = (
        EPOCH
        if args.reproducible
        else int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or int(dt.datetime.now(dt.UTC).timestamp())
    )
    specs = plan_layers(args.layers, args.pad_mb)

    def emit(writer: Callable[[IO[bytes]], None]) -> None:
        if args.output == "-":
            writer(sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        out = Path(args.output)
        tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                writer(f)
            os.replace(tmp, out)  # never leave a half-written archive under the real name
        finally:
            tmp.unlink(missing_ok=True)

    if args.format == "rootfs":
        emit(lambda f: write_rootfs(f, specs, mtime))
        return 0
    with tempfile.TemporaryDirectory(prefix="busybox-image-") as td:
        layers = [build_layer(s, Path(td), i, mtime) for i, s in enumerate(specs)]
        if args.gzip:
            if args.format != "oci-archive":
                raise SystemExit("--gzip applies to oci-archive only (docker save writes plain layer.tar)")
            for ly in layers:
                gzip_layer(ly)
        config = image_config(layers, cmd, mtime)
        if args.format == "docker-archive":
            emit(lambda f: write_docker_archive(f, layers, config, tags, mtime))
        else:
            emit(lambda f: write_oci_archive(f, layers, config, tags, mtime, args.docker_manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""scripts/make_busybox_image.py writes archives that real tools (skopeo, umoci) accept."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import zlib
from pathlib import Path

import pytest
from busybox_image import ALPINE_TAGS, busybox_archive, busybox_available, busybox_rootfs_tar

pytestmark = pytest.mark.skipif(not busybox_available(), reason="needs busybox-static (/bin/busybox)")
needs_skopeo = pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo")


def skopeo_inspect(ref: str) -> dict[str, object]:
    out = subprocess.run(["skopeo", "inspect", ref], check=True, capture_output=True, text=True).stdout
    data: dict[str, object] = json.loads(out)
    return data


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else b"") for m in tar}  # type: ignore[union-attr]


def test_docker_archive_layout_and_digests(tmp_path: Path) -> None:
    tar = busybox_archive(tmp_path, layers=3, tags=ALPINE_TAGS)
    files = members(tar)
    (manifest,) = json.loads(files["manifest.json"])
    assert manifest["RepoTags"] == list(ALPINE_TAGS)
    config = json.loads(files[manifest["Config"]])
    assert manifest["Config"] == hashlib.sha256(files[manifest["Config"]]).hexdigest() + ".json"
    assert config["config"] == {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
    }
    assert config["os"] == "linux"
    diff_ids = ["sha256:" + hashlib.sha256(files[p]).hexdigest() for p in manifest["Layers"]]
    assert config["rootfs"] == {"type": "layers", "diff_ids": diff_ids}
    assert len([h for h in config["history"] if not h.get("empty_layer")]) == 3
    for p in manifest["Layers"]:
        v1 = p.split("/")[0]
        assert files[f"{v1}/VERSION"] == b"1.0"
        assert json.loads(files[f"{v1}/json"])["id"] == v1
    top = manifest["Layers"][-1].split("/")[0]
    assert json.loads(files["repositories"]) == {
        "busybox": {"latest": top},
        "alpine": {"latest": top, "3.10": top},
    }
    # Layer 3 deletes a file of layer 2 through a whiteout.
    with tarfile.open(fileobj=io.BytesIO(files[manifest["Layers"][2]])) as layer:
        assert "etc/.wh.removed-by-whiteout" in layer.getnames()


def test_rootfs_contents(tmp_path: Path) -> None:
    with tarfile.open(busybox_rootfs_tar(tmp_path, layers=3)) as tar:
        m = {i.name: i for i in tar}
    assert m["bin/busybox"].isfile() and m["bin/busybox"].mode == 0o755
    assert m["bin/sh"].issym() and m["bin/sh"].linkname == "/bin/busybox"
    assert m["usr/bin/env"].linkname == "/bin/busybox"
    assert m["tmp"].mode == 0o1777 and m["root"].mode == 0o700 and m["home"].isdir()
    assert "etc/removed-by-whiteout" not in m
    assert all(i.mtime == m["bin"].mtime and i.uid == 0 for i in m.values())
    passwd = tar_text(busybox_rootfs_tar(), "etc/passwd")
    assert passwd.startswith("root:x:0:0:") and "nobody:x:65534:65534:" in passwd


def tar_text(path: Path, name: str) -> str:
    with tarfile.open(path) as tar:
        return tar.extractfile(name).read().decode()  # type: ignore[union-attr]


def test_cached_and_reproducible(tmp_path: Path) -> None:
    a = busybox_archive()
    assert busybox_archive() == a  # built once per process
    copy = busybox_archive(tmp_path)
    assert copy.parent == tmp_path and copy.read_bytes() == a.read_bytes()
    script = Path(__file__).resolve().parents[3] / "scripts" / "make_busybox_image.py"
    again = subprocess.run(["python3", str(script), "-o", "-"], check=True, capture_output=True).stdout
    assert again == a.read_bytes()


def test_padding_is_spread_and_incompressible(tmp_path: Path) -> None:
    tar = busybox_archive(tmp_path, layers=2, pad_mb=2)
    files = members(tar)
    (manifest,) = json.loads(files["manifest.json"])
    sizes = [len(files[p]) for p in manifest["Layers"]]
    assert all(s > (1 << 20) for s in sizes)
    # Each layer carries 1 MB of padding that no compressor can shrink.
    for p in manifest["Layers"]:
        assert len(zlib.compress(files[p], 9)) > (1 << 20)


@needs_skopeo
def test_skopeo_reads_docker_archive(tmp_path: Path) -> None:
    tar = busybox_archive(tmp_path, layers=4, tags=ALPINE_TAGS)
    assert len(skopeo_inspect(f"docker-archive:{tar}")["Layers"]) == 4  # type: ignore[arg-type]
    for tag in ALPINE_TAGS:
        info = skopeo_inspect(f"docker-archive:{tar}:{tag}")
        assert info["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    with pytest.raises(subprocess.CalledProcessError):
        skopeo_inspect(f"docker-archive:{tar}:busybox:nope")


@needs_skopeo
@pytest.mark.parametrize("gzip", [False, True])
def test_skopeo_reads_oci_archive(tmp_path: Path, gzip: bool) -> None:
    tar = busybox_archive(
        tmp_path, fmt="oci-archive", layers=3, tags=("busybox:latest", "busybox:1.36"), gzip=gzip
    )
    index = json.loads(members(tar)["index.json"])
    assert [d["annotations"] for d in index["manifests"]] == [
        {
            "io.containerd.image.name": "docker.io/library/busybox:latest",
            "org.opencontainers.image.ref.name": "latest",
        },
        {
            "io.containerd.image.name": "docker.io/library/busybox:1.36",
            "org.opencontainers.image.ref.name": "1.36",
        },
    ]
    for ref in ("latest", "1.36"):
        info = skopeo_inspect(f"oci-archive:{tar}:{ref}")
        assert len(info["Layers"]) == 3  # type: ignore[arg-type]
    with pytest.raises(subprocess.CalledProcessError):
        skopeo_inspect(f"oci-archive:{tar}:nope")


@pytest.mark.skipif(shutil.which("umoci") is None, reason="needs umoci")
def test_umoci_unpacks_oci_layout_with_whiteout(tmp_path: Path) -> None:
    tar = busybox_archive(tmp_path, fmt="oci-archive", layers=3, gzip=True, docker_manifest=True)
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(tar) as t:
        assert "manifest.json" in t.getnames()
        t.extractall(layout, filter="data")
    bundle = tmp_path / "bundle"
    subprocess.run(
        ["umoci", "unpack", "--rootless", "--image", f"{layout}:latest", str(bundle)],
        check=True,
        capture_output=True,
    )
    rootfs = bundle / "rootfs"
    assert (rootfs / "bin" / "busybox").is_file()
    assert (rootfs / "bin" / "sh").readlink() == Path("/bin/busybox")
    assert (rootfs / "etc" / "passwd").is_file()
    assert not (rootfs / "etc" / "removed-by-whiteout").exists()

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from archive_helpers import snapshot

from dockyard.archive import (
    Compression,
    apply_layer,
    open_decompressed,
    write_layer_from_overlay_upper,
    write_layer_from_trees,
    write_tar_from_dir,
)


def build_tree(root: Path) -> None:
    (root / "etc").mkdir(parents=True)
    (root / "etc/conf").write_bytes(b"conf")
    (root / "etc/conf").chmod(0o640)
    (root / "bin").mkdir()
    (root / "bin/tool").write_bytes(os.urandom(3000))
    (root / "bin/tool").chmod(0o4755)
    os.link(root / "bin/tool", root / "bin/tool2")
    (root / "bin/sh").symlink_to("tool")
    (root / "empty").mkdir(mode=0o700)
    os.mkfifo(root / "fifo")
    deep = root / "/".join(["long" * 40] * 3)
    deep.mkdir(parents=True)
    (deep / "f").write_bytes(b"deep")
    os.setxattr(root / "etc/conf", "user.note", b"\x00\xffbin")
    for p in sorted(root.rglob("*"), reverse=True):  # tars carry whole seconds
        os.utime(p, (1_500_000_000, 1_500_000_000), follow_symlinks=False)


def test_round_trip(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    build_tree(src)
    dst.mkdir()
    buf = io.BytesIO()
    res = write_tar_from_dir(src, buf)
    blob = buf.getvalue()
    assert res.digest == res.diff_id and res.size == res.compressed_size == len(blob)
    assert str(res.diff_id) == "sha256:" + hashlib.sha256(blob).hexdigest()
    applied = apply_layer(io.BytesIO(blob), dst)
    assert applied.diff_id == res.diff_id
    assert snapshot(dst) == snapshot(src)
    assert (dst / "bin/tool").stat().st_ino == (dst / "bin/tool2").stat().st_ino
    assert os.getxattr(dst / "etc/conf", "user.note") == b"\x00\xffbin"


def test_tar_format_and_order(tmp_path: Path) -> None:
    build_tree(tmp_path / "t")
    buf = io.BytesIO()
    write_tar_from_dir(tmp_path / "t", buf)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        members = tf.getmembers()
    names = [m.name for m in members]
    assert names[:6] == ["bin", "bin/sh", "bin/tool", "bin/tool2", "empty", "etc"]
    assert all(not n.startswith(("/", "./")) for n in names)
    for i, m in enumerate(members):  # parents come before their children
        parent = os.path.dirname(m.name)
        assert not parent or parent in names[:i]
    by_name = {m.name: m for m in members}
    assert by_name["bin/tool2"].islnk() and by_name["bin/tool2"].linkname == "bin/tool"
    assert by_name["etc/conf"].pax_headers["SCHILY.xattr.user.note"].encode("utf-8", "surrogateescape") \
        == b"\x00\xffbin"
    assert by_name["etc/conf"].uname == "" and by_name["etc/conf"].mtime == 1_500_000_000


@pytest.mark.parametrize("kind", [Compression.GZIP, Compression.ZSTD])
def test_compressed_output_digests(tmp_path: Path, kind: Compression) -> None:
    build_tree(tmp_path / "t")
    buf = io.BytesIO()
    res = write_tar_from_dir(tmp_path / "t", buf, compression=kind)
    blob = buf.getvalue()
    plain = open_decompressed(io.BytesIO(blob)).read()
    assert str(res.digest) == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert res.compressed_size == len(blob) and res.size == len(plain)
    assert str(res.diff_id) == "sha256:" + hashlib.sha256(plain).hexdigest()
    again = io.BytesIO()
    assert write_tar_from_dir(tmp_path / "t", again, compression=kind) == res  # deterministic


def clone(src: Path, dst: Path) -> None:
    buf = io.BytesIO()
    write_tar_from_dir(src, buf)
    dst.mkdir()
    apply_layer(io.BytesIO(buf.getvalue()), dst)


def entry_names(blob: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(blob)) as tf:
        return tf.getnames()


def test_diff_of_two_trees_reproduces_upper(tmp_path: Path) -> None:
    lower, upper, target = tmp_path / "lower", tmp_path / "upper", tmp_path / "target"
    build_tree(lower)
    clone(lower, upper)
    (upper / "etc/new").write_bytes(b"new")                       # added
    os.unlink(upper / "fifo")                                     # deleted
    shutil.rmtree(upper / "empty")                                # deleted dir
    (upper / "bin/sh").unlink()
    (upper / "bin/sh").symlink_to("tool2")                        # symlink target changed
    (upper / "empty").write_bytes(b"dir became a file")           # type change
    conf = upper / "etc/conf"
    st = conf.stat()
    conf.write_bytes(b"CONF")                                     # same size and mtime, new bytes
    os.utime(conf, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.utime(upper / "etc", ns=(st.st_atime_ns, (lower / "etc").stat().st_mtime_ns))

    buf = io.BytesIO()
    res = write_layer_from_trees(lower, upper, buf)
    # Unchanged files stay out; parents of changes travel with them; deletions are whiteouts.
    assert entry_names(buf.getvalue()) == ["bin", "bin/sh", "empty", "etc", "etc/conf", "etc/new",
                                           ".wh.fifo"]
    clone(lower, target)
    applied = apply_layer(io.BytesIO(buf.getvalue()), target)
    assert applied.diff_id == res.diff_id
    assert snapshot(target) == snapshot(upper)


def test_identical_trees_give_an_empty_layer(tmp_path: Path) -> None:
    build_tree(tmp_path / "a")
    clone(tmp_path / "a", tmp_path / "b")
    buf = io.BytesIO()
    write_layer_from_trees(tmp_path / "a", tmp_path / "b", buf)
    assert entry_names(buf.getvalue()) == []
    assert len(buf.getvalue()) == 1024


def test_no_lower_is_the_whole_tree(tmp_path: Path) -> None:
    build_tree(tmp_path / "t")
    a, b = io.BytesIO(), io.BytesIO()
    assert write_layer_from_trees(None, tmp_path / "t", a) == write_tar_from_dir(tmp_path / "t", b)


def test_overlay_upper_opaque_user_xattr(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "d").mkdir(parents=True)
    (upper / "d/f").write_bytes(b"f")
    os.setxattr(upper / "d", "user.overlay.opaque", b"y")
    os.setxattr(upper / "d", "user.keep", b"1")
    buf = io.BytesIO()
    write_layer_from_overlay_upper(upper, buf)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        members = tf.getmembers()
    assert [m.name for m in members] == ["d", "d/.wh..wh..opq", "d/f"]
    assert "SCHILY.xattr.user.overlay.opaque" not in members[0].pax_headers
    assert members[0].pax_headers["SCHILY.xattr.user.keep"] == "1"
    assert members[1].isreg() and members[1].size == 0

"""Layer apply and diff with root: owners, special bits, devices, xattrs, overlayfs whiteouts."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from archive_helpers import E, make_tar, snapshot

from dockyard.archive import (
    WhiteoutMode,
    apply_layer,
    write_layer_from_overlay_upper,
    write_tar_from_dir,
)

pytestmark = pytest.mark.root
D, L, C = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE


def apply(entries: list[E], root: Path, mode: WhiteoutMode = WhiteoutMode.DELETE) -> None:
    apply_layer(io.BytesIO(make_tar(entries)), root, whiteouts=mode)


@contextmanager
def overlay(lower: Path, upper: Path, work: Path, merged: Path) -> Iterator[Path]:
    for p in (work, merged):
        p.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)], check=True)
    try:
        yield merged
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def test_owner_special_bits_devices_fifos(tmp_path: Path) -> None:
    apply([E("d/", D, mode=0o3775, uid=1000, gid=1001),
           E("d/suid", data=b"x", mode=0o6755, uid=1234, gid=5678),
           E("sticky/", D, mode=0o1777),
           E("dev/null", C, mode=0o666, devmajor=1, devminor=3),
           E("dev/loop0", tarfile.BLKTYPE, mode=0o660, devmajor=7, devminor=0, gid=6),
           E("fifo", tarfile.FIFOTYPE, mode=0o620, uid=7),
           E("lnk", L, linkname="d/suid", uid=55, gid=66)], tmp_path)
    st = (tmp_path / "d/suid").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o6755)  # chmod after chown
    d = (tmp_path / "d").stat()
    assert (d.st_uid, d.st_gid, stat.S_IMODE(d.st_mode)) == (1000, 1001, 0o3775)
    assert stat.S_IMODE((tmp_path / "sticky").stat().st_mode) == 0o1777
    null = (tmp_path / "dev/null").lstat()
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    loop = (tmp_path / "dev/loop0").lstat()
    assert stat.S_ISBLK(loop.st_mode) and loop.st_rdev == os.makedev(7, 0) and loop.st_gid == 6
    fifo = (tmp_path / "fifo").lstat()
    assert stat.S_ISFIFO(fifo.st_mode) and fifo.st_uid == 7 and stat.S_IMODE(fifo.st_mode) == 0o620
    lnk = (tmp_path / "lnk").lstat()
    assert (lnk.st_uid, lnk.st_gid) == (55, 66)


def test_same_owner_false_keeps_our_uid(tmp_path: Path) -> None:
    apply_layer(io.BytesIO(make_tar([E("f", uid=1234, gid=99)])), tmp_path, same_owner=False)
    assert (tmp_path / "f").stat().st_uid == os.geteuid()


def test_xattrs_user_and_trusted(tmp_path: Path) -> None:
    apply([E("f", xattrs={"user.a": "1", "trusted.b": "two", "security.capability": "\x01\x00\x00\x02"
                          "\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}, uid=5)],
          tmp_path)
    f = tmp_path / "f"
    assert os.getxattr(f, "user.a") == b"1"
    assert os.getxattr(f, "trusted.b") == b"two"
    # The capability survives the chown that came before it.
    assert os.getxattr(f, "security.capability")[:4] == b"\x01\x00\x00\x02"
    out = io.BytesIO()
    write_tar_from_dir(tmp_path, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        headers = tf.getmember("f").pax_headers
    assert headers["SCHILY.xattr.user.a"] == "1" and headers["SCHILY.xattr.trusted.b"] == "two"
    assert "SCHILY.xattr.security.capability" in headers


def test_round_trip_as_root(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    apply([E("a/", D, uid=3, gid=4, mode=0o750), E("a/s", mode=0o4711, uid=9, data=b"bin"),
           E("dev/zero", C, devmajor=1, devminor=5), E("fifo", tarfile.FIFOTYPE)], src)
    out = io.BytesIO()
    res = write_tar_from_dir(src, out)
    assert apply_layer(io.BytesIO(out.getvalue()), dst).diff_id == res.diff_id
    assert snapshot(dst) == snapshot(src)


def test_overlay_mode_and_real_overlay(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    upper.mkdir()
    apply([E("keep"), E("gone"), E("d/", D), E("d/old"), E("e/", D), E("e/stays")], lower)
    apply([E(".wh.gone"), E("d/", D), E("d/.wh..wh..opq"), E("d/new", data=b"n"), E("e/.wh.missing")],
          upper, WhiteoutMode.OVERLAY)
    wh = (upper / "gone").lstat()
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert os.getxattr(upper / "d", "trusted.overlay.opaque") == b"y"
    assert not os.path.lexists(upper / ".wh.gone")

    with overlay(lower, upper, tmp_path / "work", tmp_path / "merged") as merged:
        assert sorted(os.listdir(merged)) == ["d", "e", "keep"]
        assert os.listdir(merged / "d") == ["new"]
        assert os.listdir(merged / "e") == ["stays"]


def test_overlay_upper_converts_back_to_a_layer(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    upper.mkdir()
    apply([E("etc/", D), E("etc/a"), E("etc/b"), E("opq/", D), E("opq/x"), E("opq/y/", D), E("opq/y/z"),
           E("f", data=b"old")], lower)
    with overlay(lower, upper, tmp_path / "work", tmp_path / "merged") as merged:
        os.unlink(merged / "etc/b")
        subprocess.run(["rm", "-rf", str(merged / "opq")], check=True)
        (merged / "opq").mkdir()  # a removed-then-recreated dir is opaque in the upper
        (merged / "opq/fresh").write_bytes(b"fresh")
        (merged / "f").write_bytes(b"new content")
        expected = snapshot(merged)

    out = io.BytesIO()
    res = write_layer_from_overlay_upper(upper, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        names = tf.getnames()
    assert "etc/.wh.b" in names and "opq/.wh..wh..opq" in names
    assert names.index("opq") < names.index("opq/.wh..wh..opq") < names.index("opq/fresh")
    target = tmp_path / "target"
    target.mkdir()
    out2 = io.BytesIO()
    write_tar_from_dir(lower, out2)
    apply_layer(io.BytesIO(out2.getvalue()), target)
    assert apply_layer(io.BytesIO(out.getvalue()), target).diff_id == res.diff_id
    assert snapshot(target) == expected

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
import zstandard
from archive_helpers import E, Trickle, make_tar

from dockyard.archive import CorruptLayer, WhiteoutMode, apply_layer

D, L, H, F = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE


def apply(data: bytes, root: Path, **kw: object) -> object:
    kw.setdefault("same_owner", False)
    return apply_layer(io.BytesIO(data), root, **kw)  # type: ignore[arg-type]


def test_basic_entries(tmp_path: Path) -> None:
    layer = make_tar([
        E("etc/", D, mode=0o755, mtime=1_500_000_000),
        E("etc/conf", data=b"hello", mode=0o640, mtime=1_400_000_000),
        E("etc/link", L, linkname="conf"),
        E("etc/hard", H, linkname="etc/conf"),
        E("bin/tool", data=b"#!x", mode=0o4755),
        E("pipe", F, mode=0o600),
    ])
    apply(layer, tmp_path)
    conf = tmp_path / "etc/conf"
    assert conf.read_bytes() == b"hello"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640
    assert conf.stat().st_mtime == 1_400_000_000
    assert os.readlink(tmp_path / "etc/link") == "conf"
    assert (tmp_path / "etc/hard").stat().st_ino == conf.stat().st_ino
    # The directory's mtime is set after its children were created.
    assert (tmp_path / "etc").stat().st_mtime == 1_500_000_000
    assert stat.S_IMODE((tmp_path / "bin/tool").stat().st_mode) == 0o4755
    assert stat.S_IMODE((tmp_path / "bin").stat().st_mode) == 0o755  # implied parent
    assert stat.S_ISFIFO((tmp_path / "pipe").lstat().st_mode)


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress,
                                      lambda b: zstandard.ZstdCompressor().compress(b)])
def test_digests_cover_all_bytes(tmp_path: Path, compress: object) -> None:
    plain = make_tar([E("a", data=os.urandom(5000)), E("d/", D)]) + bytes(4096)  # extra padding
    raw = compress(plain)  # type: ignore[operator]
    res = apply_layer(Trickle(raw, 1000), tmp_path, same_owner=False)  # type: ignore[arg-type]
    assert str(res.diff_id) == "sha256:" + hashlib.sha256(plain).hexdigest()
    assert res.size == len(plain)
    assert str(res.compressed_digest) == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert res.compressed_size == len(raw)
    assert (tmp_path / "a").stat().st_size == 5000


def test_empty_input_is_an_empty_layer(tmp_path: Path) -> None:
    res = apply(b"", tmp_path)
    assert res.size == 0  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []


def test_whiteouts_delete_mode(tmp_path: Path) -> None:
    apply(make_tar([E("keep"), E("gone"), E("dir/", D), E("dir/x"), E("dir/sub/y")]), tmp_path)
    apply(make_tar([E(".wh.gone"), E(".wh.dir"), E(".wh.never-existed")]), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


def test_opaque_dir_keeps_only_this_layers_entries(tmp_path: Path) -> None:
    apply(make_tar([E("d/", D), E("d/old"), E("d/sub/", D), E("d/sub/old2"), E("other")]), tmp_path)
    apply(make_tar([E("d/", D), E("d/.wh..wh..opq"), E("d/new", data=b"n"), E("d/sub/", D),
                    E("d/sub/new2")]), tmp_path)
    got = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert got == ["d", "d/new", "d/sub", "d/sub/new2", "other"]


def test_replacements(tmp_path: Path) -> None:
    apply(make_tar([E("f"), E("d/", D), E("d/inner"), E("m/", D), E("m/lower"), E("s", L, linkname="f")]),
          tmp_path)
    apply(make_tar([E("f/", D), E("d", data=b"now a file"), E("m/", D, mode=0o700), E("m/upper"),
                    E("s", data=b"plain")]), tmp_path)
    assert (tmp_path / "f").is_dir()
    assert (tmp_path / "d").read_bytes() == b"now a file"
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["lower", "upper"]  # dirs merge
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == 0o700
    assert not (tmp_path / "s").is_symlink() and (tmp_path / "s").read_bytes() == b"plain"


def test_final_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.write_bytes(b"precious")
    (root / "link").symlink_to(outside)
    apply(make_tar([E("link", data=b"evil")]), root)
    assert outside.read_bytes() == b"precious"
    assert (root / "link").read_bytes() == b"evil" and not (root / "link").is_symlink()


def test_hardlink_to_lower_layer_file(tmp_path: Path) -> None:
    apply(make_tar([E("usr/bin/a", data=b"A")]), tmp_path)
    apply(make_tar([E("usr/bin/b", H, linkname="/usr/bin/a")]), tmp_path)
    assert (tmp_path / "usr/bin/b").stat().st_ino == (tmp_path / "usr/bin/a").stat().st_ino


def test_pax_xattrs_and_long_names(tmp_path: Path) -> None:
    long = "/".join(["x" * 200] * 5) + "/file"
    apply(make_tar([E("f", xattrs={"user.comment": "hi \udcff"}), E(long, data=b"deep")]), tmp_path)
    assert os.getxattr(tmp_path / "f", "user.comment") == b"hi \xff"
    assert (tmp_path / long).read_bytes() == b"deep"


def test_overlay_internal_xattrs_are_not_taken_from_layers(tmp_path: Path) -> None:
    apply(make_tar([E("d/", D, xattrs={"user.overlay.opaque": "y", "user.ok": "1"})]), tmp_path)
    names = os.listxattr(tmp_path / "d")
    assert "user.ok" in names and "user.overlay.opaque" not in names


def test_devices_skipped_when_not_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    apply(make_tar([E("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3), E("dev/ok")]), tmp_path)
    assert not os.path.lexists(tmp_path / "dev/null")
    assert (tmp_path / "dev/ok").exists()


def test_truncated_tar(tmp_path: Path) -> None:
    layer = make_tar([E("a", data=os.urandom(20_000)), E("b", data=b"x")])
    with pytest.raises(CorruptLayer, match="unexpected EOF"):
        apply(layer[:9000], tmp_path)
    with pytest.raises(CorruptLayer, match="unexpected EOF"):
        apply(gzip.compress(layer)[:-100], tmp_path)


def test_truncated_or_garbled_second_header(tmp_path: Path) -> None:
    layer = make_tar([E("a", data=b"1" * 600), E("b", data=b"2")])
    second = 512 + 1024  # first header, its data padded to whole blocks
    with pytest.raises(CorruptLayer, match="unexpected EOF"):
        apply(layer[:second + 100], tmp_path)
    garbled = layer[:second] + b"\x01garbage" * 60 + bytes(1024)
    with pytest.raises(CorruptLayer, match="invalid tar header"):
        apply(garbled, tmp_path)
    # Proper endings: no end marker at all, or the marker followed by more zeros.
    apply(layer[:second], tmp_path)
    apply(layer + bytes(10_000), tmp_path)
    assert (tmp_path / "b").read_bytes() == b"2"


def test_garbage_is_corrupt(tmp_path: Path) -> None:
    with pytest.raises(CorruptLayer):
        apply(b"this is not a tar archive at all" * 40, tmp_path)


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(CorruptLayer):
        apply(make_tar([E("a")]), tmp_path / "nope")


def test_overlay_mode_opaque_uses_user_xattr_when_not_root(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    apply(make_tar([E("d/", D), E("d/.wh..wh..opq"), E("d/f")]), tmp_path, whiteouts=WhiteoutMode.OVERLAY)
    assert os.getxattr(tmp_path / "d", "user.overlay.opaque") == b"y"
    assert not (tmp_path / "d/.wh..wh..opq").exists()
    assert (tmp_path / "d/f").exists()

"""Crafted layers that try to write outside the root: each must stay inside or be refused."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from archive_helpers import E, make_tar

from dockyard.archive import CorruptLayer, UnsafeLayer, apply_layer, secure_join
from dockyard.errors import InvalidArgument

D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "victim").write_bytes(b"precious")
    return root, outside


def apply(entries: list[E], root: Path) -> None:
    apply_layer(io.BytesIO(make_tar(entries)), root, same_owner=False)


def outside_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_bytes() == b"precious"


@pytest.mark.parametrize("name", ["../outside/x", "../../etc/x", "a/../../x", "./../x"])
def test_dotdot_escape_refused(roots: tuple[Path, Path], name: str) -> None:
    root, outside = roots
    with pytest.raises(UnsafeLayer, match=r"\.\."):
        apply([E(name, data=b"evil")], root)
    outside_untouched(outside)
    assert not (root.parent / "x").exists()


def test_dotdot_inside_root_is_fine(roots: tuple[Path, Path]) -> None:
    root, _ = roots
    apply([E("a/b/../c", data=b"ok")], root)
    assert (root / "a/c").read_bytes() == b"ok"


def test_absolute_name_is_relative_to_root(roots: tuple[Path, Path]) -> None:
    root, outside = roots
    apply([E(str(outside / "victim"), data=b"evil")], root)
    outside_untouched(outside)
    assert (root / str(outside).lstrip("/") / "victim").read_bytes() == b"evil"


def test_symlink_to_absolute_outside_then_write_through(roots: tuple[Path, Path]) -> None:
    root, outside = roots
    apply([E("a", L, linkname=str(outside)), E("a/victim", data=b"evil"), E("a/new", data=b"evil")], root)
    outside_untouched(outside)
    # Resolved chroot-style: the link means <root>/<outside path>.
    assert (root / str(outside).lstrip("/") / "new").read_bytes() == b"evil"


def test_symlink_dotdot_chain(roots: tuple[Path, Path]) -> None:
    root, outside = roots
    apply([E("a", L, linkname="../../../.."), E("b", L, linkname="a/outside"), E("a/outside/victim", data=b"1"),
           E("b/victim2", data=b"2"), E("c/", D), E("c/d", L, linkname="../../b"), E("c/d/x", data=b"3")],
          root)
    outside_untouched(outside)
    assert (root / "outside/victim").read_bytes() == b"1"
    assert (root / "outside/victim2").read_bytes() == b"2"
    assert (root / "outside/x").read_bytes() == b"3"


def test_symlink_loop_refused(roots: tuple[Path, Path]) -> None:
    root, _ = roots
    with pytest.raises(UnsafeLayer, match="symbolic links"):
        apply([E("a", L, linkname="b"), E("b", L, linkname="a"), E("a/x")], root)


def test_dir_replaced_by_symlink_in_same_layer(roots: tuple[Path, Path]) -> None:
    root, outside = roots
    before = os.stat(outside)
    apply([E("d/", D, mode=0o700, mtime=1), E("d/sub/", D, mode=0o700, mtime=1), E("d/f"),
           E("d", L, linkname=str(outside)), E("d/victim", data=b"evil"),
           E("e/", D, mode=0o711), E("e", L, linkname=str(outside))], root)
    outside_untouched(outside)
    # The deferred directory metadata of d/ and e/ must not follow the symlinks now there.
    after = os.stat(outside)
    assert (after.st_mode, after.st_mtime_ns) == (before.st_mode, before.st_mtime_ns)


def test_hardlink_to_host_file_never_links_host(roots: tuple[Path, Path]) -> None:
    root, _ = roots
    with pytest.raises(CorruptLayer, match="does not exist"):
        apply([E("passwd", H, linkname="/etc/passwd")], root)
    assert not os.path.lexists(root / "passwd")
    # With an /etc/passwd inside the root, that is the one linked.
    apply([E("etc/passwd", data=b"root:x:0:0")], root)
    apply([E("passwd", H, linkname="/etc/passwd")], root)
    assert (root / "passwd").stat().st_ino == (root / "etc/passwd").stat().st_ino
    assert (root / "passwd").stat().st_ino != os.stat("/etc/passwd").st_ino


@pytest.mark.parametrize("target", ["../outside/victim", "a/../../outside/victim"])
def test_hardlink_dotdot_refused(roots: tuple[Path, Path], target: str) -> None:
    root, outside = roots
    with pytest.raises(UnsafeLayer):
        apply([E("h", H, linkname=target)], root)
    assert (outside / "victim").stat().st_nlink == 1


def test_hardlink_through_symlinked_parent_stays_inside(roots: tuple[Path, Path]) -> None:
    root, outside = roots
    with pytest.raises(CorruptLayer):
        apply([E("l", L, linkname=str(outside)), E("h", H, linkname="l/victim")], root)
    assert (outside / "victim").stat().st_nlink == 1


def test_whiteouts_through_symlinks_stay_inside(roots: tuple[Path, Path]) -> None:
    root, outside = roots
    apply([E("l", L, linkname=str(outside)), E("up", L, linkname="../..")], root)
    apply([E("l/.wh.victim"), E("up/outside/.wh.victim"), E("l/.wh..wh..opq"), E("up/.wh..wh..opq")], root)
    outside_untouched(outside)


def test_whiteout_with_dot_names_refused(roots: tuple[Path, Path]) -> None:
    root, outside = roots
    with pytest.raises(UnsafeLayer):
        apply([E("d/.wh..")], root)
    with pytest.raises(UnsafeLayer):
        apply([E("../.wh.outside")], root)
    outside_untouched(outside)


@pytest.mark.parametrize("name", ["a" * 256, "/".join(["b" * 200] * 21)])
def test_overlong_names_refused(roots: tuple[Path, Path], name: str) -> None:
    root, _ = roots
    with pytest.raises(UnsafeLayer, match="longer than"):
        apply([E(name)], root)


def test_unsafe_is_invalid_argument() -> None:
    assert issubclass(UnsafeLayer, InvalidArgument) and issubclass(CorruptLayer, InvalidArgument)


def test_secure_join(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "abs").symlink_to("/etc")
    (tmp_path / "up").symlink_to("../../..")
    (tmp_path / "d/rel").symlink_to("../abs")
    root = str(tmp_path)
    assert secure_join(tmp_path, "abs/passwd") == f"{root}/etc/passwd"
    assert secure_join(tmp_path, "up/x") == f"{root}/x"
    assert secure_join(tmp_path, "d/rel/shadow") == f"{root}/etc/shadow"
    assert secure_join(tmp_path, "../../d") == f"{root}/d"
    assert secure_join(tmp_path, "/") == root

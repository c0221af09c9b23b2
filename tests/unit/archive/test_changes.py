"""``docker diff`` from snapshot directories: overlay upper over lower layers, and whole trees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dockyard.archive.changes import ChangeKind, overlay_changes, tree_changes

A, C, D = ChangeKind.ADD, ChangeKind.MODIFY, ChangeKind.DELETE


def whiteout(path: Path) -> None:
    os.mknod(path, 0o600 | 0o020000, os.makedev(0, 0))


def make_image(root: Path) -> tuple[Path, Path]:
    """Two layers: the top one deletes /gone/b (a whiteout) and /old is opaque there."""
    base, top = root / "l1", root / "l2"
    for d in ("bin", "etc", "usr/bin", "gone", "old", "proc"):
        (base / d).mkdir(parents=True)
    (base / "bin" / "sh").write_text("sh")
    (base / "etc" / "passwd").write_text("root\n")
    (base / "gone" / "b").write_text("b")
    (base / "old" / "hidden").write_text("h")
    (top / "gone").mkdir(parents=True)
    whiteout(top / "gone" / "b")
    (top / "old").mkdir()
    os.setxattr(top / "old", "trusted.overlay.opaque", b"y")
    (top / "old" / "kept").write_text("k")
    for d in (base, top):
        for p in sorted(d.rglob("*"), reverse=True):
            os.utime(p, ns=(10**18, 10**18), follow_symlinks=False)
    return top, base


def copy_up(lowers: list[Path], upper: Path, rel: str) -> None:
    for layer in lowers:
        if (layer / rel).is_dir():
            (upper / rel).mkdir(parents=True, exist_ok=True)
            shutil.copystat(layer / rel, upper / rel)
            return


def test_overlay_changes_as_dockerd_s_naive_diff(tmp_path: Path) -> None:
    lowers = list(make_image(tmp_path))
    upper = tmp_path / "upper"
    upper.mkdir()
    for rel in ("etc", "bin", "usr"):
        copy_up(lowers, upper, rel)
    (upper / "etc" / "passwd").write_text("root\nme\n")  # modified
    (upper / "etc" / "hosts").write_text("")              # an engine mount point: never shown
    (upper / "etc" / "new").write_text("n")               # added
    whiteout(upper / "bin" / "sh")                        # deleted
    (upper / "usr").mkdir(exist_ok=True)
    os.setxattr(upper / "usr", "trusted.overlay.opaque", b"y")  # rm -rf /usr; mkdir -p /usr/again
    (upper / "usr" / "again").mkdir()
    (upper / "proc").mkdir()                              # a mount point made by the runtime
    (upper / "gone").mkdir()
    (upper / "gone" / "b").write_text("back")             # whited out below: new again
    assert overlay_changes(str(upper), [str(p) for p in lowers]) == sorted([
        ("/bin", C), ("/bin/sh", D), ("/etc", C), ("/etc/new", A), ("/etc/passwd", C),
        ("/gone", C), ("/gone/b", A), ("/usr", C), ("/usr/again", A), ("/usr/bin", D),
    ])
    # the opaque /old of the image's top layer hides its /old/hidden: nothing to report there
    assert not [c for c in overlay_changes(str(upper), [str(p) for p in lowers]) if c[0].startswith("/old")]


def test_an_unchanged_container_has_no_changes(tmp_path: Path) -> None:
    lowers = list(make_image(tmp_path))
    upper = tmp_path / "upper"
    upper.mkdir()
    copy_up(lowers, upper, "etc")  # copied up without a change (mode, owner, time kept)
    (upper / "etc" / "resolv.conf").write_text("")
    assert overlay_changes(str(upper), [str(p) for p in lowers]) == []


def test_tree_changes_compare_whole_trees(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for root in (lower, upper):
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "passwd").write_text("root\n")
        (root / "bin").mkdir()
        os.utime(root / "etc" / "passwd", ns=(10**18, 10**18))
    (lower / "bin" / "ls").write_text("ls")
    (upper / "etc" / "passwd").chmod(0o600)
    (upper / "new").write_text("n")
    assert tree_changes(str(lower), str(upper)) == sorted([
        ("/bin", C), ("/bin/ls", D), ("/etc", C), ("/etc/passwd", C), ("/new", A)])
    assert tree_changes(None, str(upper))[0] == ("/bin", A)

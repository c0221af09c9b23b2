from __future__ import annotations

from pathlib import Path

import pytest
from specfakes import FakePasswd

from dockyard.engine.spec.user import ExecUser, RootfsPasswdReader, resolve_user
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("spec", "group_add", "expected"), [
    ("", (), ExecUser(0, 0, (0, 10), "/root")),
    ("root", (), ExecUser(0, 0, (0, 10), "/root")),
    ("nobody", (), ExecUser(65534, 65534, (65534,), "/home")),
    ("www-data", (), ExecUser(33, 33, (33, 29, 50), "/var/www")),
    ("www-data:staff", (), ExecUser(33, 50, (50,), "/var/www")),  # explicit group: no supplementary ones
    ("33:0", (), ExecUser(33, 0, (0,), "/var/www")),
    ("1000", (), ExecUser(1000, 0, (0,), "/")),  # numeric, no entry: gid 0, home /
    ("1000:1000", (), ExecUser(1000, 1000, (1000,), "/")),
    ("nobody", ("audio", "4242", "nogroup"), ExecUser(65534, 65534, (65534, 29, 4242), "/home")),
])
def test_resolve(spec: str, group_add: tuple[str, ...], expected: ExecUser) -> None:
    assert resolve_user(spec, FakePasswd(), group_add) == expected


def test_missing_files_are_fine_for_numbers_only() -> None:
    empty = FakePasswd(None, None)
    assert resolve_user("", empty) == ExecUser(0, 0, (0,), "/")
    assert resolve_user("123:456", empty) == ExecUser(123, 456, (456,), "/")
    with pytest.raises(InvalidArgument, match="unable to find user app: no matching entries in passwd file"):
        resolve_user("app", empty)


@pytest.mark.parametrize(("spec", "group_add", "message"), [
    ("ghost", (), "unable to find user ghost: no matching entries in passwd file"),
    ("root:ghosts", (), "unable to find group ghosts: no matching entries in group file"),
    ("root", ("ghosts",), "Unable to find group ghosts: no matching entries in group file"),
    ("-1", (), "uids and gids must be in range 0-2147483647"),
])
def test_errors(spec: str, group_add: tuple[str, ...], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        resolve_user(spec, FakePasswd(), group_add)


def test_rootfs_reader_keeps_symlinks_inside(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "real").write_text("app:x:7:8::/srv:/bin/sh\n")
    (tmp_path / "etc" / "passwd").symlink_to("/real")  # absolute: resolved inside the rootfs
    reader = RootfsPasswdReader(str(tmp_path))
    assert resolve_user("app", reader) == ExecUser(7, 8, (8,), "/srv")
    assert reader.read_group() is None

"""How Mount values turn into system calls, checked with the syscalls replaced by a recorder."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.store import mount as store_mount
from dockyard.store.mount import Mount, mount_all, unmount
from dockyard.sys import mount as sysmount


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(sysmount, "mount", lambda *a: self.calls.append(("mount", a)))
        monkeypatch.setattr(sysmount, "mount_overlay",
                            lambda target, **kw: self.calls.append(("overlay", (target, kw))))


def test_overlay_mount_parses_options(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    rec.install(monkeypatch)
    Mount("overlay", "overlay", ("lowerdir=/a:/b\\:c:/d", "upperdir=/u", "workdir=/w", "index=off")).mount("/t")
    assert rec.calls == [("overlay", ("/t", {"lowerdirs": ["/a", "/b:c", "/d"], "upperdir": "/u",
                                              "workdir": "/w", "extra_options": ["index=off"]}))]


def test_readonly_bind_is_bind_then_remount(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    rec.install(monkeypatch)
    Mount("bind", "/src", ("ro", "rbind", "nosuid")).mount("/t")
    flags = sysmount.MS_BIND | sysmount.MS_REC
    assert rec.calls == [
        ("mount", ("/src", "/t", None, flags)),
        ("mount", (None, "/t", None, flags | sysmount.MS_REMOUNT | sysmount.MS_RDONLY | sysmount.MS_NOSUID)),
    ]


def test_rw_bind_is_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    rec.install(monkeypatch)
    Mount("bind", "/src", ("rw", "rbind")).mount("/t")
    assert rec.calls == [("mount", ("/src", "/t", None, sysmount.MS_BIND | sysmount.MS_REC))]


def test_other_fs_splits_flags_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    rec.install(monkeypatch)
    Mount("tmpfs", "tmpfs", ("nosuid", "nodev", "size=64m", "mode=755")).mount("/t")
    assert rec.calls == [("mount", ("tmpfs", "/t", "tmpfs", sysmount.MS_NOSUID | sysmount.MS_NODEV, "size=64m,mode=755"))]


def test_mount_all_undoes_on_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[str] = []

    def fake_mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
        if source == "/bad":
            raise OSError(2, "nope", target)
        done.append(str(source))

    undone: list[tuple[str, int]] = []
    monkeypatch.setattr(sysmount, "mount", fake_mount)
    monkeypatch.setattr(sysmount, "umount2", lambda t, f=0: undone.append((t, f)))
    with pytest.raises(OSError):
        mount_all([Mount("bind", "/ok", ("rbind",)), Mount("bind", "/bad", ("rbind",))], "/t")
    assert done == ["/ok"] and undone == [("/t", sysmount.MNT_DETACH)]


def test_unmount_until_nothing_left(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = ["a", "b"]

    def fake_umount2(target: str, flags: int = 0) -> None:
        if not stack:
            raise OSError(22, "not mounted", target)
        stack.pop()

    monkeypatch.setattr(sysmount, "umount2", fake_umount2)
    unmount("/t", detach=True)
    assert stack == []
    assert store_mount.Mount("bind", "/x", ("ro",)).readonly


def test_overlay_options_and_validation() -> None:
    assert sysmount.overlay_options(["/a", "/b:c"], "/u", "/w", ["index=off"]) == (
        "lowerdir=/a:/b\\:c,upperdir=/u,workdir=/w,index=off")
    with pytest.raises(OSError):
        sysmount.mount_overlay("/t", lowerdirs=[], upperdir=None, workdir=None)
    with pytest.raises(OSError):
        sysmount.mount_overlay("/t", lowerdirs=["/a"], upperdir="/u", workdir=None)

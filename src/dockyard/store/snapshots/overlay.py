"""The overlay snapshotter: every layer is a directory, stacked by overlayfs at mount time."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from dockyard.store.metadata import SnapshotRecord
from dockyard.store.mount import Mount
from dockyard.store.snapshots.base import KIND_ACTIVE
from dockyard.store.snapshots.common import DirectorySnapshotter
from dockyard.sys import mount as sysmount


def _lower(path: Path) -> str:
    return str(path).replace("\\", "\\\\").replace(":", "\\:")


class OverlaySnapshotter(DirectorySnapshotter):
    whiteout_mode = "overlay"

    def _populate(self, rec: SnapshotRecord, directory: Path) -> None:
        (directory / "fs").mkdir(mode=0o755)
        if rec.kind == KIND_ACTIVE:
            (directory / "work").mkdir(mode=0o700)

    def _parent_dirs(self, rec: SnapshotRecord) -> list[str]:
        if not rec.parent:
            return []
        return [str(self._fs(r)) for r in self._md.snapshot_chain(rec.parent)]

    def _mounts(self, rec: SnapshotRecord) -> list[Mount]:
        lowers = self._parent_dirs(rec)
        fs = self._fs(rec)
        if rec.kind == KIND_ACTIVE:
            if not lowers:
                return [Mount("bind", str(fs), ("rw", "rbind"))]
            return [Mount("overlay", "overlay", (
                "lowerdir=" + ":".join(_lower(Path(p)) for p in lowers),
                f"upperdir={fs}",
                f"workdir={self.snapshot_dir(rec.id) / 'work'}",
            ))]
        # view: read-only
        if not lowers:
            return [Mount("bind", str(fs), ("ro", "rbind"))]
        if len(lowers) == 1:
            return [Mount("bind", lowers[0], ("ro", "rbind"))]
        return [Mount("overlay", "overlay", ("lowerdir=" + ":".join(_lower(Path(p)) for p in lowers),))]

    @classmethod
    def supported(cls, root: Path | str) -> bool:
        """Whether an overlay (with an upper dir) can be mounted on the filesystem of ``root``."""
        base = Path(root)
        base.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(prefix=".overlay-probe-", dir=base))
        try:
            for name in ("l1", "l2", "u", "w", "m"):
                (probe / name).mkdir()
            try:
                sysmount.mount_overlay(str(probe / "m"), lowerdirs=[str(probe / "l1"), str(probe / "l2")],
                                       upperdir=str(probe / "u"), workdir=str(probe / "w"))
            except OSError:
                return False
            with contextlib.suppress(OSError):
                sysmount.umount2(str(probe / "m"), sysmount.MNT_DETACH)
            return True
        finally:
            shutil.rmtree(probe, ignore_errors=True)


__all__ = ["OverlaySnapshotter"]

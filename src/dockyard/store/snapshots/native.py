"""The native snapshotter: each snapshot is a full copy of its parent; mounts are binds.

Slow and space-hungry, but it works on any filesystem and needs no overlayfs.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.store.metadata import SnapshotRecord
from dockyard.store.mount import Mount
from dockyard.store.snapshots.base import KIND_ACTIVE
from dockyard.store.snapshots.common import DirectorySnapshotter
from dockyard.store.snapshots.copy import copy_tree


class NativeSnapshotter(DirectorySnapshotter):
    whiteout_mode = "delete"

    def _populate(self, rec: SnapshotRecord, directory: Path) -> None:
        fs = directory / "fs"
        fs.mkdir(mode=0o755)
        if rec.parent:
            parent = self._md.get_snapshot(rec.parent)
            src = self._fs(parent)
            src_mode = src.stat()
            copy_tree(str(src), str(fs))
            fs.chmod(src_mode.st_mode & 0o7777)

    def _mounts(self, rec: SnapshotRecord) -> list[Mount]:
        mode = "rw" if rec.kind == KIND_ACTIVE else "ro"
        return [Mount("bind", str(self._fs(rec)), (mode, "rbind"))]


__all__ = ["NativeSnapshotter"]

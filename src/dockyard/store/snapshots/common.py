"""What the overlay and native snapshotters share: records in metadata, one directory per id.

Layout: ``root/<id>/fs`` (the snapshot's files) and, for overlay, ``root/<id>/work``. Records are
created before directories and deleted before them, so a crash leaves at most a directory without
a record, which ``cleanup()`` removes.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.store.metadata import MetadataStore, SnapshotRecord
from dockyard.store.mount import Mount
from dockyard.store.snapshots.base import KIND_ACTIVE, KIND_VIEW, SnapshotInfo, Usage
from dockyard.store.snapshots.copy import tree_usage


def _info(rec: SnapshotRecord) -> SnapshotInfo:
    return SnapshotInfo(key=rec.key, id=rec.id, parent=rec.parent, kind=rec.kind, created_at=rec.created_at,
                        labels=dict(rec.labels))


class DirectorySnapshotter(ABC):
    whiteout_mode: str = "delete"

    def __init__(self, root: Path | str, metadata: MetadataStore) -> None:
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)
        self._md = metadata

    @property
    def root(self) -> Path:
        return self._root

    def snapshot_dir(self, id: int) -> Path:
        return self._root / str(id)

    def _fs(self, rec: SnapshotRecord) -> Path:
        return self.snapshot_dir(rec.id) / "fs"

    # creation ---------------------------------------------------------------------------------

    def prepare(self, key: str, parent: str | None = None, labels: dict[str, str] | None = None) -> list[Mount]:
        """A writable snapshot on top of the committed snapshot ``parent``."""
        return self._create(key, parent or "", KIND_ACTIVE, labels)

    def view(self, key: str, parent: str | None, labels: dict[str, str] | None = None) -> list[Mount]:
        """A read-only snapshot of the committed snapshot ``parent``."""
        return self._create(key, parent or "", KIND_VIEW, labels)

    def _create(self, key: str, parent: str, kind: str, labels: dict[str, str] | None) -> list[Mount]:
        with self._md.transaction():
            rec = self._md.create_snapshot(key, parent, kind, labels=labels)
            directory = self.snapshot_dir(rec.id)
            try:
                if directory.exists():  # a leftover of a crash that reused nothing: ids are unique
                    shutil.rmtree(directory)
                directory.mkdir()
                self._populate(rec, directory)
            except BaseException:
                shutil.rmtree(directory, ignore_errors=True)
                raise
        return self._mounts(rec)

    @abstractmethod
    def _populate(self, rec: SnapshotRecord, directory: Path) -> None: ...

    @abstractmethod
    def _mounts(self, rec: SnapshotRecord) -> list[Mount]: ...

    # queries ----------------------------------------------------------------------------------

    def mounts(self, key: str) -> list[Mount]:
        rec = self._md.get_snapshot(key)
        if rec.kind not in (KIND_ACTIVE, KIND_VIEW):
            raise FailedPrecondition(f"snapshot {key} is committed: prepare or view it to mount it")
        return self._mounts(rec)

    def stat(self, key: str) -> SnapshotInfo:
        return _info(self._md.get_snapshot(key))

    def walk(self) -> Iterator[SnapshotInfo]:
        for rec in self._md.list_snapshots():
            yield _info(rec)

    def usage(self, key: str) -> Usage:
        rec = self._md.get_snapshot(key)
        size, inodes = tree_usage(str(self._fs(rec)))
        return Usage(size=size, inodes=inodes)

    def upper_path(self, key: str) -> Path:
        """The writable directory of an active snapshot (apply a layer into it without mounting)."""
        rec = self._md.get_snapshot(key)
        if rec.kind != KIND_ACTIVE:
            raise FailedPrecondition(f"snapshot {key} is {rec.kind}, not active")
        return self._fs(rec)

    # changes ----------------------------------------------------------------------------------

    def commit(self, name: str, key: str) -> None:
        if not name:
            raise InvalidArgument("snapshot name must not be empty")
        self._md.commit_snapshot(key, name)

    def remove(self, key: str) -> None:
        """Delete a snapshot without children (Conflict otherwise) and its directory."""
        rec = self._md.delete_snapshot(key)
        shutil.rmtree(self.snapshot_dir(rec.id), ignore_errors=True)

    def cleanup(self) -> list[Path]:
        """Remove directories that have no record (crash leftovers); returns what was removed."""
        known = {rec.id for rec in self._md.list_snapshots()}
        removed: list[Path] = []
        for name in sorted(os.listdir(self._root)):
            path = self._root / name
            if not name.isdigit() or int(name) in known:
                continue  # a live snapshot, or not ours
            if os.path.ismount(path) or (path / "fs").is_mount():
                continue  # never delete through a live mount
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        return removed


__all__ = ["DirectorySnapshotter"]

"""The snapshotter interface: layered filesystems keyed by name, as containerd defines them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dockyard.store.mount import Mount

KIND_ACTIVE = "active"
KIND_VIEW = "view"
KIND_COMMITTED = "committed"


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    key: str
    id: int
    parent: str  # "" for a base snapshot
    kind: str  # "active" | "view" | "committed"
    created_at: float
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Usage:
    size: int  # bytes in the snapshot's own layer (hard links counted once)
    inodes: int


class Snapshotter(Protocol):
    """What the image service and the container service need from a snapshotter."""

    @property
    def root(self) -> Path: ...

    @property
    def whiteout_mode(self) -> str:
        """How layers must record deletions: "overlay" (char 0/0 + opaque xattr) or "delete"."""
        ...

    def prepare(self, key: str, parent: str | None = None, labels: dict[str, str] | None = None) -> list[Mount]: ...

    def view(self, key: str, parent: str | None) -> list[Mount]: ...

    def mounts(self, key: str) -> list[Mount]: ...

    def commit(self, name: str, key: str) -> None: ...

    def remove(self, key: str) -> None: ...

    def stat(self, key: str) -> SnapshotInfo: ...

    def usage(self, key: str) -> Usage: ...

    def walk(self) -> Iterator[SnapshotInfo]: ...

    def upper_path(self, key: str) -> Path: ...

    def snapshot_dir(self, id: int) -> Path: ...

    def cleanup(self) -> list[Path]: ...


__all__ = ["KIND_ACTIVE", "KIND_COMMITTED", "KIND_VIEW", "SnapshotInfo", "Snapshotter", "Usage"]

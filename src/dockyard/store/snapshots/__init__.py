"""Snapshotters: layered filesystems for images and containers."""

from __future__ import annotations

from dockyard.store.snapshots.base import SnapshotInfo, Snapshotter, Usage
from dockyard.store.snapshots.native import NativeSnapshotter
from dockyard.store.snapshots.overlay import OverlaySnapshotter

__all__ = ["NativeSnapshotter", "OverlaySnapshotter", "SnapshotInfo", "Snapshotter", "Usage"]

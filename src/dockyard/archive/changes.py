"""What a container changed in its filesystem (``docker diff``), as dockerd reports it.

dockerd compares the container's tree with its image's (its "naive" diff, which it uses for
overlay2 too on kernels with redirect_dir): an entry only the container has is added, one only
the image has is deleted, one both have is modified when its type, mode, owner or device differ,
or for anything but a directory its size or modification time; a directory holding any change is
modified too. The container's tree is read from its snapshot without mounting it:

- ``overlay_changes``: its upper dir over the image's layers (lower dirs, topmost first), with
  overlayfs' rules: a 0:0 character device hides what is below, and so does an opaque directory.
- ``tree_changes``: a copy-based snapshot, the whole tree, over its parent's whole tree.

Paths the engine itself creates as mount points (dockerd keeps them in an "init" layer under the
container's) are never reported.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from enum import IntEnum

from dockyard.archive.diff import is_opaque

# dockerd's init layer: mount points and files every container gets
INIT_PATHS = frozenset({
    "/dev", "/dev/pts", "/dev/shm", "/dev/console", "/dev/mqueue", "/proc", "/sys", "/.dockerenv",
    "/etc/resolv.conf", "/etc/hosts", "/etc/hostname", "/etc/mtab",
})


class ChangeKind(IntEnum):
    MODIFY = 0
    ADD = 1
    DELETE = 2


def _whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _modified(old: os.stat_result, new: os.stat_result) -> bool:
    if (stat.S_IFMT(old.st_mode) != stat.S_IFMT(new.st_mode) or old.st_mode != new.st_mode
            or (old.st_uid, old.st_gid, old.st_rdev) != (new.st_uid, new.st_gid, new.st_rdev)):
        return True
    # a directory's size and time say nothing about a change of its own
    return not stat.S_ISDIR(new.st_mode) and (old.st_size, old.st_mtime_ns) != (new.st_size, new.st_mtime_ns)


def _entries(directory: str) -> dict[str, os.stat_result]:
    out = {}
    try:
        with os.scandir(directory) as it:
            for entry in it:
                out[entry.name] = entry.stat(follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        pass
    return out


class _Layers:
    """The merged view of read-only layers (topmost first), one directory at a time."""

    def __init__(self, layers: Sequence[str], *, overlay_rules: bool) -> None:
        self.layers = list(layers)
        self.overlay_rules = overlay_rules

    def children(self, rel: str) -> dict[str, tuple[str, os.stat_result]]:
        seen: dict[str, tuple[str, os.stat_result] | None] = {}
        for layer in self.layers:
            directory = os.path.join(layer, rel)
            try:
                st = os.lstat(directory)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if not stat.S_ISDIR(st.st_mode) or os.path.realpath(directory) != os.path.normpath(directory):
                break  # a file, a whiteout or a link on the way hides the directories below
            for name, child in _entries(directory).items():
                if name not in seen:
                    seen[name] = None if self.overlay_rules and _whiteout(child) else (
                        os.path.join(directory, name), child)
            if self.overlay_rules and is_opaque(directory):
                break
        return {name: found for name, found in seen.items() if found is not None}


def overlay_changes(upper: str, lowers: Sequence[str]) -> list[tuple[str, ChangeKind]]:
    """Changes of an overlay upper dir over its lower dirs (topmost first)."""
    out: list[tuple[str, ChangeKind]] = []
    _compare(_Layers(lowers, overlay_rules=True), upper, "", out, full_tree=False)
    return sorted(out)


def tree_changes(lower: str | None, upper: str) -> list[tuple[str, ChangeKind]]:
    """Changes of the tree ``upper`` over the tree ``lower`` (None: everything is new)."""
    out: list[tuple[str, ChangeKind]] = []
    _compare(_Layers([lower] if lower else [], overlay_rules=False), upper, "", out, full_tree=True)
    return sorted(out)


def _compare(lower: _Layers, upper_dir: str, rel: str, out: list[tuple[str, ChangeKind]], *,
             full_tree: bool, hidden: bool = False) -> bool:
    """Appends the changes at and below ``rel``; True when there was any. ``full_tree``: the
    upper side has every entry (not only changed ones); ``hidden``: an opaque directory above
    hides everything below from the lower side."""
    ups = _entries(upper_dir)
    downs = {} if hidden else lower.children(rel)
    # whether lower entries the upper side lacks are gone: always for a whole tree, else when the
    # upper directory is opaque (overlayfs made it again after a removal)
    replaced = full_tree or bool(rel) and is_opaque(upper_dir)
    found = False
    for name in sorted(set(ups) | (set(downs) if replaced else set())):
        path = f"/{rel}/{name}" if rel else f"/{name}"
        if path in INIT_PATHS:
            continue
        below = downs.get(name)
        up = ups.get(name)
        if up is None or (not full_tree and _whiteout(up)):
            if below is not None:
                out.append((path, ChangeKind.DELETE))
                found = True
            continue
        kind: ChangeKind | None
        if below is None:
            kind = ChangeKind.ADD
        else:
            kind = ChangeKind.MODIFY if _modified(below[1], up) else None
        inner = False
        if stat.S_ISDIR(up.st_mode):
            mark = len(out)
            child_rel = f"{rel}/{name}" if rel else name
            inner = _compare(lower, os.path.join(upper_dir, name), child_rel, out, full_tree=full_tree,
                             hidden=hidden or below is None or not stat.S_ISDIR(below[1].st_mode))
            if inner and kind is None:
                out.insert(mark, (path, ChangeKind.MODIFY))  # a directory holding changes
        if kind is not None:
            out.append((path, kind))
        found = found or kind is not None or inner
    return found


__all__ = ["INIT_PATHS", "ChangeKind", "overlay_changes", "tree_changes"]

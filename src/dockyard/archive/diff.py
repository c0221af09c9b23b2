"""Produce OCI layer tars: from a directory, from an overlayfs upper dir, or from two trees."""

from __future__ import annotations

import os
import queue
import stat
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

from dockyard.archive.apply import WHITEOUT_OPAQUE, WHITEOUT_PREFIX
from dockyard.archive.compression import Compression
from dockyard.archive.tarwriter import DiffResult, LayerWriter, read_xattrs

_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
_CMP_BUF = 1 << 20

PathArg = str | os.PathLike[str]


def _walk(root: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(path, entry name, lstat) for everything under ``root``, depth-first in sorted order.

    Parents come before their children and the order is the same on every run.
    """
    stack: list[Iterator[tuple[str, str]]] = [_sorted_children(root, "")]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        path, name = item
        st = os.lstat(path)
        yield path, name, st
        if stat.S_ISDIR(st.st_mode):
            stack.append(_sorted_children(path, name + "/"))


def _sorted_children(directory: str, prefix: str) -> Iterator[tuple[str, str]]:
    for name in sorted(os.listdir(directory)):
        yield os.path.join(directory, name), prefix + name


def write_tar_from_dir(root: PathArg, out: BinaryIO, *, compression: Compression = Compression.NONE,
                       owner_names: bool = False) -> DiffResult:
    """The whole directory ``root`` as one layer (the root itself is not an entry)."""
    writer = LayerWriter(out, compression, owner_names=owner_names)
    for path, name, st in _walk(os.fspath(root)):
        writer.add_path(path, name, st)
    return writer.finish()


class _Stopped(Exception):
    """The reader of ``iter_tar_from_dir`` went away."""


class _QueueWriter:
    def __init__(self, chunks: queue.Queue[bytes | BaseException | None], stop: threading.Event) -> None:
        self.chunks = chunks
        self.stop = stop

    def write(self, data: bytes | bytearray | memoryview) -> int:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                self.chunks.put(bytes(data), timeout=0.2)
                return len(data)
            except queue.Full:
                continue

    def flush(self) -> None:
        pass


def iter_tar_from_dir(root: PathArg, *, depth: int = 8, owner_names: bool = False) -> Iterator[bytes]:
    """``write_tar_from_dir`` as chunks (see ``iter_writer_chunks``)."""
    return iter_writer_chunks(lambda out: write_tar_from_dir(root, out, owner_names=owner_names), depth=depth)


def iter_writer_chunks(write: Callable[[BinaryIO], object], *, depth: int = 8) -> Iterator[bytes]:
    """What ``write(out)`` writes, as chunks: it runs in a thread at most ``depth`` chunks ahead of
    the reader; closing the iterator stops the thread."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            write(cast(BinaryIO, _QueueWriter(chunks, stop)))
            end: BaseException | None = None
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, who raises it
            end = exc
        while not stop.is_set():
            try:
                chunks.put(end, timeout=0.2)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=produce, name="tar-from-dir", daemon=True)
    worker.start()
    try:
        while (item := chunks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def is_opaque(path: str) -> bool:
    for attr in _OPAQUE_XATTRS:
        try:
            if os.getxattr(path, attr, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def write_layer_from_overlay_upper(upper: PathArg, out: BinaryIO, *,
                                   compression: Compression = Compression.NONE,
                                   exclude: frozenset[str] = frozenset()) -> DiffResult:
    """Convert an overlayfs upper dir to a layer: 0:0 char devices and opaque dirs become whiteouts.
    ``exclude``: names (``etc/hosts``) left out, with what is below them."""
    writer = LayerWriter(out, compression)
    for path, name, st in _walk(os.fspath(upper)):
        if exclude and (name in exclude or any(name.startswith(e + "/") for e in exclude)):
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            parent, _, base = name.rpartition("/")
            wh = f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base
            writer.add_empty(wh, uid=st.st_uid, gid=st.st_gid, mtime=int(st.st_mtime))
            continue
        writer.add_path(path, name, st)
        if stat.S_ISDIR(st.st_mode) and is_opaque(path):
            writer.add_empty(f"{name}/{WHITEOUT_OPAQUE}", mode=stat.S_IMODE(st.st_mode) & 0o777,
                             uid=st.st_uid, gid=st.st_gid, mtime=int(st.st_mtime))
    return writer.finish()


def _same_content(a: str, b: str) -> bool:
    with open(a, "rb", buffering=0) as fa, open(b, "rb", buffering=0) as fb:
        while True:
            ca, cb = fa.read(_CMP_BUF), fb.read(_CMP_BUF)
            if ca != cb:
                return False
            if not ca:
                return True


def _changed(lo: str, lst: os.stat_result, up: str, ust: os.stat_result) -> bool:
    if (lst.st_mode, lst.st_uid, lst.st_gid, lst.st_mtime_ns) != (ust.st_mode, ust.st_uid, ust.st_gid,
                                                                  ust.st_mtime_ns):
        return True
    fmt = stat.S_IFMT(ust.st_mode)
    if fmt in (stat.S_IFCHR, stat.S_IFBLK) and lst.st_rdev != ust.st_rdev:
        return True
    if fmt == stat.S_IFLNK and os.readlink(lo) != os.readlink(up):
        return True
    if fmt == stat.S_IFREG and lst.st_size != ust.st_size:
        return True
    if read_xattrs(lo) != read_xattrs(up):
        return True
    same_inode = (lst.st_dev, lst.st_ino) == (ust.st_dev, ust.st_ino)
    return fmt == stat.S_IFREG and not same_inode and not _same_content(lo, up)


# A change to emit: ("path", path, name, stat) or ("whiteout", "", name, stat of the upper parent).
_Change = tuple[str, str, str, os.stat_result]


def _changes(lower: str | None, upper: str, prefix: str, out: list[_Change]) -> None:
    upper_names = os.listdir(upper)
    lower_names = set(os.listdir(lower)) if lower is not None else set()
    upper_set = set(upper_names)
    parent_st = os.lstat(upper)
    for name in sorted(upper_set | lower_names):
        entry = prefix + name
        if name not in upper_set:
            out.append(("whiteout", "", prefix + WHITEOUT_PREFIX + name, parent_st))
            continue
        up = os.path.join(upper, name)
        ust = os.lstat(up)
        lo = os.path.join(lower, name) if lower is not None and name in lower_names else None
        lst = os.lstat(lo) if lo is not None else None
        changed = lo is None or lst is None or _changed(lo, lst, up, ust)
        if stat.S_ISDIR(ust.st_mode):
            sub: list[_Change] = []
            child_lower = lo if lst is not None and stat.S_ISDIR(lst.st_mode) else None
            _changes(child_lower, up, entry + "/", sub)
            # A directory whose content changed travels too, so its owner and mode are kept.
            if changed or sub:
                out.append(("path", up, entry, ust))
                out.extend(sub)
        elif changed:
            out.append(("path", up, entry, ust))


def write_layer_from_trees(lower: PathArg | None, upper: PathArg, out: BinaryIO, *,
                           compression: Compression = Compression.NONE,
                           exclude: frozenset[str] = frozenset()) -> DiffResult:
    """The layer that turns the tree ``lower`` into the tree ``upper`` (deletions as whiteouts);
    ``exclude`` as for ``write_layer_from_overlay_upper``."""
    if lower is None and not exclude:
        return write_tar_from_dir(upper, out, compression=compression)
    changes: list[_Change] = []
    if lower is None:
        changes = [("path", path, name, st) for path, name, st in _walk(os.fspath(upper))]
    else:
        _changes(os.fspath(lower), os.fspath(upper), "", changes)
    writer = LayerWriter(out, compression)
    for kind, path, name, st in changes:
        if exclude and (name in exclude or any(name.startswith(e + "/") for e in exclude)):
            continue
        if kind == "whiteout":
            writer.add_empty(name)
        else:
            writer.add_path(path, name, st)
    return writer.finish()


__all__ = ["DiffResult", "is_opaque", "iter_tar_from_dir", "iter_writer_chunks", "write_layer_from_overlay_upper", "write_layer_from_trees", "write_tar_from_dir"]

"""Files in and out of a container (``docker cp``, ``/containers/{id}/archive``).

The container's filesystem is read and written from the host: its root filesystem plus what is
mounted into it (volumes, binds, the engine's ``/etc/hosts``, ``/etc/hostname``,
``/etc/resolv.conf``), which only the container's own mount namespace shows, so paths are mapped
by hand. Paths resolve as inside the container: symlinks (absolute ones from its root) and ``..``
never lead out of it. The caller freezes a running container meanwhile, as dockerd does, so that
it cannot swap a directory for a symlink under our feet.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.archive.apply import OverwriteRefused, WhiteoutMode, apply_layer
from dockyard.archive.compression import Compression
from dockyard.archive.diff import iter_writer_chunks
from dockyard.archive.errors import CorruptLayer, UnsafeLayer
from dockyard.archive.tarwriter import LayerWriter
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied
from dockyard.runtime.paths import resolve_parts

# Go's os.FileMode type bits, which the docker CLI reads from the path stat header
_GO_MODE = ((stat.S_ISDIR, 1 << 31), (stat.S_ISLNK, 1 << 27), (stat.S_ISFIFO, 1 << 25), (stat.S_ISSOCK, 1 << 24),
            (stat.S_ISBLK, 1 << 26), (stat.S_ISCHR, (1 << 26) | (1 << 21)))


@dataclass(frozen=True, slots=True)
class PathStat:
    """``X-Docker-Container-Path-Stat``: what the docker CLI learns of a path before a copy."""

    name: str
    size: int
    mode: int          # Go's os.FileMode
    mtime_ns: int
    link_target: str   # the container path a symlink resolves to, "" otherwise


def go_file_mode(st: os.stat_result) -> int:
    mode = stat.S_IMODE(st.st_mode) & 0o777
    for test, bit in _GO_MODE:
        if test(st.st_mode):
            mode |= bit
            break
    if st.st_mode & stat.S_ISUID:
        mode |= 1 << 23
    if st.st_mode & stat.S_ISGID:
        mode |= 1 << 22
    if st.st_mode & stat.S_ISVTX:
        mode |= 1 << 20
    return mode


def _base_name(path: str, resolved: str) -> str:
    """What a copied path's entries are named from: "." for a directory's content (``dir/.``),
    "/" for the root, else the base name (dockerd's rebase)."""
    if path.endswith("/.") or path == ".":
        return "."
    return posixpath.basename(resolved) or "/"


class ContainerFS:
    def __init__(self, rootfs: str, mounts: Sequence[tuple[str, str]], *, read_only: Iterable[str] = (),
                 rootfs_read_only: bool = False) -> None:
        """``mounts``: (destination in the container, source on the host); ``read_only``: the
        destinations mounted read-only."""
        self.rootfs = rootfs
        self.mounts = sorted(((posixpath.normpath(d), s) for d, s in mounts), key=lambda m: -len(m[0]))
        self.read_only = {posixpath.normpath(d) for d in read_only}
        self.rootfs_read_only = rootfs_read_only

    def _mount_of(self, container_path: str) -> tuple[str, str] | None:
        for dest, source in self.mounts:
            if container_path == dest or container_path.startswith(dest.rstrip("/") + "/"):
                return dest, source
        return None

    def host_path(self, container_path: str) -> str:
        """Where a resolved container path is on the host (no symlink followed here)."""
        found = self._mount_of(container_path)
        if found is not None:
            dest, source = found
            rest = container_path[len(dest):].lstrip("/")
            return os.path.join(source, rest) if rest else source
        return os.path.join(self.rootfs, container_path.lstrip("/"))

    def check_writable(self, container_path: str) -> None:
        """dockerd's refusals to copy into what is mounted read-only."""
        found = self._mount_of(container_path)
        if found is not None and found[0] in self.read_only:
            raise PermissionDenied("mounted volume is marked read-only")
        if found is None and self.rootfs_read_only:
            raise PermissionDenied("container rootfs is marked read-only")

    def resolve(self, path: str, *, follow_last: bool = True) -> str:
        """The container path ``path`` names once its symlinks are followed inside the container
        (a link under a mount read where the mount's source is)."""
        try:
            parts = resolve_parts(path, lambda p: os.readlink(self.host_path("/" + "/".join(p))),
                                  follow_last=follow_last)
        except OSError as exc:
            raise InvalidArgument(f"{path}: {exc.strerror}") from None
        return "/" + "/".join(parts)

    def _lookup(self, path: str, container: str) -> tuple[str, str, os.stat_result]:
        """(resolved container path, host path, lstat) of ``path``; a final symlink is not followed
        unless the path ends in ``/`` or ``/.`` (it then names the directory)."""
        follow = path.endswith(("/", "/."))
        resolved = self.resolve(path, follow_last=follow)
        host = self.host_path(resolved)
        try:
            st = os.lstat(host)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Could not find the file {path} in container {container}") from None
        if follow and not stat.S_ISDIR(st.st_mode):
            raise InvalidArgument(f"lstat {path}: not a directory")
        return resolved, host, st

    def stat(self, path: str, container: str) -> PathStat:
        resolved, host, st = self._lookup(path, container)
        target = self.resolve(resolved) if stat.S_ISLNK(st.st_mode) else ""
        return PathStat(_base_name(path, resolved), st.st_size, go_file_mode(st), st.st_mtime_ns, target)

    def read_tar(self, path: str, container: str) -> tuple[PathStat, Iterator[bytes]]:
        """The stat of ``path`` and a tar of it: entries named from its base name down, what is
        mounted in the container below it included."""
        info = self.stat(path, container)
        resolved, _, _ = self._lookup(path, container)
        return info, iter_writer_chunks(lambda out: self._write_tree(resolved, info.name, out))

    def _write_tree(self, resolved: str, base: str, out: BinaryIO) -> None:
        writer = LayerWriter(out, Compression.NONE, owner_names=True)
        stack = [(resolved, base)]
        while stack:
            cpath, name = stack.pop()
            host = self.host_path(cpath)
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                continue  # gone meanwhile
            writer.add_path(host, name, st)
            if stat.S_ISDIR(st.st_mode):
                for child in sorted(os.listdir(host), reverse=True):
                    stack.append((posixpath.join(cpath, child), posixpath.join(name, child)))
        writer.finish()

    def write_tar(self, path: str, container: str, tar: BinaryIO, *, copy_owner: bool,
                  no_overwrite_dir_non_dir: bool) -> None:
        """Unpack ``tar`` into the directory ``path``. Owners are the container's root unless
        ``copy_owner`` (``docker cp -a``); names starting ``.wh.`` are plain names here."""
        resolved = self.resolve(path)
        self.check_writable(resolved)
        host = self.host_path(resolved)
        try:
            st = os.stat(host)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Could not find the file {path} in container {container}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise InvalidArgument("extraction point is not a directory")
        try:
            apply_layer(tar, host, whiteouts=WhiteoutMode.NONE, same_owner=copy_owner,
                        no_overwrite_dir_non_dir=no_overwrite_dir_non_dir)
        except OverwriteRefused as exc:
            entry = posixpath.join(resolved, exc.name)
            if exc.directory_replaced:
                raise InvalidArgument(f'cannot overwrite directory "{entry}" with non-directory "{resolved}"') from None
            raise InvalidArgument(f'cannot overwrite non-directory "{entry}" with directory "{resolved}"') from None
        except (CorruptLayer, UnsafeLayer) as exc:
            raise InvalidArgument(f"Error processing tar file({exc})") from None


__all__ = ["ContainerFS", "PathStat", "go_file_mode"]

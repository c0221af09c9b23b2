"""Apply an OCI layer tar (plain, gzip or zstd) onto a directory, streaming, in one pass."""

from __future__ import annotations

import enum
import errno
import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, cast

from dockyard.archive.compression import open_decompressed
from dockyard.archive.errors import CorruptLayer, UnsafeLayer
from dockyard.archive.hashio import HashingReader
from dockyard.archive.securejoin import clean_name, resolve_in_root
from dockyard.archive.tarstream import ForwardReader, check_end, open_tar
from dockyard.oci.digest import Digest

_BUF = 1 << 20
_XATTR_PREFIX = "SCHILY.xattr."
WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
# Internal overlayfs xattrs are never taken from a layer: they would steer the overlay mount.
_RESERVED_XATTRS = ("trusted.overlay.", "user.overlay.")


class WhiteoutMode(enum.Enum):
    DELETE = "delete"  # apply onto a full tree: whiteouts remove files
    OVERLAY = "overlay"  # apply into an empty overlayfs upper dir: whiteouts become 0:0 char devices
    NONE = "none"  # not a layer (docker cp): names starting .wh. are plain names


@dataclass(frozen=True, slots=True)
class ApplyResult:
    diff_id: Digest
    size: int  # uncompressed tar bytes
    compressed_digest: Digest
    compressed_size: int  # of the raw input bytes
    content_size: int = 0  # the layer's size as dockerd measures it (see tarsize)


def _ns(text: str | None, fallback: float) -> int:
    """Nanoseconds from a PAX time string (exact) or a tar header time."""
    if text is not None:
        try:
            return int(Decimal(text) * 1_000_000_000)
        except (InvalidOperation, ValueError):
            pass
    return int(fallback * 1_000_000_000)


def _rmtree(path: str) -> None:
    def retry(func: Callable[..., Any], p: str, _exc: object) -> None:
        # A read-only directory blocks unlinking its children when we are not root.
        os.chmod(os.path.dirname(p), 0o700)
        func(p)

    shutil.rmtree(path, onerror=retry)


class OverwriteRefused(CorruptLayer):
    """``no_overwrite_dir_non_dir``: an entry would replace a directory with a non-directory, or
    the other way round."""

    def __init__(self, name: str, directory_replaced: bool) -> None:
        self.name = name
        self.directory_replaced = directory_replaced
        what = "directory" if directory_replaced else "non-directory"
        super().__init__(f"cannot overwrite {what} {name!r}")


class _Applier:
    def __init__(self, root: str, whiteouts: WhiteoutMode, same_owner: bool,
                 no_overwrite_dir_non_dir: bool = False) -> None:
        self.root = root
        self.no_overwrite_dir_non_dir = no_overwrite_dir_non_dir
        self.whiteouts = whiteouts
        self.same_owner = same_owner
        self.is_root = os.geteuid() == 0
        self.opaque_xattr = "trusted.overlay.opaque" if self.is_root else "user.overlay.opaque"
        # Lexical parent path -> real directory path, known to be a directory inside root.
        self._dirs: dict[tuple[str, ...], str] = {(): root}
        self._applied: set[str] = set()
        # path -> (mode, atime_ns, mtime_ns); a directory listed twice keeps its last entry.
        self._dir_meta: dict[str, tuple[int, int, int]] = {}
        self._buf = bytearray(_BUF)

    # -- paths ---------------------------------------------------------------------------------

    def _forget_dirs(self) -> None:
        """A directory or symlink went away: cached resolutions may now be wrong."""
        self._dirs = {(): self.root}

    def parent_dir(self, parts: tuple[str, ...], *, create: bool = True) -> str | None:
        cached = self._dirs.get(parts)
        if cached is not None:
            return cached
        path = self.root
        for comp in resolve_in_root(self.root, parts):
            path = os.path.join(path, comp)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not create:
                    return None
                os.mkdir(path, 0o755)
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise CorruptLayer(f"{'/'.join(parts)}: a parent path is not a directory")
        self._dirs[parts] = path
        return path

    def _remove(self, path: str, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            _rmtree(path)
            self._forget_dirs()
            self._forget_dir_meta(path)
        else:
            os.unlink(path)
            if stat.S_ISLNK(st.st_mode):
                self._forget_dirs()

    def _forget_dir_meta(self, path: str) -> None:
        """Deferred chmod/utime must not land on whatever takes the removed directory's place."""
        below = path + "/"
        for p in [p for p in self._dir_meta if p == path or p.startswith(below)]:
            del self._dir_meta[p]

    def _clear(self, path: str) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        self._remove(path, st)

    # -- entries -------------------------------------------------------------------------------

    def apply(self, tf: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = clean_name(member.name)
        if not parts:
            return  # the root itself: its metadata belongs to whoever owns the root
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX) and self.whiteouts is not WhiteoutMode.NONE:
            self._whiteout(member, parts[:-1], base)
            return
        if (member.ischr() or member.isblk()) and not self.is_root:
            return  # like rootless Docker: device nodes cannot be made, skip them quietly
        parent = self.parent_dir(parts[:-1])
        assert parent is not None
        path = os.path.join(parent, base)
        try:
            existing: os.stat_result | None = os.lstat(path)
        except FileNotFoundError:
            existing = None
        if existing is not None and self.no_overwrite_dir_non_dir and \
                stat.S_ISDIR(existing.st_mode) != member.isdir():
            raise OverwriteRefused("/".join(parts), directory_replaced=stat.S_ISDIR(existing.st_mode))

        if member.isdir():
            if existing is not None and not stat.S_ISDIR(existing.st_mode):
                self._remove(path, existing)
                existing = None
            if existing is None:
                os.mkdir(path, 0o700)
            self._dirs[parts] = path
            self._meta_path(member, path, defer_mode=True)
        elif member.islnk():
            target = self._hardlink_target(member)
            if target == path:
                return
            if existing is not None:
                self._remove(path, existing)
            os.link(target, path, follow_symlinks=False)
        else:
            if existing is not None:
                self._remove(path, existing)
            if member.isreg():
                self._write_file(tf, member, path)
            elif member.issym():
                os.symlink(member.linkname, path)
                self._meta_path(member, path, symlink=True)
            elif member.ischr() or member.isblk():
                kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
                os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
                self._meta_path(member, path)
            elif member.isfifo():
                os.mkfifo(path, 0o600)
                self._meta_path(member, path)
            else:
                raise CorruptLayer(f"{member.name}: unhandled tar header type {member.type!r}")
        self._applied.add(path)

    def _hardlink_target(self, member: tarfile.TarInfo) -> str:
        parts = clean_name(member.linkname)
        if not parts:
            raise UnsafeLayer(f"{member.name}: invalid hardlink target {member.linkname!r}")
        parent = self.parent_dir(parts[:-1], create=False)
        target = os.path.join(parent, parts[-1]) if parent is not None else None
        if target is None or not os.path.lexists(target):
            raise CorruptLayer(f"{member.name}: hardlink target {member.linkname} does not exist")
        if os.path.isdir(target) and not os.path.islink(target):
            raise UnsafeLayer(f"{member.name}: hardlink target {member.linkname} is a directory")
        return target

    def _write_file(self, tf: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            src = tf.extractfile(member)
            copied = 0
            if src is not None:
                buf = self._buf
                view = memoryview(buf)
                while True:
                    n = src.readinto(buf)  # type: ignore[attr-defined]
                    if not n:
                        break
                    off = 0
                    while off < n:
                        off += os.write(fd, view[off:n])
                    copied += n
            if copied != member.size:
                raise CorruptLayer(f"{member.name}: unexpected EOF")
            if self.same_owner:
                os.fchown(fd, member.uid, member.gid)
            self._xattrs(member, fd)
            os.fchmod(fd, member.mode & 0o7777)
            os.utime(fd, ns=self._times(member))
        finally:
            os.close(fd)

    def _times(self, member: tarfile.TarInfo) -> tuple[int, int]:
        mtime = _ns(member.pax_headers.get("mtime"), member.mtime)
        atime = _ns(member.pax_headers.get("atime"), member.mtime)
        return atime, mtime

    def _meta_path(self, member: tarfile.TarInfo, path: str, *, symlink: bool = False,
                   defer_mode: bool = False) -> None:
        if self.same_owner:
            os.chown(path, member.uid, member.gid, follow_symlinks=False)
        self._xattrs(member, path)
        if defer_mode:
            # Directories get mode and times last: children would change the mtime, and a
            # read-only mode would stop us from creating them.
            atime, mtime = self._times(member)
            self._dir_meta[path] = (member.mode & 0o7777, atime, mtime)
            return
        if not symlink:
            os.chmod(path, member.mode & 0o7777)
        os.utime(path, ns=self._times(member), follow_symlinks=False)

    def _xattrs(self, member: tarfile.TarInfo, target: str | int) -> None:
        for key, value in member.pax_headers.items():
            if not key.startswith(_XATTR_PREFIX):
                continue
            name = key[len(_XATTR_PREFIX):]
            if name.startswith(_RESERVED_XATTRS):
                continue
            raw = value.encode("utf-8", "surrogateescape")
            try:
                if isinstance(target, int):
                    os.setxattr(target, name, raw)
                else:
                    os.setxattr(target, name, raw, follow_symlinks=False)
            except OSError as exc:
                # As Docker does: file systems without xattrs, or names we may not set (trusted.*
                # when not root, user.* on symlinks), are skipped.
                if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                    raise

    # -- whiteouts -----------------------------------------------------------------------------

    def _whiteout(self, member: tarfile.TarInfo, parent_parts: tuple[str, ...], base: str) -> None:
        if base == WHITEOUT_OPAQUE:
            self._opaque(parent_parts)
            return
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            return  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
        name = base[len(WHITEOUT_PREFIX):]
        if name in ("", ".", ".."):
            raise UnsafeLayer(f"{member.name}: invalid whiteout")
        if self.whiteouts is WhiteoutMode.DELETE:
            parent = self.parent_dir(parent_parts, create=False)
            if parent is not None:
                self._clear(os.path.join(parent, name))
            return
        parent = self.parent_dir(parent_parts)
        assert parent is not None
        path = os.path.join(parent, name)
        self._clear(path)
        os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))
        if self.same_owner:
            os.chown(path, member.uid, member.gid, follow_symlinks=False)
        self._applied.add(path)

    def _opaque(self, parent_parts: tuple[str, ...]) -> None:
        if self.whiteouts is WhiteoutMode.OVERLAY:
            parent = self.parent_dir(parent_parts)
            assert parent is not None
            os.setxattr(parent, self.opaque_xattr, b"y", follow_symlinks=False)
            return
        parent = self.parent_dir(parent_parts, create=False)
        if parent is not None:
            self._clear_lower(parent)

    def _clear_lower(self, directory: str) -> None:
        """Remove what lower layers put under ``directory``, keeping this layer's entries."""
        with os.scandir(directory) as entries:
            children = list(entries)
        for entry in children:
            if entry.path in self._applied:
                if entry.is_dir(follow_symlinks=False):
                    self._clear_lower(entry.path)
            else:
                self._remove(entry.path, entry.stat(follow_symlinks=False))

    def finish(self) -> None:
        # Children before parents (reverse of creation order), so no later step bumps an mtime.
        for path, (mode, atime, mtime) in reversed(self._dir_meta.items()):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError as exc:
                raise CorruptLayer(f"{path}: directory changed while the layer was applied") from exc
            try:
                os.fchmod(fd, mode)
                os.utime(fd, ns=(atime, mtime))
            finally:
                os.close(fd)


def apply_layer(src: BinaryIO, root: str | os.PathLike[str], *,
                whiteouts: WhiteoutMode = WhiteoutMode.DELETE,
                same_owner: bool | None = None, no_overwrite_dir_non_dir: bool = False) -> ApplyResult:
    """Unpack the layer read from ``src`` (plain, gzip or zstd) into ``root``.

    Reads ``src`` sequentially to its very end and returns the digests of the raw bytes and of
    the plain tar (the diff ID), both computed in the same pass.
    """
    base = os.path.abspath(os.fspath(root))
    if not os.path.isdir(base):
        raise CorruptLayer(f"cannot apply a layer: {base} is not a directory")
    owner = os.geteuid() == 0 if same_owner is None else same_owner
    raw = HashingReader(src)
    plain = HashingReader(open_decompressed(cast(BinaryIO, raw)))
    applier = _Applier(base, whiteouts, owner, no_overwrite_dir_non_dir)
    content_size = 0
    try:
        reader = ForwardReader(plain)
        tf = open_tar(reader)
        if tf is not None:
            with tf:
                while (member := tf.next()) is not None:
                    applier.apply(tf, member)
                    if member.isreg():
                        content_size += member.size
                    elif member.issym():
                        content_size += len(os.fsencode(member.linkname))
                    # Nothing looks back at earlier members: keep memory flat on huge layers.
                    cast(Any, tf).members.clear()
                check_end(tf, reader)
        reader.drain()
        raw.drain()
    except (tarfile.TarError, EOFError, UnicodeError) as exc:
        msg = str(exc)
        if "unexpected end" in msg or "truncated" in msg or isinstance(exc, EOFError):
            raise CorruptLayer("unexpected EOF") from exc
        raise CorruptLayer(f"invalid tar stream: {msg}") from exc
    applier.finish()
    return ApplyResult(
        diff_id=plain.digester.digest(),
        size=plain.digester.size,
        compressed_digest=raw.digester.digest(),
        compressed_size=raw.digester.size,
        content_size=content_size,
    )


__all__ = ["WHITEOUT_OPAQUE", "WHITEOUT_PREFIX", "ApplyResult", "OverwriteRefused", "WhiteoutMode", "apply_layer"]

"""Writes a layer tar (PAX, numeric owners, hardlinks by inode) while hashing it both ways."""

from __future__ import annotations

import os
import stat
import tarfile
from dataclasses import dataclass
from typing import BinaryIO, cast

from dockyard.archive.compression import Compression, compressing_writer
from dockyard.archive.hashio import HashingWriter
from dockyard.errors import Conflict
from dockyard.oci.digest import Digest, Digester

_BUF = 1 << 20
_BLOCK = 512
# Host- or overlay-internal xattrs that do not belong in a portable layer.
_SKIP_XATTRS = ("trusted.overlay.", "user.overlay.", "security.selinux", "system.")


@dataclass(frozen=True, slots=True)
class DiffResult:
    diff_id: Digest  # of the plain tar
    size: int  # plain tar bytes
    digest: Digest  # of the bytes written to ``out`` (compressed or not)
    compressed_size: int


def read_xattrs(path: str) -> dict[str, bytes]:
    """The xattrs of ``path`` (not following a symlink) worth carrying in a layer."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    found: dict[str, bytes] = {}
    for name in sorted(names):
        if name.startswith(_SKIP_XATTRS):
            continue
        try:
            found[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
    return found


class LayerWriter:
    """Appends entries to a layer stream; ``finish`` closes the tar and returns the digests."""

    def __init__(self, out: BinaryIO, compression: Compression, level: int | None = None, *,
                 owner_names: bool = False) -> None:
        # owner_names: the host's user and group names beside the numbers, as Go's tar headers of
        # ``docker export`` have them (layers carry numbers only)
        self._names: dict[tuple[str, int], str] | None = {} if owner_names else None
        self._out = HashingWriter(out)
        self._comp = compressing_writer(cast(BinaryIO, self._out), compression, level)
        self._plain = Digester()
        self._pending = bytearray()
        self._links: dict[tuple[int, int], str] = {}
        self._buf = bytearray(_BUF)

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._plain.update(data)
        if len(data) >= _BUF:
            self._flush()
            self._comp.write(data)
            return
        self._pending += data
        if len(self._pending) >= _BUF:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._comp.write(self._pending)
            self._pending = bytearray()

    def _header(self, info: tarfile.TarInfo) -> None:
        if self._names is None:
            info.uname = info.gname = ""
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def add_path(self, path: str, name: str, st: os.stat_result | None = None) -> None:
        """Add the file at ``path`` as entry ``name`` (sockets are skipped, as Docker does)."""
        if st is None:
            st = os.lstat(path)
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        if self._names is not None:
            info.uname, info.gname = self._name("user", st.st_uid), self._name("group", st.st_gid)
        else:
            info.uname = info.gname = ""
        info.mtime = int(st.st_mtime)
        fmt = stat.S_IFMT(st.st_mode)
        data = False
        if fmt == stat.S_IFREG:
            key = (st.st_dev, st.st_ino)
            first = self._links.get(key) if st.st_nlink > 1 else None
            if first is not None:
                info.type, info.linkname = tarfile.LNKTYPE, first
            else:
                info.type, info.size, data = tarfile.REGTYPE, st.st_size, True
                if st.st_nlink > 1:
                    self._links[key] = name
        elif fmt == stat.S_IFDIR:
            info.type = tarfile.DIRTYPE
        elif fmt == stat.S_IFLNK:
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
            info.type = tarfile.CHRTYPE if fmt == stat.S_IFCHR else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif fmt == stat.S_IFIFO:
            info.type = tarfile.FIFOTYPE
        else:
            return
        info.pax_headers = {"SCHILY.xattr." + key: value.decode("utf-8", "surrogateescape")
                            for key, value in read_xattrs(path).items()}
        self._header(info)
        if data:
            self._copy(path, name, info.size)

    def _name(self, kind: str, ident: int) -> str:
        assert self._names is not None
        key = (kind, ident)
        if key not in self._names:
            import grp
            import pwd

            try:
                self._names[key] = pwd.getpwuid(ident).pw_name if kind == "user" else grp.getgrgid(ident).gr_name
            except KeyError:
                self._names[key] = ""
        return self._names[key]

    def add_empty(self, name: str, *, mode: int = 0o600, uid: int = 0, gid: int = 0, mtime: int = 0) -> None:
        """Add an empty regular file: how whiteouts travel in a layer."""
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.REGTYPE, mode, uid, gid, mtime
        self._header(info)

    def _copy(self, path: str, name: str, size: int) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            view = memoryview(self._buf)
            left = size
            while left:
                n = os.readv(fd, [view[: min(left, _BUF)]])
                if n == 0:
                    raise Conflict(f"{name}: file shrank while it was being archived")
                self._write(view[:n])
                left -= n
        finally:
            os.close(fd)
        pad = -size % _BLOCK
        if pad:
            self._write(bytes(pad))

    def finish(self) -> DiffResult:
        self._write(bytes(2 * _BLOCK))
        self._flush()
        self._comp.close()
        return DiffResult(
            diff_id=self._plain.digest(),
            size=self._plain.size,
            digest=self._out.digester.digest(),
            compressed_size=self._out.digester.size,
        )


__all__ = ["DiffResult", "LayerWriter", "read_xattrs"]

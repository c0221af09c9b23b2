"""Helpers to craft layer tars entry by entry (including malicious ones)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class E:
    """One tar entry to craft."""

    name: str
    kind: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int | None = None  # 0o755 for directories, 0o644 otherwise
    linkname: str = ""
    mtime: int = 1_600_000_000
    uid: int = 0
    gid: int = 0
    xattrs: dict[str, str] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0


def make_tar(entries: list[E], *, tail: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.type, info.mtime = e.kind, e.mtime
            info.mode = e.mode if e.mode is not None else 0o755 if e.kind == tarfile.DIRTYPE else 0o644
            info.uid, info.gid, info.linkname = e.uid, e.gid, e.linkname
            info.devmajor, info.devminor = e.devmajor, e.devminor
            info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e.xattrs.items()}
            if e.kind == tarfile.REGTYPE:
                info.size = len(e.data)
                tf.addfile(info, io.BytesIO(e.data))
            else:
                tf.addfile(info)
    data = buf.getvalue()
    if not tail:
        data = data.rstrip(b"\0")
    return data


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """A comparable picture of a tree: type, mode, owner, mtime, content or link target."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            fmt = stat.S_IFMT(st.st_mode)
            extra: object = None
            if fmt == stat.S_IFREG:
                extra = Path(p).read_bytes()
            elif fmt == stat.S_IFLNK:
                extra = os.readlink(p)
            elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
                extra = st.st_rdev
            mtime = None if fmt == stat.S_IFLNK else int(st.st_mtime)
            out[rel] = (fmt, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, mtime, extra)
    return out


class Trickle:
    """A non-seekable source that hands out a few bytes at a time."""

    def __init__(self, data: bytes, step: int = 777) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._pos:self._pos + n]
        self._pos += len(chunk)
        return chunk

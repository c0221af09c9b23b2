"""Copy a directory tree faithfully: owners, modes, times, xattrs, devices, and hard links."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)


def _copy_meta(src: str, dst: str, st: os.stat_result) -> None:
    with contextlib.suppress(PermissionError):
        os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))  # after chown, which clears setuid bits
    _copy_xattrs(src, dst)


def copy_tree(src: str, dst: str) -> None:
    """Copy the contents of ``src`` into the existing directory ``dst``."""
    links: dict[tuple[int, int], str] = {}
    dirs: list[tuple[str, os.stat_result]] = []

    def visit(s: str, d: str) -> None:
        with os.scandir(s) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            sp, dp = entry.path, os.path.join(d, entry.name)
            st = entry.stat(follow_symlinks=False)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                os.mkdir(dp, 0o700)
                visit(sp, dp)
                _copy_meta(sp, dp, st)
                dirs.append((dp, st))
                continue
            ident = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and ident in links:
                os.link(links[ident], dp)
                continue
            if stat.S_ISREG(mode):
                shutil.copyfile(sp, dp, follow_symlinks=False)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(sp), dp)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                os.mknod(dp, mode, st.st_rdev)
            else:  # pragma: no cover - no other file types exist
                continue
            _copy_meta(sp, dp, st)
            os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
            if st.st_nlink > 1:
                links[ident] = dp

    visit(src, dst)
    # Directory times last: creating entries inside them changed their mtimes.
    for dp, st in dirs:
        os.utime(dp, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def tree_usage(path: str) -> tuple[int, int]:
    """(bytes, inodes) under ``path``, hard links counted once; the root itself is not counted."""
    seen: set[tuple[int, int]] = set()
    size = inodes = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            ident = (st.st_dev, st.st_ino)
            if ident in seen:
                continue
            seen.add(ident)
            inodes += 1
            if not stat.S_ISDIR(st.st_mode):
                size += st.st_size
    return size, inodes


__all__ = ["copy_tree", "tree_usage"]

"""mount(2), umount2(2) and the new mount API (fsopen/fsconfig/fsmount/move_mount) via ctypes.

Overlay option strings longer than one page are cut by mount(2) (the kernel copies a single page
of mount data, and the failure shows up as ENOENT), so long layer stacks go through fsconfig with
one ``lowerdir+`` per layer instead.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8

# x86_64 syscall numbers of the new mount API.
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_FSOPEN = 430
SYS_FSCONFIG = 431
SYS_FSMOUNT = 432

FSOPEN_CLOEXEC = 1
FSMOUNT_CLOEXEC = 1
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
MOVE_MOUNT_F_EMPTY_PATH = 4
AT_FDCWD = -100
MOUNT_ATTR_RDONLY = 1

# mount(2) copies exactly one page of option data.
PAGE_SIZE = 4096

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
_libc.mount.restype = ctypes.c_int
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.umount2.restype = ctypes.c_int
_libc.syscall.restype = ctypes.c_long


def _enc(value: str | bytes | None) -> bytes | None:
    if value is None:
        return None
    return value.encode() if isinstance(value, str) else value


def _raise(path: str | None, what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}", path)


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    """mount(2); raises OSError carrying errno and the target path."""
    buf = _enc(data)
    cdata = ctypes.c_char_p(buf) if buf is not None else None
    rc = _libc.mount(_enc(source), _enc(target), _enc(fstype), ctypes.c_ulong(flags),
                     ctypes.cast(cdata, ctypes.c_void_p) if cdata is not None else None)
    if rc != 0:
        _raise(target, f"mount {fstype or ''} {source or ''}".strip())


def umount2(target: str, flags: int = 0) -> None:
    """umount2(2); raises OSError carrying errno and the target path."""
    if _libc.umount2(_enc(target), ctypes.c_int(flags)) != 0:
        _raise(target, "umount")


def _syscall(nr: int, *args: object, path: str | None, what: str) -> int:
    rc = int(_libc.syscall(ctypes.c_long(nr), *args))
    if rc == -1:
        _raise(path, what)
    return rc


def _fsconfig_string(fsfd: int, key: str, value: str, target: str) -> None:
    _syscall(SYS_FSCONFIG, ctypes.c_int(fsfd), ctypes.c_uint(FSCONFIG_SET_STRING), _enc(key),
             _enc(value), ctypes.c_int(0), path=value, what=f"fsconfig {key} (for {target})")


def _fsconfig_flag(fsfd: int, key: str, target: str) -> None:
    _syscall(SYS_FSCONFIG, ctypes.c_int(fsfd), ctypes.c_uint(FSCONFIG_SET_FLAG), _enc(key),
             None, ctypes.c_int(0), path=target, what=f"fsconfig {key}")


def _overlay_options(lowerdirs: Sequence[str], upperdir: str | None, workdir: str | None,
                     extra_options: Sequence[str]) -> str:
    opts = ["lowerdir=" + ":".join(_escape_lower(d) for d in lowerdirs)]
    if upperdir is not None:
        opts.append(f"upperdir={upperdir}")
    if workdir is not None:
        opts.append(f"workdir={workdir}")
    opts.extend(extra_options)
    return ",".join(opts)


def _escape_lower(path: str) -> str:
    # ':' separates layers and ',' separates options in the legacy syntax.
    return path.replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")


def overlay_options(lowerdirs: Sequence[str], upperdir: str | None = None, workdir: str | None = None,
                    extra_options: Sequence[str] = ()) -> str:
    """The mount(2) option string for an overlay (for diagnostics and tests)."""
    return _overlay_options(lowerdirs, upperdir, workdir, extra_options)


def mount_overlay(target: str, *, lowerdirs: Sequence[str], upperdir: str | None, workdir: str | None,
                  extra_options: Sequence[str] = ()) -> None:
    """Mount an overlay at ``target``; lowerdirs are listed topmost first.

    A single lower without an upper cannot be an overlay (it needs two lowers), so that case is a
    read-only bind mount.
    """
    if not lowerdirs:
        raise OSError(22, "overlay needs at least one lower directory", target)
    if (upperdir is None) != (workdir is None):
        raise OSError(22, "overlay needs upperdir and workdir together", target)
    if len(lowerdirs) == 1 and upperdir is None:
        bind_mount(lowerdirs[0], target, readonly=True)
        return
    options = _overlay_options(lowerdirs, upperdir, workdir, extra_options)
    if len(options.encode()) < PAGE_SIZE:
        mount("overlay", target, "overlay", 0, options)
        return
    _mount_overlay_fsconfig(target, lowerdirs, upperdir, workdir, extra_options)


def _mount_overlay_fsconfig(target: str, lowerdirs: Sequence[str], upperdir: str | None,
                            workdir: str | None, extra_options: Sequence[str]) -> None:
    fsfd = _syscall(SYS_FSOPEN, b"overlay", ctypes.c_uint(FSOPEN_CLOEXEC), path=target, what="fsopen overlay")
    try:
        for lower in lowerdirs:
            _fsconfig_string(fsfd, "lowerdir+", lower, target)
        if upperdir is not None and workdir is not None:
            _fsconfig_string(fsfd, "upperdir", upperdir, target)
            _fsconfig_string(fsfd, "workdir", workdir, target)
        for opt in extra_options:
            key, sep, value = opt.partition("=")
            if sep:
                _fsconfig_string(fsfd, key, value, target)
            else:
                _fsconfig_flag(fsfd, key, target)
        _syscall(SYS_FSCONFIG, ctypes.c_int(fsfd), ctypes.c_uint(FSCONFIG_CMD_CREATE), None, None,
                 ctypes.c_int(0), path=target, what="fsconfig create overlay")
        mfd = _syscall(SYS_FSMOUNT, ctypes.c_int(fsfd), ctypes.c_uint(FSMOUNT_CLOEXEC), ctypes.c_uint(0),
                       path=target, what="fsmount overlay")
        try:
            _syscall(SYS_MOVE_MOUNT, ctypes.c_int(mfd), b"", ctypes.c_int(AT_FDCWD), _enc(target),
                     ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH), path=target, what="move_mount overlay")
        finally:
            os.close(mfd)
    finally:
        os.close(fsfd)


def bind_mount(source: str, target: str, *, readonly: bool = False, recursive: bool = False) -> None:
    """Bind ``source`` on ``target``; a read-only bind needs a second remount call."""
    flags = MS_BIND | (MS_REC if recursive else 0)
    mount(source, target, None, flags)
    if readonly:
        try:
            mount(None, target, None, flags | MS_REMOUNT | MS_RDONLY)
        except OSError:
            umount2(target, MNT_DETACH)
            raise


__all__ = [
    "MNT_DETACH", "MNT_EXPIRE", "MNT_FORCE", "MS_BIND", "MS_DIRSYNC", "MS_MANDLOCK", "MS_MOVE",
    "MS_NOATIME", "MS_NODEV", "MS_NODIRATIME", "MS_NOEXEC", "MS_NOSUID", "MS_NOSYMFOLLOW",
    "MS_PRIVATE", "MS_RDONLY", "MS_REC", "MS_RELATIME", "MS_REMOUNT", "MS_SHARED", "MS_SILENT",
    "MS_SLAVE", "MS_STRICTATIME", "MS_SYNCHRONOUS", "MS_UNBINDABLE", "PAGE_SIZE", "UMOUNT_NOFOLLOW",
    "bind_mount", "mount", "mount_overlay", "overlay_options", "umount2",
]

"""``Mount``: how a snapshot is mounted, in containerd's terms (type, source, options)."""

from __future__ import annotations

import errno
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.sys import mount as sysmount

# Options that are mount(2) flags rather than filesystem data: name -> (set?, flag).
_FLAGS: dict[str, tuple[bool, int]] = {
    "ro": (True, sysmount.MS_RDONLY), "rw": (False, sysmount.MS_RDONLY),
    "nosuid": (True, sysmount.MS_NOSUID), "suid": (False, sysmount.MS_NOSUID),
    "nodev": (True, sysmount.MS_NODEV), "dev": (False, sysmount.MS_NODEV),
    "noexec": (True, sysmount.MS_NOEXEC), "exec": (False, sysmount.MS_NOEXEC),
    "sync": (True, sysmount.MS_SYNCHRONOUS), "async": (False, sysmount.MS_SYNCHRONOUS),
    "dirsync": (True, sysmount.MS_DIRSYNC), "noatime": (True, sysmount.MS_NOATIME),
    "nodiratime": (True, sysmount.MS_NODIRATIME), "relatime": (True, sysmount.MS_RELATIME),
    "strictatime": (True, sysmount.MS_STRICTATIME), "bind": (True, sysmount.MS_BIND),
    "rbind": (True, sysmount.MS_BIND | sysmount.MS_REC),
}

_LOWER_SPLIT = re.compile(r"(?<!\\):")


@dataclass(frozen=True, slots=True)
class Mount:
    type: str  # "overlay" | "bind" | any filesystem type
    source: str
    options: tuple[str, ...] = ()

    @property
    def readonly(self) -> bool:
        return "ro" in self.options

    def mount(self, target: str) -> None:
        if self.type == "overlay":
            _mount_overlay(self, target)
            return
        flags, data = _parse_options(self.options)
        if self.type in ("bind", "rbind") or flags & sysmount.MS_BIND:
            bind_flags = sysmount.MS_BIND | (sysmount.MS_REC if self.type == "rbind" or "rbind" in self.options else 0)
            sysmount.mount(self.source, target, None, bind_flags)
            # Bind ignores other flags on the first call: apply ro/nosuid/... with a remount.
            extra = flags & ~(sysmount.MS_BIND | sysmount.MS_REC)
            if extra:
                try:
                    sysmount.mount(None, target, None, bind_flags | sysmount.MS_REMOUNT | extra)
                except OSError:
                    sysmount.umount2(target, sysmount.MNT_DETACH)
                    raise
            return
        sysmount.mount(self.source, target, self.type, flags, ",".join(data) or None)


def _parse_options(options: Sequence[str]) -> tuple[int, list[str]]:
    flags = 0
    data: list[str] = []
    for opt in options:
        if opt in _FLAGS:
            on, flag = _FLAGS[opt]
            flags = flags | flag if on else flags & ~flag
        else:
            data.append(opt)
    return flags, data


def _unescape(path: str) -> str:
    return re.sub(r"\\(.)", r"\1", path)


def _mount_overlay(m: Mount, target: str) -> None:
    lowers: list[str] = []
    upper: str | None = None
    work: str | None = None
    extra: list[str] = []
    for opt in m.options:
        key, _, value = opt.partition("=")
        if key == "lowerdir":
            lowers = [_unescape(p) for p in _LOWER_SPLIT.split(value) if p]
        elif key == "upperdir":
            upper = value
        elif key == "workdir":
            work = value
        elif opt == "ro" and upper is None:
            continue  # an overlay without upperdir is read-only by construction
        else:
            extra.append(opt)
    sysmount.mount_overlay(target, lowerdirs=lowers, upperdir=upper, workdir=work, extra_options=extra)


def mount_all(mounts: Sequence[Mount], target: str) -> None:
    """Mount each of ``mounts`` on ``target`` in order; on failure undo the ones done."""
    done = 0
    try:
        for m in mounts:
            m.mount(target)
            done += 1
    except BaseException:
        for _ in range(done):
            try:
                sysmount.umount2(target, sysmount.MNT_DETACH)
            except OSError:
                break
        raise


def unmount(target: str, *, detach: bool = False) -> None:
    """Unmount everything stacked on ``target``; a target that is not mounted is fine."""
    flags = sysmount.MNT_DETACH if detach else 0
    while True:
        try:
            sysmount.umount2(target, flags)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):
                return
            raise


__all__ = ["Mount", "mount_all", "unmount"]

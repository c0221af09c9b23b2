"""Gather ``HostFacts`` from the running host (the I/O half, kept out of the pure builder)."""

from __future__ import annotations

import os
import platform
import stat
from collections.abc import Iterable
from typing import Literal

from dockyard.engine.spec.host import HostDevice, HostFacts
from dockyard.engine.spec.seccomp import KernelVersion, parse_kernel


def device_at(path: str) -> HostDevice | None:
    """The device node at ``path`` (symlinks followed), None if it is not one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    elif stat.S_ISFIFO(st.st_mode):
        kind = "p"
    else:
        return None
    return HostDevice(path, kind, os.major(st.st_rdev), os.minor(st.st_rdev), stat.S_IMODE(st.st_mode),
                      st.st_uid, st.st_gid)


def devices_under(path: str) -> tuple[HostDevice, ...]:
    """``path`` itself if it is a device, else every device below the directory (moby's rule)."""
    dev = device_at(path)
    if dev is not None:
        return (dev,)
    if not os.path.isdir(path):
        return ()
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in ("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"))
        for name in sorted(files):
            full = os.path.join(root, name)
            if os.path.islink(full) or name == "console":
                continue
            d = device_at(full)
            if d is not None:
                found.append(d)
    return tuple(found)


def _kernel() -> KernelVersion | None:
    try:
        return parse_kernel(platform.release())
    except Exception:
        return None


def probe_host(device_paths: Iterable[str] = (), *, privileged: bool = False) -> HostFacts:
    """Host facts for one container: the devices it names (``--device``, ``--blkio-*``) and, for
    ``--privileged``, every device of /dev."""
    thermal = []
    cpu_dir = "/sys/devices/system/cpu"
    try:
        names = sorted((n for n in os.listdir(cpu_dir) if n.startswith("cpu") and n[3:].isdigit()),
                       key=lambda n: int(n[3:]))
    except OSError:
        names = []
    for name in names:
        path = f"{cpu_dir}/{name}/thermal_throttle"
        if os.path.exists(path):
            thermal.append(path)
    return HostFacts(
        kernel=_kernel(),
        ncpu=os.cpu_count() or 0,
        cgroup2=os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
        thermal_throttle=tuple(thermal),
        hostname=platform.node(),
        devices={p: devices_under(p) for p in device_paths},
        all_devices=devices_under("/dev") if privileged else (),
    )


__all__ = ["device_at", "devices_under", "probe_host"]


# --init: Docker runs its docker-init (a static tini) as the container's PID 1. Only a statically
# linked binary works in every image (busybox has no libc, distroless no shell).
INIT_CANDIDATES = ("docker-init", "tini-static", "tini")
_PT_INTERP = 3


def is_static_elf(path: str) -> bool:
    """True for an ELF executable without a program interpreter (ld.so): it runs in any rootfs."""
    try:
        with open(path, "rb") as f:
            header = f.read(64)
            if header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit ELF only
                return False
            order: Literal["little", "big"] = "little" if header[5] == 1 else "big"
            phoff = int.from_bytes(header[32:40], order)
            phentsize = int.from_bytes(header[54:56], order)
            phnum = int.from_bytes(header[56:58], order)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    return all(int.from_bytes(table[i:i + 4], order) != _PT_INTERP for i in range(0, len(table), phentsize))


def find_init(search_path: str | None = None) -> str | None:
    """The first static init binary on PATH (``docker-init``, Debian's ``tini-static``…), or None."""
    import shutil

    for name in INIT_CANDIDATES:
        found = shutil.which(name, path=search_path)
        if found and is_static_elf(os.path.realpath(found)):
            return found
    return None

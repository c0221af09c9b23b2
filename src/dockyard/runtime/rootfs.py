"""The container's filesystem: propagation, rootfs bind, config mounts, /dev, pivot_root, masks.

Runs in the container init, inside its new mount namespace, while host paths are still reachable.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping

from dockyard.runtime import devices
from dockyard.runtime.mountopts import PROPAGATION, parse_options
from dockyard.runtime.paths import secure_join
from dockyard.runtime.spec import Mount, Spec
from dockyard.sys import linux
from dockyard.sys import mount as m

_STATVFS_KEEP = (os.ST_NOSUID, os.ST_NODEV, os.ST_NOEXEC, os.ST_NOATIME, os.ST_NODIRATIME, os.ST_RELATIME)
_MS_FOR_ST = {os.ST_NOSUID: m.MS_NOSUID, os.ST_NODEV: m.MS_NODEV, os.ST_NOEXEC: m.MS_NOEXEC,
              os.ST_NOATIME: m.MS_NOATIME, os.ST_NODIRATIME: m.MS_NODIRATIME, os.ST_RELATIME: m.MS_RELATIME}


def locked_flags(path: str) -> int:
    """Flags of the mount at ``path`` that a bind remount must repeat (the kernel locks them in a userns)."""
    f = os.statvfs(path).f_flag
    out = 0
    for st in _STATVFS_KEEP:
        if f & st:
            out |= _MS_FOR_ST[st]
    return out


def prepare_root(spec: Spec, rootfs: str) -> None:
    prop = PROPAGATION.get(spec.linux.rootfs_propagation, m.MS_SLAVE | m.MS_REC)
    m.mount(None, "/", None, prop)
    _make_parent_private(rootfs)
    m.mount(rootfs, rootfs, "bind", m.MS_BIND | m.MS_REC)


def _make_parent_private(rootfs: str) -> None:
    # pivot_root refuses a shared parent mount: find the mount holding rootfs and make it private.
    best = "/"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if (rootfs == point or rootfs.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                best = point
    try:
        m.mount(None, best, None, m.MS_PRIVATE)
    except OSError:
        pass


def _ensure_target(dest: str, source_is_dir: bool) -> None:
    if os.path.lexists(dest):
        return
    if source_is_dir:
        os.makedirs(dest, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o755))


def mount_one(mnt: Mount, rootfs: str, bundle: str, *, in_userns: bool, cgroup_paths: Mapping[str, str],
              cgroupns: bool) -> None:
    opts = parse_options(mnt.options)
    dest = secure_join(rootfs, mnt.destination)
    if opts.is_bind or mnt.type == "bind":
        src = mnt.source if mnt.source.startswith("/") else os.path.join(bundle, mnt.source)
        _ensure_target(dest, os.path.isdir(src))
        bind_flags = m.MS_BIND | (opts.flags & m.MS_REC)
        m.mount(src, dest, "bind", bind_flags)
        extra = opts.flags & ~(m.MS_BIND | m.MS_REC | m.MS_REMOUNT)
        if extra:
            m.mount(None, dest, None, bind_flags | m.MS_REMOUNT | extra | locked_flags(dest))
    elif mnt.type in ("cgroup", "cgroup2") and mnt.type == "cgroup":
        _mount_cgroup_v1(dest, opts.flags, cgroup_paths, cgroupns)
    else:
        _ensure_target(dest, True)
        try:
            m.mount(mnt.source or mnt.type, dest, mnt.type, opts.flags, opts.data or None)
        except OSError as exc:
            if mnt.type == "sysfs" and exc.errno == errno.EPERM and in_userns:
                # Without its own network namespace a user namespace may not mount sysfs: bind the host's.
                m.mount("/sys", dest, "bind", m.MS_BIND | m.MS_REC)
                m.mount(None, dest, None, m.MS_BIND | m.MS_REC | m.MS_REMOUNT | m.MS_RDONLY | locked_flags(dest))
            else:
                raise
    for prop in opts.propagation:
        m.mount(None, dest, None, prop)


def _mount_cgroup_v1(dest: str, flags: int, cgroup_paths: Mapping[str, str], cgroupns: bool) -> None:
    # Like runc: the tmpfs holding the hierarchies stays writable; each hierarchy honours "ro".
    base = flags & (m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC | m.MS_RELATIME)
    os.makedirs(dest, exist_ok=True)
    m.mount("tmpfs", dest, "tmpfs", base, "mode=755")
    for key, host_path in cgroup_paths.items():  # mountinfo order, as runc
        if key == "unified":
            continue  # a hybrid host's cgroup2 hierarchy: runc mounts only the v1 ones
        sub = os.path.join(dest, key)
        os.makedirs(sub, exist_ok=True)
        if cgroupns:
            option = key if key in _KNOWN_V1 else f"none,name={key}"
            m.mount("cgroup", sub, "cgroup", base | (flags & m.MS_RDONLY), option)
        else:
            m.mount(host_path, sub, "bind", m.MS_BIND)
            if flags & m.MS_RDONLY:
                m.mount(None, sub, None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY | base)


_KNOWN_V1 = frozenset({"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
                       "net_cls", "net_prio", "perf_event", "rdma", "misc"})


def setup_dev(spec: Spec, rootfs: str, in_userns: bool) -> None:
    dev_dir = secure_join(rootfs, "/dev")
    if not any(mnt.destination.rstrip("/") == "/dev" for mnt in spec.mounts):
        os.makedirs(dev_dir, exist_ok=True)
    for dev in devices.all_devices(spec.linux.devices):
        devices.create_device(secure_join(rootfs, dev.path), dev, bind=in_userns)
    devices.create_symlinks(dev_dir)


def pivot(rootfs: str) -> None:
    os.chdir(rootfs)
    linux.pivot_root(".", ".")
    # The old root is stacked under "."; keep its unmount from propagating to the host first.
    m.mount(None, ".", None, m.MS_SLAVE | m.MS_REC)
    m.umount2(".", m.MNT_DETACH)
    os.chdir("/")


def _checked_dev_null() -> int:
    # A rootfs could plant /dev/null as a symlink to a host file: only a real 1:3 node is used.
    fd = os.open("/dev/null", os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
        os.close(fd)
        raise OSError(errno.EPERM, "/dev/null is not the null device; refusing to mask with it")
    return fd


def mask_paths(paths: tuple[str, ...]) -> None:
    if not paths:
        return
    null_fd = _checked_dev_null()
    try:
        for path in paths:
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISDIR(st.st_mode):
                m.mount("tmpfs", path, "tmpfs", m.MS_RDONLY, None)
            else:
                m.mount(f"/proc/self/fd/{null_fd}", path, "bind", m.MS_BIND)
    finally:
        os.close(null_fd)


def readonly_paths(paths: tuple[str, ...]) -> None:
    for path in paths:
        try:
            m.mount(path, path, "bind", m.MS_BIND | m.MS_REC)
        except (FileNotFoundError, NotADirectoryError):
            continue
        m.mount(None, path, None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY | m.MS_REC | locked_flags(path))


def readonly_root() -> None:
    m.mount(None, "/", None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY | locked_flags("/"))

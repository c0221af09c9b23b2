"""The standard device nodes and /dev symlinks every container gets."""

from __future__ import annotations

import os
import stat

from dockyard.runtime.spec import Device
from dockyard.sys import mount as m

DEFAULT_DEVICES = (
    Device("c", "/dev/null", 1, 3, 0o666, 0, 0), Device("c", "/dev/zero", 1, 5, 0o666, 0, 0),
    Device("c", "/dev/full", 1, 7, 0o666, 0, 0), Device("c", "/dev/random", 1, 8, 0o666, 0, 0),
    Device("c", "/dev/urandom", 1, 9, 0o666, 0, 0), Device("c", "/dev/tty", 5, 0, 0o666, 0, 0),
)
SYMLINKS = (("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
            ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr"))


def all_devices(configured: tuple[Device, ...]) -> list[Device]:
    """The defaults plus the configured ones; a configured path replaces a default."""
    paths = {d.path for d in configured}
    return [d for d in DEFAULT_DEVICES if d.path not in paths] + list(configured)


def create_device(dest: str, dev: Device, bind: bool) -> None:
    """mknod the node, or (inside a user namespace, where mknod is refused) bind the host's node."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.lexists(dest):
        os.unlink(dest)
    if bind:
        os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        m.mount(dev.path, dest, None, m.MS_BIND)
        return
    kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[dev.type]
    mode = 0o666 if dev.file_mode is None else dev.file_mode
    os.mknod(dest, kind | mode, os.makedev(dev.major, dev.minor))
    os.chmod(dest, mode)  # mknod honours the umask
    os.chown(dest, dev.uid or 0, dev.gid or 0)


def create_symlinks(dev_dir: str) -> None:
    for target, link in SYMLINKS:
        path = os.path.join(dev_dir, os.path.basename(link))
        if not os.path.lexists(path):
            os.symlink(target, path)
    if os.path.exists("/proc/kcore") and not os.path.lexists(os.path.join(dev_dir, "core")):
        os.symlink("/proc/kcore", os.path.join(dev_dir, "core"))
    ptmx = os.path.join(dev_dir, "ptmx")
    if os.path.isdir(os.path.join(dev_dir, "pts")):
        if os.path.lexists(ptmx):
            os.unlink(ptmx)
        os.symlink("pts/ptmx", ptmx)

"""Named network namespace files for containers: ``<directory>/<id>``, like ``ip netns add``.

The engine makes the namespace before the runtime starts and passes the file's path in config.json
(``linux.namespaces[{type: network, path}]``), so the veth and addresses are ready at start.
"""

from __future__ import annotations

import errno
import os

from dockyard.errors import AlreadyExists, InvalidArgument
from dockyard.sys import netns as sysnetns


def netns_path(directory: str, name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise InvalidArgument(f"invalid network namespace name {name!r}")
    return os.path.join(directory, name)


def create_netns(directory: str, name: str) -> str:
    """Create the namespace file ``<directory>/<name>`` and return its path."""
    path = netns_path(directory, name)
    os.makedirs(directory, mode=0o711, exist_ok=True)
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))
    except FileExistsError:
        raise AlreadyExists(f"network namespace {path} already exists") from None
    try:
        sysnetns.create_bound(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def delete_netns(path: str) -> None:
    """Unmount and remove a namespace file; a missing or unmounted file is fine (idempotent)."""
    try:
        sysnetns.unbind(path)
    except OSError as exc:
        # EINVAL: not a mount point (already unmounted); ENOENT: already gone.
        if exc.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def list_netns(directory: str) -> list[str]:
    """Names of the namespace files in ``directory`` (for reconciliation at daemon start)."""
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []


__all__ = ["create_netns", "delete_netns", "list_netns", "netns_path"]

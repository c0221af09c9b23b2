"""uid/gid maps for a new user namespace, written by the parent into /proc/<pid>/."""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument
from dockyard.runtime.spec import IdMapping


def format_map(mappings: tuple[IdMapping, ...]) -> str:
    return "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in mappings)


def _write(path: str, text: str) -> None:
    # os.write, not a buffered file: procfs reports a refused map only at write time.
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def write_maps(pid: int, uid_maps: tuple[IdMapping, ...], gid_maps: tuple[IdMapping, ...]) -> None:
    for name, maps in (("uid_map", uid_maps), ("gid_map", gid_maps)):
        if not maps:
            continue
        try:
            _write(f"/proc/{pid}/{name}", format_map(maps))
        except OSError as exc:
            raise InvalidArgument(f"user namespace: writing {name} {format_map(maps).strip()!r}: "
                                  f"{os.strerror(exc.errno or 0)}") from exc


def to_host(container_id: int, mappings: tuple[IdMapping, ...]) -> int | None:
    for m in mappings:
        if m.container_id <= container_id < m.container_id + m.size:
            return m.host_id + container_id - m.container_id
    return None

"""The state directory: one folder per container under --root, with state.json written atomically.

A stored pid is trusted only while /proc/<pid>/stat still shows the same start time, so a reused
pid never makes a dead container look alive.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound

OCI_VERSION = "1.2.0"
STATE_FILE = "state.json"
CONFIG_FILE = "config.json"
FIFO_NAME = "exec.fifo"
_ID_RE = re.compile(r"^[\w+\-.]+$")


def check_id(container_id: str) -> None:
    if not container_id:
        raise InvalidArgument("container id cannot be empty")
    if not _ID_RE.match(container_id) or container_id in (".", ".."):
        raise InvalidArgument(f"invalid id format: {container_id}")


def proc_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot), None for a gone or zombie process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2:].split()
    if rest[0] in (b"Z", b"X"):
        return None
    return int(rest[19])


@dataclass(frozen=True, slots=True)
class State:
    id: str
    bundle: str
    pid: int
    start_time: int
    created: str
    rootfs: str
    cgroup_paths: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    namespace_paths: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def to_json_obj(self) -> dict[str, Any]:
        return {"id": self.id, "bundle": self.bundle, "pid": self.pid, "start_time": self.start_time,
                "created": self.created, "rootfs": self.rootfs, "cgroup_paths": dict(self.cgroup_paths),
                "annotations": dict(self.annotations), "namespace_paths": dict(self.namespace_paths)}

    @classmethod
    def from_json_obj(cls, obj: Mapping[str, Any]) -> State:
        return cls(id=str(obj["id"]), bundle=str(obj["bundle"]), pid=int(obj["pid"]),
                   start_time=int(obj["start_time"]), created=str(obj["created"]), rootfs=str(obj["rootfs"]),
                   cgroup_paths=MappingProxyType(dict(obj.get("cgroup_paths", {}))),
                   annotations=MappingProxyType(dict(obj.get("annotations", {}))),
                   namespace_paths=MappingProxyType(dict(obj.get("namespace_paths", {}))))

    def with_pid(self, pid: int, start_time: int) -> State:
        return replace(self, pid=pid, start_time=start_time)


class StateDir:
    """``<root>/<id>/``: state.json, config.json (the spec as created) and exec.fifo."""

    def __init__(self, root: str | Path, container_id: str) -> None:
        check_id(container_id)
        self.id = container_id
        self.path = Path(root) / container_id

    @property
    def fifo(self) -> Path:
        return self.path / FIFO_NAME

    @property
    def config(self) -> Path:
        return self.path / CONFIG_FILE

    def exists(self) -> bool:
        return (self.path / STATE_FILE).exists() or self.path.is_dir()

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o711)
        try:
            self.path.mkdir(mode=0o711)
        except FileExistsError:
            raise AlreadyExists(f"container with id exists: {self.id}") from None

    def write(self, state: State) -> None:
        atomic_write(self.path / STATE_FILE, json.dumps(state.to_json_obj()).encode())

    def load(self) -> State:
        try:
            data = (self.path / STATE_FILE).read_bytes()
        except FileNotFoundError:
            raise NotFound(f'container "{self.id}" does not exist') from None
        return State.from_json_obj(json.loads(data))

    def status(self, state: State) -> str:
        """created | running | paused | stopped, from the live process."""
        if state.pid <= 0 or proc_start_time(state.pid) != state.start_time:
            return "stopped"
        if self.fifo.exists():
            return "created"
        freezer = state.cgroup_paths.get("freezer")
        if freezer:
            try:
                if Path(freezer, "freezer.state").read_text().strip() in ("FROZEN", "FREEZING"):
                    return "paused"
            except OSError:
                pass
        return "running"

    def remove(self) -> None:
        for child in (self.fifo, self.path / STATE_FILE, self.config):
            try:
                child.unlink()
            except FileNotFoundError:
                pass
        try:
            for leftover in self.path.iterdir():
                leftover.unlink()
            self.path.rmdir()
        except FileNotFoundError:
            pass


def list_ids(root: str | Path) -> list[str]:
    try:
        return sorted(p.name for p in Path(root).iterdir() if (p / STATE_FILE).exists())
    except FileNotFoundError:
        return []


def oci_state(state: State, status: str) -> dict[str, Any]:
    """The runtime-spec state document (what ``state`` prints and hooks read on stdin)."""
    pid = state.pid if status != "stopped" else 0
    return {"ociVersion": OCI_VERSION, "id": state.id, "status": status, "pid": pid, "bundle": state.bundle,
            "rootfs": state.rootfs, "created": state.created, "annotations": dict(state.annotations)}


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)

"""The state directory: one folder per container under --root, with state.json written atomically.

A stored pid is trusted only while /proc/<pid>/stat still shows the same start time, so a reused
pid never makes a dead container look alive.
"""

from __future__ import annotations

import os
from types import MappingProxyType

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.runtime import jsonfast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from dataclasses import dataclass, field
    from typing import Any
else:
    from dockyard.runtime._record import field
    from dockyard.runtime._record import record as dataclass

OCI_VERSION = "1.2.0"
STATE_FILE = "state.json"
CONFIG_FILE = "config.json"
FIFO_NAME = "exec.fifo"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")


def check_id(container_id: str) -> None:
    if not container_id:
        raise InvalidArgument("container id cannot be empty")
    # runc's rule (^[\w+-.]+$), ASCII word characters plus any other Unicode letter or digit
    ok = all(c in _ID_CHARS or (c.isalnum() and not c.isascii()) for c in container_id)
    if not ok or container_id in (".", ".."):
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
        return State(id=self.id, bundle=self.bundle, pid=pid, start_time=start_time, created=self.created,
                     rootfs=self.rootfs, cgroup_paths=self.cgroup_paths, annotations=self.annotations,
                     namespace_paths=self.namespace_paths)


class StateDir:
    """``<root>/<id>/``: state.json, config.json (the spec as created) and exec.fifo (str paths)."""

    def __init__(self, root: str | os.PathLike[str], container_id: str) -> None:
        check_id(container_id)
        self.id = container_id
        self.root = os.fspath(root)
        self.path = os.path.join(self.root, container_id)

    @property
    def fifo(self) -> str:
        return os.path.join(self.path, FIFO_NAME)

    @property
    def config(self) -> str:
        return os.path.join(self.path, CONFIG_FILE)

    @property
    def state_file(self) -> str:
        return os.path.join(self.path, STATE_FILE)

    def exists(self) -> bool:
        return os.path.isdir(self.path) or os.path.exists(self.state_file)

    def create(self) -> None:
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        try:
            os.mkdir(self.path, 0o711)
        except FileExistsError:
            raise AlreadyExists(f"container with id exists: {self.id}") from None

    def write(self, state: State) -> None:
        atomic_write(self.state_file, jsonfast.dumps(state.to_json_obj()).encode())

    def read_config(self) -> bytes:
        with open(self.config, "rb") as f:
            return f.read()

    def load(self) -> State:
        try:
            with open(self.state_file, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise NotFound(f'container "{self.id}" does not exist') from None
        return State.from_json_obj(jsonfast.loads(data))

    def status(self, state: State) -> str:
        """created | running | paused | stopped, from the live process."""
        if state.pid <= 0 or proc_start_time(state.pid) != state.start_time:
            return "stopped"
        if os.path.exists(self.fifo):
            return "created"
        freezer = state.cgroup_paths.get("freezer")
        if freezer:
            try:
                with open(os.path.join(freezer, "freezer.state")) as f:
                    frozen = f.read().strip() in ("FROZEN", "FREEZING")
                if frozen:
                    return "paused"
            except OSError:
                pass
        return "running"

    def remove(self) -> None:
        for child in (self.fifo, self.state_file, self.config):
            try:
                os.unlink(child)
            except FileNotFoundError:
                pass
        try:
            for leftover in os.listdir(self.path):
                os.unlink(os.path.join(self.path, leftover))
            os.rmdir(self.path)
        except FileNotFoundError:
            pass


def list_ids(root: str | os.PathLike[str]) -> list[str]:
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if os.path.exists(os.path.join(root, n, STATE_FILE)))


def oci_state(state: State, status: str) -> dict[str, Any]:
    """The runtime-spec state document (what ``state`` prints and hooks read on stdin)."""
    pid = state.pid if status != "stopped" else 0
    return {"ociVersion": OCI_VERSION, "id": state.id, "status": status, "pid": pid, "bundle": state.bundle,
            "rootfs": state.rootfs, "created": state.created, "annotations": dict(state.annotations)}


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        # no fsync: the rename keeps readers from seeing a torn file, and state that a crash
        # could lose describes processes the same crash ended (runc does not sync it either)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)

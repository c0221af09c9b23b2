"""The container service: create, start, stop, kill, wait, remove, rename, pause, attach, exec.

Synchronous and thread-safe (the daemon calls it from worker threads). Each running container
has a dockyard-shim that owns its stdio and reaps it; a monitor thread per container waits on
the shim and applies the exit (state, cleanup of mounts and network, events, ``--rm``).
State changes are written to the metadata store before they are announced.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import posixpath
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from dockyard import detachkeys
from dockyard.archive.changes import overlay_changes, tree_changes
from dockyard.archive.diff import iter_tar_from_dir, write_layer_from_overlay_upper, write_layer_from_trees
from dockyard.archive.securejoin import secure_join
from dockyard.archive.tarwriter import DiffResult
from dockyard.engine.containers import health, resources, stats, top
from dockyard.engine.containers.archive import ContainerFS, PathStat
from dockyard.engine.containers.names import generate_name, validate_name
from dockyard.engine.containers.networking import BridgeNetwork, Networks
from dockyard.engine.containers.record import ContainerRecord, NetworkAttachment
from dockyard.engine.containers.restart import RestartManager, should_restart
from dockyard.engine.containers.settings import (
    adapt_host_config,
    command_of,
    log_attributes,
    log_limits,
    log_path_for,
    merge_image_defaults,
    signal_number,
)
from dockyard.engine.spec.builder import SHM_DIR, build_spec
from dockyard.engine.spec.defaults import ALL_CAPS
from dockyard.engine.spec.host import JoinedNamespaces
from dockyard.engine.spec.hostprobe import find_init, probe_host
from dockyard.engine.spec.model import CreateOptions, MountSpec, MountType
from dockyard.engine.spec.user import RootfsPasswdReader, resolve_user
from dockyard.engine.spec.validate import check_resources
from dockyard.engine.spec.wire import from_docker_json, normalize_port, parse_config, parse_host_config
from dockyard.errors import (
    AlreadyExists,
    Conflict,
    DockyardError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    NotImplemented_,
    PermissionDenied,
    Unavailable,
)
from dockyard.image.changes import apply_changes
from dockyard.image.commit import commit_image
from dockyard.image.service import ImageService
from dockyard.image.unpack import unpack
from dockyard.network import netns
from dockyard.network.bridge import veth_name
from dockyard.network.dns import EmbeddedDNS
from dockyard.network.files import (
    HOST_GATEWAY,
    parse_extra_host,
    render_hostname,
    render_hosts,
    render_resolv_conf,
    upstream_servers,
)
from dockyard.network.ports import requests_of
from dockyard.oci.config import ContainerConfig
from dockyard.oci.image import format_rfc3339, parse_rfc3339
from dockyard.oci.platform import Platform
from dockyard.runtime.capabilities import CAP_BY_NAME
from dockyard.shim import logfile
from dockyard.shim.client import ShimClient, spawn_shim
from dockyard.shim.protocol import CreateFailed, ExitInfo
from dockyard.store.leases import LeaseManager
from dockyard.store.metadata import ContainerRow, ImageRecord
from dockyard.store.mount import Mount, mount_all, unmount
from dockyard.volume.local import ANONYMOUS_LABEL, DRIVER, LocalVolumes

logger = logging.getLogger(__name__)

# dockerd's init layer: made in every container where the image has nothing there
INIT_LAYER = (("/dev/pts", "dir"), ("/dev/shm", "dir"), ("/proc", "dir"), ("/sys", "dir"), ("/.dockerenv", "file"),
              ("/etc/resolv.conf", "file"), ("/etc/hosts", "file"), ("/etc/hostname", "file"),
              ("/dev/console", "file"), ("/etc/mtab", "/proc/mounts"))


class Releasing:
    """Chunks that give back what producing them held (a freeze, a mount) once read to the end
    or closed, also when closed before the first chunk (a client gone before the headers)."""

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], object]) -> None:
        self.chunks = chunks
        self._release: Callable[[], object] | None = release

    def __iter__(self) -> Releasing:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self.chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        release, self._release = self._release, None
        if release is None:
            return
        try:
            close = getattr(self.chunks, "close", None)
            if close is not None:
                close()
        finally:
            release()


def link_env(name: str, links: Sequence[tuple[str, ContainerRecord]]) -> list[str]:
    """dockerd's legacy link variables: ``ALIAS_NAME``, ``ALIAS_PORT…`` for the exposed ports and
    ``ALIAS_ENV_…`` for the other container's environment."""
    out: list[str] = []
    for alias, other in links:
        prefix = "".join(c if c.isalnum() else "_" for c in alias).upper()
        address = other.network.ip_address if other.network is not None else ""
        ports = sorted((int(str(p).partition("/")[0]), str(p).partition("/")[2] or "tcp")
                       for p in other.config.get("ExposedPorts") or {})
        if ports and address:
            port, proto = ports[0]
            out.append(f"{prefix}_PORT={proto}://{address}:{port}")
        for port, proto in ports if address else []:
            key = f"{prefix}_PORT_{port}_{proto.upper()}"
            out += [f"{key}={proto}://{address}:{port}", f"{key}_ADDR={address}", f"{key}_PORT={port}",
                    f"{key}_PROTO={proto}"]
        out.append(f"{prefix}_NAME=/{name}/{alias}")
        for item in other.config.get("Env") or []:
            key, sep, value = str(item).partition("=")
            if sep and key not in ("HOME", "PATH"):
                out.append(f"{prefix}_ENV_{key}={value}")
    return out


def _with_inherited_mounts(options: CreateOptions, rec: ContainerRecord) -> CreateOptions:
    """The start's options with ``--volumes-from``'s mounts added as binds of their directories."""
    if not rec.inherited_mounts:
        return options
    extra = tuple(MountSpec(MountType.BIND, dest, source, read_only=not writable)
                  for dest, (_, _, source, writable) in sorted(rec.inherited_mounts.items()))
    return dataclasses.replace(options, host=dataclasses.replace(options.host, mounts=options.host.mounts + extra))


def _make_init_layer(rootfs: str) -> None:
    """What dockerd's init layer has (``/.dockerenv``, mount points, ``/etc/mtab``), where the
    image lacks it."""
    for path, kind in INIT_LAYER:
        with contextlib.suppress(OSError):  # an image with odd content there: the runtime copes
            # the parent resolved inside the rootfs, the entry itself not followed (/etc/mtab is a link)
            parent, name = posixpath.split(path)
            _make_missing(os.path.join(secure_join(rootfs, parent), name), kind)


def _make_missing(path: str, kind: str) -> None:
    if os.path.lexists(path):
        return
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    if kind == "dir":
        os.mkdir(path, 0o755)
    elif kind == "file":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o755))
    else:
        os.symlink(kind, path)

Publish = Callable[[str, str, str, Mapping[str, str]], object]


class NotModified(DockyardError):
    """The container already is in the asked state (HTTP 304)."""


@dataclass(frozen=True, slots=True)
class Paths:
    data_root: Path
    exec_root: Path

    def container_dir(self, cid: str) -> Path:
        return self.data_root / "containers" / cid

    def bundle(self, cid: str) -> Path:
        return self.exec_root / "containers" / cid

    def shim_dir(self, cid: str) -> Path:
        return self.exec_root / "shims" / cid

    @property
    def runtime_root(self) -> Path:
        return self.exec_root / "runtime"

    @property
    def netns_dir(self) -> Path:
        return self.exec_root / "netns"


@dataclass
class _Live:
    """What the service keeps in memory for a container that has a shim."""

    shim: ShimClient
    monitor: threading.Thread | None = None


@dataclass
class _PendingAttach:
    """An attach that arrived before start (``docker run`` attaches first): served at start."""

    stdin: bool
    stdout: bool
    stderr: bool
    ready: threading.Event = dataclasses.field(default_factory=threading.Event)
    sock: Any = None
    error: BaseException | None = None


@dataclass
class ExecRecord:
    id: str
    container_id: str
    cmd: list[str]
    tty: bool
    stdin: bool
    stdout: bool
    stderr: bool
    env: list[str]
    user: str
    workdir: str
    privileged: bool
    detach_keys: str = ""
    running: bool = False
    exit_code: int | None = None
    pid: int = 0


class ContainerService:
    def __init__(self, *, images: ImageService, leases: LeaseManager, paths: Paths, network: Networks,
                 publish: Publish, runtime: str = "dockyard-runtime", init_path: str | None = None,
                 shim_launcher: str | None = None, volumes: LocalVolumes | None = None) -> None:
        self.images = images
        self.metadata = images.metadata
        self.leases = leases
        self.paths = paths
        self.network = network
        self.dns = EmbeddedDNS()
        self._exiting: set[str] = set()  # containers whose exit is being cleaned up
        # The containers' endpoints, for the embedded DNS (a query must not read every
        # record); dropped on every save, which is how a record changes.
        self._endpoints_cache: tuple[int, list[tuple[ContainerRecord, NetworkAttachment]]] | None = None
        self._records_generation = 0
        self.publish = publish
        self.volumes = volumes or LocalVolumes(self.metadata, paths.data_root / "volumes")
        self.runtime = runtime
        self.shim_launcher = shim_launcher  # a launcher socket forking ready shims, or None: exec one each time
        self.init_path = init_path or find_init()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._exits: dict[str, int] = {}          # exit counter per container, for next-exit waits
        self._live: dict[str, _Live] = {}
        self._execs: dict[str, ExecRecord] = {}
        self._exec_done_callbacks: dict[str, list[Callable[[], None]]] = {}  # by exec ID, while it runs
        self._health: dict[str, health.HealthMonitor] = {}  # by container ID, while it runs
        self._removing: set[str] = set()
        self._copy_freezes: dict[str, int] = {}  # containers frozen for docker cp: how many copies
        # per container: (config.json's inode, mtime, size) and its parsed process, for execs
        self._processes: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}
        self._pending: dict[str, list[_PendingAttach]] = {}
        self._restarts: dict[str, RestartManager] = {}
        self._closing = False

    # ---- records ------------------------------------------------------------------------

    def _save(self, rec: ContainerRecord) -> None:
        self.metadata.put_container(ContainerRow(rec.id, rec.name, rec.image_id, rec.created, rec.to_document()))
        self._records_changed()

    def get(self, ref: str) -> ContainerRecord:
        """By full ID, name, or unique ID prefix (Docker's order)."""
        row = self.metadata.find_container(ref) or self.metadata.container_by_name(ref)
        if row is None and ref:
            matches = self.metadata.containers_by_id_prefix(ref)
            if len(matches) > 1:
                raise InvalidArgument(f"multiple IDs found with provided prefix: {ref}")
            row = matches[0] if matches else None
        if row is None:
            raise NotFound(f"No such container: {ref}")
        return ContainerRecord.from_document(row.document)

    def all(self) -> list[ContainerRecord]:
        return [ContainerRecord.from_document(r.document) for r in self.metadata.list_containers()]

    def _event(self, action: str, rec: ContainerRecord, **extra: str) -> None:
        attrs = {"image": rec.image, "name": rec.name}
        labels = rec.config.get("Labels") or {}
        attrs.update({str(k): str(v) for k, v in labels.items()})
        attrs.update(extra)
        self.publish("container", action, rec.id, attrs)

    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        """For the image service's removal checks."""
        out = []
        for row in self.metadata.containers_of_image(image_id):
            rec = ContainerRecord.from_document(row.document)
            out.append((rec.id, rec.state.running))
        return out

    # ---- create -------------------------------------------------------------------------

    def _check_platform(self, ref: str, image: ImageRecord, wanted_text: str) -> None:
        """``--platform``: a local image built for another platform is not found (then the client
        pulls the wanted one), in dockerd's words."""
        wanted = Platform.parse(wanted_text)
        actual = self.images.config_of(image).platform
        if not wanted.matches(actual):
            raise NotFound(f"image with reference {ref} was found but does not match the specified platform: "
                           f"wanted {wanted}, actual: {actual}")

    def create(self, name: str, request: dict[str, Any]) -> tuple[str, list[str]]:
        config = request.get("Config") or {}
        options = from_docker_json(config, request.get("HostConfig") or {}, request.get("NetworkingConfig") or {})
        check_resources(options.host.resources, os.cpu_count() or 0)
        runtime_name = str((request.get("HostConfig") or {}).get("Runtime") or "")
        if runtime_name and runtime_name not in ("runc", os.path.basename(self.runtime)):
            raise InvalidArgument(f"unknown or invalid runtime name: {runtime_name}")
        if options.host.network_kind != "user" and any(e.ipv4_address or e.ipv6_address for e in options.endpoints):
            raise InvalidArgument("user specified IP address is supported on user defined networks only")
        if options.host.network_kind != "user" and any(e.aliases for e in options.endpoints
                                                        if e.network in ("", "default", "bridge")):
            raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
        for m in options.host.mounts:  # --mount binds, unlike -v, do not create their source
            if m.type is MountType.BIND and not m.create_host_path and not os.path.lexists(m.source):
                raise InvalidArgument(f'invalid mount config for type "bind": bind source path does not exist: '
                                      f"{m.source}")
        image_ref = options.config.image
        if not image_ref:
            raise InvalidArgument("config.Image is required")  # Docker: "No command specified"-like
        image = self.images.resolve(image_ref)
        if request.get("Platform"):
            self._check_platform(image_ref, image, str(request["Platform"]))
        cid = secrets.token_hex(32)
        with self._lock:
            if name:
                name = validate_name(name)
                existing = self.metadata.container_by_name(name)
                if existing is not None:
                    raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                                   f'"{existing.id}". You have to remove (or rename) that container to be able '
                                   "to reuse that name.")
            else:
                name = generate_name(lambda n: self.metadata.container_by_name(n) is not None)
        # checked before anything is made for the container: a missing one leaves nothing behind
        links = self._links_of(name, list((request.get("HostConfig") or {}).get("Links") or []))
        top = unpack(self.images, self.leases, image.id)
        key = f"container-{cid}"
        with self.leases.temporary() as lease:
            lease.add("snapshot", key)
            self.images.snapshotter.prepare(key, top or None)
            self.metadata.set_refs("container", cid, [("snapshot", key)])
        image_config = self.images.config_of(image)
        cmd = command_of(options, image_config.config)
        merged = merge_image_defaults({**config, "Image": image_ref}, image_config.config)
        volumes: dict[str, list[str]] = {}
        inherited: dict[str, list[Any]] = {}
        try:
            self._prepare_rootfs(cid, key, str(merged.get("WorkingDir") or ""))
            volumes = self._create_volumes(cid, options, image_config.config.volumes)
            inherited = self._volumes_from(list((request.get("HostConfig") or {}).get("VolumesFrom") or []),
                                           options, volumes)
            self.metadata.set_refs("container", cid, [
                ("snapshot", key), *(("volume", name) for name, _ in volumes.values()),
                *(("volume", m[1]) for m in inherited.values() if m[0] == "volume")])
        except BaseException:
            self.images.snapshotter.remove(key)
            self.metadata.delete_refs("container", cid)
            self._remove_anonymous_volumes(volumes)
            shutil.rmtree(self.paths.bundle(cid), ignore_errors=True)
            raise
        container_dir = self.paths.container_dir(cid)
        container_dir.mkdir(parents=True, exist_ok=True)
        host_config, warnings = adapt_host_config(request.get("HostConfig") or {})
        if links:
            host_config["Links"] = links
        stored = {"Config": merged,
                  "HostConfig": host_config,
                  "NetworkingConfig": request.get("NetworkingConfig") or {}}
        rec = ContainerRecord(
            id=cid, name=name, created=time.time(), image=image_ref, image_id=image.id, request=stored,
            path=cmd[0] if cmd else "", args=tuple(cmd[1:]), snapshot_key=key,
            log_path=log_path_for(container_dir, cid, options.host.log_config.type),
            hostname=options.config.hostname or cid[:12], volumes=volumes, inherited_mounts=inherited,
        )
        with self._lock:
            try:
                self._save(rec)
            except AlreadyExists as exc:
                self.images.snapshotter.remove(key)
                self.metadata.delete_refs("container", cid)
                self._remove_anonymous_volumes(volumes)
                raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                               f'"{exc}". You have to remove (or rename) that container to be able to reuse '
                               "that name.") from exc
        self._event("create", rec)
        return cid, warnings

    def _create_volumes(self, cid: str, options: CreateOptions,
                        image_volumes: Iterable[str]) -> dict[str, list[str]]:
        """The volumes of ``-v``/``--mount`` (a named one is made on first use, an unnamed one is
        anonymous) and an anonymous one for each image or config volume nothing else covers.
        Returns destination -> [name, host directory]."""
        out: dict[str, list[str]] = {}
        host = options.host
        covered = {posixpath.normpath(m.target) for m in (*host.binds, *host.mounts)}
        covered.update(posixpath.normpath(d) for d in host.tmpfs)
        wanted: list[tuple[str, MountSpec | None]] = [
            (posixpath.normpath(m.target), m) for m in (*host.binds, *host.mounts) if m.type is MountType.VOLUME]
        for dest in (*image_volumes, *options.config.volumes):
            clean = posixpath.normpath(dest)
            if clean not in covered:
                covered.add(clean)
                wanted.append((clean, None))
        try:
            for dest, spec in wanted:
                rec, created = self.volumes.create(
                    spec.source if spec else "", driver=spec.volume_driver if spec else "",
                    labels=spec.volume_labels if spec else None, options=spec.volume_options if spec else None,
                    anonymous=not (spec and spec.source))
                out[dest] = [rec.name, str(self.volumes.path(rec.name))]
                if created:
                    self.publish("volume", "create", rec.name, {"driver": rec.driver})
        except BaseException:
            self._remove_anonymous_volumes(out)
            raise
        return out

    def _volumes_from(self, sources: list[str], options: CreateOptions,
                      own: Mapping[str, list[str]]) -> dict[str, list[Any]]:
        """``--volumes-from c[:ro|:rw]``: the other containers' volumes and binds, at the same
        places, read-only or writable as asked (as they are there by default), where this container
        mounts nothing itself."""
        taken = set(own) | {posixpath.normpath(m.target) for m in (*options.host.binds, *options.host.mounts)}
        taken.update(posixpath.normpath(d) for d in options.host.tmpfs)
        out: dict[str, list[Any]] = {}
        for entry in sources:
            ref, _, mode = str(entry).partition(":")
            if mode not in ("", "ro", "rw"):
                raise InvalidArgument(f"invalid mode for volumes-from: {mode}")
            try:
                other = self.get(ref)
            except NotFound as exc:  # not a 404: clients take that for a missing image and pull
                raise InvalidArgument(str(exc)) from None
            found: list[tuple[str, list[Any]]] = []
            for dest, (name, source) in other.volumes.items():
                found.append((dest, ["volume", name, source, True]))
            try:
                host = from_docker_json(other.config, other.host_config, {}).host
            except DockyardError:
                host = None
            for m in (*host.binds, *host.mounts) if host is not None else ():
                if m.type is MountType.BIND:
                    found.append((posixpath.normpath(m.target), ["bind", "", m.source, not m.read_only]))
                elif m.type is MountType.VOLUME and posixpath.normpath(m.target) in other.volumes:
                    dest = posixpath.normpath(m.target)
                    found = [(d, [*v[:3], not m.read_only] if d == dest else v) for d, v in found]
            found += list(other.inherited_mounts.items())
            for dest, mount in found:
                if dest not in taken and dest not in out:
                    out[dest] = [mount[0], mount[1], mount[2], mode == "rw" or (mode == "" and bool(mount[3]))]
        return out

    def _remove_anonymous_volumes(self, volumes: Mapping[str, list[str]]) -> None:
        """What ``rm -v`` and ``--rm`` remove: the container's anonymous volumes no one else uses."""
        for name, _ in volumes.values():
            with contextlib.suppress(DockyardError):
                if ANONYMOUS_LABEL in self.volumes.get(name).labels and not self.volumes.users(name):
                    self.volumes.remove(name)
                    self.publish("volume", "destroy", name, {"driver": DRIVER})

    def _prepare_rootfs(self, cid: str, key: str, workdir: str) -> None:
        """At create, in the container's layer: the working directory (root's, 0755, as dockerd's
        SetupWorkingDirectory makes it; one that names a file fails the create), and then what
        dockerd's init layer has (else made at the first start, where the rootfs is mounted anyway:
        most creates need no mount of their own)."""
        if workdir in ("", "/"):
            return
        rootfs = self.paths.bundle(cid) / "rootfs"
        rootfs.mkdir(parents=True, exist_ok=True)
        mount_all(self.images.snapshotter.mounts(key), str(rootfs))
        try:
            _make_init_layer(str(rootfs))
            path = secure_join(str(rootfs), workdir)
            try:
                os.makedirs(path, mode=0o755, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise DockyardError(f"Cannot mkdir: {workdir} is not a directory") from None
        finally:
            unmount(str(rootfs), detach=True)

    # ---- start --------------------------------------------------------------------------

    def start(self, ref: str) -> None:
        with self._lock:
            rec = self.get(ref)
            if rec.state.status == "paused":
                raise Conflict("cannot start a paused container, try unpause instead")
            if rec.state.status in ("running", "restarting"):
                raise NotModified("container already started")
            if rec.id in self._removing:
                raise Conflict(f"container {rec.id} is marked for removal and cannot be started")
            # A user's start resets the restart manager, its count and the manual-stop mark (dockerd).
            old = self._restarts.pop(rec.id, None)
            if old is not None:
                old.cancel()
            self._restarts[rec.id] = RestartManager()
            if rec.restart_count or rec.manually_stopped:
                rec = dataclasses.replace(rec, restart_count=0, manually_stopped=False)
                self._save(rec)
        self._start_or_fail(rec)

    def _start_or_fail(self, rec: ContainerRecord) -> None:
        options = _with_inherited_mounts(
            from_docker_json(rec.config, rec.host_config, rec.request.get("NetworkingConfig") or {}), rec)
        try:
            self._start(rec, options)
        except BaseException as exc:
            self._failed_start(rec.id, exc)
            if isinstance(exc, CreateFailed):
                raise DockyardError(_start_error(str(exc))) from exc
            raise

    def _failed_start(self, cid: str, exc: BaseException) -> None:
        """Record the error, release attaches waiting for this start, honour ``--rm``."""
        with self._lock:
            waiters = self._pending.pop(cid, [])
        for waiter in waiters:
            waiter.error = exc if isinstance(exc, Exception) else DockyardError(str(exc))
            waiter.ready.set()
        try:
            rec = self.get(cid)
        except NotFound:
            return
        code = exc.exit_code if isinstance(exc, CreateFailed) else 128
        rec = rec.with_state(status="exited" if rec.state.started_at else "created", exit_code=code,
                             error=_start_error(str(exc)) if isinstance(exc, CreateFailed) else str(exc))
        with self._lock:
            self._save(rec)
            self._exits[cid] = self._exits.get(cid, 0) + 1
            self._changed.notify_all()
        if rec.host_config.get("AutoRemove"):
            with contextlib.suppress(DockyardError):
                self.remove(cid, force=True)

    @staticmethod
    def _volume_mounts(rec: ContainerRecord, read_only: Iterable[str] = ()) -> list[tuple[str, str, bool]]:
        """(destination, volume, writable) of every volume the container mounts."""
        fixed = set(read_only)
        out = [(dest, name, dest not in fixed) for dest, (name, _) in rec.volumes.items()]
        out += [(dest, m[1], bool(m[3])) for dest, m in rec.inherited_mounts.items() if m[0] == "volume"]
        return sorted(out)

    def _copy_up_volumes(self, rec: ContainerRecord, options: CreateOptions, rootfs: str) -> None:
        """An empty volume gets what the image has at its mount point, unless ``nocopy``."""
        no_copy = {posixpath.normpath(m.target) for m in (*options.host.binds, *options.host.mounts) if m.no_copy}
        for name in self._volume_names(rec):
            self.volumes.mount(name)  # what a volume with mount options (type, o, device) holds
        read_only = {posixpath.normpath(m.target) for m in (*options.host.binds, *options.host.mounts) if m.read_only}
        for dest, name, writable in self._volume_mounts(rec, read_only):
            self.publish("volume", "mount", name, {"container": rec.id, "destination": dest, "driver": DRIVER,
                                                   "propagation": "", "read/write": str(writable).lower()})
        for dest, (name, _) in rec.volumes.items():
            if dest not in no_copy:
                self._copy_up(rec.id, name, secure_join(rootfs, dest))

    def _copy_up(self, cid: str, name: str, source: str) -> None:
        """``copy_up`` with the running containers that already use the volume frozen, so that none
        can plant a symlink between the check that it is empty and the copy."""
        with self._frozen(self._volume_users([name], besides=cid)):
            self.volumes.copy_up(name, source)

    def _volume_users(self, names: Iterable[str], *, besides: str) -> list[str]:
        """The containers (but ``besides``) that use any of the volumes ``names``."""
        return sorted({owner for name in names for kind, owner in self.metadata.owners_of("volume", name)
                       if kind == "container" and owner != besides})

    @contextlib.contextmanager
    def _frozen(self, cids: Iterable[str]) -> Iterator[None]:
        """The running ones of ``cids`` frozen meanwhile."""
        frozen: list[str] = []
        try:
            for cid in cids:
                with contextlib.suppress(NotFound):
                    if self.get(cid).state.status == "running":
                        self._freeze(cid)
                        frozen.append(cid)
            yield
        finally:
            for cid in frozen:
                self._thaw(cid)

    @staticmethod
    def _volume_names(rec: ContainerRecord) -> list[str]:
        """The volumes the container mounts: its own and those of ``--volumes-from``."""
        return [n for n, _ in rec.volumes.values()] + [m[1] for m in rec.inherited_mounts.values() if m[0] == "volume"]

    def _overlay_layers(self, key: str) -> tuple[str, list[str]] | None:
        """An overlay snapshot's upper dir and lower dirs (topmost first); None for another kind."""
        for m in self.images.snapshotter.mounts(key):
            if m.type == "overlay":
                opts = dict(o.partition("=")[::2] for o in m.options)
                return opts["upperdir"], [d for d in opts.get("lowerdir", "").split(":") if d]
        return None

    def _tree_and_parent(self, key: str) -> tuple[str, str | None]:
        """A copy-based snapshot's whole tree and its parent's (None for a base snapshot)."""
        snapshotter = self.images.snapshotter
        parent = snapshotter.stat(key).parent
        lower = str(snapshotter.snapshot_dir(self.metadata.get_snapshot(parent).id) / "fs") if parent else None
        return str(snapshotter.upper_path(key)), lower

    def _start(self, rec: ContainerRecord, options: CreateOptions) -> None:
        cid = rec.id
        bundle = self.paths.bundle(cid)
        rootfs = bundle / "rootfs"
        rootfs.mkdir(parents=True, exist_ok=True)
        container_dir = self.paths.container_dir(cid)
        kind = options.host.network_kind
        netns_path: str | None = None
        attachment = None
        extras: list[NetworkAttachment] = []
        joined_hostname = ""
        mounted = False
        try:
            mount_all(self.images.snapshotter.mounts(rec.snapshot_key), str(rootfs))
            mounted = True
            _make_init_layer(str(rootfs))
            if kind in ("bridge", "none", "user"):
                network = self.network.lookup(options.host.network_mode) if kind == "user" else None
                netns_path = self.network.create_namespace(cid, loopback=kind == "none")
                if kind != "none":
                    attachment = self._attach(rec, options, netns_path, network)
                    self._network_event("connect", cid, attachment)
                    extras = self._attach_extras(rec, options, netns_path, attachment)
            elif kind == "container":
                other = self.get(options.host.network_mode.split(":", 1)[1])
                if not other.state.running:
                    raise Conflict(f"cannot join network of a non running container: {other.id}")
                netns_path = f"/proc/{other.state.pid}/ns/net"
                # dockerd: the joined container's hostname, and its hosts and resolv.conf
                joined_hostname = other.hostname
                joined_dir = self.paths.container_dir(other.id)
                for name in ("hosts", "resolv.conf"):
                    shutil.copyfile(joined_dir / name, container_dir / name)
                (container_dir / "hostname").write_text(render_hostname(other.hostname))
                with self._lock:
                    rec = dataclasses.replace(self.get(cid), hostname=other.hostname)
                    self._save(rec)
            links = self._linked(rec)
            if links:
                options = dataclasses.replace(options, config=dataclasses.replace(
                    options.config, env=(*options.config.env, *link_env(rec.name, links))))
            if kind != "container":
                self._write_network_files(rec, options, container_dir, attachment, links)
            if options.host.ipc_mode.kind == "shareable":
                shm = container_dir / SHM_DIR
                shm.mkdir(exist_ok=True)
                Mount("tmpfs", "shm", ("nosuid", "nodev", "noexec", "mode=1777",
                                       f"size={options.host.shm_size}")).mount(str(shm))
            _create_bind_sources(options)
            image_config = self.images.config_of(self.images.metadata.get_image(rec.image_id))
            self._copy_up_volumes(rec, options, str(rootfs))
            spec = build_spec(options, image_config, container_id=cid, rootfs=str(rootfs),
                              container_dir=str(container_dir), netns_path=netns_path,
                              volume_sources={dest: source for dest, (_, source) in rec.volumes.items()},
                              passwd=RootfsPasswdReader(str(rootfs)),
                              host=probe_host([d.path_on_host for d in options.host.resources.devices],
                                              privileged=options.host.privileged),
                              joined=self._joined_namespaces(options),
                              init_path=self.init_path if options.host.init else None,
                              reaper_init=os.path.basename(self.runtime) == "dockyard-runtime")
            _keep_bounded_caps(spec)
            if joined_hostname:
                spec["hostname"] = joined_hostname
                spec["process"]["env"] = [f"HOSTNAME={joined_hostname}" if e.startswith("HOSTNAME=") else e
                                          for e in spec["process"]["env"]]
            with open(bundle / "config.json", "w") as f:
                json.dump(spec, f)
            log = options.host.log_config
            limits = log_limits(log.type or "json-file", log.config)
            attrs = log_attributes(log.type or "json-file", log.config, rec.config.get("Labels") or {},
                                   list(rec.config.get("Env") or []))
            shim = spawn_shim(
                id=cid, bundle=str(bundle), runtime=self.runtime, runtime_root=str(self.paths.runtime_root),
                state_dir=str(self.paths.shim_dir(cid)), log_path=rec.log_path,
                log_driver=log.type or "json-file", tty=rec.tty,
                stdin=bool(rec.config.get("OpenStdin")),
                log_max_size=limits.max_size, log_max_file=limits.max_file, log_compress=limits.compress,
                log_attrs=attrs, launcher=self.shim_launcher)
        except BaseException:
            self._cleanup_runtime(cid, attachment, mounted=mounted, netns=kind in ("bridge", "none", "user"),
                                  extras=extras)
            for endpoint in (attachment, *extras):
                self._network_event("disconnect", cid, endpoint)
            raise
        with self._lock:
            rec = self.get(cid)
            rec = dataclasses.replace(rec, network=attachment, extra_networks=tuple(extras))
            rec = rec.with_state(status="created", error="")
            self._save(rec)
            self._live[cid] = _Live(shim)
        with self._lock:
            pending = self._pending.pop(cid, [])
        for waiter in pending:
            # Attached before the process runs, so not a byte of its output is missed.
            try:
                waiter.sock = shim.attach(stdin=waiter.stdin, stdout=waiter.stdout, stderr=waiter.stderr,
                                          logs=False, close_stdin=bool(rec.config.get("StdinOnce")))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting client
                waiter.error = exc
            waiter.ready.set()
        try:
            state = shim.start()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                shim.shutdown(force=True)
            self._live.pop(cid, None)
            self._cleanup_runtime(cid, attachment, mounted=True, netns=kind in ("bridge", "none", "user"),
                                  extras=extras)
            for endpoint in (attachment, *extras):
                self._network_event("disconnect", cid, endpoint)
            raise DockyardError(_start_error(str(exc))) from exc
        with self._lock:
            rec = self.get(cid).with_state(status="running", pid=state.pid, started_at=time.time(),
                                           finished_at=0.0, exit_code=0, oom_killed=False, error="")
            self._save(rec)
            self._changed.notify_all()
        self._watch(cid, shim)
        self._event("start", rec)
        self._start_health(cid)

    def _joined_namespaces(self, options: CreateOptions) -> JoinedNamespaces:
        """The namespaces of the containers named by ``--ipc``/``--pid container:<x>``."""
        pid_path = ipc_path = ipc_shm = ""
        for mode, what in ((options.host.pid_mode, "PID"), (options.host.ipc_mode, "IPC")):
            if mode.kind != "container":
                continue
            other = self.get(mode.target)
            if not other.state.running:
                raise Conflict(f"cannot join {what} of a non running container: {other.id}")
            if what == "PID":
                pid_path = f"/proc/{other.state.pid}/ns/pid"
                continue
            if from_docker_json(other.config, other.host_config, {}).host.ipc_mode.kind != "shareable":
                raise Conflict(f"can't join IPC of container {other.id}: non-shareable IPC (hint: use "
                               "IpcMode:shareable for the donor container)")
            ipc_path = f"/proc/{other.state.pid}/ns/ipc"
            ipc_shm = str(self.paths.container_dir(other.id) / SHM_DIR)
        return JoinedNamespaces(pid=pid_path, ipc=ipc_path, ipc_shm=ipc_shm)

    def _links_of(self, name: str, links: list[Any]) -> list[str]:
        """``--link c[:alias]`` as dockerd keeps them (``/c:/name/alias``); the containers must exist."""
        out = []
        for entry in links:
            target, _, alias = str(entry).lstrip("/").partition(":")
            try:
                other = self.get(target)
            except NotFound as exc:  # not a 404: clients take that for a missing image and pull
                raise InvalidArgument(f"could not get container for {target}: {exc}") from None
            out.append(f"/{other.name}:/{name}/{(alias or other.name).rsplit('/', 1)[-1]}")
        return out

    def _linked(self, rec: ContainerRecord) -> list[tuple[str, ContainerRecord]]:
        """(alias, container) of the container's links; each must be running."""
        out = []
        for entry in rec.host_config.get("Links") or []:
            target, _, alias = str(entry).partition(":")
            other = self.get(target.lstrip("/"))
            alias = alias.rsplit("/", 1)[-1] or other.name
            if not other.state.running:
                raise Conflict(f"Cannot link to a non running container: /{other.name} AS /{rec.name}/{alias}")
            out.append((alias, other))
        return out

    def _write_network_files(self, rec: ContainerRecord, options: CreateOptions, container_dir: Path,
                             attachment: Any, links: Sequence[tuple[str, ContainerRecord]] = ()) -> None:
        host = options.host
        if host.network_kind == "host":
            hostname = os.uname().nodename
        else:
            hostname = rec.hostname
        (container_dir / "hostname").write_text(render_hostname(hostname))
        address = attachment.ip_address if attachment is not None else None
        link_lines = [(other.network.ip_address, f"{alias} {other.id[:12]} {other.name}")
                      for alias, other in links if other.network is not None]
        extra_hosts = list(host.extra_hosts)
        # dockerd's host-gateway: the default bridge's address, whatever network the container is on
        gateway = None
        if any(parse_extra_host(entry)[1] == HOST_GATEWAY for entry in extra_hosts):
            self.network.default.ensure()  # the address must be the host's, even before any default-bridge run
            gateway = str(self.network.planned_gateway().ip)
        (container_dir / "hosts").write_text(render_hosts(hostname, options.config.domainname, address, extra_hosts,
                                                          host_gateway=gateway, links=link_lines))
        host_resolv = _host_resolv()
        embedded = host.network_kind == "user"
        (container_dir / "resolv.conf").write_text(render_resolv_conf(
            host_resolv, dns=list(host.dns), search=list(host.dns_search), options=list(host.dns_options),
            embedded=embedded))
        if embedded and attachment is not None:
            self._serve_dns(rec.id, upstream_servers(host_resolv, list(host.dns)))

    def _watch(self, cid: str, shim: ShimClient) -> None:
        def monitor() -> None:
            try:
                info = shim.wait()
            except Exception as exc:  # the shim vanished: take what it wrote, or report the loss
                info = shim.read_exit() or ExitInfo(exit_code=255, error=f"lost the container's shim: {exc}")
            self._on_exit(cid, info)

        thread = threading.Thread(target=monitor, name=f"monitor-{cid[:12]}", daemon=True)
        live = self._live.get(cid)
        if live is not None:
            live.monitor = thread
        thread.start()

    def _on_exit(self, cid: str, info: ExitInfo, *, restarts: bool = True) -> None:
        """The container's process ended: clean up, record it, and restart it if its policy says
        so (``restarts=False`` at daemon start, where dockerd restarts afresh, count reset)."""
        try:
            rec = self.get(cid)
        except NotFound:
            return
        monitor = self._health.pop(cid, None)
        if monitor is not None:
            monitor.stop()
        with self._lock:
            self._copy_freezes.pop(cid, None)  # its process is gone: the next one starts thawed
            # from here, network connect/disconnect change its settings only, not these endpoints
            self._exiting.add(cid)
            rec = self.get(cid)
        attachment = rec.network
        extras = rec.extra_networks
        live = self._live.pop(cid, None)
        if live is not None:
            with contextlib.suppress(Exception):
                live.shim.shutdown(force=True)
        host = from_docker_json(rec.config, rec.host_config, {}).host
        self._cleanup_runtime(cid, rec.network, mounted=True, netns=host.network_kind in ("bridge", "none", "user"),
                              extras=extras)
        finished = parse_rfc3339(info.finished_at) if info.finished_at else time.time()
        delay: float | None = None
        with self._lock:
            rec = self.get(cid)
            manager = self._restarts.setdefault(cid, RestartManager())
            if restarts and not self._closing:  # at shutdown the next daemon's restore decides
                delay = manager.next_delay(host.restart_policy, exit_code=info.exit_code,
                                           manually_stopped=rec.manually_stopped, restart_count=rec.restart_count,
                                           ran_for=finished - rec.state.started_at)
            # Restarting counts as running for stop, rm and wait, as in dockerd's SetRestarting.
            rec = dataclasses.replace(rec, network=None, extra_networks=(),
                                      restart_count=rec.restart_count + (0 if delay is None else 1)).with_state(
                status="exited" if delay is None else "restarting", pid=0, exit_code=info.exit_code,
                oom_killed=info.oom_killed, finished_at=finished, error=info.error)
            self._save(rec)
            self._exiting.discard(cid)
            self._exits[cid] = self._exits.get(cid, 0) + 1
            self._changed.notify_all()
        if info.oom_killed:
            self._event("oom", rec)
        ran = max(0, int(finished - rec.state.started_at)) if rec.state.started_at else 0
        self._event("die", rec, exitCode=str(info.exit_code), execDuration=str(ran))
        for _, name, _ in self._volume_mounts(rec):
            self.publish("volume", "unmount", name, {"container": cid, "driver": DRIVER})
        for endpoint in (attachment, *extras):
            self._network_event("disconnect", cid, endpoint)
        if delay is not None:
            self._schedule_restart(cid, manager, delay)
        elif rec.host_config.get("AutoRemove"):
            with contextlib.suppress(DockyardError):
                self.remove(cid, force=True)

    def _attach(self, rec: ContainerRecord, options: CreateOptions, netns_path: str,
                network: BridgeNetwork | None) -> NetworkAttachment:
        """The container on its bridge network, with its published ports (``-p``, ``-P``) and,
        on a user-defined network, its address (``--ip``) and DNS aliases (``--network-alias``)."""
        requests = requests_of({k: [(b.host_ip, b.host_port) for b in v] for k, v in options.host.port_bindings.items()},
                               publish_all=options.host.publish_all_ports,
                               exposed=[normalize_port(str(p)) for p in rec.config.get("ExposedPorts") or {}])
        config = None
        if network is not None:
            config = next((e for e in options.endpoints if self._names_network(e.network, network.network_id)), None)
        try:
            return self.network.attach(rec.id, netns_path, ports=requests, network=network,
                                       ipv4=config.ipv4_address if config else None,
                                       aliases=config.aliases if config else ())
        except Conflict as exc:  # dockerd's words for a port taken
            if "port is already allocated" not in str(exc):
                raise
            endpoint = hashlib.sha256(f"{rec.id}/{veth_name(rec.id)}".encode()).hexdigest()
            raise DockyardError(f"driver failed programming external connectivity on endpoint {rec.name} "
                                f"({endpoint}): {exc}") from None

    def _attach_extras(self, rec: ContainerRecord, options: CreateOptions, netns_path: str,
                       first: NetworkAttachment) -> list[NetworkAttachment]:
        """The networks of the create request's EndpointsConfig besides the first one, and those
        connected since (eth1, eth2…); all or nothing."""
        done: list[NetworkAttachment] = []
        try:
            for config in options.endpoints:
                if config.network == "default" or self._names_network(config.network, first.network_id):
                    continue
                network = self._network_for(config.network)
                if any(a.network_id == network.network_id for a in done):
                    continue
                done.append(self.network.attach(rec.id, netns_path, network=network, ipv4=config.ipv4_address or None,
                                                aliases=config.aliases, container_ifname=f"eth{len(done) + 1}"))
                self._network_event("connect", rec.id, done[-1])
        except BaseException:
            for attachment in done:
                with contextlib.suppress(Exception):
                    self.network.detach(rec.id, attachment, live=True)
                self._network_event("disconnect", rec.id, attachment)
            raise
        return done

    def _network_for(self, ref: str) -> BridgeNetwork:
        """The default bridge (``bridge``, its ID) or a user network (name, ID or ID prefix)."""
        if ref in ("bridge", self.network.default.network_id):
            return self.network.default
        return self.network.lookup(ref)

    def _names_network(self, ref: str, network_id: str) -> bool:
        """Whether an EndpointsConfig key (a name, an ID or an ID prefix) is that network."""
        try:
            return self._network_for(ref).network_id == network_id
        except NotFound:
            return False

    def connect(self, network_ref: str, ref: str, *, aliases: Sequence[str] = (), ipv4: str = "") -> None:
        """``network connect``: a running container gets an endpoint now, another one at its next
        start (its EndpointsConfig records the network either way)."""
        network = self._network_for(network_ref)
        with self._lock:
            rec = self.get(ref)
            mode = str(rec.host_config.get("NetworkMode") or "default")
            if network is self.network.default:
                if mode in ("default", "bridge"):
                    raise PermissionDenied(f"endpoint with name {rec.name} already exists in network bridge")
                if aliases:
                    raise InvalidArgument("network-scoped alias is supported only for containers in user defined "
                                          "networks")
                if ipv4:
                    raise InvalidArgument("user specified IP address is supported on user defined networks only")
            if mode == "host" or mode == "none" or mode.startswith("container:"):
                raise PermissionDenied("container sharing network namespace with another container or host cannot "
                                       "be connected to any other network" if mode != "host" else
                                       "container cannot be disconnected from host network or connected to host "
                                       "network")
            configs = dict((rec.request.get("NetworkingConfig") or {}).get("EndpointsConfig") or {})
            running = rec.state.status in ("running", "paused") and rec.network is not None \
                and rec.id not in self._exiting
            # a running container has the endpoints; another one the settings its start uses (a
            # client may disconnect a created container from its first network and connect it
            # again with aliases, as docker-compose does)
            exists = any(a.network_id == network.network_id for a in rec.attachments) if running else \
                network.network_name in configs or network.network_id in configs
            if exists:
                raise PermissionDenied(f"endpoint with name {rec.name} already exists in network "
                                       f"{network.network_name}")
            config: dict[str, Any] = {"Aliases": list(aliases) or None, "NetworkID": network.network_id}
            if ipv4:
                config["IPAMConfig"] = {"IPv4Address": ipv4}
            attachment = None
            if running:
                attachment = self.network.attach(
                    rec.id, netns.netns_path(str(self.network.default.netns_dir), rec.id), network=network,
                    ipv4=ipv4 or None, aliases=aliases, container_ifname=_free_ifname(rec.attachments))
            request = {**rec.request, "NetworkingConfig": {"EndpointsConfig": {**configs, network.network_name: config}}}
            rec = dataclasses.replace(rec, request=request,
                                      extra_networks=rec.extra_networks + ((attachment,) if attachment else ()))
            self._save(rec)
        if attachment is not None:
            self._network_event("connect", rec.id, attachment)

    def disconnect(self, network_ref: str, ref: str, *, force: bool = False) -> None:
        """``network disconnect`` of a network connected besides the container's first one."""
        del force  # nothing is left half-connected here that force would have to clean up
        try:
            network = self._network_for(network_ref)
            network_id, network_name = network.network_id, network.network_name
        except NotFound:
            if network_ref not in ("host", "none"):
                raise
            network_id, network_name = "", network_ref
        with self._lock:
            rec = self.get(ref)
            mode = str(rec.host_config.get("NetworkMode") or "default")
            first = "bridge" if mode in ("default", "bridge") else mode
            running = rec.state.status in ("running", "paused") and rec.network is not None \
                and rec.id not in self._exiting
            if running and (network_name == first or (network_id and network_id == first)):
                raise NotImplemented_(f"disconnecting running container {rec.name} from its first network "
                                      f"{network_name} is not supported")
            configs = dict((rec.request.get("NetworkingConfig") or {}).get("EndpointsConfig") or {})
            # an exiting container's endpoints are its exit's to clean up
            attachment = next((a for a in rec.extra_networks if a.network_id == network_id), None) if running else None
            if network_name not in configs and network_id not in configs and attachment is None:
                raise PermissionDenied(f"container {rec.id} is not connected to network {network_name}")
            configs.pop(network_name, None)
            configs.pop(network_id, None)
            if attachment is not None:
                with contextlib.suppress(Exception):
                    self.network.detach(rec.id, attachment, live=True)
            request = {**rec.request, "NetworkingConfig": {"EndpointsConfig": configs}}
            rec = dataclasses.replace(rec, request=request,
                                      extra_networks=tuple(a for a in rec.extra_networks if a is not attachment))
            self._save(rec)
        if attachment is not None:
            self._network_event("disconnect", rec.id, attachment)

    def _network_event(self, action: str, cid: str, attachment: NetworkAttachment | None) -> None:
        """dockerd's ``network connect``/``disconnect`` around a container's run on a network."""
        if attachment is not None:
            self.publish("network", action, attachment.network_id,
                         {"container": cid, "name": attachment.network, "type": "bridge"})

    def _netns_joined(self, cid: str) -> bool:
        """Whether a running container uses ``--network container:<cid>``."""
        for rec in self.all():
            mode = str(rec.host_config.get("NetworkMode") or "")
            if rec.id != cid and rec.state.running and mode.startswith("container:"):
                with contextlib.suppress(NotFound):
                    if self.get(mode.split(":", 1)[1]).id == cid:
                        return True
        return False

    def _serve_dns(self, cid: str, upstreams: list[str]) -> None:
        """The embedded DNS at 127.0.0.11 in the container's namespace, for the names of the
        networks it is on at the time of each query."""
        self.dns.serve(cid, netns.netns_path(str(self.network.default.netns_dir), cid),
                       resolve=lambda name: self._dns_addresses(cid, name),
                       reverse=lambda address: self._dns_name(cid, address), upstreams=upstreams,
                       may_forward=lambda: self._may_reach_out(cid))

    def _may_reach_out(self, cid: str) -> bool:
        """Whether one of the container's networks leads outside (not all of them internal)."""
        networks = [self.network.of(a) for r, a in self._endpoints() if r.id == cid]
        return any(n is not None and not n.internal for n in networks)

    def _records_changed(self) -> None:
        self._records_generation += 1  # a lost race of two increments still changes the value

    def _endpoints(self) -> list[tuple[ContainerRecord, NetworkAttachment]]:
        cached = self._endpoints_cache
        generation = self._records_generation
        if cached is not None and cached[0] == generation:
            return cached[1]
        # a record has attachments from its start's attach until its exit's clean-up: the
        # starting container's own lookups, before it is marked running, find its networks
        endpoints = [(r, a) for r in self.all() for a in r.attachments]
        # read before the records: a change meanwhile leaves this list marked stale
        self._endpoints_cache = (generation, endpoints)
        return endpoints

    def _networks_of(self, cid: str) -> set[str]:
        """The user networks the container is on: the default bridge has no names, as in dockerd."""
        return {a.network_id for r, a in self._endpoints()
                if r.id == cid and a.network_id != self.network.default.network_id}

    def _on_networks(self, network_ids: set[str]) -> list[tuple[ContainerRecord, NetworkAttachment]]:
        return [(r, a) for r, a in self._endpoints() if a.network_id in network_ids]

    @staticmethod
    def _dns_names(rec: ContainerRecord, attachment: NetworkAttachment) -> set[str]:
        """dockerd's DNSNames (name, aliases, short ID, hostname), each also as ``name.network``."""
        names = {rec.name, *attachment.aliases, rec.id[:12], rec.hostname}
        return {n.lower() for n in names if n} | {f"{n}.{attachment.network}".lower() for n in names if n}

    def _dns_addresses(self, cid: str, name: str) -> list[str]:
        found = [att.ip_address for rec, att in self._on_networks(self._networks_of(cid))
                 if name in self._dns_names(rec, att)]
        return list(dict.fromkeys(found))

    def _dns_name(self, cid: str, address: str) -> str:
        for rec, att in self._on_networks(self._networks_of(cid)):
            if att.ip_address == address:
                return f"{rec.name}.{att.network}"
        return ""

    def _schedule_restart(self, cid: str, manager: RestartManager, delay: float) -> None:
        """Start the container again after the delay, unless a stop, kill or rm cancels it first."""

        def restart() -> None:
            if manager.wakeup.wait(delay):
                return  # canceled: whoever canceled set the state
            with self._lock:
                if manager.canceled or self._closing:
                    return
                manager.starting = True
            try:
                self._start_or_fail(self.get(cid))
            except Exception as exc:  # noqa: BLE001 - recorded in the state by _failed_start
                logger.warning("restarting container %s failed: %s", cid[:12], exc)
            finally:
                with self._lock:
                    manager.waiting = manager.starting = False
                    self._changed.notify_all()

        threading.Thread(target=restart, name=f"restart-{cid[:12]}", daemon=True).start()

    def _cancel_restart(self, cid: str, *, manual: bool, cancel: bool = True) -> bool:
        """A user's stop, kill or rm: no more restarts; True when a waiting restart was abandoned
        (the container is now exited). A start already under way is waited for."""
        with self._lock:
            try:
                rec = self.get(cid)
            except NotFound:
                return False
            if manual and not rec.manually_stopped:
                rec = dataclasses.replace(rec, manually_stopped=True)
                self._save(rec)
            manager = self._restarts.get(cid)
            if manager is None or not cancel:
                return False
            if manager.cancel() and rec.state.status == "restarting":
                self._save(rec.with_state(status="exited"))
                self._exits[cid] = self._exits.get(cid, 0) + 1
                self._changed.notify_all()
                return True
            deadline = time.monotonic() + 120
            while manager.starting and time.monotonic() < deadline and not self._closing:
                self._changed.wait(0.5)
            return False

    def _cleanup_runtime(self, cid: str, attachment: Any, *, mounted: bool, netns: bool,
                         extras: Sequence[NetworkAttachment] = ()) -> None:
        """Undo what start set up; every step tolerates that it was never done."""
        self.dns.stop(cid)
        # A container that joined this one's network namespace keeps it alive: the interfaces go
        # now, or their addresses, released here, would be in use twice.
        live = self._netns_joined(cid)
        for extra in extras:
            with contextlib.suppress(Exception):
                self.network.detach(cid, extra, live=live)
        rootfs = self.paths.bundle(cid) / "rootfs"
        if mounted:
            with contextlib.suppress(Exception):
                unmount(str(rootfs), detach=True)
        with contextlib.suppress(Exception):
            unmount(str(self.paths.container_dir(cid) / SHM_DIR), detach=True)  # a shareable /dev/shm
        with contextlib.suppress(Exception):
            self.network.detach(cid, attachment, live=live)
        if netns:
            with contextlib.suppress(Exception):
                self.network.delete_namespace(cid)
        if (self.paths.runtime_root / cid).exists():  # the shim deletes it; only a lost shim leaves it
            with contextlib.suppress(Exception):
                subprocess.run([self.runtime, "--root", str(self.paths.runtime_root), "delete", "--force", cid],
                               capture_output=True, timeout=30)

    # ---- stop, kill, wait ---------------------------------------------------------------

    def _shim(self, rec: ContainerRecord) -> ShimClient:
        live = self._live.get(rec.id)
        if live is None or not rec.state.running:
            raise Conflict(f"Container {rec.id} is not running")
        return live.shim

    def kill(self, ref: str, sig: str = "KILL") -> None:
        try:
            rec = self.get(ref)
        except NotFound as exc:  # the API router wraps every kill error so
            raise NotFound(f"Cannot kill container: {ref}: {exc}") from None
        number = signal_number(sig)
        if not (1 <= number <= 31 or 34 <= number <= 64):  # dockerd's signal map: standard and real-time
            raise InvalidArgument(f"Cannot kill container: {ref}: The linux daemon does not support signal "
                                  f"{number % (1 << 64)}")  # as Go prints a negative one, unsigned
        if not rec.state.running:
            raise Conflict(f"Cannot kill container: {ref}: Container {rec.id} is not running")
        # dockerd's killWithSignal: any kill marks a manual stop; the stop signal (any signal when
        # none is configured) and SIGKILL also cancel restarts, so the exit it causes is final.
        configured = rec.config.get("StopSignal")
        cancel = number == signal.SIGKILL or not configured or signal_number(str(configured)) == number
        if self._cancel_restart(rec.id, manual=not self._closing, cancel=cancel):
            return  # it was waiting to restart: nothing to signal
        rec = self.get(rec.id)
        if rec.state.status == "restarting":
            return
        shim = self._shim(rec)
        shim.kill(number)
        self._event("kill", rec, signal=str(number))

    def stop(self, ref: str, *, timeout: int | None = None, sig: str = "") -> None:
        rec = self.get(ref)
        if not rec.state.running:
            raise NotModified("container already stopped")
        if rec.state.status == "restarting" and self._cancel_restart(rec.id, manual=True):
            self._event("stop", self.get(rec.id))
            return
        rec = self.get(rec.id)
        if not rec.state.running:  # a restart under way failed
            self._event("stop", rec)
            return
        options = from_docker_json(rec.config, rec.host_config, {})
        image_signal = self.images.config_of(self.metadata.get_image(rec.image_id)).config.stop_signal
        stop_signal = sig or options.config.stop_signal or image_signal or "SIGTERM"
        if timeout is None:
            timeout = options.config.stop_timeout if options.config.stop_timeout is not None else 10
        seen = self._exits.get(rec.id, 0)
        if rec.state.status == "paused":
            self._runtime_call("resume", rec.id)
        with contextlib.suppress(Conflict):
            self.kill(rec.id, stop_signal)
        # a negative timeout waits for as long as it takes (dockerd), without a SIGKILL
        if not self._wait_exit(rec.id, seen, None if timeout < 0 else timeout):
            with contextlib.suppress(Conflict):
                self.kill(rec.id, "KILL")
            self._wait_exit(rec.id, seen, None)
        self._event("stop", self.get(rec.id))

    def _wait_exit(self, cid: str, seen: int, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._exits.get(cid, 0) == seen:
                try:
                    if not self.get(cid).state.running:
                        return True
                except NotFound:
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or self._closing:
                    return False
                self._changed.wait(remaining if remaining is not None else 1.0)
            return True

    def wait(self, ref: str, condition: str = "not-running") -> tuple[int, str]:
        """Block until the condition holds; the exit code and error of the container."""
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f'invalid condition: "{condition}"')
        rec = self.get(ref)
        cid = rec.id
        with self._lock:
            seen = self._exits.get(cid, 0)
            while True:
                try:
                    rec = self.get(cid)
                except NotFound:
                    return rec.state.exit_code, ""  # dockerd reports no error to a wait for removal
                if condition == "not-running" and not rec.state.running and rec.state.status != "created":
                    return rec.state.exit_code, rec.state.error
                if condition == "not-running" and rec.state.status == "created":
                    return rec.state.exit_code, rec.state.error
                if condition in ("next-exit", "not-running") and self._exits.get(cid, 0) != seen:
                    return rec.state.exit_code, rec.state.error  # an exit, even one followed by a restart
                if self._closing:
                    raise Unavailable("the daemon is shutting down")
                self._changed.wait(1.0)

    def restart(self, ref: str, *, timeout: int | None = None, sig: str = "") -> None:
        rec = self.get(ref)
        if rec.state.running:
            self.stop(rec.id, timeout=timeout, sig=sig)
        self.start(rec.id)
        self._event("restart", self.get(rec.id))

    # ---- pause, rename, remove ----------------------------------------------------------

    def _runtime_call(self, verb: str, cid: str) -> None:
        proc = subprocess.run([self.runtime, "--root", str(self.paths.runtime_root), verb, cid],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise DockyardError(proc.stderr.strip() or f"{verb} failed")

    def pause(self, ref: str) -> None:
        rec = self.get(ref)
        if rec.state.status == "paused":
            raise Conflict(f"Container {rec.id} is already paused")
        if rec.state.status == "restarting":
            raise Conflict(_restarting(rec.id))
        if rec.state.status != "running":
            raise Conflict(f"Container {rec.id} is not running")
        self._runtime_call("pause", rec.id)
        with self._lock:
            self._save(self.get(rec.id).with_state(status="paused"))
        self._event("pause", rec)

    def unpause(self, ref: str) -> None:
        rec = self.get(ref)
        if rec.state.status != "paused":
            raise Conflict(f"Container {rec.id} is not paused")
        self._runtime_call("resume", rec.id)
        with self._lock:
            self._save(self.get(rec.id).with_state(status="running"))
        self._event("unpause", rec)

    def rename(self, ref: str, new_name: str) -> None:
        self.get(ref)  # dockerd looks the container up before it checks the new name
        allocating = "Error when allocating new name: "  # dockerd's words around reserving the name
        try:
            new_name = validate_name(new_name if new_name.startswith("/") else "/" + new_name)
        except InvalidArgument as exc:
            raise InvalidArgument(allocating + str(exc)) from None
        with self._lock:
            rec = self.get(ref)
            old = rec.name
            if old == new_name:
                raise Conflict("Renaming a container with the same name as its current name")
            try:
                self._save(dataclasses.replace(rec, name=new_name))
            except AlreadyExists as exc:
                raise Conflict(f'{allocating}Conflict. The container name "/{new_name}" is already in use by '
                               f'container "{exc}". You have to remove (or rename) that container to be able to '
                               "reuse that name.") from exc
        self._event("rename", self.get(rec.id), oldName=f"/{old}")

    def update(self, ref: str, body: dict[str, Any]) -> list[str]:
        """``docker update``: new limits and restart policy, stored and applied live; the warnings."""
        rec = self.get(ref)
        warnings: list[str] = []
        body = dict(body)
        if body.get("BlkioWeight") and not resources.blkio_weight_supported():
            warnings.append(resources.NO_BLKIO_WEIGHT)
            body["BlkioWeight"] = 0
        with self._lock:
            rec = self.get(rec.id)
            if rec.id in self._removing or rec.state.status in ("removing", "dead"):
                raise Conflict(f'Cannot update container {rec.id}: container is marked for removal and cannot '
                               'be "update"')
            # dockerd checks the update's own values first, then how they fit the container's
            check_resources(parse_host_config(body).resources, os.cpu_count() or 0, update=True)
            try:
                host_config = resources.merge_update(rec.host_config, body)
            except Conflict as exc:
                raise Conflict(f"Cannot update container {rec.id}: {exc}") from exc
            updated = dataclasses.replace(rec, request={**rec.request, "HostConfig": host_config})
            self._save(updated)
        if rec.state.status in ("running", "paused") and rec.state.pid:
            try:
                resources.apply_live(rec.state.pid, body)
            except (DockyardError, OSError) as exc:
                with self._lock:  # dockerd restores the old HostConfig when the runtime refuses
                    current = self.get(rec.id)
                    self._save(dataclasses.replace(current, request={**current.request,
                                                                     "HostConfig": rec.host_config}))
                raise DockyardError(f"Cannot update container {rec.id}: {exc}") from exc
        self._event("update", updated)
        return warnings

    def remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        rec = self.get(ref)
        cid = rec.id
        if rec.state.running:
            if not force:
                if rec.state.status == "paused":
                    raise Conflict(f"You cannot remove a paused container {cid}. Unpause and then stop the "
                                   "container before attempting removal or force remove")
                raise Conflict(f"You cannot remove a {rec.state.status} container {cid}. Stop the container "
                               "before attempting removal or force remove")
            if rec.state.status == "paused":
                with contextlib.suppress(DockyardError):
                    self._runtime_call("resume", cid)  # a frozen process cannot die
            seen = self._exits.get(cid, 0)
            with contextlib.suppress(Conflict):
                self.kill(cid, "KILL")
            self._wait_exit(cid, seen, 30)
        with self._lock:
            if cid in self._removing:
                return
            self._removing.add(cid)
        try:
            with contextlib.suppress(NotFound):
                self.images.snapshotter.remove(rec.snapshot_key)
            with self._lock:
                self.metadata.delete_container(cid)  # and its refs: the volumes are free
                self._records_changed()
                self._processes.pop(cid, None)
                manager = self._restarts.pop(cid, None)
                if manager is not None:
                    manager.cancel()
                self._changed.notify_all()
            for path in (self.paths.container_dir(cid), self.paths.bundle(cid), self.paths.shim_dir(cid)):
                shutil.rmtree(path, ignore_errors=True)
            if volumes or rec.host_config.get("AutoRemove"):
                self._remove_anonymous_volumes(rec.volumes)
            self._event("destroy", rec)
        finally:
            with self._lock:
                self._removing.discard(cid)

    # ---- I/O ----------------------------------------------------------------------------

    def attach(self, ref: str, *, stdin: bool, stdout: bool, stderr: bool, logs: bool,
               gone: Callable[[], bool] = lambda: False) -> Any:
        """A raw stream of the container's stdio; before start it waits for the start."""
        rec = self.get(ref)
        with self._lock:
            live = self._live.get(rec.id)
            waiter = None
            if live is None or not rec.state.running:
                waiter = _PendingAttach(stdin, stdout, stderr)
                self._pending.setdefault(rec.id, []).append(waiter)
        self._event("attach", rec)
        if waiter is None:
            assert live is not None
            # dockerd closes the container's stdin at the client's EOF only for StdinOnce (docker run -i)
            return live.shim.attach(stdin=stdin, stdout=stdout, stderr=stderr, logs=logs,
                                    close_stdin=bool(rec.config.get("StdinOnce")))
        while not waiter.ready.wait(0.5):
            try:
                self.get(rec.id)
                abandoned = gone() or self._closing
            except NotFound:
                abandoned = True
            if abandoned:
                with self._lock:
                    waiters = self._pending.get(rec.id, [])
                    if waiter in waiters:
                        waiters.remove(waiter)
                raise NotFound(f"No such container: {ref}")
        if waiter.error is not None:
            raise waiter.error
        return waiter.sock

    def sizes(self, rec: ContainerRecord) -> tuple[int, int]:
        """``SizeRw`` (what the container wrote) and ``SizeRootFs`` (that plus its image's files)."""
        try:
            written = self.images.snapshotter.usage(rec.snapshot_key).size
            upper = self.images.snapshotter.upper_path(rec.snapshot_key)
            for path, _ in INIT_LAYER:  # dockerd keeps these in a layer of their own: not written
                with contextlib.suppress(OSError):
                    st = os.lstat(upper / path.lstrip("/"))
                    if not stat.S_ISDIR(st.st_mode):
                        written -= st.st_size
        except (DockyardError, OSError):
            written = 0
        try:
            image = self.metadata.get_image(rec.image_id).size
        except DockyardError:
            image = 0
        return written, written + image

    def graph_data(self, rec: ContainerRecord) -> dict[str, str]:
        """``GraphDriver.Data`` of inspect: the overlay's directories, as dockerd's overlay2 shows them."""
        try:
            mounts = self.images.snapshotter.mounts(rec.snapshot_key)
        except DockyardError:
            return {}
        names = {"lowerdir": "LowerDir", "upperdir": "UpperDir", "workdir": "WorkDir"}
        data = {names[k]: v for m in mounts if m.type == "overlay"
                for k, _, v in (o.partition("=") for o in m.options) if k in names}
        if data:
            data["MergedDir"] = str(self.paths.bundle(rec.id) / "rootfs")
        return data

    # ---- files (docker cp) ----------------------------------------------------------------

    @contextlib.contextmanager
    def _files(self, ref: str) -> Iterator[ContainerFS]:
        """The container's filesystem with what is mounted into it, frozen while it runs (dockerd
        does so too, so that no symlink can be swapped in while we follow paths), and so are the
        running containers that share a volume with it."""
        rec = self.get(ref)
        container_dir = self.paths.container_dir(rec.id)
        mounts = [(dest, source) for dest, (_, source) in rec.volumes.items()]
        mounts += [(dest, m[2]) for dest, m in rec.inherited_mounts.items()]
        read_only = {dest for dest, m in rec.inherited_mounts.items() if not m[3]}
        try:
            host = from_docker_json(rec.config, rec.host_config, {}).host
            mounts += [(m.target, m.source) for m in (*host.binds, *host.mounts) if m.type is MountType.BIND]
            read_only |= {posixpath.normpath(m.target) for m in (*host.binds, *host.mounts) if m.read_only}
        except DockyardError:
            pass
        mounts += [(f"/etc/{name}", str(container_dir / name)) for name in ("hosts", "hostname", "resolv.conf")
                   if (container_dir / name).exists()]
        temporary: Path | None = None
        # the containers that can write where the copy goes: this one and those sharing its volumes
        writers = [rec.id, *self._volume_users(self._volume_names(rec), besides=rec.id)]
        with self._frozen(writers):
            try:
                if rec.state.status in ("running", "paused"):  # restarting: unmounted, as a stopped one
                    rootfs = self.paths.bundle(rec.id) / "rootfs"
                else:
                    temporary = Path(tempfile.mkdtemp(prefix=f"cp-{rec.id[:12]}-", dir=self.paths.exec_root))
                    mount_all(self.images.snapshotter.mounts(rec.snapshot_key), str(temporary))
                    rootfs = temporary
                yield ContainerFS(str(rootfs), mounts, read_only=read_only,
                                  rootfs_read_only=bool(rec.host_config.get("ReadonlyRootfs")))
            finally:
                if temporary is not None:
                    unmount(str(temporary), detach=True)
                    with contextlib.suppress(OSError):
                        temporary.rmdir()

    def _freeze(self, cid: str) -> None:
        """Freeze for a copy; copies at the same time share one freeze."""
        with self._lock:
            count = self._copy_freezes.get(cid, 0)
            if count == 0:
                self._runtime_call("pause", cid)
            self._copy_freezes[cid] = count + 1

    def _thaw(self, cid: str) -> None:
        with self._lock:
            count = self._copy_freezes.pop(cid, 1) - 1
            if count:
                self._copy_freezes[cid] = count
                return
            with contextlib.suppress(DockyardError):
                self._runtime_call("resume", cid)

    def archive_stat(self, ref: str, path: str) -> PathStat:
        with self._files(ref) as fs:
            return fs.stat(path, ref)

    def archive_get(self, ref: str, path: str) -> tuple[PathStat, Iterator[bytes]]:
        """The stat of ``path`` and its tar; the container stays frozen until the tar is read."""
        files = self._files(ref)
        fs = files.__enter__()
        try:
            info, chunks = fs.read_tar(path, ref)
        except BaseException as exc:
            files.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return info, Releasing(chunks, lambda: files.__exit__(None, None, None))

    def archive_put(self, ref: str, path: str, tar: BinaryIO, *, copy_owner: bool,
                    no_overwrite_dir_non_dir: bool) -> None:
        with self._files(ref) as fs:
            fs.write_tar(path, ref, tar, copy_owner=copy_owner, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir)

    def commit(self, ref: str, *, repo_tag: str | None, comment: str, author: str, pause: bool,
               changes: list[str], config: Mapping[str, Any] | None) -> str:
        """``docker commit``: the container's changes as a new layer on its image; its config
        (then ``config``, then the Dockerfile-like ``changes``) as the new image's."""
        rec = self.get(ref)
        # the container's config as dockerd keeps it, with its hostname and image
        image_config = ContainerConfig.from_json_obj({"Hostname": rec.hostname, **rec.config, **dict(config or {})})
        image_config = apply_changes(image_config, changes)
        exclude = frozenset(path.lstrip("/") for path, _ in INIT_LAYER)  # dockerd's init layer stays out
        overlay = self._overlay_layers(rec.snapshot_key)
        if overlay is not None:
            upper = overlay[0]

            def write(out: BinaryIO) -> DiffResult:
                return write_layer_from_overlay_upper(upper, out, exclude=exclude)
        else:
            tree, lower = self._tree_and_parent(rec.snapshot_key)

            def write(out: BinaryIO) -> DiffResult:
                return write_layer_from_trees(lower, tree, out, exclude=exclude)
        with self._frozen([rec.id] if pause else []):
            image_id = commit_image(
                self.images, self.leases, base_image_id=rec.image_id, write_layer=write, config=image_config,
                created_by=" ".join([rec.path, *rec.args]), author=author, comment=comment, repo_tag=repo_tag,
                extra={"container": rec.id})
        attrs = {"comment": comment, "imageID": image_id}
        if repo_tag:
            attrs["imageRef"] = repo_tag
        self._event("commit", rec, **attrs)
        return image_id

    def stats(self, ref: str) -> tuple[ContainerRecord, stats.StatsSample | None]:
        """The container and a sample of its resource use (None when it is not running)."""
        rec = self.get(ref)
        if not rec.state.running or rec.state.pid <= 0:
            return rec, None
        mode = str(rec.host_config.get("NetworkMode") or "default")
        return rec, stats.sample(rec.state.pid, network=mode not in ("host",) and not mode.startswith("container:"))

    def export(self, ref: str) -> Iterator[bytes]:
        """``docker export``: the container's filesystem as a tar, without what is mounted on it.
        An overlay snapshot is read through a read-only overlay of all its layers (its upper dir
        as the top lower one), so a running container's own mount is left alone."""
        rec = self.get(ref)
        overlay = self._overlay_layers(rec.snapshot_key)
        if overlay is None:
            return iter_tar_from_dir(self.images.snapshotter.upper_path(rec.snapshot_key), owner_names=True)
        layers = [overlay[0], *overlay[1]]
        target = Path(tempfile.mkdtemp(prefix=f"export-{rec.id[:12]}-", dir=self.paths.exec_root))
        try:
            Mount("overlay", "overlay", ("ro", "lowerdir=" + ":".join(layers))).mount(str(target))
        except BaseException:
            target.rmdir()
            raise
        def release() -> None:
            unmount(str(target), detach=True)
            with contextlib.suppress(OSError):
                target.rmdir()

        return Releasing(iter_tar_from_dir(target, owner_names=True), release)

    def changes(self, ref: str) -> list[tuple[str, int]]:
        """``docker diff``: (path, kind) of what the container changed in its filesystem."""
        rec = self.get(ref)
        overlay = self._overlay_layers(rec.snapshot_key)
        if overlay is not None:
            return [(p, int(k)) for p, k in overlay_changes(*overlay)]
        tree, lower = self._tree_and_parent(rec.snapshot_key)
        return [(p, int(k)) for p, k in tree_changes(lower, tree)]

    def top(self, ref: str, ps_args: str = "") -> tuple[list[str], list[list[str]]]:
        """``ps`` of the host, the container's processes only (dockerd's ``top``)."""
        rec = self.get(ref)
        if rec.state.status == "restarting":
            raise Conflict(_restarting(rec.id))
        if not rec.state.running:
            raise Conflict(f"Container {rec.id} is not running")
        pids = top.container_pids(rec.state.pid)
        return top.parse_ps_output(top.run_ps(ps_args), pids)

    def resize(self, ref: str, height: int, width: int) -> None:
        rec = self.get(ref)
        self._shim(rec).resize(height, width)
        self._event("resize", rec, height=str(height), width=str(width))

    def logs(self, ref: str, *, stdout: bool, stderr: bool, since_ns: int | None, until_ns: int | None,
             tail: int | None, follow: bool, timestamps: bool, details: bool = False) -> Iterator[logfile.LogEntry]:
        rec = self.get(ref)
        if (rec.host_config.get("LogConfig") or {}).get("Type") == "none":
            raise NotImplemented_("configured logging driver does not support reading")
        if not rec.log_path or not os.path.exists(rec.log_path):
            return iter(())
        cid = rec.id

        def stopped() -> bool:
            if self._closing:
                return True
            try:
                return not self.get(cid).state.running
            except NotFound:
                return True

        return logfile.read_logs(rec.log_path, stdout=stdout, stderr=stderr, since_ns=since_ns, until_ns=until_ns,
                                 tail=tail, follow=follow, timestamps=timestamps, stop=stopped, details=details)

    # ---- exec ---------------------------------------------------------------------------

    def exec_create(self, ref: str, *, cmd: list[str], tty: bool, stdin: bool, stdout: bool, stderr: bool,
                    env: list[str], user: str, workdir: str, privileged: bool, detach_keys: str) -> str:
        rec = self.get(ref)
        if rec.state.status == "paused":
            raise Conflict(f"Container {ref} is paused, unpause the container before exec")
        if rec.state.status == "restarting":
            raise Conflict(_restarting(rec.id))
        if rec.state.status != "running":
            raise Conflict(f"Container {rec.id} is not running")
        if not cmd:
            raise InvalidArgument("No exec command specified")
        if detach_keys:
            try:
                detachkeys.parse(detach_keys)
            except ValueError:
                raise InvalidArgument(f"Invalid escape keys ({detach_keys}) provided") from None
        exec_id = secrets.token_hex(32)
        self._execs[exec_id] = ExecRecord(exec_id, rec.id, cmd, tty, stdin, stdout, stderr, env, user, workdir,
                                          privileged, detach_keys)
        self._event("exec_create: " + _exec_command(cmd), rec, execID=exec_id)
        return exec_id

    def exec_get(self, exec_id: str) -> ExecRecord:
        record = self._execs.get(exec_id)
        if record is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return record

    def exec_start(self, exec_id: str, *, detach: bool, tty: bool | None = None) -> Any:
        ex = self.exec_get(exec_id)
        if ex.running or ex.exit_code is not None:
            raise Conflict(f"Error: Exec command {exec_id} has already run")
        rec = self.get(ex.container_id)
        shim = self._shim(rec)
        try:
            path = self._exec_process_file(ex, rec)
            try:
                handle = shim.exec(str(path), exec_id=exec_id, tty=ex.tty, stdin=ex.stdin, detach=detach)
            except DockyardError as exc:
                # containerd's words for the runtime's failure, as dockerd passes them on
                raise FailedPrecondition(f"OCI runtime exec failed: {exc}: unknown") from exc
        except DockyardError:
            ex.exit_code = 126  # dockerd's code for an exec that could not start
            with self._lock:
                self._changed.notify_all()
            raise
        ex.running = True
        ex.pid = handle.pid
        self._event("exec_start: " + _exec_command(ex.cmd), rec, execID=exec_id)

        def reap() -> None:
            try:
                info = shim.exec_wait(exec_id)
                ex.exit_code = info.exit_code
            except Exception:
                ex.exit_code = ex.exit_code if ex.exit_code is not None else 126
            with self._lock:
                ex.running = False
                self._changed.notify_all()
                callbacks = self._exec_done_callbacks.pop(exec_id, [])
            for callback in callbacks:
                callback()
            with contextlib.suppress(NotFound):
                self._event("exec_die", self.get(rec.id), execID=exec_id, exitCode=str(ex.exit_code))

        threading.Thread(target=reap, name=f"exec-{exec_id[:12]}", daemon=True).start()
        return handle.stream

    def _exec_process_file(self, ex: ExecRecord, rec: Any) -> Path:
        """The exec's process.json: the container's process with the exec's command, terminal,
        environment, working directory, user and privileges."""
        process = dict(self._bundle_process(rec.id))
        process["args"] = ex.cmd
        process["terminal"] = ex.tty
        env = list(process.get("env") or [])
        if not any(str(e).startswith("HOME=") for e in rec.config.get("Env") or []):
            # HOME was the container user's: the runtime sets the exec user's, as runc does
            env = [e for e in env if not e.startswith("HOME=")]
        for item in ex.env:
            key = item.split("=", 1)[0]
            env = [e for e in env if e.split("=", 1)[0] != key] + [item]
        process["env"] = env
        if ex.workdir:
            process["cwd"] = ex.workdir
        if ex.user:
            user = resolve_user(ex.user, RootfsPasswdReader(str(self.paths.bundle(rec.id) / "rootfs")), ())
            process["user"] = {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)}
        if ex.privileged:
            caps = list(ALL_CAPS)
            process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
        exec_dir = self.paths.shim_dir(rec.id) / "execs"
        exec_dir.mkdir(parents=True, exist_ok=True)
        path = exec_dir / f"{ex.id}.json"
        path.write_text(json.dumps(process))
        return path

    def _bundle_process(self, cid: str) -> Mapping[str, Any]:
        """The ``process`` of the container's config.json, parsed once per version of the file."""
        path = self.paths.bundle(cid) / "config.json"
        st = path.stat()
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._processes.get(cid)
        if cached is None or cached[0] != stamp:
            cached = self._processes[cid] = (stamp, json.loads(path.read_bytes())["process"])
        return cached[1]

    def exec_when_done(self, exec_id: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the exec is not running (at once if it is not): from the thread
        that records its exit code, so it must only hand over (``call_soon_threadsafe``)."""
        ex = self.exec_get(exec_id)
        with self._lock:
            if ex.running:
                self._exec_done_callbacks.setdefault(exec_id, []).append(callback)
                return
        callback()

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        ex = self.exec_get(exec_id)
        rec = self.get(ex.container_id)
        self._shim(rec).exec_resize(exec_id, height, width)

    # ---- healthchecks -------------------------------------------------------------------

    def _start_health(self, cid: str) -> None:
        """Probe a started container if it (or its image) has a healthcheck: "starting" until a
        probe says otherwise (dockerd's initHealthMonitor; the log of earlier runs stays)."""
        try:
            rec = self.get(cid)
            image = self.images.config_of(self.metadata.get_image(rec.image_id)).config
            shell = tuple(rec.config.get("Shell") or ()) or image.shell
            settings = health.settings_for(parse_config(rec.config).healthcheck, image.healthcheck, shell)
        except (DockyardError, OSError) as exc:
            logger.warning("container %s: cannot read its healthcheck: %s", cid[:12], exc)
            return
        if settings is None:
            return
        with self._lock:
            try:
                rec = self.get(cid)
            except NotFound:
                return
            if not rec.state.running:
                return
            self._save(rec.with_state(health=health.STARTING, health_failing_streak=0))
            started_at = rec.state.started_at
            monitor = health.HealthMonitor(
                settings, started_at, probe=lambda s: self._health_probe(cid, s),
                record=lambda result: self._health_result(cid, started_at, settings, result),
                status=lambda: self._health_status(cid))
            old, self._health[cid] = self._health.get(cid), monitor
        if old is not None:
            old.stop()
        monitor.start()

    def _health_status(self, cid: str) -> str:
        try:
            return self.get(cid).state.health
        except NotFound:
            return ""

    def _health_probe(self, cid: str, settings: health.HealthSettings) -> health.ProbeResult:
        """One probe: an exec of the check's command, its output and exit code; -1 when it could
        not run (its error as the output) or did not finish within the timeout (then killed)."""
        start = time.time()
        deadline = time.monotonic() + settings.timeout
        exec_id = ""
        try:
            exec_id = self.exec_create(cid, cmd=list(settings.command), tty=False, stdin=False, stdout=True,
                                       stderr=True, env=[], user="", workdir="", privileged=False, detach_keys="")
            sock = self.exec_start(exec_id, detach=False)
            try:
                output, timed_out = health.read_output(sock, deadline)
            finally:
                sock.close()
            if timed_out:
                with contextlib.suppress(DockyardError, OSError):
                    self._shim(self.get(cid)).exec_kill(exec_id)
                return health.ProbeResult(start, time.time(), -1, "Health check exceeded timeout "
                                          f"({health.go_duration(settings.timeout)})")
            done = threading.Event()
            self.exec_when_done(exec_id, done.set)
            done.wait(max(0.0, deadline - time.monotonic()) + 1.0)
            code = self._execs[exec_id].exit_code
            return health.ProbeResult(start, time.time(), -1 if code is None else code, health.limited_output(output))
        except DockyardError as exc:
            return health.ProbeResult(start, time.time(), -1, str(exc))
        finally:
            if exec_id:
                self._execs.pop(exec_id, None)  # probes are not the user's execs

    def _health_result(self, cid: str, started_at: float, settings: health.HealthSettings,
                       result: health.ProbeResult) -> bool:
        """Record a probe's result; False once the container has stopped or started again."""
        with self._lock:
            try:
                rec = self.get(cid)
            except NotFound:
                return False
            if not rec.state.running or rec.state.started_at != started_at:
                return False
            if rec.state.status != "running":
                return True  # paused (its probe could not run): nothing learned
            state = rec.state
            status, streak, log = health.next_health(state.health or health.STARTING, state.health_failing_streak,
                                                     state.health_log, result, started_at=started_at,
                                                     settings=settings)
            rec = rec.with_state(health=status, health_failing_streak=streak, health_log=log)
            self._save(rec)
        if status != state.health:
            self._event(f"health_status: {status}", rec)
        return True

    # ---- daemon start and stop ----------------------------------------------------------

    def restore(self) -> None:
        """Re-adopt containers whose shim outlived the previous daemon; learn missed exits; start
        again what the restart policies ask for."""
        for rec in self.all():
            if rec.state.status == "restarting":  # its restart died with the previous daemon
                self._save(rec.with_state(status="exited"))
                continue
            if not rec.state.running:
                continue
            shim = ShimClient(str(self.paths.shim_dir(rec.id)))
            stopped: ExitInfo | None = None
            if shim.alive():
                with contextlib.suppress(DockyardError, OSError):
                    now = shim.state()
                    if now.status == "stopped":
                        stopped = now.exit or shim.read_exit() or ExitInfo(exit_code=255)
            if stopped is not None:
                self._live[rec.id] = _Live(shim)
                self._on_exit(rec.id, stopped, restarts=False)  # exited while we were down: known before we serve
            elif shim.alive():
                self._live[rec.id] = _Live(shim)
                for attachment in rec.attachments:
                    with contextlib.suppress(Exception):
                        self.network.restore(rec.id, attachment)
                if rec.network is not None and \
                        str(rec.host_config.get("NetworkMode") or "") not in ("", "default", "bridge"):
                    try:  # a user-defined network's names resolve again
                        host_dns = from_docker_json(rec.config, rec.host_config, {}).host.dns
                        self._serve_dns(rec.id, upstream_servers(_host_resolv(), list(host_dns)))
                    except Exception as exc:  # noqa: BLE001 - the container runs on without it
                        logger.warning("container %s: no embedded DNS: %s", rec.id[:12], exc)
                self._watch(rec.id, shim)
                self._start_health(rec.id)
            else:
                info = shim.read_exit() or ExitInfo(exit_code=255, error="the container's shim is gone")
                self._on_exit(rec.id, info, restarts=False)
        self.network.keep_published({r.id for r in self.all() if r.state.running and r.network and r.network.ports})
        self._restart_on_boot()

    def _restart_on_boot(self) -> None:
        """dockerd's restore: containers that ran before and whose policy says so start again
        (``always`` even after a manual stop; ``unless-stopped`` not)."""
        for rec in self.all():
            if rec.state.status != "exited" or not rec.state.started_at:
                continue
            policy = from_docker_json(rec.config, rec.host_config, {}).host.restart_policy
            # dockerd's ShouldRestart at boot: no retry limit, and the start resets the count
            if not should_restart(policy, exit_code=rec.state.exit_code, manually_stopped=rec.manually_stopped,
                                  restart_count=0):
                continue
            try:
                self.start(rec.id)
            except (DockyardError, OSError) as exc:
                logger.warning("failed to start container %s at daemon start: %s", rec.id[:12], exc)

    def close(self) -> None:
        """Daemon shutdown: wake every thread blocked in a wait, attach or log follow."""
        with self._lock:
            self._closing = True
            for manager in self._restarts.values():  # pending restarts are left to the next daemon
                manager.wakeup.set()
            for monitor in self._health.values():
                monitor.stop()
            self._changed.notify_all()
        self.dns.close()

    def any_running(self) -> bool:
        return any(rec.state.running for rec in self.all())


def _free_ifname(attachments: Sequence[NetworkAttachment]) -> str:
    """The lowest ``ethN`` no endpoint of the container uses."""
    used = {a.ifname for a in attachments}
    return next(f"eth{n}" for n in range(1, len(used) + 2) if f"eth{n}" not in used)


def _host_resolv() -> str:
    try:
        return Path("/etc/resolv.conf").read_text()
    except OSError:
        return ""


def _host_bounding_set() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return None


def _keep_bounded_caps(spec: dict[str, Any]) -> None:
    """Like dockerd, never ask for a capability the host's bounding set lacks (``--privileged`` on
    hosts without e.g. CAP_SYS_RESOURCE would otherwise fail in capset)."""
    bounding = _host_bounding_set()
    caps = (spec.get("process") or {}).get("capabilities")
    if bounding is None or not isinstance(caps, dict):
        return
    for key, names in caps.items():
        if isinstance(names, list):
            caps[key] = [n for n in names if n not in CAP_BY_NAME or bounding >> CAP_BY_NAME[n] & 1]


def _exec_command(cmd: list[str]) -> str:
    """dockerd's event text: the entrypoint, a space, the arguments (``sh `` with none)."""
    return cmd[0] + " " + " ".join(cmd[1:]) if cmd else ""


def _create_bind_sources(options: CreateOptions) -> None:
    """A ``-v`` bind whose host path is missing gets it as a new directory (0755), as Docker does."""
    for m in (*options.host.binds, *options.host.mounts):
        if m.type is MountType.BIND and m.create_host_path and not os.path.lexists(m.source):
            os.makedirs(m.source, mode=0o755, exist_ok=True)


def _restarting(cid: str) -> str:
    return f"Container {cid} is restarting, wait until the container is running"


def _start_error(message: str) -> str:
    """Docker's start error wording; the CLI maps "executable file not found" to exit 127."""
    return f"failed to create task for container: failed to create shim task: OCI runtime create failed: {message}: unknown"


def to_rfc3339(ts: float) -> str:
    return format_rfc3339(ts) if ts else "0001-01-01T00:00:00Z"

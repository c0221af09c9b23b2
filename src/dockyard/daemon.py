"""dockyardd's composition root: build every service from the configuration, reconcile, serve.

No verbs live here. Start-up order: lock the data root (one daemon per root), open the stores,
reconcile what a crash may have left (stale leases, unreferenced blobs, orphan snapshot
directories), then listen. SIGTERM/SIGINT stop accepting and let in-flight requests finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import grp
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dockyard.api.app import EngineAPI
from dockyard.distribution.hosts import RegistryHosts
from dockyard.engine import config as daemon_config
from dockyard.engine.containers.networking import BridgeNetwork, BridgeSettings, Networks
from dockyard.engine.containers.service import ContainerService, Paths
from dockyard.engine.events import EventBus
from dockyard.engine.images import ImageEngine
from dockyard.engine.networks import NetworkEngine
from dockyard.engine.registry import RegistryEngine
from dockyard.engine.system import SystemEngine
from dockyard.engine.volumes import VolumeEngine
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.http.server import HTTPServer
from dockyard.image.ingest import is_resumable_ingest
from dockyard.image.model import ImageEvent
from dockyard.image.service import ImageService
from dockyard.shim.client import launcher_command
from dockyard.shim.launcher import TITLE_ROOM
from dockyard.store import gc
from dockyard.store.content import LocalContentStore
from dockyard.store.leases import LeaseManager
from dockyard.store.metadata import MetadataStore
from dockyard.store.snapshots.base import Snapshotter
from dockyard.store.snapshots.native import NativeSnapshotter
from dockyard.store.snapshots.overlay import OverlaySnapshotter
from dockyard.sys import process
from dockyard.volume.local import LocalVolumes

logger = logging.getLogger("dockyardd")


@dataclass
class Daemon:
    config: daemon_config.DaemonConfig
    metadata: MetadataStore
    content: LocalContentStore
    snapshotter: Snapshotter
    graph_driver: str
    events: EventBus
    images: ImageService
    leases: LeaseManager
    api: EngineAPI
    containers: ContainerService
    network: Networks


def _snapshotter(cfg: daemon_config.DaemonConfig, metadata: MetadataStore) -> tuple[Snapshotter, str]:
    root = cfg.data_root / "snapshots"
    root.mkdir(parents=True, exist_ok=True)
    marker = cfg.data_root / "snapshotter"
    chosen = cfg.storage_driver or (marker.read_text().strip() if marker.exists() else "")
    if not chosen:
        chosen = "overlay" if OverlaySnapshotter.supported(root) else "native"
    if marker.exists() and marker.read_text().strip() != chosen:
        raise InvalidArgument(f"the data root {cfg.data_root} holds {marker.read_text().strip()} snapshots; "
                              f"it cannot be reopened with --storage-driver {chosen}")
    marker.write_text(chosen + "\n")
    if chosen == "overlay":
        return OverlaySnapshotter(root, metadata), "overlay2"
    return NativeSnapshotter(root, metadata), "native"


def build(cfg: daemon_config.DaemonConfig, *, shim_launcher: str | None = None) -> Daemon:
    cfg.data_root.mkdir(parents=True, exist_ok=True, mode=0o710)
    cfg.exec_root.mkdir(parents=True, exist_ok=True, mode=0o710)
    metadata = MetadataStore(cfg.data_root / "metadata.db")
    content = LocalContentStore(cfg.data_root / "content")
    snapshotter, graph_driver = _snapshotter(cfg, metadata)
    bus = EventBus()

    def publish(event: ImageEvent) -> None:
        bus.publish("image", event.action, event.id, event.attributes)

    images = ImageService(metadata=metadata, content=content, snapshotter=snapshotter, events=publish)
    leases = LeaseManager(metadata)
    image_engine = ImageEngine(images, leases, graph_driver)
    hosts = RegistryHosts(insecure_registries=cfg.insecure_registries, mirrors=cfg.registry_mirrors)
    registry = RegistryEngine(images, leases, hosts, max_downloads=cfg.max_concurrent_downloads,
                              max_uploads=cfg.max_concurrent_uploads)
    system = SystemEngine(cfg, images, bus, graph_driver=graph_driver, started=time.time())
    network = Networks(BridgeNetwork(BridgeSettings(name=cfg.bridge_name, cidr=cfg.bip), cfg.exec_root / "netns"))
    volumes = LocalVolumes(metadata, cfg.data_root / "volumes")
    containers = ContainerService(
        images=images, leases=leases, paths=Paths(cfg.data_root, cfg.exec_root), network=network,
        publish=bus.publish, runtime=_runtime_binary(cfg.default_runtime), shim_launcher=shim_launcher,
        volumes=volumes)
    images.users = containers
    # user-defined networks are known before restore() reattaches the running containers
    networks = NetworkEngine(network, containers, created=time.time(), metadata=metadata, publish=bus.publish)
    api = EngineAPI(images=image_engine, registry=registry, auth=registry, system=system, containers=containers,
                    volumes=VolumeEngine(volumes, bus.publish),
                    networks=networks, graph_driver=graph_driver)
    return Daemon(cfg, metadata, content, snapshotter, graph_driver, bus, images, leases, api, containers,
                  network)


def _runtime_binary(name: str) -> str:
    """A runtime named by the user, found beside our interpreter first (virtual environments)."""
    if "/" in name:
        return name
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    return shutil.which(name) or name


def start_shim_launcher(exec_root: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """The warm process that forks shims (see dockyard.shim.launcher); it dies with this thread,
    so call it from the main thread. Until it listens, shims are started as programs."""
    path = str(exec_root / "shim-launcher.sock")
    room = " " * TITLE_ROOM  # see launcher.TITLE_ROOM: forked shims write their command line over it
    proc = subprocess.Popen([*launcher_command(), "--launcher", path, "--parent-pid", str(os.getpid()), "--title-room",
                             room],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    return path, proc


def stop_shim_launcher(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def reconcile(daemon: Daemon) -> None:
    """Nothing is in flight at start-up: every lease is stale, and what only they held is garbage."""
    for lease in daemon.metadata.list_leases():
        daemon.metadata.delete_lease(lease.id)
    for ingest in daemon.content.ingests():
        # Loads and imports read a stream that is gone: their partial data can never be resumed.
        if not is_resumable_ingest(ingest.ref):
            daemon.content.abort_ingest(ingest.ref)
    daemon.containers.restore()
    removed_dirs = daemon.snapshotter.cleanup()
    result = gc.collect(daemon.metadata, daemon.content, daemon.snapshotter)
    daemon.images.sync_layout_index()
    if result.removed_blobs or result.removed_snapshots or removed_dirs:
        logger.info("reconciled the store: removed %d blobs, %d snapshots, %d orphan directories",
                    len(result.removed_blobs), len(result.removed_snapshots), len(removed_dirs))


def _lock_data_root(cfg: daemon_config.DaemonConfig) -> IO[str]:
    handle = open(cfg.data_root / "dockyardd.lock", "a+")  # noqa: SIM115 - held for the daemon's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DockyardError(f"another dockyardd is already using the data root {cfg.data_root}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _socket_group(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


async def serve(daemon: Daemon) -> None:
    # Waits, attaches and log follows block a worker thread each for as long as a container runs
    # (the docker CLI opens a wait for every `run`, even with -d): the pool must not run dry.
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=512, thread_name_prefix="dockyardd"))
    server = HTTPServer(daemon.api)
    cfg = daemon.config
    for host in cfg.listeners:
        if host.startswith("unix://"):
            path = host[len("unix://"):]
            await server.listen_unix(path, group=_socket_group(cfg.group))
        elif host.startswith(("tcp://", "http://")):
            hostport = host.split("://", 1)[1]
            address, _, port = hostport.rpartition(":")
            await server.listen_tcp(address.strip("[]") or "127.0.0.1", int(port or 2375))
        else:
            raise InvalidArgument(f"invalid host {host!r}: use unix://PATH or tcp://HOST:PORT")
        logger.info("API listening on %s", host)
    pidfile = cfg.exec_root / "dockyardd.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    trimmer = asyncio.ensure_future(_trim_heap_periodically())
    try:
        await stop.wait()
        logger.info("shutting down")
    finally:
        trimmer.cancel()
        daemon.containers.close()
        await server.close()
        if not daemon.containers.any_running():
            await asyncio.to_thread(daemon.network.shutdown)
        with contextlib.suppress(FileNotFoundError):
            pidfile.unlink()
        for host in cfg.listeners:
            if host.startswith("unix://"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(host[len("unix://"):])


async def _trim_heap_periodically(every: float = 2.0, growth: int = 1 << 20) -> None:
    # Bursts (20 concurrent runs, a big load) leave freed heap behind: whenever the resident size
    # grew since the last look, give what is free back (glibc keeps it otherwise).
    last = _resident_bytes()
    while True:
        await asyncio.sleep(every)
        now = _resident_bytes()
        if now > last + growth:
            process.trim_heap()
            now = _resident_bytes()
        last = now


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def main(argv: list[str] | None = None) -> int:
    process.limit_malloc_arenas(2)
    try:
        cfg = daemon_config.load(argv)
    except DockyardError as exc:
        print(f"dockyardd: {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.DEBUG if cfg.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if os.geteuid() != 0:
        print("dockyardd: needs to run as root (it mounts filesystems)", file=sys.stderr)
        return 1
    try:
        cfg.data_root.mkdir(parents=True, exist_ok=True, mode=0o710)
        lock = _lock_data_root(cfg)
        cfg.exec_root.mkdir(parents=True, exist_ok=True, mode=0o710)
        launcher_path, launcher = start_shim_launcher(cfg.exec_root)
    except DockyardError as exc:
        print(f"dockyardd: {exc}", file=sys.stderr)
        return 1
    try:
        daemon = build(cfg, shim_launcher=launcher_path)
        reconcile(daemon)
    except DockyardError as exc:
        stop_shim_launcher(launcher)
        print(f"dockyardd: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(serve(daemon))
    finally:
        stop_shim_launcher(launcher)
        daemon.metadata.close()
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

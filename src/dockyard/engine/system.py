"""The daemon's system backend: version, info, disk usage, store check, events."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import AsyncIterator
from typing import Any

from dockyard import __version__
from dockyard.engine.config import DaemonConfig
from dockyard.engine.containers.record import ContainerRecord
from dockyard.engine.events import Event, EventBus, EventFilter
from dockyard.image.model import ImageView
from dockyard.image.service import ImageService
from dockyard.oci.image import format_rfc3339
from dockyard.oci.platform import Platform
from dockyard.store import check as store_check

API_VERSION = "1.44"
MIN_API_VERSION = "1.24"
BUILD_TIME = "2026-11-28T00:00:00.000000000+00:00"


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _os_name() -> tuple[str, str]:
    values: dict[str, str] = {}
    try:
        with open("/etc/os-release") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                values[key] = value.strip('"')
    except OSError:
        pass
    return values.get("PRETTY_NAME", "Linux"), values.get("VERSION_ID", "")


class SystemEngine:
    def __init__(self, config: DaemonConfig, images: ImageService, events: EventBus, *,
                 graph_driver: str, started: float) -> None:
        self.config = config
        self.images = images
        self.bus = events
        self.graph_driver = graph_driver
        self.started = started
        self.daemon_id = self._daemon_id()

    def _daemon_id(self) -> str:
        path = self.config.data_root / "engine-id"
        try:
            return path.read_text().strip()
        except OSError:
            import uuid

            value = str(uuid.uuid4())
            tmp = path.with_suffix(".tmp")
            tmp.write_text(value)
            os.replace(tmp, path)
            return value

    async def version(self) -> dict[str, Any]:
        plat = Platform.host()
        kernel = platform.release()
        details = {"ApiVersion": API_VERSION, "Arch": plat.architecture, "BuildTime": BUILD_TIME,
                   "Experimental": "false", "GitCommit": "", "GoVersion": f"python{platform.python_version()}",
                   "KernelVersion": kernel, "MinAPIVersion": MIN_API_VERSION, "Os": "linux"}
        return {
            "Platform": {"Name": f"dockyard {__version__}"},
            "Components": [{"Name": "Engine", "Version": __version__, "Details": details}],
            "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "", "GoVersion": f"python{platform.python_version()}", "Os": "linux",
            "Arch": plat.architecture, "KernelVersion": kernel, "BuildTime": BUILD_TIME,
        }

    def _container_counts(self) -> tuple[int, int, int]:
        """(running, paused, stopped), as dockerd counts them: restarting ones run."""
        running = paused = stopped = 0
        for row in self.images.metadata.list_containers():
            status = ContainerRecord.from_document(row.document).state.status
            if status == "paused":
                paused += 1
            elif status in ("running", "restarting"):
                running += 1
            else:
                stopped += 1
        return running, paused, stopped

    async def info(self) -> dict[str, Any]:
        image_count = len(await asyncio.to_thread(self.images.metadata.list_images))
        running, paused, stopped = await asyncio.to_thread(self._container_counts)
        os_name, os_version = _os_name()
        return {
            "ID": self.daemon_id, "Containers": running + paused + stopped, "ContainersRunning": running,
            "ContainersPaused": paused, "ContainersStopped": stopped, "Images": image_count, "Driver": self.graph_driver,
            "DriverStatus": [["Backing Filesystem", "extfs"]], "DockerRootDir": str(self.config.data_root),
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": [],
                        "Log": ["json-file", "local"]},
            "MemoryLimit": True, "SwapLimit": False, "CpuCfsPeriod": True, "CpuCfsQuota": True,
            "CPUShares": True, "CPUSet": True, "PidsLimit": True, "OomKillDisable": True,
            "IPv4Forwarding": True, "BridgeNfIptables": False, "BridgeNfIp6tables": False,
            "Debug": self.config.debug, "NFd": len(os.listdir("/proc/self/fd")), "NGoroutines": 1,
            "SystemTime": format_rfc3339(time.time()), "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs", "CgroupVersion": "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers")
            else "1", "NEventsListener": 0, "KernelVersion": platform.release(), "OperatingSystem": os_name,
            "OSVersion": os_version, "OSType": "linux", "Architecture": platform.machine(),
            "NCPU": os.cpu_count() or 1, "MemTotal": _mem_total(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [],
                               "AllowNondistributableArtifactsHostnames": [],
                               "InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {}, "Mirrors": []},
            "GenericResources": [], "HttpProxy": os.environ.get("HTTP_PROXY", ""),
            "HttpsProxy": os.environ.get("HTTPS_PROXY", ""), "NoProxy": os.environ.get("NO_PROXY", ""),
            "Name": platform.node(), "Labels": list(self.config.labels), "ExperimentalBuild": False,
            "ServerVersion": __version__, "Runtimes": {"dockyard-runtime": {"path": "dockyard-runtime"}},
            "DefaultRuntime": "dockyard-runtime",
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                      "Error": "", "RemoteManagers": None},
            "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "", "ContainerdCommit": {"ID": ""},
            "RuncCommit": {"ID": ""}, "InitCommit": {"ID": ""},
            "SecurityOptions": ["name=seccomp,profile=builtin"], "Warnings": [],
            "DefaultAddressPools": [], "CDISpecDirs": [],
        }

    async def disk_usage(self) -> tuple[int, list[tuple[ImageView, int]]]:
        def run() -> tuple[int, list[tuple[ImageView, int]]]:
            shared = self.images.shared_sizes()
            views = self.images.list_images(all_images=True)
            return self.images.layers_size(), [(v, shared.get(v.id, 0)) for v in views]

        return await asyncio.to_thread(run)

    async def check_store(self, *, repair: bool) -> list[tuple[str, str, str]]:
        svc = self.images

        def run() -> list[tuple[str, str, str]]:
            with svc.lock:
                if repair:
                    problems = store_check.repair(svc.metadata, svc.content, svc.snapshotter)
                    svc.sync_layout_index()
                else:
                    problems = store_check.check(svc.metadata, svc.content, svc.snapshotter)
            return [(p.kind, p.subject, p.detail) for p in problems]

        return await asyncio.to_thread(run)

    def events(self, *, since_ns: int | None, until_ns: int | None, filters: EventFilter) -> AsyncIterator[Event]:
        return self.bus.subscribe(since_ns=since_ns, until_ns=until_ns, filters=filters)

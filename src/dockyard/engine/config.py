"""Daemon configuration: command-line flags over ``/etc/dockyard/daemon.json`` (Docker's keys)."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import InvalidArgument

DEFAULT_DATA_ROOT = "/var/lib/dockyard"
DEFAULT_EXEC_ROOT = "/run/dockyard"
DEFAULT_CONFIG_FILE = "/etc/dockyard/daemon.json"
KNOWN_KEYS = {"data-root", "exec-root", "hosts", "debug", "group", "storage-driver", "log-level",
              "insecure-registries", "registry-mirrors", "labels", "default-runtime", "runtimes",
              "max-concurrent-downloads", "max-concurrent-uploads", "bridge-name", "bip"}


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    data_root: Path = Path(DEFAULT_DATA_ROOT)
    exec_root: Path = Path(DEFAULT_EXEC_ROOT)
    hosts: tuple[str, ...] = ()
    debug: bool = False
    group: str = "dockyard"
    storage_driver: str = ""          # "overlay", "native" or "" (choose)
    labels: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    default_runtime: str = "dockyard-runtime"
    bridge_name: str = "dockyard0"
    bip: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def default_socket(self) -> str:
        return str(self.exec_root / "dockyard.sock")

    @property
    def listeners(self) -> tuple[str, ...]:
        return self.hosts or (f"unix://{self.default_socket}",)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dockyardd", description="The dockyard daemon (Docker Engine API 1.44)")
    p.add_argument("--data-root", help=f"root of persistent state (default {DEFAULT_DATA_ROOT})")
    p.add_argument("--exec-root", help=f"root of runtime state and the socket (default {DEFAULT_EXEC_ROOT})")
    p.add_argument("-H", "--host", action="append", default=[], help="listen on unix://PATH or tcp://HOST:PORT")
    p.add_argument("--config-file", default=DEFAULT_CONFIG_FILE, help="daemon configuration file")
    p.add_argument("-D", "--debug", action="store_true", help="debug logging")
    p.add_argument("-G", "--group", help="group owning the unix socket (default dockyard)")
    p.add_argument("-s", "--storage-driver", choices=["overlay", "overlay2", "native", "vfs"],
                   help="snapshotter (default: overlay when the kernel supports it)")
    p.add_argument("--label", action="append", default=[], help="daemon label key=value")
    p.add_argument("--insecure-registry", action="append", default=[], help="registry reached over plain HTTP")
    p.add_argument("--registry-mirror", action="append", default=[], help="mirror for docker.io")
    p.add_argument("--max-concurrent-downloads", type=int, help="parallel layer downloads per pull (3)")
    p.add_argument("--max-concurrent-uploads", type=int, help="parallel layer uploads per push (5)")
    p.add_argument("--default-runtime", help="OCI runtime for containers: dockyard-runtime (default), runc, or a path")
    p.add_argument("--bridge-name", help="name of the default bridge (default dockyard0)")
    p.add_argument("--bip", help="address and prefix of the default bridge, e.g. 172.17.0.1/16")
    return p


def load(argv: list[str] | None = None) -> DaemonConfig:
    args = parser().parse_args(argv)
    file_values: dict[str, object] = {}
    path = Path(args.config_file)
    if path.exists():
        text = path.read_text()
        try:
            loaded = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise InvalidArgument(f"unable to configure the daemon from {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise InvalidArgument(f"unable to configure the daemon from {path}: not a JSON object")
        file_values = loaded
    elif args.config_file != DEFAULT_CONFIG_FILE:
        raise InvalidArgument(f"open {path}: no such file or directory")

    def pick(flag: object, key: str, default: object) -> object:
        return flag if flag not in (None, [], False) else file_values.get(key, default)

    hosts = args.host or file_values.get("hosts") or []
    driver = str(pick(args.storage_driver, "storage-driver", ""))
    driver = {"overlay2": "overlay", "vfs": "native"}.get(driver, driver)
    return DaemonConfig(
        data_root=Path(str(pick(args.data_root, "data-root", DEFAULT_DATA_ROOT))),
        exec_root=Path(str(pick(args.exec_root, "exec-root", DEFAULT_EXEC_ROOT))),
        hosts=tuple(str(h) for h in hosts),  # type: ignore[union-attr]
        debug=bool(pick(args.debug, "debug", False)),
        group=str(pick(args.group, "group", "dockyard")),
        storage_driver=driver,
        labels=tuple(args.label or file_values.get("labels", [])),  # type: ignore[arg-type]
        insecure_registries=tuple(args.insecure_registry or file_values.get("insecure-registries", [])),  # type: ignore[arg-type]
        registry_mirrors=tuple(args.registry_mirror or file_values.get("registry-mirrors", [])),  # type: ignore[arg-type]
        max_concurrent_downloads=int(pick(args.max_concurrent_downloads, "max-concurrent-downloads", 3)),  # type: ignore[call-overload]
        max_concurrent_uploads=int(pick(args.max_concurrent_uploads, "max-concurrent-uploads", 5)),  # type: ignore[call-overload]
        default_runtime=str(pick(args.default_runtime, "default-runtime", "dockyard-runtime")),
        bridge_name=str(pick(args.bridge_name, "bridge-name", "dockyard0")),
        bip=str(pick(args.bip, "bip", "")),
        extra={k: v for k, v in file_values.items() if k not in KNOWN_KEYS},
    )


def env_or(name: str, default: str) -> str:
    return os.environ.get(name, default)

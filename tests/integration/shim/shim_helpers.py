"""Helpers for the shim's root tests: a busybox bundle, a runtime probe, and a shim manager."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from dockyard.shim.client import ShimClient, spawn_shim

RUNC = "/usr/sbin/runc"
DOCKYARD_RUNTIME = str(Path(sys.executable).with_name("dockyard-runtime"))


def make_bundle(dest: Path, rootfs: Path, args: list[str], *, terminal: bool = False,
                memory_limit: int | None = None, pid_namespace: bool = True) -> Path:
    dest.mkdir(parents=True)
    subprocess.run([RUNC, "spec"], cwd=dest, check=True)
    config: dict[str, Any] = json.loads((dest / "config.json").read_text())
    config["process"]["args"] = args
    config["process"]["terminal"] = terminal
    config["root"] = {"path": str(rootfs), "readonly": False}
    if not pid_namespace:
        # Outside a PID namespace the process is not an init, so default signal actions apply.
        config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "pid"]
    if memory_limit is not None:
        config["linux"].setdefault("resources", {})["memory"] = {"limit": memory_limit, "swap": memory_limit}
    (dest / "config.json").write_text(json.dumps(config))
    return dest


_dockyard_runtime_ok: dict[str, bool] = {}


def runtime_works(runtime: str, rootfs: Path, tmp: Path) -> bool:
    if runtime not in _dockyard_runtime_ok:
        bundle = make_bundle(tmp / f"probe-{uuid.uuid4().hex[:6]}", rootfs, ["true"])
        cid = "probe" + uuid.uuid4().hex[:8]
        root = tmp / "probe-root"
        try:
            proc = subprocess.run([runtime, "--root", str(root), "run", "--bundle", str(bundle), cid],
                                  capture_output=True, timeout=30, check=False)
            _dockyard_runtime_ok[runtime] = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _dockyard_runtime_ok[runtime] = False
        subprocess.run([runtime, "--root", str(root), "delete", "--force", cid], capture_output=True, check=False)
    return _dockyard_runtime_ok[runtime]


class Shims:
    """Spawns shims in a test's tmp_path and tears every one of them down afterwards."""

    def __init__(self, tmp: Path, rootfs: Path, runtime: str) -> None:
        self.tmp = tmp
        self.rootfs = rootfs
        self.runtime = runtime
        self.runtime_root = tmp / "runtime-root"
        self.started: list[tuple[str, ShimClient]] = []

    def bundle(self, args: list[str], **kw: Any) -> Path:
        return make_bundle(self.tmp / f"bundle-{uuid.uuid4().hex[:6]}", self.rootfs, args, **kw)

    def spawn(self, args: list[str], *, terminal: bool = False, memory_limit: int | None = None,
              pid_namespace: bool = True, **kw: Any) -> tuple[str, ShimClient]:
        cid = "c" + uuid.uuid4().hex[:10]
        state_dir = self.tmp / "shims" / cid
        bundle = self.bundle(args, terminal=terminal, memory_limit=memory_limit, pid_namespace=pid_namespace)
        kw.setdefault("log_path", str(self.tmp / f"{cid}-json.log"))
        self.started.append((cid, ShimClient(state_dir)))
        client = spawn_shim(id=cid, bundle=bundle, runtime=self.runtime, runtime_root=self.runtime_root,
                            state_dir=state_dir, tty=terminal, **kw)
        return cid, client

    def log_path(self, cid: str) -> Path:
        return self.tmp / f"{cid}-json.log"

    def cleanup(self) -> None:
        for cid, client in self.started:
            try:
                client.shutdown(force=True)
            except Exception:
                pass
            pid = client.shim_pid()
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run([self.runtime, "--root", str(self.runtime_root), "delete", "--force", cid],
                           capture_output=True, check=False)
        time.sleep(0.05)

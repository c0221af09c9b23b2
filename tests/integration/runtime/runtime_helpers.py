"""Shared helpers for the dockyard-runtime root tests: a busybox bundle and a CLI driver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from busybox_rootfs import make_rootfs

RUNTIME = str(Path(sys.executable).with_name("dockyard-runtime"))
ALL_CAPS_DEFAULT = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def base_config(args: list[str], **linux_extra: Any) -> dict[str, Any]:
    return {
        "ociVersion": "1.0.2",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
                    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"], "cwd": "/",
                    "capabilities": {k: list(ALL_CAPS_DEFAULT) for k in ("bounding", "effective", "permitted")},
                    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": True},
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "box",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/sys/firmware",
                            "/proc/acpi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
            **linux_extra,
        },
    }


class Runtime:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "state"
        self.rootfs = make_rootfs(tmp / "rootfs")
        self.ids: list[str] = []

    def new_id(self) -> str:
        cid = "t" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        return cid

    def bundle(self, config: dict[str, Any]) -> Path:
        bundle = self.tmp / ("bundle-" + uuid.uuid4().hex[:6])
        bundle.mkdir()
        (bundle / "rootfs").symlink_to(self.rootfs)
        (bundle / "config.json").write_text(json.dumps(config))
        return bundle

    def cmd(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        argv = [RUNTIME, "--root", str(self.root), *args]
        if args[0] == "create" or (args[0] == "run" and ("-d" in args or "--detach" in args)):
            # The container keeps the stdio it inherits: give it files, not pipes we would wait on.
            out_path, err_path = self.tmp / f"out-{uuid.uuid4().hex[:6]}", self.tmp / f"err-{uuid.uuid4().hex[:6]}"
            with open(out_path, "w") as out, open(err_path, "w") as err:
                code = subprocess.run(argv, stdout=out, stderr=err, timeout=timeout, check=False).returncode
            return subprocess.CompletedProcess(argv, code, out_path.read_text(), err_path.read_text())
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def run(self, config: dict[str, Any], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        bundle = self.bundle(config)
        return self.cmd("run", "--bundle", str(bundle), self.new_id(), timeout=timeout)

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir()) if self.root.exists() else []

    def state(self, cid: str) -> dict[str, Any]:
        proc = self.cmd("state", cid)
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout))

    def wait_status(self, cid: str, status: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.state(cid)["status"] != status:
            assert time.monotonic() < deadline, f"{cid} never became {status}"
            time.sleep(0.02)

    def cleanup(self) -> None:
        for cid in self.ids:
            self.cmd("delete", "--force", cid)
        self.reap()

    @staticmethod
    def reap() -> None:
        # Container inits reparent to the test process when it is a subreaper; collect zombies.
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

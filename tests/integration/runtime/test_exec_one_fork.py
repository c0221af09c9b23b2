"""exec from a long-lived caller (the shim's Executor): one fork into the container's pid namespace
and cgroup when the caller is single-threaded, two otherwise; either way the process ends up in
every namespace and cgroup of the container, and the caller's own children stay on the host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_helpers import Runtime, base_config

pytestmark = pytest.mark.root

NAMESPACES = ("pid", "mnt", "net", "ipc", "uts", "cgroup")

# Runs in a fresh interpreter: pytest's own process may have threads, which forbid the one fork.
CALLER = r"""
import json, os, sys, threading, time
from dockyard.runtime.executor import Executor

root, cid, process_path, with_thread, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5]
if with_thread:
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
null = os.open(os.devnull, os.O_RDWR)
pid = Executor(root, cid).exec(process_path, stdio=(null, null, null), console_socket=None)
with open(f"/proc/{pid}/stat") as f:
    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
ns = {n: os.readlink(f"/proc/{pid}/ns/{n}") for n in names.split(",")}
with open(f"/proc/{pid}/cgroup") as f:
    cgroup = f.read()
print(json.dumps({"pid": pid, "ppid": ppid, "caller": os.getpid(), "ns": ns, "cgroup": cgroup,
                  "caller_pid_ns": os.readlink("/proc/self/ns/pid"),
                  "caller_children_pid_ns": os.readlink("/proc/self/ns/pid_for_children")}))
os.kill(pid, 9)
"""


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(tmp_path)
    yield runtime
    runtime.cleanup()


@pytest.mark.parametrize("with_thread", [False, True], ids=["one-fork", "two-forks"])
def test_exec_lands_in_every_namespace_and_cgroup(rt: Runtime, tmp_path: Path, with_thread: bool) -> None:
    cid = rt.new_id()
    assert rt.cmd("run", "--detach", "--bundle", str(rt.bundle(base_config(["sleep", "60"]))), cid).returncode == 0
    init = rt.state(cid)["pid"]
    process = base_config(["sleep", "30"])["process"]
    process_path = tmp_path / "process.json"
    process_path.write_text(json.dumps(process))

    out = subprocess.run([sys.executable, "-c", CALLER, str(rt.root), cid, str(process_path), "1" if with_thread else "0",
                          ",".join(NAMESPACES)],
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)

    assert report["ns"] == {n: os.readlink(f"/proc/{init}/ns/{n}") for n in NAMESPACES}
    assert report["cgroup"] == Path(f"/proc/{init}/cgroup").read_text()
    # The caller's next children are born in its own pid namespace again.
    assert report["caller_children_pid_ns"] == report["caller_pid_ns"]
    # One fork: the process is the caller's own child. Two: its parent was the middle process,
    # which exited at once, so a reaper has it now.
    assert (report["ppid"] == report["caller"]) is not with_thread, report

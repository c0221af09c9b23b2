"""``docker update`` against a real dockyardd: limits stored in HostConfig, written live into the
running container's cgroups (read back from /sys/fs/cgroup), kept for a stopped container until
it starts, dockerd's conflicts in its words, the restart policy, and the v1.44 response shape.
"""

from __future__ import annotations

import json
import os

import pytest
from api_schema import validate_path_response
from unix_http import request

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 60
MiB = 1024 * 1024


def inspect(d: DaemonHandle, name: str) -> dict:
    (body,) = json.loads(d.docker("inspect", name, timeout=T).stdout)
    return body


def cgroup_file(pid: int, controller: str, name: str) -> str:
    """A limit as the kernel has it, through the container's cgroup (v1 here, v2 elsewhere)."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = f.read().splitlines()
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        path = next(line.split(":", 2)[2] for line in lines if line.startswith("0::"))
        return open(f"/sys/fs/cgroup{path}/{name}").read().strip()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            base = f"/sys/fs/cgroup/{controllers}"
            if not os.path.isdir(base):
                base = f"/sys/fs/cgroup/{controller}"
            with open(f"{base}{path}/{name}") as f:
                return f.read().strip()
    raise AssertionError(f"no {controller} cgroup for {pid}")


V1 = not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def test_update_applies_limits_live_and_stores_them(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "up", "busybox", "sleep", "300", timeout=T)
    pid = inspect(d, "up")["State"]["Pid"]
    out = d.docker("update", "--cpus", "0.5", "--pids-limit", "50", "--cpu-shares", "512", "-m", "64m",
                   "--memory-swap", "128m", "--memory-reservation", "32m", "up", timeout=T)
    assert out.stdout == "up\n", out
    hc = inspect(d, "up")["HostConfig"]
    assert (hc["NanoCpus"], hc["PidsLimit"], hc["CpuShares"]) == (500_000_000, 50, 512), hc
    assert (hc["Memory"], hc["MemorySwap"], hc["MemoryReservation"]) == (64 * MiB, 128 * MiB, 32 * MiB), hc
    assert cgroup_file(pid, "pids", "pids.max") == "50"
    if V1:
        assert cgroup_file(pid, "cpu", "cpu.cfs_quota_us") == "50000"
        assert cgroup_file(pid, "cpu", "cpu.cfs_period_us") == "100000"
        assert cgroup_file(pid, "cpu", "cpu.shares") == "512"
        assert cgroup_file(pid, "memory", "memory.limit_in_bytes") == str(64 * MiB)
        assert cgroup_file(pid, "memory", "memory.soft_limit_in_bytes") == str(32 * MiB)
    else:
        assert cgroup_file(pid, "", "cpu.max") == "50000 100000"
        assert cgroup_file(pid, "", "memory.max") == str(64 * MiB)

    # lowering and raising memory under the swap limit, in the order the kernel accepts
    d.docker("update", "-m", "32m", "up", timeout=T)
    d.docker("update", "-m", "256m", "--memory-swap", "512m", "up", timeout=T)
    if V1:
        assert cgroup_file(pid, "memory", "memory.limit_in_bytes") == str(256 * MiB)
    # the container still works under its new limits
    assert d.docker("exec", "up", "echo", "ok", timeout=T).stdout == "ok\n"
    # our CLI prints the names too
    assert d.dockyard("update", "--pids-limit", "40", "up", timeout=T).stdout == b"up\n"
    assert cgroup_file(pid, "pids", "pids.max") == "40"


def test_update_of_a_stopped_container_applies_at_start(d: DaemonHandle) -> None:
    d.docker("create", "--name", "later", "busybox", "sleep", "300", timeout=T)
    d.docker("update", "--pids-limit", "33", "--restart", "on-failure:3", "later", timeout=T)
    hc = inspect(d, "later")["HostConfig"]
    assert hc["PidsLimit"] == 33 and hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    d.docker("start", "later", timeout=T)
    assert cgroup_file(inspect(d, "later")["State"]["Pid"], "pids", "pids.max") == "33"


def test_update_errors_in_dockers_words(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "cpu", "--cpus", "1", "busybox", "sleep", "300", timeout=T)
    cid = inspect(d, "cpu")["Id"]
    proc = d.docker("update", "-m", "64m", "cpu", check=False, timeout=T)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"Error response from daemon: Cannot update container {cid}: Memory limit should be smaller than already "
        "set memoryswap limit, update the memoryswap at the same time")
    proc = d.docker("update", "--cpu-period", "50000", "cpu", check=False, timeout=T)
    assert ("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
            in proc.stderr), proc.stderr
    proc = d.docker("update", "-m", "1k", "--memory-swap", "-1", "cpu", check=False, timeout=T)
    assert "Minimum memory limit allowed is 6MB" in proc.stderr, proc.stderr
    # the update's own values are checked first, before how they fit the container's
    proc = d.docker("update", "-m", "4m", "cpu", check=False, timeout=T)
    assert proc.stderr.strip() == "Error response from daemon: Minimum memory limit allowed is 6MB", proc.stderr
    # a swap limit alone is fine in an update when the container has a memory limit already
    d.docker("run", "-d", "--name", "mem", "-m", "32m", "busybox", "sleep", "300", timeout=T)
    assert d.docker("update", "--memory-swap", "64m", "mem", timeout=T).stdout == "mem\n"
    assert inspect(d, "mem")["HostConfig"]["MemorySwap"] == 64 * MiB
    proc = d.docker("update", "--restart", "sometimes", "cpu", check=False, timeout=T)
    assert "invalid restart policy: unknown policy 'sometimes'" in proc.stderr, proc.stderr
    proc = d.docker("update", "cpu", check=False, timeout=T)
    assert proc.returncode == 1
    assert "you must provide one or more flags when using this command" in proc.stderr
    proc = d.dockyard("update", "cpu", check=False, timeout=T)
    assert proc.returncode == 1
    assert proc.stderr.decode().strip() == "you must provide one or more flags when using this command"

    # several containers: the good ones are printed, the errors come after, exit 1
    proc = d.docker("update", "--pids-limit", "20", "cpu", "nope", check=False, timeout=T)
    assert proc.returncode == 1 and proc.stdout == "cpu\n", proc
    assert "No such container: nope" in proc.stderr
    proc = d.dockyard("update", "--pids-limit", "20", "cpu", "nope", check=False, timeout=T)
    assert proc.returncode == 1 and proc.stdout == b"cpu\n", proc
    assert b"Error response from daemon: No such container: nope" in proc.stderr

    d.docker("run", "-d", "--rm", "--name", "gone", "busybox", "sleep", "300", timeout=T)
    proc = d.docker("update", "--restart", "always", "gone", check=False, timeout=T)
    assert ("Restart policy cannot be updated because AutoRemove is enabled for the container"
            in proc.stderr), proc.stderr


def test_update_response_matches_the_spec(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "api", "busybox", "sleep", "300", timeout=T)
    resp = request(d.socket, "POST", "/containers/api/update", {"PidsLimit": 64, "RestartPolicy": {"Name": "always"}})
    data = resp.json()
    assert resp.status == 200, data
    assert data == {"Warnings": []}
    validate_path_response("post", "/containers/{id}/update", 200, data)
    assert inspect(d, "api")["HostConfig"]["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}

"""Live restore: containers outlive a `kill -9` of dockyardd, and a new daemon on the same root adopts them.

Running containers keep running; ps/logs -f/exec/stop work on them after the restart; a container
that exited while no daemon was running shows its real exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
from busybox_image import busybox_archive
from polling import wait_for

from conftest import DOCKER_CLI, DaemonHandle, start_daemon

pytestmark = pytest.mark.e2e

T = 60


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def state(d: DaemonHandle, name: str) -> dict:
    return json.loads(d.docker("inspect", "-f", "{{json .State}}", name, timeout=T).stdout)


def kill9(d: DaemonHandle) -> None:
    d.process.kill()  # SIGKILL: no cleanup at all
    d.process.wait(timeout=10)


def test_containers_survive_kill_9_and_are_adopted(daemon: DaemonHandle) -> None:
    daemon.docker("load", "-i", str(busybox_archive()), timeout=T)
    daemon.docker("run", "-d", "--name", "keeper", "busybox", "sh", "-c",
                  "echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; exec sleep 1000",
                  timeout=T)
    daemon.docker("run", "-d", "--name", "quitter", "busybox", "sh", "-c", "sleep 1.5; exit 7", timeout=T)
    daemon.docker("run", "-d", "--name", "idle", "busybox", "sleep", "1000", timeout=T)
    daemon.docker("create", "--name", "never", "busybox", "true", timeout=T)
    pids = {name: state(daemon, name)["Pid"] for name in ("keeper", "quitter", "idle")}
    ip = daemon.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "idle", timeout=T).stdout.strip()
    assert wait_for(lambda: daemon.docker("logs", "keeper", timeout=T).stdout == "before\n")

    kill9(daemon)
    assert all(alive(pid) for pid in pids.values()), "containers died with the daemon"
    # quitter exits while no daemon runs
    assert wait_for(lambda: not alive(pids["quitter"]), 15)
    time.sleep(0.2)

    d2 = start_daemon(daemon.root)
    try:
        # (that this holds from the first request on: test_exit_while_down_is_known_at_once)
        assert wait_for(lambda: state(d2, "quitter")["Status"] == "exited"), state(d2, "quitter")
        ps = d2.docker("ps", "--format", "{{.Names}} {{.Status}}", timeout=T).stdout.splitlines()
        assert sorted(line.split()[0] for line in ps) == ["idle", "keeper"], ps
        assert all(" Up " in f" {line} " for line in ps), ps
        for name in ("keeper", "idle"):
            st = state(d2, name)
            assert st["Status"] == "running" and st["Running"] is True and st["Pid"] == pids[name], st
        st = state(d2, "quitter")
        assert st["Status"] == "exited" and st["Running"] is False and st["ExitCode"] == 7, st
        assert st["FinishedAt"] != "0001-01-01T00:00:00Z"
        assert d2.docker("wait", "quitter", timeout=T).stdout == "7\n"
        status = d2.docker("ps", "-a", "--filter", "name=quitter", "--format", "{{.Status}}", timeout=T).stdout
        assert status.startswith("Exited (7) "), status
        assert state(d2, "never")["Status"] == "created"
        assert d2.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "idle",
                         timeout=T).stdout.strip() == ip

        # exec and logs -f on an adopted container
        assert d2.docker("exec", "idle", "echo", "still-here", timeout=T).stdout == "still-here\n"
        follower = subprocess.Popen([DOCKER_CLI, "logs", "-f", "keeper"], env=d2.env(),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(follower.stdout.readline, b"")),
                                  daemon=True)
        reader.start()
        try:
            assert wait_for(lambda: lines == [b"before\n"]), lines
            d2.docker("exec", "keeper", "touch", "/tmp/go", timeout=T)
            assert wait_for(lambda: lines == [b"before\n", b"after\n"]), lines
            assert follower.poll() is None
            # stop ends the follower: the adopted container's exit reaches the daemon
            assert d2.docker("stop", "-t", "1", "keeper", timeout=T).stdout == "keeper\n"
            assert follower.wait(timeout=T) == 0
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait()
            follower.stdout.close()
            follower.stderr.close()
        assert not alive(pids["keeper"])
        assert state(d2, "keeper")["ExitCode"] == 137

        # a new container after the restart gets another address than the adopted one
        d2.docker("run", "-d", "--name", "fresh", "busybox", "sleep", "1000", timeout=T)
        fresh_ip = d2.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "fresh", timeout=T).stdout.strip()
        assert fresh_ip and fresh_ip != ip
        assert d2.docker("exec", "fresh", "ping", "-c", "1", "-W", "2", ip, timeout=T).returncode == 0

        d2.docker("rm", "-f", "keeper", "quitter", "idle", "never", "fresh", timeout=T)
        assert d2.docker("ps", "-aq", timeout=T).stdout == ""
        assert not alive(pids["idle"])
    finally:
        if d2.process.poll() is None:
            ids = d2.docker("ps", "-aq", check=False, timeout=T).stdout.split()
            if ids:
                d2.docker("rm", "-f", *ids, check=False, timeout=T)
        d2.stop()


def test_restart_twice_and_stop_while_down(daemon: DaemonHandle) -> None:
    """Two kill -9 cycles in a row; a container killed by hand while the daemon is down shows 137."""
    daemon.docker("load", "-i", str(busybox_archive()), timeout=T)
    daemon.docker("run", "-d", "--name", "web", "busybox", "sleep", "1000", timeout=T)
    daemon.docker("run", "-d", "--name", "victim", "busybox", "sleep", "1000", timeout=T)
    pid = state(daemon, "web")["Pid"]
    victim = state(daemon, "victim")["Pid"]
    kill9(daemon)
    d2 = start_daemon(daemon.root)
    d3 = None
    try:
        assert state(d2, "web")["Pid"] == pid
        kill9(d2)
        os.kill(victim, 9)
        assert wait_for(lambda: not alive(victim))
        d3 = start_daemon(daemon.root)
        assert state(d3, "web")["Status"] == "running" and alive(pid)
        assert wait_for(lambda: state(d3, "victim")["Status"] == "exited"), state(d3, "victim")
        st = state(d3, "victim")
        assert st["Status"] == "exited" and st["ExitCode"] == 137, st
        assert d3.docker("exec", "web", "true", timeout=T).returncode == 0
        assert d3.docker("logs", "web", timeout=T).stdout == ""
        d3.docker("rm", "-f", "web", "victim", timeout=T)
        assert wait_for(lambda: not alive(pid))
    finally:
        for d in (d2, d3):
            if d is not None and d.process.poll() is None:
                ids = d.docker("ps", "-aq", check=False, timeout=T).stdout.split()
                if ids:
                    d.docker("rm", "-f", *ids, check=False, timeout=T)
                d.stop()


def test_exit_while_down_is_known_at_once(daemon: DaemonHandle) -> None:
    daemon.docker("load", "-i", str(busybox_archive()), timeout=T)
    daemon.docker("run", "-d", "--name", "quitter", "busybox", "sh", "-c", "sleep 1; exit 7", timeout=T)
    pid = state(daemon, "quitter")["Pid"]
    kill9(daemon)
    assert wait_for(lambda: not alive(pid), 15)
    d2 = start_daemon(daemon.root)
    try:
        first = state(d2, "quitter")
        listed = d2.docker("ps", "-q", timeout=T).stdout
    finally:
        wait_for(lambda: state(d2, "quitter")["Status"] == "exited")
        d2.docker("rm", "-f", "quitter", check=False, timeout=T)
        d2.stop()
    assert first["Status"] == "exited" and first["ExitCode"] == 7, first
    assert listed == ""


def test_user_network_names_resolve_again_after_kill_9(daemon: DaemonHandle) -> None:
    """The embedded DNS lives in the daemon: a restarted daemon serves its running containers again,
    and their user-defined network (bridge, rules, addresses) is the same."""
    daemon.docker("load", "-i", str(busybox_archive()), timeout=T)
    daemon.docker("network", "create", "app", timeout=T)
    daemon.docker("run", "-d", "--name", "db", "--network", "app", "--network-alias", "database", "busybox",
                  "sleep", "1000", timeout=T)
    daemon.docker("run", "-d", "--name", "api", "--network", "app", "busybox", "sleep", "1000", timeout=T)
    ip = daemon.docker("inspect", "-f", "{{(index .NetworkSettings.Networks \"app\").IPAddress}}", "db",
                       timeout=T).stdout.strip()
    kill9(daemon)
    d2 = start_daemon(daemon.root)
    try:
        for name in ("db", "database", "api"):
            out = d2.docker("exec", "api", "nslookup", name, timeout=T).stdout
            assert "Address: " in out, out
        assert f"Address: {ip}" in d2.docker("exec", "api", "nslookup", "database", timeout=T).stdout
        # a new container gets another address on the same network and finds the old ones
        d2.docker("run", "--rm", "--network", "app", "busybox", "ping", "-c1", "-W2", "db", timeout=T)
        assert d2.docker("run", "--rm", "--network", "app", "busybox", "sh", "-c", "ip -4 addr show eth0",
                         timeout=T).stdout.count(ip + "/") == 0
    finally:
        d2.docker("rm", "-f", "db", "api", check=False, timeout=T)
        d2.docker("network", "rm", "app", check=False, timeout=T)
        d2.stop()

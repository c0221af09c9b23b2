"""Restart policies through the docker CLI v28: on-failure with its retry limit, always with
Docker's backoff and the ``restarting`` state, stop and rm -f of a restarting container, and the
policies applied when the daemon starts again (``always`` after a manual stop, not
``unless-stopped``).
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from polling import wait_for

from conftest import DaemonHandle, remove_all_containers, start_daemon

pytestmark = pytest.mark.e2e

T = 60




def inspect(d: DaemonHandle, name: str) -> dict:
    (body,) = json.loads(d.docker("inspect", name, timeout=T).stdout)
    return body


def test_on_failure_restarts_up_to_the_limit_and_only_on_failure(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3",
             timeout=T)
    d.docker("run", "-d", "--name", "fine", "--restart", "on-failure", "busybox", "true", timeout=T)
    assert wait_for(lambda: inspect(d, "flaky")["RestartCount"] == 2 and
                    inspect(d, "flaky")["State"]["Status"] == "exited")
    time.sleep(1.0)  # the third exit is final: no restart comes after it
    body = inspect(d, "flaky")
    assert body["RestartCount"] == 2, body["RestartCount"]
    assert body["State"]["Status"] == "exited" and body["State"]["ExitCode"] == 3, body["State"]
    assert body["State"]["Restarting"] is False and body["State"]["Running"] is False
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}

    assert wait_for(lambda: inspect(d, "fine")["State"]["Status"] == "exited")
    time.sleep(0.3)
    fine = inspect(d, "fine")
    assert fine["RestartCount"] == 0 and fine["State"]["ExitCode"] == 0, fine["State"]


def test_always_backs_off_shows_restarting_and_stop_ends_it(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "loop", "--restart", "always", "busybox", "sh", "-c", "exit 1", timeout=T)
    # 100 ms, 200, 400, 800, 1.6 s…: after a few exits the container waits long enough to be seen
    assert wait_for(lambda: inspect(d, "loop")["RestartCount"] >= 4)
    assert wait_for(lambda: inspect(d, "loop")["State"]["Status"] == "restarting", 5)
    state = inspect(d, "loop")["State"]
    assert state["Restarting"] is True and state["Running"] is True and state["Pid"] == 0, state
    assert state["ExitCode"] == 1
    ps = d.docker("ps", "--format", "{{.Names}}|{{.Status}}", timeout=T).stdout
    assert "loop|Restarting (1) " in ps and ps.rstrip().endswith(" ago"), ps

    started = time.monotonic()
    d.docker("stop", "loop", timeout=T)
    assert time.monotonic() - started < 5, "stop of a restarting container waited for a timeout"
    body = inspect(d, "loop")
    count = body["RestartCount"]
    assert body["State"]["Status"] == "exited" and body["State"]["Restarting"] is False, body["State"]
    time.sleep(2.0)
    assert inspect(d, "loop")["RestartCount"] == count, "restarted after a manual stop"
    assert inspect(d, "loop")["State"]["Status"] == "exited"

    # a user's start resets the count; rm -f of a restarting container does not race the restart
    d.docker("start", "loop", timeout=T)
    assert inspect(d, "loop")["RestartCount"] < count
    assert wait_for(lambda: inspect(d, "loop")["State"]["Status"] == "restarting")
    d.docker("rm", "-f", "loop", timeout=T)
    time.sleep(0.5)
    assert d.docker("ps", "-aq", timeout=T).stdout.strip() == ""


def test_kill_stops_restarts_and_wait_returns_the_exit(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "kk", "--restart", "always", "busybox", "sleep", "300", timeout=T)
    d.docker("kill", "kk", timeout=T)
    assert d.docker("wait", "kk", timeout=T).stdout.strip() == "137"
    time.sleep(0.5)
    body = inspect(d, "kk")
    assert body["State"]["Status"] == "exited" and body["RestartCount"] == 0, body["State"]

    # an attached run with a policy returns at the first exit, while the engine restarts it
    proc = d.docker("run", "--name", "once", "--restart", "on-failure:1", "busybox", "sh", "-c", "exit 5",
                    check=False, timeout=T)
    assert proc.returncode == 5, proc.stderr
    assert wait_for(lambda: inspect(d, "once")["RestartCount"] == 1 and
                    inspect(d, "once")["State"]["Status"] == "exited")


def test_restart_with_rm_is_refused(d: DaemonHandle) -> None:
    proc = d.docker("run", "--rm", "--restart", "always", "busybox", "true", check=False, timeout=T)
    assert proc.returncode == 125
    assert "conflicting options: cannot specify both --restart and --rm" in proc.stderr
    proc = d.dockyard("run", "--rm", "--restart", "always", "busybox", "true", check=False, timeout=T)
    assert proc.returncode == 125
    assert b"conflicting options: cannot specify both --restart and --rm" in proc.stderr
    # the API refuses it as dockerd does, for clients that skip the CLI's check
    proc = d.docker("run", "--restart", "sometimes", "busybox", "true", check=False, timeout=T)
    assert proc.returncode == 125
    assert ("invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', "
            "or 'unless-stopped'") in proc.stderr


def test_policies_apply_when_the_daemon_starts_again(d: DaemonHandle) -> None:
    for name, policy in (("al", "always"), ("us", "unless-stopped"), ("us2", "unless-stopped"),
                         ("no", "no")):
        d.docker("run", "-d", "--name", name, "--restart", policy, "busybox", "sleep", "300", timeout=T)
    d.docker("stop", "-t", "0", "al", "us", "no", timeout=T)  # manual stops
    us2_pid = inspect(d, "us2")["State"]["Pid"]
    d.stop()
    os.kill(us2_pid, signal.SIGKILL)  # dies while no daemon runs
    time.sleep(0.3)

    d2 = start_daemon(d.root)
    try:
        assert wait_for(lambda: inspect(d2, "us2")["State"]["Status"] == "running")
        assert wait_for(lambda: inspect(d2, "al")["State"]["Status"] == "running")
        assert inspect(d2, "us")["State"]["Status"] == "exited"  # stopped by the user: stays stopped
        assert inspect(d2, "no")["State"]["Status"] == "exited"
        assert inspect(d2, "us2")["State"]["Pid"] != us2_pid
        assert inspect(d2, "us2")["RestartCount"] == 0  # started afresh by the new daemon, as dockerd does
    finally:
        remove_all_containers(d2)
        d2.stop()

"""Healthchecks against a real dockyardd through the docker CLI v28: probes run as execs at the
interval, "starting" → "unhealthy" after the retries → "healthy" after a success, as ps, the
health filter, inspect (State.Health, valid against v1.44) and the events show them."""

from __future__ import annotations

import json
import time

import pytest
from api_schema import validate_path_response
from polling import wait_for
from unix_http import request

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 60


def status(d: DaemonHandle, name: str) -> str:
    return str(d.docker("inspect", "-f", "{{.State.Health.Status}}", name, timeout=T).stdout.strip())


def test_health_goes_starting_unhealthy_healthy(d: DaemonHandle) -> None:
    since = time.time()
    d.docker("run", "-d", "--name", "hc", "--health-cmd", "cat /tmp/ok", "--health-interval", "200ms",
             "--health-retries", "2", "busybox", "sleep", "1000", timeout=T)
    d.docker("run", "-d", "--name", "plain", "busybox", "sleep", "1000", timeout=T)
    try:
        assert status(d, "hc") in ("starting", "unhealthy")
        assert wait_for(lambda: status(d, "hc") == "unhealthy", timeout=20)
        assert d.docker("ps", "--filter", "name=hc", "--format", "{{.Status}}", timeout=T).stdout.strip() \
            .endswith("(unhealthy)")
        d.docker("exec", "hc", "sh", "-c", "echo fine > /tmp/ok", timeout=T)
        assert wait_for(lambda: status(d, "hc") == "healthy", timeout=20)

        def listed(value: str) -> list[str]:
            out = d.docker("ps", "--filter", f"health={value}", "--format", "{{.Names}}", timeout=T).stdout
            return sorted(out.split())

        assert listed("healthy") == ["hc"] and listed("unhealthy") == [] and listed("none") == ["plain"]

        body = request(d.socket, "GET", "/containers/hc/json").json()
        assert isinstance(body, dict)
        validate_path_response("get", "/containers/{id}/json", 200, body, go_nulls=True)  # Go null slices
        state = body["State"]["Health"]
        assert state["Status"] == "healthy" and state["FailingStreak"] == 0
        assert 1 <= len(state["Log"]) <= 5
        assert state["Log"][-1]["ExitCode"] == 0 and state["Log"][-1]["Output"] == "fine\n"
        assert any(e["ExitCode"] == 1 and "can't open '/tmp/ok'" in e["Output"] for e in state["Log"]) or \
            len(state["Log"]) == 5
        assert "Health" not in json.loads(d.docker("inspect", "plain", timeout=T).stdout)[0]["State"]

        events = d.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}", "--filter",
                          "container=hc", "--format", "{{.Action}}", timeout=T).stdout.split("\n")
        assert "health_status: unhealthy" in events and "health_status: healthy" in events
        assert events.index("health_status: unhealthy") < events.index("health_status: healthy")
        assert "exec_start: /bin/sh -c cat /tmp/ok" in events  # the probes are execs, as dockerd's
    finally:
        d.docker("rm", "-f", "hc", "plain", timeout=T)


def test_probe_timeout_and_no_healthcheck(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "slow", "--health-cmd", "sleep 5", "--health-interval", "200ms",
             "--health-timeout", "100ms", "busybox", "sleep", "1000", timeout=T)
    d.docker("run", "-d", "--name", "off", "--no-healthcheck", "busybox", "sleep", "1000", timeout=T)
    try:
        def first_log() -> dict[str, object] | None:
            raw = d.docker("inspect", "-f", "{{json .State.Health.Log}}", "slow", timeout=T).stdout
            log = json.loads(raw)
            return log[0] if log else None

        assert wait_for(lambda: first_log() is not None, timeout=20)
        entry = first_log()
        assert entry is not None
        assert entry["ExitCode"] == -1 and entry["Output"] == "Health check exceeded timeout (100ms)"
        # the timed-out probe's process was killed: only the container's own sleep is left
        top = d.docker("top", "slow", timeout=T).stdout
        assert wait_for(lambda: "sleep 5" not in d.docker("top", "slow", timeout=T).stdout, timeout=10)
        assert "sleep 1000" in top
        # --no-healthcheck: no monitor, no Health in State
        assert d.docker("inspect", "-f", "{{json .State.Health}}", "off", timeout=T).stdout.strip() == "null"
    finally:
        d.docker("rm", "-f", "slow", "off", check=False, timeout=T)

"""``docker top`` and ``logs --details`` against dockyardd: the docker CLI, docker-py and the API schema."""

from __future__ import annotations

import docker
import pytest
from api_schema import validate_path_response
from unix_http import request

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 60


def test_top_lists_the_container_processes(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "tp", "busybox", "sh", "-c", "sleep 1000 & sleep 999", timeout=T)
    out = d.docker("top", "tp", timeout=T).stdout.splitlines()
    assert out[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    commands = sorted(" ".join(line.split()[7:]) for line in out[1:])
    assert commands == ["sleep 1000", "sleep 999"]  # busybox sh execs its last command
    narrow = d.docker("top", "tp", "-o", "pid,comm", timeout=T).stdout.splitlines()
    assert narrow[0].split() == ["PID", "COMMAND"] and len(narrow) == 3
    bad = d.docker("top", "tp", "--bogus", check=False, timeout=T)
    assert bad.returncode == 1 and "error: unknown gnu long option" in bad.stderr

    resp = request(d.socket, "GET", "/containers/tp/top")
    assert resp.status == 200
    body = resp.json()
    validate_path_response("get", "/containers/{id}/top", 200, body)

    client = docker.DockerClient(base_url=f"unix://{d.socket}")
    try:
        assert len(client.containers.get("tp").top()["Processes"]) == 2
    finally:
        client.close()

    d.docker("stop", "-t", "0", "tp", timeout=T)
    stopped = d.docker("top", "tp", check=False, timeout=T)
    assert stopped.returncode == 1 and "is not running" in stopped.stderr


def test_logs_details(d: DaemonHandle) -> None:
    d.docker("run", "--name", "dt", "busybox", "sh", "-c", "echo a; echo b >&2", timeout=T)
    logs = d.docker("logs", "--details", "dt", timeout=T)
    assert (logs.stdout, logs.stderr) == (" a\n", " b\n")

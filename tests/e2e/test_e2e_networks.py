"""The predefined networks through ``/networks`` (docker network ls/inspect/prune) and
``docker system prune`` against dockyardd, with the API schema."""

from __future__ import annotations

import json

import pytest
from api_schema import validate_path_response
from unix_http import request

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 60


def test_network_ls_and_inspect(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "onbridge", "busybox", "sleep", "1000", timeout=T)
    d.docker("run", "-d", "--name", "onhost", "--network", "host", "busybox", "sleep", "1000", timeout=T)
    rows = [line.split() for line in d.docker("network", "ls", timeout=T).stdout.splitlines()]
    assert rows[0] == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert sorted((r[1], r[2], r[3]) for r in rows[1:]) == [("bridge", "bridge", "local"), ("host", "host", "local"),
                                                           ("none", "null", "local")]
    bridge = json.loads(d.docker("network", "inspect", "bridge", timeout=T).stdout)[0]
    settings = json.loads(d.docker("inspect", "-f", "{{json .NetworkSettings.Networks.bridge}}", "onbridge",
                                   timeout=T).stdout)
    assert bridge["Id"] == settings["NetworkID"]
    assert bridge["IPAM"]["Config"][0]["Gateway"] == settings["Gateway"]
    entry = bridge["Containers"][d.docker("inspect", "-f", "{{.Id}}", "onbridge", timeout=T).stdout.strip()]
    assert entry["Name"] == "onbridge" and entry["IPv4Address"] == f"{settings['IPAddress']}/{settings['IPPrefixLen']}"
    host = json.loads(d.docker("network", "inspect", "host",
                               timeout=T).stdout)[0]
    assert [c["Name"] for c in host["Containers"].values()] == ["onhost"]
    assert d.docker("network", "ls", "-q", "--filter", "driver=null", "--no-trunc", timeout=T).stdout.strip() == \
        json.loads(d.docker("network", "inspect", "none", timeout=T).stdout)[0]["Id"]
    missing = d.docker("network", "inspect", "nope", check=False, timeout=T)
    assert missing.returncode == 1 and "network nope not found" in missing.stderr
    listed = request(d.socket, "GET", "/networks")
    validate_path_response("get", "/networks", 200, listed.json(), go_nulls=True)
    validate_path_response("get", "/networks/{id}", 200, request(d.socket, "GET", "/networks/bridge").json(),
                           go_nulls=True)
    d.docker("rm", "-f", "onbridge", "onhost", timeout=T)


def test_system_prune(d: DaemonHandle) -> None:
    d.docker("run", "--name", "gone", "-v", "/anon", "busybox", "true", timeout=T)
    d.docker("volume", "create", "keepme", timeout=T)
    out = d.docker("system", "prune", "-f", "--volumes", timeout=T).stdout
    assert "Deleted Containers:" in out and "Deleted Volumes:" in out and "Total reclaimed space:" in out
    assert d.docker("ps", "-aq", "--filter", "name=gone", timeout=T).stdout == ""
    assert "keepme" in d.docker("volume", "ls", "-q", timeout=T).stdout.split()  # named: only with --all
    assert request(d.socket, "POST", "/networks/prune").json() == {"NetworksDeleted": None}
    d.docker("volume", "rm", "keepme", timeout=T)

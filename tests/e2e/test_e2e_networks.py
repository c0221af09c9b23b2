"""Published ports (``-p``, ``-P``) from the host's loopback and addresses; the predefined networks through ``/networks`` (docker network ls/inspect/prune) and
``docker system prune`` against dockyardd, with the API schema."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request

import pytest
from api_schema import validate_path_response
from unix_http import request

from conftest import DaemonHandle, _private_network

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
    for name in ("bridge", "host", "none"):
        refused = d.docker("network", "rm", name, check=False, timeout=T)
        assert refused.returncode == 1
        assert f"{name} is a pre-defined network and cannot be removed" in refused.stderr
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


def _get(url: str) -> str:
    for _ in range(50):
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def _host_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
        return str(s.getsockname()[0])


def test_published_ports(d: DaemonHandle) -> None:
    port = _free_port()
    d.docker("run", "-d", "--name", "web", "-p", f"{port}:80", "busybox", "sh", "-c",
             "mkdir /www; echo hello > /www/index.html; httpd -f -p 80 -h /www", timeout=T)
    assert _get(f"http://127.0.0.1:{port}/") == "hello\n"  # the host's loopback
    assert _get(f"http://{_host_address()}:{port}/") == "hello\n"  # an address of the host
    assert d.docker("port", "web", timeout=T).stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    assert d.docker("ps", "--format", "{{.Ports}}", "--filter", "name=web", timeout=T).stdout.strip() == \
        f"0.0.0.0:{port}->80/tcp"
    ports = json.loads(d.docker("inspect", "-f", "{{json .NetworkSettings.Ports}}", "web", timeout=T).stdout)
    assert ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    taken = d.docker("run", "-d", "--name", "web2", "-p", f"{port}:80", "busybox", "sleep", "100", check=False,
                     timeout=T)
    assert taken.returncode == 125
    assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in taken.stderr
    assert "driver failed programming external connectivity on endpoint web2" in taken.stderr
    d.docker("run", "-d", "--name", "pall", "-P", "--expose", "90", "busybox", "sleep", "100", timeout=T)
    mapped = d.docker("port", "pall", "90", timeout=T).stdout.strip()
    assert mapped.startswith("0.0.0.0:") and int(mapped.split(":")[1]) >= 1024
    bridge = _private_network(d.root)[1]  # the test daemon's bridge: its table is dockyard_<bridge>
    rules = subprocess.run(["nft", "list", "chain", "inet", f"dockyard_{bridge}", "publish"], capture_output=True,
                           text=True)
    assert rules.returncode == 0 and rules.stdout.count("dockyard port") == 2  # web's and pall's
    d.docker("rm", "-f", "web", "web2", "pall", timeout=T)
    rules = subprocess.run(["nft", "list", "chain", "inet", f"dockyard_{bridge}", "publish"], capture_output=True,
                           text=True)
    assert rules.returncode == 0 and "dockyard port" not in rules.stdout  # removed with the containers
    # the port is free for the next one
    d.docker("run", "-d", "--name", "web3", "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c",
             "mkdir /www; echo again > /www/index.html; httpd -f -p 80 -h /www", timeout=T)
    assert _get(f"http://127.0.0.1:{port}/") == "again\n"
    d.docker("rm", "-f", "web3", timeout=T)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def test_legacy_links(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "l1", "-e", "FOO=bar", "--expose", "80", "busybox", "sleep", "1000", timeout=T)
    address = d.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "l1", timeout=T).stdout.strip()
    cid = d.docker("inspect", "-f", "{{.Id}}", "l1", timeout=T).stdout.strip()
    out = d.docker("run", "--rm", "--name", "linker", "--link", "l1:db", "busybox", "sh", "-c",
                   "grep db /etc/hosts; env | grep ^DB_ | sort", timeout=T).stdout.splitlines()
    assert out[0] == f"{address}\tdb {cid[:12]} l1"
    assert out[1:] == ["DB_ENV_FOO=bar", "DB_NAME=/linker/db", f"DB_PORT=tcp://{address}:80",
                       f"DB_PORT_80_TCP=tcp://{address}:80", f"DB_PORT_80_TCP_ADDR={address}",
                       "DB_PORT_80_TCP_PORT=80", "DB_PORT_80_TCP_PROTO=tcp"]
    volumes_before = d.docker("volume", "ls", "-q", timeout=T).stdout
    missing = d.docker("run", "--rm", "--link", "nope:x", "-v", "/anon", "busybox", "true", check=False, timeout=T)
    assert missing.returncode == 125 and "could not get container for nope: No such container: nope" in missing.stderr
    assert "Unable to find image" not in missing.stderr
    assert d.docker("volume", "ls", "-q", timeout=T).stdout == volumes_before  # nothing made for it
    d.docker("create", "--name", "l2", "--link", "l1", "busybox", "true", timeout=T)
    assert d.docker("inspect", "-f", "{{.HostConfig.Links}}", "l2", timeout=T).stdout.strip() == "[/l1:/l2/l1]"
    d.docker("stop", "-t", "0", "l1", timeout=T)
    stopped = d.docker("start", "l2", check=False, timeout=T)
    assert stopped.returncode == 1 and "Cannot link to a non running container: /l1 AS /l2/l1" in stopped.stderr
    d.docker("rm", "-f", "l1", "l2", timeout=T)


def test_add_host_gateway(d: DaemonHandle) -> None:
    """``--add-host name:host-gateway`` is the default bridge's address, on any network (dockerd's
    default when no --host-gateway-ip is set)."""
    gateway = json.loads(d.docker("network", "inspect", "bridge", timeout=T).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    for network in ("bridge", "none"):
        out = d.docker("run", "--rm", "--network", network, "--add-host", "host.docker.internal:host-gateway",
                       "busybox", "grep", "host.docker.internal", "/etc/hosts", timeout=T).stdout
        assert out == f"{gateway}\thost.docker.internal\n"
    bad = d.docker("run", "--rm", "--add-host", "x:not-an-ip", "busybox", "true", check=False, timeout=T)
    assert bad.returncode == 125 and "invalid IP address in add-host" in bad.stderr

"""Published ports (``-p``, ``-P``) from the host's loopback and addresses; the predefined networks through ``/networks`` (docker network ls/inspect/prune) and
``docker system prune`` against dockyardd, with the API schema."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import socket
import subprocess
import threading
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


def _test_subnet(d: DaemonHandle, index: int) -> str:
    """A /24 of 10.250-254.x.0 for this test daemon (its default bridge is in 10.200-249)."""
    digest = hashlib.sha256(f"{d.root}/{index}".encode()).digest()
    return f"10.{250 + digest[0] % 5}.{digest[1]}.0/24"


def _ip(d: DaemonHandle, name: str, network: str) -> str:
    return d.docker("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}", name,
                    timeout=T).stdout.strip()


def test_user_networks_resolve_names_and_are_isolated(d: DaemonHandle) -> None:
    front = d.docker("network", "create", "--label", "tier=front", "front", timeout=T).stdout.strip()
    back_subnet = _test_subnet(d, 1)
    back_range = str(list(ipaddress.ip_network(back_subnet).subnets(new_prefix=25))[1])
    d.docker("network", "create", "--subnet", back_subnet, "--ip-range", back_range, "back", timeout=T)
    created = request(d.socket, "POST", "/networks/create", {"Name": "viaapi", "Labels": {"a": "b"}})
    assert created.status == 201
    validate_path_response("post", "/networks/create", 201, created.json())
    listed = request(d.socket, "GET", "/networks")
    validate_path_response("get", "/networks", 200, listed.json(), go_nulls=True)
    assert {"front", "back", "viaapi"} <= {n["Name"] for n in listed.json()}

    d.docker("run", "-d", "--name", "web", "--network", "front", "--network-alias", "www", "busybox", "sleep",
             "1000", timeout=T)
    web_ip = _ip(d, "web", "front")
    cid = d.docker("inspect", "-f", "{{.Id}}", "web", timeout=T).stdout.strip()
    out = d.docker("run", "--rm", "--network", "front", "busybox", "sh", "-c",
                   "cat /etc/resolv.conf; for n in web www WEB web.front " + cid[:12] + "; do "
                   "nslookup $n | sed -n 's/^Address: //p'; done; ping -c1 -W2 web >/dev/null && echo pong",
                   timeout=T).stdout.splitlines()
    assert "nameserver 127.0.0.11" in out and any(line.startswith("options") and "ndots:0" in line for line in out)
    assert out[-6:] == [web_ip] * 5 + ["pong"]

    # another network, and the default bridge, neither resolve nor reach it
    other = d.docker("run", "--rm", "--network", "back", "busybox", "sh", "-c",
                     f"nslookup web; ping -c1 -W1 {web_ip}", check=False, timeout=T)
    assert other.returncode != 0 and "NXDOMAIN" in other.stdout + other.stderr
    assert "0 packets received" in other.stdout
    default = d.docker("run", "--rm", "busybox", "ping", "-c1", "-W1", web_ip, check=False, timeout=T)
    assert default.returncode != 0 and "0 packets received" in default.stdout

    network = json.loads(d.docker("network", "inspect", "front", timeout=T).stdout)[0]
    validate_path_response("get", "/networks/{id}", 200, request(d.socket, "GET", f"/networks/{front}").json(),
                           go_nulls=True)
    assert network["Id"] == front and network["Labels"] == {"tier": "front"} and network["Driver"] == "bridge"
    assert network["Containers"][cid]["Name"] == "web"
    assert network["Containers"][cid]["IPv4Address"].split("/")[0] == web_ip
    settings = json.loads(d.docker("inspect", "-f", "{{json .NetworkSettings}}", "web", timeout=T).stdout)
    assert settings["IPAddress"] == "" and settings["Networks"]["front"]["Aliases"] == ["www"]
    assert settings["Networks"]["front"]["NetworkID"] == front
    assert {"web", "www", cid[:12]} <= set(settings["Networks"]["front"]["DNSNames"])
    validate_path_response("get", "/containers/{id}/json", 200, request(d.socket, "GET", "/containers/web/json").json(),
                           go_nulls=True)

    # --ip on a user network; not on the default bridge
    fixed = str(ipaddress.ip_network(back_subnet).network_address + 50)
    assert fixed in d.docker("run", "--rm", "--network", "back", "--ip", fixed, "busybox", "ip", "-4", "addr",
                             timeout=T).stdout
    first_of_range = str(ipaddress.ip_network(back_range).network_address)
    assert f"inet {first_of_range}/24" in d.docker("run", "--rm", "--network", "back", "busybox", "ip", "-4", "addr",
                                                   timeout=T).stdout
    bad = d.docker("run", "--rm", "--ip", "10.9.9.9", "busybox", "true", check=False, timeout=T)
    assert bad.returncode == 125 and "user specified IP address is supported on user defined networks only" in bad.stderr

    busy = d.docker("network", "rm", "front", check=False, timeout=T)
    assert busy.returncode == 1 and f"network front id {front} has active endpoints" in busy.stderr
    d.docker("rm", "-f", "web", timeout=T)
    assert d.docker("network", "rm", "front", "back", "viaapi", timeout=T).stdout.split() == ["front", "back", "viaapi"]
    assert not os.path.exists(f"/sys/class/net/dy-{front[:12]}")
    assert {n["Name"] for n in request(d.socket, "GET", "/networks").json()} == {"bridge", "host", "none"}


def test_embedded_dns_forwards_to_the_upstream_servers(d: DaemonHandle) -> None:
    """Names the network does not know go to --dns (or the host's servers), from the host's namespace."""
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        upstream.bind(("127.0.0.2", 53))
    except OSError as exc:
        upstream.close()
        pytest.skip(f"cannot listen on 127.0.0.2:53 here: {exc}")
    seen: list[bytes] = []

    def answer() -> None:
        while True:
            try:
                data, peer = upstream.recvfrom(4096)
            except OSError:
                return
            seen.append(data)
            qlen = data.index(b"\0", 12) + 5
            flags = 0x8180
            reply = data[:2] + flags.to_bytes(2, "big") + b"\0\x01\0\x01\0\0\0\0" + data[12:qlen] + \
                b"\xc0\x0c\0\x01\0\x01\0\0\0\x3c\0\x04" + bytes([192, 0, 2, 7])
            upstream.sendto(reply, peer)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        d.docker("network", "create", "fwd", timeout=T)
        out = d.docker("run", "--rm", "--network", "fwd", "--dns", "127.0.0.2", "busybox", "nslookup",
                       "upstream.example.", timeout=T).stdout
        assert "192.0.2.7" in out and seen and b"\x08upstream\x07example\x00" in seen[0]
        # a container only on an internal network gets no way out through the DNS either
        d.docker("network", "create", "--internal", "sealed", timeout=T)
        d.docker("run", "-d", "--name", "inside", "--network", "sealed", "busybox", "sleep", "1000", timeout=T)
        sealed = d.docker("run", "--rm", "--network", "sealed", "--dns", "127.0.0.2", "busybox", "sh", "-c",
                          "nslookup inside | grep -c Address:; nslookup leak.example.", check=False, timeout=T)
        assert sealed.stdout.startswith("2\n") and sealed.returncode != 0, sealed
        assert not [q for q in seen if b"leak" in q]
        d.docker("rm", "-f", "inside", timeout=T)
        d.docker("network", "rm", "sealed", timeout=T)
    finally:
        upstream.close()
        thread.join(5)
    d.docker("network", "rm", "fwd", timeout=T)


def test_network_errors_and_prune(d: DaemonHandle) -> None:
    subnet = _test_subnet(d, 2)
    d.docker("network", "create", "--subnet", subnet, "--label", "keep=no", "n1", timeout=T)
    for args, message in [
        (("n1",), "network with name n1 already exists"),
        (("bridge",), "network with name bridge already exists"),
        (("-d", "nosuchdriver", "n2"), 'plugin "nosuchdriver" not found'),
        (("--subnet", subnet, "n3"), "Pool overlaps with other one on this address space"),
    ]:
        failed = d.docker("network", "create", *args, check=False, timeout=T)
        assert failed.returncode == 1 and message in failed.stderr, failed.stderr
    aliased = request(d.socket, "POST", "/containers/create", {
        "Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": ["x"]}}}})
    assert aliased.status == 400 and aliased.json()["message"] == \
        "network-scoped alias is supported only for containers in user defined networks"
    # as with dockerd, the network is looked up at start: create succeeds, start fails
    missing = d.docker("run", "--rm", "--network", "nosuch", "busybox", "true", check=False, timeout=T)
    assert missing.returncode == 125 and "network nosuch not found" in missing.stderr
    assert d.docker("ps", "-aq", timeout=T).stdout == ""
    d.docker("create", "--name", "later", "--network", "nosuch", "busybox", "true", timeout=T)
    assert d.docker("start", "later", check=False, timeout=T).stderr.startswith(
        "Error response from daemon: network nosuch not found")
    assert d.docker("inspect", "-f", "{{.State.Status}}", "later", timeout=T).stdout.strip() == "created"
    d.docker("rm", "later", timeout=T)

    d.docker("network", "create", "--label", "keep=yes", "n4", timeout=T)
    d.docker("network", "create", "inuse", timeout=T)
    d.docker("run", "-d", "--name", "user", "--network", "inuse", "busybox", "sleep", "1000", timeout=T)
    assert d.docker("network", "ls", "-q", "--filter", "dangling=true", "--format", "{{.Name}}",
                    timeout=T).stdout.split() == ["n1", "n4"]
    out = d.docker("network", "prune", "-f", "--filter", "label=keep=no", timeout=T).stdout
    assert out == "Deleted Networks:\nn1\n\n"
    assert request(d.socket, "POST", "/networks/prune").json() == {"NetworksDeleted": ["n4"]}
    names = d.docker("network", "ls", "--format", "{{.Name}}", timeout=T).stdout.split()
    assert sorted(names) == ["bridge", "host", "inuse", "none"]
    events = d.docker("events", "--since", "0", "--until", f"{time.time():.3f}", "--filter", "type=network", "--format",
                      "{{.Action}} {{.Actor.Attributes.name}}", timeout=T).stdout.splitlines()
    assert "create n1" in events and "destroy n1" in events and "connect inuse" in events


def test_docker_py_user_network(d: DaemonHandle) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=d.host)
    try:
        net = client.networks.create("pynet", driver="bridge", labels={"app": "py"})
        server = client.containers.run("busybox", "sleep 1000", name="pyserver", network="pynet", detach=True)
        out = client.containers.run("busybox", "nslookup pyserver", network="pynet", remove=True)
        net.reload()
        assert [c.name for c in net.containers] == ["pyserver"]
        assert _ip(d, "pyserver", "pynet").encode() in out
        assert [n.name for n in client.networks.list(filters={"label": "app=py"})] == ["pynet"]
        server.remove(force=True)
        net.remove()
        assert client.networks.list(names=["pynet"]) == []
    finally:
        client.close()


def test_connect_and_disconnect(d: DaemonHandle) -> None:
    d.docker("network", "create", "left", timeout=T)
    d.docker("network", "create", "right", timeout=T)
    d.docker("run", "-d", "--name", "lefty", "--network", "left", "busybox", "sleep", "1000", timeout=T)
    d.docker("run", "-d", "--name", "righty", "--network", "right", "busybox", "sleep", "1000", timeout=T)
    assert d.docker("exec", "lefty", "ping", "-c1", "-W1", "righty", check=False, timeout=T).returncode != 0

    # a running container gets a second endpoint (eth1, no default route) and its names on that network
    d.docker("network", "connect", "--alias", "r2", "left", "righty", timeout=T)
    left_ip = _ip(d, "righty", "left")
    assert f"inet {left_ip}/" in d.docker("exec", "righty", "ip", "-4", "-o", "addr", "show", "eth1", timeout=T).stdout
    assert d.docker("exec", "righty", "ip", "route", timeout=T).stdout.count("default") == 1
    for name in ("righty", "r2"):
        assert f"Address: {left_ip}" in d.docker("exec", "lefty", "nslookup", name, timeout=T).stdout
    assert "Address: " in d.docker("exec", "righty", "nslookup", "lefty", timeout=T).stdout
    assert d.docker("ps", "--filter", "network=left", "--format", "{{.Names}}", timeout=T).stdout.split() == \
        ["righty", "lefty"]
    members = json.loads(d.docker("network", "inspect", "left", timeout=T).stdout)[0]["Containers"]
    assert sorted(c["Name"] for c in members.values()) == ["lefty", "righty"]
    again = d.docker("network", "connect", "left", "righty", check=False, timeout=T)
    assert again.returncode == 1 and "endpoint with name righty already exists in network left" in again.stderr

    d.docker("network", "disconnect", "left", "righty", timeout=T)
    assert left_ip not in d.docker("exec", "righty", "ip", "-4", "addr", timeout=T).stdout
    assert d.docker("exec", "lefty", "nslookup", "righty", check=False, timeout=T).returncode != 0
    gone = d.docker("network", "disconnect", "left", "righty", check=False, timeout=T)
    assert gone.returncode == 1 and "is not connected to network left" in gone.stderr

    # a stopped container is connected at its next start
    d.docker("stop", "-t", "0", "righty", timeout=T)
    d.docker("network", "connect", "left", "righty", timeout=T)
    d.docker("start", "righty", timeout=T)
    assert f"Address: {_ip(d, 'righty', 'left')}" in d.docker("exec", "lefty", "nslookup", "righty", timeout=T).stdout
    # the network cannot go while a container is connected to it besides its first network
    busy = d.docker("network", "rm", "left", check=False, timeout=T)
    assert busy.returncode == 1 and "has active endpoints" in busy.stderr
    d.docker("rm", "-f", "lefty", "righty", timeout=T)
    d.docker("network", "rm", "left", "right", timeout=T)


def test_create_with_several_networks(d: DaemonHandle) -> None:
    """API 1.44 clients (docker compose) pass every network in EndpointsConfig at create."""
    d.docker("network", "create", "one", timeout=T)
    d.docker("network", "create", "two", timeout=T)
    body = {"Image": "busybox", "Cmd": ["sleep", "1000"], "HostConfig": {"NetworkMode": "one"},
            "NetworkingConfig": {"EndpointsConfig": {"one": {"Aliases": ["svc"]}, "two": {"Aliases": ["svc2"]}}}}
    created = request(d.socket, "POST", "/containers/create?name=multi", body)
    assert created.status == 201, created.json()
    assert request(d.socket, "POST", "/containers/multi/start").status == 204
    networks = json.loads(d.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", "multi", timeout=T).stdout)
    assert sorted(networks) == ["one", "two"] and all(n["IPAddress"] for n in networks.values())
    for network, alias in (("one", "svc"), ("two", "svc2")):
        out = d.docker("run", "--rm", "--network", network, "busybox", "nslookup", alias, timeout=T).stdout
        assert f"Address: {networks[network]['IPAddress']}" in out
    d.docker("rm", "-f", "multi", timeout=T)
    d.docker("network", "rm", "one", "two", timeout=T)


def test_joining_another_containers_network(d: DaemonHandle) -> None:
    """``--network container:X``: X's network stack, and as with dockerd X's hostname, /etc/hosts
    and resolv.conf (X's embedded DNS answers, on a user network)."""
    d.docker("network", "create", "shared", timeout=T)
    d.docker("run", "-d", "--name", "owner", "--network", "shared", "busybox", "sleep", "1000", timeout=T)
    owner_host = d.docker("inspect", "-f", "{{.Config.Hostname}}", "owner", timeout=T).stdout.strip()
    out = d.docker("run", "--rm", "--name", "joiner", "--network", "container:owner", "busybox", "sh", "-c",
                   "hostname; echo $HOSTNAME; grep -c nameserver.127.0.0.11 /etc/resolv.conf; "
                   "nslookup owner | grep -c Address:; ip -4 -o addr show eth0 | wc -l", timeout=T).stdout
    assert out.split() == [owner_host, owner_host, "1", "2", "1"], out
    # the owner stops while a joiner keeps its namespace: its endpoint goes at once, and it starts again
    d.docker("run", "-d", "--name", "holder", "--network", "container:owner", "busybox", "sleep", "1000", timeout=T)
    owner_ip = _ip(d, "owner", "shared")
    d.docker("kill", "owner", timeout=T)
    d.docker("wait", "owner", timeout=T)
    assert owner_ip not in d.docker("exec", "holder", "ip", "-4", "addr", timeout=T).stdout
    d.docker("start", "owner", timeout=T)
    assert _ip(d, "owner", "shared")
    d.docker("rm", "-f", "holder", timeout=T)
    conflict = d.docker("run", "--rm", "--network", "container:owner", "-h", "x", "busybox", "true", check=False,
                        timeout=T)
    assert conflict.returncode == 125 and "conflicting options: hostname and the network mode" in conflict.stderr
    d.docker("rm", "-f", "owner", timeout=T)
    d.docker("network", "rm", "shared", timeout=T)


def test_bridge_driver_options(d: DaemonHandle) -> None:
    """-o host_binding_ipv4 is where the network's ports are published when -p names no address;
    -o mtu is its interfaces' MTU; options that are not supported are refused, not ignored."""
    d.docker("network", "create", "-o", "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
             "-o", "com.docker.network.driver.mtu=1400", "local", timeout=T)
    port = _free_port()
    d.docker("run", "-d", "--name", "bound", "--network", "local", "-p", f"{port}:80", "busybox", "sleep", "1000",
             timeout=T)
    assert d.docker("port", "bound", timeout=T).stdout == f"80/tcp -> 127.0.0.1:{port}\n"
    assert "mtu 1400" in d.docker("exec", "bound", "ip", "link", "show", "eth0", timeout=T).stdout
    d.docker("rm", "-f", "bound", timeout=T)
    for option in ("com.docker.network.bridge.enable_icc=false", "com.docker.network.bridge.name=mybr0",
                   "com.docker.network.driver.mtu=lots"):
        refused = d.docker("network", "create", "-o", option, "other", check=False, timeout=T)
        assert refused.returncode == 1 and "Error response from daemon" in refused.stderr, refused.stderr
    assert d.docker("network", "ls", "-q", "--filter", "name=other", timeout=T).stdout == ""
    d.docker("network", "rm", "local", timeout=T)


def test_connect_to_the_default_bridge(d: DaemonHandle) -> None:
    """A container on a user network joins the default bridge too (eth1), as with dockerd; the
    default bridge has no names in the embedded DNS."""
    d.docker("network", "create", "own", timeout=T)
    d.docker("run", "-d", "--name", "both", "--network", "own", "busybox", "sleep", "1000", timeout=T)
    d.docker("run", "-d", "--name", "plain", "busybox", "sleep", "1000", timeout=T)
    plain_ip = d.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "plain", timeout=T).stdout.strip()
    d.docker("network", "connect", "bridge", "both", timeout=T)
    bridge_ip = _ip(d, "both", "bridge")
    assert f"inet {bridge_ip}/" in d.docker("exec", "both", "ip", "-4", "-o", "addr", "show", "eth1", timeout=T).stdout
    d.docker("exec", "both", "ping", "-c1", "-W2", plain_ip, timeout=T)
    d.docker("exec", "plain", "ping", "-c1", "-W2", bridge_ip, timeout=T)
    assert d.docker("exec", "both", "nslookup", "plain", check=False, timeout=T).returncode != 0
    for args, message in [
        (("bridge", "plain"), "endpoint with name plain already exists in network bridge"),
        (("host", "both"), "container cannot be disconnected from host network or connected to host network"),
        (("--alias", "x", "bridge", "both"), "network-scoped alias is supported only for containers in user defined"),
    ]:
        refused = d.docker("network", "connect", *args, check=False, timeout=T)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
    d.docker("network", "disconnect", "bridge", "both", timeout=T)
    assert bridge_ip not in d.docker("exec", "both", "ip", "-4", "addr", timeout=T).stdout
    d.docker("rm", "-f", "both", "plain", timeout=T)
    d.docker("network", "rm", "own", timeout=T)

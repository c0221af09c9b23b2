"""``dockyard network …`` through the real client against a scripted Engine API server: request
bodies and queries from flags, output formats, errors and exit codes as the docker CLI has them."""

from __future__ import annotations

import io
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from dockyard.cli.app import Cli
from dockyard.cli.gotypes import go_time, natural_less
from dockyard.cli.main import run
from dockyard.client import DockyardClient

PREFIX = "/v1.44"
BRIDGE_ID = "b38513a36e6ae406bb446213c3e0994182b57453b4ea623e5c524d7ae43ae9fc"
FRONT_ID = "4d207ac6dbb46dc89d5845731a3696f9201fd9a54896bda09c0ae4356445ff3e"
CID = "4f" * 32


def _network(name: str, ident: str, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name, "Id": ident, "Created": "2026-01-28T16:56:12.382783744Z", "Scope": "local",
        "Driver": "bridge", "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": {}, "Config": []},
        "Internal": False, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
        "ConfigOnly": False, "Containers": {}, "Options": {}, "Labels": {}, **extra,
    }


def _networks() -> dict[str, dict[str, Any]]:
    return {n["Name"]: n for n in [
        _network("bridge", BRIDGE_ID, Created="2026-01-28T16:56:06.4016Z",
                 IPAM={"Driver": "default", "Options": None,
                       "Config": [{"Subnet": "10.216.225.0/24", "Gateway": "10.216.225.1"}]},
                 Containers={CID: {"Name": "web", "EndpointID": "e1", "MacAddress": "02:42:0a:00:00:02",
                                   "IPv4Address": "10.216.225.2/24", "IPv6Address": ""}}),
        _network("host", "c9c4cb973c26" + "0" * 52, Driver="host"),
        _network("none", "58039981aefe" + "0" * 52, Driver="null"),
        _network("front", FRONT_ID, Internal=True, Labels={"tier": "front", "a": "b"},
                 IPAM={"Driver": "default", "Options": {},
                       "Config": [{"Subnet": "10.123.0.0/16", "Gateway": "10.123.0.254",
                                   "IPRange": "10.123.1.0/24"}]}),
        _network("net10", "a" * 64),
        _network("net9", "9" * 64),
    ]}


class FakeEngine:
    """The network endpoints of the Engine API, over a Unix socket; records every request."""

    def __init__(self, path: Path) -> None:
        self.networks = _networks()
        self.seen: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self.pruned: list[str] = ["old1", "old2"]
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                query = parse_qs(url.query)
                engine.seen.append((self.command, url.path, query, body))
                status, reply = engine.route(self.command, url.path, query, body)
                data = b"" if reply is None else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle  # noqa: N815 - http.server's names

        self.server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _find(self, ref: str) -> dict[str, Any] | None:
        for network in self.networks.values():
            if ref in (network["Name"], network["Id"]) or (ref and network["Id"].startswith(ref)):
                return network
        return None

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        assert path.startswith(PREFIX), path
        parts = [unquote(p) for p in path[len(PREFIX):].strip("/").split("/")]
        if method == "GET" and parts == ["networks"]:
            filters = json.loads(query["filters"][0]) if "filters" in query else {}
            names = list(filters.get("name", {}))
            return 200, [n for n in self.networks.values() if not names or any(v in n["Name"] for v in names)]
        if method == "POST" and parts == ["networks", "create"]:
            if body["Name"] in self.networks:
                return 409, {"message": f"network with name {body['Name']} already exists"}
            ident = "c" * 64
            self.networks[body["Name"]] = _network(body["Name"], ident)
            return 201, {"Id": ident, "Warning": ""}
        if method == "POST" and parts == ["networks", "prune"]:
            return 200, {"NetworksDeleted": self.pruned or None}
        network = self._find(parts[1]) if len(parts) > 1 else None
        if network is None:
            return 404, {"message": f"network {parts[1]} not found"}
        if method == "GET" and len(parts) == 2:
            return 200, network
        if method == "DELETE" and len(parts) == 2:
            if network["Name"] in ("bridge", "host", "none"):
                return 403, {"message": f"{network['Name']} is a pre-defined network and cannot be removed"}
            del self.networks[network["Name"]]
            return 204, None
        if method == "POST" and parts[2:] in (["connect"], ["disconnect"]):
            if body["Container"] == "nope":
                return 404, {"message": "No such container: nope"}
            return 200, None
        return 404, {"message": "page not found"}

    def requests(self, method: str) -> list[tuple[str, str, dict[str, list[str]], Any]]:
        return [r for r in self.seen if r[0] == method]


class Harness:
    def __init__(self, engine: FakeEngine, socket: Path) -> None:
        self.engine = engine
        self.host = f"unix://{socket}"
        self.out = io.StringIO()
        self.err = io.StringIO()

    def run(self, *argv: str, stdin: bytes = b"") -> int:
        self.out.seek(0), self.out.truncate()
        self.err.seek(0), self.err.truncate()
        cli = Cli(out=self.out, err=self.err, stdin=io.BytesIO(stdin), connect=DockyardClient)
        return run(["-H", self.host, *argv], cli)

    @property
    def stdout(self) -> str:
        return self.out.getvalue()

    @property
    def stderr(self) -> str:
        return self.err.getvalue()


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    socket = tmp_path / "api.sock"
    engine = FakeEngine(socket)
    try:
        yield Harness(engine, socket)
    finally:
        engine.close()


# -- create ------------------------------------------------------------------------------------------


def test_create_sends_docker_request_and_prints_the_id(h: Harness) -> None:
    assert h.run("network", "create", "--subnet", "10.123.0.0/16", "--gateway", "10.123.0.254",
                 "--ip-range", "10.123.1.0/24", "--internal", "--attachable", "--label", "tier=front",
                 "--label", "solo", "-o", "com.docker.network.bridge.name=br-x", "--opt", "mtu=1400",
                 "-d", "bridge", "new") == 0
    assert h.stdout == "c" * 64 + "\n" and h.stderr == ""
    (_, path, _, body), = h.engine.requests("POST")
    assert path == PREFIX + "/networks/create"
    assert body == {
        "Name": "new", "Driver": "bridge", "Internal": True, "Attachable": True,
        "Labels": {"tier": "front", "solo": ""},
        "Options": {"com.docker.network.bridge.name": "br-x", "mtu": "1400"},
        "IPAM": {"Driver": "default", "Options": {},
                 "Config": [{"Subnet": "10.123.0.0/16", "IPRange": "10.123.1.0/24", "Gateway": "10.123.0.254"}]},
    }


def test_create_defaults_and_comma_separated_subnets(h: Harness) -> None:
    assert h.run("network", "create", "plain") == 0
    assert h.engine.requests("POST")[-1][3] == {
        "Name": "plain", "Driver": "bridge", "Internal": False, "Attachable": False, "Labels": {}, "Options": {},
        "IPAM": {"Driver": "default", "Config": [], "Options": {}},
    }
    assert h.run("network", "create", "--subnet", "10.1.0.0/16,10.2.0.0/16", "--gateway", "10.2.0.9",
                 "--gateway=10.1.0.9", "--internal=false", "two") == 0
    body = h.engine.requests("POST")[-1][3]
    assert body["IPAM"]["Config"] == [{"Subnet": "10.1.0.0/16", "Gateway": "10.1.0.9"},
                                      {"Subnet": "10.2.0.0/16", "Gateway": "10.2.0.9"}]
    assert body["Internal"] is False


@pytest.mark.parametrize(("flags", "message"), [
    (["--ip-range", "10.0.0.0/24"], "every ip-range or gateway must have a corresponding subnet"),
    (["--gateway", "10.0.0.1"], "every ip-range or gateway must have a corresponding subnet"),
    (["--subnet", "10.0.0.0/16", "--subnet", "10.0.1.0/24"], "multiple overlapping subnet configuration is not supported"),
    (["--subnet", "10.0.0.0/16", "--ip-range", "10.1.0.0/24"], "no matching subnet for range 10.1.0.0/24"),
    (["--subnet", "10.0.0.0/16", "--gateway", "10.1.0.1"], "no matching subnet for gateway 10.1.0.1"),
    (["--subnet", "10.0.0.0/16", "--ip-range", "bogus"], "invalid CIDR address: bogus"),
    (["--subnet", "10.0.0.0/16", "--ip-range", "10.0.0.5"], "invalid CIDR address: 10.0.0.5"),
    (["--subnet", "10.0.0.0/16", "--gateway", "bogus"], "no matching subnet for gateway bogus"),
    (["--subnet", "bogus", "--ip-range", "10.0.0.0/24"], "invalid subnet: invalid CIDR address: bogus"),
    (["--subnet", "10.0.0.0/8", "--subnet", "bogus"], "invalid subnet: invalid CIDR address: bogus"),
    (["--subnet", "10.0.0.0/16,10.1.0.0/16", "--gateway", "10.0.0.1,10.0.0.2"],
     "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/16)"),
    (["--subnet", "10.0.0.0/16", "--subnet", "10.1.0.0/16", "--ip-range", "10.0.0.0/24", "--ip-range", "10.0.1.0/24"],
     "cannot configure multiple ranges (10.0.1.0/24, 10.0.0.0/24) on the same subnet (10.0.0.0/16)"),
    (["--subnet", "fd00::/64", "--gateway", "10.0.0.1"], "no matching subnet for gateway 10.0.0.1"),
])
def test_create_checks_the_ipam_flags_as_docker_does(h: Harness, flags: list[str], message: str) -> None:
    assert h.run("network", "create", *flags, "x") == 1
    assert h.stderr == message + "\n" and h.stdout == ""
    assert h.engine.requests("POST") == []


def test_create_passes_what_the_cli_does_not_check(h: Harness) -> None:
    # the docker CLI leaves a lone subnet, and a gateway given as a CIDR, to the daemon
    assert h.run("network", "create", "--subnet", "bogus", "a") == 0
    assert h.engine.requests("POST")[-1][3]["IPAM"]["Config"] == [{"Subnet": "bogus"}]
    assert h.run("network", "create", "--subnet", "10.0.0.0/16", "--gateway", "10.0.0.1/8", "b") == 0
    assert h.engine.requests("POST")[-1][3]["IPAM"]["Config"] == [{"Subnet": "10.0.0.0/16", "Gateway": "10.0.0.1/8"}]


@pytest.mark.parametrize(("label", "reason"), [
    ("", "invalid label '': empty name"),
    ("=v", "invalid label '=v': empty name"),
    ("a b=c", "label 'a b' contains whitespaces"),
])
def test_create_rejects_bad_labels_as_a_usage_error(h: Harness, label: str, reason: str) -> None:
    assert h.run("network", "create", "--label", label, "x") == 125
    assert h.stderr == (f'invalid argument "{label}" for "--label" flag: {reason}\n\n'
                        "Usage:  dockyard network create [OPTIONS] NETWORK\n\n"
                        "Run 'dockyard network create --help' for more information\n")
    assert h.engine.seen == []


def test_create_errors_from_the_daemon_and_argument_count(h: Harness) -> None:
    assert h.run("network", "create", "front") == 1
    assert h.stderr == "Error response from daemon: network with name front already exists\n"
    assert h.run("network", "create") == 1
    assert h.stderr.startswith("dockyard: 'dockyard network create' requires 1 argument\n\n"
                               "Usage:  dockyard network create [OPTIONS] NETWORK\n")
    assert h.run("network", "create", "a", "b") == 1
    assert h.run("network", "create", "--ipv7", "a") == 125
    assert "unknown flag: --ipv7" in h.stderr


# -- ls ------------------------------------------------------------------------------------------------


def test_ls_table_sorted_like_docker(h: Harness) -> None:
    assert h.run("network", "ls") == 0
    assert h.stdout == (
        "NETWORK ID     NAME      DRIVER    SCOPE\n"
        "b38513a36e6a   bridge    bridge    local\n"
        "4d207ac6dbb4   front     bridge    local\n"
        "c9c4cb973c26   host      host      local\n"
        "999999999999   net9      bridge    local\n"
        "aaaaaaaaaaaa   net10     bridge    local\n"
        "58039981aefe   none      null      local\n"
    )
    assert h.engine.seen[0][:3] == ("GET", PREFIX + "/networks", {})
    assert h.run("network", "list", "-q") == 0
    assert h.stdout.split() == ["b38513a36e6a", "4d207ac6dbb4", "c9c4cb973c26", "999999999999", "aaaaaaaaaaaa",
                                "58039981aefe"]
    assert h.run("network", "ls", "--quiet", "--no-trunc") == 0
    assert h.stdout.split()[:2] == [BRIDGE_ID, FRONT_ID]


def test_ls_filters_and_formats(h: Harness) -> None:
    assert h.run("network", "ls", "-f", "name=net", "--filter", " NAME = et1 ", "-f", "", "--format",
                 "{{.Name}} {{.Internal}}") == 0
    assert h.stdout == "net9 false\nnet10 false\n"
    assert json.loads(h.engine.seen[-1][2]["filters"][0]) == {"name": {"net": True, "et1": True}}
    assert h.run("network", "ls", "-f", "name=front", "--format",
                 "table {{.ID}}\t{{.IPv4}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}") == 0
    assert h.stdout == (
        "NETWORK ID     IPV4      IPV6      INTERNAL   LABELS           CREATED AT\n"
        "4d207ac6dbb4   false     false     true       a=b,tier=front   2026-01-28 16:56:12.382783744 +0000 UTC\n"
    )
    assert h.run("network", "ls", "-f", "name=front", "--format", "json") == 0
    assert h.stdout == ('{"CreatedAt":"2026-01-28 16:56:12.382783744 +0000 UTC","Driver":"bridge",'
                        '"ID":"4d207ac6dbb4","IPv4":"false","IPv6":"false","Internal":"true",'
                        '"Labels":"a=b,tier=front","Name":"front","Scope":"local"}\n')
    assert h.run("network", "ls", "-f", "name=front", "--format", "raw") == 0
    assert h.stdout == "network_id: 4d207ac6dbb4\nname: front\ndriver: bridge\nscope: local\n\n"
    assert h.run("network", "ls", "-f", "name=front", "--format", "raw", "-q") == 0
    assert h.stdout == "network_id: 4d207ac6dbb4\n"
    # -q only changes the default table, as with docker
    assert h.run("network", "ls", "-q", "-f", "name=front", "--format", "table {{.Name}}") == 0
    assert h.stdout == "NAME\nfront\n"
    assert h.run("network", "ls", "-f", "name=zzz") == 0
    assert h.stdout == "NETWORK ID   NAME      DRIVER    SCOPE\n"


def test_ls_usage_errors(h: Harness) -> None:
    assert h.run("network", "ls", "-f", "bogus") == 125
    assert h.stderr == ('invalid argument "bogus" for "-f, --filter" flag: bad format of filter (expected name=value)'
                        "\n\nUsage:  dockyard network ls [OPTIONS]\n\nRun 'dockyard network ls --help' for more "
                        "information\n")
    assert h.run("network", "ls", "x") == 1
    assert "'dockyard network ls' accepts no arguments" in h.stderr
    assert h.engine.seen == []


@pytest.mark.parametrize(("names", "expected"), [
    (["net10", "net9", "net009", "net9a", "Net2", "0abc", "_x", "a.b", "bridge"],
     ["0abc", "Net2", "_x", "a.b", "bridge", "net9", "net9a", "net009", "net10"]),
    (["a2", "a10", "a02", "a1b", "a"], ["a", "a1b", "a2", "a02", "a10"]),
    (["x01y", "x1z", "x1y"], ["x1y", "x1z", "x01y"]),
])
def test_natural_order(names: list[str], expected: list[str]) -> None:
    import functools

    def cmp(a: str, b: str) -> int:
        return -1 if natural_less(a, b) else 1 if natural_less(b, a) else 0

    assert sorted(names, key=functools.cmp_to_key(cmp)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-28T16:56:12.382783744Z", "2026-11-28 16:56:12.382783744 +0000 UTC"),
    ("2026-11-28T16:56:12.58104192Z", "2026-11-28 16:56:12.58104192 +0000 UTC"),
    ("2026-11-28T16:56:12.5000Z", "2026-11-28 16:56:12.5 +0000 UTC"),
    ("2026-11-28T16:56:12Z", "2026-11-28 16:56:12 +0000 UTC"),
    ("", "0001-01-01 00:00:00 +0000 UTC"),
])
def test_go_time_string(text: str, expected: str) -> None:
    assert go_time(text) == expected


def test_go_time_with_an_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert go_time("2026-11-28T16:56:12.1+02:00") == "2026-11-28 16:56:12.1 +0200 +0200"
        assert go_time("2026-11-28T16:56:12+00:00") == "2026-11-28 16:56:12 +0000 UTC"
    finally:
        monkeypatch.undo()
        time.tzset()


# -- inspect -------------------------------------------------------------------------------------------


def test_inspect_prints_the_daemons_json(h: Harness) -> None:
    assert h.run("network", "inspect", "front", "bridge") == 0
    assert json.loads(h.stdout) == [h.engine.networks["front"], h.engine.networks["bridge"]]
    assert h.stdout.startswith('[\n    {\n        "Name": "front",\n        "Id": "4d207ac6dbb4')
    assert [r[1] for r in h.engine.seen] == [PREFIX + "/networks/front", PREFIX + "/networks/bridge"]
    assert h.run("network", "inspect", "-v", "front") == 0
    assert h.engine.seen[-1][2] == {"verbose": ["1"]}
    assert h.run("network", "inspect", "-f", "json", "front", "bridge") == 0
    assert h.stdout.count("\n") == 1 and json.loads(h.stdout)[1]["Name"] == "bridge"


@pytest.mark.parametrize(("template", "expected"), [
    ("{{.IPAM.Config}}", "[{10.123.0.0/16 10.123.1.0/24 10.123.0.254 map[]}]\n[{10.216.225.0/24  10.216.225.1 map[]}]\n"),
    ("{{.IPAM}}", "{default map[] [{10.123.0.0/16 10.123.1.0/24 10.123.0.254 map[]}]}\n"
                  "{default map[] [{10.216.225.0/24  10.216.225.1 map[]}]}\n"),
    ("{{json .IPAM}}", '{"Driver":"default","Options":{},"Config":[{"Subnet":"10.123.0.0/16","IPRange":"10.123.1.0/24",'
                       '"Gateway":"10.123.0.254"}]}\n'
                       '{"Driver":"default","Options":null,"Config":[{"Subnet":"10.216.225.0/24",'
                       '"Gateway":"10.216.225.1"}]}\n'),
    ("{{.Created}}", "2026-01-28 16:56:12.382783744 +0000 UTC\n2026-01-28 16:56:06.4016 +0000 UTC\n"),
    ("{{json .Created}}", '"2026-01-28T16:56:12.382783744Z"\n"2026-01-28T16:56:06.4016Z"\n'),
    ("{{.ID}}", f"{FRONT_ID}\n{BRIDGE_ID}\n"),
    ("{{.Id}} {{.IPAM.Driver}}", f"{FRONT_ID} default\n{BRIDGE_ID} default\n"),  # not a field: the raw JSON
    ("{{.Labels}} {{json .Labels}}", 'map[a:b tier:front] {"a":"b","tier":"front"}\nmap[] {}\n'),
    ("{{.Containers}}", f"map[]\nmap[{CID}:{{web e1 02:42:0a:00:00:02 10.216.225.2/24 }}]\n"),
    ("{{range $id, $c := .Containers}}{{$c.Name}} {{$c.IPv4Address}}{{end}}", "\nweb 10.216.225.2/24\n"),
    ("{{.EnableIPv4}} {{.Peers}} {{json .Peers}} {{.ConfigFrom}}", "false [] null {}\nfalse [] null {}\n"),
    ("{{.Name}}\\t{{.Driver}}", "front\\tbridge\nbridge\\tbridge\n"),
])
def test_inspect_templates_see_dockers_types(h: Harness, template: str, expected: str) -> None:
    assert h.run("network", "inspect", "--format", template, "front", "bridge") == 0
    assert h.stdout == expected


def test_inspect_json_of_the_whole_network_is_in_the_structs_order(h: Harness) -> None:
    assert h.run("network", "inspect", "-f", "{{json .}}", "front") == 0
    decoded = json.loads(h.stdout)
    assert list(decoded) == ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv4", "EnableIPv6", "IPAM", "Internal",
                             "Attachable", "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options", "Labels"]
    assert h.run("network", "inspect", "-f", "{{.}}", "host") == 0
    assert h.stdout == (f"{{host c9c4cb973c26{'0' * 52} 2026-01-28 16:56:12.382783744 +0000 UTC local host false "
                        "false {default map[] []} false false false {} false map[] map[] map[] [] map[]}\n")


def test_inspect_errors(h: Harness) -> None:
    assert h.run("network", "inspect", "nope", "front", "gone") == 1
    assert json.loads(h.stdout)[0]["Name"] == "front"
    assert h.stderr == ("Error response from daemon: network nope not found\n"
                        "Error response from daemon: network gone not found\n")
    assert h.run("network", "inspect", "nope") == 1
    assert h.stdout == "[]\n"
    assert h.run("network", "inspect", "-f", "{{.Name}}", "nope") == 1
    assert h.stdout == "\n"
    # a field neither the struct nor the JSON has
    assert h.run("network", "inspect", "-f", "{{.Name}} {{.Foo}}", "front", "nope") == 1
    assert h.stdout == "\n"
    assert h.stderr == ('template parsing error: map has no entry for key "Foo"\n'
                        "Error response from daemon: network nope not found\n")
    assert h.run("network", "inspect", "-f", "{{.Name", "front") == 64
    assert h.stderr.startswith("template parsing error:") and h.stdout == ""
    assert h.run("network", "inspect") == 1
    assert "'dockyard network inspect' requires at least 1 argument" in h.stderr


# -- rm, prune -----------------------------------------------------------------------------------------


def test_rm_prints_each_removed_network_and_fails_at_the_end(h: Harness) -> None:
    assert h.run("network", "rm", "nope", "net9", "bridge", "net10") == 1
    assert h.stdout == "net9\nnet10\n"
    assert h.stderr == ("Error response from daemon: network nope not found\n"
                        "Error response from daemon: bridge is a pre-defined network and cannot be removed\n"
                        "exit status 1\n")
    assert [r[1] for r in h.engine.requests("DELETE")] == [PREFIX + f"/networks/{n}"
                                                           for n in ("nope", "net9", "bridge", "net10")]
    assert h.run("network", "remove", "front") == 0
    assert h.stdout == "front\n" and "front" not in h.engine.networks


def test_rm_force_ignores_missing_networks_only(h: Harness) -> None:
    assert h.run("network", "rm", "-f", "nope", "net9") == 0
    assert h.stdout == "net9\n" and h.stderr == ""
    assert h.run("network", "rm", "--force", "nope", "host") == 1
    assert h.stderr == ("Error response from daemon: host is a pre-defined network and cannot be removed\n"
                        "exit status 1\n")
    assert h.run("network", "rm") == 1
    assert h.stderr.startswith("dockyard: 'dockyard network rm' requires at least 1 argument\n\n"
                               "Usage:  dockyard network rm NETWORK [NETWORK...]\n")


def test_prune_asks_first(h: Harness) -> None:
    assert h.run("network", "prune", stdin=b"n\n") == 0
    assert h.stdout == ("WARNING! This will remove all custom networks not used by at least one container.\n"
                        "Are you sure you want to continue? [y/N] ")
    assert h.engine.seen == []
    assert h.run("network", "prune", stdin=b"y\n") == 0
    assert h.stdout.endswith("[y/N] Deleted Networks:\nold1\nold2\n\n")
    assert h.engine.seen[-1][:3] == ("POST", PREFIX + "/networks/prune", {})


def test_prune_force_filters_and_nothing_deleted(h: Harness) -> None:
    assert h.run("network", "prune", "-f", "--filter", "until=24h", "--filter", "label=a=b",
                 "--filter", "label!=keep") == 0
    assert h.stdout == "Deleted Networks:\nold1\nold2\n\n"
    assert json.loads(h.engine.seen[-1][2]["filters"][0]) == {"until": {"24h": True}, "label": {"a=b": True},
                                                              "label!": {"keep": True}}
    h.engine.pruned = []
    assert h.run("network", "prune", "--force") == 0
    assert h.stdout == ""
    assert h.run("network", "prune", "--filter", "bogus") == 125
    assert h.stderr.startswith('invalid argument "bogus" for "--filter" flag: bad format of filter')
    assert "Usage:  dockyard network prune [OPTIONS]" in h.stderr


# -- connect, disconnect ---------------------------------------------------------------------------------


def test_connect_flags_make_the_endpoint_config(h: Harness) -> None:
    assert h.run("network", "connect", "--alias", "www", "--alias", "web,api", "--ip", "10.123.1.5",
                 "front", "c1") == 0
    assert h.stdout == "" and h.stderr == ""
    (_, path, _, body), = h.engine.requests("POST")
    assert path == PREFIX + "/networks/front/connect"
    assert body == {"Container": "c1", "EndpointConfig": {"IPAMConfig": {"IPv4Address": "10.123.1.5"},
                                                          "Aliases": ["www", "web", "api"], "DriverOpts": {}}}
    assert h.run("network", "connect", "--ip6", "fd00::5", "--link-local-ip", "169.254.0.9",
                 "--driver-opt", "k = v", "front", "c2") == 0
    assert h.engine.requests("POST")[-1][3] == {
        "Container": "c2",
        "EndpointConfig": {"IPAMConfig": {"IPv6Address": "fd00::5", "LinkLocalIPs": ["169.254.0.9"]},
                           "Aliases": [], "DriverOpts": {"k": "v"}},
    }
    assert h.run("network", "connect", "front", "c3") == 0
    assert h.engine.requests("POST")[-1][3] == {"Container": "c3", "EndpointConfig": {
        "IPAMConfig": {}, "Aliases": [], "DriverOpts": {}}}


def test_connect_errors(h: Harness) -> None:
    assert h.run("network", "connect", "--driver-opt", "novalue", "front", "c1") == 1
    assert h.stderr == "invalid key/value pair format in driver options\n"
    assert h.run("network", "connect", "front", "nope") == 1
    assert h.stderr == "Error response from daemon: No such container: nope\n"
    assert h.run("network", "connect", "nonet", "c1") == 1
    assert h.stderr == "Error response from daemon: network nonet not found\n"
    assert h.run("network", "connect", "front") == 1
    assert h.stderr.startswith("dockyard: 'dockyard network connect' requires 2 arguments\n\n"
                               "Usage:  dockyard network connect [OPTIONS] NETWORK CONTAINER\n")
    assert h.run("network", "connect", "--ip") == 125
    assert "flag needs an argument: --ip" in h.stderr
    assert h.run("network", "connect", "--mac", "x", "front", "c1") == 125


def test_disconnect(h: Harness) -> None:
    assert h.run("network", "disconnect", "front", "c1") == 0
    assert h.run("network", "disconnect", "-f", "front", "c2") == 0
    assert h.run("network", "disconnect", "--force=false", "front", "c3") == 0
    assert [(r[1], r[3]) for r in h.engine.requests("POST")] == [
        (PREFIX + "/networks/front/disconnect", {"Container": "c1", "Force": False}),
        (PREFIX + "/networks/front/disconnect", {"Container": "c2", "Force": True}),
        (PREFIX + "/networks/front/disconnect", {"Container": "c3", "Force": False}),
    ]
    assert h.stdout == ""
    assert h.run("network", "disconnect", "front", "nope") == 1
    assert h.stderr == "Error response from daemon: No such container: nope\n"
    assert h.run("network", "disconnect", "a", "b", "c") == 1
    assert "'dockyard network disconnect' requires 2 arguments" in h.stderr


# -- help --------------------------------------------------------------------------------------------------


def test_network_is_a_management_command(h: Harness) -> None:
    assert h.run("network") == 0
    assert h.stdout == (
        "Usage:  dockyard network COMMAND\n\nManage networks\n\nCommands:\n"
        "  connect     Connect a container to a network\n"
        "  create      Create a network\n"
        "  disconnect  Disconnect a container from a network\n"
        "  inspect     Display detailed information on one or more networks\n"
        "  ls          List networks\n"
        "  prune       Remove all unused networks\n"
        "  rm          Remove one or more networks\n"
        "\nRun 'dockyard network COMMAND --help' for more information on a command.\n"
    )
    assert h.run("--help") == 0
    assert "  network     Manage networks\n" in h.stdout
    assert h.run("network", "frob") == 1
    assert h.stderr.startswith("dockyard: unknown command: dockyard network frob")
    assert h.engine.seen == []

"""``docker ps --filter`` through the docker CLI v28 against a real dockyardd: every filter Docker
has for containers, its value checks and its error messages and statuses."""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from busybox_image import busybox_archive
from unix_http import UnixHTTPConnection

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 60


@dataclass
class Fleet:
    d: DaemonHandle
    ids: dict[str, str]
    bind_source: Path
    port: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fleet(daemon: DaemonHandle, tmp_path: Path) -> Iterator[Fleet]:
    """Six containers, oldest first: created, exited 0, exited 3, created, running, running."""
    d = daemon
    d.docker("load", "-i", str(busybox_archive()), timeout=T)
    source = tmp_path / "src"
    source.mkdir()
    port = free_port()
    try:
        d.docker("create", "--name", "vol", "-v", f"{source}:/data", "-v", "cache:/var/cache", "busybox", "true",
                 timeout=T)
        d.docker("run", "--name", "old", "--label", "tier=db", "--label", "env=prod", "busybox", "true", timeout=T)
        assert d.docker("run", "--name", "failed", "busybox", "sh", "-c", "exit 3", check=False,
                        timeout=T).returncode == 3
        d.docker("create", "--name", "fresh", "--network", "none", "busybox", "true", timeout=T)
        d.docker("run", "-d", "--name", "web", "--label", "tier=web", "-p", f"127.0.0.1:{port}:80", "--expose", "90",
                 "busybox", "sleep", "1000", timeout=T)
        d.docker("run", "-d", "--name", "hosted", "--network", "host", "busybox", "sleep", "1000", timeout=T)
        ids = dict(line.split() for line in
                   d.docker("ps", "-a", "--no-trunc", "--format", "{{.Names}} {{.ID}}", timeout=T).stdout.splitlines())
        yield Fleet(d, ids, source, port)
    finally:
        left = d.docker("ps", "-aq", check=False, timeout=T).stdout.split()
        if left:
            d.docker("rm", "-f", *left, check=False, timeout=T)


def ps(f: Fleet, *filters: str, all: bool = True) -> list[str]:
    args = ["ps", "--format", "{{.Names}}"] + (["-a"] if all else [])
    for flt in filters:
        args += ["--filter", flt]
    return f.d.docker(*args, timeout=T).stdout.split()


NEWEST_FIRST = ["hosted", "web", "fresh", "failed", "old", "vol"]


def test_listing_defaults(fleet: Fleet) -> None:
    assert ps(fleet) == NEWEST_FIRST
    assert ps(fleet, all=False) == ["hosted", "web"]


def test_status_exited_id_name_label(fleet: Fleet) -> None:
    f = fleet
    assert ps(f, "status=exited", all=False) == ["failed", "old"]  # status implies --all
    assert ps(f, "status=created") == ["fresh", "vol"]
    assert ps(f, "status=created", "status=running") == ["hosted", "web", "fresh", "vol"]
    assert ps(f, "status=paused") == []
    assert ps(f, "exited=3") == ["failed"]
    assert ps(f, "exited=0") == ["old"]  # created containers never exited
    assert ps(f, "exited=0", all=False) == []
    assert ps(f, f"id={f.ids['web'][:10]}") == ["web"]
    assert ps(f, f"id={f.ids['web']}") == ["web"]
    assert ps(f, "name=^/?web$") == ["web"]
    assert ps(f, "name=e") == ["hosted", "web", "fresh", "failed"]
    assert ps(f, "name=e", "status=exited") == ["failed"]
    assert ps(f, "name=e", "name=ol") == ["hosted", "web", "fresh", "failed", "old", "vol"]
    assert ps(f, "label=tier") == ["web", "old"]
    assert ps(f, "label=tier=db") == ["old"]
    assert ps(f, "label=tier=db", "label=env=prod") == ["old"]
    assert ps(f, "label=tier=db", "label=env=dev") == []
    assert ps(f, "label=tier!=db") == []  # no `!=` for containers: a label named "tier!"


def test_before_and_since(fleet: Fleet) -> None:
    f = fleet
    assert ps(f, "before=fresh") == ["failed", "old", "vol"]
    assert ps(f, "since=fresh") == ["hosted", "web"]
    assert ps(f, f"before={f.ids['web']}") == ["fresh", "failed", "old", "vol"]
    assert ps(f, "since=vol", "before=hosted") == ["web", "fresh", "failed", "old"]
    assert ps(f, "since=/old") == ["hosted", "web", "fresh", "failed"]
    # no implied --all: the window is cut first, then only running containers are kept
    assert ps(f, "since=vol", all=False) == ["hosted", "web"]
    assert ps(f, "before=hosted", all=False) == ["web"]


def test_ancestor_health_is_task(fleet: Fleet) -> None:
    f = fleet
    image_id = f.d.docker("image", "inspect", "-f", "{{.Id}}", "busybox", timeout=T).stdout.strip()
    assert ps(f, "ancestor=busybox") == NEWEST_FIRST
    assert ps(f, "ancestor=busybox:latest") == NEWEST_FIRST
    assert ps(f, "ancestor=docker.io/library/busybox:latest") == NEWEST_FIRST
    assert ps(f, f"ancestor={image_id}") == NEWEST_FIRST
    assert ps(f, f"ancestor={image_id.split(':')[1][:12]}") == NEWEST_FIRST
    assert ps(f, "ancestor=debian") == []
    assert ps(f, "ancestor=busybox:1.36") == []
    assert ps(f, "health=none") == NEWEST_FIRST
    assert ps(f, "health=healthy") == []
    assert ps(f, "health=starting", "health=unhealthy") == []
    assert ps(f, "is-task=false") == NEWEST_FIRST
    assert ps(f, "is-task=true") == []


def test_volume_and_network(fleet: Fleet) -> None:
    f = fleet
    assert ps(f, "volume=/data") == ["vol"]
    assert ps(f, f"volume={f.bind_source}") == ["vol"]
    assert ps(f, "volume=cache") == ["vol"]
    assert ps(f, "volume=/var/cache") == ["vol"]
    assert ps(f, "volume=/nowhere") == []
    assert ps(f, "network=bridge") == ["web", "failed", "old", "vol"]
    assert ps(f, "network=host") == ["hosted"]
    assert ps(f, "network=none") == ["fresh"]
    assert ps(f, "network=host", "network=none") == ["hosted", "fresh"]
    assert ps(f, "network=bridge", all=False) == ["web"]
    net = json.loads(f.d.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", "web", timeout=T).stdout)
    network_id = net["bridge"]["NetworkID"]
    assert network_id
    assert ps(f, f"network={network_id[:12]}") == ["web", "failed", "old", "vol"]
    assert ps(f, "network=nope") == []


def test_publish_and_expose(fleet: Fleet) -> None:
    f = fleet
    assert ps(f, f"publish={f.port}") == ["web"]
    assert ps(f, f"publish={f.port}/tcp") == ["web"]
    assert ps(f, f"publish={f.port}/udp") == []
    assert ps(f, f"publish={f.port - 1}-{f.port + 1}") == ["web"]
    assert ps(f, "publish=80") == []  # the host side is what is published
    assert ps(f, "expose=80") == ["web"]
    assert ps(f, "expose=90/tcp") == ["web"]
    assert ps(f, "expose=1-100") == ["web"]
    assert ps(f, "expose=91") == []


@pytest.mark.parametrize(("flt", "message", "status"), [
    ("status=foo", "Invalid filter 'status=foo'", 400),
    ("health=sick", "Unrecognised filter value for health: sick", 400),
    ("is-task=maybe", "Invalid filter 'is-task=[maybe]'", 400),
    ("exited=x", 'strconv.Atoi: parsing "x": invalid syntax', 400),
    ("publish=8080:80", "filter for 'publish' should not contain ':': 8080:80", 400),
    ("expose=abc", 'error while looking up for expose abc: strconv.ParseUint: parsing "abc": invalid syntax', 400),
    ("before=nope", "no such container nope", 404),
    ("since=nope", "no such container nope", 404),
    ("colour=red", "invalid filter 'colour'", 400),
    ("label!=tier", "invalid filter 'label!'", 400),
])
def test_filter_errors(daemon: DaemonHandle, flt: str, message: str, status: int) -> None:
    proc = daemon.docker("ps", "-a", "--filter", flt, check=False, timeout=T)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"Error response from daemon: {message}"
    key, _, value = flt.partition("=")
    query = urllib.parse.urlencode({"all": "1", "filters": json.dumps({key: [value]})})
    conn = UnixHTTPConnection(daemon.socket)
    try:
        conn.request("GET", f"/v1.44/containers/json?{query}")
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert (resp.status, body) == (status, {"message": message})


def test_short_id_is_not_enough_for_before(fleet: Fleet) -> None:
    short = fleet.ids["web"][:12]
    proc = fleet.d.docker("ps", "-a", "--filter", f"before={short}", check=False, timeout=T)
    assert (proc.returncode, proc.stderr.strip()) == (1, f"Error response from daemon: no such container {short}")


def test_a_limit_lists_every_state_newest_first(fleet: Fleet) -> None:
    def names(*args: str) -> list[str]:
        return fleet.d.docker("ps", *args, "--format", "{{.Names}}", timeout=T).stdout.split()

    assert names("-n", "3") == ["hosted", "web", "fresh"]
    assert names("-l") == ["hosted"]
    # the API alone, without the CLI's help: limit implies all
    conn = UnixHTTPConnection(fleet.d.socket)
    try:
        conn.request("GET", "/v1.44/containers/json?limit=4")
        listed = [c["Names"][0] for c in json.loads(conn.getresponse().read())]
    finally:
        conn.close()
    assert listed == ["/hosted", "/web", "/fresh", "/failed"]

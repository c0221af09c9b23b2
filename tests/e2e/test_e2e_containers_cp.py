"""``docker cp`` against dockyardd, through the docker CLI v28 and our own CLI: files and directories
both ways, through symlinks, volumes and the engine's /etc files, into running and stopped
containers, with Docker's errors; the API's path stat and schema."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from api_schema import validate_path_response
from leak_checks import mount_points_under
from unix_http import request

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 60
SETUP = "mkdir -p /d/sub; echo hi > /d/f; ln -s /d /lnk; echo v > /vol/inv; sleep 1000"


@pytest.fixture
def c1(d: DaemonHandle) -> str:
    d.docker("run", "-d", "--name", "c1", "-v", "cpv:/vol", "busybox", "sh", "-c", SETUP, timeout=T)
    d.docker("exec", "c1", "sh", "-c", "while [ ! -e /vol/inv ]; do sleep 0.05; done", timeout=T)
    yield "c1"
    d.docker("rm", "-f", "-v", "c1", timeout=T)
    d.docker("volume", "rm", "-f", "cpv", timeout=T)


def test_copy_out_with_the_docker_cli(d: DaemonHandle, c1: str, tmp_path: Path) -> None:
    d.docker("cp", "c1:/d", str(tmp_path), timeout=T)
    assert (tmp_path / "d" / "f").read_text() == "hi\n" and (tmp_path / "d" / "sub").is_dir()
    d.docker("cp", "c1:/d/f", str(tmp_path / "renamed"), timeout=T)
    assert (tmp_path / "renamed").read_text() == "hi\n"
    d.docker("cp", "c1:/d/.", str(tmp_path / "contents"), timeout=T)
    assert sorted(os.listdir(tmp_path / "contents")) == ["f", "sub"]
    d.docker("cp", "c1:/lnk", str(tmp_path / "l"), timeout=T)
    assert os.readlink(tmp_path / "l") == "/d"
    d.docker("cp", "-L", "c1:/lnk", str(tmp_path / "followed"), timeout=T)
    assert (tmp_path / "followed" / "f").read_text() == "hi\n"
    d.docker("cp", "c1:/vol/inv", str(tmp_path), timeout=T)  # from the volume, not the layer under it
    assert (tmp_path / "inv").read_text() == "v\n"
    d.docker("cp", "c1:/etc/hostname", str(tmp_path / "hn"), timeout=T)
    assert (tmp_path / "hn").read_text().strip() == d.docker("inspect", "-f", "{{.Config.Hostname}}", "c1",
                                                             timeout=T).stdout.strip()
    missing = d.docker("cp", "c1:/nope", str(tmp_path), check=False, timeout=T)
    assert missing.returncode == 1
    assert missing.stderr == "Error response from daemon: Could not find the file /nope in container c1\n"
    assert d.docker("inspect", "-f", "{{.State.Status}}", "c1", timeout=T).stdout.strip() == "running"


def test_copy_in_with_the_docker_cli(d: DaemonHandle, c1: str, tmp_path: Path) -> None:
    (tmp_path / "up.txt").write_text("data\n")
    (tmp_path / "tree" / "in").mkdir(parents=True)
    (tmp_path / "tree" / "in" / "x").write_text("x\n")
    d.docker("cp", str(tmp_path / "up.txt"), "c1:/d/", timeout=T)
    d.docker("cp", str(tmp_path / "up.txt"), "c1:/newname.txt", timeout=T)
    d.docker("cp", str(tmp_path / "tree"), "c1:/copied", timeout=T)
    d.docker("cp", str(tmp_path / "up.txt"), "c1:/vol/", timeout=T)
    d.docker("cp", str(tmp_path / "up.txt"), "c1:/lnk/via-link", timeout=T)
    out = d.docker("exec", "c1", "sh", "-c", "cat /d/up.txt /newname.txt /copied/in/x /vol/up.txt /d/via-link; "
                   "stat -c '%U' /newname.txt", timeout=T).stdout
    assert out == "data\ndata\nx\ndata\ndata\nroot\n"
    nodir = d.docker("cp", str(tmp_path / "up.txt"), "c1:/nodir/x", check=False, timeout=T)
    assert nodir.returncode == 1
    assert nodir.stderr == "Error response from daemon: Could not find the file /nodir in container c1\n"
    d.docker("stop", "-t", "0", "c1", timeout=T)  # a stopped container: its filesystem is mounted for the copy
    d.docker("cp", str(tmp_path / "up.txt"), "c1:/stopped.txt", timeout=T)
    d.docker("cp", "c1:/stopped.txt", str(tmp_path / "back.txt"), timeout=T)
    assert (tmp_path / "back.txt").read_text() == "data\n"
    assert not [m for m in mount_points_under(d.root) if "/cp-" in m]


def test_archive_api_and_own_cli(d: DaemonHandle, c1: str, tmp_path: Path) -> None:
    head = request(d.socket, "HEAD", "/containers/c1/archive?path=/lnk")
    assert head.status == 200
    stat = json.loads(base64.b64decode(head.headers["X-Docker-Container-Path-Stat"]))
    assert (stat["name"], stat["linkTarget"], stat["mode"]) == ("lnk", "/d", (1 << 27) | 0o777)
    got = request(d.socket, "GET", "/containers/c1/archive?path=/d/f")
    assert got.status == 200 and got.headers["Content-Type"] == "application/x-tar"
    missing = request(d.socket, "GET", "/containers/c1/archive?path=/nope")
    validate_path_response("get", "/containers/{id}/archive", 404, missing.json())
    own = ["cp"]
    d.dockyard(*own, "c1:/d", str(tmp_path), timeout=T)
    assert (tmp_path / "d" / "f").read_text() == "hi\n"
    (tmp_path / "mine.txt").write_text("mine\n")
    d.dockyard(*own, str(tmp_path / "mine.txt"), "c1:/d/", timeout=T)
    assert d.docker("exec", "c1", "cat", "/d/mine.txt", timeout=T).stdout == "mine\n"
    assert d.dockyard(*own, "c1:/d/f", "-", timeout=T).stdout[:1] == b"f"  # a tar on stdout, entry "f"
    refused = d.dockyard(*own, "c1:/a", "c1:/b", check=False, timeout=T)
    assert refused.returncode == 1 and b"copying between containers is not supported" in refused.stderr


def test_copies_into_read_only_places_are_refused(d: DaemonHandle, tmp_path: Path) -> None:
    (tmp_path / "up").write_text("x\n")
    ro = tmp_path / "ro"
    ro.mkdir()
    d.docker("run", "-d", "--name", "rov", "-v", f"{ro}:/ro:ro", "busybox", "sleep", "100", timeout=T)
    refused = d.docker("cp", str(tmp_path / "up"), "rov:/ro/", check=False, timeout=T)
    assert refused.returncode == 1
    assert refused.stderr == "Error response from daemon: mounted volume is marked read-only\n"
    assert not (ro / "up").exists()
    d.docker("run", "-d", "--name", "rov2", "--read-only", "busybox", "sleep", "100", timeout=T)
    refused = d.docker("cp", str(tmp_path / "up"), "rov2:/tmp/", check=False, timeout=T)
    assert refused.stderr == "Error response from daemon: container rootfs is marked read-only\n"
    d.docker("rm", "-f", "rov", "rov2", timeout=T)

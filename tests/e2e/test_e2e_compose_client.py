"""docker-compose 1.29.2, a compose client of its own (installed by scripts/test in .venv-compose),
brings a two-service app up against dockyardd: its network with the services' names in DNS, its
named volume, a published port, depends_on order, ps, logs, exec, then down -v leaves nothing."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from polling import wait_for

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 120
COMPOSE = Path(__file__).resolve().parents[2] / ".venv-compose" / "bin" / "docker-compose"

APP = """\
version: "3.8"
services:
  db:
    image: busybox
    command: sh -c "echo db-ready > /data/ready; exec httpd -f -p 8080 -h /data"
    volumes:
      - dbdata:/data
    ports:
      - "127.0.0.1:{port}:8080"
  web:
    image: busybox
    command: sh -c "while true; do wget -q -O /tmp/seen http://db:8080/ready; sleep 0.2; done"
    depends_on:
      - db
volumes:
  dbdata:
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_docker_compose_app(d: DaemonHandle, tmp_path: Path) -> None:
    assert COMPOSE.exists(), f"{COMPOSE} is missing: scripts/test installs it"
    port = _free_port()
    (tmp_path / "docker-compose.yml").write_text(APP.format(port=port))

    def compose(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(COMPOSE), "-p", "shop", *args], cwd=tmp_path, env=d.env(), capture_output=True,
                              text=True, timeout=T)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    up = compose("up", "-d").stderr
    assert 'Creating network "shop_default" with the default driver' in up
    assert 'Creating volume "shop_dbdata" with default driver' in up
    assert up.index("Creating shop_db_1") < up.index("Creating shop_web_1")  # depends_on
    ps = compose("ps").stdout
    assert "shop_db_1" in ps and "shop_web_1" in ps and ps.count(" Up ") == 2, ps

    # web finds db by its service name on the project's network
    assert wait_for(lambda: d.docker("exec", "shop_web_1", "cat", "/tmp/seen", check=False, timeout=T).stdout
                    == "db-ready\n", 20)
    assert "Address: " in compose("exec", "-T", "web", "nslookup", "db").stdout
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=10) as response:
        assert response.read() == b"db-ready\n"
    labels = json.loads(d.docker("inspect", "-f", "{{json .Config.Labels}}", "shop_db_1", timeout=T).stdout)
    assert labels["com.docker.compose.project"] == "shop" and labels["com.docker.compose.service"] == "db"
    assert "shop_dbdata" in d.docker("volume", "ls", "-q", timeout=T).stdout.split()
    assert json.loads(d.docker("network", "inspect", "shop_default", timeout=T).stdout)[0]["Labels"][
        "com.docker.compose.network"] == "default"

    compose("down", "-v", "-t", "1")
    assert d.docker("ps", "-aq", timeout=T).stdout == ""
    assert "shop_dbdata" not in d.docker("volume", "ls", "-q", timeout=T).stdout.split()
    assert "shop_default" not in d.docker("network", "ls", "--format", "{{.Name}}", timeout=T).stdout.split()

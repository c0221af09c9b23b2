"""`dockyard compose`, our own Compose v2, drives a real dockyardd: a database with a healthcheck
and a named volume, a web service that waits for it to be healthy, reaches it by its service name
and publishes a port; ps, logs, exec, converging again with and without a change, stop/start, down
-v; an attached `up`. Names and labels are Compose v2's, checked with the docker CLI (and with
docker-compose 1.29.2, which finds the containers through those labels)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from polling import wait_for

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 120
DOCKER_COMPOSE_V1 = Path(__file__).resolve().parents[2] / ".venv-compose" / "bin" / "docker-compose"

APP = """\
services:
  db:
    image: busybox
    command: sh -c "echo db-ready > /data/ready; exec httpd -f -p 8080 -h /data"
    volumes:
      - dbdata:/data
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/ready"]
      interval: 1s
      timeout: 3s
      retries: 30
  web:
    image: busybox
    command: >-
      sh -c "echo web says $$GREETING; mkdir -p /www;
      (while true; do wget -q -O /www/tmp http://db:8080/ready && mv /www/tmp /www/index.html; sleep 0.3; done) &
      exec httpd -f -p 80 -h /www"
    environment:
      GREETING: ${{GREETING:-hello}}
    depends_on:
      db:
        condition: service_healthy
    ports:
      - "127.0.0.1:{port}:80"
volumes:
  dbdata:
"""

ONESHOT = """\
services:
  hello:
    image: busybox
    command: sh -c "echo hello from compose; echo second line"
  failing:
    image: busybox
    command: sh -c "sleep 0.5; echo failing now; exit 3"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Compose:
    """`dockyard compose` in one project directory."""

    def __init__(self, d: DaemonHandle, directory: Path) -> None:
        self.d = d
        self.directory = directory

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "dockyard.cli.main", "-H", self.d.host, "compose", *args],
                              cwd=self.directory, env=self.d.env(), capture_output=True, text=True, timeout=T)
        if check and proc.returncode != 0:
            raise AssertionError(f"dockyard compose {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc


def _in_order(text: str, *lines: str) -> None:
    """Every line is in ``text``, in this order."""
    position = -1
    for line in lines:
        found = text.find(line + "\n", position + 1)
        assert found > position, f"{line!r} missing or out of order in:\n{text}"
        position = found


def _ids(d: DaemonHandle) -> dict[str, str]:
    out = d.docker("ps", "-a", "--no-trunc", "--format", "{{.Names}} {{.ID}}", timeout=T).stdout
    return dict(line.split() for line in out.splitlines())


def _fetch(port: int) -> bytes:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return bytes(response.read())
    except OSError:
        return b""


def test_compose_app(d: DaemonHandle, tmp_path: Path) -> None:
    project_dir = tmp_path / "Shop App"  # the project is named after it, normalised: "shopapp"
    project_dir.mkdir()
    port = _free_port()
    (project_dir / "compose.yaml").write_text(APP.format(port=port))
    compose = Compose(d, project_dir)

    up = compose("up", "-d").stderr
    _in_order(up,
              " Network shopapp_default  Creating",
              " Network shopapp_default  Created",
              ' Volume "shopapp_dbdata"  Creating',
              ' Volume "shopapp_dbdata"  Created',
              " Container shopapp-db-1  Created",
              " Container shopapp-web-1  Created",
              " Container shopapp-db-1  Started",
              " Container shopapp-db-1  Waiting",
              " Container shopapp-db-1  Healthy",
              " Container shopapp-web-1  Starting",
              " Container shopapp-web-1  Started")

    # Compose v2's names (docker-compose 1.29 said shopapp_db_1)
    ids = _ids(d)
    assert sorted(ids) == ["shopapp-db-1", "shopapp-web-1"]
    assert "shopapp_dbdata" in d.docker("volume", "ls", "-q", timeout=T).stdout.split()
    assert "shopapp_default" in d.docker("network", "ls", "--format", "{{.Name}}", timeout=T).stdout.split()

    # web serves what it fetched from db by service name, on the published port
    assert wait_for(lambda: _fetch(port) == b"db-ready\n", 30), _fetch(port)

    ps = compose("ps").stdout.splitlines()
    assert ps[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    rows = {line.split()[0]: line for line in ps[1:]}
    assert sorted(rows) == ["shopapp-db-1", "shopapp-web-1"]
    assert "(healthy)" in rows["shopapp-db-1"] and " db " in rows["shopapp-db-1"]
    assert f"127.0.0.1:{port}->80/tcp" in rows["shopapp-web-1"]
    listed = [json.loads(line) for line in compose("ps", "--format", "json").stdout.splitlines()]
    assert [(c["Name"], c["Service"], c["Project"], c["State"]) for c in listed] == [
        ("shopapp-db-1", "db", "shopapp", "running"), ("shopapp-web-1", "web", "shopapp", "running")]
    assert sorted(compose("ps", "-q").stdout.split()) == sorted(ids.values())
    assert compose("ps", "--services").stdout == "db\nweb\n"

    assert wait_for(lambda: "web-1  | web says hello\n" in compose("logs", "web").stdout, 10)
    assert compose("logs", "--no-log-prefix", "web").stdout.startswith("web says hello\n")

    lookup = compose("exec", "-T", "web", "nslookup", "db")
    assert "Address" in lookup.stdout and "db" in lookup.stdout
    assert compose("exec", "-T", "web", "sh", "-c", "echo $GREETING").stdout == "hello\n"
    assert compose("exec", "-T", "web", "sh", "-c", "exit 3", check=False).returncode == 3

    # the labels Compose v2 sets (and docker-compose 1.29 and Compose itself look for)
    labels = json.loads(d.docker("inspect", "-f", "{{json .Config.Labels}}", "shopapp-web-1", timeout=T).stdout)
    assert labels["com.docker.compose.project"] == "shopapp"
    assert labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert labels["com.docker.compose.depends_on"] == "db:service_healthy:false"
    assert labels["com.docker.compose.project.working_dir"] == str(project_dir)
    assert labels["com.docker.compose.project.config_files"] == str(project_dir / "compose.yaml")
    assert len(labels["com.docker.compose.config-hash"]) == 64
    assert labels["com.docker.compose.image"].startswith("sha256:")
    network_labels = json.loads(d.docker("network", "inspect", "-f", "{{json .Labels}}", "shopapp_default",
                                         timeout=T).stdout)
    assert network_labels["com.docker.compose.network"] == "default"
    assert network_labels["com.docker.compose.project"] == "shopapp"
    volume_labels = json.loads(d.docker("volume", "inspect", "-f", "{{json .Labels}}", "shopapp_dbdata",
                                        timeout=T).stdout)
    assert volume_labels["com.docker.compose.volume"] == "dbdata"
    endpoints = json.loads(d.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", "shopapp-web-1",
                                    timeout=T).stdout)
    assert "web" in endpoints["shopapp_default"]["Aliases"]
    filtered = d.docker("ps", "--filter", "label=com.docker.compose.project=shopapp", "--filter",
                        "label=com.docker.compose.service=db", "--format", "{{.Names}}", timeout=T).stdout
    assert filtered == "shopapp-db-1\n"
    if DOCKER_COMPOSE_V1.exists():
        # docker-compose 1.29.2 finds our containers by the same labels
        v1 = subprocess.run([str(DOCKER_COMPOSE_V1), "ps"], cwd=project_dir, env=d.env(), capture_output=True,
                            text=True, timeout=T)
        assert v1.returncode == 0, v1.stderr
        assert "shopapp-db-1" in v1.stdout and "shopapp-web-1" in v1.stdout

    # nothing changed: nothing is recreated
    again = compose("up", "-d").stderr
    _in_order(again, " Container shopapp-db-1  Running", " Container shopapp-web-1  Running")
    assert _ids(d) == ids

    # one service changed: only it is recreated
    (project_dir / ".env").write_text("GREETING=bonjour\n")
    recreated = compose("up", "-d").stderr
    _in_order(recreated, " Container shopapp-db-1  Running", " Container shopapp-web-1  Recreate",
              " Container shopapp-web-1  Recreated", " Container shopapp-web-1  Started")
    after = _ids(d)
    assert after["shopapp-db-1"] == ids["shopapp-db-1"]
    assert after["shopapp-web-1"] != ids["shopapp-web-1"]
    assert wait_for(lambda: "web-1  | web says bonjour\n" in compose("logs", "web").stdout, 10)
    assert wait_for(lambda: _fetch(port) == b"db-ready\n", 30)

    stopped = compose("stop", "-t", "1").stderr
    _in_order(stopped, " Container shopapp-web-1  Stopping", " Container shopapp-web-1  Stopped",
              " Container shopapp-db-1  Stopping", " Container shopapp-db-1  Stopped")
    assert d.docker("ps", "-q", timeout=T).stdout == ""
    assert compose("ps").stdout.splitlines()[1:] == []
    assert len(compose("ps", "-a").stdout.splitlines()) == 3
    started = compose("start").stderr
    _in_order(started, " Container shopapp-db-1  Started", " Container shopapp-db-1  Healthy",
              " Container shopapp-web-1  Started")
    assert _ids(d) == after
    assert wait_for(lambda: _fetch(port) == b"db-ready\n", 30)

    down = compose("down", "-v", "-t", "1").stderr
    _in_order(down,
              " Container shopapp-web-1  Removed",
              " Container shopapp-db-1  Removed",
              " Network shopapp_default  Removing",
              " Network shopapp_default  Removed",
              " Volume shopapp_dbdata  Removed")
    assert d.docker("ps", "-aq", timeout=T).stdout == ""
    assert "shopapp_dbdata" not in d.docker("volume", "ls", "-q", timeout=T).stdout.split()
    assert "shopapp_default" not in d.docker("network", "ls", "--format", "{{.Name}}", timeout=T).stdout.split()
    assert compose("down").stderr == 'Warning: No resource found to remove for project "shopapp".\n'


def test_compose_up_attached(d: DaemonHandle, tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(ONESHOT)
    compose = Compose(d, tmp_path)

    run = compose("-p", "oneshot", "up", "hello")
    assert run.stdout.splitlines() == [
        "Attaching to hello-1",
        "hello-1  | hello from compose",
        "hello-1  | second line",
        "hello-1 exited with code 0",
    ]
    _in_order(run.stderr, " Network oneshot_default  Created", " Container oneshot-hello-1  Created",
              " Container oneshot-hello-1  Started")

    # both services: names padded to the longest, each one's exit reported, up ends when all have
    both = compose("-p", "oneshot", "up")
    out = both.stdout
    assert out.splitlines()[0] in ("Attaching to hello-1, failing-1", "Attaching to failing-1, hello-1")
    assert "hello-1    | hello from compose\n" in out
    assert "failing-1  | failing now\n" in out
    assert "failing-1 exited with code 3\n" in out and "hello-1 exited with code 0\n" in out
    assert both.returncode == 0
    assert compose("-p", "oneshot", "up", "--exit-code-from", "failing", "failing", check=False).returncode == 3

    compose("-p", "oneshot", "down")
    assert d.docker("ps", "-aq", timeout=T).stdout == ""

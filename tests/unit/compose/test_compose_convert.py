"""A service replica as the Engine API's create request, its labels and its config hash."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dockyard.compose import COMPOSE_VERSION
from dockyard.compose.convert import ReplicaContext, create_request, restart_policy
from dockyard.compose.hashing import config_hash
from dockyard.compose.loader import LoadOptions, load_project
from dockyard.compose.model import Project

APP = """
services:
  db:
    image: busybox
    volumes: [data:/data, ./conf:/conf:ro, /anon]
    healthcheck: {test: ["CMD", "true"], interval: 1500ms, retries: 3}
  web:
    image: busybox
    command: ["httpd", "-f"]
    entrypoint: /bin/sh -c
    environment: {A: "1"}
    depends_on: {db: {condition: service_healthy}}
    ports: ["127.0.0.1:8080:80", "53/udp"]
    expose: ["9000"]
    networks:
      front: {aliases: [www], priority: 10}
      back: {ipv4_address: 10.1.0.9}
    restart: on-failure:2
    stop_grace_period: 30s
    init: true
    tmpfs: ["/run:size=1m"]
    ulimits: {nofile: {soft: 10, hard: 20}}
    cpus: 1.5
    mem_limit: 1g
    labels: {user.label: x}
    logging: {driver: local, options: {max-size: 1m}}
  solo:
    image: busybox
    container_name: the-solo
    network_mode: host
volumes:
  data:
networks:
  front:
  back:
"""


def project(tmp_path: Path) -> Project:
    (tmp_path / "compose.yaml").write_text(APP)
    return load_project(LoadOptions(working_dir=str(tmp_path), project_name="demo", environ={}))


def test_create_request(tmp_path: Path) -> None:
    p = project(tmp_path)
    request = create_request(p, p.service("web"), ReplicaContext(number=1, image_id="sha256:abc"))
    body = request.body
    assert request.name == "demo-web-1"
    assert body["Image"] == "busybox"
    assert body["Cmd"] == ["httpd", "-f"] and body["Entrypoint"] == ["/bin/sh", "-c"]
    assert body["Env"] == ["A=1"]
    assert body["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "9000/tcp": {}}
    assert body["StopTimeout"] == 30
    labels = body["Labels"]
    assert labels["user.label"] == "x"
    assert {k: v for k, v in labels.items() if k != "com.docker.compose.config-hash"} == {
        "user.label": "x",
        "com.docker.compose.project": "demo",
        "com.docker.compose.service": "web",
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.depends_on": "db:service_healthy:false",
        "com.docker.compose.image": "sha256:abc",
        "com.docker.compose.project.working_dir": str(tmp_path),
        "com.docker.compose.project.config_files": str(tmp_path / "compose.yaml"),
        "com.docker.compose.version": COMPOSE_VERSION,
    }
    assert labels["com.docker.compose.config-hash"] == config_hash(p.service("web"))
    host = body["HostConfig"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                    "53/udp": [{"HostIp": "", "HostPort": ""}]}
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert host["Init"] is True
    assert host["Tmpfs"] == {"/run": "size=1m"}
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 10, "Hard": 20}]
    assert host["NanoCpus"] == 1_500_000_000 and host["Memory"] == 1 << 30
    assert host["LogConfig"] == {"Type": "local", "Config": {"max-size": "1m"}}
    # the highest priority network is the primary; every network is in EndpointsConfig (API 1.44)
    assert host["NetworkMode"] == "demo_front"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {
        "demo_front": {"Aliases": ["demo-web-1", "web", "www"]},
        "demo_back": {"Aliases": ["demo-web-1", "web"], "IPAMConfig": {"IPv4Address": "10.1.0.9"}},
    }}


def test_volumes_and_healthcheck(tmp_path: Path) -> None:
    p = project(tmp_path)
    body = create_request(p, p.service("db"), ReplicaContext(number=2, inherited_volumes={"/anon": "kept"})).body
    assert body["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 1_500_000_000, "Retries": 3}
    host = body["HostConfig"]
    assert host["Binds"] == [f"{tmp_path}/conf:/conf:ro"]
    assert host["Mounts"] == [
        {"Type": "volume", "Target": "/data", "ReadOnly": False, "Source": "demo_data"},
        {"Type": "volume", "Target": "/anon", "ReadOnly": False, "Source": "kept"},
    ]
    assert host["NetworkMode"] == "demo_default"
    assert body["NetworkingConfig"]["EndpointsConfig"] == {"demo_default": {"Aliases": ["demo-db-2", "db"]}}
    assert "Cmd" not in body and "Entrypoint" not in body
    assert host["RestartPolicy"] == {"Name": "no"}


def test_container_name_and_network_mode(tmp_path: Path) -> None:
    p = project(tmp_path)
    request = create_request(p, p.service("solo"), ReplicaContext(number=1))
    assert request.name == "the-solo"
    assert request.body["HostConfig"]["NetworkMode"] == "host"
    assert request.body["NetworkingConfig"] == {"EndpointsConfig": {}}


def test_restart_policies() -> None:
    assert restart_policy("always") == {"Name": "always"}
    assert restart_policy("on-failure") == {"Name": "on-failure", "MaximumRetryCount": 0}
    assert restart_policy("") == {"Name": "no"}


def test_config_hash_is_stable_and_selective(tmp_path: Path) -> None:
    p = project(tmp_path)
    web = p.service("web")
    assert config_hash(web) == config_hash(project(tmp_path).service("web"))
    assert len(config_hash(web)) == 64
    # what does not shape the container leaves the hash alone
    assert config_hash(replace(web, scale=3, depends_on=(), profiles=("x",), pull_policy="always")) == config_hash(web)
    # what does changes it
    assert config_hash(replace(web, command=("true",))) != config_hash(web)
    assert config_hash(replace(web, environment={"A": "2"})) != config_hash(web)
    assert config_hash(replace(web, image="busybox:1")) != config_hash(web)
    # key order in the file does not matter
    (tmp_path / "compose.yaml").write_text(APP.replace('environment: {A: "1"}', "environment: [A=1]"))
    reordered = load_project(LoadOptions(working_dir=str(tmp_path), project_name="demo", environ={})).service("web")
    assert config_hash(reordered) == config_hash(web)

"""Loading projects: finding files, .env, merging, naming, profiles, and Compose's errors. What the
loader produces is checked against the Compose Specification's JSON schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dockyard.compose.errors import InvalidProject, NoConfigFile, Unsupported
from dockyard.compose.loader import LoadOptions, find_config_files, load_project
from dockyard.compose.model import CONDITION_HEALTHY, MountSpec, PortSpec, Project
from dockyard.compose.serialize import project_dict
from dockyard.compose.yamlio import dump_yaml, load_yaml

SCHEMA = Path("/work/shared/specs/compose-spec.json")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(directory: Path, *, env: dict[str, str] | None = None, warnings: list[str] | None = None,
         **options: Any) -> Project:
    opts = LoadOptions(working_dir=str(directory), environ=env or {}, **options)
    return load_project(opts, warn=(warnings.append if warnings is not None else lambda _: None))


def assert_valid(project: Project) -> None:
    """The normalised project (what `config` prints) is a valid compose file, per the spec."""
    if not SCHEMA.exists():
        pytest.skip("compose-spec.json is not available here")
    schema = json.loads(SCHEMA.read_text())
    data = load_yaml(dump_yaml(project_dict(project)), "config")
    jsonschema.Draft202012Validator(schema).validate(data)


APP = """\
services:
  db:
    image: busybox
    command: sh -c "exec httpd -f -p 8080"
    volumes:
      - data:/data
      - ./conf:/etc/conf:ro
      - /var/log
    healthcheck:
      test: wget -q -O- http://localhost:8080/
      interval: 1s
      timeout: 2s
      retries: 10
      start_period: 1m30s
  web:
    image: busybox:${TAG:-1.36}
    depends_on:
      db:
        condition: service_healthy
    ports:
      - "127.0.0.1:${PORT}:80"
      - "9000-9001:9000-9001/udp"
      - target: 443
        published: "8443"
        host_ip: 0.0.0.0
    environment:
      - GREETING=${GREETING}
      - FROM_SHELL
    networks:
      front:
        aliases: [www]
      default:
    restart: unless-stopped
    stop_grace_period: 1m
volumes:
  data:
networks:
  front:
    driver: bridge
    ipam:
      config:
        - subnet: 10.77.0.0/24
"""


def test_the_app(tmp_path: Path) -> None:
    project_dir = tmp_path / "My App"
    write(project_dir, "compose.yaml", APP)
    write(project_dir, ".env", "PORT=18080\nGREETING=hello\n")
    project = load(project_dir, env={"FROM_SHELL": "shell", "PORT": "28080"})
    assert project.name == "myapp"
    assert project.working_dir == str(project_dir)
    assert project.config_files == (str(project_dir / "compose.yaml"),)
    assert project.environment_file == str(project_dir / ".env")
    assert project.service_names == ("db", "web")
    db, web = project.services
    assert db.command == ("sh", "-c", "exec httpd -f -p 8080")
    assert db.volumes == (
        MountSpec(type="volume", target="/data", source="data", short_syntax=True),
        MountSpec(type="bind", target="/etc/conf", source=str(project_dir / "conf"), read_only=True,
                  short_syntax=True),
        MountSpec(type="volume", target="/var/log", short_syntax=True),
    )
    assert db.healthcheck is not None
    assert db.healthcheck.test == ("CMD-SHELL", "wget -q -O- http://localhost:8080/")
    assert (db.healthcheck.interval, db.healthcheck.timeout, db.healthcheck.start_period) == (1.0, 2.0, 90.0)
    assert web.image == "busybox:1.36"
    assert web.ports == (
        PortSpec(target=80, published="28080", host_ip="127.0.0.1"),  # the shell wins over .env
        PortSpec(target=9000, published="9000", protocol="udp"),
        PortSpec(target=9001, published="9001", protocol="udp"),
        PortSpec(target=443, published="8443", host_ip="0.0.0.0"),
    )
    assert dict(web.environment) == {"GREETING": "hello", "FROM_SHELL": "shell"}
    assert [(d.service, d.condition) for d in web.depends_on] == [("db", CONDITION_HEALTHY)]
    assert [(n.name, n.aliases) for n in web.networks] == [("front", ("www",)), ("default", ())]
    assert db.networks[0].name == "default"
    assert web.stop_grace_period == 60.0
    assert project.networks["default"].name == "myapp_default"
    assert project.networks["front"].name == "myapp_front"
    assert project.volumes["data"].name == "myapp_data"
    assert_valid(project)


def test_config_output_is_stable_yaml(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", APP)
    project = load(tmp_path, env={"PORT": "1"}, project_name="demo")
    text = dump_yaml(project_dict(project))
    assert text.startswith("name: demo\nservices:\n  db:\n")
    assert "    networks:\n      default: null\n" in text
    assert '        published: "1"\n' in text


@pytest.mark.parametrize("names, chosen", [
    (["compose.yaml", "docker-compose.yml"], "compose.yaml"),
    (["docker-compose.yml"], "docker-compose.yml"),
    (["compose.yml", "docker-compose.yaml"], "compose.yml"),
])
def test_default_file_names(tmp_path: Path, names: list[str], chosen: str) -> None:
    for name in names:
        write(tmp_path, name, "services: {a: {image: busybox}}\n")
    warnings: list[str] = []
    assert find_config_files(str(tmp_path), warnings.append) == [str(tmp_path / chosen)]
    assert bool(warnings) == (len(names) > 1)


def test_files_are_found_in_parent_directories(tmp_path: Path) -> None:
    write(tmp_path, "docker-compose.yml", "services: {a: {image: busybox}}\n")
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    project = load(deep)
    assert project.working_dir == str(tmp_path)
    assert project.name == tmp_path.name.lower()


def test_no_file(tmp_path: Path) -> None:
    with pytest.raises(NoConfigFile, match="no configuration file provided: not found"):
        find_config_files(str(tmp_path))


def test_override_file_is_merged(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """
services:
  web:
    image: busybox
    command: ["sleep", "1"]
    environment: {A: "1", B: "2"}
    ports: ["8080:80"]
    volumes: ["./a:/data", "/cache"]
    labels: [x=1]
""")
    write(tmp_path, "compose.override.yaml", """
services:
  web:
    command: sleep 2
    environment: [B=3, C=4]
    ports: ["9090:90"]
    volumes: ["./b:/data"]
    labels: {y: "2"}
  extra:
    image: busybox
""")
    project = load(tmp_path, project_name="demo")
    assert project.config_files == (str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yaml"))
    web = project.service("web")
    assert web.command == ("sleep", "2")
    assert dict(web.environment) == {"A": "1", "B": "3", "C": "4"}
    assert [p.published for p in web.ports] == ["8080", "9090"]
    assert [(m.source, m.target) for m in web.volumes] == [(str(tmp_path / "b"), "/data"), ("", "/cache")]
    assert dict(web.labels) == {"x": "1", "y": "2"}
    assert project.service_names == ("web", "extra")


def test_explicit_files_skip_the_override(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services: {web: {image: busybox}}\n")
    write(tmp_path, "compose.override.yaml", "services: {web: {image: other}}\n")
    write(tmp_path, "more.yml", "services: {web: {depends_on: [db]}, db: {image: busybox}}\n")
    project = load(tmp_path, files=("compose.yaml", "more.yml"))
    assert project.service("web").image == "busybox"
    assert [d.service for d in project.service("web").depends_on] == ["db"]


def test_project_name_precedence(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "name: fromfile\nservices: {a: {image: busybox}}\n")
    assert load(tmp_path).name == "fromfile"
    assert load(tmp_path, env={"COMPOSE_PROJECT_NAME": "fromenv"}).name == "fromenv"
    assert load(tmp_path, env={"COMPOSE_PROJECT_NAME": "fromenv"}, project_name="flag").name == "flag"
    with pytest.raises(InvalidProject) as info:
        load(tmp_path, project_name="Bad Name")
    assert str(info.value) == ('invalid project name "Bad Name": must consist only of lowercase alphanumeric '
                               "characters, hyphens, and underscores as well as start with a letter or number")


@pytest.mark.parametrize("directory, name", [("My.Project", "myproject"), ("__x-1", "x-1"), ("Ünï_cøde", "n_cde")])
def test_directory_names_are_normalised(tmp_path: Path, directory: str, name: str) -> None:
    write(tmp_path / directory, "compose.yaml", "services: {a: {image: busybox}}\n")
    assert load(tmp_path / directory).name == name


def test_env_file_options_and_compose_variables(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services: {a: {image: 'busybox:${TAG}'}}\n")
    write(tmp_path, "other.yaml", "services: {b: {image: busybox, profiles: [dev]}}\n")
    write(tmp_path, "custom.env", "TAG=custom\nCOMPOSE_PROJECT_NAME=envproj\n")
    write(tmp_path, ".env", "TAG=dotenv\nCOMPOSE_FILE=other.yaml\nCOMPOSE_PROFILES=dev\n")
    project = load(tmp_path, env_files=("custom.env",))
    assert project.name == "envproj"
    assert project.service("a").image == "busybox:custom"
    dotenv = load(tmp_path)
    assert dotenv.config_files == (str(tmp_path / "other.yaml"),)
    assert dotenv.service_names == ("b",)


def test_service_environment_and_env_file(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """
services:
  a:
    image: busybox
    env_file: [common.env, {path: optional.env, required: false}]
    environment:
      OVERRIDDEN: from-compose
      INHERITED:
      NUMBER: 1
      FLAG: true
""")
    write(tmp_path, "common.env", "OVERRIDDEN=from-file\nONLY_FILE=x\n")
    env = dict(load(tmp_path, env={"INHERITED": "yes"}).service("a").environment)
    assert env == {"OVERRIDDEN": "from-compose", "ONLY_FILE": "x", "INHERITED": "yes", "NUMBER": "1", "FLAG": "true"}
    write(tmp_path, "compose.yaml", "services: {a: {image: busybox, env_file: missing.env}}\n")
    with pytest.raises(InvalidProject, match="env file .*missing.env not found"):
        load(tmp_path)


def test_profiles(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """
services:
  app: {image: busybox}
  debug: {image: busybox, profiles: [debug]}
  tools: {image: busybox, profiles: [tools], depends_on: [helper]}
  helper: {image: busybox, profiles: [helper]}
""")
    assert load(tmp_path).service_names == ("app",)
    assert [s.name for s in load(tmp_path).disabled] == ["debug", "tools", "helper"]
    assert load(tmp_path, profiles=("debug",)).service_names == ("app", "debug")
    assert load(tmp_path, profiles=("*",)).service_names == ("app", "debug", "tools", "helper")
    # a service named on the command line is enabled, with its dependencies
    assert load(tmp_path, services=("tools",)).service_names == ("app", "tools", "helper")
    with pytest.raises(InvalidProject, match='service "helper" was pulled in as a dependency of service "tools"'):
        load(tmp_path, profiles=("tools",))


def test_version_is_obsolete(tmp_path: Path) -> None:
    file = write(tmp_path, "compose.yaml", "version: '3.8'\nservices: {a: {image: busybox}}\n")
    warnings: list[str] = []
    load(tmp_path, warnings=warnings)
    assert warnings == [f"{file}: the attribute `version` is obsolete, it will be ignored, please remove it to "
                        "avoid potential confusion"]


def test_unset_variables_warn(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services: {a: {image: 'busybox${SUFFIX}', command: 'echo $SUFFIX'}}\n")
    warnings: list[str] = []
    load(tmp_path, warnings=warnings)
    assert warnings == ['The "SUFFIX" variable is not set. Defaulting to a blank string.']


@pytest.mark.parametrize("text, message", [
    ("services: {a: {image: busybox}}\nfoo: 1\n", "validating {file}: additional properties 'foo' not allowed"),
    ("services: {a: {image: busybox, imagee: x}}\n",
     "validating {file}: services.a additional properties 'imagee' not allowed"),
    ("services: {a: {command: x}}\n",
     'service "a" has neither an image nor a build context specified: invalid compose project'),
    ("services: {a: {image: busybox, ports: ['80:abc']}}\n", "services.a.ports: invalid containerPort: abc"),
    ("services: {a: {image: busybox, ports: ['80:80/xyz']}}\n", "services.a.ports: invalid proto: xyz"),
    ("services: {a: {image: busybox, ports: ['1-3:4-5']}}\n",
     "services.a.ports: invalid ranges specified for container and host Ports: 4-5 and 1-3"),
    ("services: {a: {image: busybox, ports: ['abc.d:80:80']}}\n", "services.a.ports: invalid IP address: abc.d"),
    ("services: {a: {image: busybox, volumes: [data:/d]}}\n",
     'service "a" refers to undefined volume data: invalid compose project'),
    ("services: {a: {image: busybox, networks: [front]}}\n",
     'service "a" refers to undefined network front: invalid compose project'),
    ("services: {a: {image: busybox, depends_on: [b]}}\n",
     'service "a" depends on undefined service "b": invalid compose project'),
    ("services: {a: {image: busybox, depends_on: [b]}, b: {image: busybox, depends_on: [a]}}\n",
     "dependency cycle detected: a -> b -> a"),
    ("services: {a: {image: busybox, depends_on: {b: {condition: service_ready}}}, b: {image: busybox}}\n",
     'services.a.depends_on.b.condition must be one of "service_started", "service_healthy", '
     '"service_completed_successfully", not "service_ready"'),
    ("services: {a: {image: busybox, tty: maybe}}\n", "services.a.tty must be a boolean, not a string"),
    ("services: {a: {image: busybox, restart: sometimes}}\n", 'services.a.restart: invalid restart policy "sometimes"'),
    ("services: {a: {image: busybox, network_mode: host, networks: [x]}}\nnetworks: {x: {}}\n",
     "service a declares mutually exclusive `network_mode` and `networks`: invalid compose project"),
    ("services: {a: {image: busybox, volumes: ['data']}}\n",
     'invalid mount config: mount path must be absolute: "data"'),
    ("services: [a]\n", "validating {file}: services must be a mapping"),
    ("- a\n", "{file}: Top-level object must be a mapping"),
    ("", "{file}: empty compose file"),
    ("networks: {n: {external: true, driver: bridge}}\nservices: {a: {image: busybox}}\n",
     'conflicting parameters "external" and "driver" specified for network "n"'),
])
def test_invalid_projects(tmp_path: Path, text: str, message: str) -> None:
    file = write(tmp_path, "compose.yaml", text)
    with pytest.raises(InvalidProject) as info:
        load(tmp_path)
    assert str(info.value) == message.format(file=file)


@pytest.mark.parametrize("text, fragment", [
    ("services: {a: {build: .}}\n", "building images is not supported yet"),
    ("services: {a: {image: busybox, secrets: [s]}}\n", "services.a.secrets is not supported"),
    ("services: {a: {image: busybox, extends: {service: b}}}\n", "services.a.extends is not supported"),
    ("services: {a: {image: busybox}}\nsecrets: {s: {file: ./s}}\n", "top-level `secrets` is not supported"),
    ("services: {a: {image: busybox, deploy: {mode: global}}}\n", "services.a.deploy.mode: global is not supported"),
])
def test_unsupported_features_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    write(tmp_path, "compose.yaml", text)
    with pytest.raises(Unsupported, match=fragment):
        load(tmp_path)


def test_build_with_image_uses_the_image(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services: {a: {image: mine, build: .}}\n")
    service = load(tmp_path).service("a")
    assert service.image == "mine" and service.has_build


def test_long_syntax_and_more_keys_are_valid_compose(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", """
name: full
services:
  svc:
    image: busybox
    entrypoint: ["/bin/sh", "-c"]
    command: echo hi
    hostname: box
    working_dir: /tmp
    user: "1000:1000"
    tty: true
    stdin_open: true
    init: true
    read_only: true
    privileged: false
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    extra_hosts: ["somehost=162.242.195.82", "other:10.0.0.1"]
    dns: 8.8.8.8
    dns_search: [example.com]
    sysctls: {net.core.somaxconn: 1024}
    ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
    shm_size: 64m
    mem_limit: 512m
    cpus: 0.5
    pids_limit: 100
    tmpfs: [/run, "/tmp:size=64m"]
    logging: {driver: json-file, options: {max-size: 10m}}
    stop_signal: SIGINT
    labels: {com.example.k: v}
    container_name: full-svc
    scale: 1
    expose: ["3000", "8000-8001/udp"]
    volumes:
      - type: bind
        source: ./src
        target: /src
        read_only: true
        bind: {create_host_path: false}
      - type: volume
        source: data
        target: /data
        volume: {nocopy: true}
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 1000000}
    networks:
      back: {ipv4_address: 10.9.0.5, aliases: [b]}
    healthcheck: {disable: true}
    deploy:
      resources: {limits: {memory: 1g}}
      restart_policy: {condition: on-failure, max_attempts: 3}
      placement: {constraints: ["node.role==manager"]}
volumes:
  data: {labels: [a=b]}
  ext: {external: true, name: real-ext}
networks:
  back:
    ipam: {config: [{subnet: 10.9.0.0/24, gateway: 10.9.0.1}]}
    labels: {x: y}
""")
    project = load(tmp_path)
    svc = project.service("svc")
    assert svc.extra_hosts == ("somehost:162.242.195.82", "other:10.0.0.1")
    assert svc.mem_limit == 512 * 1024 * 1024 and svc.shm_size == 64 * 1024 * 1024
    assert svc.restart == "on-failure:3"
    assert [(u.name, u.soft, u.hard) for u in svc.ulimits] == [("nproc", 65535, 65535), ("nofile", 20000, 40000)]
    assert svc.healthcheck is not None and svc.healthcheck.disable
    assert project.volumes["ext"].name == "real-ext" and project.volumes["ext"].external
    assert "default" not in project.networks
    assert_valid(project)

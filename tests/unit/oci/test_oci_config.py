from __future__ import annotations

import hashlib
import json

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.oci.image import (
    ContainerConfig,
    HealthConfig,
    HistoryEntry,
    ImageConfig,
    chain_ids,
)
from dockyard.oci.mediatypes import DOCKER_CONFIG, OCI_CONFIG
from dockyard.oci.platform import Platform

D1, D2, D3 = (Digest.from_bytes(b) for b in (b"1", b"2", b"3"))

# Shaped like what `docker build` (classic builder) writes, nulls and legacy keys included.
DOCKER_STYLE = {
    "architecture": "amd64",
    "os": "linux",
    "created": "2024-01-02T03:04:05.123456789Z",
    "docker_version": "24.0.7",
    "container": "abc",
    "container_config": {"Hostname": "abc", "Cmd": ["/bin/sh", "-c", "#(nop) CMD [\"sh\"]"]},
    "config": {
        "Hostname": "",
        "Domainname": "",
        "User": "",
        "AttachStdout": False,
        "Tty": False,
        "Env": ["PATH=/usr/bin:/bin"],
        "Cmd": ["sh"],
        "Entrypoint": None,
        "Image": "sha256:" + "b" * 64,
        "Volumes": None,
        "WorkingDir": "",
        "OnBuild": None,
        "Labels": None,
        "ExposedPorts": {"443/tcp": {}, "80/tcp": {}},
    },
    "rootfs": {"type": "layers", "diff_ids": [str(D1), str(D2)]},
    "history": [
        {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:x in / "},
        {"created": "2024-01-02T03:04:05.123456789Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]",
         "empty_layer": True},
    ],
}


def test_docker_style_config_decodes() -> None:
    cfg = ImageConfig.from_bytes(json.dumps(DOCKER_STYLE).encode())
    assert (cfg.architecture, cfg.os) == ("amd64", "linux")
    assert cfg.config.cmd == ("sh",)
    assert cfg.config.entrypoint is None
    assert cfg.config.env == ("PATH=/usr/bin:/bin",)
    assert cfg.config.exposed_ports == ("443/tcp", "80/tcp")
    assert cfg.config.volumes == ()
    assert dict(cfg.config.labels) == {}
    assert cfg.diff_ids == (D1, D2)
    assert cfg.history[1].empty_layer and not cfg.history[0].empty_layer
    assert cfg.extra["docker_version"] == "24.0.7"
    assert cfg.config.extra["Image"] == "sha256:" + "b" * 64
    assert cfg.created_unix() == pytest.approx(1704164645.123456789)
    assert cfg.platform == Platform("linux", "amd64")


def test_round_trip_preserves_unknown_keys() -> None:
    cfg = ImageConfig.from_bytes(json.dumps(DOCKER_STYLE))
    again = ImageConfig.from_bytes(cfg.to_bytes())
    assert again == cfg
    obj = json.loads(cfg.to_bytes())
    assert obj["container_config"] == DOCKER_STYLE["container_config"]
    assert obj["docker_version"] == "24.0.7"
    assert obj["config"]["Hostname"] == ""
    # None-valued Docker fields are omitted rather than written as null.
    assert "Entrypoint" not in obj["config"] and "Labels" not in obj["config"]


def test_to_bytes_is_canonical() -> None:
    cfg = ImageConfig("amd64", "linux", diff_ids=(D1,))
    data = cfg.to_bytes()
    assert data == json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
    assert data == (b'{"architecture":"amd64","config":{},"os":"linux","rootfs":{"diff_ids":["'
                    + str(D1).encode() + b'"],"type":"layers"}}')
    desc = cfg.descriptor()
    assert desc.media_type == OCI_CONFIG and desc.size == len(data)
    assert desc.digest.hex == hashlib.sha256(data).hexdigest()
    assert cfg.descriptor(DOCKER_CONFIG).media_type == DOCKER_CONFIG


def test_container_config_json_keys() -> None:
    cc = ContainerConfig(
        user="u", env=("A=1",), cmd=("c",), entrypoint=("e",), working_dir="/w", labels={"l": "v"},
        exposed_ports=("80/tcp",), volumes=("/data",), stop_signal="SIGINT",
        healthcheck=HealthConfig(("CMD-SHELL", "true"), 1, 2, 3, 4, 5), shell=("sh", "-c"),
        on_build=("RUN x",), args_escaped=True,
    )
    assert cc.to_json_obj() == {
        "User": "u", "Env": ["A=1"], "Cmd": ["c"], "Entrypoint": ["e"], "WorkingDir": "/w",
        "Labels": {"l": "v"}, "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}},
        "StopSignal": "SIGINT",
        "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 1, "Timeout": 2, "StartPeriod": 3,
                        "StartInterval": 4, "Retries": 5},
        "Shell": ["sh", "-c"], "OnBuild": ["RUN x"], "ArgsEscaped": True,
    }
    assert ContainerConfig.from_json_obj(cc.to_json_obj()) == cc
    assert ContainerConfig().to_json_obj() == {}


def test_explicitly_empty_cmd_survives() -> None:
    cc = ContainerConfig(cmd=(), entrypoint=("x",))
    assert cc.to_json_obj()["Cmd"] == []
    assert ContainerConfig.from_json_obj(cc.to_json_obj()).cmd == ()


def test_container_config_tolerates_null_and_strings() -> None:
    assert ContainerConfig.from_json_obj(None) == ContainerConfig()
    assert ContainerConfig.from_json_obj({"Cmd": "sh"}).cmd == ("sh",)
    assert ContainerConfig.from_json_obj({"Healthcheck": {"Test": ["NONE"]}}).healthcheck == HealthConfig(("NONE",))


def test_config_values_are_immutable_and_hashable() -> None:
    labels = {"a": "b"}
    cc = ContainerConfig(labels=labels, env=["A=1"])  # type: ignore[arg-type]
    labels["a"] = "c"
    assert cc.labels["a"] == "b" and cc.env == ("A=1",)
    assert hash(cc) == hash(ContainerConfig(labels={"a": "b"}, env=("A=1",)))
    hash(ImageConfig("amd64", "linux", extra={"x": [1]}))


def test_history_entry_json() -> None:
    h = HistoryEntry("2024-01-02T03:04:05Z", "RUN x", "me", "c", True)
    assert h.to_json_obj() == {"created": "2024-01-02T03:04:05Z", "created_by": "RUN x", "author": "me",
                               "comment": "c", "empty_layer": True}
    assert HistoryEntry.from_json_obj(h.to_json_obj()) == h
    assert HistoryEntry().to_json_obj() == {}


def test_platform_property() -> None:
    cfg = ImageConfig("arm64", "linux", variant="v8", os_version="x", extra={"os.features": ["f"]})
    assert cfg.platform == Platform("linux", "arm64", "v8", "x", ("f",))
    assert ImageConfig("amd64", "linux").created_unix() == 0.0


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda o: o.pop("rootfs"), 'rootfs type must be "layers"'),
    (lambda o: o["rootfs"].update(type="overlay"), 'rootfs type must be "layers"'),
    (lambda o: o["rootfs"].update(diff_ids=["nope"]), "rootfs.diff_ids"),
    (lambda o: o["rootfs"].update(diff_ids="x"), "rootfs.diff_ids"),
    (lambda o: o.update(created="yesterday"), "invalid image config"),
    (lambda o: o.update(history=[{"created": "bad"}]), "invalid image config"),
    (lambda o: o["config"].update(Env=[1]), "Env"),
    (lambda o: o["config"].update(Labels={"a": 1}), "Labels"),
    (lambda o: o.update(config=[]), "config"),
    (lambda o: o.update(architecture=5), "architecture"),
])
def test_invalid_configs(mutate: object, message: str) -> None:
    obj = json.loads(json.dumps(DOCKER_STYLE))
    mutate(obj)  # type: ignore[operator]
    with pytest.raises(InvalidArgument, match="^invalid image config") as exc:
        ImageConfig.from_bytes(json.dumps(obj).encode())
    assert message in str(exc.value)


@pytest.mark.parametrize("data", [b"", b"[]", b"{", b"\xff"])
def test_not_json_objects(data: bytes) -> None:
    with pytest.raises(InvalidArgument, match="^invalid image config"):
        ImageConfig.from_bytes(data)


def test_chain_ids() -> None:
    assert chain_ids([]) == []
    c = chain_ids([D1, D2, D3])
    assert c[0] == D1
    assert c[1] == Digest("sha256", hashlib.sha256(f"{D1} {D2}".encode()).hexdigest())
    assert c[2] == Digest("sha256", hashlib.sha256(f"{c[1]} {D3}".encode()).hexdigest())
    assert ImageConfig("amd64", "linux", diff_ids=(D1, D2, D3)).chain_ids() == c


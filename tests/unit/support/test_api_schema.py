"""The Engine API schema validator accepts Docker-shaped bodies and rejects wrong types."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from api_schema import (
    ApiSchemaError,
    definition_schema,
    path_response_schema,
    response_errors,
    validate_path_response,
    validate_response,
)

LAYER = "sha256:" + "ab" * 32

# What `docker image inspect busybox` returns from Docker 25 (API 1.44), ids shortened to fakes.
IMAGE_INSPECT: dict[str, Any] = {
    "Id": "sha256:" + "12" * 32,
    "RepoTags": ["busybox:latest"],
    "RepoDigests": [],
    "Parent": "",
    "Comment": "",
    "Created": "2024-01-01T00:00:00Z",
    "DockerVersion": "",
    "Author": "",
    "Config": {
        "Hostname": "",
        "Domainname": "",
        "User": "",
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
        "Image": "",
        "Volumes": None,
        "WorkingDir": "",
        "Entrypoint": None,
        "OnBuild": None,
        "Labels": None,
    },
    "Architecture": "amd64",
    "Os": "linux",
    "Size": 2140160,
    "GraphDriver": {
        "Data": {"MergedDir": "/x/merged", "UpperDir": "/x/diff", "WorkDir": "/x/work"},
        "Name": "overlay2",
    },
    "RootFS": {"Type": "layers", "Layers": [LAYER]},
    "Metadata": {"LastTagTime": "2024-01-01T00:00:01.5Z"},
}

IMAGE_SUMMARY: dict[str, Any] = {
    "Containers": -1,
    "Created": 1704067200,
    "Id": "sha256:" + "12" * 32,
    "Labels": {},
    "ParentId": "",
    "RepoDigests": [],
    "RepoTags": ["busybox:latest"],
    "SharedSize": -1,
    "Size": 2140160,
}


def strict_inspect() -> dict[str, Any]:
    """The inspect body with the Go nil slices/maps spelled as the spec types them."""
    body = copy.deepcopy(IMAGE_INSPECT)
    body["Config"].update(Volumes={}, Entrypoint=[], Labels={})
    return body


def test_image_inspect_strict_body_is_valid() -> None:
    validate_response("ImageInspect", strict_inspect())


def test_go_nulls_admit_docker_real_null_arrays() -> None:
    # The spec types Config.Entrypoint as array without x-nullable; Docker sends null.
    errors = response_errors("ImageInspect", IMAGE_INSPECT)
    assert any("Entrypoint" in e for e in errors)
    validate_response("ImageInspect", IMAGE_INSPECT, go_nulls=True)


def test_x_nullable_admits_null() -> None:
    body = strict_inspect()
    body["Config"]["StopSignal"] = None  # x-nullable: true in ContainerConfig
    body["Variant"] = None
    validate_response("ImageInspect", body)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda b: b.update(Size="2140160"), "['Size']"),
        (lambda b: b.update(RepoTags="busybox:latest"), "['RepoTags']"),
        (lambda b: b["RepoTags"].append(7), "['RepoTags'][1]"),
        (lambda b: b["Config"].update(Tty="false"), "['Config']['Tty']"),
        (lambda b: b.update(Id=None), "['Id']"),
        (lambda b: b["GraphDriver"].pop("Name"), "['GraphDriver']"),
    ],
)
def test_image_inspect_wrong_types_rejected(mutate: Any, where: str) -> None:
    body = strict_inspect()
    mutate(body)
    with pytest.raises(ApiSchemaError) as exc:
        validate_response("ImageInspect", body)
    assert any(e.startswith("$" + where) for e in exc.value.errors), exc.value.errors
    assert isinstance(exc.value, AssertionError)  # pytest shows the violations as a failure


def test_image_list_via_inline_path_schema() -> None:
    validate_path_response("get", "/images/json", 200, [IMAGE_SUMMARY])
    validate_path_response("GET", "/v1.44/images/json", 200, [])
    validate_response("ImageSummary", IMAGE_SUMMARY)


@pytest.mark.parametrize(
    "bad",
    [
        {k: v for k, v in IMAGE_SUMMARY.items() if k != "SharedSize"},  # required
        {**IMAGE_SUMMARY, "Created": "2024-01-01T00:00:00Z"},  # integer, not a date
        {**IMAGE_SUMMARY, "Labels": None},  # not x-nullable
        {**IMAGE_SUMMARY, "Containers": True},  # bool is not an integer
    ],
)
def test_image_list_entry_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ApiSchemaError):
        validate_path_response("get", "/images/json", 200, [IMAGE_SUMMARY, bad])


def test_error_response_and_unknown_lookups() -> None:
    validate_path_response("get", "/images/{name}/json", 404, {"message": "No such image: nope"})
    with pytest.raises(ApiSchemaError):
        validate_path_response("get", "/images/{name}/json", 404, {"msg": "x"})
    with pytest.raises(KeyError):
        validate_response("NoSuchDefinition", {})
    with pytest.raises(KeyError):
        path_response_schema("get", "/images/nope", 200)
    with pytest.raises(KeyError):
        path_response_schema("get", "/images/json", 299)


def test_no_body_responses() -> None:
    assert path_response_schema("post", "/containers/{id}/start", 204) is None
    validate_path_response("post", "/containers/{id}/start", 204, None)
    with pytest.raises(ApiSchemaError):
        validate_path_response("post", "/containers/{id}/start", 204, {"x": 1})


def test_definition_schema_rewrites_nullable() -> None:
    schema = definition_schema("ContainerConfig")
    assert schema["properties"]["StopSignal"]["type"] == ["string", "null"]
    assert "x-nullable" not in str(schema)
    assert schema["properties"]["Entrypoint"]["type"] == "array"
    assert definition_schema("ContainerConfig", go_nulls=True)["properties"]["Entrypoint"]["type"] == [
        "array",
        "null",
    ]


# Bodies recorded from a real Docker 20.10.24 engine (API 1.41; peer-docker) with busybox loaded
# from make_busybox_image.py and one created container: the spec must accept what Docker sends,
# given Go's null for nil slices, maps and pointers.
RECORDED = Path(__file__).parent / "data" / "docker-20.10"
REAL_BODIES = [
    ("images-json.json", ("get", "/images/json", 200)),
    ("images-busybox-json.json", "ImageInspect"),
    ("containers-json.json", ("get", "/containers/json", 200)),
    ("containers-id-json.json", ("get", "/containers/{id}/json", 200)),
    ("version.json", ("get", "/version", 200)),
    ("info.json", "SystemInfo"),
    ("networks.json", ("get", "/networks", 200)),
    ("volumes.json", ("get", "/volumes", 200)),
]


def check(target: str | tuple[str, str, int], body: object, go_nulls: bool) -> None:
    if isinstance(target, tuple):
        validate_path_response(*target, body, go_nulls=go_nulls)
    else:
        validate_response(target, body, go_nulls=go_nulls)


@pytest.mark.parametrize(("name", "target"), REAL_BODIES, ids=[n for n, _ in REAL_BODIES])
def test_real_docker_bodies(name: str, target: str | tuple[str, str, int]) -> None:
    body = json.loads((RECORDED / name).read_text())
    check(target, body, go_nulls=True)
    try:
        check(target, body, go_nulls=False)
    except ApiSchemaError as e:  # strictly, only the nulls may differ
        assert all("None is not of type" in err for err in e.errors), e.errors

"""Raw Engine API responses from dockyardd, validated against the v1.44 swagger.

Validation is strict: no Go-style nulls unless the spec marks a field x-nullable.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from api_schema import validate_path_response, validate_response
from busybox_image import busybox_archive
from unix_http import Response, UnixHTTPConnection

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e


class Api:
    def __init__(self, daemon: DaemonHandle) -> None:
        self.socket = daemon.socket

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        conn = UnixHTTPConnection(self.socket)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)


@pytest.fixture
def api(daemon: DaemonHandle) -> Api:
    return Api(daemon)


@pytest.fixture
def loaded(api: Api) -> Api:
    """Two images: busybox (two tags) and a three-layer image."""
    for archive in (busybox_archive(tags=("busybox:latest", "busybox:1.36")),
                    busybox_archive(tags=("three:latest",), layers=3)):
        resp = api.request("POST", "/images/load?quiet=1", body=archive.read_bytes(),
                           headers={"Content-Type": "application/x-tar"})
        assert resp.status == 200, resp.raw
    return api


def assert_error(resp: Response, status: int, text: str) -> None:
    assert resp.status == status, (resp.status, resp.raw)
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    validate_response("ErrorResponse", body)
    assert isinstance(body, dict) and text in body["message"], body


def test_ping_get_and_head(api: Api) -> None:
    for path in ("/_ping", "/v1.44/_ping", "/v1.24/_ping"):
        resp = api.get(path)
        assert resp.status == 200
        assert resp.raw == b"OK"
        assert resp.headers["Api-Version"] == "1.44"
        assert resp.headers["Ostype"] == "linux"
        assert resp.headers["Docker-Experimental"] == "false"
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert "no-cache" in resp.headers["Cache-Control"]
        assert resp.headers["Pragma"] == "no-cache"
        assert resp.headers["Swarm"] == "inactive"
        assert resp.headers["Builder-Version"]
    head = api.request("HEAD", "/_ping")
    assert head.status == 200
    assert head.raw == b""
    assert head.headers["Api-Version"] == "1.44"
    assert head.headers["Ostype"] == "linux"
    assert head.headers["Docker-Experimental"] == "false"
    assert head.headers["Content-Length"] == "0"


def test_common_headers_on_every_response(loaded: Api) -> None:
    for path in ("/version", "/info", "/images/json", "/images/busybox/json", "/images/nope/json"):
        resp = loaded.get(path)
        assert resp.headers["Api-Version"] == "1.44", path
        assert resp.headers["Ostype"] == "linux", path
        assert resp.headers["Server"].endswith("(linux)"), path


def test_version(api: Api) -> None:
    resp = api.get("/version")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    validate_response("SystemVersion", body)
    validate_path_response("get", "/version", 200, body)
    assert isinstance(body, dict)
    assert body["ApiVersion"] == "1.44" and body["MinAPIVersion"] == "1.24"
    assert body["Os"] == "linux"
    engine = next(c for c in body["Components"] if c["Name"] == "Engine")
    assert engine["Details"]["ApiVersion"] == "1.44"


def test_info(loaded: Api) -> None:
    body = loaded.get("/info").json()
    validate_response("SystemInfo", body)
    assert isinstance(body, dict)
    assert body["Images"] == 2
    assert body["OSType"] == "linux"
    assert body["Swarm"]["LocalNodeState"] == "inactive"


def test_info_on_an_empty_daemon(api: Api) -> None:
    body = api.get("/info").json()
    validate_response("SystemInfo", body)
    assert isinstance(body, dict) and body["Images"] == 0 and body["Containers"] == 0


def test_info_has_no_nulls(api: Api) -> None:
    validate_response("SystemInfo", api.get("/info").json())


def test_images_list(loaded: Api) -> None:
    resp = loaded.get("/images/json")
    assert resp.status == 200
    body = resp.json()
    validate_path_response("get", "/images/json", 200, body)
    assert isinstance(body, list) and len(body) == 2
    for item in body:
        validate_response("ImageSummary", item)
    tags = sorted(t for item in body for t in item["RepoTags"])
    assert tags == ["busybox:1.36", "busybox:latest", "three:latest"]
    filt = quote(json.dumps({"reference": {"three": True}}))
    only = loaded.get(f"/images/json?filters={filt}").json()
    assert isinstance(only, list) and [i["RepoTags"] for i in only] == [["three:latest"]]
    # docker-py's filter shape: {"name": ["value"]}.
    filt = quote(json.dumps({"dangling": ["true"]}))
    assert loaded.get(f"/images/json?filters={filt}").json() == []
    bad = loaded.get(f"/images/json?filters={quote(json.dumps({'bogus': ['1']}))}")
    assert_error(bad, 400, "bogus")


def test_images_list_untagged(api: Api) -> None:
    resp = api.request("POST", "/images/load", body=busybox_archive(tags=()).read_bytes())
    assert resp.status == 200
    body = api.get("/images/json").json()
    validate_path_response("get", "/images/json", 200, body)
    assert isinstance(body, list) and body[0]["RepoTags"] == []
    digests = api.get("/images/json?digests=1").json()
    validate_path_response("get", "/images/json", 200, digests)


def test_image_inspect(loaded: Api) -> None:
    for name in ("busybox", "busybox:1.36", "three:latest", "docker.io/library/three:latest"):
        resp = loaded.get(f"/images/{name}/json")
        assert resp.status == 200, name
        body = resp.json()
        validate_response("ImageInspect", body)
        validate_path_response("get", "/images/{name}/json", 200, body)
        assert isinstance(body, dict)
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", body["Id"])
        assert body["RootFS"]["Type"] == "layers"
    three = loaded.get("/images/three/json").json()
    assert isinstance(three, dict) and len(three["RootFS"]["Layers"]) == 3
    by_id = loaded.get(f"/images/{three['Id']}/json").json()
    assert isinstance(by_id, dict) and by_id["Id"] == three["Id"]
    short = loaded.get(f"/images/{three['Id'][7:19]}/json").json()
    assert isinstance(short, dict) and short["Id"] == three["Id"]


def test_image_inspect_graph_driver_data_is_an_object(loaded: Api) -> None:
    body = loaded.get("/images/busybox/json").json()
    validate_response("ImageInspect", body)


def test_image_history(loaded: Api) -> None:
    for name in ("busybox", "three"):
        body = loaded.get(f"/images/{name}/history").json()
        validate_path_response("get", "/images/{name}/history", 200, body)
        assert isinstance(body, list) and body
    three = loaded.get("/images/three/history").json()
    assert isinstance(three, list) and three[0]["Tags"] == ["three:latest"]
    assert_error(loaded.get("/images/nope/history"), 404, "No such image: nope:latest")


def test_image_history_tags_are_arrays(loaded: Api) -> None:
    body = loaded.get("/images/three/history").json()
    validate_path_response("get", "/images/{name}/history", 200, body)


def test_image_delete(loaded: Api) -> None:
    resp = loaded.request("DELETE", "/images/busybox:1.36")
    assert resp.status == 200
    body = resp.json()
    validate_path_response("delete", "/images/{name}", 200, body)
    assert body == [{"Untagged": "busybox:1.36"}]
    resp = loaded.request("DELETE", "/images/three")
    body = resp.json()
    validate_path_response("delete", "/images/{name}", 200, body)
    assert isinstance(body, list)
    for item in body:
        validate_response("ImageDeleteResponseItem", item)
    assert body[0] == {"Untagged": "three:latest"}
    assert any("Deleted" in item for item in body)


def test_image_delete_conflict_and_missing(loaded: Api) -> None:
    resp = loaded.request("POST", "/images/busybox/tag?repo=other/bb&tag=v1")
    assert resp.status == 201 and resp.raw == b""
    image_id = loaded.get("/images/busybox/json").json()["Id"]  # type: ignore[index]
    assert_error(loaded.request("DELETE", f"/images/{image_id}"), 409, "must be forced")
    assert_error(loaded.request("DELETE", "/images/nope"), 404, "No such image: nope:latest")
    forced = loaded.request("DELETE", f"/images/{image_id}?force=1")
    body = forced.json()
    validate_path_response("delete", "/images/{name}", 200, body)
    assert {"Deleted": image_id} in body  # type: ignore[operator]


def test_tag_errors(loaded: Api) -> None:
    assert_error(loaded.request("POST", "/images/busybox/tag?repo=Upper/Case&tag=x"), 400, "")
    assert_error(loaded.request("POST", "/images/nope/tag?repo=a&tag=b"), 404, "No such image")


def test_image_prune(loaded: Api) -> None:
    resp = loaded.request("POST", "/images/prune")
    assert resp.status == 200
    # Nothing dangling yet.
    validate_path_response("post", "/images/prune", 200, resp.json())
    filt = quote(json.dumps({"dangling": {"false": True}}))
    resp = loaded.request("POST", f"/images/prune?filters={filt}")
    body = resp.json()
    validate_path_response("post", "/images/prune", 200, body)
    assert isinstance(body, dict) and body["SpaceReclaimed"] > 0
    assert {"Untagged": "three:latest"} in body["ImagesDeleted"]
    assert loaded.get("/images/json").json() == []


def test_image_prune_nothing_to_prune_gives_an_array(api: Api) -> None:
    body = api.request("POST", "/images/prune").json()
    validate_path_response("post", "/images/prune", 200, body)
    assert body == {"ImagesDeleted": [], "SpaceReclaimed": 0}


def test_system_df(loaded: Api) -> None:
    body = loaded.get("/system/df").json()
    validate_path_response("get", "/system/df", 200, body)
    assert isinstance(body, dict) and len(body["Images"]) == 2
    for image in body["Images"]:
        validate_response("ImageSummary", image)


def test_system_df_empty(api: Api) -> None:
    body = api.get("/system/df").json()
    validate_path_response("get", "/system/df", 200, body)


@pytest.mark.parametrize("prefix", ["", "/v1.24", "/v1.41", "/v1.44", "/v1.50"])
def test_versioned_paths(loaded: Api, prefix: str) -> None:
    version = loaded.get(f"{prefix}/version")
    assert version.status == 200
    validate_response("SystemVersion", version.json())
    images = loaded.get(f"{prefix}/images/json")
    assert images.status == 200
    validate_path_response("get", "/images/json", 200, images.json())
    inspect = loaded.get(f"{prefix}/images/busybox/json")
    assert inspect.status == 200
    validate_response("ImageInspect", inspect.json())
    info = loaded.get(f"{prefix}/info")
    assert info.status == 200
    validate_response("SystemInfo", info.json())
    assert loaded.get(f"{prefix}/_ping").raw == b"OK"


def test_too_old_version_is_refused(api: Api) -> None:
    for path in ("/v1.12/version", "/v1.23/images/json"):
        resp = api.get(path)
        assert_error(resp, 400, "too old")
        assert "1.24" in resp.json()["message"]  # type: ignore[index]


def test_unknown_paths_are_404(api: Api) -> None:
    for path in ("/nope", "/v1.44/nope", "/bogus/thing/json", "/v1.41/containers/x/bogus/y"):
        resp = api.get(path)
        assert resp.status == 404, path
        validate_response("ErrorResponse", resp.json())
    # A path that matches a route for another method (DELETE /images/{name}): Docker's router says 405.
    wrong_method = api.get("/images/busybox/bogus")
    assert wrong_method.status in (404, 405)
    validate_response("ErrorResponse", wrong_method.json())
    assert_error(api.get("/images/nope/json"), 404, "No such image: nope:latest")


def test_load_error_bodies(api: Api) -> None:
    resp = api.request("POST", "/images/load", body=b"definitely not a tar" * 100,
                       headers={"Content-Type": "application/x-tar"})
    if resp.status == 200:
        # Docker reports a load failure inside the JSON message stream.
        lines = [json.loads(line) for line in resp.raw.splitlines() if line.strip()]
        assert any("error" in line for line in lines), lines
    else:
        assert resp.status in (400, 500)
        validate_response("ErrorResponse", resp.json())
    assert api.get("/images/json").json() == []

"""Self-tests of tests/support/registry_fixtures.py, driven by skopeo (an independent client)."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from busybox_image import busybox_archive, busybox_available
from registry_fixtures import (
    CuttingProxy,
    Registry,
    TokenAuthProxy,
    free_port,
    http_get,
    multi_platform_layout,
    registry_available,
    registry_manifest,
    single_platform_layout,
    skopeo,
    skopeo_available,
    skopeo_inspect,
    skopeo_raw_manifest,
)

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not (registry_available() and skopeo_available() and busybox_available()),
                       reason="needs docker-registry, htpasswd, skopeo and busybox-static"),
]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return busybox_archive(tmp_path, layers=2, tags=("bb:1",))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(tmp_path / "reg") as reg:
        yield reg


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_open_registry_roundtrip(registry: Registry, archive: Path, tmp_path: Path) -> None:
    assert registry.host.startswith("127.0.0.1:")
    status, headers, _ = http_get(f"{registry.url}/v2/")
    assert status == 200 and headers.get("docker-distribution-api-version") == "registry/2.0"
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{registry.host}/x:1")
    info = skopeo_inspect(f"{registry.host}/x:1")
    assert info["Architecture"] == "amd64" and len(info["Layers"]) == 2
    digest, manifest = registry_manifest(registry, "x", "1")
    assert digest == info["Digest"] and manifest["schemaVersion"] == 2
    assert ("PUT", "/v2/x/manifests/1") in registry.requests()
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/x:1", f"oci:{tmp_path / 'out'}:x")
    assert json.loads((tmp_path / "out" / "index.json").read_text())["manifests"]


def test_registry_stop_and_restart_on_same_port(registry: Registry) -> None:
    port = registry.port
    registry.stop()
    assert not registry.running
    with pytest.raises(OSError):
        http_get(f"{registry.url}/v2/", timeout=2)
    registry.start()
    assert registry.port == port and http_get(f"{registry.url}/v2/")[0] == 200


def test_htpasswd_registry(tmp_path: Path, archive: Path) -> None:
    with Registry(tmp_path / "reg", auth=("user", "pass")) as reg:
        status, headers, _ = http_get(f"{reg.url}/v2/")
        assert status == 401 and headers["www-authenticate"].startswith("Basic ")
        assert http_get(f"{reg.url}/v2/", {"Authorization": basic("user", "pass")})[0] == 200
        assert http_get(f"{reg.url}/v2/", {"Authorization": basic("user", "nope")})[0] == 401
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "user:pass", f"docker-archive:{archive}",
               f"docker://{reg.host}/x:1")
        assert skopeo_inspect(f"{reg.host}/x:1", "--creds", "user:pass")["Digest"].startswith("sha256:")
        bad = skopeo("inspect", "--tls-verify=false", "--creds", "user:nope", f"docker://{reg.host}/x:1",
                     check=False)
        assert bad.returncode != 0 and "unauthorized" in bad.stderr.lower()


def test_token_proxy_challenge_and_token(registry: Registry) -> None:
    with TokenAuthProxy(registry, {"user": "pass"}) as proxy:
        status, headers, _ = http_get(f"{proxy.url}/v2/")
        assert status == 401
        assert headers["www-authenticate"] == f'Bearer realm="{proxy.url}/token",service="test-registry"'
        status, headers, _ = http_get(f"{proxy.url}/v2/a/b/manifests/1")
        assert 'scope="repository:a/b:pull"' in headers["www-authenticate"]
        query = urllib.parse.urlencode({"service": "test-registry", "scope": "repository:a/b:pull"})
        assert http_get(f"{proxy.url}/token?{query}", {"Authorization": basic("user", "bad")})[0] == 401
        status, _, body = http_get(f"{proxy.url}/token?{query}")
        anonymous = {"Authorization": f"Bearer {json.loads(body)['token']}"}
        assert status == 200 and http_get(f"{proxy.url}/v2/", anonymous)[0] == 200
        status, headers, _ = http_get(f"{proxy.url}/v2/a/b/manifests/1", anonymous)
        assert status == 401 and 'error="insufficient_scope"' in headers["www-authenticate"]
        status, _, body = http_get(f"{proxy.url}/token?{query}", {"Authorization": basic("user", "pass")})
        token = json.loads(body)
        assert status == 200 and token["token"] == token["access_token"] and token["expires_in"] == 60
        assert "issued_at" in token and "refresh_token" not in token
        bearer = {"Authorization": f"Bearer {token['token']}"}
        assert http_get(f"{proxy.url}/v2/", bearer)[0] == 200
        # Pull scope for a/b: the upstream answers (unknown repo), another repo needs a new token.
        status, _, body = http_get(f"{proxy.url}/v2/a/b/manifests/1", bearer)
        assert status == 404 and b"MANIFEST_UNKNOWN" in body
        status, headers, _ = http_get(f"{proxy.url}/v2/c/manifests/1", bearer)
        assert status == 401 and 'error="insufficient_scope"' in headers["www-authenticate"]
        assert proxy.counts["/v2/a/b/manifests/1"] == 3


def test_token_proxy_with_skopeo(registry: Registry, archive: Path, tmp_path: Path) -> None:
    with TokenAuthProxy(registry, {"user": "pass"}) as proxy:
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "user:pass", f"docker-archive:{archive}",
               f"docker://{proxy.host}/test/bb:1")
        info = skopeo_inspect(f"{proxy.host}/test/bb:1", "--creds", "user:pass")
        assert info["Digest"] == registry_manifest(registry, "test/bb", "1")[0]
        scopes = [s for r in proxy.token_requests for s in r["scope"]]
        assert any(s.startswith("repository:test/bb:") and "push" in s for s in scopes), scopes
        assert proxy.requests("PUT", "/v2/test/bb/manifests/1")[0].status == 201
        bad = skopeo("inspect", "--tls-verify=false", "--creds", "user:nope",
                     f"docker://{proxy.host}/test/bb:1", check=False)
        assert bad.returncode != 0 and "unauthorized" in bad.stderr.lower()
        # A cross-repository mount through the proxy.
        skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", "user:pass",
               "--dest-creds", "user:pass", f"docker://{proxy.host}/test/bb:1", f"docker://{proxy.host}/test/bb2:1")
        assert skopeo_inspect(f"{proxy.host}/test/bb2:1", "--creds", "user:pass")["Digest"] == info["Digest"]


def test_token_proxy_pull_only_user_cannot_push(registry: Registry, archive: Path) -> None:
    with TokenAuthProxy(registry, {"user": "pass", "reader": "r"}, allowed={"reader": {"pull"}}) as proxy:
        bad = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "reader:r", f"docker-archive:{archive}",
                     f"docker://{proxy.host}/test/bb:1", check=False)
        assert bad.returncode != 0
        assert any(r.status == 401 for r in proxy.requests("POST"))
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "user:pass", f"docker-archive:{archive}",
               f"docker://{proxy.host}/test/bb:1")
        assert skopeo_inspect(f"{proxy.host}/test/bb:1", "--creds", "reader:r")["Architecture"] == "amd64"


def test_token_proxy_refresh_token(registry: Registry) -> None:
    with TokenAuthProxy(registry, {"user": "pass"}) as proxy:
        query = urllib.parse.urlencode({"service": "test-registry", "offline_token": "true", "client_id": "docker"})
        status, _, body = http_get(f"{proxy.url}/token?{query}", {"Authorization": basic("user", "pass")})
        refresh = json.loads(body)["refresh_token"]
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh,
                                       "service": "test-registry", "scope": "repository:a:pull",
                                       "client_id": "docker"}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{proxy.url}/token", data=form), timeout=10) as r:
            token = json.loads(r.read())
        assert http_get(f"{proxy.url}/v2/a/tags/list", {"Authorization": f"Bearer {token['access_token']}"})[0] == 404


def test_cutting_proxy_cuts_and_records_ranges(registry: Registry, tmp_path: Path) -> None:
    big = busybox_archive(tmp_path, layers=2, pad_mb=4, tags=("big:1",))
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{big}", f"docker://{registry.host}/big:1")
    _, manifest = registry_manifest(registry, "big", "1")
    layer = max(manifest["layers"], key=lambda d: d["size"])
    digest, size = layer["digest"], layer["size"]
    with CuttingProxy(registry) as proxy:
        proxy.cut_blob(digest, after=1 << 20, times=1)
        host, port = proxy.host.split(":")
        url = f"/v2/big/blobs/{digest}"
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", url)
        resp = conn.getresponse()
        assert resp.status == 200 and int(resp.getheader("Content-Length") or 0) == size
        with pytest.raises(http.client.IncompleteRead) as exc:
            resp.read()
        got = len(exc.value.partial)
        conn.close()
        assert got == 1 << 20 and proxy.bytes_served[digest] == 1 << 20 and proxy.cuts[digest] == 1
        # The rest with a Range request, as a resuming client would.
        status, headers, body = http_get(f"{proxy.url}{url}", {"Range": f"bytes={got}-"})
        assert status == 206 and len(body) == size - got
        assert proxy.ranges[digest] == [None, f"bytes={got}-"]
        assert proxy.bytes_served[digest] == size
        # A corrupted blob: same length, other bytes.
        proxy.corrupt_blob(digest)
        status, _, body = http_get(f"{proxy.url}{url}")
        assert status == 200 and len(body) == size
        assert http_get(f"{proxy.url}{url}")[2] != body  # only the first GET was corrupted
        # skopeo copies through the proxy unharmed once the rules are used up.
        skopeo("copy", "--src-tls-verify=false", f"docker://{proxy.host}/big:1", f"oci:{tmp_path / 'o'}:x")


def test_multi_platform_layout_pushed_with_skopeo(registry: Registry, tmp_path: Path) -> None:
    oci = busybox_archive(tmp_path, fmt="oci-archive", gzip=True, tags=("bb:1",))
    digests = multi_platform_layout(oci, tmp_path / "layout", "multi")
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:multi",
           f"docker://{registry.host}/multi:1")
    index = json.loads(skopeo_raw_manifest(f"{registry.host}/multi:1"))
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    plats = {(m["platform"]["architecture"], m["digest"]) for m in index["manifests"]}
    assert plats == {("amd64", digests["linux/amd64"]), ("arm64", digests["linux/arm64"])}
    assert skopeo_inspect(f"{registry.host}/multi:1", "--override-arch", "arm64")["Architecture"] == "arm64"
    assert skopeo_inspect(f"{registry.host}/multi:1", "--override-arch", "amd64")["Architecture"] == "amd64"
    single_platform_layout(oci, tmp_path / "arm", tag="arm")
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'arm'}:arm",
           f"docker://{registry.host}/armonly:1")
    index = json.loads(skopeo_raw_manifest(f"{registry.host}/armonly:1"))
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["arm64"]

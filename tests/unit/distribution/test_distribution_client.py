"""RegistryClient against an in-memory registry and token server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from distribution_fake_registry import Registry, serve

from dockyard.distribution import Credentials, RegistryClient
from dockyard.errors import DockyardError, InvalidArgument, NotFound, Unauthorized, Unavailable
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest, DigestMismatch

REPO = "library/busybox"


class Sink:
    """A BlobSink in memory that counts every byte it was ever given."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.received = 0

    @property
    def offset(self) -> int:
        return len(self.data)

    def write(self, data: bytes) -> int:
        self.data += data
        self.received += len(data)
        return len(data)

    def truncate(self, size: int) -> None:
        del self.data[size:]


def _manifest(reg: Registry, repo: str = REPO, tag: str = "latest") -> tuple[bytes, str]:
    config = reg.add_blob(repo, b'{"architecture":"amd64","os":"linux"}')
    layer = reg.add_blob(repo, b"layer-bytes" * 100)
    body = json.dumps({
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": config, "size": 37},
        "layers": [{"mediaType": mediatypes.OCI_LAYER_GZIP, "digest": layer, "size": 1100}],
    }).encode()
    return body, reg.add_manifest(repo, tag, mediatypes.OCI_MANIFEST, body)


@pytest.fixture
def reg() -> Iterator[Registry]:
    with serve() as registry:
        yield registry


def _client(reg: Registry, creds: Credentials | None = None, repo: str = REPO, **kw: object) -> RegistryClient:
    return RegistryClient(reg.name, repo, credentials=creds, backoff=0.001, **kw)  # type: ignore[arg-type]


def _desc(data: bytes) -> Descriptor:
    return Descriptor(mediatypes.OCI_LAYER_GZIP, Digest.from_bytes(data), len(data))


# -- ping and auth ---------------------------------------------------------------------------------

def test_ping_anonymous(reg: Registry) -> None:
    with _client(reg) as c:
        c.ping()


def test_ping_unreachable_names_url_and_os_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with RegistryClient(f"127.0.0.1:{port}", REPO) as c, pytest.raises(Unavailable) as info:
        c.ping()
    assert str(info.value) == (f'Get "http://127.0.0.1:{port}/v2/": dial tcp 127.0.0.1:{port}: '
                               f"connect: connection refused")


def test_basic_auth(reg: Registry) -> None:
    reg.auth = "basic"
    body, _ = _manifest(reg)
    with _client(reg, Credentials("alice", "secret")) as c:
        c.ping()
        assert c.get_manifest("latest")[1] == body
    assert reg.log[-1].headers["Authorization"].startswith("Basic ")
    with _client(reg, Credentials("alice", "wrong")) as c, pytest.raises(Unauthorized) as info:
        c.ping()
    assert str(info.value) == "unauthorized: authentication required"
    with _client(reg) as c, pytest.raises(Unauthorized):
        c.get_manifest("latest")


def test_bearer_token_is_cached_per_scope(reg: Registry) -> None:
    reg.auth = "bearer"
    body, digest = _manifest(reg)
    with _client(reg, Credentials("alice", "secret")) as c:
        for _ in range(3):
            assert c.resolve("latest").digest == Digest.parse(digest)
        assert c.get_manifest(digest)[1] == body
    pulls = [r for r in reg.token_requests if "scope=repository" in r.path]
    assert len(pulls) == 1
    assert "account=alice" in pulls[0].path and "service=fake-registry" in pulls[0].path
    assert pulls[0].headers["Authorization"].startswith("Basic ")
    # Only the probe of /v2/ went out without a token.
    assert [r.path for r in reg.log if "Authorization" not in r.headers] == ["/v2/"]


def test_bearer_bad_credentials(reg: Registry) -> None:
    reg.auth = "bearer"
    with _client(reg, Credentials("alice", "nope")) as c, pytest.raises(Unauthorized) as info:
        c.ping()
    assert str(info.value) == "unauthorized: incorrect username or password"


def test_expired_tokens_are_fetched_again(reg: Registry) -> None:
    reg.auth = "bearer"
    reg.token_issued_at_offset = -3600  # issued long ago: already expired when it arrives
    reg.token_expires_in = 3601
    _manifest(reg)
    with _client(reg, Credentials("alice", "secret")) as c:
        c.resolve("latest")
        c.resolve("latest")
    assert len([r for r in reg.token_requests if "scope=" in r.path]) == 2


def test_insufficient_scope_fetches_a_new_token(reg: Registry) -> None:
    reg.auth = "bearer"
    reg.anonymous_pull = True
    _manifest(reg)
    with _client(reg) as c:
        c.resolve("latest")
        # An anonymous token holds pull only: pushing asks again and fails with the registry's words.
        with pytest.raises(Unauthorized) as info:
            c.put_manifest("v2", mediatypes.OCI_MANIFEST, b"{}")
    assert "insufficient scope" in str(info.value) or "authentication required" in str(info.value)
    scopes = [r.path for r in reg.token_requests]
    assert any("pull%2Cpush" in p for p in scopes)


def test_push_scope_token_then_insufficient_scope_refresh(reg: Registry) -> None:
    reg.auth = "bearer"
    body, _ = _manifest(reg)
    with _client(reg, Credentials("alice", "secret")) as c:
        assert c.put_manifest("v2", mediatypes.OCI_MANIFEST, body) == Digest.from_bytes(body)
        # Drop every issued token: the next request gets a 401 and retries with a fresh one.
        reg.tokens.clear()
        assert c.put_manifest("v3", mediatypes.OCI_MANIFEST, body) == Digest.from_bytes(body)
    assert len([r for r in reg.token_requests if "pull%2Cpush" in r.path]) == 2


def test_identity_token_uses_refresh_grant(reg: Registry) -> None:
    reg.auth = "bearer"
    reg.refresh_tokens["refresh-123"] = "alice"
    body, _ = _manifest(reg)
    with _client(reg, Credentials(identity_token="refresh-123")) as c:
        assert c.get_manifest("latest")[1] == body
    post = [r for r in reg.token_requests if r.method == "POST"]
    assert len(post) == 1 and post[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    with _client(reg, Credentials(identity_token="bogus")) as c, pytest.raises(Unauthorized) as info:
        c.get_manifest("latest")
    assert str(info.value) == "unauthorized: invalid refresh token"


def test_registry_token_is_sent_as_is(reg: Registry) -> None:
    reg.auth = "bearer"
    reg.tokens["given"] = ({f"repository:{REPO}:pull"}, 1e12)
    body, _ = _manifest(reg)
    with _client(reg, Credentials(registry_token="given")) as c:
        assert c.get_manifest("latest")[1] == body
    assert reg.token_requests == []


# -- manifests -------------------------------------------------------------------------------------

def test_resolve_uses_head(reg: Registry) -> None:
    body, digest = _manifest(reg)
    with _client(reg) as c:
        desc = c.resolve("latest")
    assert desc == Descriptor(mediatypes.OCI_MANIFEST, Digest.parse(digest), len(body))
    heads = reg.requests("HEAD", "/manifests/")
    assert len(heads) == 1 and not reg.requests("GET", "/manifests/")
    accept = heads[0].headers["Accept"]
    assert accept.split(", ") == [mediatypes.OCI_INDEX, mediatypes.DOCKER_MANIFEST_LIST,
                                  mediatypes.OCI_MANIFEST, mediatypes.DOCKER_MANIFEST]


def test_resolve_falls_back_to_get_without_digest_header(reg: Registry) -> None:
    reg.head_without_digest = True
    body, digest = _manifest(reg)
    with _client(reg) as c:
        desc = c.resolve("latest")
    assert desc.digest == Digest.parse(digest) and desc.size == len(body)
    assert len(reg.requests("GET", "/manifests/latest")) == 1


def test_resolve_unknown_tag_and_repository(reg: Registry) -> None:
    _manifest(reg)
    with _client(reg) as c, pytest.raises(NotFound) as info:
        c.resolve("nope")
    assert str(info.value) == "manifest unknown: manifest unknown"
    with _client(reg, repo="nobody/here") as c, pytest.raises(NotFound) as info:
        c.resolve("latest")
    assert str(info.value) == "name unknown: repository name not known to registry"


def test_get_manifest_verifies_digest_references(reg: Registry) -> None:
    body, digest = _manifest(reg)
    with _client(reg) as c:
        assert c.get_manifest(digest) == (mediatypes.OCI_MANIFEST, body, Digest.parse(digest))
        wrong = "sha256:" + hashlib.sha256(b"other").hexdigest()
        reg.manifests[REPO][wrong] = (mediatypes.OCI_MANIFEST, body)
        with pytest.raises(DigestMismatch):
            c.get_manifest(wrong)


def test_manifest_media_type_from_body_when_header_is_generic(reg: Registry) -> None:
    body = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    reg.add_manifest(REPO, "idx", "application/json", body)
    with _client(reg) as c:
        assert c.get_manifest("idx")[0] == mediatypes.OCI_INDEX


def test_put_manifest(reg: Registry) -> None:
    body = b'{"schemaVersion":2}'
    with _client(reg) as c:
        assert c.put_manifest("v1", mediatypes.DOCKER_MANIFEST, body) == Digest.from_bytes(body)
    assert reg.manifests[REPO]["v1"] == (mediatypes.DOCKER_MANIFEST, body)


# -- blob download -------------------------------------------------------------------------------

def test_fetch_blob(reg: Registry) -> None:
    data = bytes(range(256)) * 1000
    reg.add_blob(REPO, data)
    sink = Sink()
    seen: list[int] = []
    with _client(reg) as c:
        c.fetch_blob(_desc(data), sink, on_progress=seen.append)
    assert bytes(sink.data) == data
    assert sum(seen) == len(data) and all(n > 0 for n in seen)


def test_fetch_resumes_with_range_after_connection_cut(reg: Registry) -> None:
    data = bytes(range(256)) * 4000
    reg.add_blob(REPO, data)
    reg.cut_blob_after = [100_000, 300_000]
    sink = Sink()
    with _client(reg) as c:
        c.fetch_blob(_desc(data), sink)
    assert bytes(sink.data) == data
    assert sink.received == len(data)  # nothing downloaded twice
    ranges = [r.headers.get("Range") for r in reg.requests("GET", "/blobs/")]
    assert ranges == [None, "bytes=100000-", "bytes=400000-"]


def test_fetch_starts_over_when_range_is_ignored(reg: Registry) -> None:
    data = b"x" * 50_000 + b"y" * 50_000
    reg.add_blob(REPO, data)
    reg.ignore_range = True
    sink = Sink()
    sink.write(data[:10_000])
    seen: list[int] = []
    with _client(reg) as c:
        c.fetch_blob(_desc(data), sink, on_progress=seen.append)
    assert bytes(sink.data) == data
    assert seen[0] == -10_000 and 10_000 + sum(seen) == len(data)


def test_fetch_resumes_from_the_sink_offset(reg: Registry) -> None:
    data = b"0123456789" * 10_000
    reg.add_blob(REPO, data)
    sink = Sink()
    sink.write(data[:12_345])
    with _client(reg) as c:
        c.fetch_blob(_desc(data), sink)
    assert bytes(sink.data) == data and sink.received == len(data)


def test_fetch_follows_redirect_without_authorization(reg: Registry) -> None:
    reg.auth = "basic"
    reg.redirect_blobs = True
    data = b"stored elsewhere" * 100
    reg.add_blob(REPO, data)
    sink = Sink()
    with _client(reg, Credentials("alice", "secret")) as c:
        c.fetch_blob(_desc(data), sink)
    assert bytes(sink.data) == data
    storage = reg.requests("GET", "/storage/")
    assert len(storage) == 1 and "Authorization" not in storage[0].headers


def test_fetch_stops_at_descriptor_size(reg: Registry) -> None:
    data = b"a" * 1000
    reg.add_blob(REPO, data)
    sink = Sink()
    short = Descriptor(mediatypes.OCI_LAYER_GZIP, Digest.from_bytes(data), 600)
    with _client(reg) as c:
        c.fetch_blob(short, sink)
    assert len(sink.data) == 600


def test_fetch_retries_503_with_backoff(reg: Registry) -> None:
    data = b"z" * 1000
    reg.add_blob(REPO, data)
    with _client(reg) as c:
        c.ping()
        reg.fail_next = [503, 503]
        sink = Sink()
        c.fetch_blob(_desc(data), sink)
        assert bytes(sink.data) == data
        reg.fail_next = [503] * 10
        with pytest.raises(Unavailable) as info:
            c.fetch_blob(_desc(data), Sink())
    assert str(info.value) == "unavailable: try again later"
    assert len(reg.fail_next) == 10 - 5  # one try and four retries


def test_backoff_doubles(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    import dockyard.distribution.client as client_module

    sleeps: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", sleeps.append)
    data = b"z" * 10
    reg.add_blob(REPO, data)
    with RegistryClient(reg.name, REPO) as c:
        c.ping()
        reg.fail_next = [502] * 5
        with pytest.raises(Unavailable):
            c.fetch_blob(_desc(data), Sink())
    assert sleeps == [0.5, 1.0, 2.0, 4.0]


def test_fetch_unknown_blob(reg: Registry) -> None:
    reg.add_blob("other/repo", b"x")
    with _client(reg) as c, pytest.raises(NotFound) as info:
        c.fetch_blob(_desc(b"x"), Sink())
    assert str(info.value) == "blob unknown: blob unknown to registry"


def test_blob_exists(reg: Registry) -> None:
    digest = reg.add_blob(REPO, b"hello")
    with _client(reg) as c:
        assert c.blob_exists(Digest.parse(digest)) == 5
        assert c.blob_exists(Digest.from_bytes(b"nope")) is None


def test_parallel_fetches_from_threads(reg: Registry) -> None:
    blobs = [bytes([i]) * (20_000 + i) for i in range(8)]
    for b in blobs:
        reg.add_blob(REPO, b)
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []
    with _client(reg) as c:
        def work(i: int) -> None:
            try:
                sink = Sink()
                c.fetch_blob(_desc(blobs[i]), sink)
                results[i] = bytes(sink.data)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and [results[i] for i in range(8)] == blobs


# -- upload ----------------------------------------------------------------------------------------

def test_monolithic_upload(reg: Registry) -> None:
    data = b"monolithic" * 10_000
    seen: list[int] = []
    with _client(reg) as c:
        c.upload_blob(_desc(data), lambda: io.BytesIO(data), on_progress=seen.append)
    assert reg.blobs[str(Digest.from_bytes(data))] == data
    puts = reg.requests("PUT", "/blobs/uploads/")
    assert len(puts) == 1 and puts[0].body_size == len(data) and "digest=sha256%3A" in puts[0].path
    assert puts[0].headers["Content-Length"] == str(len(data)) and "_state=s0" in puts[0].path
    assert sum(seen) == len(data)


def test_chunked_upload(reg: Registry) -> None:
    data = b"0123456789" * 2500
    seen: list[int] = []
    with _client(reg) as c:
        c.upload_blob(_desc(data), lambda: io.BytesIO(data), chunk_size=10_000, on_progress=seen.append)
    assert reg.blobs[str(Digest.from_bytes(data))] == data
    patches = reg.requests("PATCH")
    assert [p.headers["Content-Range"] for p in patches] == ["0-9999", "10000-19999", "20000-24999"]
    assert all(p.headers["Content-Type"] == "application/octet-stream" for p in patches)
    assert "_state=s10000" in patches[1].path  # followed each Location
    assert seen == [10_000, 10_000, 5_000]
    assert reg.requests("PUT")[0].body_size == 0


def test_upload_with_wrong_digest_fails(reg: Registry) -> None:
    data = b"abc"
    bad = Descriptor(mediatypes.OCI_LAYER_GZIP, Digest.from_bytes(b"xyz"), 3)
    with _client(reg) as c, pytest.raises(InvalidArgument) as info:
        c.upload_blob(bad, lambda: io.BytesIO(data))
    assert str(info.value) == "digest invalid: provided digest did not match uploaded content"


def test_upload_retries_after_503(reg: Registry) -> None:
    data = b"retry me" * 100
    seen: list[int] = []
    with _client(reg) as c:
        c.ping()
        reg.fail_next = [503]
        c.upload_blob(_desc(data), lambda: io.BytesIO(data), on_progress=seen.append)
        # Fail the last PUT of a chunked upload: the retry starts over and says so.
        reg.fail_next = [0, 0, 0, 503]
        seen.clear()
        c.upload_blob(_desc(data), lambda: io.BytesIO(data), chunk_size=400, on_progress=seen.append)
    assert reg.blobs[str(Digest.from_bytes(data))] == data
    assert seen == [400, 400, -800, 400, 400]


def test_mount_blob(reg: Registry) -> None:
    digest = reg.add_blob("library/source", b"shared layer")
    with _client(reg, repo="user/target") as c:
        assert c.mount_blob(Digest.parse(digest), "library/source") is True
        assert c.blob_exists(Digest.parse(digest)) == len(b"shared layer")
        reg.mount_allowed = False
        other = reg.add_blob("library/source", b"other layer")
        assert c.mount_blob(Digest.parse(other), "library/source") is False
    assert len(reg.requests("DELETE", "/blobs/uploads/")) == 1
    assert reg.uploads == {}


def test_mount_asks_for_both_scopes(reg: Registry) -> None:
    reg.auth = "bearer"
    digest = reg.add_blob("library/source", b"shared layer")
    with _client(reg, Credentials("alice", "secret"), repo="user/target") as c:
        assert c.mount_blob(Digest.parse(digest), "library/source") is True
    token_paths = [r.path for r in reg.token_requests]
    assert any("repository%3Alibrary%2Fsource%3Apull" in p and "repository%3Auser%2Ftarget%3Apull%2Cpush" in p
               for p in token_paths)


# -- tags and errors -------------------------------------------------------------------------------

def test_list_tags_follows_pagination(reg: Registry) -> None:
    body = b"{}"
    for tag in ["a", "b", "c", "d", "e"]:
        reg.add_manifest(REPO, tag, mediatypes.OCI_MANIFEST, body)
    reg.tags_page_size = 2
    with _client(reg) as c:
        assert c.list_tags() == ["a", "b", "c", "d", "e"]
    assert len(reg.requests("GET", "/tags/list")) == 3


def test_list_tags_unknown_repository(reg: Registry) -> None:
    with _client(reg, repo="none/here") as c, pytest.raises(NotFound):
        c.list_tags()


def test_other_errors_are_worded_like_docker(reg: Registry) -> None:
    _manifest(reg)
    with _client(reg, retries=0) as c:
        c.ping()
        reg.fail_next = [418]
        with pytest.raises(DockyardError) as info:
            c.get_manifest("latest")
    assert str(info.value) == "unavailable: try again later"


def test_short_blob_stream_is_refused_and_the_client_stays_usable(reg: Registry) -> None:
    data = b"0123456789"
    with _client(reg) as c:
        with pytest.raises(InvalidArgument):
            c.upload_blob(_desc(data), lambda: io.BytesIO(data[:5]))
        c.upload_blob(_desc(data), lambda: io.BytesIO(data))
    assert reg.blobs[str(Digest.from_bytes(data))] == data


def test_empty_repository_client_can_ping(reg: Registry) -> None:
    reg.auth = "bearer"
    with RegistryClient(reg.name, "", credentials=Credentials("alice", "secret")) as c:
        c.ping()
    assert "scope" not in reg.token_requests[0].path


def test_unreachable_mirror_falls_back_and_push_skips_mirrors(reg: Registry) -> None:
    from dockyard.distribution import RegistryEndpoint, RegistryHosts

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]

    class Hosts(RegistryHosts):
        def endpoints(self, registry: str) -> list[RegistryEndpoint]:
            return [RegistryEndpoint(registry, f"http://127.0.0.1:{dead}", None, True),
                    RegistryEndpoint(registry, reg.url, None, False)]

    body, _ = _manifest(reg)
    with RegistryClient("docker.io", REPO, hosts=Hosts(certs_dirs=())) as c:
        assert c.get_manifest("latest")[1] == body
        c.put_manifest("pushed", mediatypes.OCI_MANIFEST, body)
    assert reg.manifests[REPO]["pushed"][1] == body

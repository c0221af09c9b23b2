"""Registry endpoints (mirrors, insecure registries, loopback) and TLS material from certs.d."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from distribution_fake_registry import serve

from dockyard.distribution import RegistryClient, RegistryHosts, registry_key
from dockyard.errors import InvalidArgument, Unavailable
from dockyard.http.client import ConnectError, HTTPConnection


def test_registry_key() -> None:
    assert registry_key("docker.io") == "https://index.docker.io/v1/"
    assert registry_key("index.docker.io") == "https://index.docker.io/v1/"
    assert registry_key("127.0.0.1:5000") == "127.0.0.1:5000"
    assert registry_key("ghcr.io") == "ghcr.io"


def test_docker_hub_mirrors_first() -> None:
    hosts = RegistryHosts(mirrors=["https://mirror.example", "mirror2.example:5000/"], certs_dirs=())
    eps = hosts.endpoints("docker.io")
    assert [(e.url, e.mirror) for e in eps] == [
        ("https://mirror.example", True), ("https://mirror2.example:5000", True),
        ("https://registry-1.docker.io", False)]
    assert all(e.registry == "docker.io" and e.ssl_context is not None for e in eps)


@pytest.mark.parametrize("registry", ["127.0.0.1:5000", "localhost:5000", "[::1]:5000", "127.1.2.3", "localhost"])
def test_loopback_is_plain_http_first(registry: str) -> None:
    eps = RegistryHosts(certs_dirs=()).endpoints(registry)
    assert eps[0].url == f"http://{registry}" and eps[0].ssl_context is None
    assert eps[1].url == f"https://{registry}"


def test_insecure_names_and_cidrs_try_https_then_http() -> None:
    hosts = RegistryHosts(insecure_registries=["reg.lan:5000", "http://other.lan", "10.0.0.0/8"], certs_dirs=())
    for registry in ("reg.lan:5000", "other.lan", "other.lan:443", "10.1.2.3:5000"):
        eps = hosts.endpoints(registry)
        assert [e.url.split("://")[0] for e in eps] == ["https", "http"], registry
        ctx = eps[0].ssl_context
        assert ctx is not None and ctx.verify_mode == ssl.CERT_NONE
    eps = hosts.endpoints("secure.example")
    assert [e.url for e in eps] == ["https://secure.example"]
    ctx = eps[0].ssl_context
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    with pytest.raises(InvalidArgument):
        RegistryHosts(insecure_registries=["not a cidr/99"])


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    out = tmp_path / "pki"
    out.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(out / "server.key"),
             "-out", str(out / "server.crt"))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=client",
             "-keyout", str(out / "client.key"), "-out", str(out / "client.cert"))
    return out


def _server_context(certs: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / "server.crt", certs / "server.key")
    return ctx


def test_certs_dir_ca_makes_tls_verify(tmp_path: Path, certs: Path) -> None:
    with serve(tls=_server_context(certs)) as reg:
        certs_d = tmp_path / "certs.d"
        (certs_d / reg.name).mkdir(parents=True)
        shutil.copy(certs / "server.crt", certs_d / reg.name / "ca.crt")
        shutil.copy(certs / "client.cert", certs_d / reg.name / "client.cert")
        shutil.copy(certs / "client.key", certs_d / reg.name / "client.key")
        ctx = RegistryHosts(certs_dirs=[str(tmp_path / "none"), str(certs_d)]).ssl_context(reg.name)
        with HTTPConnection(f"https://{reg.name}", ssl_context=ctx, timeout=10) as conn:
            resp = conn.request("GET", "/v2/")
            assert resp.status == 200 and resp.read() == b"{}"
        with pytest.raises(ConnectError) as info, HTTPConnection(f"https://{reg.name}", timeout=10) as conn:
            conn.request("GET", "/v2/")
        assert "certificate" in info.value.reason


def test_client_key_without_cert_is_refused(tmp_path: Path, certs: Path) -> None:
    (tmp_path / "d" / "r.example").mkdir(parents=True)
    shutil.copy(certs / "client.key", tmp_path / "d" / "r.example" / "client.key")
    with pytest.raises(InvalidArgument):
        RegistryHosts(certs_dirs=[str(tmp_path / "d")]).ssl_context("r.example")


def test_loopback_tls_registry_falls_back_to_https(certs: Path) -> None:
    with serve(tls=_server_context(certs)) as reg:
        body = b'{"schemaVersion":2}'
        reg.add_manifest("a/b", "t", "application/vnd.oci.image.manifest.v1+json", body)
        with RegistryClient(reg.name, "a/b", hosts=RegistryHosts(certs_dirs=()), timeout=10) as client:
            client.ping()
            assert client.get_manifest("t")[1] == body


def test_unreachable_tls_registry(tmp_path: Path) -> None:
    hosts = RegistryHosts(insecure_registries=["127.0.0.1:1"], certs_dirs=())
    with RegistryClient("127.0.0.1:1", "a/b", hosts=hosts) as client, pytest.raises(Unavailable) as info:
        client.ping()
    assert "connection refused" in str(info.value)


def test_https_addresses() -> None:
    from dockyard.http.client import parse_address

    addr = parse_address("https://registry.example")
    assert (addr.host, addr.port, addr.tls, addr.host_header) == ("registry.example", 443, True, "registry.example")
    assert str(addr) == "https://registry.example:443"
    assert parse_address("https://[::1]:5000").host_header == "[::1]:5000"
    assert parse_address("http://127.0.0.1:5000").tls is False

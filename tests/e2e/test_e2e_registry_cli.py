"""The docker CLI v28 against dockyardd and real registries: login, push, pull, and their errors.

Registries: Debian's docker-registry (open and with htpasswd Basic auth) and the Bearer token
proxy of registry_fixtures in front of an open one, all on 127.0.0.1:<free port>.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from busybox_image import busybox_archive
from registry_fixtures import (
    Registry,
    TokenAuthProxy,
    registry_available,
    registry_manifest,
    skopeo,
    skopeo_available,
    skopeo_inspect,
)

from conftest import DaemonHandle, start_daemon

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (registry_available() and skopeo_available()),
                       reason="needs docker-registry, htpasswd and skopeo"),
]

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
USER, PASSWORD = "user", "pass"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(tmp_path / "reg") as reg:
        yield reg


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(tmp_path / "authreg", auth=(USER, PASSWORD)) as reg:
        yield reg


@pytest.fixture
def token_proxy(tmp_path: Path) -> Iterator[TokenAuthProxy]:
    with Registry(tmp_path / "tokreg") as upstream, TokenAuthProxy(upstream, {USER: PASSWORD}) as proxy:
        yield proxy


@pytest.fixture
def second(tmp_path: Path) -> Iterator[DaemonHandle]:
    """Another daemon with an empty image store (for cold pulls)."""
    handle = start_daemon(tmp_path / "d2")
    try:
        yield handle
    finally:
        handle.stop()


def load_bb(daemon: DaemonHandle, tmp_path: Path, *tags: str, layers: int = 3) -> None:
    daemon.docker("load", "-i", str(busybox_archive(tmp_path, layers=layers, tags=("bb:1",))))
    for tag in tags:
        daemon.docker("tag", "bb:1", tag)


def login(daemon: DaemonHandle, host: str, password: str = PASSWORD) -> None:
    out = daemon.docker("login", host, "-u", USER, "--password-stdin", input=password.encode() + b"\n")
    assert "Login Succeeded" in out.stdout


def images_state(daemon: DaemonHandle) -> str:
    out = daemon.docker("images", "-a", "--digests", "--no-trunc",
                        "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Digest}}").stdout
    return "\n".join(sorted(out.splitlines()))


def push_digest(stdout: str, tag: str) -> tuple[str, int]:
    m = re.search(rf"^{re.escape(tag)}: digest: (sha256:[0-9a-f]{{64}}) size: (\d+)$", stdout, re.M)
    assert m, stdout
    return m.group(1), int(m.group(2))


# --- login / logout ------------------------------------------------------------------------------


def check_login_logout(daemon: DaemonHandle, host: str) -> None:
    bad = daemon.docker("login", host, "-u", USER, "--password-stdin", input=b"wrong\n", check=False)
    assert bad.returncode == 1, bad
    assert "unauthorized" in bad.stderr.lower(), bad.stderr
    assert "wrong" not in bad.stderr + bad.stdout
    proc = daemon.docker("login", host, "-u", USER, "--password-stdin", input=PASSWORD.encode() + b"\n")
    assert "Login Succeeded" in proc.stdout
    config = json.loads((daemon.root / "docker-config" / "config.json").read_text())
    auth = base64.b64decode(config["auths"][host]["auth"]).decode()
    assert auth == f"{USER}:{PASSWORD}"
    out = daemon.docker("logout", host)
    assert f"Removing login credentials for {host}" in out.stdout
    config = json.loads((daemon.root / "docker-config" / "config.json").read_text())
    assert host not in config.get("auths", {})


def test_login_htpasswd_registry(daemon: DaemonHandle, auth_registry: Registry) -> None:
    check_login_logout(daemon, auth_registry.host)


def test_login_token_proxy(daemon: DaemonHandle, token_proxy: TokenAuthProxy) -> None:
    check_login_logout(daemon, token_proxy.host)
    users = [r["user"] for r in token_proxy.token_requests]
    assert None in users and USER in users  # the wrong password, then the right one


# --- push ----------------------------------------------------------------------------------------


def test_push_to_open_registry(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    ref = f"{registry.host}/test/bb:1"
    load_bb(daemon, tmp_path, ref)
    out = daemon.docker("push", ref).stdout
    assert f"The push refers to repository [{registry.host}/test/bb]" in out
    digest, size = push_digest(out, "1")
    assert out.count(": Pushed") == 3, out
    # An independent client reads what dockyard pushed.
    info = skopeo_inspect(ref)
    assert info["Digest"] == digest and len(info["Layers"]) == 3
    served, manifest = registry_manifest(registry, "test/bb", "1")
    assert served == digest and len(json.dumps(manifest)) > 0
    skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{tmp_path / 'oci'}:x")
    index = json.loads((tmp_path / "oci" / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "x"
    image_id = daemon.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
    assert manifest["config"]["digest"] == image_id
    # Pushing again uploads nothing.
    posts = sum(1 for m, _ in registry.requests() if m == "POST")
    again = daemon.docker("push", ref).stdout
    assert again.count("Layer already exists") == 3, again
    assert push_digest(again, "1") == (digest, size)
    assert sum(1 for m, _ in registry.requests() if m == "POST") == posts
    # RepoDigests now name the pushed manifest.
    digests = json.loads(daemon.docker("image", "inspect", "-f", "{{json .RepoDigests}}", ref).stdout)
    assert f"{registry.host}/test/bb@{digest}" in digests


def test_push_mounts_layers_from_another_repository(daemon: DaemonHandle, registry: Registry,
                                                    tmp_path: Path) -> None:
    load_bb(daemon, tmp_path, f"{registry.host}/test/bb:1", f"{registry.host}/other/bb:2")
    daemon.docker("push", f"{registry.host}/test/bb:1")
    out = daemon.docker("push", f"{registry.host}/other/bb:2").stdout
    assert out.count("Mounted from test/bb") == 3, out
    mounts = [uri for m, uri in registry.requests()
              if m == "POST" and uri.startswith("/v2/other/bb/") and "mount=" in uri]
    assert len(mounts) == 3 and all("from=test%2Fbb" in u for u in mounts), mounts
    assert skopeo_inspect(f"{registry.host}/other/bb:2")["Digest"] == push_digest(out, "2")[0]


def test_push_all_tags(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    load_bb(daemon, tmp_path, f"{registry.host}/test/bb:1", f"{registry.host}/test/bb:2")
    out = daemon.docker("push", "--all-tags", f"{registry.host}/test/bb").stdout
    d1, _ = push_digest(out, "1")
    d2, _ = push_digest(out, "2")
    assert d1 == d2
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{registry.host}/test/bb").stdout)
    assert sorted(tags["Tags"]) == ["1", "2"]


def test_push_and_pull_through_token_auth(daemon: DaemonHandle, second: DaemonHandle,
                                          token_proxy: TokenAuthProxy, tmp_path: Path) -> None:
    ref = f"{token_proxy.host}/test/bb:1"
    load_bb(daemon, tmp_path, ref, f"{token_proxy.host}/test/copy:1")
    denied = daemon.docker("push", ref, check=False)
    assert denied.returncode == 1 and not DIGEST.search(denied.stdout)
    assert not token_proxy.requests("PUT", "/manifests/")
    login(daemon, token_proxy.host)
    out = daemon.docker("push", ref).stdout
    digest, _ = push_digest(out, "1")
    scopes = [s for r in token_proxy.token_requests for s in r["scope"]]
    assert any(re.fullmatch(r"repository:test/bb:(push,pull|pull,push)", s) for s in scopes), scopes
    assert skopeo_inspect(ref, "--creds", f"{USER}:{PASSWORD}")["Digest"] == digest
    # A second repository on the same registry: the layers are mounted, not uploaded again.
    tried = len(token_proxy.mount_attempts)
    out = daemon.docker("push", f"{token_proxy.host}/test/copy:1").stdout
    assert out.count("Mounted from test/bb") == 3, out
    assert token_proxy.mount_attempts[tried:] == ["test/bb"] * 3
    assert not token_proxy.requests("PATCH", "/v2/test/copy/")
    # Cold pull in another daemon, logged in there too.
    login(second, token_proxy.host)
    out = second.docker("pull", ref).stdout
    assert f"Status: Downloaded newer image for {ref}" in out and f"Digest: {digest}" in out


# --- pull ----------------------------------------------------------------------------------------


def test_pull_into_fresh_daemon(daemon: DaemonHandle, second: DaemonHandle, registry: Registry,
                                tmp_path: Path) -> None:
    ref = f"{registry.host}/test/bb:1"
    load_bb(daemon, tmp_path, ref)
    digest, _ = push_digest(daemon.docker("push", ref).stdout, "1")
    image_id = daemon.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()

    out = second.docker("pull", ref).stdout
    assert out.startswith("1: Pulling from test/bb\n"), out
    assert out.count(": Pull complete") == 3, out
    assert f"Digest: {digest}" in out
    assert f"Status: Downloaded newer image for {ref}" in out
    assert out.rstrip().endswith(ref)
    assert second.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() == image_id
    rows = second.docker("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").stdout
    assert f"{registry.host}/test/bb 1 {digest}" in rows.splitlines(), rows

    again = second.docker("pull", ref).stdout
    assert f"Status: Image is up to date for {ref}" in again, again

    by_digest = f"{registry.host}/test/bb@{digest}"
    out = second.docker("pull", by_digest).stdout
    assert f"Digest: {digest}" in out and out.rstrip().endswith(by_digest)
    assert second.docker("image", "inspect", "-f", "{{.Id}}", by_digest).stdout.strip() == image_id

    quiet = second.docker("pull", "-q", ref).stdout
    assert quiet == f"{ref}\n"


def test_pull_by_digest_cold_leaves_no_tag(daemon: DaemonHandle, second: DaemonHandle, registry: Registry,
                                           tmp_path: Path) -> None:
    ref = f"{registry.host}/test/bb:1"
    load_bb(daemon, tmp_path, ref)
    digest, _ = push_digest(daemon.docker("push", ref).stdout, "1")
    by_digest = f"{registry.host}/test/bb@{digest}"
    out = second.docker("pull", by_digest).stdout
    assert f"Status: Downloaded newer image for {by_digest}" in out, out
    rows = second.docker("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").stdout
    assert rows.splitlines() == [f"{registry.host}/test/bb <none> {digest}"], rows


def test_pull_all_tags(daemon: DaemonHandle, second: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    load_bb(daemon, tmp_path, f"{registry.host}/test/bb:1", f"{registry.host}/test/bb:2")
    daemon.docker("push", "--all-tags", f"{registry.host}/test/bb")
    out = second.docker("pull", "--all-tags", f"{registry.host}/test/bb").stdout
    assert f"Status: Downloaded newer image for {registry.host}/test/bb" in out, out
    tags = second.docker("images", "--format", "{{.Tag}}", f"{registry.host}/test/bb").stdout.split()
    assert sorted(tags) == ["1", "2"]


def test_pull_from_htpasswd_registry(daemon: DaemonHandle, second: DaemonHandle, auth_registry: Registry,
                                     tmp_path: Path) -> None:
    ref = f"{auth_registry.host}/test/bb:1"
    load_bb(daemon, tmp_path, ref)
    login(daemon, auth_registry.host)
    digest, _ = push_digest(daemon.docker("push", ref).stdout, "1")
    login(second, auth_registry.host)
    out = second.docker("pull", ref).stdout
    assert f"Digest: {digest}" in out


# --- bad input -----------------------------------------------------------------------------------


def test_pull_unknown_repository_and_tag(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    load_bb(daemon, tmp_path, f"{registry.host}/test/bb:1")
    daemon.docker("push", f"{registry.host}/test/bb:1")
    before = images_state(daemon)
    proc = daemon.docker("pull", f"{registry.host}/nothing/here:1", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error response from daemon: "), proc.stderr
    assert re.search(r"manifest unknown|not found", proc.stderr), proc.stderr
    proc = daemon.docker("pull", f"{registry.host}/test/bb:nope", check=False)
    assert proc.returncode == 1
    assert re.search(r"manifest unknown|not found", proc.stderr), proc.stderr
    proc = daemon.docker("pull", f"{registry.host}/test/bb@sha256:{'0' * 64}", check=False)
    assert proc.returncode == 1
    assert re.search(r"manifest unknown|not found", proc.stderr), proc.stderr
    assert images_state(daemon) == before


def test_registry_down(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    ref = f"{registry.host}/test/bb:1"
    load_bb(daemon, tmp_path, ref)
    registry.stop()
    before = images_state(daemon)
    proc = daemon.docker("pull", ref, check=False, timeout=90)
    assert proc.returncode == 1
    assert "Error response from daemon" in proc.stderr and registry.host in proc.stderr, proc.stderr
    assert re.search(r"connection refused|connect", proc.stderr, re.I), proc.stderr
    push = daemon.docker("push", ref, check=False, timeout=90)
    assert push.returncode == 1 and re.search(r"connection refused|connect", push.stderr, re.I), push.stderr
    assert images_state(daemon) == before


def test_wrong_stored_credentials_on_push(daemon: DaemonHandle, auth_registry: Registry, tmp_path: Path) -> None:
    ref = f"{auth_registry.host}/test/bb:1"
    load_bb(daemon, tmp_path, ref)
    store_bad_credentials(daemon, auth_registry.host)
    before = images_state(daemon)
    push = daemon.docker("push", ref, check=False)
    assert push.returncode == 1 and "unauthorized" in push.stderr, push.stderr
    assert not DIGEST.search(push.stdout)
    assert images_state(daemon) == before


def store_bad_credentials(daemon: DaemonHandle, host: str) -> None:
    config = daemon.root / "docker-config"
    config.mkdir(parents=True, exist_ok=True)
    bad = base64.b64encode(f"{USER}:wrong".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {host: {"auth": bad}}}))


def test_refused_pull_is_a_clear_error(daemon: DaemonHandle, auth_registry: Registry,
                                       token_proxy: TokenAuthProxy) -> None:
    before = images_state(daemon)
    anonymous = daemon.docker("pull", f"{auth_registry.host}/test/bb:1", check=False, timeout=15)
    assert anonymous.returncode == 1
    assert re.search(r"no basic auth credentials|unauthorized", anonymous.stderr), anonymous.stderr
    store_bad_credentials(daemon, auth_registry.host)
    wrong = daemon.docker("pull", f"{auth_registry.host}/test/bb:1", check=False, timeout=15)
    assert wrong.returncode == 1 and "unauthorized" in wrong.stderr, wrong.stderr
    token = daemon.docker("pull", f"{token_proxy.host}/test/bb:1", check=False, timeout=15)
    assert token.returncode == 1
    assert re.search(r"unauthorized|denied|not found", token.stderr), token.stderr
    assert images_state(daemon) == before


# --- our own CLI ---------------------------------------------------------------------------------


def test_dockyard_cli_login_push_pull(daemon: DaemonHandle, second: DaemonHandle, token_proxy: TokenAuthProxy,
                                      tmp_path: Path) -> None:
    host = token_proxy.host
    ref = f"{host}/test/bb:1"
    load_bb(daemon, tmp_path, ref)
    bad = daemon.dockyard("login", host, "-u", USER, "--password-stdin", input=b"wrong\n", check=False)
    assert bad.returncode == 1 and b"unauthorized" in bad.stderr, bad.stderr
    assert b"wrong" not in bad.stdout + bad.stderr
    ok = daemon.dockyard("login", host, "-u", USER, "--password-stdin", input=PASSWORD.encode() + b"\n")
    assert b"Login Succeeded" in ok.stdout
    config = json.loads((daemon.root / "docker-config" / "config.json").read_text())
    assert base64.b64decode(config["auths"][host]["auth"]).decode() == f"{USER}:{PASSWORD}"
    out = daemon.dockyard("push", ref).stdout.decode()
    assert f"The push refers to repository [{host}/test/bb]" in out
    digest, _ = push_digest(out, "1")
    assert skopeo_inspect(ref, "--creds", f"{USER}:{PASSWORD}")["Digest"] == digest
    # The docker CLI's stored login serves our CLI too (same config file), and vice versa.
    login(second, host)
    pulled = second.dockyard("pull", ref).stdout.decode()
    assert f"Digest: {digest}" in pulled and f"Status: Downloaded newer image for {ref}" in pulled
    assert second.dockyard("pull", "-q", f"{host}/test/bb@{digest}").stdout.decode() == f"{host}/test/bb@{digest}\n"
    out = daemon.dockyard("logout", host).stdout.decode()
    assert f"Removing login credentials for {host}" in out
    config = json.loads((daemon.root / "docker-config" / "config.json").read_text())
    assert host not in config.get("auths", {})


def test_dockyard_cli_pull_errors(daemon: DaemonHandle, registry: Registry) -> None:
    before = images_state(daemon)
    proc = daemon.dockyard("pull", f"{registry.host}/nothing/here:1", check=False)
    assert proc.returncode == 1
    assert re.search(rb"manifest unknown|not found", proc.stderr), proc.stderr
    registry.stop()
    proc = daemon.dockyard("pull", f"{registry.host}/nothing/here:1", check=False, timeout=90)
    assert proc.returncode == 1 and re.search(rb"connection refused|connect", proc.stderr, re.I), proc.stderr
    assert images_state(daemon) == before

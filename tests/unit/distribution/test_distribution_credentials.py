"""X-Registry-Auth decoding and Docker's config.json (file entries and credential helpers)."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from dockyard.distribution.credentials import (
    Credentials,
    DockerConfigCredentials,
    decode_registry_auth,
    encode_registry_auth,
)


def _b64url(obj: object, *, pad: bool = True) -> str:
    text = base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()
    return text if pad else text.rstrip("=")


def test_decode_cli_and_docker_py_forms() -> None:
    cli = _b64url({"username": "u", "password": "p", "serveraddress": "https://index.docker.io/v1/"})
    assert decode_registry_auth(cli) == Credentials("u", "p")
    assert decode_registry_auth(_b64url({"username": "u", "password": "p"}, pad=False)) == Credentials("u", "p")
    assert decode_registry_auth(_b64url({"Username": "U", "Password": "P"})) == Credentials("U", "P")
    assert decode_registry_auth(_b64url({"identitytoken": "it"})) == Credentials(identity_token="it")
    assert decode_registry_auth(_b64url({"registrytoken": "rt"})) == Credentials(registry_token="rt")
    standard = base64.b64encode(json.dumps({"username": "ü?>", "password": "p"}).encode()).decode()
    assert decode_registry_auth(standard) == Credentials("ü?>", "p")


@pytest.mark.parametrize("value", [None, "", "e30=", "e30", "!!!", _b64url([1, 2]), _b64url({"username": ""}),
                                   base64.b64encode(b"not json").decode()])
def test_decode_is_lenient(value: str | None) -> None:
    assert decode_registry_auth(value) is None


def test_encode_round_trip() -> None:
    creds = Credentials("u", "p")
    encoded = encode_registry_auth(creds, "127.0.0.1:5000")
    assert json.loads(base64.urlsafe_b64decode(encoded)) == {
        "username": "u", "password": "p", "serveraddress": "127.0.0.1:5000"}
    assert decode_registry_auth(encoded) == creds
    assert encode_registry_auth(Credentials(), "") == "e30="


def test_repr_hides_secrets() -> None:
    assert "hunter2" not in repr(Credentials("u", "hunter2", "tok", "reg"))


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_config_get_reads_auths(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": _auth("hub", "pw")},
        "http://127.0.0.1:5000/v2/": {"auth": _auth("local", "pw:with:colons")},
        "tok.example": {"auth": _auth("t", ""), "identitytoken": "refresh"},
    }}))
    store = DockerConfigCredentials(str(path))
    assert store.get("docker.io") == Credentials("hub", "pw")
    assert store.get("127.0.0.1:5000") == Credentials("local", "pw:with:colons")
    assert store.get("tok.example") == Credentials("t", "", "refresh")
    assert store.get("other.example") is None
    assert DockerConfigCredentials(str(tmp_path / "missing.json")).get("docker.io") is None


def test_default_path_honours_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert DockerConfigCredentials().path == str(tmp_path / "config.json")


def test_store_writes_0600_atomically_and_keeps_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.json"
    store = DockerConfigCredentials(str(path))
    assert store.store("docker.io", Credentials("u", "p")) is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data == {"auths": {"https://index.docker.io/v1/": {"auth": _auth("u", "p")}}}
    data["psFormat"] = "table {{.ID}}"
    path.write_text(json.dumps(data))
    os.chmod(path, 0o644)
    store.store("127.0.0.1:5000", Credentials("a", "b"))
    data = json.loads(path.read_text())
    assert data["psFormat"] == "table {{.ID}}" and data["auths"]["127.0.0.1:5000"] == {"auth": _auth("a", "b")}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.get("127.0.0.1:5000") == Credentials("a", "b")
    assert store.store("127.0.0.1:5000", Credentials("a", identity_token="it")) is False
    assert store.get("127.0.0.1:5000") == Credentials("a", "", "it")
    assert os.listdir(path.parent) == ["config.json"]
    assert store.erase("127.0.0.1:5000") is True
    assert store.erase("127.0.0.1:5000") is False
    assert store.get("127.0.0.1:5000") is None
    assert store.get("docker.io") == Credentials("u", "p")


FAKE_HELPER = """#!{python}
import json, os, sys
db = os.path.join(os.path.dirname(os.path.abspath(__file__)), "db.json")
try:
    data = json.load(open(db))
except FileNotFoundError:
    data = {{}}
action = sys.argv[1]
stdin = sys.stdin.read()
if action == "get":
    if stdin.strip() not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    user, secret = data[stdin.strip()]
    print(json.dumps({{"ServerURL": stdin.strip(), "Username": user, "Secret": secret}}))
elif action == "store":
    obj = json.loads(stdin)
    data[obj["ServerURL"]] = [obj["Username"], obj["Secret"]]
    json.dump(data, open(db, "w"))
elif action == "erase":
    if stdin.strip() not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    del data[stdin.strip()]
    json.dump(data, open(db, "w"))
"""


@pytest.fixture
def helper_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "docker-credential-fake"
    script.write_text(FAKE_HELPER.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bindir


@pytest.mark.parametrize("key", ["credsStore", "credHelpers"])
def test_credential_helper(tmp_path: Path, helper_path: Path, key: str) -> None:
    path = tmp_path / "config.json"
    config: dict[str, object] = {"credsStore": "fake"} if key == "credsStore" else \
        {"credHelpers": {"127.0.0.1:5000": "fake"}}
    path.write_text(json.dumps(config))
    store = DockerConfigCredentials(str(path))
    assert store.get("127.0.0.1:5000") is None
    assert store.store("127.0.0.1:5000", Credentials("u", "p")) is False
    assert json.loads((helper_path / "db.json").read_text()) == {"127.0.0.1:5000": ["u", "p"]}
    assert json.loads(path.read_text())["auths"] == {"127.0.0.1:5000": {}}
    assert store.get("127.0.0.1:5000") == Credentials("u", "p")
    store.store("127.0.0.1:5000", Credentials(identity_token="tok"))
    assert store.get("127.0.0.1:5000") == Credentials(identity_token="tok")
    assert store.erase("127.0.0.1:5000") is True
    assert store.get("127.0.0.1:5000") is None

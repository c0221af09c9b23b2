"""pull, push, login and logout: command lines → client calls, output and config.json."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.cli.app import Cli
from dockyard.cli.main import run
from dockyard.errors import NotFound, Unauthorized

DIGEST = "sha256:" + "c" * 64
PULL_STREAM: list[dict[str, Any]] = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa111"},
    {"status": "Downloading", "progressDetail": {"current": 10, "total": 20}, "id": "aaa111"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaa111"},
    {"status": "Digest: " + DIGEST},
    {"status": "Status: Downloaded newer image for busybox:latest"},
]
PUSH_STREAM: list[dict[str, Any]] = [
    {"status": "The push refers to repository [127.0.0.1:5000/me/app]"},
    {"status": "Preparing", "progressDetail": {}, "id": "ccc333"},
    {"status": "Pushed", "progressDetail": {}, "id": "ccc333"},
    {"status": f"1: digest: {DIGEST} size: 527"},
    {"progressDetail": {}, "aux": {"Tag": "1", "Digest": DIGEST, "Size": 527}},
]
CONFIG_WARNING = (
    "\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
    "Configure a credential helper to remove this warning. See\n"
    "https://docs.docker.com/go/credential-store/\n\n"
)


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.stream: list[dict[str, Any]] = PULL_STREAM
        self.passwords = {"good"}
        self.identity_token = ""
        self.fail: Exception | None = None

    def pull(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(("pull", args, kwargs))
        if self.fail is not None:
            raise self.fail
        return iter(self.stream)

    def push(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(("push", args, kwargs))
        return iter(self.stream)

    def login(self, username: str, password: str, serveraddress: str) -> dict[str, Any]:
        self.calls.append(("login", (username, password, serveraddress), {}))
        if password not in self.passwords:
            raise Unauthorized(f'Get "http://{serveraddress}/v2/": unauthorized: HTTP Basic: Access denied')
        return {"Status": "Login Succeeded", "IdentityToken": self.identity_token}

    def close(self) -> None:
        pass


class TtyInput(io.BytesIO):
    def isatty(self) -> bool:
        return True


class Harness:
    def __init__(self, config_dir: Path) -> None:
        self.client = FakeClient()
        self.config = config_dir / "config.json"
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.stdin: io.BytesIO = io.BytesIO()

    def run(self, *argv: str) -> int:
        self.out.seek(0)
        self.out.truncate()
        self.err.seek(0)
        self.err.truncate()
        cli = Cli(out=self.out, err=self.err, stdin=self.stdin, out_bytes=io.BytesIO(),
                  connect=lambda host: self.client)
        return run(list(argv), cli)

    def auths(self) -> dict[str, Any]:
        auths: dict[str, Any] = json.loads(self.config.read_text())["auths"]
        return auths

    def header(self, index: int = -1) -> dict[str, Any]:
        value = self.client.calls[index][2]["auth"]
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(value))
        return decoded


@pytest.fixture
def h(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.delenv("DOCKYARD_HOST", raising=False)
    return Harness(tmp_path / "docker")


# -- pull ------------------------------------------------------------------------------------------


def test_pull_defaults_the_tag_and_prints_like_docker_piped(h: Harness) -> None:
    assert h.run("pull", "busybox") == 0
    assert h.client.calls == [
        ("pull", ("docker.io/library/busybox", "latest"), {"platform": None, "all_tags": False, "auth": "e30="})
    ]
    assert h.out.getvalue() == (
        "Using default tag: latest\n"
        "latest: Pulling from library/busybox\n"
        "aaa111: Pulling fs layer\n"
        "aaa111: Pull complete\n"
        f"Digest: {DIGEST}\n"
        "Status: Downloaded newer image for busybox:latest\n"
        "docker.io/library/busybox:latest\n"
    )
    assert h.err.getvalue() == ""


def test_pull_quiet_prints_only_the_reference(h: Harness) -> None:
    assert h.run("image", "pull", "-q", "--platform", "linux/ARM64", "127.0.0.1:5000/me/app:1") == 0
    assert h.out.getvalue() == "127.0.0.1:5000/me/app:1\n"
    assert h.client.calls[0][1] == ("127.0.0.1:5000/me/app", "1")
    assert h.client.calls[0][2]["platform"] == "linux/ARM64"


def test_pull_by_digest_sends_the_digest_as_tag(h: Harness) -> None:
    assert h.run("pull", "--disable-content-trust", f"busybox:1.36@{DIGEST}") == 0
    assert h.client.calls[0][1] == ("docker.io/library/busybox", DIGEST)
    assert h.out.getvalue().endswith(f"\ndocker.io/library/busybox:1.36@{DIGEST}\n")
    assert "Using default tag" not in h.out.getvalue()


def test_pull_all_tags(h: Harness) -> None:
    assert h.run("pull", "-a", "-q", "user/app") == 0
    assert h.client.calls[0][1:] == (
        ("docker.io/user/app", None), {"platform": None, "all_tags": True, "auth": "e30="}
    )
    assert h.out.getvalue() == "docker.io/user/app\n"
    assert h.run("pull", "-a", "user/app:1") == 1
    assert h.err.getvalue() == "tag can't be used with --all-tags/-a\n"


def test_pull_bad_reference_and_argument_count(h: Harness) -> None:
    assert h.run("pull", "BAD") == 1
    assert h.err.getvalue() == "invalid reference format: repository name (library/BAD) must be lowercase\n"
    assert h.run("pull") == 1
    assert h.err.getvalue().startswith("dockyard: 'dockyard pull' requires 1 argument\n")
    assert h.client.calls == []


def test_pull_stream_error_prints_the_message_alone(h: Harness) -> None:
    h.client.stream = [*PULL_STREAM[:2], {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"}]
    assert h.run("pull", "busybox:1") == 1
    assert h.out.getvalue() == "latest: Pulling from library/busybox\naaa111: Pulling fs layer\n"
    assert h.err.getvalue() == "unexpected EOF\n"


def test_pull_error_before_the_stream_is_a_daemon_error(h: Harness) -> None:
    h.client.fail = NotFound("manifest for busybox:nope not found: manifest unknown: manifest unknown")
    assert h.run("pull", "busybox:nope") == 1
    assert h.err.getvalue() == (
        "Error response from daemon: manifest for busybox:nope not found: manifest unknown: manifest unknown\n"
    )


def test_pull_sends_stored_credentials(h: Harness) -> None:
    h.config.parent.mkdir()
    h.config.write_text(json.dumps({"auths": {
        "127.0.0.1:5000": {"auth": base64.b64encode(b"u:pw").decode()},
        "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:secret").decode()},
    }}))
    assert h.run("pull", "-q", "127.0.0.1:5000/a:1") == 0
    assert h.header() == {"username": "u", "password": "pw", "serveraddress": "127.0.0.1:5000"}
    assert h.run("pull", "-q", "busybox") == 0
    assert h.header() == {"username": "hub", "password": "secret", "serveraddress": "https://index.docker.io/v1/"}
    assert h.run("pull", "-q", "other.example/a") == 0
    assert h.client.calls[-1][2]["auth"] == "e30="


# -- push ------------------------------------------------------------------------------------------


def test_push_prints_progress_and_digest_line(h: Harness) -> None:
    h.client.stream = PUSH_STREAM
    assert h.run("push", "127.0.0.1:5000/me/app:1") == 0
    assert h.client.calls == [("push", ("127.0.0.1:5000/me/app", "1"), {"auth": "e30="})]
    assert h.out.getvalue() == (
        "The push refers to repository [127.0.0.1:5000/me/app]\n"
        "ccc333: Preparing\n"
        "ccc333: Pushed\n"
        f"1: digest: {DIGEST} size: 527\n"
    )


def test_push_quiet_all_tags_and_digest(h: Harness) -> None:
    h.client.stream = PUSH_STREAM
    assert h.run("image", "push", "-q", "me/app") == 0
    assert h.out.getvalue() == "docker.io/me/app:latest\n"
    assert h.client.calls[-1][1] == ("docker.io/me/app", "latest")
    assert h.run("push", "-a", "me/app") == 0
    assert h.client.calls[-1][1] == ("docker.io/me/app", None)
    assert h.run("push", "-a", "me/app:2") == 1
    assert h.err.getvalue() == "tag can't be used with --all-tags/-a\n"
    assert h.run("push", f"me/app@{DIGEST}") == 1
    assert h.err.getvalue() == "cannot push a digest reference\n"


# -- login / logout --------------------------------------------------------------------------------


def test_login_with_password_flag_warns_and_stores(h: Harness) -> None:
    assert h.run("login", "-u", "u", "-p", "good", "127.0.0.1:5000") == 0
    assert h.client.calls == [("login", ("u", "good", "127.0.0.1:5000"), {})]
    assert h.out.getvalue() == "Login Succeeded\n"
    assert h.err.getvalue() == (
        "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
        + CONFIG_WARNING.format(path=h.config)
    )
    assert h.auths() == {"127.0.0.1:5000": {"auth": base64.b64encode(b"u:good").decode()}}
    assert h.config.stat().st_mode & 0o777 == 0o600
    # The same credentials again: stored already, no second warning.
    h.stdin = io.BytesIO(b"good\r\n")
    assert h.run("login", "-u", "u", "--password-stdin", "127.0.0.1:5000") == 0
    assert h.err.getvalue() == ""
    assert h.client.calls[-1] == ("login", ("u", "good", "127.0.0.1:5000"), {})


def test_login_defaults_to_docker_hub(h: Harness) -> None:
    h.stdin = io.BytesIO(b"good\n")
    assert h.run("login", "-u", "u", "--password-stdin") == 0
    assert h.client.calls[-1][1][2] == "https://index.docker.io/v1/"
    assert list(h.auths()) == ["https://index.docker.io/v1/"]


def test_login_identity_token_is_stored_instead_of_password(h: Harness) -> None:
    h.client.identity_token = "refresh-me"
    h.stdin = io.BytesIO(b"good")
    assert h.run("login", "-u", "u", "--password-stdin", "reg.example") == 0
    assert h.auths()["reg.example"]["identitytoken"] == "refresh-me"
    assert "unencrypted" not in h.err.getvalue()


def test_login_wrong_password(h: Harness) -> None:
    h.stdin = io.BytesIO(b"bad\n")
    assert h.run("login", "-u", "u", "--password-stdin", "127.0.0.1:5000") == 1
    assert h.err.getvalue() == (
        'Error response from daemon: Get "http://127.0.0.1:5000/v2/": unauthorized: HTTP Basic: Access denied\n'
    )
    assert not h.config.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("-u", "u", "-p", "x", "--password-stdin"), "conflicting options: cannot specify both --password and "
                                                     "--password-stdin"),
        (("--password-stdin",), "the --password-stdin option requires --username to be set"),
        (("-u", ""), "username is empty"),
        (("-u", "u", "-p", ""), "password is empty"),
        (("r",), "Error: Cannot perform an interactive login from a non TTY device"),
    ],
)
def test_login_option_errors(h: Harness, argv: tuple[str, ...], message: str) -> None:
    assert h.run("login", *argv) == 1
    assert h.err.getvalue() == message + "\n"
    assert h.client.calls == []


def test_login_prompts_on_a_terminal(h: Harness) -> None:
    h.stdin = TtyInput(b"me\ngood\n")
    assert h.run("login", "reg.example") == 0
    assert h.out.getvalue() == "Username: Password: \nLogin Succeeded\n"
    assert h.client.calls == [("login", ("me", "good", "reg.example"), {})]
    h.stdin = TtyInput(b"\n")
    assert h.run("login", "-u", "me", "reg.example") == 1
    assert h.err.getvalue() == "Error: Password Required\n"


def test_login_reuses_stored_credentials(h: Harness) -> None:
    assert h.run("login", "-u", "u", "-p", "good", "127.0.0.1:5000") == 0
    assert h.run("login", "127.0.0.1:5000") == 0
    assert h.client.calls[-1] == ("login", ("u", "good", "127.0.0.1:5000"), {})
    assert h.err.getvalue().startswith("Authenticating with existing credentials... [Username: u]\n")
    assert h.out.getvalue() == "Login Succeeded\n"
    # Stale stored credentials: ask again, which needs a terminal.
    h.client.passwords = {"new"}
    assert h.run("login", "127.0.0.1:5000") == 1
    assert h.err.getvalue().endswith(
        "Stored credentials invalid or expired\nError: Cannot perform an interactive login from a non TTY device\n"
    )
    h.stdin = TtyInput(b"\nnew\n")
    assert h.run("login", "127.0.0.1:5000") == 0
    assert h.out.getvalue() == "Username (u): Password: \nLogin Succeeded\n"
    assert h.auths()["127.0.0.1:5000"] == {"auth": base64.b64encode(b"u:new").decode()}


def test_logout(h: Harness) -> None:
    assert h.run("login", "-u", "u", "-p", "good", "127.0.0.1:5000") == 0
    assert h.run("logout", "https://127.0.0.1:5000/v2/") == 0
    assert h.out.getvalue() == "Removing login credentials for 127.0.0.1:5000\n"
    assert h.auths() == {}
    assert h.run("logout") == 0
    assert h.out.getvalue() == "Removing login credentials for https://index.docker.io/v1/\n"
    assert h.err.getvalue() == ""

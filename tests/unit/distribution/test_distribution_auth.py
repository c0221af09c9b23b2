"""WWW-Authenticate parsing and the Authorizer's Basic and Bearer flows, with a scripted token server."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import pytest

from dockyard.distribution.auth import Authorizer, Challenge, TokenResponse, parse_www_authenticate
from dockyard.distribution.credentials import Credentials
from dockyard.errors import Unauthorized

BEARER = 'Bearer realm="https://auth.example/token",service="registry.example"'


def test_parse_bearer_challenge() -> None:
    assert parse_www_authenticate(BEARER) == [
        Challenge("bearer", {"realm": "https://auth.example/token", "service": "registry.example"})]


def test_parse_quoted_commas_escapes_and_several_challenges() -> None:
    value = ('Bearer realm="https://a/t",scope="repository:x/y:pull,push",error="insufficient_scope", '
             'Basic realm="say \\"hi\\""')
    assert parse_www_authenticate(value) == [
        Challenge("bearer", {"realm": "https://a/t", "scope": "repository:x/y:pull,push",
                             "error": "insufficient_scope"}),
        Challenge("basic", {"realm": 'say "hi"'}),
    ]


def test_parse_unquoted_and_empty() -> None:
    assert parse_www_authenticate("Basic realm=registry") == [Challenge("basic", {"realm": "registry"})]
    assert parse_www_authenticate("") == []


class TokenServer:
    def __init__(self, *, status: int = 200, body: dict[str, object] | None = None) -> None:
        self.status = status
        self.body = body
        self.calls: list[tuple[str, str, dict[str, str], bytes | None]] = []

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> TokenResponse:
        self.calls.append((method, url, dict(headers), body))
        payload = self.body if self.body is not None else {"token": f"t{len(self.calls)}", "expires_in": 300}
        return TokenResponse(self.status, "", json.dumps(payload).encode())


def test_basic_challenge_sends_credentials() -> None:
    auth = Authorizer(Credentials("u", "p"), http=TokenServer())
    assert auth.authorization("repository:a:pull") is None
    header = auth.challenge('Basic realm="r"', "repository:a:pull")
    assert header == "Basic " + base64.b64encode(b"u:p").decode()
    assert auth.authorization("repository:a:pull") == header


def test_basic_challenge_without_credentials_gives_up() -> None:
    assert Authorizer(None, http=TokenServer()).challenge('Basic realm="r"', "repository:a:pull") is None


def test_bearer_token_request_and_cache() -> None:
    server = TokenServer()
    auth = Authorizer(Credentials("u", "p"), http=server)
    assert auth.challenge(BEARER, "repository:a:pull") == "Bearer t1"
    method, url, headers, _ = server.calls[0]
    assert method == "GET" and url.startswith("https://auth.example/token?")
    query = parse_qs(urlsplit(url).query)
    assert query == {"service": ["registry.example"], "scope": ["repository:a:pull"], "account": ["u"]}
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    # Cached for the same scope, fetched for another.
    assert auth.authorization("repository:a:pull") == "Bearer t1"
    assert auth.authorization("repository:a:pull,push") == "Bearer t2"
    assert auth.authorization(["repository:a:pull"]) == "Bearer t1"
    assert len(server.calls) == 2


def test_anonymous_bearer_has_no_account() -> None:
    server = TokenServer()
    Authorizer(None, http=server).challenge(BEARER, "repository:a:pull")
    _, url, headers, _ = server.calls[0]
    assert "account" not in parse_qs(urlsplit(url).query) and "Authorization" not in headers


def test_insufficient_scope_challenge_fetches_anew_with_its_scope() -> None:
    server = TokenServer()
    auth = Authorizer(Credentials("u", "p"), http=server)
    auth.challenge(BEARER, "repository:a:pull")
    header = auth.challenge(BEARER + ',scope="repository:b:pull",error="insufficient_scope"', "repository:a:pull")
    assert header == "Bearer t2"
    assert parse_qs(urlsplit(server.calls[1][1]).query)["scope"] == ["repository:a:pull", "repository:b:pull"]


def test_token_expiry_defaults_and_issued_at() -> None:
    past = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 3600)) + ".999999999Z"
    server = TokenServer(body={"access_token": "old", "expires_in": 600, "issued_at": past})
    auth = Authorizer(None, http=server)
    auth.challenge(BEARER, "s")
    auth.authorization("s")
    assert len(server.calls) == 2  # issued an hour ago for ten minutes: stale at once
    server.body = {"token": "fresh"}  # no expires_in: 60 seconds
    auth.challenge(BEARER, "s")
    assert auth.authorization("s") == "Bearer fresh"
    assert len(server.calls) == 3


def test_identity_token_posts_refresh_grant() -> None:
    server = TokenServer(body={"access_token": "a", "refresh_token": "r2"})
    auth = Authorizer(Credentials(identity_token="r1"), http=server)
    assert auth.challenge(BEARER, "repository:a:pull") == "Bearer a"
    method, url, headers, body = server.calls[0]
    assert method == "POST" and url == "https://auth.example/token"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs((body or b"").decode()) == {
        "grant_type": ["refresh_token"], "refresh_token": ["r1"], "service": ["registry.example"],
        "client_id": ["dockyard"], "scope": ["repository:a:pull"]}


def test_token_server_errors() -> None:
    auth = Authorizer(Credentials("u", "bad"), http=TokenServer(status=401, body={"details": "incorrect username or password"}))
    with pytest.raises(Unauthorized) as info:
        auth.challenge(BEARER, "s")
    assert str(info.value) == "unauthorized: incorrect username or password"
    auth = Authorizer(Credentials("u", "bad"), http=TokenServer(status=401, body={}))
    with pytest.raises(Unauthorized) as info:
        auth.challenge(BEARER, "s")
    assert str(info.value) == "unauthorized: incorrect username or password"
    errors = {"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]}
    auth = Authorizer(None, http=TokenServer(status=403, body=errors))
    with pytest.raises(Unauthorized) as info:
        auth.challenge(BEARER, "s")
    assert str(info.value) == "denied: requested access to the resource is denied"


def test_token_response_without_token() -> None:
    with pytest.raises(Unauthorized):
        Authorizer(None, http=TokenServer(body={"nothing": 1})).challenge(BEARER, "s")


def test_registry_token_is_used_directly() -> None:
    server = TokenServer()
    auth = Authorizer(Credentials(registry_token="rt"), http=server)
    assert auth.authorization("s") == "Bearer rt"
    assert auth.challenge(BEARER, "s") is None
    assert server.calls == []

"""Registry authorization: WWW-Authenticate challenges, Basic, and Bearer tokens with a cache.

The flow is Docker's: a 401 names the scheme; Basic sends the credentials on every request;
Bearer fetches a token for the request's scope from the challenge's realm and caches it per scope
until it expires. An ``insufficient_scope`` 401 (or any 401 after a token) fetches a new one.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

from dockyard.distribution.credentials import Credentials
from dockyard.distribution.errcode import registry_error
from dockyard.errors import DockyardError, Unauthorized

DEFAULT_EXPIRES_IN = 60
# Refetch a little before expiry so that a token does not run out in flight.
_EXPIRY_MARGIN = 5.0
CLIENT_ID = "dockyard"


@dataclass(frozen=True)
class Challenge:
    """One challenge of a WWW-Authenticate header: ``Bearer realm="…",service="…"``."""

    scheme: str  # lower case: "basic", "bearer"
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenResponse:
    status: int
    reason: str
    body: bytes


class TokenFetch(Protocol):
    """Sends one request to a token server (the realm) and returns the whole response."""

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> TokenResponse:
        ...


def parse_www_authenticate(value: str) -> list[Challenge]:
    """Parse a WWW-Authenticate value into challenges (quoted strings may hold commas)."""
    challenges: list[Challenge] = []
    pos, n = 0, len(value)
    current: Challenge | None = None
    while pos < n:
        while pos < n and value[pos] in " \t,":
            pos += 1
        start = pos
        while pos < n and value[pos] not in " \t,=":
            pos += 1
        token = value[start:pos]
        if not token:
            break
        look = pos
        while look < n and value[look] in " \t":
            look += 1
        if look < n and value[look] == "=" and current is not None:
            pos = look + 1
            while pos < n and value[pos] in " \t":
                pos += 1
            param_value, pos = _read_value(value, pos)
            current.params[token.lower()] = param_value
        else:
            current = Challenge(token.lower(), {})
            challenges.append(current)
    return challenges


def _read_value(text: str, pos: int) -> tuple[str, int]:
    if pos < len(text) and text[pos] == '"':
        out: list[str] = []
        pos += 1
        while pos < len(text) and text[pos] != '"':
            if text[pos] == "\\" and pos + 1 < len(text):
                pos += 1
            out.append(text[pos])
            pos += 1
        return "".join(out), pos + 1
    start = pos
    while pos < len(text) and text[pos] not in ", \t":
        pos += 1
    return text[start:pos], pos


def normalize_scope(scope: str | Sequence[str]) -> tuple[str, ...]:
    """Scopes as a sorted, de-duplicated tuple (a string may hold several, space-separated)."""
    parts = scope.split() if isinstance(scope, str) else [p for s in scope for p in s.split()]
    return tuple(sorted(set(parts)))


@dataclass(frozen=True)
class _Token:
    header: str
    expires_at: float  # wall clock


class Authorizer:
    """Authorization headers for one registry; safe to share between threads."""

    def __init__(self, credentials: Credentials | None, *, http: TokenFetch, user_agent: str = "dockyard") -> None:
        self.credentials = credentials if credentials else None
        self._http = http
        self.user_agent = user_agent
        self._lock = threading.Lock()
        self._challenges: list[Challenge] = []
        self._tokens: dict[tuple[str, tuple[str, ...]], _Token] = {}

    @property
    def challenges(self) -> list[Challenge]:
        with self._lock:
            return list(self._challenges)

    def learn(self, www_authenticate: str | None) -> None:
        """Remember the challenges of an anonymous ``GET /v2/`` so later requests authorize up front."""
        challenges = parse_www_authenticate(www_authenticate or "")
        if challenges:
            with self._lock:
                self._challenges = challenges

    def authorization(self, scope: str | Sequence[str]) -> str | None:
        """The header to send up front, from what earlier challenges taught; None if none is known."""
        creds = self.credentials
        if creds is not None and creds.registry_token:
            return f"Bearer {creds.registry_token}"
        with self._lock:
            challenges = list(self._challenges)
        bearer = _find(challenges, "bearer")
        if bearer is not None:
            return self._bearer(bearer, normalize_scope(scope), refresh=False)
        if _find(challenges, "basic") is not None and creds is not None and (creds.username or creds.password):
            return _basic(creds)
        return None

    def challenge(self, www_authenticate: str | None, scope: str | Sequence[str]) -> str | None:
        """The header to retry with after a 401; None when there is nothing else to try."""
        creds = self.credentials
        challenges = parse_www_authenticate(www_authenticate or "")
        if challenges:
            with self._lock:
                self._challenges = challenges
        if creds is not None and creds.registry_token:
            return None  # the given token is all there is
        wanted = normalize_scope(scope)
        bearer = _find(challenges, "bearer")
        if bearer is not None:
            extra = bearer.params.get("scope", "")
            return self._bearer(bearer, normalize_scope((*wanted, *extra.split())), refresh=True)
        if _find(challenges, "basic") is not None and creds is not None and (creds.username or creds.password):
            return _basic(creds)
        return None

    # -- tokens ----------------------------------------------------------------------------------

    def _bearer(self, ch: Challenge, scopes: tuple[str, ...], *, refresh: bool) -> str:
        key = (ch.params.get("realm", "") + " " + ch.params.get("service", ""), scopes)
        now = time.time()
        if not refresh:
            with self._lock:
                cached = self._tokens.get(key)
            if cached is not None and now < cached.expires_at - _EXPIRY_MARGIN:
                return cached.header
        token = self._fetch_token(ch, scopes)
        with self._lock:
            self._tokens[key] = token
        return token.header

    def _fetch_token(self, ch: Challenge, scopes: tuple[str, ...]) -> _Token:
        realm = ch.params.get("realm")
        if not realm:
            raise Unauthorized("unauthorized: bearer challenge without a realm")
        service = ch.params.get("service", "")
        creds = self.credentials
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if creds is not None and creds.identity_token:
            form: list[tuple[str, str]] = [("grant_type", "refresh_token"), ("refresh_token", creds.identity_token),
                                           ("service", service), ("client_id", CLIENT_ID)]
            if scopes:
                form.append(("scope", " ".join(scopes)))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            resp = self._http("POST", realm, headers, urlencode(form).encode())
        else:
            query: list[tuple[str, str]] = []
            if service:
                query.append(("service", service))
            query.extend(("scope", s) for s in scopes)
            if creds is not None and creds.username:
                query.append(("account", creds.username))
                headers["Authorization"] = _basic(creds)
            sep = "&" if "?" in realm else "?"
            resp = self._http("GET", realm + (sep + urlencode(query) if query else ""), headers, None)
        if resp.status != 200:
            raise registry_error(resp.status, resp.reason, resp.body, unauthorized="incorrect username or password")
        return _parse_token(resp.body)


def _parse_token(body: bytes) -> _Token:
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DockyardError("unable to decode token response: invalid JSON") from exc
    if not isinstance(obj, dict):
        raise DockyardError("unable to decode token response: expected an object")
    token = obj.get("token") or obj.get("access_token")
    if not isinstance(token, str) or not token:
        raise Unauthorized("unauthorized: authorization server did not include a token in the response")
    expires_in = obj.get("expires_in")
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN
    issued = time.time()
    issued_at = obj.get("issued_at")
    if isinstance(issued_at, str) and issued_at:
        try:
            issued = _parse_time(issued_at)
        except ValueError:
            pass
    return _Token(f"Bearer {token}", issued + float(expires_in))


def _parse_time(text: str) -> float:
    """RFC 3339 with up to nanoseconds (Go's format), as a POSIX timestamp."""
    match = re.fullmatch(r"(.+?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text.strip())
    if match is None:
        raise ValueError(text)
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    value = datetime.fromisoformat(match.group(1) + zone).timestamp()
    return value + float("0." + match.group(2)) if match.group(2) else value


def _basic(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _find(challenges: list[Challenge], scheme: str) -> Challenge | None:
    return next((c for c in challenges if c.scheme == scheme), None)


__all__ = ["CLIENT_ID", "DEFAULT_EXPIRES_IN", "Authorizer", "Challenge", "TokenFetch", "TokenResponse",
           "normalize_scope", "parse_www_authenticate"]

"""A client of one repository on a registry (distribution spec v2): manifests, blobs, tags.

Requests go through the registry's auth (see ``auth``), follow redirects to blob storage, and
retry transient failures with exponential backoff; blob downloads resume from what the sink
already holds.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import BinaryIO, Protocol, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit

from dockyard.distribution.auth import Authorizer, TokenResponse
from dockyard.distribution.credentials import Credentials
from dockyard.distribution.errcode import registry_error
from dockyard.distribution.hosts import RegistryEndpoint, RegistryHosts
from dockyard.distribution.transport import Transport, split_url
from dockyard.errors import DockyardError, InvalidArgument, Unavailable
from dockyard.http.client import Body, ConnectError, Response
from dockyard.http.client import ConnectionLost as _BrokenConnection
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest, DigestMismatch

T = TypeVar("T")

MANIFEST_ACCEPT = ", ".join([mediatypes.OCI_INDEX, mediatypes.DOCKER_MANIFEST_LIST, mediatypes.OCI_MANIFEST,
                             mediatypes.DOCKER_MANIFEST])
MAX_MANIFEST_SIZE = 4 << 20  # as containerd: larger "manifests" are refused unread
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 10
_MAX_BACKOFF = 10.0
_READ_PIECE = 1 << 16
_OCTET = "application/octet-stream"


class BlobSink(Protocol):
    """Where a blob download goes (the content store's ingest writer fits)."""

    @property
    def offset(self) -> int:
        """Bytes already stored."""
        ...

    def write(self, data: bytes) -> int: ...

    def truncate(self, size: int) -> None: ...


class ConnectionLost(Unavailable):
    """The connection to the registry broke mid-request; worth a retry."""


class Unreachable(Unavailable):
    """Nothing accepted the connection; retried only for blob transfers."""


class _Transient(Exception):
    """A failed attempt worth retrying; carries the error to raise if retries run out."""

    def __init__(self, error: DockyardError) -> None:
        super().__init__(str(error))
        self.error = error


class RegistryClient:
    """One repository of one registry. Safe to share between worker threads."""

    def __init__(self, registry: str, repository: str, *, credentials: Credentials | None = None,
                 hosts: RegistryHosts | None = None, user_agent: str = "dockyard/0.1", timeout: float = 60.0,
                 retries: int = 4, backoff: float = 0.5) -> None:
        self.registry = registry
        self.repository = repository
        self.hosts = hosts or RegistryHosts()
        self.user_agent = user_agent
        self.retries = max(0, retries)
        self.backoff = backoff
        self._transport = Transport(timeout=timeout)
        self._auth = Authorizer(credentials, http=self._token_request, user_agent=user_agent)
        self._lock = threading.Lock()
        self._endpoints: dict[tuple[str, ...], RegistryEndpoint] = {}

    # -- scopes ------------------------------------------------------------------------------------

    def _pull_scope(self) -> tuple[str, ...]:
        return (f"repository:{self.repository}:pull",)

    def _push_scope(self) -> tuple[str, ...]:
        return (f"repository:{self.repository}:pull,push",)

    def _path(self, kind: str, ref: str = "") -> str:
        return f"/v2/{self.repository}/{kind}/{quote(ref, safe=':@')}" if ref else f"/v2/{self.repository}/{kind}/"

    # -- public API --------------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/`` with credentials: checks the registry is there and accepts them."""
        resp = self._request("GET", "/v2/", scope=())
        body = resp.read()
        if resp.status != 200:
            raise registry_error(resp.status, resp.reason, body)

    def resolve(self, reference: str) -> Descriptor:
        """The descriptor a tag or digest points to (HEAD, falling back to GET)."""
        def attempt() -> Descriptor | None:
            resp = self._request("HEAD", self._path("manifests", reference), scope=self._pull_scope(),
                                 headers={"Accept": MANIFEST_ACCEPT}, follow=True)
            resp.read()
            if resp.status >= 500:
                raise _Transient(registry_error(resp.status, resp.reason, b""))
            if resp.status != 200:
                return None  # a HEAD carries no error body: GET says what went wrong
            digest_text = resp.headers.get("Docker-Content-Digest", "")
            media_type = _media_type(resp.headers.get("Content-Type", ""))
            length = resp.headers.get("Content-Length", "")
            if not digest_text and Digest.is_digest(reference):
                digest_text = reference
            if not (digest_text and Digest.is_digest(digest_text) and length.isdigit()
                    and (mediatypes.is_manifest(media_type) or mediatypes.is_index(media_type))):
                return None
            if Digest.is_digest(reference) and digest_text != reference:
                return None
            return Descriptor(media_type, Digest.parse(digest_text), int(length))

        found = self._retrying(attempt)
        if found is not None:
            return found
        media_type, data, digest = self.get_manifest(reference)
        return Descriptor(media_type, digest, len(data))

    def get_manifest(self, reference: str) -> tuple[str, bytes, Digest]:
        """(media type, body, digest) of a manifest or index; a digest reference is verified."""
        def attempt() -> tuple[str, bytes, str]:
            resp = self._request("GET", self._path("manifests", reference), scope=self._pull_scope(),
                                 headers={"Accept": MANIFEST_ACCEPT}, follow=True)
            self._check(resp, 200)
            length = resp.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > MAX_MANIFEST_SIZE:
                resp.close()
                raise InvalidArgument(f"manifest {reference} is too large ({length} bytes)")
            data = _read_limited(resp, MAX_MANIFEST_SIZE, f"manifest {reference}")
            return (_media_type(resp.headers.get("Content-Type", "")), data,
                    resp.headers.get("Docker-Content-Digest", ""))

        content_type, data, header_digest = self._retrying(attempt)
        digest = Digest.from_bytes(data)
        if Digest.is_digest(reference):
            expected = Digest.parse(reference)
            actual = Digest.from_bytes(data, expected.algorithm)
            if actual != expected:
                raise DigestMismatch(expected, actual)
            digest = expected
        elif Digest.is_digest(header_digest):
            announced = Digest.parse(header_digest)
            actual = Digest.from_bytes(data, announced.algorithm)
            if actual != announced:
                raise DigestMismatch(announced, actual)
            digest = announced
        return _manifest_media_type(content_type, data), data, digest

    def fetch_blob(self, desc: Descriptor, sink: BlobSink, *,
                   on_progress: Callable[[int], None] | None = None) -> None:
        """Download a blob into ``sink``, resuming from ``sink.offset``; stops at ``desc.size``.

        ``on_progress`` gets each change of the stored size: the bytes just written, or a
        negative count when the sink had to be cut back (a server that ignored the range).
        The digest is not checked here: the caller commits the sink with the expected digest.
        """
        path = self._path("blobs", str(desc.digest))

        def cut(size: int) -> None:
            before = sink.offset
            sink.truncate(size)
            if on_progress is not None and sink.offset != before:
                on_progress(sink.offset - before)

        def attempt() -> None:
            offset = sink.offset
            if offset > desc.size:
                cut(0)
                offset = 0
            if offset == desc.size and desc.size > 0:
                return
            headers = {"Accept": "*/*"}
            if offset > 0:
                headers["Range"] = f"bytes={offset}-"
            resp = self._request("GET", path, scope=self._pull_scope(), headers=headers, follow=True)
            with resp:
                if resp.status == 206 and offset > 0:
                    start = _content_range_start(resp.headers.get("Content-Range", ""))
                    if start is None or start > offset:
                        resp.close()
                        cut(0)
                        raise _Transient(ConnectionLost(f"registry answered a range request with "
                                                        f"{resp.headers.get('Content-Range', 'no Content-Range')}"))
                    if start < offset:
                        cut(start)
                elif resp.status == 200:
                    if offset > 0:
                        cut(0)  # the server ignored the range: start over
                elif resp.status == 416 and offset > 0:
                    cut(0)
                    raise _Transient(ConnectionLost(f"range {offset}- not satisfiable for {desc.digest}"))
                else:
                    self._check(resp, 200)
                remaining = desc.size - sink.offset
                for chunk in resp.iter_bytes():
                    if len(chunk) > remaining:
                        chunk = chunk[:remaining]
                    if chunk:
                        sink.write(chunk)
                        remaining -= len(chunk)
                        if on_progress is not None:
                            on_progress(len(chunk))
                    if remaining <= 0:
                        break
                if remaining > 0:
                    raise _Transient(ConnectionLost(
                        f"short read fetching {desc.digest}: got {desc.size - remaining} of {desc.size} bytes"))

        self._retrying(attempt, reconnect=True)

    def blob_exists(self, digest: Digest) -> int | None:
        """The blob's size if the repository has it, else None."""
        def attempt() -> int | None:
            resp = self._request("HEAD", self._path("blobs", str(digest)), scope=self._pull_scope(), follow=True)
            resp.read()
            if resp.status == 404:
                return None
            if resp.status >= 500:
                raise _Transient(registry_error(resp.status, resp.reason, b""))
            if resp.status != 200:
                raise registry_error(resp.status, resp.reason, b"")
            length = resp.headers.get("Content-Length", "")
            return int(length) if length.isdigit() else 0

        return self._retrying(attempt)

    def mount_blob(self, digest: Digest, from_repository: str) -> bool:
        """Cross-repository mount; False when the registry would rather have an upload."""
        scope = (*self._push_scope(), f"repository:{from_repository}:pull")
        query = urlencode([("mount", str(digest)), ("from", from_repository)])

        def attempt() -> bool:
            resp = self._request("POST", self._path("blobs", "uploads") + "/?" + query, scope=scope, push=True)
            body = resp.read()
            if resp.status == 201:
                return True
            if resp.status == 202:
                location = resp.headers.get("Location")
                if location:
                    self._cancel_upload(location)
                return False
            if resp.status >= 500:
                raise _Transient(registry_error(resp.status, resp.reason, body))
            raise registry_error(resp.status, resp.reason, body)

        return self._retrying(attempt)

    def upload_blob(self, desc: Descriptor, open_blob: Callable[[], BinaryIO], *,
                    on_progress: Callable[[int], None] | None = None, chunk_size: int | None = None) -> None:
        """Upload a blob: monolithic PUT, or PATCH chunks of ``chunk_size`` then PUT.

        ``on_progress`` gets the bytes just sent; a failed attempt starts a fresh upload session
        and first reports the negative of what the failed one had sent.
        """
        if chunk_size is not None and chunk_size <= 0:
            raise InvalidArgument(f"invalid chunk size {chunk_size}")
        sent_total = [0]

        def report(n: int) -> None:
            sent_total[0] += n
            if on_progress is not None and n:
                on_progress(n)

        def attempt() -> None:
            report(-sent_total[0])
            location = self._start_upload()
            with open_blob() as stream:
                if chunk_size is None:
                    url = _with_query(location, digest=str(desc.digest))
                    resp = self._request("PUT", url, scope=self._push_scope(), push=True, headers={
                        "Content-Type": _OCTET, "Content-Length": str(desc.size)},
                        body=_counting(stream, desc.size, report), replay=False)
                    self._check_upload(resp, 201)
                    return
                sent = 0
                while True:
                    data = stream.read(chunk_size)
                    if not data:
                        break
                    resp = self._request("PATCH", location, scope=self._push_scope(), push=True, headers={
                        "Content-Type": _OCTET, "Content-Range": f"{sent}-{sent + len(data) - 1}",
                        "Content-Length": str(len(data))}, body=data)
                    self._check_upload(resp, 202)
                    location = self._location(resp, location)
                    sent += len(data)
                    report(len(data))
                resp = self._request("PUT", _with_query(location, digest=str(desc.digest)),
                                     scope=self._push_scope(), push=True, headers={"Content-Type": _OCTET})
                self._check_upload(resp, 201)

        self._retrying(attempt, reconnect=True)

    def put_manifest(self, reference: str, media_type: str, data: bytes) -> Digest:
        """Store a manifest under a tag or digest; returns its digest."""
        def attempt() -> Digest:
            resp = self._request("PUT", self._path("manifests", reference), scope=self._push_scope(), push=True,
                                 headers={"Content-Type": media_type}, body=data)
            body = resp.read()
            if resp.status >= 500:
                raise _Transient(registry_error(resp.status, resp.reason, body))
            if resp.status not in (200, 201, 202):
                raise registry_error(resp.status, resp.reason, body)
            header = resp.headers.get("Docker-Content-Digest", "")
            return Digest.parse(header) if Digest.is_digest(header) else Digest.from_bytes(data)

        return self._retrying(attempt)

    def list_tags(self) -> list[str]:
        """Every tag of the repository, following ``Link`` pagination."""
        tags: list[str] = []
        url: str | None = self._path("tags", "list")
        seen: set[str] = set()
        while url is not None and url not in seen:
            seen.add(url)

            def attempt(page_url: str = url) -> tuple[list[str], str | None]:
                resp = self._request("GET", page_url, scope=self._pull_scope(),
                                     headers={"Accept": "application/json"}, follow=True)
                self._check(resp, 200)
                body = resp.read()
                try:
                    obj = json.loads(body)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise DockyardError("invalid tag list from the registry") from exc
                page = obj.get("tags") if isinstance(obj, dict) else None
                found = [t for t in page if isinstance(t, str)] if isinstance(page, list) else []
                return found, _next_link(resp.headers.get("Link", ""))

            page, url = self._retrying(attempt)
            tags.extend(page)
        return tags

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- uploads -----------------------------------------------------------------------------------

    def _start_upload(self) -> str:
        resp = self._request("POST", self._path("blobs", "uploads") + "/", scope=self._push_scope(), push=True)
        self._check_upload(resp, 202)
        return self._location(resp, None)

    def _location(self, resp: Response, previous: str | None) -> str:
        location = resp.headers.get("Location")
        if not location:
            if previous is not None:
                return previous
            raise DockyardError("registry did not return an upload location")
        base = previous if previous is not None and "://" in previous else self._endpoint(True).url + "/"
        return urljoin(base, location)

    def _cancel_upload(self, location: str) -> None:
        url = urljoin(self._endpoint(True).url + "/", location)
        try:
            self._request("DELETE", url, scope=self._push_scope(), push=True).read()
        except DockyardError:
            pass  # an abandoned session expires on the registry anyway

    def _check_upload(self, resp: Response, expected: int) -> None:
        if resp.status == expected:
            resp.read()
            return
        body = resp.read()
        error = registry_error(resp.status, resp.reason, body)
        if resp.status >= 500:
            raise _Transient(error)
        raise error

    # -- requests ----------------------------------------------------------------------------------

    def _check(self, resp: Response, expected: int) -> None:
        """Raise the registry's error unless the status is ``expected`` (body left unread then)."""
        if resp.status == expected:
            return
        body = resp.read() if resp.status not in _REDIRECTS else b""
        error = registry_error(resp.status, resp.reason, body)
        if resp.status >= 500 or resp.status == 429:
            raise _Transient(error)
        raise error

    def _request(self, method: str, path_or_url: str, *, scope: Sequence[str], headers: Mapping[str, str] | None = None,
                 body: Body = None, follow: bool = False, push: bool = False, replay: bool = True) -> Response:
        """Send with authorization, retrying once after a 401 with what its challenge asks for."""
        endpoint = self._endpoint(push)
        url = path_or_url if "://" in path_or_url else endpoint.url + path_or_url
        sent = self._auth.authorization(scope)
        for attempt in range(2):
            head = {"User-Agent": self.user_agent, **(headers or {})}
            if sent:
                head["Authorization"] = sent
            resp = self._send(method, url, head, body, endpoint)
            if resp.status != 401 or attempt == 1 or not replay:
                break
            err_body = resp.read()
            retry_with = self._auth.challenge(resp.headers.get("WWW-Authenticate"), scope)
            if retry_with is None or (retry_with == sent and not retry_with.startswith("Bearer ")):
                raise registry_error(401, resp.reason, err_body)
            sent = retry_with
        if follow:
            resp = self._follow(method, url, resp, head, endpoint)
        return resp

    def _follow(self, method: str, url: str, resp: Response, headers: dict[str, str],
                endpoint: RegistryEndpoint) -> Response:
        """Follow redirects (to blob storage), without our Authorization on other hosts."""
        url_origin, _ = split_url(endpoint.url + "/")
        current = url
        for _ in range(_MAX_REDIRECTS):
            if resp.status not in _REDIRECTS:
                return resp
            location = resp.headers.get("Location")
            resp.read()
            if not location:
                raise DockyardError(f"registry redirect without a Location ({resp.status})")
            target = urljoin(current, location)
            origin, _ = split_url(target)
            if origin != url_origin:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            current = target
            resp = self._send(method, target, headers, None, endpoint if origin == url_origin else None)
        raise DockyardError(f"stopped after {_MAX_REDIRECTS} redirects")

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: Body,
              endpoint: RegistryEndpoint | None) -> Response:
        ctx = endpoint.ssl_context if endpoint is not None else None
        verb = method[:1].upper() + method[1:].lower()
        try:
            return self._transport.request(method, url, headers=headers, body=body, ssl_context=ctx)
        except ConnectError as exc:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
            raise Unreachable(f'{verb} "{url}": dial tcp {host}:{port}: connect: '
                              f'{_go_reason(exc.reason or str(exc))}') from exc
        except Unavailable as exc:
            raise ConnectionLost(f'{verb} "{url}": {exc}') from exc

    def _endpoint(self, push: bool) -> RegistryEndpoint:
        """The first endpoint that answers ``GET /v2/`` (mirrors only for pulls), probed once."""
        with self._lock:
            candidates = [e for e in self.hosts.endpoints(self.registry) if not (push and e.mirror)]
            key = tuple(e.url for e in candidates)
            chosen = self._endpoints.get(key)
            if chosen is not None:
                return chosen
            last: DockyardError | None = None
            for i, endpoint in enumerate(candidates):
                url = endpoint.url + "/v2/"
                try:
                    resp = self._send("GET", url, {"User-Agent": self.user_agent}, None, endpoint)
                    resp.read()
                except Unavailable as exc:
                    # Report the plain-HTTP failure of an insecure registry: that is what users run.
                    if last is None or not endpoint.is_tls:
                        last = exc
                    continue
                # Any answer shows the endpoint speaks the protocol, except Go's 400 for plain HTTP
                # sent to an HTTPS server.
                if resp.status != 400 or endpoint.is_tls or i == len(candidates) - 1:
                    if resp.status == 401:
                        self._auth.learn(resp.headers.get("WWW-Authenticate"))
                    self._endpoints[key] = endpoint
                    return endpoint
                last = registry_error(resp.status, resp.reason, b"")
            assert last is not None
            raise last

    def _token_request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> TokenResponse:
        endpoint = next((e for e in self.hosts.endpoints(self.registry)
                         if split_url(e.url + "/")[0] == split_url(url)[0]), None)
        resp = self._send(method, url, headers, body, endpoint)
        data = _read_limited(resp, 1 << 20, "token response")
        return TokenResponse(resp.status, resp.reason, data)

    def _retrying(self, attempt: Callable[[], T], *, reconnect: bool = False) -> T:
        """Run ``attempt``; retry transient failures with exponential backoff."""
        for i in range(self.retries + 1):
            try:
                return attempt()
            except _Transient as exc:
                error: DockyardError = exc.error
            except (ConnectionLost, _BrokenConnection) as exc:
                error = exc
            except Unreachable as exc:
                if not reconnect:
                    raise
                error = exc
            if i == self.retries:
                if isinstance(error, Unavailable):
                    raise error
                raise Unavailable(str(error)) from error
            time.sleep(min(self.backoff * (2 ** i), _MAX_BACKOFF))
        raise AssertionError("unreachable")


def _go_reason(reason: str) -> str:
    """The OS's words as Go prints them: "Connection refused" → "connection refused"."""
    return reason[:1].lower() + reason[1:] if reason else reason


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip()


def _manifest_media_type(content_type: str, data: bytes) -> str:
    """The manifest's media type: the header, else the body's ``mediaType`` or shape."""
    if mediatypes.is_manifest(content_type) or mediatypes.is_index(content_type) or mediatypes.is_schema1(content_type):
        return content_type
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return content_type
    if isinstance(obj, dict):
        declared = obj.get("mediaType")
        if isinstance(declared, str) and declared:
            return declared
        if obj.get("schemaVersion") == 1:
            return mediatypes.DOCKER_MANIFEST_SCHEMA1_SIGNED if "signatures" in obj \
                else mediatypes.DOCKER_MANIFEST_SCHEMA1
        if "manifests" in obj:
            return mediatypes.OCI_INDEX
        if "layers" in obj or "config" in obj:
            return mediatypes.OCI_MANIFEST
    return content_type


def _read_limited(resp: Response, limit: int, what: str) -> bytes:
    parts: list[bytes] = []
    total = 0
    for chunk in resp.iter_bytes():
        total += len(chunk)
        if total > limit:
            resp.close()
            raise InvalidArgument(f"{what} is larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _content_range_start(value: str) -> int | None:
    match = re.match(r"\s*bytes\s+(\d+)-", value)
    return int(match.group(1)) if match else None


def _next_link(value: str) -> str | None:
    """The ``rel="next"`` target of a Link header."""
    for part in value.split(","):
        match = re.match(r'\s*<([^>]*)>\s*;(.*)', part)
        if match and re.search(r'rel\s*=\s*"?next"?', match.group(2)):
            return match.group(1)
    return None


def _with_query(url: str, **params: str) -> str:
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(params)


def _counting(stream: BinaryIO, size: int, report: Callable[[int], None]) -> Iterator[bytes]:
    """The stream's bytes (exactly ``size`` of them), reporting each piece once it is sent."""
    sent = 0
    while sent < size:
        data = stream.read(min(_READ_PIECE, size - sent))
        if not data:
            raise InvalidArgument(f"blob ended after {sent} of {size} bytes")
        sent += len(data)
        yield data
        report(len(data))


__all__ = ["MANIFEST_ACCEPT", "BlobSink", "ConnectionLost", "RegistryClient", "Unreachable"]

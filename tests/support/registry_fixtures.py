"""Registries for push/pull tests: Debian's docker-registry on 127.0.0.1 and two in-process proxies.

    from registry_fixtures import Registry, TokenAuthProxy, CuttingProxy, skopeo

    with Registry(tmp_path / "reg") as reg:                          # open, http://127.0.0.1:P
        skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{tar}", f"docker://{reg.host}/x:1")
    with Registry(tmp_path / "reg", auth=("user", "pass")) as reg:   # htpasswd Basic auth
        ...
    with Registry(tmp_path / "reg") as up, TokenAuthProxy(up, users={"user": "pass"}) as tok:
        ...                                                          # Bearer token flow, tok.host
    with Registry(tmp_path / "reg") as up, CuttingProxy(up) as cut:
        cut.cut_blob(digest, after=1 << 20, times=4)                 # connection drops mid-blob
        ...
        cut.bytes_served[digest], cut.ranges[digest]

Everything listens on 127.0.0.1 only and stops on ``stop()`` / leaving the ``with`` block: the
registry process is terminated (its command line names the test's tmp dir, which the leak check
watches), the proxies close their listening socket and every client connection they hold.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

REGISTRY_BIN = "/usr/bin/docker-registry"
HTPASSWD_BIN = "htpasswd"
SKOPEO_BIN = "skopeo"

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "expect",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def registry_available() -> bool:
    return os.access(REGISTRY_BIN, os.X_OK) and shutil.which(HTPASSWD_BIN) is not None


def skopeo_available() -> bool:
    return shutil.which(SKOPEO_BIN) is not None


def skopeo(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run skopeo (an independent registry client); raise with its stderr on failure."""
    proc = subprocess.run([SKOPEO_BIN, *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def skopeo_inspect(ref: str, *extra: str) -> dict[str, Any]:
    """``skopeo inspect --tls-verify=false docker://<ref>`` as a dict (Digest, Architecture, ...)."""
    out = skopeo("inspect", "--tls-verify=false", *extra, f"docker://{ref}").stdout
    return dict(json.loads(out))


def skopeo_raw_manifest(ref: str, *extra: str) -> bytes:
    """The manifest bytes the registry serves for ``ref`` (no platform selection)."""
    proc = subprocess.run([SKOPEO_BIN, "inspect", "--raw", "--tls-verify=false", *extra, f"docker://{ref}"],
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"skopeo inspect --raw {ref} failed:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def http_get(url: str, headers: Mapping[str, str] | None = None,
             timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """A plain GET (no redirects followed for errors): status, headers (lower-case keys), body."""
    req = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback test URLs
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


# --- the CNCF distribution registry --------------------------------------------------------------


class Registry:
    """``/usr/bin/docker-registry serve`` on 127.0.0.1:<free port> with storage under ``root``.

    auth: (user, password) turns on htpasswd Basic auth (realm ``realm``). delete: allow
    ``DELETE`` of manifests and blobs. The process log (JSON lines plus access log) is
    ``root / "registry.log"``; :meth:`requests` parses the request URIs out of it.
    """

    def __init__(self, root: Path | str, *, auth: tuple[str, str] | None = None, delete: bool = False,
                 realm: str = "test-registry", start: bool = True) -> None:
        self.root = Path(root)
        self.auth = auth
        self.delete = delete
        self.realm = realm
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.storage = self.root / "storage"
        self.config = self.root / "config.yml"
        self.log = self.root / "registry.log"
        if start:
            self.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _write_config(self) -> None:
        config: dict[str, Any] = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "json", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": self.delete},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if self.auth is not None:
            user, password = self.auth
            htpasswd = self.root / "htpasswd"
            out = subprocess.run([HTPASSWD_BIN, "-Bbn", user, password], capture_output=True, text=True,
                                 check=True).stdout
            htpasswd.write_text(out.strip() + "\n")
            config["auth"] = {"htpasswd": {"realm": self.realm, "path": str(htpasswd)}}
        # YAML is a superset of JSON.
        self.config.write_text(json.dumps(config, indent=2) + "\n")

    def start(self, timeout: float = 20) -> Registry:
        if self.process is not None and self.process.poll() is None:
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(exist_ok=True)
        last_error = ""
        keep_port = self.port != 0  # a restart keeps the address clients already know
        for _ in range(5):
            if not keep_port:
                self.port = free_port()
            self._write_config()
            with open(self.log, "ab") as out:
                self.process = subprocess.Popen([REGISTRY_BIN, "serve", str(self.config)], stdout=out,
                                                stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    status, _, _ = http_get(f"{self.url}/v2/", timeout=2)
                    if status in (200, 401):
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            last_error = self.log.read_text(errors="replace")[-2000:]
            self.stop()
            if keep_port:
                time.sleep(0.5)
        raise RuntimeError(f"docker-registry did not start on {self.host}:\n{last_error}")

    def stop(self) -> None:
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def requests(self) -> list[tuple[str, str]]:
        """(method, request URI) of every completed request, from the registry's JSON log."""
        found = []
        for line in self.log_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("msg") == "response completed":
                found.append((str(entry.get("http.request.method")), str(entry.get("http.request.uri"))))
        return found

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class Upstream(Protocol):
    @property
    def host(self) -> str: ...


# --- in-process HTTP proxies ---------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: _Proxy) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients and the proxy cut connections on purpose in these tests; stay quiet.
        pass

    def close_all(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
            self.connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                conn.close()
            except OSError:
                pass


class _Cut(Exception):
    """Raised to drop the client connection on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
        pass

    def _dispatch(self) -> None:
        try:
            self.server.owner._handle(self)
        except _Cut:
            self.close_connection = True
            try:
                # A FIN, not a reset: the client gets every byte sent, then a short body.
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        except (ConnectionError, TimeoutError, http.client.HTTPException):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


def _read_body(handler: BaseHTTPRequestHandler) -> Iterator[bytes]:
    """The request body, de-chunked if it came chunked."""
    te = (handler.headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        while True:
            line = handler.rfile.readline(1024)
            if not line:
                raise ConnectionError("client closed mid-body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return
            remaining = size
            while remaining:
                chunk = handler.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    raise ConnectionError("client closed mid-chunk")
                remaining -= len(chunk)
                yield chunk
            handler.rfile.readline(1024)
    else:
        remaining = int(handler.headers.get("Content-Length") or 0)
        while remaining:
            chunk = handler.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                raise ConnectionError("client closed mid-body")
            remaining -= len(chunk)
            yield chunk


@dataclass
class ProxyRequest:
    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


class _Proxy:
    """A threaded HTTP server on 127.0.0.1 forwarding to an upstream registry, with hooks."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.lock = threading.Lock()
        self.log: list[ProxyRequest] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server(self)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"{type(self).__name__}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def requests(self, method: str | None = None, contains: str = "") -> list[ProxyRequest]:
        with self.lock:
            return [r for r in self.log if (method is None or r.method == method) and contains in r.uri]

    def _record(self, h: BaseHTTPRequestHandler, status: int) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        with self.lock:
            self.log.append(ProxyRequest(h.command, parsed.path, parsed.query, status,
                                         {k.lower(): v for k, v in h.headers.items()}))
            self.counts[parsed.path] += 1

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        self.forward(h)

    # Hooks for subclasses.
    def filter_body(self, h: BaseHTTPRequestHandler, status: int,
                    chunks: Iterator[bytes]) -> Iterator[bytes]:
        return chunks

    def send_json(self, h: BaseHTTPRequestHandler, status: int, body: Any,
                  headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)
        self._record(h, status)

    def forward(self, h: BaseHTTPRequestHandler, path: str | None = None) -> None:
        """Send the request upstream (streaming the body) and the answer back (streaming too)."""
        up_host, up_port = self.upstream.host.rsplit(":", 1)
        conn = http.client.HTTPConnection(up_host, int(up_port), timeout=120)
        try:
            target = path if path is not None else h.path
            conn.putrequest(h.command, target, skip_host=True, skip_accept_encoding=True)
            chunked_in = "chunked" in (h.headers.get("Transfer-Encoding") or "").lower()
            for k, v in h.headers.items():
                if k.lower() in HOP_BY_HOP or k.lower() in ("host", "content-length") or \
                        (k.lower() == "authorization" and self.strip_authorization):
                    continue
                conn.putheader(k, v)
            conn.putheader("Host", self.upstream.host)
            if chunked_in:
                conn.putheader("Transfer-Encoding", "chunked")
            elif h.headers.get("Content-Length") is not None:
                conn.putheader("Content-Length", h.headers["Content-Length"])
            conn.endheaders()
            for chunk in _read_body(h):
                conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked_in else chunk)
            if chunked_in:
                conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
            h.send_response_only(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            no_body = h.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
            for k, v in resp.getheaders():
                if k.lower() in HOP_BY_HOP:
                    continue
                if k.lower() == "location":
                    v = v.replace(f"//{self.upstream.host}/", f"//{self.host}/")
                h.send_header(k, v)
            chunked_out = length is None and not no_body
            if chunked_out:
                h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            self._record(h, resp.status)
            if no_body:
                return

            def upstream_chunks() -> Iterator[bytes]:
                while True:
                    data = resp.read(1 << 16)
                    if not data:
                        return
                    yield data

            for chunk in self.filter_body(h, resp.status, upstream_chunks()):
                h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked_out else chunk)
            if chunked_out:
                h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        finally:
            conn.close()

    strip_authorization = False


# --- Bearer token authentication -----------------------------------------------------------------


REPO_PATH = ("/manifests/", "/blobs/", "/tags/list")


def _repository_of(path: str) -> str | None:
    """``test/bb`` for ``/v2/test/bb/manifests/1``; None for ``/v2/`` and ``/v2/_catalog``."""
    if not path.startswith("/v2/"):
        return None
    rest = path[len("/v2/"):]
    for marker in REPO_PATH:
        i = rest.find(marker)
        if i > 0:
            return rest[:i]
    return None


@dataclass
class Token:
    value: str
    user: str
    access: dict[str, set[str]]
    expires: float
    refresh: bool = False


class TokenAuthProxy(_Proxy):
    """A registry front that implements the Docker/OCI Bearer token flow for real.

    Requests without a valid token get ``401 WWW-Authenticate: Bearer realm=".../token",
    service="test-registry",scope="repository:<name>:<actions>"``. ``GET /token`` with Basic
    credentials of a configured user issues an opaque token bound to the granted scope
    (``expires_in`` seconds); wrong credentials get 401; no credentials get a token with no
    access (or pull only, with ``anonymous_pull``), as Docker Hub's token server does. A valid token lets the request through to
    the upstream (open) registry; a token without the needed action gets 401 with
    ``error="insufficient_scope"``. ``allowed`` limits the actions a user may be granted
    (e.g. ``{"reader": {"pull"}}``); ``anonymous_pull`` grants pull without credentials.
    ``offline_token=true`` also issues a refresh token, usable with ``POST /token``
    (``grant_type=refresh_token``), as Docker's ``login`` asks for.
    """

    service = "test-registry"

    def __init__(self, upstream: Upstream, users: Mapping[str, str] | None = None, *,
                 allowed: Mapping[str, set[str]] | None = None, anonymous_pull: bool = False,
                 expires_in: int = 60, start: bool = True) -> None:
        super().__init__(upstream)
        self.users = dict(users if users is not None else {"user": "pass"})
        self.allowed = {k: set(v) for k, v in (allowed or {}).items()}
        self.anonymous_pull = anonymous_pull
        self.expires_in = expires_in
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.token_requests: list[dict[str, Any]] = []
        self.mount_attempts: list[str] = []
        if start:
            self.start()

    strip_authorization = True

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    # scope handling

    @staticmethod
    def parse_scopes(scopes: Iterable[str]) -> dict[str, set[str]]:
        access: dict[str, set[str]] = {}
        for scope in scopes:
            for item in scope.split(" "):
                parts = item.split(":")
                if len(parts) < 3 or parts[0] != "repository":
                    continue
                name = ":".join(parts[1:-1])
                access.setdefault(name, set()).update(a for a in parts[-1].split(",") if a)
        return access

    def _grant(self, user: str | None, wanted: dict[str, set[str]]) -> dict[str, set[str]]:
        if user is None:
            limit = {"pull"} if self.anonymous_pull else set()
        else:
            limit = self.allowed.get(user, {"pull", "push", "delete", "*"})
        return {name: acts & limit for name, acts in wanted.items() if acts & limit}

    def _basic_user(self, h: BaseHTTPRequestHandler) -> tuple[bool, str | None]:
        """(credentials present, user if they are valid)."""
        header = h.headers.get("Authorization") or ""
        if not header.lower().startswith("basic "):
            return False, None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return True, None
        if user in self.users and secrets.compare_digest(self.users[user], password):
            return True, user
        return True, None

    def _issue(self, user: str | None, access: dict[str, set[str]], offline: bool) -> dict[str, Any]:
        value = secrets.token_urlsafe(24)
        now = time.time()
        with self.lock:
            self.tokens[value] = Token(value, user or "", access, now + self.expires_in)
        body: dict[str, Any] = {
            "token": value, "access_token": value, "expires_in": self.expires_in,
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        }
        if offline and user is not None:
            refresh = secrets.token_urlsafe(24)
            with self.lock:
                self.refresh_tokens[refresh] = user
            body["refresh_token"] = refresh
        return body

    def _token_endpoint(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        if h.command == "POST":
            form = urllib.parse.parse_qs(b"".join(_read_body(h)).decode(), keep_blank_values=True)
            grant_type = (form.get("grant_type") or [""])[0]
            scopes = form.get("scope") or []
            user: str | None = None
            if grant_type == "refresh_token":
                with self.lock:
                    user = self.refresh_tokens.get((form.get("refresh_token") or [""])[0])
            elif grant_type == "password":
                name = (form.get("username") or [""])[0]
                if name in self.users and self.users[name] == (form.get("password") or [""])[0]:
                    user = name
            with self.lock:
                self.token_requests.append({"method": "POST", "grant_type": grant_type, "scope": scopes,
                                            "user": user})
            if user is None:
                self._deny_credentials(h)
                return
            body = self._issue(user, self._grant(user, self.parse_scopes(scopes)),
                               offline=grant_type == "password")
            self.send_json(h, 200, body)
            return
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        scopes = query.get("scope") or []
        present, user = self._basic_user(h)
        with self.lock:
            self.token_requests.append({"method": "GET", "scope": scopes, "user": user,
                                        "service": (query.get("service") or [""])[0],
                                        "account": (query.get("account") or [""])[0]})
        if present and user is None:
            self._deny_credentials(h)
            return
        offline = (query.get("offline_token") or [""])[0] == "true"
        self.send_json(h, 200, self._issue(user, self._grant(user, self.parse_scopes(scopes)), offline))

    def _deny_credentials(self, h: BaseHTTPRequestHandler) -> None:
        message = "incorrect username or password"
        self.send_json(h, 401, {"details": message,
                                "errors": [{"code": "UNAUTHORIZED", "message": message}]},
                       {"WWW-Authenticate": f'Basic realm="{self.realm}"'})

    def _challenge(self, h: BaseHTTPRequestHandler, scope: str | None, error: str | None) -> None:
        value = f'Bearer realm="{self.realm}",service="{self.service}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        message = "authentication required" if error is None else "insufficient scope"
        detail = [{"Type": "repository", "Class": "", "Name": n, "Action": a}
                  for n, a in (s.split(":")[1:] for s in (scope or "").split(" ") if s.count(":") >= 2)]
        self.send_json(h, 401, {"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": detail}]},
                       {"WWW-Authenticate": value})

    def _valid_token(self, h: BaseHTTPRequestHandler) -> Token | None:
        header = h.headers.get("Authorization") or ""
        if not header.lower().startswith("bearer "):
            return None
        with self.lock:
            token = self.tokens.get(header[7:].strip())
        if token is None or token.expires < time.time():
            return None
        return token

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        if parsed.path == "/token":
            self._token_endpoint(h)
            return
        if not parsed.path.startswith("/v2/"):
            self.send_json(h, 404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
            return
        name = _repository_of(parsed.path)
        action = "pull" if h.command in ("GET", "HEAD") else ("delete" if h.command == "DELETE" else "push")
        needed: dict[str, set[str]] = {}
        if name is not None:
            needed[name] = {"pull", "push"} if action == "push" else {action}
        token = self._valid_token(h)
        scope = " ".join(f"repository:{n}:{','.join(sorted(a, reverse=True))}" for n, a in needed.items())
        if token is None:
            self._challenge(h, scope or None, None)
            return
        for n, acts in needed.items():
            have = token.access.get(n, set())
            if not (acts <= have or "*" in have):
                self._challenge(h, scope, "insufficient_scope")
                return
        target = h.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        if h.command == "POST" and "mount" in query:
            source = (query.get("from") or [""])[0]
            with self.lock:
                self.mount_attempts.append(source)
            if "pull" not in token.access.get(source, set()):
                # Like registries that cannot mount: fall back to a plain upload (OCI spec: 202).
                rest = [(k, v) for k, vs in query.items() if k not in ("mount", "from") for v in vs]
                target = parsed.path + ("?" + urllib.parse.urlencode(rest) if rest else "")
        self.forward(h, target)


# --- a proxy that cuts (or corrupts) blob downloads ----------------------------------------------


@dataclass
class _BlobRule:
    after: int
    times: int
    corrupt: bool = False


class CuttingProxy(_Proxy):
    """Forwards everything to ``upstream``; blob GETs can be cut after N body bytes or corrupted.

    ``cut_blob(digest, after=N, times=K)``: the next K GETs of that blob close the connection once
    N bytes of the body went out (a short body). ``corrupt_blob(digest, times=K)`` flips a byte in
    the body of the next K GETs (a lying blob). ``bytes_served[digest]`` adds up the body bytes sent
    for each blob over all requests; ``ranges[digest]`` lists the ``Range`` header of every GET
    (None when there was none); ``blob_gets[digest]`` counts the GETs.
    """

    def __init__(self, upstream: Upstream, *, start: bool = True) -> None:
        super().__init__(upstream)
        self.rules: dict[str, _BlobRule] = {}
        self.bytes_served: collections.Counter[str] = collections.Counter()
        self.ranges: dict[str, list[str | None]] = collections.defaultdict(list)
        self.blob_gets: collections.Counter[str] = collections.Counter()
        self.cuts: collections.Counter[str] = collections.Counter()
        if start:
            self.start()

    def cut_blob(self, digest: str, *, after: int, times: int = 1) -> None:
        with self.lock:
            self.rules[digest] = _BlobRule(after, times)

    def corrupt_blob(self, digest: str, *, times: int = 1) -> None:
        with self.lock:
            self.rules[digest] = _BlobRule(0, times, corrupt=True)

    @staticmethod
    def _blob_digest(path: str) -> str | None:
        i = path.find("/blobs/")
        if not path.startswith("/v2/") or i < 0:
            return None
        tail = path[i + len("/blobs/"):]
        return tail if tail.startswith("sha256:") else None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        digest = self._blob_digest(urllib.parse.urlsplit(h.path).path)
        if digest is not None and h.command == "GET":
            with self.lock:
                self.ranges[digest].append(h.headers.get("Range"))
                self.blob_gets[digest] += 1
        self.forward(h)

    def filter_body(self, h: BaseHTTPRequestHandler, status: int,
                    chunks: Iterator[bytes]) -> Iterator[bytes]:
        digest = self._blob_digest(urllib.parse.urlsplit(h.path).path)
        if digest is None or h.command != "GET" or status not in (200, 206):
            yield from chunks
            return
        with self.lock:
            rule = self.rules.get(digest)
            active = rule is not None and rule.times > 0
            if rule is not None and active:
                rule.times -= 1
        sent = 0
        for chunk in chunks:
            if active and rule is not None and rule.corrupt and sent == 0 and chunk:
                chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
            if active and rule is not None and not rule.corrupt and sent + len(chunk) >= rule.after:
                part = chunk[:max(0, rule.after - sent)]
                if part:
                    h.wfile.write(part)
                    h.wfile.flush()
                with self.lock:
                    self.bytes_served[digest] += len(part)
                    self.cuts[digest] += 1
                raise _Cut()
            # Count before handing it on: the client may have it all before we resume.
            sent += len(chunk)
            with self.lock:
                self.bytes_served[digest] += len(chunk)
            yield chunk


# --- images for the registry ---------------------------------------------------------------------


def _blob_path(layout: Path, digest: str) -> Path:
    algo, _, hexpart = digest.partition(":")
    return layout / "blobs" / algo / hexpart


def _write_blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = sha256_digest(data)
    path = _blob_path(layout, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest, len(data)


def extract_oci_archive(archive: Path, dest: Path) -> Path:
    """Unpack an OCI archive (an OCI image layout as tar) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest


def multi_platform_layout(oci_archive: Path, dest: Path, tag: str = "multi",
                          platforms: Sequence[tuple[str, str, str | None]] = (("linux", "amd64", None),
                                                                              ("linux", "arm64", "v8")),
                          edit_config: Callable[[dict[str, Any], str], None] | None = None) -> dict[str, str]:
    """Turn a one-image OCI archive into an OCI layout whose ``tag`` is an image index.

    Each (os, architecture, variant) gets the same layers and a copy of the config that says that
    platform, hence a distinct config and manifest. Returns {"os/arch": manifest digest, "index":
    index digest}. Push it with ``skopeo copy --all oci:<dest>:<tag> docker://…``.
    """
    extract_oci_archive(oci_archive, dest)
    index = json.loads((dest / "index.json").read_text())
    base_desc = index["manifests"][0]
    manifest = json.loads(_blob_path(dest, base_desc["digest"]).read_bytes())
    config = json.loads(_blob_path(dest, manifest["config"]["digest"]).read_bytes())
    result: dict[str, str] = {}
    descriptors = []
    for os_name, arch, variant in platforms:
        cfg = dict(config)
        cfg["os"], cfg["architecture"] = os_name, arch
        cfg.pop("variant", None)
        if variant:
            cfg["variant"] = variant
        key = f"{os_name}/{arch}" + (f"/{variant}" if variant else "")
        if edit_config is not None:
            edit_config(cfg, key)
        cfg_digest, cfg_size = _write_blob(dest, json.dumps(cfg, separators=(",", ":")).encode())
        m = dict(manifest)
        m["config"] = {**manifest["config"], "digest": cfg_digest, "size": cfg_size}
        m_digest, m_size = _write_blob(dest, json.dumps(m, separators=(",", ":")).encode())
        plat: dict[str, str] = {"architecture": arch, "os": os_name}
        if variant:
            plat["variant"] = variant
        descriptors.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m_digest,
                            "size": m_size, "platform": plat})
        result[f"{os_name}/{arch}"] = m_digest
    image_index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": descriptors}
    idx_digest, idx_size = _write_blob(dest, json.dumps(image_index, separators=(",", ":")).encode())
    result["index"] = idx_digest
    (dest / "index.json").write_text(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": idx_digest,
                       "size": idx_size, "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }))
    return result


def single_platform_layout(oci_archive: Path, dest: Path, *, tag: str = "1", os_name: str = "linux",
                           arch: str = "arm64", variant: str | None = "v8",
                           as_index: bool = True) -> dict[str, str]:
    """An OCI layout holding the image for one (other) platform only, as an index or a bare manifest."""
    result = multi_platform_layout(oci_archive, dest, tag, ((os_name, arch, variant),))
    if not as_index:
        digest = result[f"{os_name}/{arch}"]
        (dest / "index.json").write_text(json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                           "size": _blob_path(dest, digest).stat().st_size,
                           "annotations": {"org.opencontainers.image.ref.name": tag}}],
        }))
    return result


def layer_digests(oci_layout: Path, manifest_digest: str) -> list[tuple[str, int]]:
    """(digest, size) of the layers of a manifest in an OCI layout."""
    manifest = json.loads(_blob_path(oci_layout, manifest_digest).read_bytes())
    return [(d["digest"], int(d["size"])) for d in manifest["layers"]]


def registry_manifest(reg: Upstream, name: str, ref: str,
                      auth: tuple[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """(digest, manifest) as the registry serves ``name:ref`` for the usual Accept list."""
    accept = ", ".join([
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
    ])
    headers = {"Accept": accept}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    status, hdrs, body = http_get(f"http://{reg.host}/v2/{name}/manifests/{ref}", headers)
    if status != 200:
        raise AssertionError(f"GET manifest {name}:{ref}: {status} {body[:300]!r}")
    return hdrs.get("docker-content-digest") or sha256_digest(body), dict(json.loads(body))

"""An in-memory registry and token server on 127.0.0.1, with knobs for misbehaving on purpose."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]
    body_size: int = 0


@dataclass
class Registry:
    auth: str = "none"  # "none", "basic", "bearer"
    users: dict[str, str] = field(default_factory=lambda: {"alice": "secret"})
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> user
    anonymous_pull: bool = False
    token_expires_in: int | None = 300
    token_issued_at_offset: float = 0.0
    blobs: dict[str, bytes] = field(default_factory=dict)
    repo_blobs: dict[str, set[str]] = field(default_factory=dict)
    manifests: dict[str, dict[str, tuple[str, bytes]]] = field(default_factory=dict)
    uploads: dict[str, bytearray] = field(default_factory=dict)
    # Misbehaviour knobs.
    cut_blob_after: list[int] = field(default_factory=list)  # per GET: send this many bytes, then hang up
    ignore_range: bool = False
    redirect_blobs: bool = False
    fail_next: list[int] = field(default_factory=list)  # statuses for the next requests (0: serve it)
    head_without_digest: bool = False
    tags_page_size: int = 0
    mount_allowed: bool = True
    scope_in_challenge: bool = False
    log: list[Logged] = field(default_factory=list)
    tokens: dict[str, tuple[set[str], float]] = field(default_factory=dict)
    token_requests: list[Logged] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- content helpers ---------------------------------------------------------------------------

    def add_blob(self, repo: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        self.repo_blobs.setdefault(repo, set()).add(digest)
        return digest

    def add_manifest(self, repo: str, tag: str, media_type: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        refs = self.manifests.setdefault(repo, {})
        refs[tag] = (media_type, data)
        refs[digest] = (media_type, data)
        return digest

    def requests(self, method: str | None = None, contains: str = "") -> list[Logged]:
        return [r for r in self.log if (method is None or r.method == method) and contains in r.path]


def _split(path: str) -> tuple[str, str, str] | None:
    """(/v2/<name>/<kind>/<rest>) → (name, kind, rest)."""
    if not path.startswith("/v2/"):
        return None
    body = path[4:]
    for kind in ("/manifests/", "/blobs/uploads/", "/blobs/", "/tags/list"):
        idx = body.find(kind)
        if idx > 0:
            return body[:idx], kind.strip("/"), body[idx + len(kind):]
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def reg(self) -> Registry:
        return self.server.registry

    # -- plumbing ----------------------------------------------------------------------------------

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        hdrs = {"Content-Length": str(len(body)), **(headers or {})}
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()
        self._send(status, body, {"Content-Type": "application/json", **(headers or {})})

    def _handle(self) -> None:
        body = self._body()
        parts = urlsplit(self.path)
        entry = Logged(self.command, self.path, {k: v for k, v in self.headers.items()}, len(body))
        if parts.path == "/token":
            self.reg.token_requests.append(entry)
            self._token(parts.query, body)
            return
        self.reg.log.append(entry)
        with self.reg.lock:
            fail = self.reg.fail_next.pop(0) if self.reg.fail_next else None
        if fail:  # 0 lets a request through
            self._error(fail, "UNAVAILABLE", "try again later")
            return
        if parts.path.startswith("/storage/"):
            self._storage(parts.path[len("/storage/"):])
            return
        if parts.path == "/v2/":
            if self._authorized(None, None):
                self._send(200, b"{}", {"Content-Type": "application/json",
                                        "Docker-Distribution-API-Version": "registry/2.0"})
            return
        split = _split(parts.path)
        if split is None:
            self._error(404, "NOT_FOUND", "not found")
            return
        name, kind, rest = split
        action = "pull" if self.command in ("GET", "HEAD") else "push"
        query = parse_qs(parts.query)
        if kind == "blobs/uploads" and "from" in query and not self._authorized(query["from"][0], "pull"):
            return
        if not self._authorized(name, action):
            return
        getattr(self, "_" + kind.replace("/", "_"))(name, rest, query, body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

    # -- auth --------------------------------------------------------------------------------------

    def _challenge(self, name: str | None, action: str | None, *, error: str = "") -> dict[str, str]:
        if self.reg.auth == "basic":
            return {"WWW-Authenticate": 'Basic realm="fake registry"'}
        value = f'Bearer realm="{self.reg.url}/token",service="fake-registry"'
        if name and (self.reg.scope_in_challenge or error):
            value += f',scope="repository:{name}:{action}"'
        if error:
            value += f',error="{error}"'
        return {"WWW-Authenticate": value}

    def _authorized(self, name: str | None, action: str | None) -> bool:
        reg = self.reg
        if reg.auth == "none":
            return True
        header = self.headers.get("Authorization", "")
        if reg.auth == "basic":
            if header.startswith("Basic "):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                if reg.users.get(user) == password:
                    return True
            self._error(401, "UNAUTHORIZED", "authentication required", self._challenge(name, action))
            return False
        if not header.startswith("Bearer "):
            self._error(401, "UNAUTHORIZED", "authentication required", self._challenge(name, action))
            return False
        granted = reg.tokens.get(header[7:])
        if granted is None or granted[1] < time.time():
            self._error(401, "UNAUTHORIZED", "authentication required", self._challenge(name, action))
            return False
        if name is None:
            return True
        if f"repository:{name}:{action}" not in granted[0]:
            self._error(401, "UNAUTHORIZED", "insufficient scope",
                        self._challenge(name, action, error="insufficient_scope"))
            return False
        return True

    def _token(self, query_text: str, body: bytes) -> None:
        reg = self.reg
        if self.command == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            user = reg.refresh_tokens.get(form.get("refresh_token", ""))
            if form.get("grant_type") != "refresh_token" or user is None:
                self._send(401, json.dumps({"details": "invalid refresh token"}).encode())
                return
            scopes = form.get("scope", "").split()
            key = "access_token"
        else:
            query = parse_qs(query_text)
            scopes = query.get("scope", [])
            header = self.headers.get("Authorization", "")
            user = None
            if header.startswith("Basic "):
                name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                if reg.users.get(name) != password:
                    self._send(401, json.dumps({"details": "incorrect username or password"}).encode(),
                               {"Content-Type": "application/json"})
                    return
                user = name
            elif not reg.anonymous_pull:
                self._send(401, json.dumps({"details": "authentication required"}).encode())
                return
            key = "token"
        granted: set[str] = set()
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            for action in actions.split(","):
                if user is None and action != "pull":
                    continue
                granted.add(f"{kind}:{name}:{action}")
        token = secrets.token_hex(8)
        expires_in = reg.token_expires_in or 60
        issued = time.time() + reg.token_issued_at_offset
        reg.tokens[token] = (granted, issued + expires_in)
        obj: dict[str, Any] = {key: token,
                               "issued_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(issued)) + ".123456789Z"}
        if reg.token_expires_in is not None:
            obj["expires_in"] = reg.token_expires_in
        if self.command == "POST":
            obj["refresh_token"] = form.get("refresh_token", "")
        self._send(200, json.dumps(obj).encode(), {"Content-Type": "application/json"})

    # -- manifests ---------------------------------------------------------------------------------

    def _manifests(self, name: str, ref: str, query: dict[str, list[str]], body: bytes) -> None:
        reg = self.reg
        if self.command == "PUT":
            media_type = self.headers.get("Content-Type", "")
            digest = reg.add_manifest(name, ref, media_type, body)
            self._send(201, b"", {"Docker-Content-Digest": digest, "Location": f"/v2/{name}/manifests/{digest}"})
            return
        if name not in reg.manifests:
            self._error(404, "NAME_UNKNOWN", "repository name not known to registry")
            return
        found = reg.manifests[name].get(ref)
        if found is None:
            self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            return
        media_type, data = found
        headers = {"Content-Type": media_type}
        if not (self.command == "HEAD" and reg.head_without_digest):
            headers["Docker-Content-Digest"] = "sha256:" + hashlib.sha256(data).hexdigest()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(data)

    # -- blobs -------------------------------------------------------------------------------------

    def _blobs(self, name: str, digest: str, query: dict[str, list[str]], body: bytes) -> None:
        reg = self.reg
        if digest not in reg.repo_blobs.get(name, set()):
            self._error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            return
        if reg.redirect_blobs:
            # Another origin (same server): the client must not send its credentials there.
            self._send(307, b"", {"Location": f"http://localhost:{reg.port}/storage/{digest}"})
            return
        self._serve_blob(digest)

    def _storage(self, digest: str) -> None:
        if "Authorization" in self.headers:
            self._send(400, b"authorization sent to storage")
            return
        self._serve_blob(digest)

    def _serve_blob(self, digest: str) -> None:
        reg = self.reg
        data = reg.blobs[digest]
        start = 0
        rng = self.headers.get("Range", "")
        status = 200
        if rng.startswith("bytes=") and not reg.ignore_range:
            start = int(rng[6:].split("-")[0])
            status = 206
        if self.command == "HEAD":
            self._send(200, b"", {"Content-Length": str(len(data)), "Docker-Content-Digest": digest})
            return
        part = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(part)))
        self.send_header("Content-Type", "application/octet-stream")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        with reg.lock:
            cut = reg.cut_blob_after.pop(0) if reg.cut_blob_after else None
        if cut is not None and cut < len(part):
            self.wfile.write(part[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(part)

    def _blobs_uploads(self, name: str, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        reg = self.reg
        if self.command == "POST":
            if "mount" in query:
                digest, source = query["mount"][0], query.get("from", [""])[0]
                if reg.mount_allowed and digest in reg.repo_blobs.get(source, set()):
                    reg.repo_blobs.setdefault(name, set()).add(digest)
                    self._send(201, b"", {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest})
                    return
            upload = str(uuid.uuid4())
            reg.uploads[upload] = bytearray()
            self._send(202, b"", {"Location": f"/v2/{name}/blobs/uploads/{upload}?_state=s0",
                                  "Range": "0-0", "Docker-Upload-UUID": upload})
            return
        upload = rest.split("?")[0]
        if upload not in reg.uploads:
            self._error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            return
        if self.command == "DELETE":
            del reg.uploads[upload]
            self._send(204)
            return
        buf = reg.uploads[upload]
        if self.command == "PATCH":
            crange = self.headers.get("Content-Range")
            if crange is not None and int(crange.split("-")[0]) != len(buf):
                self._error(416, "BLOB_UPLOAD_INVALID", "bad range")
                return
            buf += body
            state = f"s{len(buf)}"
            self._send(202, b"", {"Location": f"{reg.url}/v2/{name}/blobs/uploads/{upload}?_state={state}",
                                  "Range": f"0-{len(buf) - 1}"})
            return
        if self.command == "PUT":
            buf += body
            digest = query.get("digest", [""])[0]
            if "sha256:" + hashlib.sha256(buf).hexdigest() != digest:
                self._error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
                return
            del reg.uploads[upload]
            reg.add_blob(name, bytes(buf))
            self._send(201, b"", {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest})
            return
        self._error(405, "UNSUPPORTED", "unsupported")

    # -- tags --------------------------------------------------------------------------------------

    def _tags_list(self, name: str, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        reg = self.reg
        if name not in reg.manifests:
            self._error(404, "NAME_UNKNOWN", "repository name not known to registry")
            return
        tags = sorted(t for t in reg.manifests[name] if not t.startswith("sha256:"))
        last = query.get("last", [""])[0]
        if last:
            tags = [t for t in tags if t > last]
        headers = {"Content-Type": "application/json"}
        size = int(query.get("n", [str(reg.tags_page_size or 0)])[0])
        if size and len(tags) > size:
            tags = tags[:size]
            headers["Link"] = f'</v2/{name}/tags/list?n={size}&last={tags[-1]}>; rel="next"'
        self._send(200, json.dumps({"name": name, "tags": tags}).encode(), headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: Registry

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-response are part of the tests


@contextmanager
def serve(registry: Registry | None = None, *, tls: ssl.SSLContext | None = None) -> Iterator[Registry]:
    reg = registry or Registry()
    server = _Server(("127.0.0.1", 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        reg.scheme = "https"
    server.registry = reg
    reg.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield reg
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

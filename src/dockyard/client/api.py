"""DockyardClient: typed methods over the Docker Engine API, spoken over HTTP only."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

from dockyard.client.errors import StreamError, error_for_status
from dockyard.errors import DockyardError
from dockyard.http.client import Body, HijackedSocket, HTTPConnection, Response, UpgradeRefused

API_VERSION = "1.44"
DEFAULT_HOST = "unix:///run/dockyard/dockyard.sock"
EMPTY_AUTH = "e30="

JSON = dict[str, Any]
Filters = Mapping[str, list[str]]
Query = Mapping[str, str | int | bool | None]


def default_host() -> str:
    return os.environ.get("DOCKYARD_HOST") or DEFAULT_HOST


def encode_filters(filters: Filters | None) -> str | None:
    """Filters in the CLI's map form {"key": {"value": true}}; None when there are none."""
    if not filters:
        return None
    return json.dumps({key: dict.fromkeys(values, True) for key, values in filters.items()})


def _query(params: Query) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "1" if value else "0"))
        else:
            pairs.append((key, str(value)))
    return "?" + urlencode(pairs) if pairs else ""


def _auth_headers(auth: str | None) -> dict[str, str]:
    # The docker CLI always sends the header; "e30=" is base64 of "{}" (no credentials).
    return {"X-Registry-Auth": auth or EMPTY_AUTH}


def _id(ident: str) -> str:
    # Container and exec names/IDs: one path segment.
    return quote(ident, safe="")


class ContainerWait:
    """A ``POST /containers/{id}/wait`` whose response head has arrived: the daemon registered it.

    The body (``{"StatusCode", "Error"}``) arrives when the condition is met; ``result`` blocks
    for it. The wait has a connection of its own, so other requests can go on meanwhile.
    """

    def __init__(self, conn: HTTPConnection, response: Response) -> None:
        self._conn = conn
        self._response = response

    def result(self) -> JSON:
        try:
            data = self._response.read()
        finally:
            self._conn.close()
        decoded = json.loads(data) if data.strip() else {}
        result: JSON = decoded if isinstance(decoded, dict) else {}
        return result

    def fileno(self) -> int:
        """For select(): readable once the body starts arriving."""
        sock = self._conn._sock
        return sock.fileno() if sock is not None else -1

    def close(self) -> None:
        self._response.close()
        self._conn.close()


def _name(name: str) -> str:
    # Image names keep their slashes in the path, as Docker's client sends them.
    return quote(name, safe="/:@")


class DockyardClient:
    """A client of one dockyard (or Docker) daemon."""

    def __init__(self, host: str | None = None, *, timeout: float | None = None) -> None:
        self.host = host or default_host()
        self._conn = HTTPConnection(self.host, timeout=timeout)

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> DockyardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        params: Query | None = None,
        *,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
        versioned: bool = True,
    ) -> Response:
        """Send a request; an error status raises the matching dockyard error."""
        prefix = f"/v{API_VERSION}" if versioned else ""
        resp = self._conn.request(method, prefix + path + _query(params or {}), headers=headers, body=body)
        if resp.status >= 400:
            raise error_for_status(resp.status, resp.read())
        return resp

    def _json(self, method: str, path: str, params: Query | None = None, **kw: Any) -> Any:
        resp = self.request(method, path, params, **kw)
        data = resp.read()
        return json.loads(data) if data.strip() else None

    def _stream(self, resp: Response) -> Iterator[JSON]:
        """Yield every message of a JSON progress stream; raise at its end if one was an error."""
        failure: str | None = None
        for message in resp.iter_json():
            if not isinstance(message, dict):
                continue
            if message.get("error") and failure is None:
                detail = message.get("errorDetail") or {}
                failure = str(detail.get("message") or message["error"])
            yield message
        if failure is not None:
            raise StreamError(failure)

    # -- system ------------------------------------------------------------------------------

    def ping(self) -> bool:
        resp = self.request("GET", "/_ping", versioned=False)
        return resp.read().strip() == b"OK"

    def version(self) -> JSON:
        result: JSON = self._json("GET", "/version")
        return result

    def info(self) -> JSON:
        result: JSON = self._json("GET", "/info")
        return result

    # ---- volumes ----------------------------------------------------------------------------

    def volumes(self, filters: Filters | None = None) -> list[JSON]:
        result = self._json("GET", "/volumes", {"filters": encode_filters(filters)}) or {}
        return list(result.get("Volumes") or [])

    def volume(self, name: str) -> JSON:
        result: JSON = self._json("GET", f"/volumes/{quote(name, safe='')}")
        return result

    def create_volume(self, name: str = "", *, driver: str = "", labels: dict[str, str] | None = None,
                      options: dict[str, str] | None = None) -> JSON:
        body = {"Name": name, "Driver": driver or "local", "Labels": labels or {}, "DriverOpts": options or {}}
        result: JSON = self._json("POST", "/volumes/create", body=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json"})
        return result

    def remove_volume(self, name: str, *, force: bool = False) -> None:
        self.request("DELETE", f"/volumes/{quote(name, safe='')}", {"force": force}).read()

    def prune_volumes(self, filters: Filters | None = None) -> JSON:
        result: JSON = self._json("POST", "/volumes/prune", {"filters": encode_filters(filters)}) or {}
        return result

    # ---- networks ---------------------------------------------------------------------------

    def networks(self, filters: Filters | None = None) -> list[JSON]:
        result = self._json("GET", "/networks", {"filters": encode_filters(filters)}) or []
        return [n for n in result if isinstance(n, dict)]

    def network(self, ref: str, *, verbose: bool = False) -> JSON:
        result: JSON = self._json("GET", f"/networks/{_id(ref)}", {"verbose": True if verbose else None})
        return result

    def create_network(self, name: str, *, driver: str = "bridge", internal: bool = False,
                       attachable: bool = False, labels: dict[str, str] | None = None,
                       options: dict[str, str] | None = None, ipam: JSON | None = None) -> JSON:
        """POST /networks/create; ``ipam`` is the request's IPAM object ({"Driver", "Config", "Options"})."""
        body = {
            "Name": name, "Driver": driver or "bridge", "Internal": internal, "Attachable": attachable,
            "Labels": labels or {}, "Options": options or {},
            "IPAM": ipam if ipam is not None else {"Driver": "default", "Config": [], "Options": {}},
        }
        result: JSON = self._json("POST", "/networks/create", body=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json"})
        return result

    def remove_network(self, ref: str) -> None:
        self.request("DELETE", f"/networks/{_id(ref)}").read()

    def prune_networks(self, filters: Filters | None = None) -> JSON:
        result: JSON = self._json("POST", "/networks/prune", {"filters": encode_filters(filters)}) or {}
        return result

    def connect_network(self, network: str, container: str, endpoint_config: JSON | None = None) -> None:
        """POST /networks/{id}/connect; ``endpoint_config`` is an EndpointSettings object (Aliases,
        IPAMConfig …)."""
        body = {"Container": container, "EndpointConfig": endpoint_config or {}}
        self.request("POST", f"/networks/{_id(network)}/connect", body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"}).read()

    def disconnect_network(self, network: str, container: str, *, force: bool = False) -> None:
        body = {"Container": container, "Force": force}
        self.request("POST", f"/networks/{_id(network)}/disconnect", body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"}).read()

    def system_df(self) -> JSON:
        result: JSON = self._json("GET", "/system/df")
        return result

    def system_check(self, repair: bool = False) -> JSON:
        result: JSON = self._json("POST", "/dockyard/system/check", {"repair": repair})
        return result

    def events(
        self,
        since: str | None = None,
        until: str | None = None,
        filters: Filters | None = None,
    ) -> Iterator[JSON]:
        resp = self.request(
            "GET", "/events", {"since": since, "until": until, "filters": encode_filters(filters)}
        )
        return self._stream(resp)

    # -- images ------------------------------------------------------------------------------

    def images(self, all: bool = False, filters: Filters | None = None, digests: bool = False) -> list[JSON]:
        params: dict[str, str | int | bool | None] = {"filters": encode_filters(filters)}
        if all:
            params["all"] = True
        if digests:
            params["digests"] = True
        result: list[JSON] = self._json("GET", "/images/json", params) or []
        return result

    def inspect_image(self, name: str) -> JSON:
        result: JSON = self._json("GET", f"/images/{_name(name)}/json")
        return result

    def history(self, name: str) -> list[JSON]:
        result: list[JSON] = self._json("GET", f"/images/{_name(name)}/history") or []
        return result

    def tag(self, source: str, repo: str, tag: str | None = None) -> None:
        self.request("POST", f"/images/{_name(source)}/tag", {"repo": repo, "tag": tag}).read()

    def remove_image(self, name: str, force: bool = False, noprune: bool = False) -> list[JSON]:
        params: dict[str, str | int | bool | None] = {}
        if force:
            params["force"] = True
        if noprune:
            params["noprune"] = True
        result: list[JSON] = self._json("DELETE", f"/images/{_name(name)}", params) or []
        return result

    def prune_images(self, filters: Filters | None = None) -> JSON:
        result: JSON = self._json("POST", "/images/prune", {"filters": encode_filters(filters)}) or {}
        return result

    def load(self, stream: BinaryIO, quiet: bool = False) -> Iterator[JSON]:
        resp = self.request(
            "POST",
            "/images/load",
            {"quiet": True} if quiet else {},
            body=stream,
            headers={"Content-Type": "application/x-tar"},
        )
        return self._stream(resp)

    def export(self, container: str) -> Iterator[bytes]:
        resp = self._conn.request("GET", f"/v{API_VERSION}/containers/{_id(container)}/export")
        if resp.status >= 400:
            raise error_for_status(resp.status, resp.read())
        return resp.iter_bytes()

    def save(self, names: list[str]) -> Iterator[bytes]:
        query = "?" + urlencode([("names", n) for n in names])
        resp = self._conn.request("GET", f"/v{API_VERSION}/images/get{query}")
        if resp.status >= 400:
            raise error_for_status(resp.status, resp.read())
        return resp.iter_bytes()

    def import_image(
        self,
        source: BinaryIO | None = None,
        src_url: str | None = None,
        repo: str | None = None,
        tag: str | None = None,
        changes: list[str] | None = None,
        message: str | None = None,
        platform: str | None = None,
    ) -> Iterator[JSON]:
        if (source is None) == (src_url is None):
            raise DockyardError("import needs exactly one of a source stream and a URL")
        pairs: list[tuple[str, str]] = [("fromSrc", src_url if src_url is not None else "-")]
        for key, value in (("repo", repo), ("tag", tag), ("message", message), ("platform", platform)):
            if value:
                pairs.append((key, value))
        pairs.extend(("changes", change) for change in changes or [])
        resp = self._conn.request(
            "POST",
            f"/v{API_VERSION}/images/create?{urlencode(pairs)}",
            body=source if source is not None else b"",
            headers={"Content-Type": "application/x-tar"} if source is not None else None,
        )
        if resp.status >= 400:
            raise error_for_status(resp.status, resp.read())
        return self._stream(resp)

    # -- registries ----------------------------------------------------------------------------

    def pull(
        self,
        image: str,
        tag: str | None = None,
        *,
        platform: str | None = None,
        all_tags: bool = False,
        auth: str | None = None,
    ) -> Iterator[JSON]:
        """``POST /images/create?fromImage=``: ``tag`` is a tag or a digest; all tags leave it out."""
        params: dict[str, str | int | bool | None] = {"fromImage": image}
        if not all_tags:
            params["tag"] = tag or "latest"
        if platform:
            params["platform"] = platform.lower()
        resp = self.request("POST", "/images/create", params, body=b"", headers=_auth_headers(auth))
        return self._stream(resp)

    def push(self, name: str, tag: str | None = None, *, auth: str | None = None) -> Iterator[JSON]:
        """``POST /images/{name}/push``; without a tag, every tag of the repository is pushed."""
        resp = self.request(
            "POST", f"/images/{_name(name)}/push", {"tag": tag}, body=b"", headers=_auth_headers(auth)
        )
        return self._stream(resp)

    def login(self, username: str, password: str, serveraddress: str) -> JSON:
        """``POST /auth``: the daemon checks the credentials against the registry."""
        body = json.dumps({"username": username, "password": password, "serveraddress": serveraddress})
        result: JSON = self._json(
            "POST", "/auth", body=body.encode(), headers={"Content-Type": "application/json"}
        ) or {}
        return result

    def distribution_inspect(self, name: str, auth: str | None = None) -> JSON:
        """``GET /distribution/{name}/json``: the registry's descriptor and platforms for ``name``."""
        result: JSON = self._json("GET", f"/distribution/{_name(name)}/json", headers=_auth_headers(auth))
        return result

    # -- containers --------------------------------------------------------------------------

    def _connection(self) -> HTTPConnection:
        """A fresh connection, for hijacks and long waits (as Docker's client uses)."""
        return HTTPConnection(self.host, timeout=self._conn.timeout)

    def create_container(
        self, config: Mapping[str, Any], name: str | None = None, platform: str | None = None
    ) -> JSON:
        """``POST /containers/create``: Config with HostConfig and NetworkingConfig, as Docker sends it."""
        result: JSON = self._json(
            "POST",
            "/containers/create",
            {"name": name or None, "platform": platform or None},
            body=json.dumps(config).encode(),
            headers={"Content-Type": "application/json"},
        ) or {}
        return result

    def start(self, container: str, detach_keys: str | None = None) -> None:
        """``POST /containers/{id}/start``; 304 (already started) is not an error."""
        self.request("POST", f"/containers/{_id(container)}/start", {"detachKeys": detach_keys}).read()

    def stop(self, container: str, t: int | None = None, signal: str | None = None) -> None:
        self.request("POST", f"/containers/{_id(container)}/stop", {"signal": signal, "t": t}).read()

    def restart(self, container: str, t: int | None = None, signal: str | None = None) -> None:
        self.request("POST", f"/containers/{_id(container)}/restart", {"signal": signal, "t": t}).read()

    def kill(self, container: str, signal: str | None = None) -> None:
        self.request("POST", f"/containers/{_id(container)}/kill", {"signal": signal}).read()

    def wait(self, container: str, condition: str | None = None) -> ContainerWait:
        """Register a wait; returns once the daemon has answered the head, before the condition is met."""
        conn = self._connection()
        path = f"/v{API_VERSION}/containers/{_id(container)}/wait" + _query({"condition": condition})
        try:
            resp = conn.request("POST", path)
            if resp.status >= 400:
                raise error_for_status(resp.status, resp.read())
        except BaseException:
            conn.close()
            raise
        return ContainerWait(conn, resp)

    def remove(self, container: str, v: bool = False, force: bool = False, link: bool = False) -> None:
        """``DELETE /containers/{id}``."""
        params: dict[str, str | int | bool | None] = {}
        if force:
            params["force"] = True
        if link:
            params["link"] = True
        if v:
            params["v"] = True
        self.request("DELETE", f"/containers/{_id(container)}", params).read()

    def containers(
        self,
        all: bool = False,
        limit: int | None = None,
        size: bool = False,
        filters: Filters | None = None,
    ) -> list[JSON]:
        """``GET /containers/json``."""
        params: dict[str, str | int | bool | None] = {}
        if all:
            params["all"] = True
        if limit is not None and limit > 0:
            params["limit"] = limit
        if size:
            params["size"] = True
        params["filters"] = encode_filters(filters)
        result: list[JSON] = self._json("GET", "/containers/json", params) or []
        return result

    def inspect_container(self, container: str, size: bool = False) -> JSON:
        result: JSON = self._json(
            "GET", f"/containers/{_id(container)}/json", {"size": True} if size else {}
        )
        return result

    def logs(
        self,
        container: str,
        stdout: bool = True,
        stderr: bool = True,
        follow: bool = False,
        since: str | None = None,
        until: str | None = None,
        timestamps: bool = False,
        tail: str | None = None,
        details: bool = False,
    ) -> Iterator[bytes]:
        """``GET /containers/{id}/logs``: raw body chunks (8-byte frames unless the container has a TTY)."""
        params: dict[str, str | int | bool | None] = {}
        if details:
            params["details"] = True
        if follow:
            params["follow"] = True
        if since:
            params["since"] = since
        if stderr:
            params["stderr"] = True
        if stdout:
            params["stdout"] = True
        params["tail"] = tail or "all"
        if timestamps:
            params["timestamps"] = True
        if until:
            params["until"] = until
        resp = self.request("GET", f"/containers/{_id(container)}/logs", params)
        return _close_after(resp)

    def follow_logs(
        self,
        container: str,
        stdout: bool = True,
        stderr: bool = True,
        since: str | None = None,
        until: str | None = None,
        timestamps: bool = False,
        tail: str | None = None,
    ) -> Iterator[bytes]:
        """``GET /containers/{id}/logs?follow=1`` on a connection of its own, so that several
        containers can be followed at once (a connection serves one request at a time)."""
        params: dict[str, str | int | bool | None] = {"follow": True, "since": since or None, "stderr": stderr or None,
                                                      "stdout": stdout or None, "tail": tail or "all",
                                                      "timestamps": timestamps or None, "until": until or None}
        conn = self._connection()
        try:
            resp = conn.request("GET", f"/v{API_VERSION}/containers/{_id(container)}/logs{_query(params)}")
            if resp.status >= 400:
                raise error_for_status(resp.status, resp.read())
        except BaseException:
            conn.close()
            raise
        return _close_connection_after(resp, conn)

    def _hijack(self, path: str, params: Query, body: bytes | None = None) -> HijackedSocket:
        conn = self._connection()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            return conn.hijack("POST", f"/v{API_VERSION}{path}{_query(params)}", headers=headers, body=body)
        except UpgradeRefused as exc:
            conn.close()
            if exc.status >= 400:
                raise error_for_status(exc.status, exc.body) from None
            raise DockyardError(str(exc)) from None
        except BaseException:
            conn.close()
            raise

    def attach(
        self,
        container: str,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        stream: bool = True,
        logs: bool = False,
        detach_keys: str | None = None,
    ) -> HijackedSocket:
        """``POST /containers/{id}/attach`` hijacked (101); the caller pumps the raw socket."""
        params: dict[str, str | int | bool | None] = {}
        if detach_keys:
            params["detachKeys"] = detach_keys
        if logs:
            params["logs"] = True
        if stderr:
            params["stderr"] = True
        if stdin:
            params["stdin"] = True
        if stdout:
            params["stdout"] = True
        if stream:
            params["stream"] = True
        return self._hijack(f"/containers/{_id(container)}/attach", params)

    def resize(self, container: str, h: int, w: int) -> None:
        self.request("POST", f"/containers/{_id(container)}/resize", {"h": h, "w": w}).read()

    def rename(self, container: str, name: str) -> None:
        self.request("POST", f"/containers/{_id(container)}/rename", {"name": name}).read()

    def update_container(self, container: str, body: JSON) -> JSON:
        """``POST /containers/{id}/update``: resources and restart policy; the daemon's warnings."""
        result: JSON = self._json("POST", f"/containers/{_id(container)}/update", body=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json"}) or {}
        return result

    def pause(self, container: str) -> None:
        self.request("POST", f"/containers/{_id(container)}/pause").read()

    def unpause(self, container: str) -> None:
        self.request("POST", f"/containers/{_id(container)}/unpause").read()

    def archive_stat(self, container: str, path: str) -> str | None:
        """``HEAD /containers/{id}/archive``: the base64 JSON stat header of ``path``."""
        resp = self.request("HEAD", f"/containers/{_id(container)}/archive", {"path": path})
        resp.read()
        return resp.headers.get("x-docker-container-path-stat")

    def archive_get(self, container: str, path: str) -> tuple[str | None, Iterator[bytes]]:
        resp = self.request("GET", f"/containers/{_id(container)}/archive", {"path": path})
        return resp.headers.get("x-docker-container-path-stat"), resp.iter_bytes()

    def archive_put(self, container: str, path: str, tar: BinaryIO, *, copy_owner: bool = False) -> None:
        self.request("PUT", f"/containers/{_id(container)}/archive",
                     {"path": path, "noOverwriteDirNonDir": True, "copyUIDGID": copy_owner or None},
                     body=tar.read(), headers={"Content-Type": "application/x-tar"}).read()

    def commit(self, container: str, *, repo: str = "", tag: str = "", comment: str = "", author: str = "",
               pause: bool = True, changes: list[str] | None = None) -> JSON:
        query: list[tuple[str, str]] = [("container", container), ("pause", "1" if pause else "0")]
        query += [(k, v) for k, v in (("repo", repo), ("tag", tag), ("comment", comment), ("author", author)) if v]
        query += [("changes", c) for c in changes or []]
        resp = self._conn.request("POST", f"/v{API_VERSION}/commit?{urlencode(query)}",
                                  headers={"Content-Type": "application/json"}, body=b"{}")
        data = resp.read()
        if resp.status >= 400:
            raise error_for_status(resp.status, data)
        result: JSON = json.loads(data)
        return result

    def container_stats(self, container: str, *, one_shot: bool = False) -> JSON:
        """One sample (``stream=false``); without ``one_shot`` the daemon waits for a second one so
        that ``precpu_stats`` is filled in."""
        result: JSON = self._json("GET", f"/containers/{_id(container)}/stats",
                                  {"stream": False, "one-shot": one_shot or None})
        return result

    def changes(self, container: str) -> list[JSON] | None:
        result: list[JSON] | None = self._json("GET", f"/containers/{_id(container)}/changes")
        return result

    def top(self, container: str, ps_args: str | None = None) -> JSON:
        result: JSON = self._json("GET", f"/containers/{_id(container)}/top", {"ps_args": ps_args or None})
        return result

    # -- exec --------------------------------------------------------------------------------

    def exec_create(
        self,
        container: str,
        cmd: list[str],
        *,
        user: str = "",
        privileged: bool = False,
        tty: bool = False,
        console_size: tuple[int, int] | None = None,
        attach_stdin: bool = False,
        attach_stdout: bool = True,
        attach_stderr: bool = True,
        detach: bool = False,
        detach_keys: str = "",
        env: list[str] | None = None,
        workdir: str = "",
    ) -> JSON:
        """``POST /containers/{id}/exec`` with the body the docker CLI sends; returns ``{"Id"}``."""
        body: JSON = {"User": user, "Privileged": privileged, "Tty": tty}
        if console_size:
            body["ConsoleSize"] = list(console_size)
        body.update({
            "AttachStdin": attach_stdin,
            "AttachStderr": attach_stderr,
            "AttachStdout": attach_stdout,
            "Detach": detach,
            "DetachKeys": detach_keys,
            "Env": env,
            "WorkingDir": workdir,
            "Cmd": cmd,
        })
        result: JSON = self._json(
            "POST",
            f"/containers/{_id(container)}/exec",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        ) or {}
        return result

    def exec_start(
        self, exec_id: str, detach: bool = False, tty: bool = False, console_size: tuple[int, int] | None = None
    ) -> HijackedSocket | None:
        """``POST /exec/{id}/start``: hijacked unless detached (then a plain 200 and None)."""
        body: JSON = {"Detach": detach, "Tty": tty}
        if console_size:
            body["ConsoleSize"] = list(console_size)
        payload = json.dumps(body).encode()
        if detach:
            self.request(
                "POST", f"/exec/{_id(exec_id)}/start", body=payload, headers={"Content-Type": "application/json"}
            ).read()
            return None
        return self._hijack(f"/exec/{_id(exec_id)}/start", {}, payload)

    def exec_resize(self, exec_id: str, h: int, w: int) -> None:
        self.request("POST", f"/exec/{_id(exec_id)}/resize", {"h": h, "w": w}).read()

    def exec_inspect(self, exec_id: str) -> JSON:
        result: JSON = self._json("GET", f"/exec/{_id(exec_id)}/json")
        return result

    # -- daemon start-up ---------------------------------------------------------------------

    def ensure_daemon(self, wait: float = 10.0) -> None:
        """Make sure a daemon answers; start one when it is ours to start (see client.autostart)."""
        from dockyard.client.autostart import ensure_daemon

        ensure_daemon(self, wait=wait)


def _close_after(resp: Response) -> Iterator[bytes]:
    try:
        yield from resp.iter_bytes()
    finally:
        resp.close()


def _close_connection_after(resp: Response, conn: HTTPConnection) -> Iterator[bytes]:
    try:
        yield from resp.iter_bytes()
    finally:
        resp.close()
        conn.close()


__all__ = [
    "API_VERSION",
    "DEFAULT_HOST",
    "EMPTY_AUTH",
    "ContainerWait",
    "DockyardClient",
    "default_host",
    "encode_filters",
]

"""``/containers/*`` and ``/exec/*``: lifecycle, wait, logs, attach and exec (hijacked streams)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import socket
import struct
import termios
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, BinaryIO, Protocol, cast

from dockyard import detachkeys
from dockyard.api import container_filters, container_wire, log_stream, params
from dockyard.api.responses import empty, json_response
from dockyard.api.router import Router
from dockyard.engine.bridge import consume_in_thread, iterate_in_thread
from dockyard.engine.containers.archive import PathStat
from dockyard.engine.containers.record import ContainerRecord
from dockyard.engine.containers.service import ExecRecord, NotModified
from dockyard.engine.containers.stats import StatsSample
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.http.server import Request, Response
from dockyard.shim.logfile import LogEntry, format_time
from dockyard.shim.stdcopy import encode


class ContainerBackend(Protocol):
    """The synchronous container service (routes run it in worker threads)."""

    def create(self, name: str, request: dict[str, Any]) -> tuple[str, list[str]]: ...
    def get(self, ref: str) -> ContainerRecord: ...
    def all(self) -> list[ContainerRecord]: ...
    def start(self, ref: str) -> None: ...
    def stop(self, ref: str, *, timeout: int | None = None, sig: str = "") -> None: ...
    def restart(self, ref: str, *, timeout: int | None = None, sig: str = "") -> None: ...
    def kill(self, ref: str, sig: str = "KILL") -> None: ...
    def wait(self, ref: str, condition: str = "not-running") -> tuple[int, str]: ...
    def remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> None: ...
    def rename(self, ref: str, new_name: str) -> None: ...
    def update(self, ref: str, body: dict[str, Any]) -> list[str]: ...
    def pause(self, ref: str) -> None: ...
    def unpause(self, ref: str) -> None: ...
    def resize(self, ref: str, height: int, width: int) -> None: ...
    def top(self, ref: str, ps_args: str = "") -> tuple[list[str], list[list[str]]]: ...
    def graph_data(self, rec: ContainerRecord) -> dict[str, str]: ...
    def sizes(self, rec: ContainerRecord) -> tuple[int, int]: ...
    def attach(self, ref: str, *, stdin: bool, stdout: bool, stderr: bool, logs: bool,
               gone: Callable[[], bool] = ...) -> Any: ...
    def logs(self, ref: str, *, stdout: bool, stderr: bool, since_ns: int | None, until_ns: int | None,
             tail: int | None, follow: bool, timestamps: bool, details: bool = False) -> Iterator[LogEntry]: ...
    def exec_create(self, ref: str, *, cmd: list[str], tty: bool, stdin: bool, stdout: bool, stderr: bool,
                    env: list[str], user: str, workdir: str, privileged: bool, detach_keys: str) -> str: ...
    def exec_get(self, exec_id: str) -> ExecRecord: ...
    def exec_start(self, exec_id: str, *, detach: bool, tty: bool | None = None) -> Any: ...
    def exec_when_done(self, exec_id: str, callback: Callable[[], None]) -> None: ...
    def changes(self, ref: str) -> list[tuple[str, int]]: ...
    def export(self, ref: str) -> Iterator[bytes]: ...
    def stats(self, ref: str) -> tuple[ContainerRecord, StatsSample | None]: ...
    def commit(self, ref: str, *, repo_tag: str | None, comment: str, author: str, pause: bool,
               changes: list[str], config: dict[str, Any] | None) -> str: ...
    def archive_stat(self, ref: str, path: str) -> PathStat: ...
    def archive_get(self, ref: str, path: str) -> tuple[PathStat, Iterator[bytes]]: ...
    def archive_put(self, ref: str, path: str, tar: BinaryIO, *, copy_owner: bool,
                    no_overwrite_dir_non_dir: bool) -> None: ...
    def exec_resize(self, exec_id: str, height: int, width: int) -> None: ...


PATH_STAT_HEADER = "X-Docker-Container-Path-Stat"
HEADERS_READ_WAIT = 0.5  # seconds an exec waits for the client to read the 101 before its process starts
STATS_INTERVAL = 1.0  # seconds between two samples, as dockerd's collector
EXIT_CODE_GRACE = 5.0  # seconds an exec's exit code may take to arrive after its output ends


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _resolve_from_thread(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        loop.call_soon_threadsafe(_resolve, future)


def _stream_type(tty: bool) -> str:
    return "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"


def detach_watcher(tty: bool, stdin: bool, keys: str) -> detachkeys.EscapeProxy | None:
    """dockerd watches a terminal's input for the detach keys (the default ones when none are
    given); input without a terminal goes through as it is."""
    return detachkeys.EscapeProxy(detachkeys.parse(keys or detachkeys.DEFAULT)) if tty and stdin else None


async def splice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, initial: bytes,
                 sock: socket.socket, *, forward_stdin: bool, close: bool = True,
                 detach: detachkeys.EscapeProxy | None = None) -> bool:
    """Pump a hijacked HTTP connection and a shim stream both ways.

    The client's half-close (EOF on ``reader``) closes the container's stdin and nothing more;
    the connection ends when the container's output ends, or when ``detach`` sees the detach
    keys in the input (the container goes on; a terminal's stdin has no EOF to give it): then True.
    """
    sock.setblocking(False)
    up_reader, up_writer = await asyncio.open_connection(sock=sock)

    detached = False

    async def client_to_container() -> None:
        nonlocal detached
        pending = initial
        while data := pending or await reader.read(65536):
            pending = b""
            if not forward_stdin:
                continue
            if detach is not None:
                data, detached = detach.feed(data)
            if data:
                up_writer.write(data)
                await up_writer.drain()
            if detached:
                up_writer.close()  # the output side sees its end: the attach is over
                return
        if forward_stdin and up_writer.can_write_eof():
            up_writer.write_eof()

    async def container_to_client() -> None:
        while data := await up_reader.read(65536):
            writer.write(data)
            await writer.drain()

    upstream = asyncio.ensure_future(client_to_container())
    try:
        await container_to_client()
    finally:
        upstream.cancel()
        with contextlib.suppress(BaseException):
            await upstream
        up_writer.close()
        if close:
            with contextlib.suppress(Exception):
                writer.close()
    return detached


def _wait_until_read(fd: int, limit: float) -> None:
    """Wait (at most ``limit`` seconds) until the client has read all we sent it: the 101 and its
    headers. Clients that take the raw socket after reading the headers through a buffer (docker-py)
    would lose output that arrived in the same read."""
    if fd < 0:
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            unread = struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except OSError:
            return  # not a socket that can tell
        if unread <= 0:
            return
        time.sleep(0.0002)


def _archive_path(req: Request) -> str:
    path = req.query_value("path") or ""
    if not path:
        raise InvalidArgument("bad parameter: path cannot be empty")
    return path


def _path_stat(info: PathStat) -> str:
    """The header's value: the stat as JSON, base64 encoded (dockerd's ContainerPathStat)."""
    body = {"name": info.name, "size": info.size, "mode": info.mode, "mtime": format_time(info.mtime_ns),
            "linkTarget": info.link_target}
    return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


class ContainerRoutes:
    def __init__(self, backend: ContainerBackend, *, graph_driver: str) -> None:
        self.backend = backend
        self.graph_driver = graph_driver

    def register(self, router: Router) -> None:
        add = router.add
        add("POST", "/containers/create", self.create)
        add("GET", "/containers/json", self.list)
        add("HEAD", "/containers/{id}/archive", self.archive_head)
        add("GET", "/containers/{id}/archive", self.archive_get)
        add("PUT", "/containers/{id}/archive", self.archive_put)
        add("POST", "/commit", self.commit)
        add("GET", "/containers/{id}/stats", self.stats)
        add("GET", "/containers/{id}/export", self.export)
        add("GET", "/containers/{id}/changes", self.changes)
        add("POST", "/containers/prune", self.prune)
        add("GET", "/containers/{id}/json", self.inspect)
        add("POST", "/containers/{id}/start", self.start)
        add("POST", "/containers/{id}/stop", self.stop)
        add("POST", "/containers/{id}/restart", self.restart)
        add("POST", "/containers/{id}/kill", self.kill)
        add("POST", "/containers/{id}/wait", self.wait)
        add("POST", "/containers/{id}/attach", self.attach)
        add("POST", "/containers/{id}/resize", self.resize)
        add("GET", "/containers/{id}/logs", self.logs)
        add("GET", "/containers/{id}/top", self.top)
        add("POST", "/containers/{id}/rename", self.rename)
        add("POST", "/containers/{id}/update", self.update)
        add("POST", "/containers/{id}/pause", self.pause)
        add("POST", "/containers/{id}/unpause", self.unpause)
        add("DELETE", "/containers/{id}", self.remove)
        add("POST", "/containers/{id}/exec", self.exec_create)
        add("POST", "/exec/{id}/start", self.exec_start)
        add("POST", "/exec/{id}/resize", self.exec_resize)
        add("GET", "/exec/{id}/json", self.exec_inspect)

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def create(self, req: Request) -> Response:
        body = await params.json_body(req) or {}
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON body: expected an object")
        host_config = body.pop("HostConfig", None) or {}
        networking = body.pop("NetworkingConfig", None) or {}
        request = {"Config": body, "HostConfig": host_config, "NetworkingConfig": networking,
                   "Platform": req.query_value("platform") or ""}
        cid, warnings = await self._call(self.backend.create, req.query_value("name") or "", request)
        return json_response({"Id": cid, "Warnings": warnings}, status=201)

    async def list(self, req: Request) -> Response:
        filters = params.filters(req)
        params.check_filter_keys(filters, container_filters.LIST_FILTERS)
        records = await self._call(self.backend.all)
        limit = params.integer(req, "limit", -1) or -1
        # dockerd: a limit (`ps -n N`, `ps -l`) lists containers in every state, like `all`
        out = container_filters.select(records, filters, show_all=params.flag(req, "all") or limit > 0)
        if limit > 0:
            out = out[:limit]
        now = time.time()
        summaries = [container_wire.container_summary(r, now=now) for r in out]
        if params.flag(req, "size"):  # ps -s: walking each container's layer costs, so only on request
            for summary, rec in zip(summaries, out, strict=True):
                summary["SizeRw"], summary["SizeRootFs"] = await self._call(self.backend.sizes, rec)
        return json_response(summaries)

    async def archive_head(self, req: Request) -> Response:
        info = await self._call(self.backend.archive_stat, req.path_params["id"], _archive_path(req))
        return Response(200, [(PATH_STAT_HEADER, _path_stat(info))], b"")

    async def archive_get(self, req: Request) -> Response:
        info, chunks = await self._call(self.backend.archive_get, req.path_params["id"], _archive_path(req))
        return Response(200, [("Content-Type", "application/x-tar"), (PATH_STAT_HEADER, _path_stat(info))],
                        iterate_in_thread(chunks))

    async def archive_put(self, req: Request) -> Response:
        ref, path = req.path_params["id"], _archive_path(req)
        copy_owner = params.flag(req, "copyUIDGID")
        no_overwrite = params.flag(req, "noOverwriteDirNonDir")
        await consume_in_thread(req.body_chunks(), lambda reader: self.backend.archive_put(
            ref, path, cast(BinaryIO, reader), copy_owner=copy_owner, no_overwrite_dir_non_dir=no_overwrite))
        return Response(200, [], b"")

    async def commit(self, req: Request) -> Response:
        ref = req.query_value("container") or ""
        repo, tag = req.query_value("repo") or "", req.query_value("tag") or ""
        if tag and not repo:
            raise InvalidArgument("invalid reference format: a tag needs a repository")
        body = await params.json_body(req)
        if body is not None and not isinstance(body, dict):
            raise InvalidArgument("invalid JSON: expected a container config object")
        image_id = await self._call(
            self.backend.commit, ref, repo_tag=(f"{repo}:{tag}" if tag else repo) or None,
            comment=req.query_value("comment") or "", author=req.query_value("author") or "",
            pause=params.flag(req, "pause", True), changes=req.query.get("changes", []), config=body or None)
        return json_response({"Id": image_id}, status=201)

    async def stats(self, req: Request) -> Response:
        ref = req.path_params["id"]
        rec, first = await self._call(self.backend.stats, ref)
        if not params.flag(req, "stream", True):
            if params.flag(req, "one-shot") or first is None:
                return json_response(container_wire.container_stats(rec, first, None))
            await asyncio.sleep(STATS_INTERVAL)  # dockerd's second sample, for the CPU percentage
            rec, second = await self._call(self.backend.stats, ref)
            return json_response(container_wire.container_stats(rec, second, first))

        async def samples() -> AsyncIterator[bytes]:
            nonlocal rec
            previous, current = None, first
            while True:
                yield json.dumps(container_wire.container_stats(rec, current, previous)).encode() + b"\n"
                await asyncio.sleep(STATS_INTERVAL)
                try:
                    rec, sample = await self._call(self.backend.stats, ref)
                except NotFound:
                    return  # removed: the stream ends
                previous, current = current, sample

        return Response(200, [("Content-Type", "application/json")], samples())

    async def export(self, req: Request) -> Response:
        chunks = await self._call(self.backend.export, req.path_params["id"])

        return Response(200, [("Content-Type", "application/x-tar")], iterate_in_thread(chunks))

    async def changes(self, req: Request) -> Response:
        found = await self._call(self.backend.changes, req.path_params["id"])
        # dockerd sends null, not [], when nothing changed
        return json_response([{"Path": p, "Kind": k} for p, k in found] or None)

    async def prune(self, req: Request) -> Response:
        filters = params.filters(req)
        for key in filters:
            if key not in container_filters.PRUNE_FILTERS:
                raise InvalidArgument(f"Invalid filter '{key}'")  # capitalised here, in dockerd's prune
        records = await self._call(self.backend.all)
        deleted = []
        reclaimed = 0
        for rec in records:
            if container_filters.prunable(rec, filters):
                written, _ = await self._call(self.backend.sizes, rec)
                try:
                    await self._call(self.backend.remove, rec.id)
                except NotFound:
                    continue  # removed meanwhile
                deleted.append(rec.id)
                reclaimed += written
        return json_response({"ContainersDeleted": deleted, "SpaceReclaimed": reclaimed})

    async def inspect(self, req: Request) -> Response:
        def load() -> tuple[ContainerRecord, dict[str, str]]:
            rec = self.backend.get(req.path_params["id"])
            return rec, self.backend.graph_data(rec)

        rec, graph_data = await self._call(load)  # one trip to a worker thread, not two
        body = container_wire.container_inspect(rec, graph_driver=self.graph_driver, log_path=rec.log_path,
                                                graph_data=graph_data)
        if params.flag(req, "size"):  # inspect -s
            body["SizeRw"], body["SizeRootFs"] = await self._call(self.backend.sizes, rec)
        return json_response(body)

    async def start(self, req: Request) -> Response:
        try:
            await self._call(self.backend.start, req.path_params["id"])
        except NotModified:
            return empty(304)
        return empty(204)

    async def stop(self, req: Request) -> Response:
        try:
            await self._call(self.backend.stop, req.path_params["id"], timeout=params.integer(req, "t"),
                             sig=req.query_value("signal") or "")
        except NotModified:
            return empty(304)
        return empty(204)

    async def restart(self, req: Request) -> Response:
        await self._call(self.backend.restart, req.path_params["id"], timeout=params.integer(req, "t"),
                         sig=req.query_value("signal") or "")
        return empty(204)

    async def kill(self, req: Request) -> Response:
        await self._call(self.backend.kill, req.path_params["id"], req.query_value("signal") or "KILL")
        return empty(204)

    async def wait(self, req: Request) -> Response:
        condition = req.query_value("condition") or "not-running"
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f'invalid condition: "{condition}"')
        cid = (await self._call(self.backend.get, req.path_params["id"])).id
        waiter = asyncio.ensure_future(self._call(self.backend.wait, cid, condition))

        async def body() -> AsyncIterator[bytes]:
            yield b""  # headers at once: clients register the wait before they start the container
            try:
                code, error = await waiter
            except NotFound:
                code, error = 0, ""
            result = {"StatusCode": code, "Error": {"Message": error} if error else None}
            yield json.dumps(result).encode() + b"\n"

        return Response(200, [("Content-Type", "application/json")], body())

    async def attach(self, req: Request) -> Response:
        cid = req.path_params["id"]
        rec = await self._call(self.backend.get, cid)
        stdin = params.flag(req, "stdin")
        stdout = params.flag(req, "stdout")
        stderr = params.flag(req, "stderr")
        logs = params.flag(req, "logs")
        keys = req.query_value("detachKeys") or ""
        try:
            detach = detach_watcher(rec.tty, stdin, keys)
        except ValueError:
            raise InvalidArgument(f"Invalid detach keys ({keys}) provided") from None
        backend = self.backend

        async def hijacked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, initial: bytes) -> None:
            closed = asyncio.Event()

            def gone() -> bool:
                return closed.is_set() or writer.is_closing()

            try:
                sock = await asyncio.to_thread(backend.attach, rec.id, stdin=stdin, stdout=stdout, stderr=stderr,
                                               logs=logs, gone=gone)
            except Exception:
                writer.close()
                return
            await splice(reader, writer, initial, sock, forward_stdin=stdin, detach=detach)

        return Response(200, [("Content-Type", _stream_type(rec.tty))], upgrade=hijacked)

    async def top(self, req: Request) -> Response:
        titles, processes = await self._call(self.backend.top, req.path_params["id"], req.query_value("ps_args") or "")
        return json_response({"Titles": titles, "Processes": processes})

    async def resize(self, req: Request) -> Response:
        await self._call(self.backend.resize, req.path_params["id"], params.integer(req, "h", 0) or 0,
                         params.integer(req, "w", 0) or 0)
        return Response(200, [], b"")

    async def logs(self, req: Request) -> Response:
        rec = await self._call(self.backend.get, req.path_params["id"])
        stdout = params.flag(req, "stdout")
        stderr = params.flag(req, "stderr")
        if not (stdout or stderr):
            raise InvalidArgument("Bad parameters: you must choose at least one stream")
        since_ns = params.timestamp_ns(req.query_value("since")) if req.query_value("since") not in (None, "", "0") else None
        until_ns = params.timestamp_ns(req.query_value("until")) if req.query_value("until") not in (None, "", "0") else None
        tail_text = req.query_value("tail") or "all"
        tail = None if tail_text == "all" else int(tail_text) if tail_text.lstrip("-").isdigit() else None
        if tail is not None and tail < 0:
            tail = None
        timestamps = params.flag(req, "timestamps")
        entries = self.backend.logs(rec.id, stdout=stdout, stderr=stderr, since_ns=since_ns or None,
                                    until_ns=until_ns or None, tail=tail, follow=params.flag(req, "follow"),
                                    timestamps=False, details=params.flag(req, "details"))
        tty = rec.tty
        body = log_stream.body(entries, tty=tty, timestamps=timestamps, follow=params.flag(req, "follow"))
        return Response(200, [("Content-Type", _stream_type(tty))], body)

    async def rename(self, req: Request) -> Response:
        name = req.query_value("name") or ""
        await self._call(self.backend.rename, req.path_params["id"], name)
        return empty(204)

    async def update(self, req: Request) -> Response:
        body = await params.json_body(req) or {}
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON body: expected an object")
        warnings = await self._call(self.backend.update, req.path_params["id"], body)
        return json_response({"Warnings": warnings})

    async def pause(self, req: Request) -> Response:
        await self._call(self.backend.pause, req.path_params["id"])
        return empty(204)

    async def unpause(self, req: Request) -> Response:
        await self._call(self.backend.unpause, req.path_params["id"])
        return empty(204)

    async def remove(self, req: Request) -> Response:
        await self._call(self.backend.remove, req.path_params["id"], force=params.flag(req, "force"),
                         volumes=params.flag(req, "v"))
        return empty(204)

    async def exec_create(self, req: Request) -> Response:
        body = await params.json_body(req) or {}
        cmd = body.get("Cmd") or []
        if isinstance(cmd, str):
            cmd = [cmd]
        exec_id = await self._call(
            self.backend.exec_create, req.path_params["id"], cmd=[str(c) for c in cmd],
            tty=bool(body.get("Tty")), stdin=bool(body.get("AttachStdin")),
            stdout=bool(body.get("AttachStdout", True)), stderr=bool(body.get("AttachStderr", True)),
            env=[str(e) for e in body.get("Env") or []], user=str(body.get("User") or ""),
            workdir=str(body.get("WorkingDir") or ""), privileged=bool(body.get("Privileged")),
            detach_keys=str(body.get("DetachKeys") or ""))
        return json_response({"Id": exec_id}, status=201)

    async def exec_start(self, req: Request) -> Response:
        body = await params.json_body(req) or {}
        exec_id = req.path_params["id"]
        ex = self.backend.exec_get(exec_id)  # a lookup in memory: no worker thread
        detach = bool(body.get("Detach"))
        if detach:
            await self._call(self.backend.exec_start, exec_id, detach=True)
            return Response(200, [], b"")
        container = self.backend.get(ex.container_id)  # one indexed read: no trip to a worker thread
        if not container.state.running or container.state.status == "paused":
            raise Conflict(f"Container {container.id} is not running")
        backend = self.backend

        async def hijacked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, initial: bytes) -> None:
            # The 101 is out before the process starts: clients that read the raw socket after the
            # headers (docker-py) must not find the first output buffered with them.
            client = writer.get_extra_info("socket")
            fd = client.fileno() if client is not None else -1

            def start() -> socket.socket:
                _wait_until_read(fd, HEADERS_READ_WAIT)
                return backend.exec_start(exec_id, detach=False)  # type: ignore[no-any-return]

            try:
                sock = await asyncio.to_thread(start)
            except DockyardError as exc:
                message = f"{exc}\r\n".encode()
                writer.write(message if ex.tty else encode(1, message))
                with contextlib.suppress(Exception):
                    await writer.drain()
                    writer.close()
                return
            # The exit code must be final before the client sees the stream end and asks for it.
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            backend.exec_when_done(exec_id, lambda: _resolve_from_thread(loop, done))
            detached = await splice(reader, writer, initial, sock, forward_stdin=ex.stdin, close=False,
                                    detach=detach_watcher(ex.tty, ex.stdin, ex.detach_keys))
            if not detached:  # a detached exec goes on running: no exit code to wait for
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(done, EXIT_CODE_GRACE)
            with contextlib.suppress(Exception):
                writer.close()

        return Response(200, [("Content-Type", _stream_type(ex.tty))], upgrade=hijacked)

    async def exec_resize(self, req: Request) -> Response:
        await self._call(self.backend.exec_resize, req.path_params["id"], params.integer(req, "h", 0) or 0,
                         params.integer(req, "w", 0) or 0)
        return Response(201, [], b"")

    async def exec_inspect(self, req: Request) -> Response:
        ex = self.backend.exec_get(req.path_params["id"])  # a lookup in memory: no worker thread
        return json_response(container_wire.exec_inspect(ex))

"""Container and exec endpoints of dockyardd over raw HTTP, every JSON body checked against the v1.44 spec.

Container list and inspect bodies are validated with ``go_nulls=True``: Docker itself sends Go's
nil slices/maps/pointers as null there (``"Binds": null``, ``"Entrypoint": null``, wait's
``"Error": null``), which the spec does not mark x-nullable. Everything else is strict.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from urllib.parse import quote

import pytest
from api_schema import response_errors, validate_path_response, validate_response
from busybox_image import busybox_archive
from unix_http import Response, UnixHTTPConnection

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

V = "/v1.44"


class Api:
    def __init__(self, daemon: DaemonHandle) -> None:
        self.socket = daemon.socket

    def request(self, method: str, path: str, body: object = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        conn = UnixHTTPConnection(self.socket)
        hdrs = dict(headers or {})
        if body is not None:
            raw = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            conn.request(method, V + path, body=raw, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, body: object = None) -> Response:
        return self.request("POST", path, body=body)


def frames(raw: bytes) -> list[tuple[int, bytes]]:
    """Split a multiplexed stdout/stderr stream into (stream type, payload)."""
    out = []
    while raw:
        assert len(raw) >= 8, raw
        kind, size = raw[0], struct.unpack(">I", raw[4:8])[0]
        out.append((kind, raw[8:8 + size]))
        raw = raw[8 + size:]
    return out


@pytest.fixture
def api(daemon: DaemonHandle) -> Api:
    resp = Api(daemon)
    loaded = resp.request("POST", "/images/load?quiet=1", raw=busybox_archive().read_bytes(),
                          headers={"Content-Type": "application/x-tar"})
    assert loaded.status == 200, loaded.raw
    try:
        yield resp
    finally:
        if daemon.process.poll() is None:
            for c in resp.get("/containers/json?all=1").json():
                resp.request("DELETE", f"/containers/{c['Id']}?force=1")


def create(api: Api, name: str | None = None, **config: object) -> str:
    resp = api.post("/containers/create" + (f"?name={name}" if name else ""), {"Image": "busybox", **config})
    assert resp.status == 201, resp.raw
    body = resp.json()
    validate_response("ContainerCreateResponse", body)
    validate_path_response("post", "/containers/create", 201, body)
    assert body["Warnings"] == []
    return body["Id"]


def inspect(api: Api, ref: str) -> dict:
    resp = api.get(f"/containers/{ref}/json")
    assert resp.status == 200, resp.raw
    body = resp.json()
    validate_path_response("get", "/containers/{id}/json", 200, body, go_nulls=True)
    return body


def listing(api: Api, query: str = "") -> list[dict]:
    resp = api.get(f"/containers/json{query}")
    assert resp.status == 200, resp.raw
    body = resp.json()
    validate_path_response("get", "/containers/json", 200, body, go_nulls=True)
    for entry in body:
        validate_response("ContainerSummary", entry, go_nulls=True)
    return body


def error(resp: Response, status: int, text: str) -> None:
    assert resp.status == status, (resp.status, resp.raw)
    assert resp.headers.get_content_type() == "application/json"
    body = resp.json()
    validate_response("ErrorResponse", body)
    assert text in body["message"], body


def test_create_start_list_inspect_wait_delete(api: Api) -> None:
    cid = create(api, "web", Cmd=["sleep", "1000"], Labels={"tier": "front", "app": "web"},
                 Env=["A=1"], HostConfig={"Memory": 64 * 1024 * 1024})
    body = inspect(api, "web")
    assert body["Id"] == cid and body["State"]["Status"] == "created"
    assert body["State"]["Pid"] == 0 and body["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert body["Config"]["Labels"] == {"tier": "front", "app": "web"}
    assert "A=1" in body["Config"]["Env"]
    assert body["HostConfig"]["Memory"] == 64 * 1024 * 1024
    [entry] = listing(api, "?all=1")
    assert entry["State"] == "created" and entry["Status"] == "Created"
    assert listing(api) == []

    start = api.post(f"/containers/{cid[:10]}/start")
    assert start.status == 204 and start.raw == b""
    again = api.post(f"/containers/{cid}/start")
    assert again.status == 304 and again.raw == b""

    [entry] = listing(api)
    assert entry["Id"] == cid and entry["Names"] == ["/web"] and entry["Image"] == "busybox"
    assert entry["ImageID"].startswith("sha256:") and entry["Command"] == "sleep 1000"
    assert entry["State"] == "running" and entry["Status"].startswith("Up ")
    assert entry["Labels"] == {"tier": "front", "app": "web"}
    assert isinstance(entry["Created"], int) and abs(entry["Created"] - time.time()) < 60
    assert "bridge" in entry["NetworkSettings"]["Networks"]
    body = inspect(api, cid)
    assert body["State"]["Running"] is True and body["State"]["Pid"] > 0

    # filters: map form (CLI) and list form (docker-py); all label values must match
    for filters in ({"label": {"tier=front": True}}, {"label": ["tier=front", "app"]}, {"name": ["web"]},
                    {"id": [cid[:12]]}, {"status": ["running"]}, {"ancestor": ["busybox"]}):
        got = listing(api, "?filters=" + quote(json.dumps(filters)))
        assert [c["Id"] for c in got] == [cid], filters
    for filters in ({"label": ["tier=front", "app=other"]}, {"status": ["exited"]}, {"name": ["nomatch"]}):
        assert listing(api, "?all=1&filters=" + quote(json.dumps(filters))) == [], filters

    stop = api.post(f"/containers/{cid}/stop?t=0")
    assert stop.status == 204
    assert api.post(f"/containers/{cid}/stop?t=0").status == 304
    wait = api.post(f"/containers/{cid}/wait")
    assert wait.status == 200
    validate_path_response("post", "/containers/{id}/wait", 200, wait.json(), go_nulls=True)
    validate_response("ContainerWaitResponse", wait.json(), go_nulls=True)
    assert wait.json()["StatusCode"] == 137
    body = inspect(api, cid)
    assert body["State"]["Status"] == "exited" and body["State"]["ExitCode"] == 137
    [entry] = listing(api, "?all=1&filters=" + quote(json.dumps({"exited": ["137"]})))
    assert entry["Status"].startswith("Exited (137) ")

    delete = api.request("DELETE", f"/containers/{cid}")
    assert delete.status == 204 and delete.raw == b""
    error(api.get(f"/containers/{cid}/json"), 404, f"No such container: {cid}")
    assert listing(api, "?all=1") == []


def test_wait_conditions(api: Api) -> None:
    cid = create(api, "waiter", Cmd=["sh", "-c", "sleep 0.5; exit 5"], HostConfig={"AutoRemove": True})
    conn = UnixHTTPConnection(api.socket)
    try:
        # registered before start, as the CLI does for run: next-exit, then removed
        conn.request("POST", f"{V}/containers/{cid}/wait?condition=removed")
        resp_started = api.post(f"/containers/{cid}/start")
        assert resp_started.status == 204
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 200
    validate_response("ContainerWaitResponse", body, go_nulls=True)
    assert body["StatusCode"] == 5
    error(api.get(f"/containers/{cid}/json"), 404, "No such container")

    cid = create(api, "w2", Cmd=["true"])
    wait = api.post(f"/containers/{cid}/wait?condition=not-running")  # created counts as not running
    assert wait.status == 200 and wait.json()["StatusCode"] == 0
    error(api.post(f"/containers/{cid}/wait?condition=bogus"), 400, "")
    api.request("DELETE", f"/containers/{cid}")


def test_exec_endpoints(api: Api) -> None:
    cid = create(api, "ex", Cmd=["sleep", "1000"])
    assert api.post(f"/containers/{cid}/start").status == 204

    made = api.post("/containers/ex/exec", {"Cmd": ["sh", "-c", "echo out; echo err >&2; exit 3"],
                                             "AttachStdout": True, "AttachStderr": True})
    assert made.status == 201, made.raw
    validate_path_response("post", "/containers/{id}/exec", 201, made.json())
    validate_response("IdResponse", made.json())
    eid = made.json()["Id"]

    started = api.post(f"/exec/{eid}/start", {"Detach": False, "Tty": False})
    assert started.status == 200, started.raw
    assert sorted(frames(started.raw)) == [(1, b"out\n"), (2, b"err\n")]
    # (that the exit code is final at once is test_exec_exit_code_is_final_when_the_stream_ends)
    deadline = time.monotonic() + 10
    while (info := api.get(f"/exec/{eid}/json")).json()["Running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert info.status == 200
    body = info.json()
    validate_path_response("get", "/exec/{id}/json", 200, body)
    assert body["ID"] == eid and body["ContainerID"] == cid
    assert body["Running"] is False and body["ExitCode"] == 3
    assert body["ProcessConfig"]["entrypoint"] == "sh"
    assert body["ProcessConfig"]["arguments"] == ["-c", "echo out; echo err >&2; exit 3"]
    assert body["OpenStdout"] is True and body["OpenStderr"] is True and body["OpenStdin"] is False

    detached = api.post(f"/containers/{cid}/exec", {"Cmd": ["sh", "-c", "exit 4"]}).json()["Id"]
    assert api.post(f"/exec/{detached}/start", {"Detach": True}).status == 200
    deadline = time.monotonic() + 10
    while (body := api.get(f"/exec/{detached}/json").json())["Running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    validate_path_response("get", "/exec/{id}/json", 200, body)
    assert body["ExitCode"] == 4

    error(api.get("/exec/nosuchexec/json"), 404, "No such exec instance: nosuchexec")
    error(api.post("/containers/nosuch/exec", {"Cmd": ["true"]}), 404, "No such container: nosuch")
    api.post(f"/containers/{cid}/kill")
    api.post(f"/containers/{cid}/wait")
    error(api.post(f"/containers/{cid}/exec", {"Cmd": ["true"]}), 409, f"Container {cid} is not running")
    api.request("DELETE", f"/containers/{cid}")


def test_exec_exit_code_is_final_when_the_stream_ends(api: Api) -> None:
    cid = create(api, "race", Cmd=["sleep", "1000"])
    assert api.post(f"/containers/{cid}/start").status == 204
    wrong: list[tuple[object, object]] = []

    def worker() -> None:
        for _ in range(10):
            eid = api.post(f"/containers/{cid}/exec", {"Cmd": ["sh", "-c", "exit 3"], "AttachStdout": True,
                                                       "AttachStderr": True}).json()["Id"]
            assert api.post(f"/exec/{eid}/start", {"Detach": False, "Tty": False}).status == 200
            body = api.get(f"/exec/{eid}/json").json()
            if body["Running"] is not False or body["ExitCode"] != 3:
                wrong.append((body["Running"], body["ExitCode"]))

    # two clients at once, as compose or a CI job running execs in parallel would
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    api.request("DELETE", f"/containers/{cid}?force=1")
    assert wrong == []


def test_errors_and_no_ops(api: Api) -> None:
    cid = create(api, "web", Cmd=["sleep", "1000"])
    error(api.post("/containers/create?name=web", {"Image": "busybox"}), 409,
          f'Conflict. The container name "/web" is already in use by container "{cid}"')
    error(api.post("/containers/create", {"Image": "nosuchimage:1"}), 404, "No such image: nosuchimage:1")
    error(api.post("/containers/create?name=x", {"Image": "busybox"}), 400, "Invalid container name (x)")
    error(api.post("/containers/create", {"Image": "busybox", "HostConfig": {"Memory": 1024}}), 400,
          "Minimum memory limit allowed is 6MB")
    error(api.post("/containers/create", {"Image": "busybox", "HostConfig": {"CapAdd": ["FOO"]}}), 400,
          'invalid CapAdd: unknown capability: "CAP_FOO"')
    error(api.post("/containers/create", {"Image": "busybox", "HostConfig": {"Runtime": "nvidia"}}), 400,
          "unknown or invalid runtime name: nvidia")
    for mode in ("bridge", "host"):
        error(api.post("/containers/create", {"Image": "busybox", "HostConfig": {"NetworkMode": mode},
                                              "NetworkingConfig": {"EndpointsConfig": {
                                                  mode: {"IPAMConfig": {"IPv4Address": "10.0.0.5"}}}}}),
              400, "user specified IP address is supported on user defined networks only")
    made = api.post("/containers/create", {"Image": "busybox", "HostConfig": {"Runtime": "runc"}})
    assert made.status == 201
    assert api.request("DELETE", f"/containers/{made.json()['Id']}").status == 204
    assert api.post(f"/containers/{cid}/start").status == 204
    error(api.request("DELETE", f"/containers/{cid}"), 409, "You cannot remove a running container")
    error(api.get("/containers/nosuch/json"), 404, "No such container: nosuch")
    error(api.get(f"/containers/{cid}/logs"), 400, "")
    error(api.post(f"/containers/{cid}/rename?name=web"), 409, "")
    assert api.post(f"/containers/{cid}/rename?name=web2").status == 204
    assert inspect(api, cid)["Name"] == "/web2"
    assert api.post(f"/containers/{cid}/pause").status == 204
    [entry] = listing(api)
    assert entry["State"] == "paused" and entry["Status"].endswith("(Paused)")
    assert api.post(f"/containers/{cid}/unpause").status == 204
    error(api.post(f"/containers/{cid}/unpause"), 409, "")
    assert api.request("DELETE", f"/containers/{cid}?force=1").status == 204
    error(api.post(f"/containers/{cid}/start"), 404, "No such container")


def test_logs_endpoint(api: Api) -> None:
    cid = create(api, "lg", Cmd=["sh", "-c", "echo one; echo two >&2; echo three"])
    assert api.post(f"/containers/{cid}/start").status == 204
    assert api.post(f"/containers/{cid}/wait").json()["StatusCode"] == 0
    resp = api.get(f"/containers/{cid}/logs?stdout=1&stderr=1")
    assert resp.status == 200
    got = frames(resp.raw)
    assert [p for k, p in got if k == 1] == [b"one\n", b"three\n"]
    assert [p for k, p in got if k == 2] == [b"two\n"]
    only_out = frames(api.get(f"/containers/{cid}/logs?stdout=1").raw)
    assert [k for k, _ in only_out] == [1, 1]
    assert frames(api.get(f"/containers/{cid}/logs?stdout=1&tail=1").raw) == [(1, b"three\n")]
    api.request("DELETE", f"/containers/{cid}")


def test_strict_schema_report(api: Api) -> None:
    """Without go_nulls, the only violations allowed are Docker's own Go nulls (arrays/objects)."""
    cid = create(api, "strict", Cmd=["sleep", "1000"])
    assert api.post(f"/containers/{cid}/start").status == 204
    body = api.get(f"/containers/{cid}/json").json()
    schema_errors = response_errors("ContainerState", body["State"])
    assert schema_errors == []
    for definition, part in (("ContainerConfig", body["Config"]), ("HostConfig", body["HostConfig"]),
                             ("NetworkSettings", body["NetworkSettings"])):
        for err in response_errors(definition, part):
            assert "None is not of type 'array'" in err or "None is not of type 'object'" in err \
                or "MemorySwappiness" in err, (definition, err)
    api.request("DELETE", f"/containers/{cid}?force=1")


def _hijack(api: Api, path: str, body: object = None) -> tuple[socket.socket, bytes]:
    """POST ``path`` with Upgrade: tcp; the raw socket after the 101 and what came with it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(api.socket))
    data = b"" if body is None else json.dumps(body).encode()
    sock.sendall(f"POST {V}{path} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    status, _, rest = head.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 101"), status
    return sock, rest


def _read_until(sock: socket.socket, wanted: bytes, seen: bytes = b"") -> bytes:
    while wanted not in seen:
        chunk = sock.recv(4096)
        assert chunk, seen
        seen += chunk
    return seen


def _read_to_eof(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(4096):
        out += chunk
    return out


def _type_then_detach(api: Api, path: str, line: bytes, echoed: bytes, keys: bytes, body: object = None) -> None:
    """Through a hijacked stream: type ``line``, see ``echoed`` come back, type ``keys``, see the end."""
    sock, seen = _hijack(api, path, body)
    try:
        sock.sendall(line)
        _read_until(sock, echoed, seen)
        sock.sendall(keys)
        _read_to_eof(sock)
    finally:
        sock.close()


def test_detach_keys_end_a_terminal_s_attach_and_exec(api: Api) -> None:
    cid = create(api, "tty", Cmd=["sh"], Tty=True, OpenStdin=True)
    assert api.post(f"/containers/{cid}/start").status == 204
    attach = f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1"
    try:
        # the default keys, ctrl-p ctrl-q: the attach ends, the container goes on
        _type_then_detach(api, attach, b"echo one-$((1+1))\n", b"one-2", b"\x10\x11")
        assert inspect(api, cid)["State"]["Running"] is True
        # keys of one's own; a partial sequence goes through to the shell
        _type_then_detach(api, attach + "&detachKeys=ctrl-a,x", b"echo two-\x01y$((2+1))\n", b"two-", b"\x01x")
        assert inspect(api, cid)["State"]["Running"] is True
        error(api.post(f"/containers/{cid}/attach?stream=1&stdin=1&detachKeys=bogus"), 400,
              "Invalid detach keys (bogus) provided")

        # an exec with a terminal detaches the same way and keeps running
        made = api.post(f"/containers/{cid}/exec", {"Cmd": ["sh"], "Tty": True, "AttachStdin": True,
                                                    "AttachStdout": True}).json()["Id"]
        _type_then_detach(api, f"/exec/{made}/start", b"echo three-$((1+2))\n", b"three-3", b"\x10\x11",
                          {"Detach": False, "Tty": True})
        assert api.get(f"/exec/{made}/json").json()["Running"] is True
        error(api.post(f"/containers/{cid}/exec", {"Cmd": ["sh"], "DetachKeys": "ctrl-pp"}), 400,
              "Invalid escape keys (ctrl-pp) provided")
    finally:
        api.request("DELETE", f"/containers/{cid}?force=1")


@pytest.mark.parametrize("stdin_once", [False, True])
def test_client_eof_closes_stdin_only_for_stdin_once(api: Api, stdin_once: bool) -> None:
    cid = create(api, Cmd=["cat"], OpenStdin=True, StdinOnce=stdin_once, AttachStdin=stdin_once)
    try:
        sock, seen = _hijack(api, f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1")
        assert api.post(f"/containers/{cid}/start").status == 204
        sock.sendall(b"ping\n")
        _read_until(sock, b"ping\n", seen)
        sock.shutdown(socket.SHUT_WR)  # this client's stdin ends
        if stdin_once:  # docker run -i: the container's stdin ends with it, and cat with that
            _read_to_eof(sock)
            assert api.post(f"/containers/{cid}/wait").json()["StatusCode"] == 0
        else:  # docker attach to docker run -di: cat keeps its stdin, for the next client
            time.sleep(0.5)
            assert inspect(api, cid)["State"]["Running"] is True
            again, seen = _hijack(api, f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1")
            again.sendall(b"pong\n")
            _read_until(again, b"pong\n", seen)
            again.close()
        sock.close()
    finally:
        api.request("DELETE", f"/containers/{cid}?force=1")

"""Container commands against a fake client: request bodies from flags, run's call sequence, stdio
pumping over a socketpair, ps rendering, exit codes and messages."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dockyard.cli.app import Cli
from dockyard.cli.main import run
from dockyard.client.stdcopy import STDERR, STDOUT, frame
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.http.client import HijackedSocket

NOW = int(time.time())
CID = "4f" * 32


class FakeWait:
    def __init__(self, client: FakeClient, container: str, condition: str | None) -> None:
        self.client = client
        self.container = container
        self.condition = condition

    def result(self) -> dict[str, Any]:
        self.client.calls.append(("wait_result", (self.container,), {}))
        return {"StatusCode": self.client.exit_code, "Error": None}

    def close(self) -> None:
        self.client.calls.append(("wait_close", (self.container,), {}))


Peer = Callable[[socket.socket], None]


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.bodies: list[dict[str, Any]] = []
        self.exit_code = 0
        self.missing_images: set[str] = set()
        self.start_error: DockyardError | None = None
        self.peer: Peer = lambda s: s.close()
        self.tty = False
        self.containers_result: list[dict[str, Any]] = []
        self.exec_exit = 0
        self.threads: list[threading.Thread] = []

    def _record(self, call: str, /, *args: Any, **kwargs: Any) -> None:
        self.calls.append((call, args, kwargs))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def _hijacked(self) -> HijackedSocket:
        ours, theirs = socket.socketpair()
        thread = threading.Thread(target=self.peer, args=(theirs,), daemon=True)
        thread.start()
        self.threads.append(thread)
        return HijackedSocket(ours)

    def create_container(self, body: dict[str, Any], name: str | None = None,
                         platform: str | None = None) -> dict[str, Any]:
        self._record("create_container", name=name, platform=platform)
        self.bodies.append(json.loads(json.dumps(body)))
        if body["Image"] in self.missing_images:
            self.missing_images.discard(body["Image"])
            raise NotFound(f"No such image: {body['Image']}:latest")
        return {"Id": CID, "Warnings": []}

    def pull(self, image: str, tag: str | None = None, **kw: Any) -> Iterator[dict[str, Any]]:
        self._record("pull", image, tag)
        return iter([{"status": "Pulling from library/busybox", "id": "latest"},
                     {"status": "Status: Downloaded newer image for busybox:latest"}])

    def attach(self, container: str, **kw: Any) -> HijackedSocket:
        self._record("attach", container, **kw)
        return self._hijacked()

    def wait(self, container: str, condition: str | None = None) -> FakeWait:
        self._record("wait", container, condition=condition)
        return FakeWait(self, container, condition)

    def start(self, container: str) -> None:
        self._record("start", container)
        if self.start_error is not None:
            raise self.start_error

    def resize(self, container: str, h: int, w: int) -> None:
        self._record("resize", container, h, w)

    def kill(self, container: str, signal: str | None = None) -> None:
        self._record("kill", container, signal=signal)
        if container == "nope":
            raise NotFound("No such container: nope")

    def stop(self, container: str, t: int | None = None, signal: str | None = None) -> None:
        self._record("stop", container, t=t, signal=signal)
        if container == "nope":
            raise NotFound("No such container: nope")

    def restart(self, container: str, t: int | None = None, signal: str | None = None) -> None:
        self._record("restart", container, t=t, signal=signal)

    def pause(self, container: str) -> None:
        self._record("pause", container)

    def unpause(self, container: str) -> None:
        self._record("unpause", container)

    def remove(self, container: str, v: bool = False, force: bool = False, link: bool = False) -> None:
        self._record("remove", container, v=v, force=force, link=link)
        if container == "nope":
            raise NotFound("No such container: nope")
        if container == "busy":
            raise Conflict("You cannot remove a running container busy. Stop the container before "
                           "attempting removal or force remove")

    def containers(self, **kw: Any) -> list[dict[str, Any]]:
        self._record("containers", **kw)
        return self.containers_result

    def inspect_container(self, container: str, size: bool = False) -> dict[str, Any]:
        self._record("inspect_container", container)
        if container == "nope":
            raise NotFound("No such container: nope")
        return {"Id": CID, "Name": "/web", "Config": {"Tty": self.tty, "OpenStdin": True},
                "State": {"Running": True}, "HostConfig": {"AutoRemove": False}}

    def inspect_image(self, name: str) -> dict[str, Any]:
        self._record("inspect_image", name)
        raise NotFound(f"No such image: {name}")

    def logs(self, container: str, **kw: Any) -> Iterator[bytes]:
        self._record("logs", container, **kw)
        if self.tty:
            return iter([b"raw\r\n"])
        data = frame(STDOUT, b"out\n") + frame(STDERR, b"err\n")
        return iter([data[:5], data[5:13], data[13:]])

    def exec_create(self, container: str, cmd: list[str], **kw: Any) -> dict[str, Any]:
        self._record("exec_create", container, cmd, **kw)
        return {"Id": "e1"}

    def exec_start(self, exec_id: str, detach: bool = False, tty: bool = False,
                   console_size: Any = None) -> HijackedSocket | None:
        self._record("exec_start", exec_id, detach=detach, tty=tty)
        return None if detach else self._hijacked()

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        self._record("exec_inspect", exec_id)
        return {"ExitCode": self.exec_exit}

    def top(self, container: str, ps_args: str | None = None) -> dict[str, Any]:
        self._record("top", container, ps_args)
        return {"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "1", "sleep 1000"]]}

    def rename(self, container: str, name: str) -> None:
        self._record("rename", container, name)

    def close(self) -> None:
        pass


class Harness:
    def __init__(self, stdin: bytes = b"") -> None:
        self.client = FakeClient()
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.out_bytes = io.BytesIO()
        self.err_bytes = io.BytesIO()
        self.stdin = io.BytesIO(stdin)

    def run(self, *argv: str) -> int:
        cli = Cli(out=self.out, err=self.err, stdin=self.stdin, out_bytes=self.out_bytes,
                  err_bytes=self.err_bytes, connect=lambda host: self.client)
        status = run(list(argv), cli)
        for thread in self.client.threads:
            thread.join(5)
        return status


@pytest.fixture
def h(monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.delenv("DOCKYARD_HOST", raising=False)
    monkeypatch.delenv("DOCKER_DEFAULT_PLATFORM", raising=False)
    return Harness()


# -- create bodies ---------------------------------------------------------------------------------


def test_run_detached_body_matches_docker(h: Harness) -> None:
    """engine-api.md §2: run -d -p 8080:80 --name web -v vol:/data -e A=B img cmd."""
    assert h.run("run", "-d", "-p", "8080:80", "--name", "web", "-v", "vol:/data", "-e", "A=B",
                 "img", "cmd") == 0
    body = h.client.bodies[0]
    assert h.client.calls[0] == ("create_container", (), {"name": "web", "platform": None})
    assert body["Image"] == "img" and body["Cmd"] == ["cmd"] and body["Env"] == ["A=B"]
    assert body["ExposedPorts"] == {"80/tcp": {}}
    assert (body["Tty"], body["OpenStdin"], body["StdinOnce"]) == (False, False, False)
    assert (body["AttachStdin"], body["AttachStdout"], body["AttachStderr"]) == (False, False, False)
    hc = body["HostConfig"]
    assert hc["Binds"] == ["vol:/data"]
    assert hc["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert hc["NetworkMode"] == "default"
    assert hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["AutoRemove"] is False
    assert hc["LogConfig"] == {"Type": "", "Config": None}
    assert hc["ConsoleSize"] == [0, 0]
    assert list(body["NetworkingConfig"]["EndpointsConfig"]) == ["default"]
    # -d: the wait is registered before start and then abandoned; the full ID is printed.
    assert h.client.names() == ["create_container", "wait", "start", "wait_close"]
    assert h.client.calls[1][2] == {"condition": "next-exit"}
    assert h.out.getvalue() == CID + "\n"


def test_resource_and_security_flags(h: Harness, tmp_path: Any) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=1\n\nEMPTY=\n")
    labels = tmp_path / "labels"
    labels.write_text("team=core\n")
    assert h.run(
        "create", "-m", "512m", "--memory-swap", "-1", "--memory-reservation", "1g", "--cpus", "1.5",
        "--cpu-shares", "512", "--cpuset-cpus", "0-1", "--pids-limit", "100", "--oom-kill-disable",
        "--shm-size", "64m", "--ulimit", "nofile=1024:2048", "--sysctl", "net.ipv4.ip_forward=1",
        "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--privileged", "--read-only",
        "--security-opt", "no-new-privileges", "--tmpfs", "/run:size=1m", "--device", "/dev/fuse",
        "--group-add", "audio", "--pid", "host", "--ipc", "host", "--uts", "host", "--init",
        "--env-file", str(env_file), "-e", "X=2", "-l", "a=b", "--label-file", str(labels),
        "-w", "/srv", "-u", "1000:1000", "--entrypoint", "/bin/sh", "-h", "box", "--domainname", "example.org",
        "--stop-signal", "SIGINT", "--stop-timeout", "3", "--restart", "on-failure:3", "--network", "none",
        "--log-driver", "json-file", "--log-opt", "max-size=1m", "--mount", "type=tmpfs,target=/cache",
        "-v", "/anon", "-p", "127.0.0.1:5000-5001:5000-5001/udp", "--expose", "9000",
        "busybox", "-c", "echo hi",
    ) == 0
    body = h.client.bodies[0]
    hc = body["HostConfig"]
    assert h.out.getvalue() == CID + "\n"
    assert body["Cmd"] == ["-c", "echo hi"] and body["Entrypoint"] == ["/bin/sh"]
    assert body["Env"] == ["FROM_FILE=1", "EMPTY=", "X=2"]
    assert body["Labels"] == {"team": "core", "a": "b"}
    assert (body["Hostname"], body["Domainname"], body["User"], body["WorkingDir"]) == (
        "box", "example.org", "1000:1000", "/srv")
    assert (body["StopSignal"], body["StopTimeout"]) == ("SIGINT", 3)
    assert body["Volumes"] == {"/anon": {}}
    assert body["ExposedPorts"] == {"5000/udp": {}, "5001/udp": {}, "9000/tcp": {}}
    assert hc["PortBindings"] == {"5000/udp": [{"HostIp": "127.0.0.1", "HostPort": "5000"}],
                                  "5001/udp": [{"HostIp": "127.0.0.1", "HostPort": "5001"}]}
    assert (hc["Memory"], hc["MemorySwap"], hc["MemoryReservation"]) == (512 << 20, -1, 1 << 30)
    assert (hc["NanoCpus"], hc["CpuShares"], hc["CpusetCpus"]) == (1_500_000_000, 512, "0-1")
    assert (hc["PidsLimit"], hc["OomKillDisable"], hc["ShmSize"]) == (100, True, 64 << 20)
    assert hc["Ulimits"] == [{"Name": "nofile", "Hard": 2048, "Soft": 1024}]
    assert hc["Sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert (hc["CapAdd"], hc["CapDrop"]) == (["NET_ADMIN"], ["ALL"])
    assert (hc["Privileged"], hc["ReadonlyRootfs"], hc["Init"]) == (True, True, True)
    assert hc["SecurityOpt"] == ["no-new-privileges"]
    assert hc["Tmpfs"] == {"/run": "size=1m"}
    assert hc["Devices"] == [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse",
                              "CgroupPermissions": "rwm"}]
    assert (hc["GroupAdd"], hc["PidMode"], hc["IpcMode"], hc["UTSMode"]) == (["audio"], "host", "host", "host")
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert hc["NetworkMode"] == "none"
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert hc["Mounts"] == [{"Type": "tmpfs", "Target": "/cache"}]
    # create neither attaches nor starts.
    assert h.client.names() == ["create_container"]


def test_defaults_leave_optional_fields_unset(h: Harness) -> None:
    h.run("create", "busybox")
    body = h.client.bodies[0]
    hc = body["HostConfig"]
    assert body["Cmd"] is None and body["Entrypoint"] is None
    assert "Init" not in hc and hc["PidsLimit"] is None and hc["MemorySwappiness"] is None
    assert "StopTimeout" not in body and "ExposedPorts" not in body


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--memory", "1x"], 'invalid argument "1x" for "-m, --memory" flag: invalid suffix: \'x\''),
        (["--cpus", "abc"], 'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number'),
        (["--ulimit", "nofile"], 'invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile'),
        (["--shm-size", "x"], "invalid argument \"x\" for \"--shm-size\" flag: invalid size: 'x'"),
        (["--pids-limit", "x"],
         'invalid argument "x" for "--pids-limit" flag: strconv.ParseInt: parsing "x": invalid syntax'),
        (["-a", "foo"], 'invalid argument "foo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR'),
        (["--sysctl", "foo"], "invalid argument \"foo\" for \"--sysctl\" flag: sysctl 'foo' is not allowed"),
    ],
)
def test_invalid_flag_values(h: Harness, argv: list[str], message: str) -> None:
    assert h.run("run", *argv, "busybox") == 125
    assert h.err.getvalue() == (
        f"{message}\n\nUsage:  dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
        "Run 'dockyard run --help' for more information\n"
    )
    assert h.client.calls == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "99999:80"], "invalid hostPort: 99999"),
        (["--pull", "bad"], "invalid pull option: 'bad': must be one of \"always\", \"missing\" or \"never\""),
        (["--security-opt", "foo"], 'Invalid --security-opt: "foo"'),
        (["--rm", "--restart", "always"], "conflicting options: cannot specify both --restart and --rm"),
    ],
)
def test_invalid_options_after_parsing(h: Harness, argv: list[str], message: str) -> None:
    assert h.run("run", *argv, "busybox") == 125
    assert h.err.getvalue() == f"dockyard: {message}\n\nRun 'dockyard run --help' for more information\n"


def test_cpus_minus_one_is_left_to_the_daemon(h: Harness) -> None:
    def refuse(body: dict[str, Any], name: str | None = None, platform: str | None = None) -> dict[str, Any]:
        raise InvalidArgument("Range of CPUs is from 0.01 to 8.00, as there are only 8 CPUs available")

    h.client.create_container = refuse  # type: ignore[method-assign]
    assert h.run("run", "--cpus", "-1", "busybox") == 125
    assert h.err.getvalue() == (
        "dockyard: Error response from daemon: Range of CPUs is from 0.01 to 8.00, as there are only 8 CPUs "
        "available\n\nRun 'dockyard run --help' for more information\n"
    )


# -- run's sequence and stdio ----------------------------------------------------------------------


def _echo_peer(sock: socket.socket) -> None:
    """A daemon side of a non-TTY attach: echo stdin as stdout until EOF, then a stderr line."""
    received = b""
    while True:
        data = sock.recv(4096)
        if not data:
            break
        received += data
    sock.sendall(frame(STDOUT, received) + frame(STDERR, b"done\n"))
    sock.close()


def test_foreground_run_sequence_and_exit_code(h: Harness) -> None:
    h.client.peer = _echo_peer
    h.client.exit_code = 3
    assert h.run("run", "--rm", "busybox", "sh", "-c", "exit 3") == 3
    assert h.client.names() == ["create_container", "attach", "wait", "start", "wait_result"]
    attach_kw = h.client.calls[1][2]
    assert attach_kw["stdin"] is False and attach_kw["stdout"] and attach_kw["stderr"] and attach_kw["stream"]
    assert h.client.calls[2][2] == {"condition": "removed"}
    body = h.client.bodies[0]
    assert body["Cmd"] == ["sh", "-c", "exit 3"] and body["HostConfig"]["AutoRemove"] is True
    # No stdin: the client half-closed at once, and output after that still arrived.
    assert h.out_bytes.getvalue() == b""
    assert h.err_bytes.getvalue() == b"done\n"
    assert h.err.getvalue() == ""


def test_interactive_run_forwards_stdin_and_half_closes() -> None:
    h = Harness(stdin=b"data\n")
    h.client.peer = _echo_peer
    assert h.run("run", "-i", "--rm", "busybox", "cat") == 0
    body = h.client.bodies[0]
    assert (body["OpenStdin"], body["StdinOnce"], body["AttachStdin"]) == (True, True, True)
    assert h.client.calls[1][2]["stdin"] is True
    assert h.out_bytes.getvalue() == b"data\n"


def test_tty_run_needs_a_terminal_for_stdin(h: Harness) -> None:
    assert h.run("run", "-it", "busybox", "sh") == 1
    assert h.err.getvalue() == "the input device is not a TTY\n"
    assert h.client.calls == []


def test_tty_run_streams_raw_and_detach_keys(h: Harness) -> None:
    h.client.tty = True

    def peer(sock: socket.socket) -> None:
        sock.sendall(b"\x01\x00\x00\x00raw, not framed\r\n")
        sock.close()

    h.client.peer = peer
    assert h.run("run", "-t", "busybox", "top") == 0
    assert h.client.bodies[0]["Tty"] is True
    assert h.out_bytes.getvalue() == b"\x01\x00\x00\x00raw, not framed\r\n"


def test_missing_image_is_pulled_then_created_again(h: Harness) -> None:
    h.client.missing_images.add("busybox")
    assert h.run("run", "-d", "busybox") == 0
    assert h.client.names()[:3] == ["create_container", "pull", "create_container"]
    assert h.client.calls[1][1] == ("docker.io/library/busybox", "latest")
    assert h.err.getvalue().startswith("Unable to find image 'busybox:latest' locally\n")
    assert "Status: Downloaded newer image for busybox:latest" in h.err.getvalue()


def test_pull_never_reports_the_missing_image(h: Harness) -> None:
    h.client.missing_images.add("busybox")
    assert h.run("run", "--pull", "never", "busybox") == 125
    assert h.err.getvalue().startswith("dockyard: Error response from daemon: No such image: busybox:latest")


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ('failed to create task: exec: "nope": executable file not found in $PATH', 127),
        ("exec: /etc: is a directory", 126),
        ("exec: /x.sh: permission denied", 126),
        ("some other failure", 125),
    ],
)
def test_start_errors_map_to_docker_exit_codes(h: Harness, message: str, status: int) -> None:
    h.client.start_error = DockyardError(message)
    assert h.run("run", "busybox", "nope") == status
    assert h.err.getvalue() == (
        f"dockyard: Error response from daemon: {message}\n\nRun 'dockyard run --help' for more information\n"
    )


def test_cidfile_written_and_refused_when_present(h: Harness, tmp_path: Any) -> None:
    cidfile = tmp_path / "cid"
    assert h.run("run", "-d", "--cidfile", str(cidfile), "busybox") == 0
    assert cidfile.read_text() == CID
    assert h.run("run", "-d", "--cidfile", str(cidfile), "busybox") == 125
    assert "container ID file found" in h.err.getvalue()


def test_attach_and_detach_conflict(h: Harness) -> None:
    assert h.run("run", "-d", "-a", "stdout", "busybox") == 125
    assert "conflicting options: cannot specify both --attach and --detach" in h.err.getvalue()


# -- lifecycle -------------------------------------------------------------------------------------


def test_stop_many_prints_names_and_errors_last(h: Harness) -> None:
    assert h.run("stop", "-t", "2", "a", "nope", "b") == 1
    assert h.out.getvalue() == "a\nb\n"
    assert h.err.getvalue() == "Error response from daemon: No such container: nope\n"
    assert h.client.calls[0] == ("stop", ("a",), {"t": 2, "signal": None})


def test_kill_restart_pause_unpause(h: Harness) -> None:
    assert h.run("kill", "-s", "HUP", "web") == 0
    assert h.run("container", "restart", "web") == 0
    assert h.run("pause", "web") == 0
    assert h.run("unpause", "web") == 0
    assert h.out.getvalue() == "web\nweb\nweb\nweb\n"
    assert h.client.calls[0] == ("kill", ("web",), {"signal": "HUP"})
    assert h.client.calls[1] == ("restart", ("web",), {"t": None, "signal": None})


def test_rm_force_tolerates_missing_but_reports_conflicts(h: Harness) -> None:
    assert h.run("rm", "-f", "-v", "nope", "web") == 0
    assert h.out.getvalue() == "web\n"
    assert h.err.getvalue() == "Error response from daemon: No such container: nope\n"
    assert h.client.calls[1] == ("remove", ("web",), {"v": True, "force": True, "link": False})
    h.err.truncate(0), h.err.seek(0)
    assert h.run("container", "rm", "busy") == 1
    assert h.err.getvalue().startswith("Error response from daemon: You cannot remove a running container")


def test_wait_prints_exit_codes(h: Harness) -> None:
    h.client.exit_code = 137
    assert h.run("wait", "a", "b") == 0
    assert h.out.getvalue() == "137\n137\n"
    assert h.client.calls[0] == ("wait", ("a",), {"condition": None})


def test_start_plain_and_attached(h: Harness) -> None:
    assert h.run("start", "a", "b") == 0
    assert h.out.getvalue() == "a\nb\n"
    h.client.peer = _echo_peer
    h.client.exit_code = 2
    assert h.run("start", "-a", "web") == 2
    assert h.client.names()[-5:] == ["inspect_container", "attach", "wait", "start", "wait_result"]


# -- ps --------------------------------------------------------------------------------------------


PS = [
    {
        "Id": "a1" * 32,
        "Names": ["/web"],
        "Image": "docker.io/library/busybox:latest",
        "ImageID": "sha256:" + "b" * 64,
        "Command": "sleep 1000 && echo this is long",
        "Created": NOW - 5,
        "Ports": [
            {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"PrivatePort": 443, "Type": "tcp"},
            {"PrivatePort": 444, "Type": "tcp"},
        ],
        "State": "running",
        "Status": "Up 5 seconds",
        "SizeRw": 12,
        "SizeRootFs": 4261234,
    },
    {
        "Id": "c3" * 32,
        "Names": ["/old"],
        "Image": "sha256:" + "d" * 64,
        "ImageID": "sha256:" + "d" * 64,
        "Command": "true",
        "Created": NOW - 7200,
        "Ports": [],
        "State": "exited",
        "Status": "Exited (0) 2 hours ago",
    },
]


def test_ps_table(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dockyard.cli.containerrows.time.time", lambda: NOW)
    h.client.containers_result = PS
    assert h.run("ps", "-a") == 0
    assert h.out.getvalue() == (
        "CONTAINER ID   IMAGE            COMMAND                  CREATED         STATUS                   "
        "PORTS                                                  NAMES\n"
        'a1a1a1a1a1a1   busybox:latest   "sleep 1000 && echo …"   5 seconds ago   Up 5 seconds             '
        "443-444/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web\n"
        'c3c3c3c3c3c3   dddddddddddd     "true"                   2 hours ago     Exited (0) 2 hours ago   '
        "                                                       old\n"
    )
    assert h.client.calls[0] == ("containers", (), {"all": True, "limit": None, "size": False, "filters": None})


def test_ps_quiet_size_last_filters_and_format(h: Harness) -> None:
    h.client.containers_result = PS
    assert h.run("ps", "-q", "--no-trunc") == 0
    assert h.out.getvalue() == "a1" * 32 + "\n" + "c3" * 32 + "\n"
    h.out.truncate(0), h.out.seek(0)
    assert h.run("container", "ls", "-l", "-s", "--filter", "status=exited") == 0
    assert h.client.calls[-1][2] == {"all": False, "limit": 1, "size": True, "filters": {"status": ["exited"]}}
    assert h.out.getvalue().splitlines()[0].endswith("NAMES     SIZE")
    assert "12B (virtual 4.26MB)" in h.out.getvalue()
    h.out.truncate(0), h.out.seek(0)
    assert h.run("ps", "-n", "2", "--format", "{{.Names}} {{.Command}} {{.State}}") == 0
    assert h.out.getvalue() == 'web "sleep 1000 && echo …" running\nold "true" exited\n'
    assert h.client.calls[-1][2]["limit"] == 2


# -- logs / exec / inspect / top / rename --------------------------------------------------------


def test_logs_demuxes_unless_tty(h: Harness) -> None:
    assert h.run("logs", "--tail", "5", "-t", "web") == 0
    assert h.out_bytes.getvalue() == b"out\n" and h.err_bytes.getvalue() == b"err\n"
    assert h.client.names() == ["inspect_container", "logs"]
    kw = h.client.calls[1][2]
    assert (kw["tail"], kw["timestamps"], kw["follow"], kw["since"]) == ("5", True, False, None)
    h.client.tty = True
    assert h.run("logs", "-f", "--since", "10m", "web") == 0
    assert h.out_bytes.getvalue().endswith(b"raw\r\n")
    since = float(h.client.calls[-1][2]["since"])
    assert abs(since - (time.time() - 600)) < 5


def test_exec_exit_code_from_inspect() -> None:
    h = Harness(stdin=b"ls\n")
    h.client.peer = _echo_peer
    h.client.exec_exit = 5
    assert h.run("exec", "-i", "-e", "A=B", "-w", "/tmp", "-u", "nobody", "web", "sh", "-x") == 5
    assert h.client.names() == ["inspect_container", "exec_create", "exec_start", "exec_inspect"]
    _, args, kw = h.client.calls[1]
    assert args == ("web", ["sh", "-x"])
    assert kw["attach_stdin"] is True and kw["env"] == ["A=B"] and kw["workdir"] == "/tmp"
    assert kw["user"] == "nobody"
    assert h.out_bytes.getvalue() == b"ls\n"


def test_exec_detached_and_missing_container(h: Harness) -> None:
    assert h.run("exec", "-d", "web", "sleep", "5") == 0
    assert h.client.calls[-1] == ("exec_start", ("e1",), {"detach": True, "tty": False})
    assert h.run("exec", "nope", "ls") == 1
    assert h.err.getvalue() == "Error response from daemon: No such container: nope\n"


def test_inspect_container_then_image(h: Harness) -> None:
    assert h.run("inspect", "-f", "{{.Name}}", "web") == 0
    assert h.out.getvalue() == "/web\n"
    h.out.truncate(0), h.out.seek(0)
    assert h.run("inspect", "nope") == 1
    assert h.err.getvalue() == "Error: No such object: nope\n"
    assert h.client.names()[-2:] == ["inspect_container", "inspect_image"]
    assert h.run("container", "inspect", "web") == 0
    assert json.loads(h.out.getvalue().split("\n", 1)[1])[0]["Id"] == CID


def test_top_and_rename(h: Harness) -> None:
    assert h.run("top", "web", "-ef") == 0
    assert h.client.calls[-1] == ("top", ("web", "-ef"), {})
    assert h.out.getvalue() == "UID                 PID                 CMD\nroot                1                   sleep 1000\n"
    assert h.run("rename", "web", "db") == 0
    assert h.client.calls[-1] == ("rename", ("web", "db"), {})


def test_run_stops_flag_parsing_at_the_image(h: Harness) -> None:
    assert h.run("run", "-d", "--rm", "busybox", "ls", "-l", "--rm", "-d") == 0
    assert h.client.bodies[0]["Cmd"] == ["ls", "-l", "--rm", "-d"]
    assert h.run("run", "-dp", "80:80", "-eX=1", "--name=x1", "busybox") == 0
    body = h.client.bodies[1]
    assert body["Env"] == ["X=1"] and body["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "80"}]}
    assert h.client.calls[-4][2]["name"] == "x1"


def test_detach_keys_parsing_and_escape_proxy() -> None:
    from dockyard.cli.app import CliError
    from dockyard.cli.stdio import EscapeProxy, parse_detach_keys

    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("a,ctrl-@,ctrl-[") == b"a\x00\x1b"
    with pytest.raises(CliError, match="Unknown character: 'ctrl-pp'"):
        parse_detach_keys("ctrl-pp")
    proxy = EscapeProxy(b"\x10\x11")
    assert proxy.feed(b"ab\x10") == (b"ab", False)  # a partial sequence is held back
    assert proxy.feed(b"c") == (b"\x10c", False)  # and released when it does not complete
    assert proxy.feed(b"x\x10\x11y") == (b"x", True)


def test_unreachable_daemon_on_run_is_125(h: Harness) -> None:
    from dockyard.client import ConnectError

    def refuse(body: dict[str, Any], name: str | None = None, platform: str | None = None) -> dict[str, Any]:
        raise ConnectError("nope")

    h.client.create_container = refuse  # type: ignore[method-assign]
    assert h.run("-H", "unix:///tmp/none.sock", "run", "busybox") == 125
    assert h.err.getvalue() == (
        "dockyard: Cannot connect to the dockyard daemon at unix:///tmp/none.sock. Is the daemon running?"
        "\n\nRun 'dockyard run --help' for more information\n"
    )

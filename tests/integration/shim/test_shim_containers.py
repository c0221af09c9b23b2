"""dockyard-shim end to end: real busybox containers under runc and dockyard-runtime (root only)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shim_helpers import Shims

from dockyard import errors
from dockyard.shim import logfile, protocol, stdcopy
from dockyard.shim.client import ShimClient

pytestmark = pytest.mark.root


def read_until_eof(sock: socket.socket, timeout: float = 15) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


def read_until(sock: socket.socket, needle: bytes, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while needle not in data:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"never saw {needle!r}; got {data!r}") from None
        if not chunk:
            break
        data += chunk
    return data


def log_entries(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_echo_exits_zero_and_logs_docker_format(shims: Shims) -> None:
    cid, client = shims.spawn(["echo", "hi"])
    assert client.state().status == "created"
    assert client.start().status in ("running", "stopped")
    info = client.wait(timeout=15)
    assert (info.exit_code, info.oom_killed, info.error) == (0, False, "")
    entries = log_entries(shims.log_path(cid))
    assert [(e["log"], e["stream"]) for e in entries] == [("hi\n", "stdout")]
    logfile.parse_time(entries[0]["time"])
    assert entries[0]["time"].endswith("Z")
    state = client.state()
    assert state.status == "stopped" and state.exit == info
    on_disk = json.loads((shims.tmp / "shims" / cid / "exit.json").read_text())
    assert on_disk["exit_code"] == 0 and on_disk["finished_at"] == info.finished_at
    client.shutdown()
    assert not client.alive()
    assert client.wait() == info  # from exit.json once the shim is gone


def test_exit_code_and_both_streams(shims: Shims) -> None:
    cid, client = shims.spawn(["sh", "-c", "echo out; echo err >&2; exit 3"])
    client.start()
    assert client.wait(timeout=15).exit_code == 3
    got = sorted((e["stream"], e["log"]) for e in log_entries(shims.log_path(cid)))
    assert got == [("stderr", "err\n"), ("stdout", "out\n")]
    lines = list(logfile.read_logs(str(shims.log_path(cid)), stdout=False))
    assert [(e.stream, e.line) for e in lines] == [("stderr", b"err\n")]


def test_attach_before_start_gets_multiplexed_output(shims: Shims) -> None:
    _, client = shims.spawn(["sh", "-c", "echo out; echo err >&2"])
    stream = client.attach(stdout=True, stderr=True)
    stream.shutdown(socket.SHUT_WR)  # no stdin: Docker's client half-closes at once
    client.start()
    frames = stdcopy.demux_all(read_until_eof(stream))
    assert frames == {stdcopy.STDOUT: b"out\n", stdcopy.STDERR: b"err\n"}
    assert client.wait(timeout=5).exit_code == 0


def test_attach_with_logs_replays_then_closes(shims: Shims) -> None:
    _, client = shims.spawn(["echo", "replayed"])
    client.start()
    client.wait(timeout=15)
    stream = client.attach(logs=True)
    assert stdcopy.demux_all(read_until_eof(stream)) == {stdcopy.STDOUT: b"replayed\n"}


def test_stdin_half_close(shims: Shims) -> None:
    _, client = shims.spawn(["cat"], stdin=True)
    stream = client.attach(stdin=True)
    client.start()
    payload = b"".join(b"line %d\n" % i for i in range(2000))
    stream.sendall(payload)
    stream.shutdown(socket.SHUT_WR)
    frames = stdcopy.demux_all(read_until_eof(stream))
    assert frames.get(stdcopy.STDOUT) == payload
    assert client.wait(timeout=10).exit_code == 0


def test_tty_raw_output_and_resize(shims: Shims) -> None:
    _, client = shims.spawn(["sh", "-c", "stty size; read x; stty size; echo got:$x"], terminal=True,
                            stdin=True, console_size=(24, 80))
    stream = client.attach(stdin=True)
    client.start()
    first = read_until(stream, b"24 80")
    assert b"24 80" in first
    client.resize(40, 120)
    stream.sendall(b"hello\n")
    rest = read_until_eof(stream)
    assert b"40 120" in rest and b"got:hello" in rest
    assert b"\x01\x00\x00\x00" not in first + rest  # raw, not multiplexed
    assert client.wait(timeout=10).exit_code == 0


def test_kill_sigterm(shims: Shims) -> None:
    _, client = shims.spawn(["sleep", "100"], pid_namespace=False)
    client.start()
    assert client.state().status == "running"
    with pytest.raises(TimeoutError):
        client.wait(timeout=0.3)
    client.kill(signal.SIGTERM)
    assert client.wait(timeout=10).exit_code == 143
    with pytest.raises(errors.Conflict):
        client.kill("KILL")


def test_shutdown_refuses_a_live_container(shims: Shims) -> None:
    _, client = shims.spawn(["sleep", "100"])
    client.start()
    with pytest.raises(errors.Conflict):
        client._call({"op": "shutdown"})
    client.shutdown(force=True)
    assert not client.alive()
    info = client.wait()
    assert info.exit_code == 137


def test_shim_survives_its_parent(shims: Shims) -> None:
    bundle = shims.bundle(["sh", "-c", "read x; exit 7"])
    state_dir = shims.tmp / "shims" / "orphan"
    shims.started.append(("orphan", ShimClient(state_dir)))
    code = (
        "from dockyard.shim.client import spawn_shim\n"
        f"spawn_shim(id='orphan', bundle={str(bundle)!r}, runtime={shims.runtime!r},"
        f" runtime_root={str(shims.runtime_root)!r}, state_dir={str(state_dir)!r},"
        f" log_path={str(shims.tmp / 'orphan.log')!r}, stdin=True)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    client = ShimClient(state_dir)
    assert client.alive()
    ppid = int(Path(f"/proc/{client.shim_pid()}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert ppid != os.getpid()
    stream = client.attach(stdin=True)
    client.start()
    stream.sendall(b"go\n")
    stream.shutdown(socket.SHUT_WR)
    assert client.wait(timeout=10).exit_code == 7
    read_until_eof(stream)


def test_create_failure_reports_runtime_message(shims: Shims) -> None:
    with pytest.raises(protocol.CreateFailed) as caught:
        shims.spawn(["/no/such/binary"])
    assert caught.value.exit_code == 127
    assert "no/such/binary" in str(caught.value)


def _process_json(tmp: Path, args: list[str], *, terminal: bool = False) -> Path:
    path = tmp / f"process-{args[0].replace('/', '_')}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps({"terminal": terminal, "user": {"uid": 0, "gid": 0}, "args": args,
                                "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "cwd": "/"}))
    return path


def test_exec_output_and_exit_code(shims: Shims) -> None:
    _, client = shims.spawn(["sleep", "100"])
    client.start()
    handle = client.exec(_process_json(shims.tmp, ["sh", "-c", "echo inside; echo oops >&2; exit 5"]))
    assert handle.stream is not None and handle.pid > 0
    frames = stdcopy.demux_all(read_until_eof(handle.stream))
    assert frames == {stdcopy.STDOUT: b"inside\n", stdcopy.STDERR: b"oops\n"}
    assert client.exec_wait(handle.id, timeout=10).exit_code == 5
    state = client.exec_state(handle.id)
    assert not state.running and state.exit is not None and state.exit.exit_code == 5
    with pytest.raises(errors.NotFound):
        client.exec_wait("nope")
    # exec output never goes to the container's log
    assert "inside" not in shims.log_path(shims.started[0][0]).read_text()


def test_exec_stdin_and_tty(shims: Shims) -> None:
    _, client = shims.spawn(["sleep", "100"])
    client.start()
    handle = client.exec(_process_json(shims.tmp, ["cat"]), stdin=True)
    assert handle.stream is not None
    handle.stream.sendall(b"through exec\n")
    handle.stream.shutdown(socket.SHUT_WR)
    assert stdcopy.demux_all(read_until_eof(handle.stream)) == {stdcopy.STDOUT: b"through exec\n"}
    assert client.exec_wait(handle.id, timeout=10).exit_code == 0
    tty = client.exec(_process_json(shims.tmp, ["sh", "-c", "stty size; read x"], terminal=True), tty=True,
                      stdin=True, console_size=(30, 90))
    assert tty.stream is not None
    assert b"30 90" in read_until(tty.stream, b"30 90")
    client.exec_resize(tty.id, 31, 91)
    tty.stream.sendall(b"\n")
    read_until_eof(tty.stream)
    assert client.exec_wait(tty.id, timeout=10).exit_code == 0


def test_exec_missing_binary(shims: Shims) -> None:
    _, client = shims.spawn(["sleep", "100"])
    client.start()
    with pytest.raises(protocol.ExecFailed) as caught:
        client.exec(_process_json(shims.tmp, ["/no/such/thing"]))
    assert caught.value.exit_code in (126, 127)
    assert client.state().status == "running"


def test_log_rotation(shims: Shims) -> None:
    cid, client = shims.spawn(["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done"],
                              log_max_size=2000, log_max_file=3)
    client.start()
    assert client.wait(timeout=15).exit_code == 0
    log = shims.log_path(cid)
    files = sorted(p.name for p in log.parent.glob(log.name + "*"))
    assert files == [log.name, log.name + ".1", log.name + ".2"]
    assert all(p.stat().st_size <= 2000 for p in log.parent.glob(log.name + "*"))
    lines = [e.line for e in logfile.read_logs(str(log))]
    assert lines[-1] == b"line-299\n"
    numbers = [int(line[5:]) for line in lines]
    assert numbers == list(range(numbers[0], 300))  # contiguous: only whole old files were dropped
    assert [e.line for e in logfile.read_logs(str(log), tail=2)] == [b"line-298\n", b"line-299\n"]


def test_follow_logs_until_exit(shims: Shims) -> None:
    cid, client = shims.spawn(["sh", "-c", "for i in 1 2 3; do echo tick$i; sleep 0.2; done"])
    client.start()
    stopped = lambda: client.state().status == "stopped"  # noqa: E731
    lines = [e.line for e in logfile.read_logs(str(shims.log_path(cid)), follow=True, stop=stopped)]
    assert lines == [b"tick1\n", b"tick2\n", b"tick3\n"]


def test_oom_is_recorded(shims: Shims) -> None:
    _, client = shims.spawn(["tail", "/dev/zero"], memory_limit=16 * 1024 * 1024)
    client.start()
    info = client.wait(timeout=30)
    if info.exit_code != 137:
        pytest.skip(f"the runtime did not enforce the memory limit (exit {info.exit_code})")
    assert info.oom_killed

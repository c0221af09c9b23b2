"""Control messages: framing, errors across the socket, exit info."""

from __future__ import annotations

import os
import socket

import pytest

from dockyard import errors
from dockyard.shim import cgroup, protocol
from dockyard.shim.protocol import ExitInfo, ShimState


def test_encode_and_decode_with_trailing_stream_bytes() -> None:
    decoder = protocol.MessageDecoder()
    wire = protocol.encode_message({"op": "attach", "stdin": True}) + b"raw stdin"
    assert wire[:4] == len(wire[4:-9]).to_bytes(4, "big")
    decoder.feed(wire[:3])
    assert decoder.next_message() is None
    decoder.feed(wire[3:])
    assert decoder.next_message() == {"op": "attach", "stdin": True}
    assert decoder.rest() == b"raw stdin"  # the shim stops decoding once the connection is a stream
    assert decoder.next_message() is None


def test_malformed_messages() -> None:
    decoder = protocol.MessageDecoder()
    decoder.feed(b"\x00\x00\x00\x02[]")
    with pytest.raises(protocol.ProtocolError):
        decoder.next_message()
    decoder = protocol.MessageDecoder()
    decoder.feed((protocol.MAX_MESSAGE + 1).to_bytes(4, "big"))
    with pytest.raises(protocol.ProtocolError):
        decoder.next_message()


def test_blocking_helpers_read_no_further_than_the_message() -> None:
    a, b = socket.socketpair()
    with a, b:
        protocol.send_message(a, {"ok": True, "result": {"x": 1}})
        a.sendall(b"after")
        assert protocol.result_of(protocol.recv_message(b)) == {"x": 1}
        assert b.recv(5) == b"after"
        a.close()
        with pytest.raises(ConnectionError):
            protocol.recv_message(b)


def test_errors_cross_as_their_class() -> None:
    with pytest.raises(errors.Conflict, match="is not running"):
        protocol.result_of(protocol.fail(errors.Conflict("Container x is not running")))
    # subclasses travel as their dockyard.errors ancestor
    with pytest.raises(errors.FailedPrecondition, match="boom"):
        protocol.result_of(protocol.fail(protocol.CreateFailed("boom", 127)))
    with pytest.raises(errors.DockyardError):
        protocol.result_of(protocol.fail(RuntimeError("x")))
    with pytest.raises(errors.DockyardError):
        protocol.result_of({"ok": False, "error": {"kind": "__class__", "message": "m"}})


def test_exit_info_and_state_roundtrip() -> None:
    info = ExitInfo(exit_code=137, oom_killed=True, finished_at="2024-01-01T00:00:00.5Z")
    assert ExitInfo.from_json(info.to_json()) == info
    state = ShimState(id="c", pid=5, status="stopped", tty=True, started_at="t", exit=info)
    assert ShimState.from_json(state.to_json()) == state
    with pytest.raises(protocol.ProtocolError):
        ExitInfo.from_json({"exit_code": "1"})


def test_exit_codes() -> None:
    assert protocol.exit_code_from_status(3 << 8) == 3
    assert protocol.exit_code_from_status(15) == 143  # killed by SIGTERM
    assert protocol.exit_code_for_error('exec: "nope": executable file not found in $PATH') == 127
    assert protocol.exit_code_for_error("exec /etc/passwd: permission denied") == 126
    assert protocol.exit_code_for_error("cgroup trouble") == 128


def test_cgroup_oom_detection(tmp_path: os.PathLike[str]) -> None:
    from pathlib import Path

    root = Path(tmp_path)
    (root / "proc" / "42").mkdir(parents=True)
    (root / "proc" / "42" / "cgroup").write_text("5:devices:/x\n4:memory:/box/c1\n0::/\n")
    mem = root / "cg" / "memory" / "box" / "c1"
    mem.mkdir(parents=True)
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    found = cgroup.memory_dir(42, proc_root=str(root / "proc"), cgroup_root=str(root / "cg"))
    assert found == str(mem) and cgroup.oom_killed(found)
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert not cgroup.oom_killed(found)
    assert not cgroup.oom_killed(None)
    (root / "proc" / "43").mkdir()
    (root / "proc" / "43" / "cgroup").write_text("0::/sys/c2\n")
    v2 = root / "cg" / "sys" / "c2"
    v2.mkdir(parents=True)
    (v2 / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    found = cgroup.memory_dir(43, proc_root=str(root / "proc"), cgroup_root=str(root / "cg"))
    assert found == str(v2) and cgroup.oom_killed(found)
    assert cgroup.memory_dir(44, proc_root=str(root / "proc")) is None

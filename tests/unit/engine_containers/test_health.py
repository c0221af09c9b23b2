"""Healthcheck rules as dockerd applies them: merged settings, the probe command, results into
status/streak/log, the probe's output limits and stream, and Go's duration words."""

from __future__ import annotations

import socket
import struct
import time

from dockyard.engine.containers import health
from dockyard.engine.containers.health import HealthSettings, ProbeResult
from dockyard.oci.config import HealthConfig

S = health.SECOND_NS


def test_settings_merge_the_container_s_over_the_image_s() -> None:
    image = HealthConfig(("CMD-SHELL", "curl -f localhost"), interval_ns=10 * S, retries=5)
    container = HealthConfig((), timeout_ns=2 * S)
    got = health.settings_for(container, image, None)
    assert got == HealthSettings(("/bin/sh", "-c", "curl -f localhost"), 10.0, 2.0, 0.0, 5.0, 5)
    assert health.settings_for(None, None, None) is None
    assert health.settings_for(HealthConfig(("NONE",)), image, None) is None  # --no-healthcheck
    exec_form = health.settings_for(HealthConfig(("CMD", "true", "x")), None, None)
    assert exec_form is not None and exec_form.command == ("true", "x") and exec_form.interval == 30.0
    shelled = health.settings_for(HealthConfig(("CMD-SHELL", "a", "b")), None, ("/bin/bash", "-lc"))
    assert shelled is not None and shelled.command == ("/bin/bash", "-lc", "a b")


def _result(code: int, start: float = 100.0) -> ProbeResult:
    return ProbeResult(start, start + 0.01, code, f"out {code}")


def test_results_move_the_status_as_dockerd_s() -> None:
    settings = HealthSettings(("true",), 1.0, 1.0, start_period=10.0, start_interval=1.0, retries=2)
    # failures inside the start period do not count while it is starting
    status, streak, log = health.next_health("starting", 0, (), _result(1, start=105.0), started_at=100.0,
                                             settings=settings)
    assert (status, streak, len(log)) == ("starting", 0, 1)
    status, streak, log = health.next_health(status, streak, log, _result(1, start=111.0), started_at=100.0,
                                             settings=settings)
    assert (status, streak) == ("starting", 1)
    status, streak, log = health.next_health(status, streak, log, _result(1, start=112.0), started_at=100.0,
                                             settings=settings)
    assert (status, streak) == ("unhealthy", 2)
    status, streak, log = health.next_health(status, streak, log, _result(0, start=113.0), started_at=100.0,
                                             settings=settings)
    assert (status, streak) == ("healthy", 0)
    # after a success, failures count even inside the start period
    status, streak, log = health.next_health("healthy", 0, log, _result(1, start=101.0), started_at=100.0,
                                             settings=settings)
    assert (status, streak) == ("healthy", 1)
    for _ in range(5):
        status, streak, log = health.next_health(status, streak, log, _result(7), started_at=0.0, settings=settings)
    assert len(log) == health.MAX_LOG_ENTRIES and log[-1]["ExitCode"] == 7 and log[-1]["Output"] == "out 7"
    assert str(log[-1]["Start"]).endswith("Z") and "T" in str(log[-1]["End"])


def test_output_is_limited_and_read_from_the_multiplexed_stream() -> None:
    assert health.limited_output(b"a" * 4096) == "a" * 4096
    assert health.limited_output(b"a" * 5000) == "a" * 4096 + "..."
    left, right = socket.socketpair()
    frames = b"".join(struct.pack(">BxxxI", stream, len(data)) + data
                      for stream, data in ((1, b"out\n"), (2, b"err\n"), (1, b"x" * 5000)))
    left.sendall(frames[:5])
    left.sendall(frames[5:])
    left.close()
    data, timed_out = health.read_output(right, time.monotonic() + 5)
    assert not timed_out and data.startswith(b"out\nerr\nx") and len(data) == health.MAX_OUTPUT + 1
    quiet_left, quiet_right = socket.socketpair()
    data, timed_out = health.read_output(quiet_right, time.monotonic() + 0.05)
    assert timed_out and data == b""
    for s in (right, quiet_left, quiet_right):
        s.close()


def test_go_duration_words() -> None:
    assert [health.go_duration(s) for s in (30, 90, 1.5, 0.2, 3600, 0.0005)] == \
        ["30s", "1m30s", "1.5s", "200ms", "1h0m0s", "500µs"]

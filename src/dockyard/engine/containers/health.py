"""Healthchecks as dockerd runs them: the settings (the container's over the image's), the probe's
command, what a probe's result does to the health state, and the monitor thread that probes a
running container at its interval.

The probe itself (an exec in the container, its output and exit code) is the caller's: the
monitor is given a function that runs one and a function that records its result.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.oci.config import HealthConfig
from dockyard.oci.timefmt import format_rfc3339_ns

SECOND_NS = 1_000_000_000
DEFAULT_INTERVAL_NS = 30 * SECOND_NS
DEFAULT_TIMEOUT_NS = 30 * SECOND_NS
DEFAULT_START_INTERVAL_NS = 5 * SECOND_NS
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096  # bytes of a probe's output kept in its log entry

STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"


@dataclass(frozen=True, slots=True)
class HealthSettings:
    command: tuple[str, ...]   # what the probe execs
    interval: float            # seconds
    timeout: float
    start_period: float
    start_interval: float
    retries: int


def settings_for(container: HealthConfig | None, image: HealthConfig | None,
                 shell: tuple[str, ...] | None) -> HealthSettings | None:
    """The healthcheck a container runs, or None: the container's fields over the image's (each
    zero or empty field inherited, as dockerd merges them at create), ``NONE`` turning it off."""
    merged = _merge(container, image)
    if merged is None or not merged.test or merged.test[0] == "NONE":
        return None
    kind, args = merged.test[0], merged.test[1:]
    if kind == "CMD-SHELL":
        command = (*(shell or ("/bin/sh", "-c")), " ".join(args))
    elif kind == "CMD":
        command = tuple(args)
    else:
        return None  # dockerd: "Unknown healthcheck type"; nothing to run
    if not command:
        return None

    def seconds(ns: int, default_ns: int) -> float:
        return (ns if ns > 0 else default_ns) / SECOND_NS

    return HealthSettings(command, seconds(merged.interval_ns, DEFAULT_INTERVAL_NS),
                          seconds(merged.timeout_ns, DEFAULT_TIMEOUT_NS), seconds(merged.start_period_ns, 0),
                          seconds(merged.start_interval_ns, DEFAULT_START_INTERVAL_NS),
                          merged.retries if merged.retries > 0 else DEFAULT_RETRIES)


def _merge(container: HealthConfig | None, image: HealthConfig | None) -> HealthConfig | None:
    if container is None or image is None:
        return container or image
    return HealthConfig(container.test or image.test, container.interval_ns or image.interval_ns,
                        container.timeout_ns or image.timeout_ns, container.start_period_ns or image.start_period_ns,
                        container.start_interval_ns or image.start_interval_ns, container.retries or image.retries)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    start: float      # unix seconds
    end: float
    exit_code: int    # -1: it did not finish in time
    output: str

    def to_json(self) -> dict[str, object]:
        return {"Start": format_rfc3339_ns(int(self.start * SECOND_NS)),
                "End": format_rfc3339_ns(int(self.end * SECOND_NS)),
                "ExitCode": self.exit_code, "Output": self.output}


def read_output(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """The payload of an exec's multiplexed stream (stdout and stderr as they came) until it ends
    or the monotonic ``deadline`` passes (then True). Keeps no more than ``limited_output`` shows."""
    pending, out = b"", bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return bytes(out), True
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return bytes(out), True
        if not chunk:
            return bytes(out), False
        pending += chunk
        while len(pending) >= 8:
            size = int.from_bytes(pending[4:8], "big")
            if len(pending) < 8 + size:
                break
            out += pending[8:8 + size][:max(0, MAX_OUTPUT + 1 - len(out))]
            pending = pending[8 + size:]


def go_duration(seconds: float) -> str:
    """Go's Duration.String for the durations a healthcheck has: "30s", "1m30s", "1.5s", "200ms"."""
    ns = round(seconds * SECOND_NS)
    if ns < SECOND_NS:
        for unit, size in (("ms", 10**6), ("µs", 10**3)):
            if ns >= size:
                return f"{ns / size:.6f}".rstrip("0").rstrip(".") + unit
        return f"{ns}ns"
    hours, rest = divmod(ns, 3600 * SECOND_NS)
    minutes, rest = divmod(rest, 60 * SECOND_NS)
    secs = f"{rest / SECOND_NS:.9f}".rstrip("0").rstrip(".") + "s"
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + secs


def limited_output(data: bytes) -> str:
    """dockerd's limitedBuffer: the first 4096 bytes, and "..." when there was more."""
    text = data[:MAX_OUTPUT].decode(errors="replace")
    return text + "..." if len(data) > MAX_OUTPUT else text


def next_health(status: str, streak: int, log: tuple[dict[str, object], ...], result: ProbeResult, *,
                started_at: float, settings: HealthSettings) -> tuple[str, int, tuple[dict[str, object], ...]]:
    """dockerd's handleProbeResult: the new status, failing streak and log (the last five results).
    A success makes it healthy; failures count only once the start period is over (or after a
    first success), and ``retries`` of them in a row make it unhealthy."""
    log = (*log, result.to_json())[-MAX_LOG_ENTRIES:]
    if result.exit_code == 0:
        return HEALTHY, 0, log
    if status == STARTING and result.start - started_at < settings.start_period:
        return status, streak, log
    streak += 1
    return (UNHEALTHY if streak >= settings.retries else status), streak, log


class HealthMonitor:
    """Probes one running container until ``stop``: at the start interval while it is starting
    within its start period, at the interval otherwise (dockerd's monitor)."""

    def __init__(self, settings: HealthSettings, started_at: float, probe: Callable[[HealthSettings], ProbeResult],
                 record: Callable[[ProbeResult], bool], status: Callable[[], str]) -> None:
        self.settings = settings
        self.started_at = started_at
        self._probe = probe
        self._record = record      # False: the container is gone or restarted, stop probing
        self._status = status
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="health", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _interval(self) -> float:
        s = self.settings
        if time.time() - self.started_at >= s.start_period or self._status() != STARTING:
            return s.interval
        return s.start_interval

    def _run(self) -> None:
        while not self._stop.wait(self._interval()):
            result = self._probe(self.settings)
            if self._stop.is_set() or not self._record(result):
                return


__all__ = ["HEALTHY", "STARTING", "UNHEALTHY", "HealthMonitor", "HealthSettings", "ProbeResult", "go_duration",
           "limited_output", "next_health", "read_output", "settings_for"]

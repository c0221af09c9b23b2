"""Container state as Docker reports it: the status words and the ``ps`` STATUS text."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dockyard.units import human_duration

ZERO_TIME = "0001-01-01T00:00:00Z"
STATUSES = ("created", "running", "paused", "restarting", "removing", "exited", "dead")


@dataclass(frozen=True, slots=True)
class ContainerState:
    status: str = "created"
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    started_at: float = 0.0        # unix seconds; 0 = never
    finished_at: float = 0.0
    health: str = ""               # "", "starting", "healthy", "unhealthy" ("": no healthcheck)
    health_failing_streak: int = 0
    health_log: tuple[dict[str, object], ...] = ()  # the last probes' Start, End, ExitCode, Output

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused", "restarting")


def status_text(state: ContainerState, *, now: float | None = None) -> str:
    """``Up 7 seconds``, ``Up 2 minutes (Paused)``, ``Exited (1) 3 minutes ago``, ``Created``…"""
    now = time.time() if now is None else now
    if state.status == "created":
        return "Created"
    if state.status == "removing":
        return "Removal In Progress"
    if state.status == "dead":
        return "Dead"
    if state.status == "restarting":
        return f"Restarting ({state.exit_code}) {human_duration(now - state.finished_at)} ago"
    if state.status in ("running", "paused"):
        text = f"Up {human_duration(now - state.started_at)}"
        if state.status == "paused":
            text += " (Paused)"
        elif state.health:
            text += f" (health: {state.health})" if state.health == "starting" else f" ({state.health})"
        return text
    if not state.finished_at:
        return f"Exited ({state.exit_code})"  # never finished cleanly (a failed start)
    return f"Exited ({state.exit_code}) {human_duration(now - state.finished_at)} ago"

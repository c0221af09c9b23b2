"""Restart policies: when a container that exited is started again, and after how long.

Follows dockerd's restartmanager: one manager per container, reset by a user's start; a delay
starting at 100 ms that doubles on each restart up to a minute, back to 100 ms once the container
ran for 10 s; a manual stop or kill cancels the manager, so nothing restarts until the next start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from dockyard.engine.spec.model import RestartPolicy

FIRST_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0    # seconds of running that count as a healthy start


def is_none(policy: RestartPolicy) -> bool:
    return policy.name in ("no", "")


def should_restart(policy: RestartPolicy, *, exit_code: int, manually_stopped: bool,
                   restart_count: int) -> bool:
    """dockerd's decision, without the delay (also used for start-up: ``container.ShouldRestart``)."""
    if policy.name == "always":
        return True
    if policy.name == "unless-stopped":
        return not manually_stopped
    if policy.name == "on-failure":
        limit = policy.maximum_retry_count
        return exit_code != 0 and (limit == 0 or restart_count < limit)
    return False


@dataclass
class RestartManager:
    """The per-container restart state that lives only in memory, like dockerd's."""

    delay: float = 0.0
    canceled: bool = False
    waiting: bool = False      # a restart is scheduled and has not begun
    starting: bool = False     # the delay is over and the start is under way

    def __post_init__(self) -> None:
        self.wakeup = threading.Event()

    def next_delay(self, policy: RestartPolicy, *, exit_code: int, manually_stopped: bool,
                   restart_count: int, ran_for: float) -> float | None:
        """The delay before the restart, or None when the container stays stopped."""
        if is_none(policy) or self.canceled:
            return None
        if ran_for >= RESET_AFTER:
            self.delay = 0.0
        self.delay = FIRST_DELAY if self.delay == 0 else min(self.delay * 2, MAX_DELAY)
        if not should_restart(policy, exit_code=exit_code, manually_stopped=manually_stopped,
                              restart_count=restart_count):
            return None
        self.waiting = True
        return self.delay

    def cancel(self) -> bool:
        """Stop any scheduled restart; True when one was waiting and is now abandoned."""
        self.canceled = True
        abandoned = self.waiting and not self.starting
        self.wakeup.set()
        return abandoned


__all__ = ["FIRST_DELAY", "MAX_DELAY", "RESET_AFTER", "RestartManager", "is_none", "should_restart"]

"""Docker Compose's plain (non-TTY) progress output: one line per event, on stderr.

A line is `` <resource> <status>`` with an empty text column between, exactly as Compose prints
its events (`` Container demo-db-1  Started``). Warnings are printed as Compose's logger does.
"""

from __future__ import annotations

import threading
from typing import TextIO

# Event statuses, in Compose's words
CREATING, CREATED = "Creating", "Created"
STARTING, STARTED = "Starting", "Started"
STOPPING, STOPPED = "Stopping", "Stopped"
REMOVING, REMOVED = "Removing", "Removed"
RECREATE, RECREATED = "Recreate", "Recreated"
RESTARTING = "Restarting"
RUNNING = "Running"
WAITING, HEALTHY, EXITED = "Waiting", "Healthy", "Exited"
KILLING, KILLED = "Killing", "Killed"
PULLING, PULLED = "Pulling", "Pulled"
ERROR = "Error"


def container_id(name: str) -> str:
    return f"Container {name}"


def network_id(name: str) -> str:
    return f"Network {name}"


def volume_id(name: str, *, quoted: bool = True) -> str:
    # Compose quotes a volume's name while creating it, not while removing it.
    return f'Volume "{name}"' if quoted else f"Volume {name}"


def event_line(resource: str, status: str, text: str = "") -> str:
    return f" {resource} {text} {status}"


class Progress:
    """Writes events as they happen; safe to use from several threads."""

    def __init__(self, stream: TextIO, *, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self._lock = threading.Lock()

    def event(self, resource: str, status: str, text: str = "") -> None:
        if self.quiet:
            return
        self._write(event_line(resource, status, text) + "\n")

    def container(self, name: str, status: str) -> None:
        self.event(container_id(name), status)

    def network(self, name: str, status: str) -> None:
        self.event(network_id(name), status)

    def volume(self, name: str, status: str, *, quoted: bool = True) -> None:
        self.event(volume_id(name, quoted=quoted), status)

    def warn(self, message: str) -> None:
        self._write(f"WARN[0000] {message}\n")

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text)
            self.stream.flush()


__all__ = [
    "CREATED", "CREATING", "ERROR", "EXITED", "HEALTHY", "KILLED", "KILLING", "PULLED", "PULLING", "RECREATE",
    "RECREATED", "REMOVED", "REMOVING", "RESTARTING", "RUNNING", "STARTED", "STARTING", "STOPPED", "STOPPING",
    "WAITING", "Progress", "container_id", "event_line", "network_id", "volume_id",
]

"""``up`` without ``-d``: attach to the services' containers before starting them, print their
output with prefixes until they have all exited, and stop them all on Ctrl-C, as Compose does."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from dockyard.compose.converge import Converger
from dockyard.compose.engine import ContainerSummary
from dockyard.compose.graph import stop_order
from dockyard.compose.logs import LogPrinter, LogSession
from dockyard.compose.model import Project, Service
from dockyard.errors import DockyardError, NotFound

INTERRUPTED = 130
GRACEFUL = "Gracefully stopping... (press Ctrl+C again to force)"
ABORTING = "Aborting on container exit..."


@dataclass(frozen=True)
class AttachOptions:
    abort_on_container_exit: bool = False
    exit_code_from: str = ""
    timeout: int | None = None


class AttachedUp:
    def __init__(self, converger: Converger, printer: LogPrinter) -> None:
        self.converger = converger
        self.engine = converger.engine
        self.printer = printer
        self.session = LogSession(printer)
        self._containers: dict[str, ContainerSummary] = {}

    def _attach(self, container: ContainerSummary) -> None:
        state = self.engine.inspect(container.id)
        sock = self.engine.attach(container.id)
        framed = sock.multiplexed or not state.tty
        chunks: Iterator[bytes] = iter(lambda: sock.recv(32768), b"")
        self._containers[container.id] = container
        self.session.add(container.id, container.short_name, chunks, framed=framed, close=sock.close)

    def run(self, project: Project, services: Sequence[Service], opts: AttachOptions,
            attach_to: Sequence[str] = ()) -> int:
        """Start the services (already created) attached to ``attach_to`` (all when empty); the
        exit status of ``up``."""
        watched = [c for s in services if s.attach and (not attach_to or s.name in attach_to)
                   for c in self.engine.containers(project.name, services=(s.name,))]
        if watched:
            self.printer.status("Attaching to", ", ".join(c.short_name for c in watched))
        for container in watched:
            self._attach(container)
        exit_code = 0
        aborted = captured = stopping = False

        def on_end(key: str) -> bool:
            nonlocal exit_code, aborted, captured
            container = self._containers[key]
            try:
                # the output ends a moment before the daemon has recorded the exit
                self.engine.wait(key)
                state = self.engine.inspect(key)
            except NotFound:
                return False
            if stopping:
                self.printer.status(container.short_name, f"exited with code {state.exit_code}")
                return False
            if state.status == "restarting" or (state.status == "running" and state.restart_policy not in ("", "no")):
                if self._reattach(container):
                    return False
                state = self.engine.inspect(key)
            self.printer.status(container.short_name, f"exited with code {state.exit_code}")
            if opts.exit_code_from and container.service == opts.exit_code_from:
                exit_code = state.exit_code
                captured = True
            if opts.abort_on_container_exit:
                if not opts.exit_code_from:
                    exit_code = state.exit_code
                aborted = True
                return True
            return False

        try:
            self.converger.start(project, services)
            self.session.run(on_end)
        except KeyboardInterrupt:
            self.printer.out.write(GRACEFUL + "\n")
            self.printer.out.flush()
            stopping = True
            self._stop_all(project, services, opts.timeout)
            self._drain(on_end)
            return INTERRUPTED
        if aborted:
            self.printer.out.write(ABORTING + "\n")
            self.printer.out.flush()
            stopping = True
            self._stop_all(project, services, opts.timeout)
            self._drain(on_end)
            if opts.exit_code_from and not captured:
                # the selected service was stopped with the others: its exit code is the answer
                for container in self.engine.containers(project.name, services=(opts.exit_code_from,)):
                    exit_code = self.engine.inspect(container.id).exit_code
        return exit_code

    def _reattach(self, container: ContainerSummary, wait: float = 10.0) -> bool:
        """Follow a container its restart policy brings back (what it printed meanwhile is lost)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                state = self.engine.inspect(container.id)
            except NotFound:
                return False
            if state.status == "running":
                with contextlib.suppress(DockyardError):
                    self._attach(container)
                    return True
                return False
            if state.status not in ("restarting",):
                return False
            time.sleep(0.1)
        return False

    def _stop_all(self, project: Project, services: Sequence[Service], timeout: int | None) -> None:
        names = {s.name for s in services}
        try:
            for service in stop_order(project.services):
                if service not in names:
                    continue
                for container in self.engine.containers(project.name, services=(service,)):
                    if container.running:
                        self.converger.stop_container(container.name, container.id, timeout)
        except KeyboardInterrupt:
            # a second Ctrl-C: kill what is left
            for container in self.engine.containers(project.name):
                if container.service in names and container.running:
                    with contextlib.suppress(DockyardError):
                        self.engine.kill(container.id)

    def _drain(self, on_end: Callable[[str], bool]) -> None:
        """Print what the stopped containers said last (their streams end as they exit)."""
        try:
            self.session.run(on_end)
        except KeyboardInterrupt:
            pass
        finally:
            self.session.close()


__all__ = ["ABORTING", "GRACEFUL", "INTERRUPTED", "AttachOptions", "AttachedUp"]

"""start, kill, delete, pause/resume and ps on an existing container."""

from __future__ import annotations

import os
import select
import sys
import time

from dockyard.errors import Conflict, FailedPrecondition, InvalidArgument
from dockyard.runtime.cgroups import Cgroup, Stats, from_paths
from dockyard.runtime.spec import Spec, parse_spec
from dockyard.runtime.state import State, StateDir, oci_state, proc_start_time

SIGKILL = 9


def load_spec(sd: StateDir) -> Spec:
    return parse_spec(sd.read_config())


def cgroup_of(state: State) -> Cgroup | None:
    return from_paths(state.cgroup_paths) if state.cgroup_paths else None


def start(sd: StateDir) -> State:
    state = sd.load()
    status = sd.status(state)
    if status == "stopped":
        raise Conflict("cannot start a container that has stopped")
    if status != "created":
        raise Conflict("cannot start an already running container")
    fd = os.open(sd.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        # Opening the read side released the init's blocking open; wait for its byte (or its death).
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            if poller.poll(100):
                data = os.read(fd, 1)
                if data:
                    break
            if proc_start_time(state.pid) != state.start_time:
                raise FailedPrecondition("container init exited before start")
    finally:
        os.close(fd)
    os.unlink(sd.fifo)
    spec = load_spec(sd)
    if spec.hooks.poststart:
        from dockyard.runtime import hooks

        try:
            hooks.run_hooks("poststart", spec.hooks.poststart, oci_state(state, "running"))
        except Exception:
            kill(sd, SIGKILL, all_processes=True)
            raise
    return state


def parse_signal(text: str) -> int:
    if text.isdigit():
        num = int(text)
        if num <= 0 or num >= 65:
            raise InvalidArgument(f"invalid signal: {text}")
        return num
    import signal

    signals = {name.removeprefix("SIG"): int(value) for name, value in signal.Signals.__members__.items()
               if not name.startswith("SIG_")}
    key = text.upper().removeprefix("SIG")
    if key not in signals:
        raise InvalidArgument(f"unknown signal {text!r}")
    return signals[key]


def kill(sd: StateDir, sig: int, all_processes: bool = False) -> None:
    state = sd.load()
    status = sd.status(state)
    cg = cgroup_of(state)
    if all_processes and cg is not None:
        for pid in cg.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    else:
        if status == "stopped":
            raise Conflict("container not running")
        os.kill(state.pid, sig)
    if sig == SIGKILL and status == "paused" and cg is not None:
        # A frozen process takes no signal until it is thawed. As runc does, thaw for SIGKILL only:
        # the kill lands now, other signals wait for the unpause.
        cg.thaw()


def delete(sd: StateDir, force: bool = False) -> None:
    state = sd.load()
    status = sd.status(state)
    if status in ("running", "paused") and not force:
        raise Conflict(f"cannot delete container {sd.id} that is not stopped: {status}")
    cg = cgroup_of(state)
    if status != "stopped":
        try:
            os.kill(state.pid, SIGKILL)
        except ProcessLookupError:
            pass
    if cg is not None:
        cg.destroy()  # kills whatever is left, then removes the directories
    deadline = time.monotonic() + 5
    while proc_start_time(state.pid) == state.start_time and time.monotonic() < deadline:
        time.sleep(0.002)
    spec = load_spec(sd) if os.path.exists(sd.config) else None
    sd.remove()
    if spec is not None and spec.hooks.poststop:
        from dockyard.runtime import hooks

        try:
            hooks.run_hooks("poststop", spec.hooks.poststop, oci_state(state, "stopped"))
        except Exception as exc:  # noqa: BLE001 - the container is gone already; warn like runc
            print(f"warning: {exc}", file=sys.stderr)


def pause(sd: StateDir) -> None:
    state = sd.load()
    status = sd.status(state)
    if status != "running":
        raise Conflict(f"container not running: {status}")
    cg = cgroup_of(state)
    if cg is None:
        raise FailedPrecondition("container has no cgroup to freeze")
    cg.freeze()


def resume(sd: StateDir) -> None:
    state = sd.load()
    if sd.status(state) != "paused":
        raise Conflict("container not paused")
    cg = cgroup_of(state)
    assert cg is not None
    cg.thaw()


def pids(sd: StateDir) -> list[int]:
    state = sd.load()
    cg = cgroup_of(state)
    if cg is not None:
        return cg.pids()
    return [state.pid] if sd.status(state) != "stopped" else []


def stats(sd: StateDir) -> Stats:
    state = sd.load()
    cg = cgroup_of(state)
    return cg.stats() if cg is not None else Stats()

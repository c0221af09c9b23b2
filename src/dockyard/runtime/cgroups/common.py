"""File helpers shared by the v1 and v2 cgroup managers."""

from __future__ import annotations

import os
import time

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
else:
    from dockyard.runtime._record import record as dataclass


@dataclass(frozen=True, slots=True)
class Stats:
    memory_usage: int = 0
    memory_limit: int = 0
    memory_max_usage: int = 0
    oom_kills: int = 0
    cpu_usage_ns: int = 0
    pids_current: int = 0
    pids_limit: int = 0


def read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def write_file(directory: str, name: str, value: str, optional: bool = False) -> None:
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        if optional:
            return
        raise InvalidArgument(f"cgroup: {path} does not exist (controller or knob unsupported)") from None
    try:
        os.write(fd, value.encode())
    except OSError as exc:
        raise InvalidArgument(f"cgroup: write {value!r} to {path}: {os.strerror(exc.errno or 0)}") from exc
    finally:
        os.close(fd)


def read_int(path: str, default: int = 0) -> int:
    try:
        text = read_text(path).strip()
    except OSError:
        return default
    if text == "max":
        return -1
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return default


def read_keyed(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in read_text(path).splitlines():
            key, _, value = line.partition(" ")
            if value.strip().lstrip("-").isdigit():
                out[key] = int(value)
    except OSError:
        pass
    return out


def read_pids(directory: str) -> list[int]:
    try:
        return [int(x) for x in read_text(os.path.join(directory, "cgroup.procs")).split()]
    except OSError:
        return []


def kill_and_remove(directories: list[str], pids_dir: str | None, timeout: float = 5.0) -> None:
    """SIGKILL whatever is left, then rmdir every directory (deepest first), retrying while busy."""
    deadline = time.monotonic() + timeout
    while pids_dir:
        pids = read_pids(pids_dir)
        if not pids or time.monotonic() > deadline:
            break
        for pid in pids:
            try:
                os.kill(pid, 9)  # SIGKILL
            except ProcessLookupError:
                pass
        time.sleep(0.005)
    for directory in directories:
        while True:
            try:
                os.rmdir(directory)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

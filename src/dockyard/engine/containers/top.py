"""``docker top``: the host's ``ps`` output, narrowed to the processes of one container (as dockerd does)."""

from __future__ import annotations

import os
import subprocess

from dockyard.errors import DockyardError, InvalidArgument

CGROUP_ROOT = "/sys/fs/cgroup"


def container_pids(init_pid: int, *, proc_root: str = "/proc", cgroup_root: str = CGROUP_ROOT) -> set[int]:
    """Every process in the cgroup of the container's init (v1 pids hierarchy, else the v2 one)."""
    try:
        with open(f"{proc_root}/{init_pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return set()
    candidates: list[str] = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            candidates.insert(0, os.path.join(cgroup_root, "pids", path.lstrip("/")))
        elif controllers == "":
            candidates.append(os.path.join(cgroup_root, path.lstrip("/")))
            candidates.append(os.path.join(cgroup_root, "unified", path.lstrip("/")))
    for directory in candidates:
        try:
            with open(os.path.join(directory, "cgroup.procs")) as f:
                return {int(p) for p in f.read().split()}
        except (OSError, ValueError):
            continue
    return {init_pid}


def run_ps(ps_args: str) -> str:
    args = ps_args.split(" ") if ps_args else ["-ef"]
    try:
        proc = subprocess.run(["ps", *args], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DockyardError(f"Error running ps: {exc}") from exc
    if proc.returncode != 0:
        # dockerd: the first line of ps's complaint, as a bad parameter
        first = proc.stderr.decode(errors="replace").split("\n", 1)[0].strip()
        raise InvalidArgument(first or f"Error running ps: exit status {proc.returncode}")
    return proc.stdout.decode(errors="replace")


def parse_ps_output(output: str, pids: set[int]) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of ``pids`` (thread rows, PID ``-``, follow their process's row)."""
    lines = output.split("\n")
    titles = lines[0].split()
    if "PID" not in titles:
        raise DockyardError("Couldn't find PID field in ps output")
    pid_index = titles.index("PID")
    rows: list[list[str]] = []
    previous_listed = False
    for line in lines[1:]:
        if not line:
            continue
        fields = line.split()
        if fields[pid_index] == "-":
            if previous_listed:
                rows.append(_fit(fields, len(titles)))
            continue
        try:
            pid = int(fields[pid_index])
        except ValueError as exc:
            raise DockyardError(f"Unexpected pid '{fields[pid_index]}': {exc}") from exc
        previous_listed = pid in pids
        if previous_listed:
            rows.append(_fit(fields, len(titles)))
    return titles, rows


def _fit(fields: list[str], count: int) -> list[str]:
    # the command (last column) may contain spaces: everything past the titles is one field
    return [*fields[:count - 1], " ".join(fields[count - 1:])]

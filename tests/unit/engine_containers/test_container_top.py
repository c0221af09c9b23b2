"""``top``: ps output narrowed to a container's processes, as dockerd parses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.containers import top
from dockyard.errors import DockyardError

PS_EF = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 07:00 ?        00:00:01 /sbin/init
root         100       1  0 07:01 ?        00:00:00 sleep 1000
root         101     100  0 07:01 ?        00:00:00 sh -c echo a b  c
root         200       1  0 07:02 ?        00:00:00 other
"""

PS_THREADS = """  PID TTY      STAT   TIME COMMAND
  100 ?        -      0:00 java -jar app.jar
    - -        Ssl    0:00 -
    - -        Ssl    0:00 -
  200 ?        -      0:00 other
    - -        S      0:00 -
"""


def test_rows_of_the_container_only_with_commands_kept_whole() -> None:
    titles, rows = top.parse_ps_output(PS_EF, {100, 101})
    assert titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert rows == [["root", "100", "1", "0", "07:01", "?", "00:00:00", "sleep 1000"],
                    ["root", "101", "100", "0", "07:01", "?", "00:00:00", "sh -c echo a b c"]]


def test_thread_rows_follow_their_process() -> None:
    _, rows = top.parse_ps_output(PS_THREADS, {100})
    assert [r[0] for r in rows] == ["100", "-", "-"]


def test_output_without_a_pid_column() -> None:
    with pytest.raises(DockyardError, match="Couldn't find PID field in ps output"):
        top.parse_ps_output("USER COMMAND\nroot x\n", {1})


def test_pids_come_from_the_pids_cgroup(tmp_path: Path) -> None:
    proc = tmp_path / "proc" / "42"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text("12:pids:/dockyard/c1\n4:memory:/dockyard/c1\n0::/dockyard/c1\n")
    group = tmp_path / "cg" / "pids" / "dockyard" / "c1"
    group.mkdir(parents=True)
    (group / "cgroup.procs").write_text("42\n43\n57\n")
    assert top.container_pids(42, proc_root=str(tmp_path / "proc"), cgroup_root=str(tmp_path / "cg")) == {42, 43, 57}


def test_pids_from_the_unified_hierarchy(tmp_path: Path) -> None:
    proc = tmp_path / "proc" / "42"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text("0::/dockyard/c1\n")
    group = tmp_path / "cg" / "dockyard" / "c1"
    group.mkdir(parents=True)
    (group / "cgroup.procs").write_text("42\n44\n")
    assert top.container_pids(42, proc_root=str(tmp_path / "proc"), cgroup_root=str(tmp_path / "cg")) == {42, 44}


def test_ps_complaints_are_bad_parameters() -> None:
    from dockyard.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="unknown gnu long option"):
        top.run_ps("--no-such-option")


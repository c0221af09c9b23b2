"""A stats sample read from cgroup v1 and v2 files and /proc, laid out in a temporary tree."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.engine.containers import stats

TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def proc(root: Path, cgroup: str) -> Path:
    p = root / "proc"
    write(p / "42" / "cgroup", cgroup)
    write(p / "stat", "cpu  100 0 50 800 10 0 5 7 0 0\ncpu0 1 2 3\n")
    write(p / "meminfo", "MemTotal:       1000 kB\n")
    write(p / "42" / "net" / "dev", "Inter-|   Receive\n face |bytes\n    lo: 9 9 0 0 0 0 0 0 9 9 0 0 0 0 0 0\n"
          "  eth0: 516 6 1 2 0 0 0 0 266 3 4 5 0 0 0 0\n")
    return p


def test_cgroup_v1(tmp_path: Path) -> None:
    cg = tmp_path / "cg"
    lines = "\n".join(f"{i}:{c}:/dockyard/c1" for i, c in enumerate(
        ("cpu", "cpuacct", "memory", "pids", "blkio"))) + "\n0::/dockyard/c1\n"
    p = proc(tmp_path, lines)
    write(cg / "cpuacct/dockyard/c1/cpuacct.usage", "3000\n")
    write(cg / "cpuacct/dockyard/c1/cpuacct.usage_percpu", "1000 2000 \n")
    write(cg / "cpuacct/dockyard/c1/cpuacct.stat", "user 3\nsystem 1\n")
    write(cg / "cpu/dockyard/c1/cpu.stat", "nr_periods 4\nnr_throttled 2\nthrottled_time 99\n")
    write(cg / "memory/dockyard/c1/memory.usage_in_bytes", "4096\n")
    write(cg / "memory/dockyard/c1/memory.max_usage_in_bytes", "8192\n")
    write(cg / "memory/dockyard/c1/memory.limit_in_bytes", "9223372036854771712\n")
    write(cg / "memory/dockyard/c1/memory.stat", "cache 0\ntotal_inactive_file 1024\n")
    write(cg / "pids/dockyard/c1/pids.current", "2\n")
    write(cg / "pids/dockyard/c1/pids.max", "max\n")
    write(cg / "blkio/dockyard/c1/blkio.throttle.io_service_bytes_recursive", "8:0 Read 10\n8:0 Write 20\nTotal 30\n")
    s = stats.sample(42, proc_root=str(p), cgroup_root=str(cg))
    assert s.cpu == stats.CpuSample(total=3000, per_cpu=(1000, 2000), kernel=TICK, user=3 * TICK,
                                    system_total=965 * TICK, online_cpus=2, periods=4, throttled_periods=2,
                                    throttled_time=99)
    assert (s.memory_usage, s.memory_max_usage, s.memory_limit) == (4096, 8192, 1024 * 1000)  # host memory caps it
    assert s.memory_stat == {"cache": 0, "total_inactive_file": 1024}
    assert (s.pids_current, s.pids_limit) == (2, None)
    assert s.io_service_bytes == (stats.BlkioEntry(8, 0, "Read", 10), stats.BlkioEntry(8, 0, "Write", 20))
    assert s.networks == {"eth0": {"rx_bytes": 516, "rx_packets": 6, "rx_errors": 1, "rx_dropped": 2,
                                   "tx_bytes": 266, "tx_packets": 3, "tx_errors": 4, "tx_dropped": 5}}
    assert stats.sample(42, network=False, proc_root=str(p), cgroup_root=str(cg)).networks is None


def test_cgroup_v2(tmp_path: Path) -> None:
    cg = tmp_path / "cg"
    p = proc(tmp_path, "0::/dockyard/c2\n")
    write(cg / "cgroup.controllers", "cpu memory pids io\n")
    d = cg / "dockyard/c2"
    write(d / "cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 1\nnr_throttled 0\nthrottled_usec 0\n")
    write(d / "memory.current", "2048\n")
    write(d / "memory.max", "4096\n")
    write(d / "memory.stat", "inactive_file 512\n")
    write(d / "pids.current", "3\n")
    write(d / "pids.max", "10\n")
    write(d / "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n")
    s = stats.sample(42, proc_root=str(p), cgroup_root=str(cg))
    assert (s.cpu.total, s.cpu.user, s.cpu.kernel, s.cpu.per_cpu) == (5000, 3000, 2000, ())
    assert (s.memory_usage, s.memory_max_usage, s.memory_limit) == (2048, None, 4096)
    assert (s.pids_current, s.pids_limit) == (3, 10)
    assert [(e.op, e.value) for e in s.io_service_bytes] == [("read", 100), ("write", 200)]
    assert [(e.op, e.value) for e in s.io_serviced] == [("read", 1), ("write", 2)]

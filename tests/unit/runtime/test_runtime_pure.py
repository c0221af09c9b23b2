from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime import capabilities as caps
from dockyard.runtime.cgroups.resources import device_rule_line, shares_to_weight, v1_writes, v2_writes
from dockyard.runtime.cgroups.v1 import CgroupV1, discover
from dockyard.runtime.cgroups.v2 import CgroupV2
from dockyard.runtime.lifecycle import parse_signal
from dockyard.runtime.mountopts import parse_options
from dockyard.runtime.paths import secure_join
from dockyard.runtime.process import ExecError, lookup_executable
from dockyard.runtime.spec import BlockIO, Cpu, DeviceRule, Memory, Resources, ThrottleDevice
from dockyard.runtime.state import State, StateDir, oci_state, proc_start_time
from dockyard.sys import mount as m


def test_capability_table_matches_the_kernel_numbers() -> None:
    assert caps.cap_number("CAP_CHOWN") == 0 and caps.cap_number("sys_admin") == 21
    assert caps.cap_number("CAP_CHECKPOINT_RESTORE") == 40
    assert caps.mask(["CAP_KILL", "CAP_NET_BIND_SERVICE"], known=40) == (1 << 5) | (1 << 10)
    assert caps.names(0x21) == ["CAP_CHOWN", "CAP_KILL"]
    with pytest.raises(InvalidArgument):
        caps.cap_number("CAP_FLY")


def test_mount_options() -> None:
    o = parse_options(("rbind", "ro", "nosuid", "rslave", "mode=755", "size=1m", "rw", "ro"))
    assert o.flags == m.MS_BIND | m.MS_REC | m.MS_RDONLY | m.MS_NOSUID
    assert o.propagation == (m.MS_SLAVE | m.MS_REC,) and o.data == "mode=755,size=1m"


def test_secure_join_stays_inside(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "up").symlink_to("../../../../etc")
    (tmp_path / "abs").symlink_to("/etc/passwd")
    assert secure_join(str(tmp_path), "/a/up/x") == str(tmp_path / "etc" / "x")
    assert secure_join(str(tmp_path), "../../abs") == str(tmp_path / "etc" / "passwd")


def test_cgroup_v1_writes_in_order() -> None:
    res = Resources(memory=Memory(limit=64 << 20, swap=128 << 20, reservation=32 << 20, disable_oom_killer=True),
                    cpu=Cpu(shares=512, quota=50000, period=100000, cpus="0-1", mems="0"), pids_limit=0,
                    block_io=BlockIO(throttle_write_bps=(ThrottleDevice(254, 0, 1024),)),
                    devices=(DeviceRule(False), DeviceRule(True, "c", 10, 200, "rwm")))
    writes = [(w.controller, w.file, w.value) for w in v1_writes(res)]
    assert writes[:3] == [("memory", "memory.limit_in_bytes", str(64 << 20)),
                          ("memory", "memory.memsw.limit_in_bytes", str(128 << 20)),
                          ("memory", "memory.soft_limit_in_bytes", str(32 << 20))]
    assert ("memory", "memory.oom_control", "1") in writes
    assert writes.index(("cpu", "cpu.cfs_period_us", "100000")) < writes.index(("cpu", "cpu.cfs_quota_us", "50000"))
    assert ("pids", "pids.max", "max") in writes
    assert ("blkio", "blkio.throttle.write_bps_device", "254:0 1024") in writes
    dev = [v for c, f, v in writes if c == "devices"]
    assert dev[:3] == ["a", "c 10:200 rwm", "c *:* m"]
    assert ("devices", "devices.deny", "a") in writes


def test_cgroup_v2_writes() -> None:
    res = Resources(memory=Memory(limit=100, swap=300), cpu=Cpu(shares=1024, quota=50000, period=100000),
                    pids_limit=5)
    writes = {w.file: w.value for w in v2_writes(res)}
    assert writes == {"memory.max": "100", "memory.swap.max": "200", "cpu.weight": str(shares_to_weight(1024)),
                      "cpu.max": "50000 100000", "pids.max": "5"}
    assert shares_to_weight(2) == 1 and shares_to_weight(262144) == 10000
    assert device_rule_line(DeviceRule(True, "b", 8, None, "r")) == "b 8:* r"


def test_cgroup_v1_manager_on_a_fake_tree(tmp_path: Path) -> None:
    mounts = {}
    for ctrl in ("memory", "pids", "cpuset", "freezer"):
        (tmp_path / ctrl).mkdir()
        mounts[ctrl] = str(tmp_path / ctrl)
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    real_mkdir = os.mkdir

    def mkdir_with_knobs(path: str, mode: int = 0o777) -> None:  # a real cgroupfs creates the knobs itself
        real_mkdir(path, mode)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            Path(path, knob).write_text("")

    cg = CgroupV1("/dockyard/c1", mounts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "mkdir", mkdir_with_knobs)
        cg.create()
    assert (tmp_path / "cpuset" / "dockyard" / "c1" / "cpuset.cpus").read_text() == "0-1"
    (tmp_path / "memory" / "dockyard" / "c1" / "memory.limit_in_bytes").write_text("")
    (tmp_path / "pids" / "dockyard" / "c1" / "pids.max").write_text("")
    cg.apply(Resources(memory=Memory(limit=1 << 20), pids_limit=3))
    assert (tmp_path / "memory" / "dockyard" / "c1" / "memory.limit_in_bytes").read_text() == str(1 << 20)
    assert (tmp_path / "pids" / "dockyard" / "c1" / "pids.max").read_text() == "3"
    with pytest.raises(InvalidArgument, match="cpu"):
        cg.apply(Resources(cpu=Cpu(shares=100)))


def test_cgroup_v2_manager_on_a_fake_tree(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    cg = CgroupV2("/dockyard/c2", str(tmp_path))
    cg.create()
    leaf = tmp_path / "dockyard" / "c2"
    assert leaf.is_dir()
    (leaf / "memory.max").write_text("")
    cg.apply(Resources(memory=Memory(limit=4096)))
    assert (leaf / "memory.max").read_text() == "4096"


def test_discover_reads_v1_hierarchies(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
    assert discover(str(info)) == {"cpu": "/sys/fs/cgroup/cpu", "systemd": "/sys/fs/cgroup/systemd"}


def test_signals() -> None:
    assert parse_signal("KILL") == parse_signal("SIGKILL") == parse_signal("9") == signal.SIGKILL
    assert parse_signal("term") == signal.SIGTERM
    with pytest.raises(InvalidArgument):
        parse_signal("NOPE")


def test_state_dir_and_status(tmp_path: Path) -> None:
    sd = StateDir(tmp_path, "abc")
    sd.create()
    me = os.getpid()
    st = State(id="abc", bundle="/b", pid=me, start_time=proc_start_time(me) or 0, created="now", rootfs="/r")
    sd.write(st)
    assert sd.load() == st and sd.status(st) == "running"
    Path(sd.fifo).touch()  # StateDir paths are str
    assert sd.status(st) == "created"
    assert sd.status(st.with_pid(me, 1)) == "stopped"  # a reused pid does not revive it
    assert oci_state(st.with_pid(me, 1), "stopped")["pid"] == 0
    sd.remove()
    assert not os.path.exists(sd.path)
    with pytest.raises(InvalidArgument):
        StateDir(tmp_path, "../x")


def test_lookup_executable(tmp_path: Path) -> None:
    exe = tmp_path / "tool"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    (tmp_path / "data").write_text("")
    assert lookup_executable("tool", {"PATH": f"/nonexistent:{tmp_path}"}) == str(exe)
    with pytest.raises(ExecError, match=r'exec: "nope": executable file not found in \$PATH') as err:
        lookup_executable("nope", {"PATH": str(tmp_path)})
    assert err.value.exit_code == 127
    if os.geteuid() != 0:
        with pytest.raises(ExecError) as denied:
            lookup_executable(str(tmp_path / "data"), {})
        assert denied.value.exit_code == 126

"""Restart decisions and backoff (dockerd's restartmanager), and the update merge and cgroup writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.containers import resources
from dockyard.engine.containers.restart import MAX_DELAY, RestartManager, should_restart
from dockyard.engine.containers.state import ContainerState, status_text
from dockyard.engine.spec.model import RestartPolicy
from dockyard.errors import Conflict


def test_should_restart_follows_each_policy() -> None:
    def decide(policy: RestartPolicy, code: int, manual: bool = False, count: int = 0) -> bool:
        return should_restart(policy, exit_code=code, manually_stopped=manual, restart_count=count)

    assert not decide(RestartPolicy("no"), 1)
    assert decide(RestartPolicy("always"), 0) and decide(RestartPolicy("always"), 0, manual=True)
    assert decide(RestartPolicy("unless-stopped"), 0) and not decide(RestartPolicy("unless-stopped"), 0, True)
    assert decide(RestartPolicy("on-failure"), 1, count=1000)
    assert not decide(RestartPolicy("on-failure"), 0)
    assert decide(RestartPolicy("on-failure", 2), 1, count=1)
    assert not decide(RestartPolicy("on-failure", 2), 1, count=2)


def test_backoff_doubles_caps_and_resets_after_a_long_run() -> None:
    m = RestartManager()
    always = RestartPolicy("always")

    def delay(ran_for: float = 0.0) -> float | None:
        got = m.next_delay(always, exit_code=1, manually_stopped=False, restart_count=0, ran_for=ran_for)
        m.waiting = False
        return got

    assert [delay() for _ in range(4)] == [0.1, 0.2, 0.4, 0.8]
    for _ in range(20):
        last = delay()
    assert last == MAX_DELAY
    assert delay(ran_for=10.0) == 0.1  # ran 10 s: a healthy start, back to the first delay
    assert delay(ran_for=9.9) == 0.2


def test_cancel_abandons_a_waiting_restart_and_stops_later_ones() -> None:
    m = RestartManager()
    policy = RestartPolicy("always")
    assert m.next_delay(policy, exit_code=0, manually_stopped=False, restart_count=0, ran_for=0) == 0.1
    assert m.cancel() is True and m.wakeup.is_set()
    assert m.next_delay(policy, exit_code=0, manually_stopped=False, restart_count=0, ran_for=0) is None
    busy = RestartManager(waiting=True, starting=True)
    assert busy.cancel() is False  # the start under way is waited for by the canceler
    assert RestartManager().next_delay(RestartPolicy("no"), exit_code=1, manually_stopped=False,
                                       restart_count=0, ran_for=0) is None


def test_restarting_status_text() -> None:
    state = ContainerState(status="restarting", exit_code=3, finished_at=100.0)
    assert status_text(state, now=103.0) == "Restarting (3) 3 seconds ago"
    assert state.running


def test_merge_update_takes_non_zero_fields_and_refuses_conflicts() -> None:
    hc = {"Memory": 64 << 20, "MemorySwap": 128 << 20, "NanoCpus": 10**9, "AutoRemove": False}
    out = resources.merge_update(hc, {"Memory": 32 << 20, "CpuShares": 512, "CpusetCpus": "0", "PidsLimit": 9,
                                      "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                                      "CpuQuota": 0, "BlkioWeight": 0})
    assert out["Memory"] == 32 << 20 and out["MemorySwap"] == 128 << 20 and out["NanoCpus"] == 10**9
    assert out["CpuShares"] == 512 and out["CpusetCpus"] == "0" and out["PidsLimit"] == 9
    assert out["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert "BlkioWeight" not in out
    unchanged = resources.merge_update(hc, {"RestartPolicy": {"Name": "", "MaximumRetryCount": 0}})
    assert unchanged == hc
    cases = [
        ({"Memory": 256 << 20}, "Memory limit should be smaller than already set memoryswap limit"),
        ({"CpuPeriod": 50000}, "CPU Period cannot be updated as NanoCPUs has already been set"),
        ({"CpuQuota": 50000}, "CPU Quota cannot be updated as NanoCPUs has already been set"),
    ]
    for body, message in cases:
        with pytest.raises(Conflict, match=message):
            resources.merge_update(hc, body)
    with pytest.raises(Conflict, match="Nano CPUs cannot be updated as CPU Period has already been set"):
        resources.merge_update({"CpuPeriod": 100000}, {"NanoCpus": 5 * 10**8})
    with pytest.raises(Conflict, match="Restart policy cannot be updated because AutoRemove is enabled"):
        resources.merge_update({"AutoRemove": True}, {"RestartPolicy": {"Name": "always"}})


def test_cgroup_writes_like_runc_update() -> None:
    writes = resources.v1_writes({"NanoCpus": 5 * 10**8, "PidsLimit": -1, "CpuShares": 512})
    assert [(w.controller, w.file, w.value) for w in writes] == [
        ("cpu", "cpu.shares", "512"), ("cpu", "cpu.cfs_period_us", "100000"), ("cpu", "cpu.cfs_quota_us", "50000"),
        ("pids", "pids.max", "max")]
    grow = resources.v1_writes({"Memory": 512 << 20, "MemorySwap": 1 << 30}, current_limit=64 << 20)
    assert [w.file for w in grow] == ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    shrink = resources.v1_writes({"Memory": 32 << 20, "MemorySwap": 64 << 20}, current_limit=1 << 30)
    assert [w.file for w in shrink] == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    v2 = resources.v2_writes({"Memory": 64 << 20, "MemorySwap": 128 << 20, "NanoCpus": 2 * 10**9})
    assert [(w.file, w.value) for w in v2] == [("memory.max", str(64 << 20)), ("memory.swap.max", str(64 << 20)),
                                               ("cpu.max", "200000 100000")]


def test_apply_live_finds_the_v1_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cgroup"
    for ctrl in ("memory", "pids", "cpu,cpuacct"):
        (root / ctrl / "dockyard" / "c1").mkdir(parents=True)
    (root / "memory" / "dockyard" / "c1" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    proc = tmp_path / "cgroupfile"
    proc.write_text("9:pids:/dockyard/c1\n4:memory:/dockyard/c1\n2:cpu,cpuacct:/dockyard/c1\n1:name=systemd:/x\n"
                    "0::/\n")
    real_open = open

    def fake_open(path: str, *args: object, **kwargs: object) -> object:
        return real_open(proc if path == "/proc/42/cgroup" else path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", fake_open)
    resources.apply_live(42, {"Memory": 64 << 20, "PidsLimit": 7, "CpuShares": 100}, root=str(root))
    assert (root / "memory/dockyard/c1/memory.limit_in_bytes").read_text() == str(64 << 20)
    assert (root / "pids/dockyard/c1/pids.max").read_text() == "7"
    assert (root / "cpu,cpuacct/dockyard/c1/cpu.shares").read_text() == "100"

"""Differential runtime tests: each bundle runs under runc and dockyard-runtime, and the probe
inside the container must print the same observable state for both (issue 4, "Must show").

runc is the reference: its run must succeed and show what the bundle is about (``EXPECT``).
The dockyard-runtime half is skipped, with the reason, while the runtime cannot run a trivial
bundle yet or reports a feature as not implemented; any other difference fails.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from runtime_bundles import (
    RUNC,
    VARIANTS,
    ConsoleReceiver,
    Ctx,
    Result,
    Runtime,
    Variant,
    build_bundle,
    dockyard_has_command,
    dockyard_runtime_unavailable,
    looks_unimplemented,
    namespace_helper,
    new_id,
    normalise,
    ns_labels,
    write_config,
)

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.path.exists(RUNC), reason="runc (the reference runtime) is not installed"),
    pytest.mark.skipif(not os.path.exists("/bin/busybox"), reason="busybox-static is not installed"),
]

# What the reference run must show, so that a bundle that silently does nothing is noticed.
EXPECT: dict[str, list[str]] = {
    "default": ["CapEff: 0000000020000420", "NoNewPrivs: 1", "hostname: runc", "net net:new"],
    "docker_caps": ["CapBnd: 00000000a80425fb"],
    "caps_empty": ["CapBnd: 0000000000000000", "CapEff: 0000000000000000"],
    "caps_net_admin": ["CapBnd: 00000000a80435fb"],
    # a non-root execve keeps only what is ambient
    "caps_bounding_ne_effective": ["CapEff: 0000000000000020", "CapAmb: 0000000000000020",
                                   "CapBnd: 00000000a80425fb"],
    "caps_ambient_user": ["CapAmb: 0000000000000401", "Uid: 1000 1000 1000 1000"],
    "rlimits": ["open files                      (-n) 4096", "max user processes              (-u) 300"],
    "hostname": ["hostname: probe-host"],
    "user_env_cwd": ["Groups: 10 100", "pwd: /home/tester", "FOO=bar baz", "uid=1000(tester)"],
    "umask": ["umask: 0077"],
    "no_new_privs_false": ["NoNewPrivs: 0"],
    "oom_score_adj": ["oom_score_adj: 500"],
    "sysctls": ["net/ipv4/ip_forward: 1", "kernel/shmmax: 68719476736", "ping_group_range: 0 1000"],
    "tmpfs_mounts": ["/scratch rw,nosuid,nodev,noexec,relatime [ ] tmpfs rw,size=1024k,mode=1700",
                     "rootfs: writable"],
    "bind_mounts": ["rw: ok new", "ro: refused", "Permission denied", "from host"],
    "rootfs_rw": ["rootfs: writable"],
    "masked_readonly_paths": ["/proc/version ro,"],
    "no_masked_paths": ["/proc/keys: regular empty file"],
    "userns_maps": ["uid_map: 0 100000 65536", "user user:new"],
    "joined_namespaces": ["hostname: rdiff-helper", "net net:helper", "rdiffv0", "shm size 4096"],
    "host_net_ipc": ["net net:host", "ipc ipc:host"],
    "cgroupns": ["cgroup cgroup:new", "0::/\n"],
    "memory_limit": ["memory.limit_in_bytes: 67108864", "memory.soft_limit_in_bytes: 33554432",
                     "memory.memsw.limit_in_bytes: 100663296", "memory.swappiness: 10"],
    "pids_limit": ["pids/pids.max: 64"],
    "cpu_quota_shares": ["cpu.shares: 512", "cpu.cfs_quota_us: 50000"],
    "cpuset": ["cpuset.cpus: 0 "],
    "devices": ["/dev/fuse char 666 a:e5", "c 10:229 rw"],
    "seccomp_args": ["Seccomp: 2", "personality(0x8): Operation not permitted",
                     "Address family not supported by protocol", "No space left on device"],
    "seccomp_masked_eq_default_errno": ["Seccomp: 2", "Linux\nOperation not permitted"],
    "docker_like": ["hostname: 0123456789ab", "rootfs: writable"],
    "rootfs_propagation": ["/mnt/priv rw,relatime [ ] tmpfs"],
    "hooks": ["startContainer hooked a1 a2 \"id\":\"<CID>\""],
}


@dataclass
class Run:
    res: Result
    out: str
    hooks: list[str]


def normalised_hooks(log: Path, cid: str, bundle: Path) -> list[str]:
    """Hook log lines as `kind env args status id=ok bundle=ok pid=yes|no`, in call order."""
    if not log.exists():
        return []
    lines = []
    for line in log.read_text().splitlines():
        kind, var, a0, a1, raw = line.split(" ", 4)
        state: dict[str, Any] = json.loads(raw)
        # runc 1.1 reports "created" to poststart hooks where the spec reads "running"; only the
        # presence of a pid is compared there
        status = state.get("status") if kind != "poststart" else "-"
        lines.append(f"{kind} {var} {a0} {a1} status={status} id={'ok' if state.get('id') == cid else state.get('id')}"
                     f" bundle={'ok' if state.get('bundle') == str(bundle) else state.get('bundle')}"
                     f" pid={'yes' if state.get('pid') else 'no'}")
    return lines


def run_variant(rt_name: str, variant: Variant, tmp_path: Path, helper_pid: int | None) -> Run:
    base = tmp_path / rt_name
    base.mkdir()
    ctx = Ctx(tmp=base, token=uuid.uuid4().hex[:12], helper_pid=helper_pid, hooks_dir=base)
    try:
        bundle = build_bundle(base / "bundle", variant, ctx)
        rt = Runtime.get(rt_name, base / "state")
        cid = new_id()
        res = rt.run(bundle, cid)
    finally:
        ctx.remove()
    out = normalise(res.out, cid=cid, token=ctx.token, bundle=bundle, tmp=base, labels=ns_labels(helper_pid))
    return Run(res, out, normalised_hooks(base / "hooks.log", cid, bundle))


def diff(a: str, b: str) -> str:
    return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), "runc", "dockyard-runtime",
                                          lineterm="", n=1))


def skip_unless_dockyard() -> None:
    reason = dockyard_runtime_unavailable()
    if reason:
        pytest.skip(reason)


def compare(ref: Run, got: Run) -> None:
    if looks_unimplemented(got.res):
        pytest.skip(f"dockyard-runtime: not implemented yet: {got.res.err.strip()[-300:]}")
    assert got.res.rc == ref.res.rc, f"exit {got.res.rc} (runc: {ref.res.rc}); stderr:\n{got.res.err}"
    assert got.out == ref.out, "probe output differs:\n" + diff(ref.out, got.out)
    assert got.hooks == ref.hooks, "hooks differ:\n" + diff("\n".join(ref.hooks), "\n".join(got.hooks))


# Where dockyard-runtime still differs from runc. When this suite landed that was every bundle
# (/sys/fs/cgroup tmpfs mounted ro; the unified (v2) hierarchy's cgroup not joined; runc's default
# device rule `c 10:200 rwm` missing; the loopback link of a new network namespace left down; the
# exec fifo not openable by a mapped root); all of those are fixed. Strict: once dockyard-runtime
# matches runc the test XPASSes, which fails, and the entry must go.
DOCKYARD_DIFFERS = pytest.mark.xfail(
    strict=True, reason="dockyard-runtime still differs from runc here (see DOCKYARD_DIFFERS)")
KNOWN_DIFFERENT: set[str] = set()


def reference_run(name: str, variant: Variant, tmp_path: Path, helper: int | None) -> Run:
    ref = run_variant("runc", variant, tmp_path, helper)
    assert ref.res.rc == 0, f"runc failed on bundle {name}: {ref.res.err}"
    for want in EXPECT.get(name, []):
        assert want in ref.out, f"runc output for {name} lacks {want!r}:\n{ref.out}"
    if name == "hooks":
        assert [h.split()[0] for h in ref.hooks] == ["prestart", "createRuntime", "poststart", "poststop"]
    return ref


@pytest.mark.parametrize("name", list(VARIANTS))
def test_bundle_reference_runc(name: str, tmp_path: Path) -> None:
    """The bundle does under runc what it is meant to show (so the comparison means something)."""
    variant = VARIANTS[name]
    with ExitStack() as stack:
        helper = stack.enter_context(namespace_helper()) if variant.needs_helper else None
        reference_run(name, variant, tmp_path, helper)


@pytest.mark.parametrize("name", [pytest.param(n, marks=DOCKYARD_DIFFERS) if n in KNOWN_DIFFERENT else n
                                  for n in VARIANTS])
def test_bundle_same_as_runc(name: str, tmp_path: Path) -> None:
    skip_unless_dockyard()
    variant = VARIANTS[name]
    with ExitStack() as stack:
        helper = stack.enter_context(namespace_helper()) if variant.needs_helper else None
        ref = reference_run(name, variant, tmp_path, helper)
        got = run_variant("dockyard-runtime", variant, tmp_path, helper)
        compare(ref, got)


def test_variants_cover_enough() -> None:
    assert len(VARIANTS) >= 25


# ---------------------------------------------------------------------------------------------
# terminal through --console-socket


def run_with_terminal(rt_name: str, tmp_path: Path) -> Run:
    base = tmp_path / rt_name
    base.mkdir()
    ctx = Ctx(tmp=base, token=uuid.uuid4().hex[:12])
    bundle = build_bundle(base / "bundle", Variant("terminal", lambda s, c: None,
                                                   extra_probe="tty; stty size; stty -a | head -1"), ctx)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = True
    spec["process"]["consoleSize"] = {"height": 33, "width": 101}
    write_config(bundle, spec)
    rt = Runtime.get(rt_name, base / "state")
    cid = new_id()
    receiver = ConsoleReceiver(base / "console.sock")
    out = ""
    try:
        # with a terminal, runc takes --console-socket only together with --detach; the output
        # is read from the pty master until the container exits and the slave side closes
        res = detached(rt, bundle, cid, "--console-socket", str(receiver.path))
        if res.rc == 0:
            out = receiver.close().decode(errors="replace")
            rt.wait_stopped(cid)
    finally:
        rt.force_delete(cid)
        receiver.sock.close()
    res.out = out
    return Run(res, normalise(out, cid=cid, token=ctx.token, bundle=bundle, tmp=base, labels=ns_labels(None)), [])


def terminal_reference(tmp_path: Path) -> Run:
    ref = run_with_terminal("runc", tmp_path)
    assert ref.res.rc == 0, ref.res.err
    assert "/dev/pts/0" in ref.out and "33 101" in ref.out, ref.out
    assert "/dev/console char" in ref.out
    return ref


def test_terminal_console_socket_runc(tmp_path: Path) -> None:
    terminal_reference(tmp_path)


def test_terminal_console_socket_same_as_runc(tmp_path: Path) -> None:
    skip_unless_dockyard()
    ref = terminal_reference(tmp_path)
    compare(ref, run_with_terminal("dockyard-runtime", tmp_path))


# ---------------------------------------------------------------------------------------------
# exec into a running container


def detached(rt: Runtime, bundle: Path, cid: str, *extra: str) -> Result:
    """`run --detach` with the container's stdio on /dev/null (a pipe would stay open)."""
    with open(bundle.parent / f"{cid}.err", "w+") as err:
        p = subprocess.run(rt.cmd("run", "--detach", *extra, "--bundle", str(bundle), cid),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=30)
        err.seek(0)
        return Result(p.returncode, "", err.read())


# (options, args) of `exec [options] ID args...`
EXEC_FORMS: list[tuple[list[str], list[str]]] = [
    ([], ["sh", "/probe.sh"]),
    (["--env", "EXTRA=1", "--cwd", "/tmp", "--user", "1000:1000"], ["sh", "/probe.sh"]),
    (["--cap", "CAP_NET_ADMIN"], ["sh", "-c", "grep Cap /proc/self/status | tr -s '\\t' ' '; tr '\\0' ' ' </proc/1/cmdline"]),
    ([], ["sh", "-c", "echo to-stderr >&2; exit 3"]),
    ([], ["nonexistent-binary"]),
]


def exec_runs(rt_name: str, tmp_path: Path) -> list[Run]:
    base = tmp_path / rt_name
    base.mkdir()
    ctx = Ctx(tmp=base, token=uuid.uuid4().hex[:12])
    bundle = build_bundle(base / "bundle", VARIANTS["docker_caps"], ctx)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["args"] = ["sleep", "30"]
    write_config(bundle, spec)
    rt = Runtime.get(rt_name, base / "state")
    cid = new_id()
    runs = []
    try:
        started = detached(rt, bundle, cid)
        if started.rc != 0:
            return [Run(started, "", [])]
        for opts, args in EXEC_FORMS:
            res = rt.call("exec", *opts, cid, *args)
            # the wording of "executable not found" is the runtime's own; the exit code is not
            err = res.err if args != ["nonexistent-binary"] else ""
            runs.append(Run(Result(res.rc, res.out, res.err),
                            normalise(res.out + "\n--stderr--\n" + err, cid=cid, token=ctx.token,
                                      bundle=bundle, tmp=base, labels=ns_labels(None)), []))
    finally:
        rt.force_delete(cid)
    return runs


def exec_reference(tmp_path: Path) -> list[Run]:
    ref = exec_runs("runc", tmp_path)
    assert len(ref) == len(EXEC_FORMS), ref[0].res.err
    assert ref[0].res.rc == 0 and "pid pid:new" in ref[0].out
    assert "pwd: /tmp" in ref[1].out and "EXTRA=1" in ref[1].out and "uid=1000" in ref[1].out
    assert "CapBnd: 00000000a80435fb" in ref[2].out and "sleep" in ref[2].out
    assert ref[3].res.rc == 3 and "to-stderr" in ref[3].out
    assert ref[4].res.rc != 0
    return ref


def test_exec_into_running_container_runc(tmp_path: Path) -> None:
    exec_reference(tmp_path)


@pytest.fixture(scope="module")
def exec_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Run], list[Run]]:
    """The exec forms under runc and dockyard-runtime, run once for all the per-form comparisons."""
    skip_unless_dockyard()
    tmp_path = tmp_path_factory.mktemp("exec")
    ref = exec_reference(tmp_path)
    if not dockyard_has_command("exec"):
        pytest.skip("dockyard-runtime has no exec command yet")
    got = exec_runs("dockyard-runtime", tmp_path)
    assert len(got) == len(EXEC_FORMS), f"run --detach failed: {got[0].res.err}"
    return ref, got


# The exit code of an exec whose executable is missing: runc's `exec` exits 255 (its generic
# failure code); dockyard-runtime exits 127 (126 when not executable), Docker's codes, as issue 4's
# scope asks of it. A decision on one of the two is pending; the comparison stays as it is.
EXEC_DIFFERS = {4: "exit code of a missing executable: runc 255, dockyard-runtime 127 (Docker's, per issue 4)"}


@pytest.mark.parametrize("form", [
    pytest.param(i, marks=pytest.mark.xfail(strict=True, reason=EXEC_DIFFERS[i])) if i in EXEC_DIFFERS else i
    for i in range(len(EXEC_FORMS))])
def test_exec_into_running_container_same_as_runc(form: int, exec_pair: tuple[list[Run], list[Run]]) -> None:
    ref, got = exec_pair
    opts, args = EXEC_FORMS[form]
    r, g = ref[form], got[form]
    if looks_unimplemented(g.res):
        pytest.skip(f"dockyard-runtime exec {opts} {args}: not implemented yet: {g.res.err.strip()[-300:]}")
    assert g.res.rc == r.res.rc, f"exec {opts} {args}: exit {g.res.rc} (runc {r.res.rc}): {g.res.err}"
    assert g.out == r.out, f"exec {opts} {args} output differs:\n" + diff(r.out, g.out)


def test_state_reports_running_pid(tmp_path: Path) -> None:
    """`state` of a running container: status running, the init pid, the bundle (both runtimes)."""
    names = ["runc"]
    if dockyard_runtime_unavailable() is None:
        names.append("dockyard-runtime")
    for rt_name in names:
        base = tmp_path / rt_name
        base.mkdir()
        ctx = Ctx(tmp=base, token=uuid.uuid4().hex[:12])
        bundle = build_bundle(base / "bundle", VARIANTS["default"], ctx)
        spec = json.loads((bundle / "config.json").read_text())
        spec["process"]["args"] = ["sleep", "30"]
        write_config(bundle, spec)
        rt = Runtime.get(rt_name, base / "state")
        cid = new_id()
        try:
            started = detached(rt, bundle, cid)
            assert started.rc == 0, f"{rt_name}: {started.err}"
            st = rt.state(cid)
            assert st is not None
            assert st["status"] == "running" and st["id"] == cid and st["bundle"] == str(bundle), st
            assert Path(f"/proc/{st['pid']}/cmdline").read_bytes().startswith(b"sleep\0"), rt_name
            assert rt.call("kill", cid, "KILL").rc == 0
            rt.wait_stopped(cid)
            deadline = time.monotonic() + 5
            while (st := rt.state(cid)) and st["status"] != "stopped" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert st and st["status"] == "stopped", st
        finally:
            rt.force_delete(cid)
        assert rt.state(cid) is None
        assert not (base / "state" / cid).exists()
        shutil.rmtree(base / "bundle")

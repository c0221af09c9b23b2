"""Nothing leaks at full size: 200 sequential ``docker run --rm`` and 20 concurrent ``docker run -d``
then ``docker rm -f`` leave no mount, cgroup, container or shim process, veth, network namespace,
bundle or daemon file descriptor behind. Everything is looked up on the host, not asked of the
daemon."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from leak_checks import HostRoots, fd_targets, leftovers, shim_launchers
from polling import wait_for

from conftest import DaemonHandle, _private_network

pytestmark = pytest.mark.e2e

T = 120            # per CLI call: a hang fails instead of blocking the run
SEQUENTIAL = 200
CONCURRENT = 20
FD_SLACK = 5       # the daemon may keep a few more descriptors open (a pooled connection, a thread's)


def roots_of(d: DaemonHandle) -> HostRoots:
    args = _private_network(d.root)
    return HostRoots(d.root, d.data_root, d.exec_root, args[args.index("--bridge-name") + 1], d.process.pid)


def container_id(cidfile: Path) -> str:
    cid = cidfile.read_text().strip()
    assert len(cid) == 64, cid
    return cid


def run_concurrently(jobs: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(T * 2)
    assert not any(t.is_alive() for t in threads), "a docker call hung"
    return errors


def test_no_leaks_after_200_sequential_and_20_concurrent_runs(d: DaemonHandle, tmp_path: Path) -> None:
    roots = roots_of(d)
    pid = d.process.pid
    cids = tmp_path / "cids"
    cids.mkdir()

    # Warm up both paths so that the bridge, caches and pools exist before the fds are counted.
    d.docker("run", "--rm", "busybox", "true", timeout=T)
    d.docker("run", "-d", "--name", "warm", "busybox", "sleep", "1000", timeout=T)
    d.docker("rm", "-f", "warm", timeout=T)
    assert wait_for(lambda: not leftovers(roots, []), 10, interval=0.2), leftovers(roots, [])
    fds_before = fd_targets(pid)

    sequential_ids = []
    for i in range(SEQUENTIAL):
        cidfile = cids / f"seq{i}"
        proc = d.docker("run", "--rm", "--cidfile", str(cidfile), "busybox", "true", check=False, timeout=T)
        assert proc.returncode == 0, (i, proc.stderr)
        sequential_ids.append(container_id(cidfile))
    assert len(set(sequential_ids)) == SEQUENTIAL
    assert d.docker("ps", "-aq", timeout=T).stdout == ""
    assert wait_for(lambda: not leftovers(roots, sequential_ids), 10, interval=0.2), \
        f"after {SEQUENTIAL} sequential run --rm: {leftovers(roots, sequential_ids)}"

    def start(i: int) -> Callable[[], None]:
        def job() -> None:
            proc = d.docker("run", "-d", "--cidfile", str(cids / f"con{i}"), "--name", f"leak{i}", "busybox",
                            "sleep", "1000", check=False, timeout=T)
            assert proc.returncode == 0, (i, proc.stderr)
        return job

    errors = run_concurrently([start(i) for i in range(CONCURRENT)])
    assert not errors, errors
    concurrent_ids = [container_id(cids / f"con{i}") for i in range(CONCURRENT)]
    running = d.docker("ps", "-q", "--no-trunc", timeout=T).stdout.split()
    assert sorted(running) == sorted(concurrent_ids)
    # The checks do see live containers: each kind of leftover exists once per container now.
    while_running = leftovers(roots, concurrent_ids)
    for kind in ("shims", "veths", "netns", "bundles", "shim dirs", "container dirs"):
        assert len(while_running.get(kind, [])) == CONCURRENT, (kind, while_running)
    for kind in ("mounts", "container processes", "cgroups"):
        assert len(while_running.get(kind, [])) >= CONCURRENT, (kind, while_running)

    def remove(i: int) -> Callable[[], None]:
        def job() -> None:
            proc = d.docker("rm", "-f", f"leak{i}", check=False, timeout=T)
            assert proc.returncode == 0, (i, proc.stderr)
        return job

    errors = run_concurrently([remove(i) for i in range(CONCURRENT)])
    assert not errors, errors
    assert d.docker("ps", "-aq", timeout=T).stdout == ""

    everything = sequential_ids + concurrent_ids
    assert wait_for(lambda: not leftovers(roots, everything), 15, interval=0.2), \
        f"after {CONCURRENT} concurrent run -d + rm -f: {leftovers(roots, everything)}"
    assert wait_for(lambda: len(fd_targets(pid)) <= len(fds_before) + FD_SLACK, 10, interval=0.2), \
        _fd_report(fds_before, fd_targets(pid))
    assert len(shim_launchers(roots.root, pid)) <= 1, shim_launchers(roots.root, pid)


def _fd_report(before: list[str], after: list[str]) -> str:
    added = list(after)
    for target in before:
        if target in added:
            added.remove(target)
    return f"daemon fds {len(before)} → {len(after)}; new: {sorted(added)}"

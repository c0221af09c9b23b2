"""Joining a cgroup without a migration: ``enter`` (v1 per thread) and ``fork_into`` (clone3 into the
unified hierarchy), with the migration fallback for kernels without clone3 (root only)."""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator

import pytest

from dockyard.runtime import cgroups
from dockyard.runtime.cgroups import Cgroup, open_cgroup
from dockyard.sys import linux

pytestmark = pytest.mark.root


@pytest.fixture
def cgroup() -> Iterator[Cgroup]:
    cg = open_cgroup(f"/dockyard-test/{uuid.uuid4().hex[:12]}")
    cg.create()
    yield cg
    cg.destroy()
    for path in cg.paths.values():
        parent = os.path.dirname(path)
        try:
            os.rmdir(parent)
        except OSError:
            pass  # another test's cgroup is still there


def _membership_of_child(cg: Cgroup, *, unified_by_clone: bool) -> dict[str, str]:
    """Fork a child that enters ``cg`` the way the runtime's intermediate process does, forks
    again, and reports the grandchild's /proc/self/cgroup lines through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            fd = cg.enter(unified_by_clone=unified_by_clone)
            grandchild = cgroups.fork_into(fd)
            if grandchild == 0:
                with open("/proc/self/cgroup", "rb") as f:
                    os.write(w, f.read())
                os._exit(0)
            _, status = os.waitpid(grandchild, 0)
            code = os.waitstatus_to_exitcode(status)
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    lines = b"".join(chunks).decode().splitlines()
    # "ID:controllers:path" -> controllers (or "" for the unified hierarchy): path
    return {line.split(":", 2)[1]: line.split(":", 2)[2] for line in lines}


@pytest.mark.parametrize("unified_by_clone", [True, False])
def test_child_is_in_every_hierarchy(cgroup: Cgroup, unified_by_clone: bool) -> None:
    membership = _membership_of_child(cgroup, unified_by_clone=unified_by_clone)
    wanted = "/dockyard-test/" + cgroup.paths[next(iter(cgroup.paths))].split("/dockyard-test/", 1)[1]
    assert len(membership) == len(cgroup.paths), membership
    for controllers, path in membership.items():
        assert path == wanted, f"{controllers or 'unified'}: {path} != {wanted}"


def test_fallback_migrates_when_clone3_is_missing(cgroup: Cgroup, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_clone3(_fd: int) -> int:
        raise OSError(errno.ENOSYS, "clone3: Function not implemented")

    monkeypatch.setattr(linux, "fork_into_cgroup", no_clone3)
    membership = _membership_of_child(cgroup, unified_by_clone=True)
    rel = cgroup.paths[next(iter(cgroup.paths))].split("/dockyard-test/", 1)[1]
    assert set(membership.values()) == {f"/dockyard-test/{rel}"}

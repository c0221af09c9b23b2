"""Test tiers (see TESTING.md): unit (no marker), ``root``, ``e2e``, ``slow``.

Root and e2e tests run only as root, and after each of them a fixture checks that nothing leaked:
no mounts under the test's temporary roots and no process still running from them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from leak_checks import mount_points_under, processes_mentioning

IS_ROOT = os.geteuid() == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_root = pytest.mark.skip(reason="needs root (namespaces, overlayfs, mounts)")
    for item in items:
        if not IS_ROOT and (item.get_closest_marker("root") or item.get_closest_marker("e2e")):
            item.add_marker(skip_root)


@pytest.fixture(autouse=True)
def leak_check(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    """Fail a root/e2e test that leaves mounts or processes behind under its tmp_path."""
    marked = request.node.get_closest_marker("root") or request.node.get_closest_marker("e2e")
    yield
    if not marked or not IS_ROOT:
        return
    root = str(tmp_path)
    deadline = time.monotonic() + 5
    while True:
        leaked_mounts = mount_points_under(root)
        leaked_procs = processes_mentioning(root)
        if not (leaked_mounts or leaked_procs) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # Clean up so one leak does not cascade into later tests, then report it.
    for point in sorted(leaked_mounts, key=len, reverse=True):
        os.system(f"umount -l '{point}' 2>/dev/null")
    for pid, _ in leaked_procs:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    assert not leaked_mounts, f"leaked mounts: {leaked_mounts}"
    assert not leaked_procs, f"leaked processes: {leaked_procs}"

"""Fixtures for the shim's root tests: runtimes, a busybox rootfs, and shims that always get cleaned up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from busybox_rootfs import make_rootfs
from shim_helpers import DOCKYARD_RUNTIME, RUNC, Shims, runtime_works


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rootfs(tmp_path_factory.mktemp("shim-rootfs") / "rootfs")


@pytest.fixture(params=["runc", "dockyard-runtime"])
def runtime(request: pytest.FixtureRequest, rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    binary = RUNC if request.param == "runc" else DOCKYARD_RUNTIME
    if not os.path.exists(binary):
        pytest.skip(f"{binary} is not installed")
    if request.param != "runc" and not runtime_works(binary, rootfs, tmp_path_factory.mktemp("probe")):
        pytest.skip("dockyard-runtime cannot run the trivial bundle here")
    return binary


@pytest.fixture
def shims(tmp_path: Path, rootfs: Path, runtime: str) -> Iterator[Shims]:
    manager = Shims(tmp_path, rootfs, runtime)
    yield manager
    manager.cleanup()


@pytest.fixture
def runc_shims(tmp_path: Path, rootfs: Path) -> Iterator[Shims]:
    manager = Shims(tmp_path, rootfs, RUNC)
    yield manager
    manager.cleanup()

"""Which init binary ``--init`` binds into containers: only a static one works in every image."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dockyard.engine.spec.hostprobe import find_init, is_static_elf

STATIC = "/bin/busybox"  # Debian's busybox-static
DYNAMIC = os.path.realpath(shutil.which("sh") or "/bin/sh")


@pytest.mark.skipif(not os.path.exists(STATIC), reason="busybox-static not installed")
def test_static_and_dynamic_executables_are_told_apart(tmp_path: Path) -> None:
    assert is_static_elf(STATIC)
    assert not is_static_elf(DYNAMIC)
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    assert not is_static_elf(str(script)) and not is_static_elf(str(tmp_path / "missing"))


@pytest.mark.skipif(not os.path.exists(STATIC), reason="busybox-static not installed")
def test_a_dynamic_tini_is_passed_over_for_a_static_one(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "tini").symlink_to(DYNAMIC)
    assert find_init(str(first)) is None
    (second / "tini-static").symlink_to(STATIC)
    assert find_init(f"{first}:{second}") == str(second / "tini-static")

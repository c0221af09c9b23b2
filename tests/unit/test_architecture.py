"""Architecture rules of DESIGN.md §2, checked on every test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_lower_layers_never_import_higher_ones() -> None:
    """import-linter's contracts in pyproject.toml: layers, and the client's HTTP-only rule."""
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_only_sys_uses_ctypes_and_only_metadata_uses_sqlite() -> None:
    offenders = []
    for path in (REPO / "src" / "dockyard").rglob("*.py"):
        text = path.read_text()
        rel = path.relative_to(REPO / "src" / "dockyard").as_posix()
        if ("import ctypes" in text or "from ctypes" in text) and not rel.startswith("sys/"):
            offenders.append(rel)
        if "import sqlite3" in text and rel != "store/metadata.py":
            offenders.append(rel)
    assert offenders == []


def test_cli_start_up_does_not_load_the_engine_yaml_or_rich(tmp_path: Path) -> None:
    """``dockyard images`` stays light: run it (no daemon there) and list what it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dockyard.cli.main", "-H", f"unix://{tmp_path}/none.sock",
         "images"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1  # no daemon answers there
    modules = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert "dockyard.client" in modules
    heavy = [m for m in modules if m.split(".")[0] in ("yaml", "rich")
             or m.startswith(("dockyard.engine", "dockyard.image", "dockyard.store", "dockyard.api"))]
    assert heavy == []

"""What the shim launcher imports, every shim it forks carries: keep the heavy modules out.

The launcher runs under ``-S -I`` (see client.launcher_command); these modules would each add
hundreds of kilobytes to every running container's shim (typing alone 1.6 MB).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dockyard
from dockyard.shim.client import launcher_command

HEAVY = {"typing", "subprocess", "argparse", "threading", "re", "json", "enum", "socket", "selectors", "signal",
         "dataclasses", "pathlib", "contextlib", "inspect", "logging", "tempfile", "shutil", "asyncio"}


def test_warm_launcher_leaves_heavy_modules_out() -> None:
    src = str(Path(dockyard.__file__).resolve().parents[1])
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from dockyard.shim import launcher; launcher.warm_up(); print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-I", "-c", code, src], capture_output=True, text=True, check=True)
    imported = set(out.stdout.split())
    assert {"dockyard.runtime.executor", "dockyard.shim.supervisor", "dockyard.shim.main"} <= imported
    assert not imported & HEAVY, sorted(imported & HEAVY)


def test_launcher_command_runs_without_site_and_finds_the_package() -> None:
    command = launcher_command()
    assert command[:3] == [sys.executable, "-S", "-I"]
    code = command[4].replace("from dockyard.shim.main import main; sys.exit(main())",
                              "import dockyard.shim.main; print('site' in sys.modules, sys.argv[0])")
    out = subprocess.run([*command[:4], code], capture_output=True, text=True, check=True)
    site_loaded, argv0 = out.stdout.split()
    assert site_loaded == "False"
    assert argv0.endswith("dockyard-shim")

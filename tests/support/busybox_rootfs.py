"""A busybox root filesystem in a directory, for runtime and shim tests (no image needed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def make_rootfs(path: Path) -> Path:
    """Debian's static busybox with its applet links, and a minimal /etc."""
    (path / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", path / "bin" / "busybox")
    listing = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True, check=True).stdout
    for applet in listing.split():
        target = path / applet
        if target.name == "busybox" or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to("/bin/busybox")
    for d in ("proc", "sys", "dev", "etc", "tmp", "root"):
        (path / d).mkdir(exist_ok=True)
    (path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
    (path / "etc" / "group").write_text("root:x:0:\n")
    return path

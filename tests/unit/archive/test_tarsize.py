"""A layer's size from its tar headers against the unpacked directory measured as dockerd does."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.archive.tarsize import TarSizer, tar_content_size
from dockyard.store.snapshots.copy import tree_usage


def make_tree(root: Path) -> None:
    (root / "d" / ("deep" * 30)).mkdir(parents=True)  # a path longer than the ustar name field
    (root / "d" / "f").write_bytes(b"x" * 1000)
    (root / "d" / ("deep" * 30) / ("n" * 120)).write_bytes(b"y" * 513)
    os.link(root / "d" / "f", root / "hard")  # counted once
    os.symlink("d/f", root / "short-link")
    os.symlink("/" + "t" * 150, root / "long-link")  # a target longer than the linkname field
    (root / "empty").write_bytes(b"")
    os.mkfifo(root / "fifo")


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_header_sum_is_the_unpacked_size(tmp_path: Path, fmt: int) -> None:
    root = tmp_path / "root"
    root.mkdir()
    make_tree(root)
    if fmt == tarfile.USTAR_FORMAT:  # ustar cannot hold the long names: a tree it can
        for p in sorted(root.rglob("*"), key=lambda p: -len(str(p))):
            if len(str(p.relative_to(root))) > 99 or p.is_symlink() and len(os.readlink(p)) > 99:
                p.unlink() if not p.is_dir() or p.is_symlink() else os.removedirs(p)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        tf.add(str(root), arcname=".")
    data = buf.getvalue()
    expected = tree_usage(str(root))[0]
    assert tar_content_size(io.BytesIO(data)) == expected
    for chunk in (1, 7, 512, 4096, len(data)):  # header and record boundaries anywhere in a chunk
        sizer = TarSizer()
        for i in range(0, len(data), chunk):
            sizer.feed(data[i:i + chunk])
        assert sizer.total == expected and sizer.done


def test_base256_size_and_truncation() -> None:
    info = tarfile.TarInfo("big")
    info.size = 9 * 1024**3  # beyond the 11-digit octal field: GNU writes base-256
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    sizer = TarSizer()
    sizer.feed(header)
    assert sizer.total == 9 * 1024**3 and not sizer.done
    assert tar_content_size(io.BytesIO(header)) == 9 * 1024**3  # the data is missing: what was seen

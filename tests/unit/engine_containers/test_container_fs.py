"""docker cp's view of a container from the host: paths resolve inside the container, through
symlinks and mounts, and never lead out of it."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.engine.containers.archive import ContainerFS, go_file_mode
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied


@pytest.fixture
def fs(tmp_path: Path) -> ContainerFS:
    root, vol, outside = tmp_path / "rootfs", tmp_path / "vol", tmp_path / "outside"
    for d in (root / "etc", root / "data", vol, outside):
        d.mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root\n")
    (outside / "secret").write_text("host secret\n")
    os.symlink("/etc", root / "etclink")
    os.symlink("../../../../outside", root / "escape")      # relative, climbing past /
    os.symlink(str(outside), root / "absolute")              # absolute: from the container's root
    os.symlink("/data/inside", vol / "link-in-volume")       # a volume's symlink: the container's path
    (vol / "v").write_text("in volume\n")
    return ContainerFS(str(root), [("/data", str(vol))])


def test_paths_resolve_inside_the_container(fs: ContainerFS, tmp_path: Path) -> None:
    assert fs.resolve("/etclink/passwd") == "/etc/passwd"
    assert fs.resolve("/escape/secret") == "/outside/secret"  # .. stops at the container's /
    assert fs.host_path(fs.resolve("/absolute/secret")).startswith(fs.rootfs)
    assert fs.host_path("/data/v") == str(tmp_path / "vol" / "v")  # through the mount
    assert fs.resolve("/data/link-in-volume") == "/data/inside"
    with pytest.raises(NotFound):
        fs.stat("/escape/secret", "c1")  # the host's file is not reached


def test_stat_as_the_docker_cli_reads_it(fs: ContainerFS) -> None:
    st = fs.stat("/etclink", "c1")
    assert (st.name, st.link_target, st.mode & (1 << 27)) == ("etclink", "/etc", 1 << 27)
    assert fs.stat("/etclink/", "c1").mode & (1 << 31)  # a trailing slash follows the link
    assert go_file_mode(os.stat("/tmp")) == (1 << 31) | (1 << 20) | 0o777  # a sticky directory
    with pytest.raises(InvalidArgument):
        fs.stat("/etc/passwd/", "c1")
    with pytest.raises(NotFound) as info:
        fs.stat("/nope", "c1")
    assert str(info.value) == "Could not find the file /nope in container c1"


def tar_of(*files: tuple[str, bytes]) -> io.BytesIO:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


def test_read_and_write_tars(fs: ContainerFS, tmp_path: Path) -> None:
    _, chunks = fs.read_tar("/data", "c1")
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tf:
        assert sorted(tf.getnames()) == ["data", "data/link-in-volume", "data/v"]
    fs.write_tar("/etclink", "c1", tar_of(("new.txt", b"x"), (".wh.kept", b"y")), copy_owner=False,
                 no_overwrite_dir_non_dir=True)
    etc = Path(fs.rootfs) / "etc"
    assert (etc / "new.txt").read_bytes() == b"x" and (etc / ".wh.kept").read_bytes() == b"y"
    assert (etc / "passwd").exists()  # ".wh." is a plain name here, not a whiteout
    with pytest.raises(InvalidArgument):
        fs.write_tar("/etc", "c1", tar_of(("../../up.txt", b"z")), copy_owner=False, no_overwrite_dir_non_dir=True)
    assert not (tmp_path / "up.txt").exists() and not (Path(fs.rootfs) / "up.txt").exists()
    replace = io.BytesIO()
    with tarfile.open(fileobj=replace, mode="w") as tf:
        info = tarfile.TarInfo("etc")  # a file where a directory is
        tf.addfile(info, io.BytesIO(b""))
    replace.seek(0)
    with pytest.raises(InvalidArgument) as refused:
        fs.write_tar("/", "c1", replace, copy_owner=False, no_overwrite_dir_non_dir=True)
    assert str(refused.value) == 'cannot overwrite directory "/etc" with non-directory "/"'
    with pytest.raises(InvalidArgument):
        fs.write_tar("/etc/passwd", "c1", io.BytesIO(), copy_owner=False, no_overwrite_dir_non_dir=True)


def test_read_only_mounts_and_rootfs_refuse_copies(tmp_path: Path) -> None:
    root, vol = tmp_path / "rootfs", tmp_path / "vol"
    (root / "etc").mkdir(parents=True)
    vol.mkdir()
    ro = ContainerFS(str(root), [("/data", str(vol))], read_only=["/data"])
    with pytest.raises(PermissionDenied) as info:
        ro.write_tar("/data", "c1", tar_of(("x", b"x")), copy_owner=False, no_overwrite_dir_non_dir=True)
    assert str(info.value) == "mounted volume is marked read-only" and not (vol / "x").exists()
    locked = ContainerFS(str(root), [("/data", str(vol))], rootfs_read_only=True)
    with pytest.raises(PermissionDenied) as info:
        locked.write_tar("/etc", "c1", tar_of(("x", b"x")), copy_owner=False, no_overwrite_dir_non_dir=True)
    assert str(info.value) == "container rootfs is marked read-only"
    locked.write_tar("/data", "c1", tar_of(("x", b"x")), copy_owner=False, no_overwrite_dir_non_dir=True)
    assert (vol / "x").read_bytes() == b"x"  # a writable volume under a read-only root filesystem

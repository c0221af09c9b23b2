"""The docker CLI v28 against dockyardd: the image commands users type, with Docker's output."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from busybox_image import busybox_archive, busybox_rootfs_tar

from conftest import DaemonHandle, start_daemon

pytestmark = pytest.mark.e2e

FULL_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
SHORT_ID = re.compile(r"^[0-9a-f]{12}$")


def load(daemon: DaemonHandle, archive: Path) -> str:
    return daemon.docker("load", "-i", str(archive)).stdout


def image_rows(daemon: DaemonHandle, *args: str) -> list[dict[str, str]]:
    out = daemon.docker("images", *args, "--format", "{{json .}}").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def refs(daemon: DaemonHandle, *args: str) -> set[str]:
    return {f"{r['Repository']}:{r['Tag']}" for r in image_rows(daemon, *args)}


def image_id(daemon: DaemonHandle, ref: str) -> str:
    return daemon.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()


def store_state(daemon: DaemonHandle) -> str:
    return daemon.docker("images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").stdout


def corrupt_layer_archive(src: Path, dest: Path) -> None:
    """A docker-archive whose only layer was swapped for another tar: its diff ID no longer matches."""
    with tarfile.open(src) as tin, tarfile.open(dest, "w") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name.endswith("layer.tar"):
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode="w") as layer:
                    payload = b"not the layer the config promised\n"
                    info = tarfile.TarInfo("evil")
                    info.size = len(payload)
                    layer.addfile(info, io.BytesIO(payload))
                data = buf.getvalue()
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data) if data is not None else None)


# --- system -------------------------------------------------------------------------------------


def test_version_shows_server_api_1_44(daemon: DaemonHandle) -> None:
    proc = daemon.docker("version")
    assert proc.returncode == 0
    server = proc.stdout.split("Server:", 1)[1]
    assert re.search(r"API version:\s+1\.44\b", server), server
    assert "minimum version 1.24" in server
    assert re.search(r"OS/Arch:\s+linux/", server)
    fmt = daemon.docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip()
    assert fmt == "1.44"


def test_info_runs_and_counts_images(daemon: DaemonHandle) -> None:
    out = daemon.docker("info").stdout
    assert re.search(r"^\s*Images: 0$", out, re.M), out
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    out = daemon.docker("info").stdout
    assert re.search(r"^\s*Images: 1$", out, re.M), out
    assert "Server Version:" in out
    assert "Swarm: inactive" in out
    assert str(daemon.data_root) in out
    assert daemon.docker("info", "--format", "{{.Images}}").stdout.strip() == "1"


def test_system_df(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    out = daemon.docker("system", "df").stdout
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    images = next(line for line in lines if line.startswith("Images"))
    assert re.split(r"\s{2,}", images)[1:3] == ["1", "0"]
    assert "MB" in images
    verbose = daemon.docker("system", "df", "-v").stdout
    assert "Images space usage:" in verbose
    assert "busybox" in verbose


# --- load ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_load_with_multiple_tags(daemon: DaemonHandle, fmt: str) -> None:
    archive = busybox_archive(fmt=fmt, tags=("busybox:latest", "busybox:1.36", "example.com/team/bb:v1"))
    out = load(daemon, archive)
    for tag in ("busybox:latest", "busybox:1.36", "example.com/team/bb:v1"):
        assert f"Loaded image: {tag}" in out, out
    assert refs(daemon) == {"busybox:latest", "busybox:1.36", "example.com/team/bb:v1"}
    ids = {r["ID"] for r in image_rows(daemon)}
    assert len(ids) == 1


def test_load_oci_and_docker_archive_give_same_image_id(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(fmt="docker-archive", tags=("a:1",)))
    load(daemon, busybox_archive(fmt="oci-archive", tags=("b:1",)))
    assert image_id(daemon, "a:1") == image_id(daemon, "b:1")


def test_load_from_stdin_and_untagged(daemon: DaemonHandle) -> None:
    data = busybox_archive(tags=()).read_bytes()
    proc = subprocess.run(["/usr/local/bin/docker", "load"], env=daemon.env(), input=data,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert re.search(rb"Loaded image ID: sha256:[0-9a-f]{64}", proc.stdout), proc.stdout
    rows = image_rows(daemon)
    assert [(r["Repository"], r["Tag"]) for r in rows] == [("<none>", "<none>")]


def test_load_three_layer_image(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("three:latest",), layers=3))
    info = json.loads(daemon.docker("image", "inspect", "three").stdout)[0]
    layers = info["RootFS"]["Layers"]
    assert len(layers) == 3 and len(set(layers)) == 3
    assert all(FULL_ID.match(d) for d in layers)
    history = daemon.docker("history", "-q", "three").stdout.split()
    assert len(history) >= 3


def test_load_truncated_archive_fails_and_leaves_store_unchanged(daemon: DaemonHandle, tmp_path: Path) -> None:
    load(daemon, busybox_archive(tags=("keep:me",)))
    before = store_state(daemon)
    for fmt in ("docker-archive", "oci-archive"):
        full = busybox_archive(fmt=fmt, tags=("cut:half",), layers=2).read_bytes()
        cut = tmp_path / f"cut-{fmt}.tar"
        cut.write_bytes(full[: len(full) // 2])
        proc = daemon.docker("load", "-i", str(cut), check=False)
        assert proc.returncode == 1, proc
        assert "Error response from daemon" in proc.stderr
        assert re.search(r"unexpected end|truncated|invalid archive|EOF", proc.stderr, re.I), proc.stderr
        assert "Loaded image" not in proc.stdout
        assert store_state(daemon) == before
    assert daemon.docker("image", "inspect", "cut:half", check=False).returncode == 1


def test_load_corrupt_layer_reports_digest_and_leaves_store_unchanged(daemon: DaemonHandle,
                                                                      tmp_path: Path) -> None:
    load(daemon, busybox_archive(tags=("keep:me",), layers=3))
    before = store_state(daemon)
    bad = tmp_path / "corrupt.tar"
    corrupt_layer_archive(busybox_archive(tags=("busybox:latest",)), bad)
    proc = daemon.docker("load", "-i", str(bad), check=False)
    assert proc.returncode == 1
    assert re.search(r"sha256:[0-9a-f]{64}", proc.stderr), proc.stderr
    assert "mismatch" in proc.stderr.lower() or "digest" in proc.stderr.lower()
    assert store_state(daemon) == before
    assert daemon.docker("image", "inspect", "busybox", check=False).returncode == 1


def test_load_garbage_fails(daemon: DaemonHandle, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 400)
    proc = daemon.docker("load", "-i", str(garbage), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip(), "a failed load must say why"
    assert image_rows(daemon, "-a") == []
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    proc = daemon.docker("load", "-i", str(empty), check=False)
    assert proc.returncode == 1
    assert image_rows(daemon, "-a") == []


# --- images -------------------------------------------------------------------------------------


def test_images_table_columns_and_flags(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest", "busybox:1.36")))
    out = daemon.docker("images").stdout.splitlines()
    assert re.split(r"\s{2,}", out[0].strip()) == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    assert len(out) == 3
    for line in out[1:]:
        cols = re.split(r"\s{2,}", line.strip())
        assert cols[0] == "busybox" and cols[1] in ("latest", "1.36")
        assert SHORT_ID.match(cols[2])
        assert cols[3].endswith("ago")
        assert re.match(r"^[\d.]+[kM]?B$", cols[4])
    quiet = daemon.docker("images", "-q").stdout.split()
    assert len(quiet) == 2 and all(SHORT_ID.match(q) for q in quiet) and len(set(quiet)) == 1
    full = image_id(daemon, "busybox")
    assert set(daemon.docker("images", "-q", "--no-trunc").stdout.split()) == {full}
    no_trunc = daemon.docker("images", "--no-trunc").stdout
    assert full in no_trunc
    digests = daemon.docker("images", "--digests").stdout.splitlines()
    assert re.split(r"\s{2,}", digests[0].strip()) == ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED",
                                                        "SIZE"]
    fmt = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.splitlines()
    assert sorted(fmt) == sorted([f"busybox:latest {full[7:19]}", f"busybox:1.36 {full[7:19]}"])


def test_images_by_reference_lists_only_matching_tags(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest", "busybox:1.36")))
    assert refs(daemon, "busybox:1.36") == {"busybox:1.36"}
    assert refs(daemon, "--filter", "reference=busybox:latest") == {"busybox:latest"}


def test_images_all_and_dangling_filters(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=()))
    load(daemon, busybox_archive(tags=("three:latest",), layers=3))
    dangling = image_rows(daemon, "--filter", "dangling=true")
    assert [(r["Repository"], r["Tag"]) for r in dangling] == [("<none>", "<none>")]
    assert refs(daemon, "--filter", "dangling=false") == {"three:latest"}
    assert len(image_rows(daemon, "-a")) == 2
    assert len(daemon.docker("images", "-a", "-q").stdout.split()) == 2


def test_images_reference_label_before_since_filters(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    load(daemon, busybox_archive(tags=("other:1",), layers=2))
    rootfs = busybox_rootfs_tar()
    daemon.docker("import", "--change", "LABEL a=b", str(rootfs), "labelled:1")
    time.sleep(1.1)  # Created has second resolution in listings
    daemon.docker("import", str(rootfs), "newest:1")
    assert refs(daemon, "--filter", "reference=busy*") == {"busybox:latest"}
    assert refs(daemon, "--filter", "reference=*:1") == {"other:1", "labelled:1", "newest:1"}
    assert refs(daemon, "--filter", "label=a=b") == {"labelled:1"}
    assert refs(daemon, "--filter", "label=a") == {"labelled:1"}
    assert refs(daemon, "--filter", "label=a=c") == set()
    assert refs(daemon, "--filter", "since=labelled:1") == {"newest:1"}
    before = refs(daemon, "--filter", "before=newest:1")
    assert "newest:1" not in before and "labelled:1" in before
    assert refs(daemon, "--filter", "before=labelled:1") == {"busybox:latest", "other:1"}
    bad = daemon.docker("images", "--filter", "bogus=1", check=False)
    assert bad.returncode != 0 and "bogus" in bad.stderr


def test_tag_and_listing(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    full = image_id(daemon, "busybox")
    daemon.docker("tag", "busybox", "myrepo/bb:v2")
    daemon.docker("tag", full[7:19], "byid:1")
    daemon.docker("tag", "busybox:latest", "localhost:5000/x/y")
    assert refs(daemon) == {"busybox:latest", "myrepo/bb:v2", "byid:1", "localhost:5000/x/y:latest"}
    assert {r["ID"] for r in image_rows(daemon)} == {full[7:19]}
    tags = json.loads(daemon.docker("image", "inspect", "-f", "{{json .RepoTags}}", "busybox").stdout)
    assert set(tags) == {"busybox:latest", "myrepo/bb:v2", "byid:1", "localhost:5000/x/y:latest"}
    missing = daemon.docker("tag", "nope", "x:y", check=False)
    assert missing.returncode == 1 and "No such image: nope:latest" in missing.stderr


def test_tag_invalid_reference(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    proc = daemon.docker("tag", "busybox", "Upper/Case", check=False)
    assert proc.returncode in (1, 125)
    assert "invalid reference format" in proc.stderr
    assert "must be lowercase" in proc.stderr
    proc = daemon.docker("tag", "busybox", "bad::tag", check=False)
    assert proc.returncode in (1, 125) and "invalid reference format" in proc.stderr
    assert refs(daemon) == {"busybox:latest"}


def test_image_inspect(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest", "busybox:1.36"), layers=2))
    info = json.loads(daemon.docker("image", "inspect", "busybox").stdout)
    assert isinstance(info, list) and len(info) == 1
    img = info[0]
    assert FULL_ID.match(img["Id"])
    assert sorted(img["RepoTags"]) == ["busybox:1.36", "busybox:latest"]
    assert img["Config"]["Cmd"] == ["sh"]
    assert len(img["RootFS"]["Layers"]) == 2 and img["RootFS"]["Type"] == "layers"
    assert img["Architecture"] == "amd64"
    assert img["Os"] == "linux"
    assert isinstance(img["Size"], int) and img["Size"] > 1_000_000
    assert daemon.docker("image", "inspect", "-f", "{{.Id}}", "busybox").stdout.strip() == img["Id"]
    by_prefix = json.loads(daemon.docker("image", "inspect", img["Id"][7:19]).stdout)[0]
    assert by_prefix["Id"] == img["Id"]
    both = json.loads(daemon.docker("inspect", "--type", "image", "busybox:1.36", img["Id"]).stdout)
    assert [b["Id"] for b in both] == [img["Id"], img["Id"]]


def test_image_inspect_missing(daemon: DaemonHandle) -> None:
    proc = daemon.docker("image", "inspect", "nope", check=False)
    assert proc.returncode == 1
    assert "No such image" in proc.stderr and "nope" in proc.stderr


def test_history(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("three:latest",), layers=3))
    out = daemon.docker("history", "three").stdout.splitlines()
    assert re.split(r"\s{2,}", out[0].strip()) == ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    rows = out[1:]
    assert len(rows) >= 3
    full = image_id(daemon, "three")
    assert rows[0].startswith(full[7:19])
    assert all(r.startswith("<missing>") for r in rows[1:])
    quiet = daemon.docker("history", "-q", "three").stdout.split()
    assert quiet[0] == full[7:19] and len(quiet) == len(rows)
    no_trunc = daemon.docker("history", "--no-trunc", "-q", "three").stdout.split()
    assert no_trunc[0] == full
    no_trunc_table = daemon.docker("history", "--no-trunc", "three").stdout
    assert full in no_trunc_table
    fmt = daemon.docker("history", "--format", "{{json .}}", "three").stdout.splitlines()
    parsed = [json.loads(line) for line in fmt]
    assert {"ID", "CreatedBy", "Size", "Comment"} <= set(parsed[0])
    missing = daemon.docker("history", "nope", check=False)
    assert missing.returncode == 1 and "No such image" in missing.stderr


# --- save ---------------------------------------------------------------------------------------


def test_save_then_load_into_a_second_daemon(daemon: DaemonHandle, tmp_path: Path) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest", "busybox:1.36")))
    load(daemon, busybox_archive(tags=("three:latest",), layers=3))
    ids = {ref: image_id(daemon, ref) for ref in ("busybox:latest", "three:latest")}
    saved = tmp_path / "saved.tar"
    proc = daemon.docker("save", "-o", str(saved), "busybox:latest", "three")
    assert proc.returncode == 0 and proc.stdout == ""
    assert saved.stat().st_size > 2_000_000
    with tarfile.open(saved) as tar:
        names = set(tar.getnames())
    assert "manifest.json" in names
    sk = subprocess.run(["skopeo", "inspect", f"docker-archive:{saved}:busybox:latest"],
                        capture_output=True, text=True, timeout=60)
    assert sk.returncode == 0, sk.stderr
    assert json.loads(sk.stdout)["Architecture"] == "amd64"
    sk3 = subprocess.run(["skopeo", "inspect", f"docker-archive:{saved}:three:latest"],
                         capture_output=True, text=True, timeout=60)
    assert sk3.returncode == 0, sk3.stderr
    assert len(json.loads(sk3.stdout)["Layers"]) == 3
    second = start_daemon(tmp_path / "second")
    try:
        out = second.docker("load", "-i", str(saved)).stdout
        assert "Loaded image: busybox:latest" in out and "Loaded image: three:latest" in out
        for ref, want in ids.items():
            assert image_id(second, ref) == want
        # Only the named tag went into the archive.
        assert second.docker("image", "inspect", "busybox:1.36", check=False).returncode == 1
    finally:
        second.stop()


def test_save_to_stdout_and_missing(daemon: DaemonHandle, tmp_path: Path) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    proc = subprocess.run(["/usr/local/bin/docker", "save", "busybox"], env=daemon.env(),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == ["busybox:latest"]
    missing = daemon.docker("save", "-o", str(tmp_path / "x.tar"), "nope", check=False)
    assert missing.returncode == 1 and "nope" in missing.stderr


# --- rmi ----------------------------------------------------------------------------------------


def test_rmi_untag_then_delete(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest", "busybox:1.36")))
    full = image_id(daemon, "busybox")
    out = daemon.docker("rmi", "busybox:1.36").stdout
    assert out.strip() == "Untagged: busybox:1.36"
    assert refs(daemon) == {"busybox:latest"}
    out = daemon.docker("rmi", "busybox").stdout.splitlines()
    assert out[0] == "Untagged: busybox:latest"
    assert f"Deleted: {full}" in out
    assert image_rows(daemon, "-a") == []


def test_rmi_conflict_when_in_multiple_repositories(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    daemon.docker("tag", "busybox", "other/bb:v1")
    full = image_id(daemon, "busybox")
    proc = daemon.docker("rmi", full[7:19], check=False)
    assert proc.returncode == 1
    assert "must be forced" in proc.stderr
    assert "referenced in multiple repositories" in proc.stderr
    assert refs(daemon) == {"busybox:latest", "other/bb:v1"}
    out = daemon.docker("rmi", "-f", full[7:19]).stdout.splitlines()
    assert {"Untagged: busybox:latest", "Untagged: other/bb:v1", f"Deleted: {full}"} <= set(out)
    assert image_rows(daemon, "-a") == []


def test_rmi_same_repo_tags_by_id_deletes(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest", "busybox:1.36")))
    full = image_id(daemon, "busybox")
    out = daemon.docker("rmi", full).stdout.splitlines()
    assert {"Untagged: busybox:latest", "Untagged: busybox:1.36", f"Deleted: {full}"} <= set(out)
    assert image_rows(daemon, "-a") == []


def test_rmi_missing_and_no_prune(daemon: DaemonHandle) -> None:
    proc = daemon.docker("rmi", "nope", check=False)
    assert proc.returncode == 1
    assert "No such image: nope:latest" in proc.stderr
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    load(daemon, busybox_archive(tags=("three:latest",), layers=3))
    out = daemon.docker("rmi", "--no-prune", "three").stdout
    assert "Untagged: three:latest" in out and "Deleted: sha256:" in out
    assert refs(daemon) == {"busybox:latest"}
    # One missing name among several: the others are still removed, exit status 1.
    proc = daemon.docker("rmi", "nope", "busybox", check=False)
    assert proc.returncode == 1
    assert "Untagged: busybox:latest" in proc.stdout
    assert "No such image: nope:latest" in proc.stderr


def test_rmi_force_untags_everything_in_one_call(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    daemon.docker("tag", "busybox", "a/b:c")
    out = daemon.docker("rmi", "-f", "busybox").stdout
    # By name with -f: untags that name only; the image stays under its other name.
    assert "Untagged: busybox:latest" in out
    assert refs(daemon) == {"a/b:c"}


# --- prune --------------------------------------------------------------------------------------


def test_image_prune_only_dangling(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=()))
    load(daemon, busybox_archive(tags=("three:latest",), layers=3))
    out = daemon.docker("image", "prune", "-f").stdout
    assert "Deleted Images:" in out
    assert re.search(r"^deleted: sha256:[0-9a-f]{64}$", out, re.M)
    assert "Total reclaimed space:" in out
    assert refs(daemon, "-a") == {"three:latest"}
    again = daemon.docker("image", "prune", "-f").stdout
    assert again.strip() == "Total reclaimed space: 0B"


def test_image_prune_all(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest", "busybox:1.36")))
    load(daemon, busybox_archive(tags=("three:latest",), layers=3))
    out = daemon.docker("image", "prune", "-a", "-f").stdout
    assert "untagged: busybox:latest" in out and "untagged: three:latest" in out
    m = re.search(r"Total reclaimed space: ([\d.]+)([kM]?B)", out)
    assert m and float(m.group(1)) > 0 and m.group(2) == "MB", out
    assert image_rows(daemon, "-a") == []
    df = daemon.docker("system", "df").stdout
    images = next(line for line in df.splitlines() if line.startswith("Images"))
    assert re.split(r"\s{2,}", images)[1:4] == ["0", "0", "0B"]


# --- import -------------------------------------------------------------------------------------


def test_import_from_stdin_and_file(daemon: DaemonHandle) -> None:
    rootfs = busybox_rootfs_tar()
    run = subprocess.run(["/usr/local/bin/docker", "import", "--change", 'CMD ["sh"]', "-m", "from stdin", "-",
                          "imp:stdin"], env=daemon.env(), input=rootfs.read_bytes(), capture_output=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    stdin_id = run.stdout.decode().strip()
    assert FULL_ID.match(stdin_id)
    file_id = daemon.docker("import", "-m", "from file", "--change", "ENV A=1", str(rootfs),
                            "imp:file").stdout.strip()
    assert FULL_ID.match(file_id) and file_id != stdin_id
    img = json.loads(daemon.docker("image", "inspect", "imp:stdin").stdout)[0]
    assert img["Id"] == stdin_id
    assert img["Config"]["Cmd"] == ["sh"]
    assert len(img["RootFS"]["Layers"]) == 1
    assert img["Os"] == "linux"
    env = json.loads(daemon.docker("image", "inspect", "-f", "{{json .Config.Env}}", "imp:file").stdout)
    assert "A=1" in env
    hist = daemon.docker("history", "--format", "{{.Comment}}", "imp:stdin").stdout.splitlines()
    assert hist == ["from stdin"]
    hist = daemon.docker("history", "imp:file").stdout
    assert "from file" in hist
    # Same layer content: both images share one layer.
    layers = {json.loads(daemon.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", r).stdout)[0]
              for r in ("imp:stdin", "imp:file")}
    assert len(layers) == 1


def test_import_message_is_the_image_comment(daemon: DaemonHandle) -> None:
    daemon.docker("import", "-m", "hello comment", str(busybox_rootfs_tar()), "imp:c")
    assert daemon.docker("image", "inspect", "-f", "{{.Comment}}", "imp:c").stdout.strip() == "hello comment"


def test_import_untagged_and_bad_change(daemon: DaemonHandle) -> None:
    out = daemon.docker("import", str(busybox_rootfs_tar())).stdout.strip()
    assert FULL_ID.match(out)
    assert [(r["Repository"], r["Tag"]) for r in image_rows(daemon)] == [("<none>", "<none>")]
    bad = daemon.docker("import", "--change", "RUN echo hi", str(busybox_rootfs_tar()), "x:y", check=False)
    assert bad.returncode == 1
    assert "RUN" in bad.stderr or "not supported" in bad.stderr.lower() or "invalid" in bad.stderr.lower()
    assert daemon.docker("image", "inspect", "x:y", check=False).returncode == 1


# --- events -------------------------------------------------------------------------------------


def test_events_show_image_actions(daemon: DaemonHandle) -> None:
    since = str(int(time.time()) - 1)
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    daemon.docker("tag", "busybox", "ev:1")
    daemon.docker("rmi", "ev:1")
    imported = daemon.docker("import", str(busybox_rootfs_tar()), "imp:1").stdout.strip()
    daemon.docker("rmi", "busybox")
    time.sleep(1.1)
    until = str(int(time.time()) + 1)
    proc = daemon.docker("events", "--since", since, "--until", until, "--format", "{{json .}}", timeout=30)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    events = [e for e in events if e["Type"] == "image"]
    actions = [e["Action"] for e in events]
    for action in ("load", "tag", "untag", "import", "delete"):
        assert action in actions, actions
    assert actions.index("load") < actions.index("tag") < actions.index("import") < actions.index("delete")
    tag = next(e for e in events if e["Action"] == "tag")
    assert tag["Actor"]["Attributes"]["name"] == "ev:1"
    assert FULL_ID.match(tag["Actor"]["ID"])
    assert tag["status"] == "tag" and tag["id"] == tag["Actor"]["ID"]
    assert isinstance(tag["time"], int) and isinstance(tag["timeNano"], int)
    assert any(e["Action"] == "import" and e["Actor"]["ID"] == imported for e in events)
    filtered = daemon.docker("events", "--since", since, "--until", until, "--filter", "event=untag",
                             "--format", "{{.Action}} {{.Actor.Attributes.name}}", timeout=30).stdout.splitlines()
    assert filtered == ["untag ev:1", "untag busybox:latest"]


def test_image_subcommand_aliases_and_multiple_reference_filters(daemon: DaemonHandle) -> None:
    load(daemon, busybox_archive(tags=("busybox:latest", "busybox:1.36")))
    daemon.docker("image", "import", str(busybox_rootfs_tar()), "pyimp:1")
    daemon.docker("image", "tag", "busybox", "q:1")
    listed = daemon.docker("image", "ls", "--filter", "reference=busybox:latest", "--filter",
                           "reference=pyimp*", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(listed) == ["busybox:latest", "pyimp:1"]
    assert daemon.docker("image", "rm", "q:1").stdout.strip() == "Untagged: q:1"
    assert daemon.docker("image", "history", "-q", "busybox").stdout.split()[0] == image_id(daemon, "busybox")[7:19]
    bad = daemon.docker("images", "--filter", "dangling=maybe", check=False)
    assert bad.returncode == 1 and "Invalid filter 'dangling=maybe'" in bad.stderr
    missing = daemon.docker("images", "--filter", "before=nope", check=False)
    assert missing.returncode == 1 and "No such image: nope" in missing.stderr


def test_events_image_filter(daemon: DaemonHandle) -> None:
    since = str(int(time.time()) - 1)
    load(daemon, busybox_archive(tags=("busybox:latest",)))
    daemon.docker("tag", "busybox", "q:1")
    daemon.docker("tag", "busybox", "r:1")
    daemon.docker("rmi", "q:1")
    until = str(int(time.time()) + 1)
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", "type=image", "--filter",
                        "image=q:1", "--format", "{{.Action}} {{.Actor.Attributes.name}}", timeout=30).stdout
    assert out.splitlines() == ["tag q:1", "untag q:1"]
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", "type=container",
                        "--format", "{{json .}}", timeout=30).stdout
    assert out.strip() == ""


def test_daemon_events_carry_the_engine_id(daemon: DaemonHandle) -> None:
    engine_id = daemon.docker("info", "--format", "{{.ID}}").stdout.strip()
    out = daemon.docker("events", "--since", "0", "--until", str(int(time.time()) + 1), "--filter",
                        "type=daemon", "--format", "{{json .}}", timeout=30).stdout
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert all(e["Actor"]["ID"] == engine_id for e in events), events

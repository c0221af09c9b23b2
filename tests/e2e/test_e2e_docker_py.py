"""docker-py 7 (the Python SDK) against dockyardd: the image and system flows of its own test suite."""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from busybox_image import busybox_archive, busybox_rootfs_tar

from conftest import DaemonHandle, start_daemon

pytestmark = pytest.mark.e2e

FULL_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


@pytest.fixture
def client(daemon: DaemonHandle) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, timeout=60)
    try:
        yield c
    finally:
        c.close()


def load(client: docker.DockerClient, archive: Path) -> list[docker.models.images.Image]:
    return list(client.images.load(archive.read_bytes()))


def all_tags(client: docker.DockerClient, **kwargs: object) -> set[str]:
    return {t for img in client.images.list(**kwargs) for t in img.tags}


def test_version_ping_info(client: docker.DockerClient) -> None:
    version = client.version()
    assert version["ApiVersion"] == "1.44"
    assert version["MinAPIVersion"] == "1.24"
    assert version["Os"] == "linux"
    assert any(c["Name"] == "Engine" for c in version["Components"])
    assert client.api.api_version == "1.44"
    assert client.ping() is True
    info = client.info()
    assert info["Images"] == 0
    assert info["OSType"] == "linux"
    assert info["Swarm"]["LocalNodeState"] == "inactive"
    assert isinstance(info["NCPU"], int) and info["NCPU"] >= 1
    assert isinstance(info["MemTotal"], int) and info["MemTotal"] > 0


def test_from_env_with_pinned_versions(daemon: DaemonHandle) -> None:
    for version in ("1.24", "1.41", "1.44", "1.45"):
        c = docker.DockerClient(base_url=daemon.host, version=version)
        try:
            assert c.ping() is True
            assert c.version()["ApiVersion"] == "1.44"
            assert c.images.list() == []
        finally:
            c.close()
    env = docker.from_env(environment=daemon.env())
    try:
        assert env.ping() is True
    finally:
        env.close()


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_images_load_and_list(client: docker.DockerClient, fmt: str) -> None:
    loaded = load(client, busybox_archive(fmt=fmt, tags=("busybox:latest", "busybox:1.36")))
    assert loaded and {img.id for img in loaded} == {loaded[0].id}
    assert FULL_ID.match(loaded[0].id)
    assert set(loaded[0].tags) == {"busybox:latest", "busybox:1.36"}
    load(client, busybox_archive(tags=("three:latest",), layers=3))
    listed = client.images.list()
    assert len(listed) == 2
    assert all_tags(client) == {"busybox:latest", "busybox:1.36", "three:latest"}
    assert {t for img in client.images.list(name="three") for t in img.tags} == {"three:latest"}
    assert client.images.list(name="nothing-here") == []
    assert client.images.list(filters={"dangling": True}) == []
    assert len(client.images.list(filters={"dangling": False})) == 2
    assert client.info()["Images"] == 2


def test_images_load_untagged_and_dangling_filter(client: docker.DockerClient) -> None:
    loaded = load(client, busybox_archive(tags=()))
    assert len(loaded) == 1 and loaded[0].tags == []
    dangling = client.images.list(filters={"dangling": True})
    assert [img.id for img in dangling] == [loaded[0].id]
    assert client.images.list(filters={"dangling": False}) == []
    # An untagged image is listed by default (as <none>:<none>) and with all=True.
    assert [img.id for img in client.images.list(all=True)] == [loaded[0].id]


def test_images_list_label_filter(client: docker.DockerClient) -> None:
    client.api.import_image_from_data(busybox_rootfs_tar().read_bytes(), repository="lab", tag="1",
                                      changes=["LABEL team=infra"])
    load(client, busybox_archive(tags=("busybox:latest",)))
    assert all_tags(client, filters={"label": "team=infra"}) == {"lab:1"}
    assert all_tags(client, filters={"label": ["team"]}) == {"lab:1"}
    assert all_tags(client, filters={"label": "team=other"}) == set()
    assert all_tags(client, filters={"reference": "busy*"}) == {"busybox:latest"}


def test_images_get_attrs(client: docker.DockerClient) -> None:
    load(client, busybox_archive(tags=("busybox:latest",), layers=2))
    img = client.images.get("busybox")
    assert FULL_ID.match(img.id)
    assert img.short_id == img.id[:19]
    assert img.tags == ["busybox:latest"]
    assert img.labels == {}
    attrs = img.attrs
    assert attrs["Config"]["Cmd"] == ["sh"]
    assert attrs["Architecture"] == "amd64" and attrs["Os"] == "linux"
    assert len(attrs["RootFS"]["Layers"]) == 2
    assert attrs["Size"] > 1_000_000
    assert client.images.get(img.id).id == img.id
    assert client.images.get(img.id[7:19]).id == img.id
    assert client.images.get("busybox:latest").id == img.id
    img.reload()
    assert img.tags == ["busybox:latest"]


def test_image_not_found(client: docker.DockerClient) -> None:
    with pytest.raises(docker.errors.ImageNotFound) as exc:
        client.images.get("nope")
    assert exc.value.status_code == 404
    assert "No such image: nope:latest" in str(exc.value)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.remove("nope")
    with pytest.raises(docker.errors.ImageNotFound):
        client.api.history("nope")
    with pytest.raises(docker.errors.NotFound):
        client.api.tag("nope", "x", "y")


def test_image_tag(client: docker.DockerClient) -> None:
    (img,) = load(client, busybox_archive(tags=("busybox:latest",)))
    assert img.tag("pyrepo/bb", "v1") is True
    assert img.tag("pyrepo/bb") is True  # no tag means latest
    assert client.api.tag(img.id, "localhost:5000/ns/bb", "2") is True
    img.reload()
    assert set(img.tags) == {"busybox:latest", "pyrepo/bb:v1", "pyrepo/bb:latest", "localhost:5000/ns/bb:2"}
    assert client.images.get("pyrepo/bb:v1").id == img.id
    with pytest.raises(docker.errors.APIError) as exc:
        img.tag("Bad/Repo", "x")
    assert exc.value.status_code == 400


def test_image_history(client: docker.DockerClient) -> None:
    load(client, busybox_archive(tags=("three:latest",), layers=3))
    img = client.images.get("three")
    history = img.history()
    assert len(history) >= 3
    top = history[0]
    assert top["Id"] == img.id
    assert top["Tags"] == ["three:latest"]
    for row in history:
        assert {"Id", "Created", "CreatedBy", "Tags", "Size", "Comment"} <= set(row)
        assert isinstance(row["Created"], int) and isinstance(row["Size"], int)
    assert all(row["Id"] == "<missing>" for row in history[1:])
    assert sum(row["Size"] for row in history) == img.attrs["Size"]


def test_image_save_and_load_into_second_daemon(client: docker.DockerClient, tmp_path: Path) -> None:
    load(client, busybox_archive(tags=("three:latest",), layers=3))
    img = client.images.get("three")
    out = tmp_path / "three.tar"
    chunks = 0
    with open(out, "wb") as f:
        for chunk in img.save(chunk_size=65536, named=True):
            f.write(chunk)
            chunks += 1
    assert chunks > 1
    second = start_daemon(tmp_path / "second")
    try:
        other = docker.DockerClient(base_url=second.host)
        try:
            (loaded,) = {i.id: i for i in other.images.load(out.read_bytes())}.values()
            assert loaded.id == img.id
            assert loaded.tags == ["three:latest"]
            assert other.images.get("three").attrs["RootFS"] == img.attrs["RootFS"]
        finally:
            other.close()
    finally:
        second.stop()


def test_images_remove(client: docker.DockerClient) -> None:
    (img,) = {i.id: i for i in load(client, busybox_archive(tags=("busybox:latest",)))}.values()
    img.tag("other/bb", "v1")
    with pytest.raises(docker.errors.APIError) as exc:
        client.images.remove(img.id)
    assert exc.value.status_code == 409
    assert "must be forced" in str(exc.value)
    assert client.images.remove("other/bb:v1") is None
    assert client.images.get("busybox").tags == ["busybox:latest"]
    result = client.api.remove_image("busybox")
    assert result[0] == {"Untagged": "busybox:latest"}
    assert result[1] == {"Deleted": img.id}
    assert all(set(item) == {"Deleted"} for item in result[1:])
    assert client.images.list(all=True) == []
    load(client, busybox_archive(tags=("busybox:latest",)))
    img.tag("x/y", "z")
    client.images.remove(img.id, force=True)
    assert client.images.list(all=True) == []


def test_images_prune(client: docker.DockerClient) -> None:
    load(client, busybox_archive(tags=()))
    load(client, busybox_archive(tags=("three:latest",), layers=3))
    report = client.images.prune()
    deleted = report["ImagesDeleted"]
    assert deleted and all(set(d) <= {"Untagged", "Deleted"} for d in deleted)
    assert report["SpaceReclaimed"] > 0
    assert all_tags(client) == {"three:latest"}
    report = client.images.prune(filters={"dangling": False})
    assert {"Untagged": "three:latest"} in report["ImagesDeleted"]
    assert client.images.list(all=True) == []


def test_df(client: docker.DockerClient) -> None:
    empty = client.df()
    assert empty["Images"] == [] and empty["LayersSize"] == 0
    load(client, busybox_archive(tags=("busybox:latest",)))
    df = client.df()
    assert df["LayersSize"] > 1_000_000
    (image,) = df["Images"]
    assert image["RepoTags"] == ["busybox:latest"]
    assert FULL_ID.match(image["Id"])
    assert isinstance(df["Containers"], list) and isinstance(df["Volumes"], list)


def test_import_image_from_data_and_file(client: docker.DockerClient) -> None:
    rootfs = busybox_rootfs_tar()
    out = client.api.import_image_from_data(rootfs.read_bytes(), repository="pyimp", tag="1",
                                            changes=['CMD ["sh"]', "ENV X=1"])
    last = json.loads(out.strip().splitlines()[-1])
    assert FULL_ID.match(last["status"])
    img = client.images.get("pyimp:1")
    assert img.id == last["status"]
    assert img.attrs["Config"]["Cmd"] == ["sh"]
    assert "X=1" in img.attrs["Config"]["Env"]
    out = client.api.import_image(src=str(rootfs), repository="pyimp2", tag="2")
    assert FULL_ID.match(json.loads(out.strip().splitlines()[-1])["status"])
    out = client.api.import_image_from_file(str(rootfs), repository="pyimp3")
    assert FULL_ID.match(json.loads(out.strip().splitlines()[-1])["status"])
    assert all_tags(client) == {"pyimp:1", "pyimp2:2", "pyimp3:latest"}
    assert client.images.get("pyimp3").attrs["RootFS"] == img.attrs["RootFS"]


def test_low_level_api_client(daemon: DaemonHandle, tmp_path: Path) -> None:
    api = docker.APIClient(base_url=daemon.host)
    try:
        data = busybox_archive(tags=("three:latest",), layers=3).read_bytes()
        assert list(api.load_image(data, quiet=True)) == [{"stream": "Loaded image: three:latest\n"}]
        ids = api.images(quiet=True)
        assert len(ids) == 1 and FULL_ID.match(ids[0])
        (summary,) = api.images(name="three", all=True)
        assert summary["Id"] == ids[0] and summary["RepoTags"] == ["three:latest"]
        assert api.inspect_image("three")["Id"] == ids[0]
        saved = b"".join(api.get_image("three"))
        (tmp_path / "three.tar").write_bytes(saved)
        with tarfile.open(tmp_path / "three.tar") as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == ["three:latest"] and len(manifest[0]["Layers"]) == 3
        assert api.prune_images(filters={"dangling": True}) == {"ImagesDeleted": [], "SpaceReclaimed": 0}
        with pytest.raises(docker.errors.APIError) as exc:
            list(api.load_image(b"garbage" * 100))
        assert exc.value.status_code == 400
        assert api.images(quiet=True) == ids
    finally:
        api.close()

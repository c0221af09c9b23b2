from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dockyard.errors import AlreadyExists, Conflict, FailedPrecondition, InvalidArgument, NotFound
from dockyard.store.metadata import MIGRATIONS, ImageRecord, MetadataStore, NetworkRow


@pytest.fixture
def md(tmp_path: Path) -> Iterator[MetadataStore]:
    store = MetadataStore(tmp_path / "metadata.db")
    yield store
    store.close()


def image(n: int, parent: str = "") -> ImageRecord:
    hexid = f"{n:02x}" * 32
    return ImageRecord(id=f"sha256:{hexid}", target_digest=f"sha256:{'a' * 63}{n % 10}",
                       target_media_type="application/vnd.oci.image.manifest.v1+json", target_size=100 + n,
                       manifest_digest=f"sha256:{'a' * 63}{n % 10}", config_digest=f"sha256:{hexid}",
                       created_at=1000.0 + n, loaded_at=2000.0 + n, size=10 * n, parent=parent)


def test_pragmas_and_version(md: MetadataStore, tmp_path: Path) -> None:
    assert md.schema_version == len(MIGRATIONS)
    conn = sqlite3.connect(tmp_path / "metadata.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_reopen_keeps_data(tmp_path: Path) -> None:
    with MetadataStore(tmp_path / "m.db") as a:
        a.put_image(image(1))
    with MetadataStore(tmp_path / "m.db") as b:
        assert b.get_image(image(1).id) == image(1)
        assert b.schema_version == len(MIGRATIONS)


def test_images_crud(md: MetadataStore) -> None:
    a, b = image(1), image(2, parent=image(1).id)
    md.put_image(a)
    md.put_image(b)
    assert md.get_image(a.id) == a
    assert md.list_images() == [a, b]
    assert md.children_of(a.id) == [b]
    updated = replace(a, size=999)
    md.put_image(updated)
    assert md.get_image(a.id).size == 999
    assert md.images_by_id_prefix("0101") == [updated]
    assert md.images_by_id_prefix("sha256:0202") == [b]
    assert md.images_by_id_prefix("0") == [updated, b]
    assert md.images_by_id_prefix("%") == []
    md.delete_image(a.id)
    assert md.find_image(a.id) is None
    with pytest.raises(NotFound, match="No such image"):
        md.get_image(a.id)
    with pytest.raises(NotFound):
        md.delete_image(a.id)


def test_tags(md: MetadataStore) -> None:
    a, b = image(1), image(2)
    name = "docker.io/library/busybox:latest"
    assert md.set_tag(name, a.id) is None
    assert md.set_tag(name, b.id) == a.id
    assert md.get_tag(name) == b.id
    md.set_tag("docker.io/library/busybox:1", b.id)
    assert md.tags_for(b.id) == ["docker.io/library/busybox:1", name]
    assert md.all_tags() == {"docker.io/library/busybox:1": b.id, name: b.id}
    assert md.delete_tag(name)
    assert not md.delete_tag(name)
    assert md.get_tag(name) is None


def test_delete_image_drops_tags_digests_refs(md: MetadataStore) -> None:
    a = image(1)
    md.put_image(a)
    md.set_tag("x:1", a.id)
    md.add_repo_digest("x@sha256:" + "b" * 64, a.id)
    md.set_refs("image", a.id, [("content", a.config_digest)])
    md.delete_image(a.id)
    assert md.all_tags() == {} and md.repo_digests_for(a.id) == [] and md.refs_of("image", a.id) == []


def test_repo_digests(md: MetadataStore) -> None:
    name = "docker.io/library/busybox@sha256:" + "c" * 64
    md.add_repo_digest(name, "sha256:1")
    md.add_repo_digest(name, "sha256:1")
    assert md.repo_digests_for("sha256:1") == [name]
    assert md.get_repo_digest(name) == "sha256:1"
    assert md.delete_repo_digest(name)
    assert md.get_repo_digest(name) is None


def test_refs(md: MetadataStore) -> None:
    md.set_refs("image", "i1", [("content", "sha256:a"), ("content", "sha256:b"), ("snapshot", "s1")])
    md.set_refs("container", "c1", [("snapshot", "s1")])
    assert md.refs_of("image", "i1") == [("content", "sha256:a"), ("content", "sha256:b"), ("snapshot", "s1")]
    assert md.all_referenced("content") == {"sha256:a", "sha256:b"}
    assert md.owners_of("snapshot", "s1") == [("container", "c1"), ("image", "i1")]
    md.set_refs("image", "i1", [("content", "sha256:a")])
    assert md.all_referenced("content") == {"sha256:a"}
    assert md.all_referenced("snapshot") == {"s1"}
    md.delete_refs("container", "c1")
    assert md.all_referenced("snapshot") == set()
    with pytest.raises(InvalidArgument):
        md.set_refs("image", "i1", [("bogus", "x")])
    assert md.refs_of("image", "i1") == [("content", "sha256:a")]


def test_leases(md: MetadataStore) -> None:
    md.create_lease("l1", expires_at=100.0)
    md.create_lease("l2")
    with pytest.raises(AlreadyExists):
        md.create_lease("l1")
    md.add_lease_resource("l1", "content", "sha256:x")
    md.add_lease_resource("l2", "snapshot", "snap")
    with pytest.raises(NotFound):
        md.add_lease_resource("nope", "content", "sha256:y")
    assert md.all_referenced("content") == {"sha256:x"}
    assert [lease.id for lease in md.list_leases()] == ["l1", "l2"]
    assert md.delete_expired_leases(50.0) == []
    assert md.delete_expired_leases(100.0) == ["l1"]
    assert md.all_referenced("content") == set()
    md.delete_lease("l2")
    assert md.all_referenced("snapshot") == set() and md.list_leases() == []
    with pytest.raises(NotFound):
        md.delete_lease("l2")


def test_snapshots(md: MetadataStore) -> None:
    base = md.create_snapshot("extract-1", "", "active", labels={"a": "b"})
    assert base.kind == "active" and base.labels == {"a": "b"} and base.parent == ""
    with pytest.raises(AlreadyExists):
        md.create_snapshot("extract-1", "", "active")
    with pytest.raises(FailedPrecondition):
        md.create_snapshot("child", "extract-1", "active")  # parent not committed
    committed = md.commit_snapshot("extract-1", "sha256:layer1")
    assert committed.id == base.id and committed.kind == "committed" and committed.key == "sha256:layer1"
    assert md.find_snapshot("extract-1") is None
    with pytest.raises(FailedPrecondition):
        md.commit_snapshot("sha256:layer1", "again")
    child = md.create_snapshot("ctr", "sha256:layer1", "active")
    assert child.id > base.id
    view = md.create_snapshot("view", "sha256:layer1", "view")
    assert [s.key for s in md.snapshot_children("sha256:layer1")] == ["ctr", "view"]
    assert [s.key for s in md.snapshot_chain("ctr")] == ["ctr", "sha256:layer1"]
    with pytest.raises(Conflict):
        md.delete_snapshot("sha256:layer1")
    with pytest.raises(NotFound):
        md.create_snapshot("x", "missing", "active")
    with pytest.raises(InvalidArgument):
        md.create_snapshot("x", "", "weird")
    renamed = md.rename_snapshot("sha256:layer1", "sha256:renamed")
    assert renamed.id == base.id
    assert md.get_snapshot("ctr").parent == "sha256:renamed"
    md.delete_snapshot("ctr")
    md.delete_snapshot(view.key)
    md.delete_snapshot("sha256:renamed")
    assert md.list_snapshots() == []
    # ids are never reused, so a directory of a deleted snapshot cannot be confused with a new one
    assert md.create_snapshot("new", "", "active").id > child.id
    with pytest.raises(NotFound):
        md.get_snapshot("gone")


def test_transaction_rollback_and_nesting(md: MetadataStore) -> None:
    with pytest.raises(RuntimeError), md.transaction():
        md.set_tag("a", "sha256:1")
        with md.transaction():
            md.set_tag("b", "sha256:2")
        raise RuntimeError
    assert md.all_tags() == {}
    with md.transaction():
        md.set_tag("a", "sha256:1")
        with md.transaction():
            md.set_tag("b", "sha256:2")
    assert md.all_tags() == {"a": "sha256:1", "b": "sha256:2"}


def test_threads(md: MetadataStore) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                md.set_tag(f"t{n}-{i}", f"sha256:{n}")
                md.get_tag(f"t{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(md.all_tags()) == 400


def test_networks_crud(md: MetadataStore) -> None:
    md.add_network(NetworkRow("n1", "front", 1.0, '{"subnet": "10.1.0.0/24"}'))
    md.add_network(NetworkRow("n2", "back", 2.0, "{}"))
    with pytest.raises(AlreadyExists, match="network with name front already exists"):
        md.add_network(NetworkRow("n3", "front", 3.0, "{}"))
    assert [r.name for r in md.list_networks()] == ["front", "back"]
    assert md.delete_network("n1") and not md.delete_network("n1")
    assert [r.id for r in md.list_networks()] == ["n2"]

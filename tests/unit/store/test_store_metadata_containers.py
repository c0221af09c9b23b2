"""Container rows in the metadata store: unique names, ID prefixes, image users, migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dockyard.errors import AlreadyExists
from dockyard.store.metadata import MIGRATIONS, ContainerRow, MetadataStore


def row(id: str, name: str, image: str = "sha256:aa", created: float = 1.0) -> ContainerRow:
    return ContainerRow(id=id, name=name, image_id=image, created_at=created, document='{"k": 1}')


def test_put_find_by_id_name_and_prefix(tmp_path: Path) -> None:
    md = MetadataStore(tmp_path / "m.db")
    md.put_container(row("abc123", "web"))
    md.put_container(row("abd456", "db", created=2.0))
    assert md.find_container("abc123") == row("abc123", "web")
    assert md.container_by_name("/db") == row("abd456", "db", created=2.0)
    assert sorted(r.id for r in md.containers_by_id_prefix("ab")) == ["abc123", "abd456"]
    assert [r.id for r in md.containers_by_id_prefix("abc")] == ["abc123"]
    assert md.containers_by_id_prefix("a_") == []  # LIKE wildcards are escaped
    assert [r.id for r in md.list_containers()] == ["abd456", "abc123"]  # newest first


def test_names_are_unique_but_a_container_may_be_updated(tmp_path: Path) -> None:
    md = MetadataStore(tmp_path / "m.db")
    md.put_container(row("c1", "web"))
    with pytest.raises(AlreadyExists) as err:
        md.put_container(row("c2", "web"))
    assert str(err.value) == "c1"
    md.put_container(ContainerRow("c1", "web2", "sha256:aa", 1.0, "{}"))  # rename in place
    assert md.container_by_name("web") is None
    assert md.find_container("c1") is not None and md.find_container("c1").name == "web2"  # type: ignore[union-attr]


def test_image_users_and_delete_drops_refs(tmp_path: Path) -> None:
    md = MetadataStore(tmp_path / "m.db")
    md.put_container(row("c1", "a", image="sha256:11"))
    md.put_container(row("c2", "b", image="sha256:22"))
    md.set_refs("container", "c1", [("snapshot", "c1-rw")])
    assert [r.id for r in md.containers_of_image("sha256:11")] == ["c1"]
    assert md.delete_container("c1") is True
    assert md.refs_of("container", "c1") == []
    assert md.delete_container("c1") is False


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = sqlite3.connect(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    md = MetadataStore(path)
    assert md.schema_version == len(MIGRATIONS) >= 2
    md.put_container(row("c1", "web"))
    assert md.find_container("c1") is not None

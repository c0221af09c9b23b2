from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.oci.digest import Digest, DigestMismatch
from dockyard.store.content import LocalContentStore


@pytest.fixture
def store(tmp_path: Path) -> LocalContentStore:
    return LocalContentStore(tmp_path / "content")


def test_layout_files_created(store: LocalContentStore) -> None:
    assert json.loads((store.root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((store.root / "index.json").read_text())
    assert index["schemaVersion"] == 2 and index["manifests"] == []
    assert (store.root / "blobs" / "sha256").is_dir()


def test_write_blob_and_read(store: LocalContentStore) -> None:
    d = store.write_blob(b"hello")
    assert d == Digest.from_bytes(b"hello")
    assert store.exists(d)
    assert store.read_bytes(d) == b"hello"
    info = store.info(d)
    assert info is not None and info.size == 5 and info.digest == d
    assert store.path(d) == store.root / "blobs" / "sha256" / d.hex
    with store.open(d) as f:
        assert f.read() == b"hello"
    assert list(store.digests()) == [d]
    assert store.total_size() == 5
    # idempotent
    assert store.write_blob(b"hello") == d


def test_write_blob_expected_mismatch(store: LocalContentStore) -> None:
    with pytest.raises(DigestMismatch):
        store.write_blob(b"a", expected=Digest.from_bytes(b"b"))
    assert list(store.digests()) == []


def test_missing_blob(store: LocalContentStore) -> None:
    d = Digest.from_bytes(b"nope")
    assert store.info(d) is None and not store.exists(d)
    with pytest.raises(NotFound, match=f"content digest {d}: not found"):
        store.open(d)
    with pytest.raises(NotFound):
        store.delete(d)


def test_read_bytes_limit(store: LocalContentStore) -> None:
    d = store.write_blob(b"x" * 100)
    with pytest.raises(InvalidArgument):
        store.read_bytes(d, max_size=10)
    assert len(store.read_bytes(d, max_size=100)) == 100


def test_delete_returns_size(store: LocalContentStore) -> None:
    d = store.write_blob(b"12345678")
    assert store.delete(d) == 8
    assert not store.exists(d)


def test_digests_ignores_junk(store: LocalContentStore) -> None:
    d = store.write_blob(b"x")
    (store.root / "blobs" / "sha256" / "not-a-digest").write_text("junk")
    assert list(store.digests()) == [d]


def test_writer_commit(store: LocalContentStore) -> None:
    data = b"layer-bytes" * 1000
    expected = Digest.from_bytes(data)
    with store.writer("pull-1", expected=expected, total=len(data)) as w:
        w.write(data[:500])
        w.write(data[500:])
        assert w.offset == len(data)
        assert w.digest() == expected
        assert w.commit() == expected
    assert store.read_bytes(expected) == data
    assert store.ingests() == []
    assert os.listdir(store.ingest_root) == []


def test_writer_resume(store: LocalContentStore) -> None:
    data = os.urandom(10000)
    expected = Digest.from_bytes(data)
    w = store.writer("ref-a", expected=expected, total=len(data))
    w.write(data[:3000])
    w.close()
    (status,) = store.ingests()
    assert status.ref == "ref-a" and status.offset == 3000
    assert status.total == len(data) and status.expected == expected
    assert status.updated_at > 0
    with store.writer("ref-a") as w2:
        assert w2.offset == 3000
        assert w2.expected == expected and w2.total == len(data)
        w2.write(data[w2.offset:])
        assert w2.commit() == expected
    assert store.read_bytes(expected) == data


def test_writer_context_exit_keeps_partial(store: LocalContentStore) -> None:
    with pytest.raises(RuntimeError), store.writer("ref-b") as w:
        w.write(b"abc")
        raise RuntimeError("network went away")
    assert [i.offset for i in store.ingests()] == [3]


def test_writer_commit_mismatch_discards(store: LocalContentStore) -> None:
    w = store.writer("ref-c", expected=Digest.from_bytes(b"good"))
    w.write(b"evil")
    with pytest.raises(DigestMismatch):
        w.commit()
    assert store.ingests() == []
    assert list(store.digests()) == []


def test_writer_size_mismatch(store: LocalContentStore) -> None:
    w = store.writer("ref-d")
    w.write(b"1234")
    with pytest.raises(DigestMismatch, match="size mismatch"):
        w.commit(size=5)
    assert store.ingests() == []


def test_writer_commit_existing_blob_drops_ingest(store: LocalContentStore) -> None:
    d = store.write_blob(b"dup")
    w = store.writer("ref-e")
    w.write(b"dup")
    assert w.commit(expected=d, size=3) == d
    assert store.ingests() == [] and store.read_bytes(d) == b"dup"


def test_second_writer_conflicts(store: LocalContentStore) -> None:
    w = store.writer("ref-f")
    with pytest.raises(Conflict, match="ref-f locked"):
        store.writer("ref-f")
    with pytest.raises(Conflict):
        store.abort_ingest("ref-f")
    w.close()
    w2 = store.writer("ref-f")
    w2.abort()
    assert store.ingests() == []


def test_abort_ingest(store: LocalContentStore) -> None:
    w = store.writer("ref-g")
    w.write(b"x")
    w.close()
    store.abort_ingest("ref-g")
    assert store.ingests() == []
    with pytest.raises(NotFound):
        store.abort_ingest("ref-g")


def test_writer_truncate_restarts(store: LocalContentStore) -> None:
    w = store.writer("ref-h")
    w.write(b"garbage")
    w.truncate(0)
    w.write(b"good")
    assert w.commit() == Digest.from_bytes(b"good")


def test_closed_writer_refuses_writes(store: LocalContentStore) -> None:
    w = store.writer("ref-i")
    w.close()
    with pytest.raises(InvalidArgument):
        w.write(b"x")


def test_index_roundtrip(store: LocalContentStore) -> None:
    desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": str(Digest.from_bytes(b"m")),
        "size": 1,
        "annotations": {"org.opencontainers.image.ref.name": "busybox:latest"},
    }
    store.set_index([desc])
    assert store.get_index() == [desc]
    raw = json.loads((store.root / "index.json").read_text())
    assert raw["schemaVersion"] == 2
    # no temp files left behind
    assert sorted(os.listdir(store.root)) == ["blobs", "index.json", "ingest", "oci-layout"]


def test_custom_ingest_root(tmp_path: Path) -> None:
    store = LocalContentStore(tmp_path / "c", ingest_root=tmp_path / "ing")
    w = store.writer("r")
    w.write(b"x")
    w.close()
    assert len(os.listdir(tmp_path / "ing")) == 1
    assert not (tmp_path / "c" / "ingest").exists()

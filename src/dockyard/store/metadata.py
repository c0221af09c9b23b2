"""SQLite metadata: the source of truth for what exists (images, tags, GC references, leases, snapshots).

One connection in WAL mode, shared by the daemon's worker threads under an RLock. Schema changes
are an ordered list of migrations; ``PRAGMA user_version`` records how many have run.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import AlreadyExists, Conflict, DataLoss, FailedPrecondition, InvalidArgument, NotFound

SNAPSHOT_KINDS = ("active", "view", "committed")
REF_KINDS = ("content", "snapshot", "ingest", "volume")


@dataclass(frozen=True, slots=True)
class ImageRecord:
    id: str  # "sha256:<config digest hex>"
    target_digest: str  # the manifest or index the image was pulled/loaded by
    target_media_type: str
    target_size: int
    manifest_digest: str  # the platform manifest that was unpacked
    config_digest: str
    created_at: float  # from the image config
    loaded_at: float
    size: int  # sum of the layer sizes
    parent: str = ""
    layer_sizes: tuple[int, ...] = ()  # per manifest layer, its files' bytes (dockerd's layer size)


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    key: str
    id: int  # small integer naming the snapshot's directory
    parent: str  # "" for a base snapshot
    kind: str  # "active" | "view" | "committed"
    created_at: float
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContainerRow:
    id: str
    name: str          # without the leading "/"
    image_id: str
    created_at: float
    document: str      # JSON owned by the container service


@dataclass(frozen=True, slots=True)
class VolumeRecord:
    name: str
    driver: str
    created_at: float
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NetworkRow:
    id: str
    name: str
    created_at: float
    document: str  # the engine's JSON


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    id: str
    created_at: float
    expires_at: float | None


def _v1(db: sqlite3.Connection) -> None:
    db.execute("""CREATE TABLE images (
        id TEXT PRIMARY KEY, target_digest TEXT NOT NULL, target_media_type TEXT NOT NULL,
        target_size INTEGER NOT NULL, manifest_digest TEXT NOT NULL, config_digest TEXT NOT NULL,
        created_at REAL NOT NULL, loaded_at REAL NOT NULL, size INTEGER NOT NULL,
        parent TEXT NOT NULL DEFAULT '')""")
    db.execute("CREATE INDEX images_parent ON images(parent)")
    # No foreign key to images: check() must be able to find tags that dangle after a crash.
    db.execute("CREATE TABLE tags (name TEXT PRIMARY KEY, image_id TEXT NOT NULL)")
    db.execute("CREATE INDEX tags_image ON tags(image_id)")
    db.execute("CREATE TABLE repo_digests (name TEXT PRIMARY KEY, image_id TEXT NOT NULL)")
    db.execute("CREATE INDEX repo_digests_image ON repo_digests(image_id)")
    db.execute("""CREATE TABLE refs (
        owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
        PRIMARY KEY (owner_kind, owner_id, kind, key))""")
    db.execute("CREATE INDEX refs_target ON refs(kind, key)")
    db.execute("CREATE TABLE leases (id TEXT PRIMARY KEY, created_at REAL NOT NULL, expires_at REAL)")
    db.execute("""CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, parent TEXT NOT NULL,
        kind TEXT NOT NULL, created_at REAL NOT NULL, labels TEXT NOT NULL DEFAULT '{}')""")
    db.execute("CREATE INDEX snapshots_parent ON snapshots(parent)")


def _v2(db: sqlite3.Connection) -> None:
    # A container's configuration and state are one JSON document owned by the engine; the
    # columns beside it are what lookups need (name uniqueness, ID prefixes, image users).
    db.execute("""CREATE TABLE containers (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image_id TEXT NOT NULL,
        created_at REAL NOT NULL, document TEXT NOT NULL)""")
    db.execute("CREATE INDEX containers_image ON containers(image_id)")


def _v3(db: sqlite3.Connection) -> None:
    # Which containers use a volume is in refs (owner "container", kind "volume").
    db.execute("""CREATE TABLE volumes (
        name TEXT PRIMARY KEY, driver TEXT NOT NULL, created_at REAL NOT NULL,
        labels TEXT NOT NULL DEFAULT '{}', options TEXT NOT NULL DEFAULT '{}')""")


def _v4(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE images ADD COLUMN layer_sizes TEXT NOT NULL DEFAULT '[]'")


def _v5(db: sqlite3.Connection) -> None:
    # A user-defined network's settings are one JSON document owned by the engine.
    db.execute("""CREATE TABLE networks (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, document TEXT NOT NULL)""")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5]

_IMAGE_COLUMNS = ("id, target_digest, target_media_type, target_size, manifest_digest, config_digest, "
                  "created_at, loaded_at, size, parent, layer_sizes")


def _image(row: tuple[Any, ...]) -> ImageRecord:
    return ImageRecord(
        id=str(row[0]), target_digest=str(row[1]), target_media_type=str(row[2]), target_size=int(row[3]),
        manifest_digest=str(row[4]), config_digest=str(row[5]), created_at=float(row[6]),
        loaded_at=float(row[7]), size=int(row[8]), parent=str(row[9]),
        layer_sizes=tuple(int(n) for n in json.loads(str(row[10]))),
    )


def _snapshot(row: tuple[Any, ...]) -> SnapshotRecord:
    labels = json.loads(str(row[5]))
    return SnapshotRecord(key=str(row[1]), id=int(row[0]), parent=str(row[2]), kind=str(row[3]),
                          created_at=float(row[4]), labels=dict(labels))


_SNAPSHOT_COLUMNS = "id, key, parent, kind, created_at, labels"


class MetadataStore:
    """Thread-safe access to ``metadata.db``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self.transaction():
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise DataLoss(f"metadata schema version {version} is newer than this dockyard ({len(MIGRATIONS)})")
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(self._db)
                self._db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE); nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._depth = 0
                self._db.execute("ROLLBACK")
                raise
            self._depth = 0
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, tuple(params)).fetchall())

    # images ---------------------------------------------------------------------------------

    def put_image(self, rec: ImageRecord) -> None:
        with self.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO images ({_IMAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (rec.id, rec.target_digest, rec.target_media_type, rec.target_size, rec.manifest_digest,
                        rec.config_digest, rec.created_at, rec.loaded_at, rec.size, rec.parent,
                        json.dumps(list(rec.layer_sizes))))

    def find_image(self, id: str) -> ImageRecord | None:
        rows = self._query(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE id = ?", (id,))
        return _image(rows[0]) if rows else None

    def get_image(self, id: str) -> ImageRecord:
        rec = self.find_image(id)
        if rec is None:
            raise NotFound(f"No such image: {id}")
        return rec

    def list_images(self) -> list[ImageRecord]:
        return [_image(r) for r in self._query(f"SELECT {_IMAGE_COLUMNS} FROM images ORDER BY loaded_at, id")]

    def images_by_id_prefix(self, prefix: str) -> list[ImageRecord]:
        """Images whose id (``sha256:<hex>``) or bare hex starts with ``prefix``."""
        if not prefix.startswith("sha256:"):
            prefix = "sha256:" + prefix
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [_image(r) for r in self._query(
            f"SELECT {_IMAGE_COLUMNS} FROM images WHERE id LIKE ? ESCAPE '\\' ORDER BY id", (pattern,))]

    def children_of(self, id: str) -> list[ImageRecord]:
        return [_image(r) for r in self._query(
            f"SELECT {_IMAGE_COLUMNS} FROM images WHERE parent = ? ORDER BY id", (id,))]

    def delete_image(self, id: str) -> None:
        """Remove the image with its tags, repo digests and GC references."""
        with self.transaction() as db:
            cur = db.execute("DELETE FROM images WHERE id = ?", (id,))
            if cur.rowcount == 0:
                raise NotFound(f"No such image: {id}")
            db.execute("DELETE FROM tags WHERE image_id = ?", (id,))
            db.execute("DELETE FROM repo_digests WHERE image_id = ?", (id,))
            db.execute("DELETE FROM refs WHERE owner_kind = 'image' AND owner_id = ?", (id,))

    # tags -----------------------------------------------------------------------------------

    def set_tag(self, name: str, image_id: str) -> str | None:
        """Point ``name`` at ``image_id``; returns the image it pointed to before (or None)."""
        with self.transaction() as db:
            row = db.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
            db.execute("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?, ?)", (name, image_id))
            return str(row[0]) if row else None

    def get_tag(self, name: str) -> str | None:
        rows = self._query("SELECT image_id FROM tags WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def delete_tag(self, name: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM tags WHERE name = ?", (name,)).rowcount > 0

    def tags_for(self, image_id: str) -> list[str]:
        return [str(r[0]) for r in self._query("SELECT name FROM tags WHERE image_id = ? ORDER BY name", (image_id,))]

    def all_tags(self) -> dict[str, str]:
        return {str(r[0]): str(r[1]) for r in self._query("SELECT name, image_id FROM tags ORDER BY name")}

    # repo digests ---------------------------------------------------------------------------

    def add_repo_digest(self, name: str, image_id: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?, ?)", (name, image_id))

    def repo_digests_for(self, image_id: str) -> list[str]:
        return [str(r[0]) for r in self._query(
            "SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name", (image_id,))]

    def get_repo_digest(self, name: str) -> str | None:
        rows = self._query("SELECT image_id FROM repo_digests WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def delete_repo_digest(self, name: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM repo_digests WHERE name = ?", (name,)).rowcount > 0

    def all_repo_digests(self) -> dict[str, str]:
        return {str(r[0]): str(r[1]) for r in self._query("SELECT name, image_id FROM repo_digests ORDER BY name")}

    # GC references --------------------------------------------------------------------------

    def set_refs(self, owner_kind: str, owner_id: str, refs: Iterable[tuple[str, str]]) -> None:
        """Replace what ``owner`` keeps alive: (kind, key) pairs, kind "content" | "snapshot" | "ingest"."""
        pairs = sorted(set(refs))
        for kind, _ in pairs:
            if kind not in REF_KINDS:
                raise InvalidArgument(f"unknown reference kind {kind!r}")
        with self.transaction() as db:
            db.execute("DELETE FROM refs WHERE owner_kind = ? AND owner_id = ?", (owner_kind, owner_id))
            db.executemany("INSERT INTO refs (owner_kind, owner_id, kind, key) VALUES (?,?,?,?)",
                           [(owner_kind, owner_id, k, key) for k, key in pairs])

    def delete_refs(self, owner_kind: str, owner_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM refs WHERE owner_kind = ? AND owner_id = ?", (owner_kind, owner_id))

    def refs_of(self, owner_kind: str, owner_id: str) -> list[tuple[str, str]]:
        return [(str(r[0]), str(r[1])) for r in self._query(
            "SELECT kind, key FROM refs WHERE owner_kind = ? AND owner_id = ? ORDER BY kind, key",
            (owner_kind, owner_id))]

    def all_referenced(self, kind: str) -> set[str]:
        return {str(r[0]) for r in self._query("SELECT DISTINCT key FROM refs WHERE kind = ?", (kind,))}

    def owners_of(self, kind: str, key: str) -> list[tuple[str, str]]:
        return [(str(r[0]), str(r[1])) for r in self._query(
            "SELECT owner_kind, owner_id FROM refs WHERE kind = ? AND key = ? ORDER BY owner_kind, owner_id",
            (kind, key))]

    def all_owners(self) -> set[tuple[str, str]]:
        return {(str(r[0]), str(r[1])) for r in self._query("SELECT DISTINCT owner_kind, owner_id FROM refs")}

    # leases ---------------------------------------------------------------------------------

    def create_lease(self, id: str, *, expires_at: float | None = None) -> LeaseRecord:
        rec = LeaseRecord(id, time.time(), expires_at)
        with self.transaction() as db:
            try:
                db.execute("INSERT INTO leases (id, created_at, expires_at) VALUES (?,?,?)",
                           (rec.id, rec.created_at, rec.expires_at))
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"lease {id}: already exists")
        return rec

    def get_lease(self, id: str) -> LeaseRecord:
        rows = self._query("SELECT id, created_at, expires_at FROM leases WHERE id = ?", (id,))
        if not rows:
            raise NotFound(f"lease {id}: not found")
        return _lease(rows[0])

    def add_lease_resource(self, lease_id: str, kind: str, key: str) -> None:
        if kind not in REF_KINDS:
            raise InvalidArgument(f"unknown reference kind {kind!r}")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM leases WHERE id = ?", (lease_id,)).fetchone() is None:
                raise NotFound(f"lease {lease_id}: not found")
            db.execute("INSERT OR IGNORE INTO refs (owner_kind, owner_id, kind, key) VALUES ('lease',?,?,?)",
                       (lease_id, kind, key))

    def delete_lease(self, id: str) -> None:
        with self.transaction() as db:
            if db.execute("DELETE FROM leases WHERE id = ?", (id,)).rowcount == 0:
                raise NotFound(f"lease {id}: not found")
            db.execute("DELETE FROM refs WHERE owner_kind = 'lease' AND owner_id = ?", (id,))

    def list_leases(self) -> list[LeaseRecord]:
        return [_lease(r) for r in self._query("SELECT id, created_at, expires_at FROM leases ORDER BY created_at, id")]

    def delete_expired_leases(self, now: float) -> list[str]:
        """Drop leases whose expiry has passed; returns their ids."""
        with self.transaction() as db:
            ids = [str(r[0]) for r in db.execute(
                "SELECT id FROM leases WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)).fetchall()]
            for lease_id in ids:
                db.execute("DELETE FROM leases WHERE id = ?", (lease_id,))
                db.execute("DELETE FROM refs WHERE owner_kind = 'lease' AND owner_id = ?", (lease_id,))
            return ids

    # snapshots ------------------------------------------------------------------------------

    def create_snapshot(self, key: str, parent: str, kind: str, labels: dict[str, str] | None = None) -> SnapshotRecord:
        if kind not in SNAPSHOT_KINDS:
            raise InvalidArgument(f"unknown snapshot kind {kind!r}")
        if not key:
            raise InvalidArgument("snapshot key must not be empty")
        with self.transaction() as db:
            if parent:
                row = db.execute("SELECT kind FROM snapshots WHERE key = ?", (parent,)).fetchone()
                if row is None:
                    raise NotFound(f"parent snapshot {parent}: not found")
                if row[0] != "committed":
                    raise FailedPrecondition(f"parent snapshot {parent} is not committed")
            try:
                cur = db.execute("INSERT INTO snapshots (key, parent, kind, created_at, labels) VALUES (?,?,?,?,?)",
                                 (key, parent, kind, time.time(), json.dumps(labels or {}, sort_keys=True)))
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"snapshot {key}: already exists")
            row = db.execute(f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?", (cur.lastrowid,)).fetchone()
            return _snapshot(row)

    def find_snapshot(self, key: str) -> SnapshotRecord | None:
        rows = self._query(f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE key = ?", (key,))
        return _snapshot(rows[0]) if rows else None

    def get_snapshot(self, key: str) -> SnapshotRecord:
        rec = self.find_snapshot(key)
        if rec is None:
            raise NotFound(f"snapshot {key}: not found")
        return rec

    def rename_snapshot(self, key: str, name: str) -> SnapshotRecord:
        """Give a snapshot a new key (same id and directory); children follow."""
        with self.transaction() as db:
            self.get_snapshot(key)
            if self.find_snapshot(name) is not None:
                raise AlreadyExists(f"snapshot {name}: already exists")
            db.execute("UPDATE snapshots SET key = ? WHERE key = ?", (name, key))
            db.execute("UPDATE snapshots SET parent = ? WHERE parent = ?", (name, key))
            return self.get_snapshot(name)

    def commit_snapshot(self, key: str, name: str) -> SnapshotRecord:
        """Turn the active snapshot ``key`` into the committed snapshot ``name`` (same id)."""
        with self.transaction() as db:
            rec = self.get_snapshot(key)
            if rec.kind != "active":
                raise FailedPrecondition(f"snapshot {key} is {rec.kind}, only an active snapshot can be committed")
            if self.find_snapshot(name) is not None:
                raise AlreadyExists(f"snapshot {name}: already exists")
            db.execute("UPDATE snapshots SET key = ?, kind = 'committed' WHERE key = ?", (name, key))
            return self.get_snapshot(name)

    def delete_snapshot(self, key: str) -> SnapshotRecord:
        with self.transaction() as db:
            rec = self.get_snapshot(key)
            children = self.snapshot_children(key)
            if children:
                raise Conflict(f"snapshot {key} has {len(children)} children: remove them first")
            db.execute("DELETE FROM snapshots WHERE key = ?", (key,))
            return rec

    def list_snapshots(self) -> list[SnapshotRecord]:
        return [_snapshot(r) for r in self._query(f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots ORDER BY id")]

    def snapshot_children(self, key: str) -> list[SnapshotRecord]:
        return [_snapshot(r) for r in self._query(
            f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE parent = ? ORDER BY id", (key,))]

    def snapshot_chain(self, key: str) -> list[SnapshotRecord]:
        """The snapshot and its ancestors, newest first."""
        chain: list[SnapshotRecord] = []
        current: str = key
        with self._lock:
            while current:
                rec = self.get_snapshot(current)
                chain.append(rec)
                current = rec.parent
                if len(chain) > 10_000:
                    raise DataLoss(f"snapshot {key}: parent chain loops")
        return chain

    # containers ---------------------------------------------------------------------------

    def put_container(self, row: ContainerRow) -> None:
        """Insert or update; a name taken by another container → AlreadyExists (the name)."""
        with self.transaction() as db:
            other = db.execute("SELECT id FROM containers WHERE name = ?", (row.name,)).fetchone()
            if other is not None and other[0] != row.id:
                raise AlreadyExists(str(other[0]))
            db.execute("INSERT OR REPLACE INTO containers (id, name, image_id, created_at, document) "
                       "VALUES (?,?,?,?,?)", (row.id, row.name, row.image_id, row.created_at, row.document))

    def find_container(self, id: str) -> ContainerRow | None:
        rows = self._query(f"SELECT {_CONTAINER_COLUMNS} FROM containers WHERE id = ?", (id,))
        return _container(rows[0]) if rows else None

    def container_by_name(self, name: str) -> ContainerRow | None:
        rows = self._query(f"SELECT {_CONTAINER_COLUMNS} FROM containers WHERE name = ?", (name.lstrip("/"),))
        return _container(rows[0]) if rows else None

    def containers_by_id_prefix(self, prefix: str) -> list[ContainerRow]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return [_container(r) for r in self._query(
            f"SELECT {_CONTAINER_COLUMNS} FROM containers WHERE id LIKE ? ESCAPE '\\'", (escaped + "%",))]

    def list_containers(self) -> list[ContainerRow]:
        return [_container(r) for r in self._query(
            f"SELECT {_CONTAINER_COLUMNS} FROM containers ORDER BY created_at DESC")]

    def containers_of_image(self, image_id: str) -> list[ContainerRow]:
        return [_container(r) for r in self._query(
            f"SELECT {_CONTAINER_COLUMNS} FROM containers WHERE image_id = ?", (image_id,))]

    def delete_container(self, id: str) -> bool:
        with self.transaction() as db:
            db.execute("DELETE FROM refs WHERE owner_kind = 'container' AND owner_id = ?", (id,))
            return db.execute("DELETE FROM containers WHERE id = ?", (id,)).rowcount > 0


    # volumes --------------------------------------------------------------------------------

    def add_volume(self, rec: VolumeRecord) -> VolumeRecord:
        """Insert, or return the volume that has that name already."""
        with self.transaction() as db:
            row = db.execute(f"SELECT {_VOLUME_COLUMNS} FROM volumes WHERE name = ?", (rec.name,)).fetchone()
            if row is not None:
                return _volume(row)
            db.execute(f"INSERT INTO volumes ({_VOLUME_COLUMNS}) VALUES (?,?,?,?,?)",
                       (rec.name, rec.driver, rec.created_at, json.dumps(rec.labels), json.dumps(rec.options)))
            return rec

    def find_volume(self, name: str) -> VolumeRecord | None:
        rows = self._query(f"SELECT {_VOLUME_COLUMNS} FROM volumes WHERE name = ?", (name,))
        return _volume(rows[0]) if rows else None

    def list_volumes(self) -> list[VolumeRecord]:
        return [_volume(r) for r in self._query(f"SELECT {_VOLUME_COLUMNS} FROM volumes ORDER BY name")]

    def delete_volume(self, name: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM volumes WHERE name = ?", (name,)).rowcount > 0


    # networks -------------------------------------------------------------------------------

    def add_network(self, rec: NetworkRow) -> None:
        """Insert; AlreadyExists when the name is taken."""
        with self.transaction() as db:
            try:
                db.execute(f"INSERT INTO networks ({_NETWORK_COLUMNS}) VALUES (?,?,?,?)",
                           (rec.id, rec.name, rec.created_at, rec.document))
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"network with name {rec.name} already exists") from None

    def list_networks(self) -> list[NetworkRow]:
        return [NetworkRow(str(r[0]), str(r[1]), float(r[2]), str(r[3]))
                for r in self._query(f"SELECT {_NETWORK_COLUMNS} FROM networks ORDER BY created_at, name")]

    def delete_network(self, id: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM networks WHERE id = ?", (id,)).rowcount > 0


_NETWORK_COLUMNS = "id, name, created_at, document"
_VOLUME_COLUMNS = "name, driver, created_at, labels, options"


def _volume(row: tuple[Any, ...]) -> VolumeRecord:
    return VolumeRecord(str(row[0]), str(row[1]), float(row[2]), dict(json.loads(str(row[3]))),
                        dict(json.loads(str(row[4]))))


_CONTAINER_COLUMNS = "id, name, image_id, created_at, document"


def _container(row: tuple[Any, ...]) -> ContainerRow:
    return ContainerRow(str(row[0]), str(row[1]), str(row[2]), float(row[3]), str(row[4]))


def _lease(row: tuple[Any, ...]) -> LeaseRecord:
    expires = row[2]
    return LeaseRecord(str(row[0]), float(row[1]),
                       float(expires) if expires is not None else None)


__all__ = ["MIGRATIONS", "ContainerRow", "ImageRecord", "LeaseRecord", "MetadataStore", "NetworkRow", "SnapshotRecord",
           "VolumeRecord"]

"""The content store: blobs addressed by digest, kept as an OCI image layout.

``root`` is a plain OCI image layout (``oci-layout``, ``index.json``, ``blobs/<alg>/<hex>``) that
skopeo and umoci read as-is. Partial downloads live under ``ingest_root/<sha256(ref)>/`` (by
default ``root/ingest``, which those tools ignore) so that a pull can resume where it stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.oci.digest import Digest, Digester, DigestMismatch
from dockyard.store.atomic import atomic_write, fsync_dir

_ALGORITHMS = ("sha256", "sha512")
_CHUNK = 1 << 20
OCI_LAYOUT = {"imageLayoutVersion": "1.0.0"}
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: Digest
    size: int
    created_at: float


@dataclass(frozen=True, slots=True)
class IngestStatus:
    ref: str
    offset: int
    total: int | None
    expected: Digest | None
    updated_at: float


def _ingest_name(ref: str) -> str:
    return hashlib.sha256(ref.encode()).hexdigest()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


class ContentWriter:
    """An open ingest. Not thread-safe; one writer per ref at a time (flock on the ingest dir)."""

    def __init__(self, store: LocalContentStore, ref: str, directory: Path, lock_fd: int,
                 expected: Digest | None, total: int | None) -> None:
        self._store = store
        self.ref = ref
        self._dir = directory
        self._lock_fd = lock_fd
        self.expected = expected
        self.total = total
        self._closed = False
        algorithm = expected.algorithm if expected is not None else "sha256"
        self._digester = Digester(algorithm)
        self._file = open(directory / "data", "a+b")  # noqa: SIM115 - lives as long as the writer
        # Resume: re-hash what an earlier attempt already wrote.
        self._file.seek(0)
        while chunk := self._file.read(_CHUNK):
            self._digester.update(chunk)
        self._file.seek(0, os.SEEK_END)

    @property
    def offset(self) -> int:
        """Bytes written so far (including those of an earlier, resumed attempt)."""
        return self._digester.size

    def digest(self) -> Digest:
        return self._digester.digest()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._check_open()
        self._file.write(data)
        self._digester.update(data)
        return len(data)

    def truncate(self, size: int = 0) -> None:
        """Drop everything after ``size`` bytes (a restart when the server cannot resume)."""
        self._check_open()
        self._file.flush()
        self._file.truncate(size)
        self._file.seek(0)
        self._digester = Digester(self._digester.algorithm)
        while self._digester.size < size and (chunk := self._file.read(min(_CHUNK, size - self._digester.size))):
            self._digester.update(chunk)
        self._file.seek(0, os.SEEK_END)

    def commit(self, *, expected: Digest | None = None, size: int | None = None) -> Digest:
        """Verify, then move the data into ``blobs/`` atomically. A bad ingest is discarded."""
        self._check_open()
        expected = expected if expected is not None else self.expected
        size = size if size is not None else self.total
        self._file.flush()
        os.fsync(self._file.fileno())
        actual = self.digest()
        if expected is not None and expected.algorithm != actual.algorithm:
            actual = self._rehash(expected.algorithm)
        actual_size = self.offset
        if (size is not None and size != actual_size) or (expected is not None and expected != actual):
            self.abort()
            raise DigestMismatch(expected or actual, actual, expected_size=size, actual_size=actual_size)
        self._file.close()
        target = self._store.path(actual)
        if target.exists():
            self._remove()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self._dir / "data", 0o644)
            os.rename(self._dir / "data", target)
            fsync_dir(target.parent)
            self._remove()
        return actual

    def _rehash(self, algorithm: str) -> Digest:
        d = Digester(algorithm)
        self._file.seek(0)
        while chunk := self._file.read(_CHUNK):
            d.update(chunk)
        return d.digest()

    def close(self) -> None:
        """Stop writing but keep the partial ingest for a later resume."""
        if self._closed:
            return
        with contextlib.suppress(OSError):
            self._file.flush()
        self._file.close()
        with contextlib.suppress(OSError):
            (self._dir / "updatedat").write_text(repr(time.time()))
        self._release()

    def abort(self) -> None:
        """Stop writing and delete the partial ingest."""
        if self._closed:
            return
        self._file.close()
        self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        self._closed = True
        os.close(self._lock_fd)

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidArgument(f"content writer for ref {self.ref} is closed")

    def __enter__(self) -> ContentWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class LocalContentStore:
    """Blobs by digest on the local disk, laid out as an OCI image layout."""

    def __init__(self, root: str | Path, *, ingest_root: str | Path | None = None) -> None:
        self.root = Path(root)
        self.ingest_root = Path(ingest_root) if ingest_root is not None else self.root / "ingest"
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        self.ingest_root.mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").exists():
            atomic_write(self.root / "oci-layout", json.dumps(OCI_LAYOUT).encode())
        if not (self.root / "index.json").exists():
            self.set_index([])

    # blobs ----------------------------------------------------------------------------------

    def path(self, digest: Digest) -> Path:
        """Where the blob lives (or would live); does not check that it exists."""
        return self.root / "blobs" / digest.algorithm / digest.hex

    def info(self, digest: Digest) -> BlobInfo | None:
        try:
            st = self.path(digest).stat()
        except FileNotFoundError:
            return None
        return BlobInfo(digest, st.st_size, st.st_mtime)

    def exists(self, digest: Digest) -> bool:
        return self.path(digest).is_file()

    def open(self, digest: Digest) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise NotFound(f"content digest {digest}: not found")

    def read_bytes(self, digest: Digest, max_size: int | None = None) -> bytes:
        with self.open(digest) as f:
            if max_size is not None:
                size = os.fstat(f.fileno()).st_size
                if size > max_size:
                    raise InvalidArgument(f"content {digest} is {size} bytes, more than the limit of {max_size}")
            return f.read()

    def digests(self) -> Iterator[Digest]:
        for algorithm in _ALGORITHMS:
            directory = self.root / "blobs" / algorithm
            try:
                names = sorted(os.listdir(directory))
            except FileNotFoundError:
                continue
            for name in names:
                text = f"{algorithm}:{name}"
                if Digest.is_digest(text):
                    yield Digest.parse(text)

    def delete(self, digest: Digest) -> int:
        """Remove a blob; returns the bytes freed."""
        path = self.path(digest)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"content digest {digest}: not found")
        return size

    def total_size(self) -> int:
        total = 0
        for d in self.digests():
            info = self.info(d)
            if info is not None:
                total += info.size
        return total

    def write_blob(self, data: bytes, *, expected: Digest | None = None) -> Digest:
        """Store ``data`` in one go (manifests, configs); idempotent."""
        digest = Digest.from_bytes(data, expected.algorithm if expected is not None else "sha256")
        if expected is not None and digest != expected:
            raise DigestMismatch(expected, digest)
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.ingest_root, prefix=".blob-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fchmod(f.fileno(), 0o644)
                os.fsync(f.fileno())
            os.rename(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        fsync_dir(target.parent)
        return digest

    # ingests --------------------------------------------------------------------------------

    def writer(self, ref: str, *, expected: Digest | None = None, total: int | None = None) -> ContentWriter:
        """Open (or resume) the ingest for ``ref``; Conflict while another writer holds it."""
        if not ref:
            raise InvalidArgument("content writer needs a non-empty ref")
        directory = self.ingest_root / _ingest_name(ref)
        lock_fd = self._lock_ingest(ref, directory)
        try:
            (directory / "ref").write_text(ref)
            if expected is None:
                text = _read_text(directory / "expected")
                expected = Digest.parse(text) if text else None
            else:
                (directory / "expected").write_text(str(expected))
            if total is None:
                text = _read_text(directory / "total")
                total = int(text) if text else None
            else:
                (directory / "total").write_text(str(total))
            (directory / "updatedat").write_text(repr(time.time()))
            return ContentWriter(self, ref, directory, lock_fd, expected, total)
        except BaseException:
            os.close(lock_fd)
            raise

    @staticmethod
    def _lock_ingest(ref: str, directory: Path) -> int:
        while True:
            directory.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock_fd)
                raise Conflict(f"ref {ref} locked: another writer is ingesting it")
            # The ingest may have been removed between open and flock: then our lock is on a
            # dead inode and we must try again on the fresh one.
            try:
                if os.stat(directory / "lock").st_ino == os.fstat(lock_fd).st_ino:
                    return lock_fd
            except FileNotFoundError:
                pass
            os.close(lock_fd)

    def ingests(self) -> list[IngestStatus]:
        out: list[IngestStatus] = []
        try:
            names = sorted(os.listdir(self.ingest_root))
        except FileNotFoundError:
            return out
        for name in names:
            directory = self.ingest_root / name
            ref = _read_text(directory / "ref")
            if ref is None:
                continue
            try:
                st = (directory / "data").stat()
                offset, mtime = st.st_size, st.st_mtime
            except FileNotFoundError:
                offset, mtime = 0, 0.0
            updated = _read_text(directory / "updatedat")
            expected = _read_text(directory / "expected")
            total = _read_text(directory / "total")
            out.append(IngestStatus(
                ref=ref,
                offset=offset,
                total=int(total) if total else None,
                expected=Digest.parse(expected) if expected and Digest.is_digest(expected) else None,
                updated_at=max(float(updated) if updated else 0.0, mtime),
            ))
        return out

    def abort_ingest(self, ref: str) -> None:
        """Delete a partial ingest; Conflict while a writer holds it, NotFound when absent."""
        directory = self.ingest_root / _ingest_name(ref)
        try:
            lock_fd = os.open(directory / "lock", os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)
                return
            raise NotFound(f"ingest ref {ref}: not found")
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(f"ref {ref} locked: another writer is ingesting it")
        else:
            shutil.rmtree(directory, ignore_errors=True)
        finally:
            os.close(lock_fd)

    # index.json -----------------------------------------------------------------------------

    def set_index(self, manifests: Sequence[dict[str, Any]]) -> None:
        index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": list(manifests)}
        atomic_write(self.root / "index.json", json.dumps(index, separators=(",", ":")).encode())

    def get_index(self) -> list[dict[str, Any]]:
        try:
            data = json.loads((self.root / "index.json").read_bytes())
        except FileNotFoundError:
            return []
        manifests = data.get("manifests") or []
        if not isinstance(manifests, list):
            return []
        return [m for m in manifests if isinstance(m, dict)]

__all__ = ["BlobInfo", "ContentWriter", "IngestStatus", "LocalContentStore"]

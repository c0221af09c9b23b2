"""Leases: keep content and snapshots alive while an operation (a pull, a build) is in flight."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dockyard.errors import NotFound
from dockyard.store.metadata import MetadataStore


@dataclass(frozen=True, slots=True)
class Lease:
    id: str
    expires_at: float | None
    _metadata: MetadataStore

    def add(self, kind: str, key: str) -> None:
        """Protect a resource ("content" digest, "snapshot" key or "ingest" ref) from GC."""
        self._metadata.add_lease_resource(self.id, kind, key)


class LeaseManager:
    def __init__(self, metadata: MetadataStore) -> None:
        self._md = metadata

    def create(self, *, expire_after: float | None = 3600, prefix: str = "lease") -> Lease:
        lease_id = f"{prefix}-{secrets.token_hex(8)}"
        expires = time.time() + expire_after if expire_after is not None else None
        self._md.create_lease(lease_id, expires_at=expires)
        return Lease(lease_id, expires, self._md)

    def delete(self, lease: Lease | str) -> None:
        self._md.delete_lease(lease.id if isinstance(lease, Lease) else lease)

    @contextmanager
    def temporary(self, expire_after: float = 3600) -> Iterator[Lease]:
        """A lease for the duration of the with-block; it expires anyway if the process dies."""
        lease = self.create(expire_after=expire_after)
        try:
            yield lease
        finally:
            try:
                self.delete(lease)
            except NotFound:
                pass  # GC already dropped it as expired


__all__ = ["Lease", "LeaseManager"]

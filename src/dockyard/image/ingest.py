"""Names of content-store ingests, which say whether a partial ingest can ever be resumed."""

from __future__ import annotations

import uuid

from dockyard.oci.digest import Digest

LOAD_PREFIX = "load-"
IMPORT_PREFIX = "import-"


def load_ref() -> str:
    return f"{LOAD_PREFIX}{uuid.uuid4().hex}"


def import_ref() -> str:
    return f"{IMPORT_PREFIX}{uuid.uuid4().hex}"


def fetch_ref(digest: Digest) -> str:
    """One ingest per blob: a later pull of the same blob finds and continues it."""
    return f"fetch-{digest}"


def is_resumable_ingest(ref: str) -> bool:
    """Loads and imports stream from a client that is gone once they fail; fetches can resume."""
    return not ref.startswith((LOAD_PREFIX, IMPORT_PREFIX))

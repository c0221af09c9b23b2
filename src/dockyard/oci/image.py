"""The image model in one import: config, manifest, index, chain IDs and timestamps.

Each concept lives in its own module (``config``, ``manifest``, ``timefmt``); this module gathers
them under the names the rest of dockyard uses.
"""

from __future__ import annotations

from dockyard.oci.config import ContainerConfig, HealthConfig, HistoryEntry, ImageConfig, chain_ids
from dockyard.oci.manifest import Index, Manifest, parse_any
from dockyard.oci.timefmt import format_rfc3339, format_rfc3339_ns, parse_rfc3339, parse_rfc3339_ns

__all__ = [
    "ContainerConfig",
    "HealthConfig",
    "HistoryEntry",
    "ImageConfig",
    "Index",
    "Manifest",
    "chain_ids",
    "format_rfc3339",
    "format_rfc3339_ns",
    "parse_any",
    "parse_rfc3339",
    "parse_rfc3339_ns",
]

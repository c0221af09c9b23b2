"""The config hash label: a digest of the service's normalised configuration.

Compose compares it with the label of a running container to decide whether to recreate it. What
does not shape the container itself (how many replicas, the order of start-up, profiles, when to
pull, whether ``up`` shows its logs) is left out, so changing it recreates nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace

from dockyard.compose.model import Service
from dockyard.compose.serialize import service_dict

EXCLUDED = ("scale", "depends_on", "profiles", "pull_policy", "attach")


def config_hash(service: Service, container_of: Callable[[str], str] | None = None) -> str:
    """The digest; with ``container_of``, ``service:x`` references (network_mode, volumes_from)
    count as the container they name now, as Compose resolves them before hashing: recreating x
    then recreates what shares its namespace or volumes."""
    if container_of is not None:
        service = resolve_service_references(service, container_of)
    data = service_dict(service)
    for key in EXCLUDED:
        data.pop(key, None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def resolve_service_references(service: Service, container_of: Callable[[str], str]) -> Service:
    mode = service.network_mode
    if mode.startswith("service:"):
        mode = "container:" + container_of(mode[len("service:"):])
    sources = []
    for source in service.volumes_from:
        if not source.startswith("container:"):
            name, colon, access = source.partition(":")
            source = f"container:{container_of(name)}{colon}{access}"
        sources.append(source)
    return replace(service, network_mode=mode, volumes_from=tuple(sources))


__all__ = ["EXCLUDED", "config_hash", "resolve_service_references"]

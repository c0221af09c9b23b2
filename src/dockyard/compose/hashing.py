"""The config hash label: a digest of the service's normalised configuration.

Compose compares it with the label of a running container to decide whether to recreate it. What
does not shape the container itself (how many replicas, the order of start-up, profiles, when to
pull, whether ``up`` shows its logs) is left out, so changing it recreates nothing.
"""

from __future__ import annotations

import hashlib
import json

from dockyard.compose.model import Service
from dockyard.compose.serialize import service_dict

EXCLUDED = ("scale", "depends_on", "profiles", "pull_policy", "attach")


def config_hash(service: Service) -> str:
    data = service_dict(service)
    for key in EXCLUDED:
        data.pop(key, None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


__all__ = ["EXCLUDED", "config_hash"]

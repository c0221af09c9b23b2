"""Which containers ``GET /containers/json`` lists: its ``all`` flag and ``filters``."""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.engine.containers.record import ContainerRecord

LIST_FILTERS = {"id", "name", "label", "status", "ancestor", "exited", "before", "since", "network", "volume",
                "health", "publish", "expose", "is-task"}


def select(records: Iterable[ContainerRecord], filters: dict[str, list[str]], *, show_all: bool) -> list[ContainerRecord]:
    """The records to list, in the order given, as Docker selects them."""
    return [r for r in records if (show_all or r.state.running) and _matches(r, filters)]


def _matches(rec: ContainerRecord, filters: dict[str, list[str]]) -> bool:
    if "id" in filters and not any(rec.id.startswith(v) for v in filters["id"]):
        return False
    if "name" in filters and not any(v.lstrip("/") in rec.name for v in filters["name"]):
        return False
    if "status" in filters and rec.state.status not in filters["status"]:
        return False
    if "exited" in filters and (rec.state.status != "exited" or str(rec.state.exit_code) not in filters["exited"]):
        return False
    if "ancestor" in filters and not any(a in (rec.image, rec.image_id) or rec.image_id.split(":")[-1].startswith(a)
                                         for a in filters["ancestor"]):
        return False
    labels = rec.config.get("Labels") or {}
    for expr in filters.get("label", []):
        key, sep, value = expr.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True

"""Progress events as Docker's JSON messages (pull, push)."""

from __future__ import annotations

from typing import Any

from dockyard.image.progress import Progress
from dockyard.units import human_size

_BAR_WIDTH = 50


def progress_bar(current: int, total: int | None) -> str:
    if not total or total <= 0:
        return f"{human_size(current):>8}"
    bars = min(_BAR_WIDTH, int(current * _BAR_WIDTH / total))
    spaces = max(0, _BAR_WIDTH - bars)
    return f"[{'=' * bars}>{' ' * spaces}] {human_size(current):>8}/{human_size(total)}"


def progress_json(p: Progress) -> dict[str, Any]:
    if p.aux:
        return {"progressDetail": {}, "aux": dict(p.aux)}
    out: dict[str, Any] = {"status": p.status}
    if p.current is not None:
        out["progressDetail"] = {"current": p.current, **({"total": p.total} if p.total else {})}
        out["progress"] = progress_bar(p.current, p.total)
    elif p.id:
        out["progressDetail"] = {}
    if p.id:
        out["id"] = p.id
    return out

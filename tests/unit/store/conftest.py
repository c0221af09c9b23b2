from __future__ import annotations

from store_fixtures import world

__all__ = ["world"]

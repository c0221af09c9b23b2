"""Docker's ``label`` filter on one object: ``key`` present, or ``key=value`` equal
(filters.Args.MatchKVList, for one expression)."""

from __future__ import annotations

from collections.abc import Mapping


def label_matches(labels: Mapping[str, object], expr: str) -> bool:
    key, sep, value = expr.partition("=")
    return key in labels and (not sep or labels[key] == value)


__all__ = ["label_matches"]

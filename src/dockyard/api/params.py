"""Query-string conventions of the Engine API: booleans, filters, JSON bodies."""

from __future__ import annotations

import json
import time
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.http.server import Request
from dockyard.oci.image import parse_rfc3339
from dockyard.units import parse_go_duration

_TRUE = {"1", "true", "True", "TRUE", "yes"}
_FALSE = {"", "0", "false", "False", "FALSE", "no"}


def flag(req: Request, name: str, default: bool = False) -> bool:
    value = req.query_value(name)
    if value is None:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidArgument(f"invalid boolean value for {name}: {value!r}")


def integer(req: Request, name: str, default: int | None = None) -> int | None:
    value = req.query_value(name)
    if value in (None, ""):
        return default
    try:
        return int(value or 0)
    except ValueError as exc:
        raise InvalidArgument(f"invalid value for {name}: {value!r}") from exc


def filters(req: Request) -> dict[str, list[str]]:
    """Both shapes clients send: ``{"k":{"v":true}}`` (CLI) and ``{"k":["v"]}`` (docker-py)."""
    raw = req.query_value("filters")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"invalid filter: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InvalidArgument("invalid filter: expected an object")
    out: dict[str, list[str]] = {}
    for key, value in parsed.items():
        if isinstance(value, dict):
            out[key] = [k for k, v in value.items() if v]
        elif isinstance(value, list):
            out[key] = [str(v) for v in value]
        elif isinstance(value, str):
            out[key] = [value]
        else:
            raise InvalidArgument(f"invalid filter value for {key!r}")
    return out


def check_filter_keys(given: dict[str, list[str]], accepted: set[str]) -> None:
    for key in given:
        if key not in accepted:
            raise InvalidArgument(f"invalid filter '{key}'")


def timestamp_ns(text: str | None) -> int | None:
    """``since``/``until``: unix seconds (with optional fraction), RFC 3339, or a Go duration ago."""
    if not text:
        return None
    whole, dot, fraction = text.partition(".")
    if whole.lstrip("-").isdigit() and (not dot or (fraction.isdigit() and len(fraction) <= 9)):
        # exact, as the CLI sends it ("1700000000.123456789"): a float would round the nanoseconds
        ns = abs(int(whole)) * 1_000_000_000 + int(fraction.ljust(9, "0") if dot else 0)
        return -ns if whole.startswith("-") else ns
    try:
        return int(float(text) * 1e9)
    except ValueError:
        pass
    try:
        return int(parse_rfc3339(text) * 1e9)
    except (ValueError, InvalidArgument):
        pass
    seconds = parse_go_duration(text)
    if seconds is None:
        raise InvalidArgument(f"invalid timestamp: {text!r}")
    return int((time.time() - seconds) * 1e9)


async def json_body(req: Request) -> Any:
    data = await req.read_body()
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise InvalidArgument(f"invalid JSON: {exc}") from exc

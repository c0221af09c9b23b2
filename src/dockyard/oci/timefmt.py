"""RFC 3339 timestamps as Go writes them (``time.RFC3339Nano``): ``2024-01-02T03:04:05.123456789Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dockyard.errors import InvalidArgument

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 10**9


def parse_rfc3339_ns(text: str) -> int:
    """Nanoseconds since the Unix epoch for an RFC 3339 timestamp (any offset, any precision)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise InvalidArgument(f"invalid timestamp {text!r}: not RFC 3339")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    try:
        when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise InvalidArgument(f"invalid timestamp {text!r}: {exc}") from exc
    seconds = (when - _EPOCH) // timedelta(seconds=1)
    if m.group(9):
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        seconds -= offset if m.group(9) == "+" else -offset
    frac = (m.group(7) or "")[:9].ljust(9, "0")
    return seconds * _NS + int(frac)


def parse_rfc3339(text: str) -> float:
    """Seconds since the Unix epoch (fractional) for an RFC 3339 timestamp."""
    return parse_rfc3339_ns(text) / _NS


def format_rfc3339_ns(ns: int) -> str:
    """Go's RFC3339Nano in UTC: trailing zeros of the fraction dropped, ``Z`` suffix."""
    seconds, frac = divmod(ns, _NS)
    t = _EPOCH + timedelta(seconds=seconds)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def format_rfc3339(unix: float) -> str:
    """Format seconds since the epoch; the fraction is taken from the number's shortest decimal
    form, so ``1.5`` gives ``.5`` and not binary noise."""
    ns = int((Decimal(repr(unix)) * _NS).to_integral_value())
    return format_rfc3339_ns(ns)


__all__ = ["format_rfc3339", "format_rfc3339_ns", "parse_rfc3339", "parse_rfc3339_ns"]

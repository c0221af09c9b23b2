"""Reading raw YAML values into typed ones, with errors that name the place (``services.web.tty``).

After interpolation a boolean or a number may arrive as a string (``tty: ${TTY}``); these helpers
accept both spellings, as Compose does.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from dockyard.compose.errors import InvalidProject
from dockyard.units import parse_ram

_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "null"


def wrong_type(path: str, expected: str, value: Any) -> InvalidProject:
    return InvalidProject(f"{path} must be a {expected}, not a {_describe(value)}")


def as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise wrong_type(path, "mapping", value)
    for key in value:
        if not isinstance(key, str):
            raise InvalidProject(f"{path}: keys must be strings, not {key!r}")
    return value


def as_str(value: Any, path: str, *, allow_numbers: bool = True) -> str:
    if isinstance(value, str):
        return value
    if allow_numbers and isinstance(value, int | float) and not isinstance(value, bool):
        return scalar_text(value)
    raise wrong_type(path, "string", value)


def scalar_text(value: Any) -> str:
    """A scalar as Compose writes it into a string: true/false, integers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise wrong_type(path, "boolean", value)


def as_int(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+", value.strip()):
        return int(value.strip())
    raise wrong_type(path, "integer", value)


def as_float(value: Any, path: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise wrong_type(path, "number", value)


def as_str_list(value: Any, path: str) -> tuple[str, ...]:
    """A list of strings, or a single string as a one-element list."""
    if value is None:
        return ()
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return (scalar_text(value),)
    if not isinstance(value, list):
        raise wrong_type(path, "list of strings", value)
    return tuple(as_str(item, f"{path}[{i}]") for i, item in enumerate(value))


def as_command(value: Any, path: str) -> tuple[str, ...] | None:
    """``command``/``entrypoint``: a list as is, a string split as a shell would (no shell run)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:
            raise InvalidProject(f"{path}: {exc}") from None
    if isinstance(value, list):
        return tuple(as_str(item, f"{path}[{i}]") for i, item in enumerate(value))
    raise wrong_type(path, "string or list", value)


def as_list_or_dict(value: Any, path: str, *, separator: str = "=") -> dict[str, str | None]:
    """``environment``/``labels``-style values: a map, or a list of ``KEY=VALUE`` (``KEY`` alone is
    a name without a value, None)."""
    if value is None:
        return {}
    result: dict[str, str | None] = {}
    if isinstance(value, Mapping):
        for key, item in as_mapping(value, path).items():
            if isinstance(item, list | Mapping):
                raise wrong_type(f"{path}.{key}", "string, number, boolean or null", item)
            result[key] = None if item is None else scalar_text(item)
        return result
    if isinstance(value, list):
        for i, item in enumerate(value):
            text = as_str(item, f"{path}[{i}]")
            key, sep, val = text.partition(separator)
            result[key] = val if sep else None
        return result
    raise wrong_type(path, "mapping or list", value)


def as_bytes(value: Any, path: str) -> int:
    """A size: bytes as a number, or "512m", "1g", "64MiB"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_ram(value.strip())
        except ValueError as exc:
            raise InvalidProject(f"{path}: {exc}") from None
    raise wrong_type(path, "size", value)


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h|d)")


def as_duration(value: Any, path: str) -> float:
    """Seconds in a Go duration ("1m30s", "500ms", "1.5h"); a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
            return float(text)
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    raise InvalidProject(f'{path}: invalid duration "{value}"')


def format_duration(seconds: float) -> str:
    """Go's Duration.String() for the durations compose files use: "1m30s", "500ms", "0s"."""
    if seconds == 0:
        return "0s"
    nanos = round(seconds * 1e9)
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size or unit == "ns":
                value = nanos / size
                return f"{value:g}{unit}"
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = rest / 1e9
    text = ""
    if hours:
        text += f"{hours}h"
    if hours or minutes:
        text += f"{minutes}m"
    text += f"{secs:g}s"
    return text


def check_keys(value: Mapping[str, Any], allowed: frozenset[str], path: str, source: str = "") -> None:
    """Compose's schema error for keys it does not know (``x-`` extensions are always allowed)."""
    unknown = sorted(k for k in value if k not in allowed and not str(k).startswith("x-"))
    if unknown:
        names = ", ".join(f"'{k}'" for k in unknown)
        where = f"validating {source}: " if source else ""
        subject = f"{path} " if path else ""
        raise InvalidProject(f"{where}{subject}additional properties {names} not allowed")


__all__ = [
    "as_bool",
    "as_bytes",
    "as_command",
    "as_duration",
    "as_float",
    "as_int",
    "as_list_or_dict",
    "as_mapping",
    "as_str",
    "as_str_list",
    "check_keys",
    "format_duration",
    "scalar_text",
    "wrong_type",
]

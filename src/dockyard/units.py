"""Docker's human-readable sizes and durations (github.com/docker/go-units), byte for byte.

Shared by the CLI (tables) and the daemon (``ps`` status text, progress bars)."""

from __future__ import annotations

import re

_DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _scale(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def _go_g(value: float, precision: int) -> str:
    # Python's %g and Go's %g agree on digits and on the two-digit exponent ("1e+03").
    return f"{value:.{precision}g}"


def human_size_with_precision(size: float, precision: int) -> str:
    """units.HumanSizeWithPrecision: decimal units, ``precision`` significant digits."""
    value, unit = _scale(float(size), 1000.0, _DECIMAL)
    return f"{_go_g(value, precision)}{unit}"


def human_size(size: float) -> str:
    """units.HumanSize: precision 4 ("1.234MB")."""
    return human_size_with_precision(size, 4)


def bytes_size(size: float) -> str:
    """units.BytesSize: binary units, precision 4 ("1.5MiB")."""
    value, unit = _scale(float(size), 1024.0, _BINARY)
    return f"{_go_g(value, 4)}{unit}"


def human_duration(seconds_float: float) -> str:
    """units.HumanDuration: "Less than a second", "About a minute", "3 weeks"…"""
    seconds = int(seconds_float)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(seconds_float / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds_float / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds_float / 3600) // 24 // 365} years"


_BINARY_MULT = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def _parse_float(num: str) -> float:
    if not re_float(num):
        raise ValueError(f'strconv.ParseFloat: parsing "{num}": invalid syntax')
    return float(num)


def re_float(text: str) -> bool:
    import re

    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) is not None


_DECIMAL_MULT = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}


def parse_ram(text: str) -> int:
    """units.RAMInBytes: "512m", "1.5g", "64MiB" (binary multiples); errors as go-units words them."""
    return _parse_size(text, _BINARY_MULT)


def parse_human_size(text: str) -> int:
    """units.FromHumanSize: "10m" is 10 000 000 bytes (decimal multiples), as the log drivers read it."""
    return _parse_size(text, _DECIMAL_MULT)


def _parse_size(text: str, multiples: dict[str, int]) -> int:
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise ValueError(f"invalid size: '{text}'")
    if text[sep] != " ":
        num, sfx = text[: sep + 1], text[sep + 1 :]
    else:
        num, sfx = text[:sep], text[sep + 1 :]
    size = _parse_float(num)
    if size < 0:
        raise ValueError(f"invalid size: '{text}'")
    if not sfx:
        return int(size)
    low = sfx.lower()
    bad = ValueError(f"invalid suffix: '{low if len(sfx) <= 3 else sfx}'")
    if len(sfx) > 3:
        raise bad
    if low[0] == "b":
        if len(low) > 1:
            raise bad
        return int(size)
    mult = multiples.get(low[0])
    if mult is None or (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
        raise bad
    return int(size * mult)


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go duration such as ``10m``, ``1h30m`` or ``24h``; None when it is not one."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_go_bool(text: str) -> bool:
    """Go's strconv.ParseBool, with its error text."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def parse_go_int(text: str) -> int:
    """Go's strconv.Atoi (64-bit), with its error text."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text)
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError(f'strconv.Atoi: parsing "{text}": value out of range')
    return value


__all__ = ["bytes_size", "human_duration", "human_size", "human_size_with_precision", "parse_go_bool",
           "parse_go_duration", "parse_go_int", "parse_human_size", "parse_ram"]

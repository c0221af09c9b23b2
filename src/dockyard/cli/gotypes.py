"""Go values for the CLI's templates: what the docker CLI's templates see is the API's Go structs
(fields in Go's order, printed as fmt prints them, encoded with the JSON names and omitempty), Go
times and maps, and the order of Go's natural sort for names."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from dockyard.cli.template import NO_VALUE, MissingField, TemplateError, go_str

JSON = dict[str, Any]
ZERO_TIME = "0001-01-01 00:00:00 +0000 UTC"


def natural_less(a: str, b: str) -> bool:
    """The order of docker's ``network ls`` (sortorder.NaturalLess): runs of digits compare as
    numbers (fewer leading zeros first), digits before other characters, the rest bytewise."""
    i = j = 0
    while i < len(a) and j < len(b):
        digit_a, digit_b = a[i].isascii() and a[i].isdigit(), b[j].isascii() and b[j].isdigit()
        if digit_a != digit_b:
            return digit_a
        if not digit_a:
            if a[i] != b[j]:
                return a[i] < b[j]
            i += 1
            j += 1
            continue
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        start_a, start_b = i, j
        while i < len(a) and "0" <= a[i] <= "9":
            i += 1
        while j < len(b) and "0" <= b[j] <= "9":
            j += 1
        if i - start_a != j - start_b:
            return i - start_a < j - start_b
        if a[start_a:i] != b[start_b:j]:
            return a[start_a:i] < b[start_b:j]
        if start_a != start_b:
            return start_a < start_b
    return len(a) < len(b)


def natural_cmp(a: str, b: str) -> int:
    return -1 if natural_less(a, b) else 1 if natural_less(b, a) else 0


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)")


def go_time(text: str) -> str:
    """Go's time.Time.String() of an RFC 3339 timestamp as the API sends it:
    "2024-01-02 15:04:05.123456789 +0000 UTC" (the zone named when it is the local one)."""
    match = _RFC3339.fullmatch(text or "")
    if match is None:
        return ZERO_TIME
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    fraction = (fraction or "")[:9].rstrip("0")
    clock = f"{year}-{month}-{day} {hour}:{minute}:{second}" + (f".{fraction}" if fraction else "")
    if zone in ("Z", "z"):
        return f"{clock} +0000 UTC"
    numeric = zone[0] + zone[1:3] + zone[4:6]
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * (-1 if zone[0] == "-" else 1)
    name = numeric
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          tzinfo=timezone(offset)).astimezone()
        if moment.utcoffset() == offset:
            name = moment.tzname() or numeric
    except (ValueError, OverflowError, OSError):
        pass
    return f"{clock} {numeric} {name}"


def _plain(value: Any) -> Any:
    """A typed value as the JSON encoder sees it."""
    if isinstance(value, GoStruct):
        return value.json_value()
    if isinstance(value, GoMap | GoSlice) and value.nil:
        return None
    if isinstance(value, GoTime):
        return value.raw
    if isinstance(value, Mapping):  # encoding/json writes a map's keys sorted
        return {str(k): _plain(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _empty(value: Any) -> bool:
    """Go's omitempty: false, 0, "", nil, and empty maps and slices (never a struct)."""
    if isinstance(value, GoStruct | GoTime):
        return False
    return value is None or value is False or value == 0 or value == "" or \
        (isinstance(value, Mapping | list | tuple) and len(value) == 0)


class GoStruct:
    """A value of one of the API's Go structs: fields in Go's order, printed as fmt's %v prints a
    struct ("{a b c}") and encoded by ``json`` with the JSON names and omitempty rules."""

    def __init__(self, type_name: str, fields: list[tuple[str, str, Any, bool]]) -> None:
        self.type_name = type_name
        self.fields = fields  # (Go name, JSON name, value, omitempty)
        self._values = {name: value for name, _, value, _ in fields}

    def template_field(self, name: str) -> Any:
        if name not in self._values:
            raise MissingField(name)
        return self._values[name]

    def json_value(self) -> JSON:
        return {key: _plain(value) for _, key, value, omitempty in self.fields if not (omitempty and _empty(value))}

    def template_json(self) -> str:
        return dumps(self.json_value())

    def __str__(self) -> str:
        return "{" + " ".join(go_str(value) for _, _, value, _ in self.fields) + "}"


class GoMap(dict[str, Any]):
    """A Go map; a nil one prints as "map[]" and encodes as null. A missing key is "<no value>" as
    a field (``.Labels.x``) but the element type's zero value for ``index``."""

    def __init__(self, items: Mapping[str, Any] | None = None, *, nil: bool = False, zero: Any = NO_VALUE) -> None:
        super().__init__(items or {})
        self.nil = nil
        self.zero = zero

    def template_field(self, name: str) -> Any:
        return dict.get(self, name, NO_VALUE)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        return default if self.zero is NO_VALUE else self.zero

    def template_json(self) -> str:
        return dumps(_plain(self))


class GoSlice(list[Any]):
    """A Go slice; a nil one prints as "[]" and encodes as null."""

    def __init__(self, items: list[Any] | None = None, *, nil: bool = False) -> None:
        super().__init__(items or [])
        self.nil = nil

    def template_json(self) -> str:
        return dumps(_plain(self))


class GoTime:
    """A time.Time: printed by String(), encoded as the API's RFC 3339 text."""

    def __init__(self, raw: str) -> None:
        self.raw = raw or "0001-01-01T00:00:00Z"

    def template_field(self, name: str) -> Any:
        raise MissingField(name)

    def template_json(self) -> str:
        return dumps(self.raw)

    def __str__(self) -> str:
        return go_time(self.raw)


def text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value)


def string_map(value: Any) -> GoMap:
    if not isinstance(value, Mapping):
        return GoMap(nil=True, zero="")
    return GoMap({str(k): "" if v is None else str(v) for k, v in value.items()}, zero="")


def struct_map(value: Any, convert: Callable[[Mapping[str, Any]], GoStruct]) -> GoMap:
    if not isinstance(value, Mapping):
        return GoMap(nil=True, zero=convert({}))
    return GoMap({str(k): convert(v if isinstance(v, Mapping) else {}) for k, v in value.items()}, zero=convert({}))


def struct_slice(value: Any, convert: Callable[[Mapping[str, Any]], GoStruct]) -> GoSlice:
    if not isinstance(value, list):
        return GoSlice(nil=True)
    return GoSlice([convert(v if isinstance(v, Mapping) else {}) for v in value])


class StrictMap(dict[str, Any]):
    """A JSON object for the raw fallback, which docker executes with "missingkey=error"."""

    def template_field(self, name: str) -> Any:
        if name not in self:
            raise TemplateError(f'map has no entry for key "{name}"')
        return self[name]


def strict(value: Any) -> Any:
    if isinstance(value, Mapping):
        return StrictMap({str(k): strict(v) for k, v in value.items()})
    if isinstance(value, list):
        return [strict(v) for v in value]
    return value


__all__ = ["GoMap", "GoSlice", "GoStruct", "GoTime", "StrictMap", "dumps", "go_time", "natural_cmp", "natural_less",
           "strict", "string_map", "struct_map", "struct_slice", "text"]

"""Checked access to decoded JSON, shared by the OCI codecs (internal)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dockyard.errors import InvalidArgument


def canonical_json(obj: object) -> bytes:
    """Sorted keys, no whitespace: the same object always hashes to the same digest."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def load_object(data: bytes | str, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"invalid {what}: {exc}") from exc
    if not isinstance(obj, dict):
        raise InvalidArgument(f"invalid {what}: expected a JSON object")
    return obj


def opt_str(obj: Mapping[str, Any], key: str, what: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"invalid {what}: {key} must be a string")
    return value


def get_str(obj: Mapping[str, Any], key: str, what: str) -> str:
    return opt_str(obj, key, what) or ""


def opt_str_list(obj: Mapping[str, Any], key: str, what: str) -> tuple[str, ...] | None:
    """A list of strings, or None when absent or null. A lone string counts as a one-item list,
    as Docker's StrSlice decodes it."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"invalid {what}: {key} must be a list of strings")
    return tuple(value)


def get_str_list(obj: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    return opt_str_list(obj, key, what) or ()


def get_int(obj: Mapping[str, Any], key: str, what: str) -> int:
    value = obj.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"invalid {what}: {key} must be an integer")
    return value


def get_bool(obj: Mapping[str, Any], key: str, what: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArgument(f"invalid {what}: {key} must be a boolean")
    return value


def get_object(obj: Mapping[str, Any], key: str, what: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid {what}: {key} must be an object")
    return value


def get_str_map(obj: Mapping[str, Any], key: str, what: str) -> dict[str, str]:
    value = get_object(obj, key, what) or {}
    if not all(isinstance(v, str) for v in value.values()):
        raise InvalidArgument(f"invalid {what}: {key} must map strings to strings")
    return value


def get_key_set(obj: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    """The keys of a Docker "set" object such as ``{"80/tcp": {}}``, sorted."""
    return tuple(sorted(get_object(obj, key, what) or {}))

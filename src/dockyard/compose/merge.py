"""Merging compose files: each later file (``-f b.yml``, an override file) over the earlier ones.

Compose's rules for the common keys: mappings merge key by key; ``environment``, ``labels``,
``sysctls``, ``depends_on`` and ``networks`` merge as mappings whichever syntax each file used;
``ports`` and list options (``dns``, ``cap_add`` …) are joined without duplicates; ``volumes``
merge by mount target; ``command``, ``entrypoint`` and scalars are replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.compose.fields import scalar_text
from dockyard.compose.mounts import volume_target

_AS_MAPPING = frozenset({"environment", "labels", "sysctls", "annotations"})
_AS_KEYED = frozenset({"depends_on", "networks"})
_JOINED = frozenset({"ports", "expose", "dns", "dns_search", "dns_opt", "cap_add", "cap_drop", "env_file",
                     "label_file", "profiles", "security_opt", "group_add", "devices", "volumes_from", "links",
                     "external_links", "tmpfs", "extra_hosts"})
_REPLACED = frozenset({"command", "entrypoint"})


def _kv_mapping(value: Any) -> dict[str, Any]:
    """``["A=1", "B"]`` or ``{"A": 1}`` as a mapping (values left as they are)."""
    if isinstance(value, Mapping):
        return dict(value)
    result: dict[str, Any] = {}
    if isinstance(value, list):
        for item in value:
            key, sep, val = scalar_text(item).partition("=")
            result[key] = val if sep else None
    return result


def _keyed(value: Any) -> dict[str, Any]:
    """``depends_on``/``networks`` lists as mappings of name to (empty) settings."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list):
        return {scalar_text(item): None for item in value}
    return {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def merge_service(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key not in base or base[key] is None or key in _REPLACED or value is None:
            merged[key] = value
        elif key in _AS_MAPPING:
            merged[key] = {**_kv_mapping(base[key]), **_kv_mapping(value)}
        elif key in _AS_KEYED:
            combined = _keyed(base[key])
            for name, settings in _keyed(value).items():
                old = combined.get(name)
                if isinstance(old, Mapping) and isinstance(settings, Mapping):
                    combined[name] = deep_merge(old, settings)
                elif settings is not None or name not in combined:
                    combined[name] = settings
            merged[key] = combined
        elif key == "volumes":
            merged[key] = _merge_volumes(_as_list(base[key]), _as_list(value))
        elif key in _JOINED and isinstance(base[key], Mapping) and isinstance(value, Mapping):
            merged[key] = {**base[key], **value}
        elif key in _JOINED:
            joined = _as_list(base[key])
            for item in _as_list(value):
                if item not in joined:
                    joined.append(item)
            merged[key] = joined
        elif key == "logging" and isinstance(base[key], Mapping) and isinstance(value, Mapping):
            same_driver = value.get("driver") in (None, base[key].get("driver"))
            merged[key] = deep_merge(base[key], value) if same_driver else dict(value)
        elif key == "healthcheck" and isinstance(base[key], Mapping) and isinstance(value, Mapping):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = deep_merge(base[key], value)
    return merged


def _merge_volumes(base: list[Any], override: list[Any]) -> list[Any]:
    result = list(base)
    for item in override:
        target = volume_target(item)
        index = next((i for i, old in enumerate(result) if target is not None and volume_target(old) == target),
                     None)
        if index is None:
            result.append(item)
        else:
            result[index] = item
    return result


def merge_files(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Two parsed (and interpolated) compose files as one."""
    merged = dict(base)
    for key, value in override.items():
        if key == "services" and isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            services = dict(base[key])
            for name, service in value.items():
                old = services.get(name)
                if isinstance(old, Mapping) and isinstance(service, Mapping):
                    services[name] = merge_service(old, service)
                else:
                    services[name] = service
            merged[key] = services
        elif key in base:
            merged[key] = deep_merge(base[key], value)
        else:
            merged[key] = value
    return merged


__all__ = ["deep_merge", "merge_files", "merge_service"]

"""Top-level ``networks`` and ``volumes`` into model.Network and model.Volume."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.compose.errors import InvalidProject, Unsupported
from dockyard.compose.fields import as_bool, as_list_or_dict, as_mapping, as_str, check_keys
from dockyard.compose.model import Ipam, IpamPool, Network, Volume
from dockyard.compose.names import resource_name

NETWORK_KEYS = frozenset({"attachable", "driver", "driver_opts", "enable_ipv4", "enable_ipv6", "external",
                          "internal", "ipam", "labels", "name"})
VOLUME_KEYS = frozenset({"driver", "driver_opts", "external", "labels", "name"})
_IPAM_KEYS = frozenset({"driver", "config", "options"})
_POOL_KEYS = frozenset({"subnet", "gateway", "ip_range", "aux_addresses"})


def _strings(value: Any, path: str) -> dict[str, str]:
    return {k: v or "" for k, v in as_list_or_dict(value, path).items()}


def _external(spec: Mapping[str, Any], path: str, kind: str, key: str) -> tuple[bool, str]:
    """(external, the name it was given); ``external: {name: x}`` is the legacy spelling."""
    raw = spec.get("external")
    if isinstance(raw, Mapping):
        legacy = as_str(raw.get("name") or "", f"{path}.external.name")
        return True, legacy
    external = as_bool(raw or False, f"{path}.external")
    if external:
        conflicting = sorted(k for k in spec if k not in ("external", "name") and not k.startswith("x-"))
        if conflicting:
            raise InvalidProject(f'conflicting parameters "external" and "{conflicting[0]}" specified for '
                                 f'{kind} "{key}"')
    return external, ""


def parse_network(key: str, raw: Any, project: str) -> Network:
    path = f"networks.{key}"
    spec = as_mapping(raw, path)
    check_keys(spec, NETWORK_KEYS, path)
    external, legacy = _external(spec, path, "network", key)
    given = as_str(spec.get("name") or legacy or "", f"{path}.name")
    if as_bool(spec.get("enable_ipv6", False), f"{path}.enable_ipv6"):
        raise Unsupported(f"{path}.enable_ipv6: IPv6 networks are not supported by dockyard compose yet")
    if not as_bool(spec.get("enable_ipv4", True), f"{path}.enable_ipv4"):
        raise Unsupported(f"{path}.enable_ipv4: IPv6-only networks are not supported by dockyard compose yet")
    return Network(
        key=key,
        name=given or (key if external else resource_name(project, key)),
        driver=as_str(spec.get("driver") or "", f"{path}.driver"),
        driver_opts=_strings(spec.get("driver_opts"), f"{path}.driver_opts"),
        internal=as_bool(spec.get("internal", False), f"{path}.internal"),
        attachable=as_bool(spec.get("attachable", False), f"{path}.attachable"),
        labels=_strings(spec.get("labels"), f"{path}.labels"),
        external=external,
        ipam=_ipam(spec.get("ipam"), f"{path}.ipam"),
    )


def _ipam(value: Any, path: str) -> Ipam | None:
    if value is None:
        return None
    spec = as_mapping(value, path)
    check_keys(spec, _IPAM_KEYS, path)
    pools: list[IpamPool] = []
    raw_config = spec.get("config") or []
    if not isinstance(raw_config, list):
        raise InvalidProject(f"{path}.config must be a list")
    for i, item in enumerate(raw_config):
        where = f"{path}.config[{i}]"
        pool = as_mapping(item, where)
        check_keys(pool, _POOL_KEYS, where)
        pools.append(IpamPool(
            subnet=as_str(pool.get("subnet") or "", f"{where}.subnet"),
            gateway=as_str(pool.get("gateway") or "", f"{where}.gateway"),
            ip_range=as_str(pool.get("ip_range") or "", f"{where}.ip_range"),
            aux_addresses=_strings(pool.get("aux_addresses"), f"{where}.aux_addresses"),
        ))
    return Ipam(
        driver=as_str(spec.get("driver") or "", f"{path}.driver"),
        config=tuple(pools),
        options=_strings(spec.get("options"), f"{path}.options"),
    )


def parse_volume(key: str, raw: Any, project: str) -> Volume:
    path = f"volumes.{key}"
    spec = as_mapping(raw, path)
    check_keys(spec, VOLUME_KEYS, path)
    external, legacy = _external(spec, path, "volume", key)
    given = as_str(spec.get("name") or legacy or "", f"{path}.name")
    return Volume(
        key=key,
        name=given or (key if external else resource_name(project, key)),
        driver=as_str(spec.get("driver") or "", f"{path}.driver"),
        driver_opts=_strings(spec.get("driver_opts"), f"{path}.driver_opts"),
        labels=_strings(spec.get("labels"), f"{path}.labels"),
        external=external,
    )


def default_network(project: str) -> Network:
    return Network(key="default", name=resource_name(project, "default"))


__all__ = ["NETWORK_KEYS", "VOLUME_KEYS", "default_network", "parse_network", "parse_volume"]

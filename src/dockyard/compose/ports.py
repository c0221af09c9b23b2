"""``ports`` (short and long syntax) and ``expose``, with the port-spec errors of Docker's nat package."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from dockyard.compose.errors import InvalidProject
from dockyard.compose.fields import as_int, as_mapping, as_str, check_keys, scalar_text, wrong_type
from dockyard.compose.model import PortSpec

PROTOCOLS = ("tcp", "udp", "sctp")
_LONG_KEYS = frozenset({"name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"})


def _port_range(text: str, what: str) -> tuple[int, int]:
    """"80" → (80, 80); "8000-8010" → (8000, 8010)."""
    start, dash, end = text.partition("-")
    try:
        first = int(start)
        last = int(end) if dash else first
    except ValueError:
        raise InvalidProject(f"invalid {what}: {text}") from None
    if not (0 < first <= 65535 and 0 < last <= 65535) or last < first:
        raise InvalidProject(f"invalid {what}: {text}")
    return first, last


def _check_ip(ip: str) -> str:
    if not ip:
        return ""
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise InvalidProject(f"invalid IP address: {ip}") from None
    return ip


def _split_short(spec: str) -> tuple[str, str, str]:
    """(host_ip, host_port, container_port) of "[ip:][host:]container"."""
    if spec.startswith("["):
        end = spec.find("]")
        if end == -1 or not spec[end + 1:].startswith(":"):
            raise InvalidProject(f"invalid IP address: {spec}")
        ip = spec[1:end]
        rest = spec[end + 2:].split(":")
        if len(rest) != 2:
            raise InvalidProject(f"invalid port format: {spec}")
        return ip, rest[0], rest[1]
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    # a bare IPv6 address: everything before the last two fields
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def parse_short(spec: str) -> list[PortSpec]:
    """``[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]``."""
    text = spec.strip()
    protocol = "tcp"
    if "/" in text:
        text, _, protocol = text.rpartition("/")
        if protocol.lower() not in PROTOCOLS:
            raise InvalidProject(f"invalid proto: {protocol}")
        protocol = protocol.lower()
    ip, host, container = _split_short(text)
    if not container:
        raise InvalidProject(f"no port specified: {spec}<empty>")
    ip = _check_ip(ip)
    first, last = _port_range(container, "containerPort")
    if not host:
        return [PortSpec(target=p, host_ip=ip, protocol=protocol) for p in range(first, last + 1)]
    host_first, host_last = _port_range(host, "hostPort")
    if first == last:
        published = str(host_first) if host_first == host_last else f"{host_first}-{host_last}"
        return [PortSpec(target=first, published=published, host_ip=ip, protocol=protocol)]
    if host_last - host_first != last - first:
        raise InvalidProject(f"invalid ranges specified for container and host Ports: {container} and {host}")
    return [PortSpec(target=p, published=str(host_first + i), host_ip=ip, protocol=protocol)
            for i, p in enumerate(range(first, last + 1))]


def parse_long(value: Mapping[str, Any], path: str) -> list[PortSpec]:
    check_keys(value, _LONG_KEYS, path)
    if "target" not in value:
        raise InvalidProject(f"{path}: missing property 'target'")
    target = as_int(value["target"], f"{path}.target")
    if not 0 < target <= 65535:
        raise InvalidProject(f"invalid containerPort: {target}")
    published = scalar_text(value.get("published")) if value.get("published") is not None else ""
    if published:
        host_first, host_last = _port_range(published, "hostPort")
        published = str(host_first) if host_first == host_last else f"{host_first}-{host_last}"
    protocol = as_str(value.get("protocol") or "tcp", f"{path}.protocol").lower()
    if protocol not in PROTOCOLS:
        raise InvalidProject(f"invalid proto: {protocol}")
    mode = as_str(value.get("mode") or "ingress", f"{path}.mode")
    if mode not in ("ingress", "host"):
        raise InvalidProject(f"{path}.mode: invalid port mode {mode!r} (host or ingress)")
    return [PortSpec(
        target=target,
        published=published,
        host_ip=_check_ip(as_str(value.get("host_ip") or "", f"{path}.host_ip")),
        protocol=protocol,
        mode=mode,
        name=as_str(value.get("name") or "", f"{path}.name"),
        app_protocol=as_str(value.get("app_protocol") or "", f"{path}.app_protocol"),
    )]


def parse_ports(value: Any, path: str) -> tuple[PortSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise wrong_type(path, "list", value)
    result: list[PortSpec] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(item, Mapping):
            specs = parse_long(as_mapping(item, where), where)
        elif isinstance(item, str | int) and not isinstance(item, bool):
            try:
                specs = parse_short(str(item))
            except InvalidProject as exc:
                raise InvalidProject(f"{path}: {exc}") from None
        else:
            raise wrong_type(where, "string, number or mapping", item)
        for spec in specs:
            if spec not in result:
                result.append(spec)
    return tuple(result)


def parse_expose(value: Any, path: str) -> tuple[str, ...]:
    """``expose``: "3000", "8000-8010", "53/udp"; kept as written once checked."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise wrong_type(path, "list", value)
    result: list[str] = []
    for i, item in enumerate(value):
        text = as_str(item, f"{path}[{i}]")
        port, _, protocol = text.partition("/")
        if protocol and protocol.lower() not in PROTOCOLS:
            raise InvalidProject(f"{path}: invalid proto: {protocol}")
        _port_range(port, "containerPort")
        if text not in result:
            result.append(text)
    return tuple(result)


def expose_keys(entry: str) -> list[str]:
    """The ExposedPorts keys of one ``expose`` entry ("8000-8001" → 8000/tcp, 8001/tcp)."""
    port, _, protocol = entry.partition("/")
    first, last = _port_range(port, "containerPort")
    return [f"{p}/{(protocol or 'tcp').lower()}" for p in range(first, last + 1)]


__all__ = ["PROTOCOLS", "expose_keys", "parse_expose", "parse_long", "parse_ports", "parse_short"]

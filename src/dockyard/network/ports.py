"""Published ports (``-p``, ``-P``): host ports chosen and kept per container, and the DNAT rules
that send their traffic to the container.

The rules live in the ``publish`` chain of our nftables table, reached for every packet to a
local address from outside (prerouting) and from the host itself (output), each tagged
``dockyard port <container>``. No process holds the host port (as dockerd with its userland
proxy off): the bridge routes the host's own loopback traffic too (``route_localnet``, with a
masquerade), so ``curl localhost:8080`` reaches the container.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from dockyard.errors import Conflict, InvalidArgument
from dockyard.network.nftables import PUBLISH_CHAIN, Json, Table

EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
DEFAULT_EPHEMERAL = (32768, 60999)


@dataclass(frozen=True, slots=True)
class PortRequest:
    """One binding a container asks for: ``host_first..host_last`` (0: any free port)."""

    proto: str
    container_port: int
    host_ip: str = ""
    host_first: int = 0
    host_last: int = 0


@dataclass(frozen=True, slots=True)
class PublishedPort:
    proto: str
    container_port: int
    host_ip: str      # "0.0.0.0" for all addresses
    host_port: int


def port_comment(owner: str) -> str:
    return f"dockyard port {owner}"


def _host_range(text: str, spec: str) -> tuple[int, int]:
    if not text:
        return 0, 0
    first, _, last = text.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        raise InvalidArgument(f"invalid port specification: \"{spec}\"")
    lo, hi = int(first), int(last or first)
    if not 0 < lo <= hi <= 65535:
        raise InvalidArgument(f"invalid port specification: \"{spec}\"")
    return lo, hi


def requests_of(bindings: Mapping[str, Sequence[tuple[str, str]]], *, publish_all: bool,
                exposed: Iterable[str]) -> list[PortRequest]:
    """The bindings of ``HostConfig.PortBindings`` (``"80/tcp" -> [(host ip, host port)]``), plus
    every exposed port on a free host port with ``publish_all`` (``-P``)."""
    out: list[PortRequest] = []
    seen: set[str] = set()
    for key, hosts in sorted(bindings.items()):
        port, _, proto = key.partition("/")
        seen.add(key)
        for host_ip, host_port in hosts or [("", "")]:
            if host_ip and ":" in host_ip:
                continue  # IPv6 host addresses: containers here have IPv4 only
            if host_ip == "0.0.0.0":
                host_ip = ""  # every address, as an empty one
            if host_ip:
                try:
                    IPv4Address(host_ip)
                except ValueError:
                    raise InvalidArgument(f"invalid host IP address: {host_ip}") from None
            first, last = _host_range(host_port, f"{host_port}:{key}")
            out.append(PortRequest(proto or "tcp", int(port), host_ip, first, last))
    if publish_all:
        for key in sorted(exposed):
            if key not in seen:
                port, _, proto = key.partition("/")
                out.append(PortRequest(proto or "tcp", int(port)))
    return out


def ephemeral_range() -> tuple[int, int]:
    try:
        with open(EPHEMERAL_RANGE_FILE) as f:
            lo, hi = (int(v) for v in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL


def _bindable(proto: str, host_ip: str, port: int) -> bool:
    """Whether nothing on the host holds the port (a service there would never see its traffic)."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind((host_ip or "0.0.0.0", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


class PortAllocator:
    """Which host ports our containers hold (rebuilt from the running ones at daemon start)."""

    def __init__(self, *, probe: bool = True) -> None:
        self._taken: dict[tuple[str, str, int], str] = {}  # (proto, host ip, port) -> owner
        self._lock = threading.Lock()
        self._probe = probe

    def _free(self, proto: str, host_ip: str, port: int) -> bool:
        for taken_proto, taken_ip, taken_port in self._taken:
            # "" is every address: it clashes with any other address on the same port
            if (taken_proto, taken_port) == (proto, port) and (taken_ip == host_ip or not taken_ip or not host_ip):
                return False
        return not self._probe or _bindable(proto, host_ip, port)

    def allocate(self, owner: str, requests: Sequence[PortRequest]) -> list[PublishedPort]:
        """Host ports for every request, all or none; Conflict in dockerd's words when a fixed
        port is taken."""
        done: list[PublishedPort] = []
        with self._lock:
            try:
                for req in requests:
                    port = self._pick(req)
                    self._taken[(req.proto, req.host_ip, port)] = owner
                    done.append(PublishedPort(req.proto, req.container_port, req.host_ip or "0.0.0.0", port))
            except BaseException:
                for p in done:
                    self._taken.pop((p.proto, "" if p.host_ip == "0.0.0.0" else p.host_ip, p.host_port), None)
                raise
        return done

    def _pick(self, req: PortRequest) -> int:
        first, last = (req.host_first, req.host_last) if req.host_first else ephemeral_range()
        for port in range(first, last + 1):
            if self._free(req.proto, req.host_ip, port):
                return port
        where = f"{req.host_ip or '0.0.0.0'}:{req.host_first}" if req.host_first == req.host_last else \
            f"{req.host_ip or '0.0.0.0'}:{req.host_first}-{req.host_last}"
        if req.host_first:
            raise Conflict(f"Bind for {where} failed: port is already allocated")
        raise Conflict("no free host port for a published port")

    def restore(self, owner: str, ports: Iterable[PublishedPort]) -> None:
        with self._lock:
            for p in ports:
                self._taken[(p.proto, "" if p.host_ip == "0.0.0.0" else p.host_ip, p.host_port)] = owner

    def release(self, owner: str) -> None:
        with self._lock:
            for key in [k for k, v in self._taken.items() if v == owner]:
                del self._taken[key]


def publish_rules(table: Table, owner: str, container_ip: str, ports: Sequence[PublishedPort]) -> list[Json]:
    """``add rule`` commands: DNAT of each host port to the container's address and port."""
    where = {"family": table.family, "table": table.name}
    out: list[Json] = []
    for p in ports:
        expr: list[Json] = []
        if p.host_ip != "0.0.0.0":
            expr.append({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                                   "right": p.host_ip}})
        expr += [
            {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": p.proto}},
            {"match": {"op": "==", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": p.host_port}},
            {"dnat": {"family": "ip", "addr": container_ip, "port": p.container_port}},
        ]
        out.append({"add": {"rule": {**where, "chain": PUBLISH_CHAIN, "comment": port_comment(owner),
                                     "expr": expr}}})
    return out


__all__ = ["PortAllocator", "PortRequest", "PublishedPort", "ephemeral_range", "port_comment", "publish_rules",
           "requests_of"]

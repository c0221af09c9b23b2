"""IPv4 address management: the default pools, subnet choice and per-network allocations.

Allocations live in an injected store so they survive daemon restarts (SQLite in the metadata
store; a dict in tests). Addresses are handed out lowest-free first, like Docker's default IPAM
after a restart, which keeps results deterministic.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Protocol

from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, Unavailable

DEFAULT_BRIDGE_SUBNET = "172.17.0.0/16"
PROC_NET_ROUTE = "/proc/net/route"


class AllocationStore(Protocol):
    """Persistent record of which address of which network belongs to whom."""

    def allocated(self, network_id: str) -> set[str]: ...

    def reserve(self, network_id: str, address: str, owner: str) -> None:
        """Record ``address`` for ``owner``; raise AlreadyExists if it is taken (atomically)."""
        ...

    def release(self, network_id: str, address: str) -> None:
        """Forget ``address``; releasing a free address is not an error."""
        ...

    def owners(self, network_id: str) -> dict[str, str]:
        """address -> owner."""
        ...


@dataclass
class MemoryAllocationStore:
    """AllocationStore kept in a dict: for tests and for networks that need no persistence."""

    _data: dict[str, dict[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allocated(self, network_id: str) -> set[str]:
        with self._lock:
            return set(self._data.get(network_id, {}))

    def reserve(self, network_id: str, address: str, owner: str) -> None:
        with self._lock:
            taken = self._data.setdefault(network_id, {})
            if address in taken:
                raise AlreadyExists(f"address {address} is already allocated")
            taken[address] = owner

    def release(self, network_id: str, address: str) -> None:
        with self._lock:
            self._data.get(network_id, {}).pop(address, None)

    def owners(self, network_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._data.get(network_id, {}))


class IPAM:
    """Allocates container addresses of a network's subnet through an AllocationStore."""

    def __init__(self, store: AllocationStore) -> None:
        self._store = store
        self._lock = threading.Lock()

    def allocate(self, network_id: str, subnet: IPv4Network, gateway: IPv4Address | str, *,
                 preferred: str | None = None, owner: str, pool: IPv4Network | None = None) -> IPv4Interface:
        """An address for ``owner``: ``preferred`` if given, else the lowest free host address (of
        ``pool``, an IP range within the subnet, when given).

        The network, broadcast and gateway addresses are never handed out. An owner that already
        holds an address in this network gets it back (idempotent across retries and restarts).
        """
        gw = IPv4Address(gateway)
        with self._lock:
            owners = self._store.owners(network_id)
            held = sorted(IPv4Address(a) for a, o in owners.items() if o == owner)
            if held and (preferred is None or IPv4Address(preferred) in held):
                address = IPv4Address(preferred) if preferred is not None else held[0]
                return IPv4Interface(f"{address}/{subnet.prefixlen}")
            if preferred is not None:
                address = _check_preferred(subnet, gw, preferred)
                if str(address) in owners:
                    raise Conflict(f"Address already in use: {address}")
            else:
                address = _lowest_free(subnet, gw, set(owners), pool)
            try:
                self._store.reserve(network_id, str(address), owner)
            except AlreadyExists:
                raise Conflict(f"Address already in use: {address}") from None
            return IPv4Interface(f"{address}/{subnet.prefixlen}")

    def release(self, network_id: str, address: IPv4Address | IPv4Interface | str) -> None:
        if isinstance(address, IPv4Interface):
            address = address.ip
        elif isinstance(address, str):
            address = IPv4Interface(address).ip
        with self._lock:
            self._store.release(network_id, str(address))

    def release_owner(self, network_id: str, owner: str) -> list[str]:
        """Release every address ``owner`` holds in the network; return them."""
        with self._lock:
            mine = sorted(a for a, o in self._store.owners(network_id).items() if o == owner)
            for address in mine:
                self._store.release(network_id, address)
            return mine


def _check_preferred(subnet: IPv4Network, gateway: IPv4Address, preferred: str) -> IPv4Address:
    try:
        address = IPv4Address(preferred)
    except ValueError:
        raise InvalidArgument(f"invalid IPv4 address: {preferred}") from None
    if address not in subnet:
        raise InvalidArgument(f"no configured subnet or ip-range contain the IP address {address}")
    if address in (subnet.network_address, subnet.broadcast_address) or address == gateway:
        raise Conflict(f"Address already in use: {address}")
    return address


def _lowest_free(subnet: IPv4Network, gateway: IPv4Address, taken: set[str],
                 pool: IPv4Network | None = None) -> IPv4Address:
    # hosts() already leaves out the network and broadcast addresses (except for /31 and /32); a
    # range's own first and last addresses are ordinary ones, only the subnet's are not.
    reserved = {subnet.network_address, subnet.broadcast_address} if subnet.prefixlen < 31 else set()
    candidates = pool if pool is not None else subnet.hosts()
    for address in candidates:
        if address != gateway and address not in reserved and str(address) not in taken:
            return address
    raise Unavailable(f"no available IPv4 addresses on this network's address pools: {pool or subnet}")


def default_gateway(subnet: IPv4Network) -> IPv4Interface:
    """The bridge address Docker uses: the first host of the subnet."""
    return IPv4Interface(f"{subnet.network_address + 1}/{subnet.prefixlen}")


def default_pools() -> Iterator[IPv4Network]:
    """Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 cut in /20s."""
    for second in range(17, 32):
        yield IPv4Network(f"172.{second}.0.0/16")
    yield from IPv4Network("192.168.0.0/16").subnets(new_prefix=20)


def host_routes(*, exclude_devices: Iterable[str] = (), path: str = PROC_NET_ROUTE) -> list[IPv4Network]:
    """Destinations of the host's IPv4 routes (main table), without the default route.

    ``exclude_devices`` drops routes of our own bridges, so that a restarted daemon does not see
    its own subnet as taken.
    """
    excluded = set(exclude_devices)
    with open(path) as f:
        return parse_proc_net_route(f.read(), excluded)


def parse_proc_net_route(text: str, exclude_devices: set[str] | frozenset[str] = frozenset()) -> list[IPv4Network]:
    routes: list[IPv4Network] = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8 or cols[0] in exclude_devices:
            continue
        # Destination and Mask are little-endian hex words.
        dest = IPv4Address(int.from_bytes(bytes.fromhex(cols[1]), "little"))
        mask = IPv4Address(int.from_bytes(bytes.fromhex(cols[7]), "little"))
        network = IPv4Network(f"{dest}/{mask}", strict=False)
        if network.prefixlen == 0:
            continue
        routes.append(network)
    return routes


def choose_subnet(preferred: str | IPv4Network | None = DEFAULT_BRIDGE_SUBNET, *,
                  routes: Iterable[IPv4Network] | None = None,
                  in_use: Iterable[IPv4Network] = ()) -> IPv4Network:
    """``preferred`` unless it overlaps a host route or a subnet in use, else the next free pool.

    ``routes`` defaults to the host's current routes (/proc/net/route).
    """
    busy = list(host_routes() if routes is None else routes) + list(in_use)
    candidates: list[IPv4Network] = []
    if preferred is not None:
        candidates.append(ipaddress.IPv4Network(preferred))
    candidates.extend(default_pools())
    for candidate in candidates:
        if not any(candidate.overlaps(route) for route in busy):
            return candidate
    raise Unavailable("could not find an available, non-overlapping IPv4 address pool among the defaults "
                      "to assign to the network")


__all__ = [
    "DEFAULT_BRIDGE_SUBNET", "IPAM", "AllocationStore", "MemoryAllocationStore", "choose_subnet",
    "default_gateway", "default_pools", "host_routes", "parse_proc_net_route",
]

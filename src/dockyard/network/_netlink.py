"""A minimal route-netlink (rtnetlink) client over ``socket`` and ``struct``.

Only what dockyard's networking needs: links (get, dump, bridge and veth creation, up, master,
delete), IPv4 addresses and the default route. The codec functions (``encode_message``,
``parse_messages``, ``parse_attrs`` ...) are pure and tested on bytes; ``Netlink`` adds the socket.

A handle for another network namespace gets its netlink socket from a thread that entered that
namespace (dockyard.sys.netns): the socket then works in that namespace for its whole life.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from types import TracebackType

from dockyard.sys.netns import call_in_netns

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

# message types and flags (linux/netlink.h, linux/rtnetlink.h)
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 1, 2, 3, 4
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP_INTR = 0x1, 0x2, 0x4, 0x10
NLM_F_DUMP = 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200  # on NLMSG_ERROR
NLMSGERR_ATTR_MSG = 1
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER

# attributes
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 1, 3, 4, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1

NLMSGHDR = struct.Struct("=IHHII")    # len, type, flags, seq, pid
NLATTR = struct.Struct("=HH")         # len, type
IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
IFADDRMSG = struct.Struct("=BBBBI")   # family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")   # family, dst_len, src_len, tos, table, protocol, scope, type, flags
U32 = struct.Struct("=I")
I32 = struct.Struct("=i")

RECV_BUFFER = 64 * 1024


class NetlinkError(OSError):
    """The kernel refused a request: ``errno`` is the error (ENODEV, EEXIST ...)."""

    @property
    def code(self) -> int:
        return self.errno or 0


def is_errno(exc: BaseException, *codes: int) -> bool:
    return isinstance(exc, NetlinkError) and exc.errno in codes


# codec

Attr = tuple[int, bytes]  # (type, encoded payload: already nested/encoded)


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One attribute: header, payload, zero padding to 4 bytes."""
    size = NLATTR.size + len(payload)
    return NLATTR.pack(size, kind) + payload + b"\0" * (_align(size) - size)


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, U32.pack(value))


def attr_str(kind: int, value: str) -> bytes:
    return attr(kind, value.encode() + b"\0")


def encode_message(msg_type: int, flags: int, seq: int, body: bytes, pid: int = 0) -> bytes:
    size = NLMSGHDR.size + len(body)
    return NLMSGHDR.pack(size, msg_type, flags, seq, pid) + body + b"\0" * (_align(size) - size)


@dataclass(frozen=True)
class Message:
    type: int
    flags: int
    seq: int
    pid: int
    payload: bytes


def parse_messages(data: bytes) -> Iterator[Message]:
    """The netlink messages of one datagram."""
    offset = 0
    while offset + NLMSGHDR.size <= len(data):
        size, msg_type, flags, seq, pid = NLMSGHDR.unpack_from(data, offset)
        if size < NLMSGHDR.size or offset + size > len(data):
            raise NetlinkError(errno.EBADMSG, f"malformed netlink message (length {size})")
        yield Message(msg_type, flags, seq, pid, data[offset + NLMSGHDR.size:offset + size])
        offset += _align(size)


def parse_attrs(data: bytes, offset: int = 0) -> dict[int, bytes]:
    """Attributes from ``offset`` on, by type (flags masked off); nested ones stay raw bytes."""
    found: dict[int, bytes] = {}
    while offset + NLATTR.size <= len(data):
        size, kind = NLATTR.unpack_from(data, offset)
        if size < NLATTR.size or offset + size > len(data):
            break
        found.setdefault(kind & NLA_TYPE_MASK, data[offset + NLATTR.size:offset + size])
        offset += _align(size)
    return found


def _str(value: bytes | None) -> str:
    return value.split(b"\0", 1)[0].decode(errors="replace") if value is not None else ""


def _u32(value: bytes | None) -> int | None:
    return U32.unpack_from(value)[0] if value is not None and len(value) >= 4 else None


def parse_error(payload: bytes, flags: int = 0) -> tuple[int, str]:
    """An NLMSG_ERROR payload: (errno, the kernel's extended-ack message or ""); errno 0 is an ACK.

    The payload is the negative errno, the request echoed (only its header if NLM_F_CAPPED) and,
    with NLM_F_ACK_TLVS, attributes such as NLMSGERR_ATTR_MSG.
    """
    (code,) = I32.unpack_from(payload)
    message = ""
    if flags & NLM_F_ACK_TLVS and len(payload) >= I32.size + NLMSGHDR.size:
        (echoed,) = U32.unpack_from(payload, I32.size)
        if flags & NLM_F_CAPPED:
            echoed = NLMSGHDR.size
        message = _str(parse_attrs(payload, I32.size + _align(echoed)).get(NLMSGERR_ATTR_MSG))
    return -code, message


def error_for(code: int, message: str = "") -> NetlinkError:
    text = os.strerror(code)
    return NetlinkError(code, f"{text}: {message}" if message else text)


def ifinfomsg(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, change)


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def veth_request(name: str, *, peer: str, netns_fd: int, mtu: int, peer_mac: str | None) -> bytes:
    """The RTM_NEWLINK body of a veth pair whose peer is created in the namespace of ``netns_fd``."""
    peer_attrs = attr_str(IFLA_IFNAME, peer) + attr_u32(IFLA_MTU, mtu)
    if peer_mac is not None:
        peer_attrs += attr(IFLA_ADDRESS, mac_bytes(peer_mac))
    peer_attrs += attr_u32(IFLA_NET_NS_FD, netns_fd)
    linkinfo = attr_str(IFLA_INFO_KIND, "veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, ifinfomsg() + peer_attrs))
    return ifinfomsg() + attr_str(IFLA_IFNAME, name) + attr_u32(IFLA_MTU, mtu) + attr(IFLA_LINKINFO, linkinfo)


def address_request(index: int, address: IPv4Interface) -> bytes:
    prefixlen = address.network.prefixlen
    body = IFADDRMSG.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
    body += attr(IFA_LOCAL, address.ip.packed) + attr(IFA_ADDRESS, address.ip.packed)
    if prefixlen < 31:  # as Docker (and `ip addr add ... brd +`) does
        body += attr(IFA_BROADCAST, address.network.broadcast_address.packed)
    return body


def default_route_request(gateway: IPv4Address, oif: int) -> bytes:
    body = RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
    return body + attr(RTA_GATEWAY, gateway.packed) + attr_u32(RTA_OIF, oif)


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str
    mac: str
    master: int | None
    up: bool
    mtu: int


def parse_link(payload: bytes) -> Link:
    """An RTM_NEWLINK payload: ifinfomsg and its attributes."""
    _, _, index, flags, _ = IFINFOMSG.unpack_from(payload)
    attrs = parse_attrs(payload, IFINFOMSG.size)
    info = parse_attrs(attrs.get(IFLA_LINKINFO, b""))
    mac = attrs.get(IFLA_ADDRESS, b"")
    return Link(index=index, name=_str(attrs.get(IFLA_IFNAME)), kind=_str(info.get(IFLA_INFO_KIND)),
                mac=":".join(f"{b:02x}" for b in mac), master=_u32(attrs.get(IFLA_MASTER)),
                up=bool(flags & IFF_UP), mtu=_u32(attrs.get(IFLA_MTU)) or 0)


def parse_address(payload: bytes) -> tuple[int, IPv4Interface | None]:
    """An RTM_NEWADDR payload: (interface index, IPv4 address with prefix, or None if not IPv4)."""
    family, prefixlen, _, _, index = IFADDRMSG.unpack_from(payload)
    attrs = parse_attrs(payload, IFADDRMSG.size)
    raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
    if family != socket.AF_INET or raw is None or len(raw) != 4:
        return index, None
    return index, IPv4Interface(f"{IPv4Address(raw)}/{prefixlen}")


def parse_default_gateway(payload: bytes) -> IPv4Address | None:
    """The gateway of an RTM_NEWROUTE payload if it is an IPv4 default route of the main table."""
    family, dst_len, _, _, table, _, _, rtype, _ = RTMSG.unpack_from(payload)
    attrs = parse_attrs(payload, RTMSG.size)
    table = _u32(attrs.get(RTA_TABLE)) or table
    gateway = attrs.get(RTA_GATEWAY)
    if family != socket.AF_INET or dst_len != 0 or table != RT_TABLE_MAIN or rtype != RTN_UNICAST:
        return None
    return IPv4Address(gateway) if gateway is not None and len(gateway) == 4 else None


# the socket

@dataclass
class _Socket:
    sock: socket.socket
    seq: int = 0
    buffer: bytearray = field(default_factory=lambda: bytearray(RECV_BUFFER))

    def request(self, msg_type: int, body: bytes, flags: int = 0) -> list[Message]:
        """Send one request and collect its answers until the ACK (or NLMSG_DONE for a dump)."""
        for _ in range(5):
            self.seq = self.seq % 0xFFFFFFFF + 1
            self.sock.send(encode_message(msg_type, NLM_F_REQUEST | NLM_F_ACK | flags, self.seq, body))
            answers, interrupted = self._collect(self.seq, dump=flags & NLM_F_DUMP == NLM_F_DUMP)
            if not interrupted:
                return answers
        raise NetlinkError(errno.EINTR, "netlink dump kept being interrupted by changes")

    def _collect(self, seq: int, *, dump: bool) -> tuple[list[Message], bool]:
        answers: list[Message] = []
        interrupted = False
        while True:
            for msg in parse_messages(self._recv()):
                if msg.seq != seq or msg.type in (NLMSG_NOOP, NLMSG_OVERRUN):
                    continue  # a late answer to an earlier request
                interrupted |= bool(msg.flags & NLM_F_DUMP_INTR)
                if msg.type == NLMSG_ERROR:
                    code, message = parse_error(msg.payload, msg.flags)
                    if code:
                        raise error_for(code, message)
                    if not dump:
                        return answers, interrupted
                elif msg.type == NLMSG_DONE:
                    if len(msg.payload) >= 4 and (code := -I32.unpack_from(msg.payload)[0]):
                        raise error_for(code)
                    return answers, interrupted
                else:
                    answers.append(msg)

    def _recv(self) -> bytes:
        # Peek first: a datagram larger than the buffer grows it instead of being cut short.
        size = self.sock.recv_into(self.buffer, len(self.buffer), socket.MSG_PEEK | socket.MSG_TRUNC)
        if size > len(self.buffer):
            self.buffer = bytearray(_align(size))
        size = self.sock.recv_into(self.buffer, len(self.buffer))
        return bytes(self.buffer[:size])


def _open_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
    try:
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    except OSError:  # older kernels: plain errors
        pass
    sock.bind((0, 0))
    return sock


class Netlink:
    """Route-netlink operations on one namespace (the daemon's, or the one at ``netns_path``)."""

    def __init__(self, netns_path: str | None = None) -> None:
        sock = _open_socket() if netns_path is None else call_in_netns(netns_path, _open_socket)
        self._nl = _Socket(sock)

    def close(self) -> None:
        self._nl.sock.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # links

    def link(self, name: str) -> Link | None:
        try:
            found = self._nl.request(RTM_GETLINK, ifinfomsg() + attr_str(IFLA_IFNAME, name))
        except NetlinkError as exc:
            if exc.errno in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return next((parse_link(m.payload) for m in found if m.type == RTM_NEWLINK), None)

    def links(self) -> list[Link]:
        found = self._nl.request(RTM_GETLINK, ifinfomsg(), NLM_F_DUMP)
        return [parse_link(m.payload) for m in found if m.type == RTM_NEWLINK]

    def add_bridge(self, name: str, *, mtu: int) -> None:
        body = ifinfomsg() + attr_str(IFLA_IFNAME, name) + attr_u32(IFLA_MTU, mtu)
        body += attr(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "bridge"))
        self._nl.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL)

    def add_veth_into_netns(self, name: str, *, peer: str, netns_path: str, mtu: int,
                            peer_mac: str | None) -> None:
        """One request: the veth here and its peer created directly inside ``netns_path``."""
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            body = veth_request(name, peer=peer, netns_fd=fd, mtu=mtu, peer_mac=peer_mac)
            self._nl.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL)
        finally:
            os.close(fd)

    def set_up(self, index: int) -> None:
        self._nl.request(RTM_SETLINK, ifinfomsg(index, IFF_UP, IFF_UP))

    def set_master(self, index: int, master: int) -> None:
        self._nl.request(RTM_SETLINK, ifinfomsg(index) + attr_u32(IFLA_MASTER, master))

    def delete_link(self, index: int) -> None:
        self._nl.request(RTM_DELLINK, ifinfomsg(index))

    # addresses and routes

    def addresses(self, index: int) -> list[IPv4Interface]:
        found = self._nl.request(RTM_GETADDR, IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0), NLM_F_DUMP)
        parsed = (parse_address(m.payload) for m in found if m.type == RTM_NEWADDR)
        return [address for i, address in parsed if i == index and address is not None]

    def add_address(self, index: int, address: IPv4Interface) -> None:
        self._nl.request(RTM_NEWADDR, address_request(index, address), NLM_F_CREATE | NLM_F_EXCL)

    def add_default_route(self, gateway: IPv4Address, *, oif: int) -> None:
        # proto boot: the route looks like one `ip route add` made, as in Docker containers.
        self._nl.request(RTM_NEWROUTE, default_route_request(gateway, oif), NLM_F_CREATE | NLM_F_EXCL)

    def default_gateway(self) -> IPv4Address | None:
        found = self._nl.request(RTM_GETROUTE, RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0), NLM_F_DUMP)
        for msg in found:
            if msg.type == RTM_NEWROUTE and (gateway := parse_default_gateway(msg.payload)) is not None:
                return gateway
        return None


__all__ = ["Link", "Netlink", "NetlinkError", "is_errno"]

"""The route-netlink codec on hand-made bytes, and the request/answer loop on a scripted socket."""

from __future__ import annotations

import errno
import socket
import struct
import sys
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface

import pytest

from dockyard.network import _netlink as nl
from dockyard.network._netlink import Link, NetlinkError, is_errno

pytestmark = pytest.mark.skipif(sys.byteorder != "little", reason="hand-made bytes are little-endian")


def h(text: str) -> bytes:
    return bytes.fromhex(text)


IFINFO_ZERO = "00" * 16


# encoding

def test_getlink_request_by_name() -> None:
    body = nl.ifinfomsg() + nl.attr_str(nl.IFLA_IFNAME, "eth0")
    data = nl.encode_message(nl.RTM_GETLINK, nl.NLM_F_REQUEST | nl.NLM_F_ACK, 7, body)
    assert data == h("2c000000 1200 0500 07000000 00000000" + IFINFO_ZERO + "0900 0300 65746830 00 000000")


def test_dump_flags_and_message_padding() -> None:
    data = nl.encode_message(nl.RTM_GETADDR, nl.NLM_F_REQUEST | nl.NLM_F_DUMP, 1, b"\x02\x00\x00")
    # the length counts the header and the 3 body bytes, the padding comes after
    assert data == h("13000000 1600 0103 01000000 00000000 020000 00")


def test_attribute_alignment() -> None:
    assert nl.attr(16, b"\x06") == h("0500 1000 06 000000")
    assert nl.attr_u32(nl.IFLA_MTU, 1500) == h("0800 0400 dc050000")
    assert nl.attr(nl.IFLA_LINKINFO, b"") == h("0400 1200")


def test_veth_request_with_the_peer_in_another_namespace() -> None:
    body = nl.veth_request("vethx", peer="eth0", netns_fd=5, mtu=1500, peer_mac="02:42:ac:11:00:02")
    peer = (IFINFO_ZERO + "0900 0300 65746830 00000000"   # IFLA_IFNAME eth0
            "0800 0400 dc050000"                            # IFLA_MTU 1500
            "0a00 0100 0242ac110002 0000"                   # IFLA_ADDRESS
            "0800 1c00 05000000")                           # IFLA_NET_NS_FD 5
    expected = (IFINFO_ZERO
                + "0a00 0300 7665746878 00 0000"            # IFLA_IFNAME vethx
                + "0800 0400 dc050000"                      # IFLA_MTU
                + "5000 1200"                               # IFLA_LINKINFO (80 bytes)
                + "0900 0100 76657468 00 000000"            # IFLA_INFO_KIND veth
                + "4000 0200"                               # IFLA_INFO_DATA (64)
                + "3c00 0100" + peer)                       # VETH_INFO_PEER (60)
    assert body == h(expected)
    assert len(body) == 116


def test_veth_request_without_a_mac() -> None:
    body = nl.veth_request("v", peer="eth0", netns_fd=9, mtu=1400, peer_mac=None)
    assert nl.IFLA_ADDRESS not in _peer_attrs(body)
    assert _peer_attrs(body)[nl.IFLA_NET_NS_FD] == h("09000000")


def _peer_attrs(body: bytes) -> dict[int, bytes]:
    info = nl.parse_attrs(nl.parse_attrs(body, 16)[nl.IFLA_LINKINFO])
    peer = nl.parse_attrs(info[nl.IFLA_INFO_DATA])[nl.VETH_INFO_PEER]
    return nl.parse_attrs(peer, 16)


def test_address_request() -> None:
    body = nl.address_request(3, IPv4Interface("172.17.0.2/16"))
    assert body == h("02 10 00 00 03000000"
                     "0800 0200 ac110002"    # IFA_LOCAL
                     "0800 0100 ac110002"    # IFA_ADDRESS
                     "0800 0400 ac11ffff")   # IFA_BROADCAST
    assert nl.IFA_BROADCAST not in nl.parse_attrs(nl.address_request(3, IPv4Interface("10.0.0.1/31")), 8)


def test_default_route_request() -> None:
    body = nl.default_route_request(IPv4Address("172.17.0.1"), 3)
    # AF_INET, dst_len 0, table main, protocol boot, scope universe, type unicast
    assert body == h("02 00 00 00 fe 03 00 01 00000000" "0800 0500 ac110001" "0800 0400 03000000")


def test_set_up_body() -> None:
    assert nl.ifinfomsg(7, nl.IFF_UP, nl.IFF_UP) == h("00 00 0000 07000000 01000000 01000000")


# parsing

NEWLINK_VETH = h(
    "00 00 0100 07000000 43100100 00000000"      # ifinfomsg: ether, index 7, UP|BROADCAST|RUNNING|...
    "0500 1000 06 000000"                        # IFLA_OPERSTATE (u8, padded)
    "1000 0300 76657468 31323334 35363700"       # IFLA_IFNAME veth1234567
    "0800 0400 dc050000"                         # IFLA_MTU 1500
    "0c00 0600 6e6f7175 65756500"                # IFLA_QDISC noqueue
    "0800 0a00 05000000"                         # IFLA_MASTER 5
    "0a00 0100 0242ac110002 0000"                # IFLA_ADDRESS
    "1800 1280"                                  # IFLA_LINKINFO | NLA_F_NESTED
    "0900 0100 76657468 00000000"                #   IFLA_INFO_KIND veth
    "0800 6300 01000000"                         #   an attribute this code does not know
)


def test_parse_link_with_nested_linkinfo() -> None:
    assert nl.parse_link(NEWLINK_VETH) == Link(index=7, name="veth1234567", kind="veth",
                                               mac="02:42:ac:11:00:02", master=5, up=True, mtu=1500)


def test_parse_link_without_optional_attributes() -> None:
    payload = h("00 00 0403 01000000 08000000 00000000" "0700 0300 6c6f00 00")  # lo, down, no linkinfo
    assert nl.parse_link(payload) == Link(index=1, name="lo", kind="", mac="", master=None, up=False, mtu=0)


def test_parse_attrs_stops_at_a_truncated_attribute() -> None:
    data = nl.attr_u32(1, 5) + h("0c00 0200 0000")
    assert nl.parse_attrs(data) == {1: h("05000000")}


def test_parse_messages_of_a_multipart_datagram() -> None:
    newlink = nl.encode_message(nl.RTM_NEWLINK, nl.NLM_F_MULTI, 4, NEWLINK_VETH, pid=77)
    done = nl.encode_message(nl.NLMSG_DONE, nl.NLM_F_MULTI, 4, h("00000000"), pid=77)
    messages = list(nl.parse_messages(newlink + done))
    assert [(m.type, m.seq, m.pid) for m in messages] == [(nl.RTM_NEWLINK, 4, 77), (nl.NLMSG_DONE, 4, 77)]
    assert messages[0].payload == NEWLINK_VETH


def test_parse_messages_rejects_a_bad_length() -> None:
    with pytest.raises(NetlinkError) as caught:
        list(nl.parse_messages(h("ff000000 1000 0000 01000000 00000000")))
    assert caught.value.errno == errno.EBADMSG


def test_parse_error_with_extended_ack_message() -> None:
    text = b"mtu less than device minimum\x00"
    payload = (h("eaffffff")                                       # -EINVAL
               + h("74000000 1000 0506 09000000 00000000")         # the request's header (capped)
               + struct.pack("=HH", 4 + len(text), nl.NLMSGERR_ATTR_MSG) + text + b"\0" * 3)
    assert nl.parse_error(payload, nl.NLM_F_CAPPED | nl.NLM_F_ACK_TLVS) == (errno.EINVAL, "mtu less than device minimum")


def test_parse_error_with_the_whole_request_echoed() -> None:
    request = nl.encode_message(nl.RTM_GETLINK, 5, 3, nl.ifinfomsg() + nl.attr_str(nl.IFLA_IFNAME, "nope"))
    assert nl.parse_error(h("edffffff") + request) == (errno.ENODEV, "")
    tlv = nl.attr_str(nl.NLMSGERR_ATTR_MSG, "why")
    assert nl.parse_error(h("edffffff") + request + tlv, nl.NLM_F_ACK_TLVS) == (errno.ENODEV, "why")


def test_parse_ack() -> None:
    assert nl.parse_error(h("00000000 24000000 1300 0500 02000000 00000000"), nl.NLM_F_CAPPED) == (0, "")


def test_parse_address_and_default_gateway() -> None:
    addr = h("02 10 00 00 03000000" "0800 0100 ac110002" "0800 0200 ac110002")
    assert nl.parse_address(addr) == (3, IPv4Interface("172.17.0.2/16"))
    assert nl.parse_address(h("0a 40 00 00 03000000")) == (3, None)
    route = h("02 00 00 00 fe 03 00 01 00000000" "0800 0f00 fe000000" "0800 0500 ac110001" "0800 0400 03000000")
    assert nl.parse_default_gateway(route) == IPv4Address("172.17.0.1")
    subnet = h("02 10 00 00 fe 02 fd 01 00000000" "0800 0100 ac110000" "0800 0400 03000000")
    assert nl.parse_default_gateway(subnet) is None
    local_table = h("02 00 00 00 ff 03 00 01 00000000" "0800 0500 ac110001")
    assert nl.parse_default_gateway(local_table) is None


def test_netlink_error_is_an_oserror_with_errno() -> None:
    exc = nl.error_for(errno.EEXIST, "already there")
    assert isinstance(exc, OSError) and exc.errno == errno.EEXIST and exc.code == errno.EEXIST
    assert "already there" in str(exc)
    assert is_errno(exc, errno.ENODEV, errno.EEXIST) and not is_errno(exc, errno.ENODEV)
    assert not is_errno(OSError(errno.EEXIST, "plain"), errno.EEXIST)


# the request/answer loop

Responder = Callable[[nl.Message], list[bytes]]


class ScriptedSocket:
    """Stands in for a netlink socket: each request sent gets the datagrams ``respond`` makes."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.queue: list[bytes] = []
        self.sent: list[nl.Message] = []

    def send(self, data: bytes) -> int:
        (msg,) = nl.parse_messages(data)
        self.sent.append(msg)
        self.queue.extend(self.respond(msg))
        return len(data)

    def recv_into(self, buffer: bytearray, nbytes: int, flags: int = 0) -> int:
        datagram = self.queue[0] if flags & socket.MSG_PEEK else self.queue.pop(0)
        n = min(nbytes, len(datagram))
        buffer[:n] = datagram[:n]
        return len(datagram) if flags & socket.MSG_TRUNC else n


def scripted(respond: Responder) -> tuple[nl._Socket, ScriptedSocket]:
    fake = ScriptedSocket(respond)
    return nl._Socket(fake), fake  # type: ignore[arg-type]


def ack(req: nl.Message, code: int = 0) -> bytes:
    return nl.encode_message(nl.NLMSG_ERROR, nl.NLM_F_CAPPED, req.seq,
                             struct.pack("=i", -code) + nl.NLMSGHDR.pack(16, req.type, req.flags, req.seq, 0))


def link_payload(index: int, name: str) -> bytes:
    return nl.ifinfomsg(index, nl.IFF_UP) + nl.attr_str(nl.IFLA_IFNAME, name) + nl.attr_u32(nl.IFLA_MTU, 1500)


def test_request_returns_the_answer_before_the_ack_and_skips_stale_messages() -> None:
    def respond(req: nl.Message) -> list[bytes]:
        stale = nl.encode_message(nl.RTM_NEWLINK, 0, req.seq - 1 or 99, link_payload(1, "old"))
        answer = nl.encode_message(nl.RTM_NEWLINK, 0, req.seq, link_payload(2, "eth0"))
        return [stale, answer + ack(req)]

    sock, fake = scripted(respond)
    answers = sock.request(nl.RTM_GETLINK, nl.ifinfomsg() + nl.attr_str(nl.IFLA_IFNAME, "eth0"))
    assert [nl.parse_link(m.payload).name for m in answers] == ["eth0"]
    assert fake.sent[0].flags == nl.NLM_F_REQUEST | nl.NLM_F_ACK and not fake.queue
    sock.request(nl.RTM_GETLINK, nl.ifinfomsg())
    assert [m.seq for m in fake.sent] == [1, 2]


def test_request_raises_the_kernels_errno() -> None:
    sock, _ = scripted(lambda req: [ack(req, errno.EEXIST)])
    with pytest.raises(NetlinkError) as caught:
        sock.request(nl.RTM_NEWLINK, nl.ifinfomsg(), nl.NLM_F_CREATE | nl.NLM_F_EXCL)
    assert is_errno(caught.value, errno.EEXIST)


def test_dump_over_several_datagrams_including_one_larger_than_the_buffer() -> None:
    def respond(req: nl.Message) -> list[bytes]:
        def part(first: int, count: int) -> bytes:
            return b"".join(nl.encode_message(nl.RTM_NEWLINK, nl.NLM_F_MULTI, req.seq,
                                              link_payload(i, f"veth{i}")) for i in range(first, first + count))
        done = nl.encode_message(nl.NLMSG_DONE, nl.NLM_F_MULTI, req.seq, h("00000000"))
        return [part(1, 10), part(11, 2000), part(2011, 5) + done]

    sock, fake = scripted(respond)
    assert len(fake.respond(nl.Message(0, 0, 1, 0, b""))[1]) > nl.RECV_BUFFER
    answers = sock.request(nl.RTM_GETLINK, nl.ifinfomsg(), nl.NLM_F_DUMP)
    assert [nl.parse_link(m.payload).index for m in answers] == list(range(1, 2016))
    assert fake.sent[0].flags == nl.NLM_F_REQUEST | nl.NLM_F_ACK | nl.NLM_F_DUMP and not fake.queue


def test_dump_error_in_done_and_interrupted_dumps_are_retried() -> None:
    calls: list[int] = []

    def respond(req: nl.Message) -> list[bytes]:
        calls.append(req.seq)
        flags = nl.NLM_F_MULTI | (nl.NLM_F_DUMP_INTR if len(calls) == 1 else 0)
        return [nl.encode_message(nl.RTM_NEWLINK, flags, req.seq, link_payload(len(calls), "x"))
                + nl.encode_message(nl.NLMSG_DONE, flags, req.seq, h("00000000"))]

    sock, _ = scripted(respond)
    answers = sock.request(nl.RTM_GETLINK, nl.ifinfomsg(), nl.NLM_F_DUMP)
    assert calls == [1, 2] and [nl.parse_link(m.payload).index for m in answers] == [2]

    failing, _ = scripted(lambda req: [nl.encode_message(nl.NLMSG_DONE, nl.NLM_F_MULTI, req.seq,
                                                         struct.pack("=i", -errno.ENOBUFS))])
    with pytest.raises(NetlinkError) as caught:
        failing.request(nl.RTM_GETLINK, nl.ifinfomsg(), nl.NLM_F_DUMP)
    assert caught.value.errno == errno.ENOBUFS

"""The embedded DNS server's message codec and its answers, over real UDP sockets on loopback."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from dockyard.network import dns
from dockyard.network.dns import (
    CLASS_IN,
    RCODE_FORMERR,
    RCODE_NXDOMAIN,
    RCODE_OK,
    RCODE_SERVFAIL,
    TYPE_A,
    TYPE_AAAA,
    TYPE_PTR,
    MalformedQuery,
    parse_query,
    response,
)


def query(name: str, qtype: int = TYPE_A, qid: int = 0x1234, *, flags: int = 0x0100) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p)
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, CLASS_IN)


def answers(reply: bytes) -> tuple[int, int, list[tuple[int, bytes]]]:
    """(id, rcode, [(type, rdata)]) of a reply whose answers use a pointer to the question name."""
    qid, flags, qd, an = struct.unpack_from("!HHHH", reply)
    pos = 12
    for _ in range(qd):
        while reply[pos]:
            pos += reply[pos] + 1
        pos += 5
    out = []
    for _ in range(an):
        assert reply[pos:pos + 2] == b"\xc0\x0c"
        rtype, _, ttl, length = struct.unpack_from("!HHIH", reply, pos + 2)
        assert ttl == dns.TTL
        out.append((rtype, reply[pos + 12:pos + 12 + length]))
        pos += 12 + length
    return qid, flags & 0xF, out


def test_parse_query_lowercases_and_keeps_the_question() -> None:
    data = query("Web.MyNet.", TYPE_AAAA, 7)
    q = parse_query(data)
    assert (q.id, q.name, q.qtype, q.qclass) == (7, "web.mynet", TYPE_AAAA, CLASS_IN)
    assert q.question == data[12:]


@pytest.mark.parametrize("data", [b"", b"\0" * 11, query("x")[:-3], query("x", flags=0x8100),
                                  struct.pack("!HHHHHH", 1, 0, 0, 0, 0, 0), query("x")[:12] + b"\xc0\x0c\0\1\0\1"])
def test_malformed_queries(data: bytes) -> None:
    with pytest.raises(MalformedQuery):
        parse_query(data)


def test_response_a_records_and_ptr() -> None:
    q = parse_query(query("web", qid=99))
    qid, rcode, records = answers(response(q, addresses=["10.1.2.3", "10.1.2.4"]))
    assert (qid, rcode) == (99, RCODE_OK)
    assert records == [(TYPE_A, bytes([10, 1, 2, 3])), (TYPE_A, bytes([10, 1, 2, 4]))]
    _, _, records = answers(response(parse_query(query("3.2.1.10.in-addr.arpa", TYPE_PTR)), pointer="web.mynet"))
    assert records == [(TYPE_PTR, b"\x03web\x05mynet\x00")]
    flags = struct.unpack_from("!H", response(q, rcode=RCODE_NXDOMAIN), 2)[0]
    assert flags & 0x8000 and flags & 0x0100 and flags & 0x0080 and flags & 0xF == RCODE_NXDOMAIN  # QR, RD, RA


class FakeUpstream:
    """A UDP DNS server on 127.0.0.1 that answers every query with 192.0.2.1 (or stays silent)."""

    def __init__(self, *, silent: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.silent = silent
        self.seen: list[str] = []
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", self.port))  # the same port over TCP
        self.tcp.listen(4)
        threading.Thread(target=self._serve, daemon=True).start()
        threading.Thread(target=self._serve_tcp, daemon=True).start()

    def _serve_tcp(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                size = struct.unpack("!H", conn.recv(2))[0]
                q = parse_query(conn.recv(size))
                self.seen.append("tcp:" + q.name)
                reply = response(q, addresses=["192.0.2.2"])
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            q = parse_query(data)
            self.seen.append(q.name)
            if not self.silent:
                self.sock.sendto(response(q, addresses=["192.0.2.1"]), peer)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dns.EmbeddedDNS, FakeUpstream, socket.socket]]:
    """An EmbeddedDNS serving one endpoint on a loopback port of this namespace, forwarding to a
    fake upstream (both on ephemeral ports instead of 53)."""
    upstream = FakeUpstream()
    monkeypatch.setattr(dns, "ADDRESS", "127.0.0.1")
    monkeypatch.setattr(dns, "PORT", 0)
    monkeypatch.setattr(dns, "call_in_netns", lambda path, fn: fn())
    server = dns.EmbeddedDNS()
    names = {"web": ["10.9.0.2"], "web.mynet": ["10.9.0.2"], "www": ["10.9.0.2", "10.9.0.3"]}
    server.serve("c1", "/unused", resolve=lambda name: names.get(name, []),
                 reverse=lambda address: "web.mynet" if address == "10.9.0.2" else "", upstreams=["127.0.0.1"])
    endpoint_port = server._endpoints["c1"].sock.getsockname()[1]
    monkeypatch.setattr(dns, "PORT", upstream.port)  # where forwarded queries go
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(5)
    client.connect(("127.0.0.1", endpoint_port))
    try:
        yield server, upstream, client
    finally:
        client.close()
        server.close()
        upstream.sock.close()
        upstream.tcp.close()


def ask(client: socket.socket, data: bytes) -> bytes:
    client.send(data)
    return client.recv(4096)


def test_answers_names_of_the_network(server: tuple[dns.EmbeddedDNS, FakeUpstream, socket.socket]) -> None:
    _, upstream, client = server
    assert answers(ask(client, query("WEB", qid=1)))[2] == [(TYPE_A, bytes([10, 9, 0, 2]))]
    assert [r for _, r in answers(ask(client, query("www")))[2]] == [bytes([10, 9, 0, 2]), bytes([10, 9, 0, 3])]
    # a container has no IPv6 address: NOERROR without answers, not forwarded
    assert answers(ask(client, query("web", TYPE_AAAA))) == (0x1234, RCODE_OK, [])
    assert answers(ask(client, query("2.0.9.10.in-addr.arpa", TYPE_PTR)))[2] == [(TYPE_PTR, b"\x03web\x05mynet\x00")]
    assert upstream.seen == []


def test_forwards_other_names(server: tuple[dns.EmbeddedDNS, FakeUpstream, socket.socket]) -> None:
    _, upstream, client = server
    qid, rcode, records = answers(ask(client, query("deb.debian.org", qid=42)))
    assert (qid, rcode, records) == (42, RCODE_OK, [(TYPE_A, bytes([192, 0, 2, 1]))])
    assert upstream.seen == ["deb.debian.org"]


def test_servfail_when_no_upstream_answers(server: tuple[dns.EmbeddedDNS, FakeUpstream, socket.socket],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, upstream, client = server
    upstream.silent = True
    monkeypatch.setattr(dns, "UPSTREAM_TIMEOUT", 0.2)
    qid, rcode, records = answers(ask(client, query("example.org", qid=5)))
    assert (qid, rcode, records) == (5, RCODE_SERVFAIL, [])


def test_formerr_and_stop(server: tuple[dns.EmbeddedDNS, FakeUpstream, socket.socket]) -> None:
    srv, _, client = server
    reply = ask(client, struct.pack("!HHHHHH", 77, 0x0100, 0, 0, 0, 0))
    assert struct.unpack_from("!HH", reply) == (77, 0x8000 | 0x0100 | 0x0080 | RCODE_FORMERR)
    srv.stop("c1")
    assert srv.serving() == set()
    client.settimeout(0.3)
    with pytest.raises(OSError):  # nobody answers (refused or timed out)
        ask(client, query("web"))


def test_tcp_clients(server: tuple[dns.EmbeddedDNS, FakeUpstream, socket.socket]) -> None:
    """A resolver retrying over TCP gets the same answers, forwarded ones over TCP upstream."""
    _, upstream, client = server
    with socket.create_connection(client.getpeername(), timeout=5) as conn:
        for name, expected in (("web", [(TYPE_A, bytes([10, 9, 0, 2]))]), ("big.example", [(TYPE_A, bytes([192, 0, 2, 2]))])):
            data = query(name)
            conn.sendall(struct.pack("!H", len(data)) + data)
            size = struct.unpack("!H", conn.recv(2))[0]
            reply = b""
            while len(reply) < size:
                reply += conn.recv(size - len(reply))
            assert answers(reply)[2] == expected
    assert upstream.seen == ["tcp:big.example"]


def test_long_local_answers_are_truncated_over_udp() -> None:
    """Answers over 512 bytes without EDNS keep what fits and set TC, so the client asks over TCP."""
    q = parse_query(query("web"))
    many = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(60)]
    full = response(q, addresses=many)
    cut = response(q, addresses=many, max_size=dns.UDP_ANSWER_LIMIT)
    assert len(full) > 512 >= len(cut)
    assert struct.unpack_from("!H", cut, 2)[0] & 0x0200 and not struct.unpack_from("!H", full, 2)[0] & 0x0200
    assert len(answers(cut)[2]) == (512 - 12 - len(q.question)) // 16


def test_no_forwarding_when_the_container_may_not_reach_out(
        server: tuple[dns.EmbeddedDNS, FakeUpstream, socket.socket]) -> None:
    srv, upstream, client = server
    srv._endpoints["c1"].may_forward = lambda: False
    assert answers(ask(client, query("web")))[2] == [(TYPE_A, bytes([10, 9, 0, 2]))]  # its network's names: yes
    assert answers(ask(client, query("outside.example", qid=8))) == (8, RCODE_SERVFAIL, [])
    assert upstream.seen == []
    client.send(b"\0" * 5)  # not even a header: dropped, and the server goes on
    assert answers(ask(client, query("web")))[1] == RCODE_OK

"""The embedded DNS server of user-defined networks, at 127.0.0.11 inside each container.

As with dockerd, containers on a user-defined network find each other by name: the server answers
A queries for the names the engine registers for the container's network (container name,
aliases, short ID, hostname, and ``name.network``) and PTR queries for their addresses, and
forwards every other query to the container's upstream servers (``--dns``, else the host's).

Each container gets its own UDP and TCP sockets, bound to 127.0.0.11:53 inside its network namespace
(``call_in_netns``: the socket stays there however it is used); one thread serves them all, and
forwarding runs in a small pool, from the daemon's own namespace, so host resolvers on loopback
(systemd-resolved's 127.0.0.53) work as they do for dockerd. The server lives in the daemon: while
the daemon is down, names do not resolve; a restarted daemon serves its running containers again.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import selectors
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from dockyard.sys.netns import call_in_netns

logger = logging.getLogger(__name__)

ADDRESS = "127.0.0.11"
PORT = 53
TTL = 600  # dockerd's
TYPE_A, TYPE_PTR, TYPE_AAAA, CLASS_IN = 1, 12, 28, 1
RCODE_OK, RCODE_FORMERR, RCODE_SERVFAIL, RCODE_NXDOMAIN = 0, 1, 2, 3
MAX_UDP = 4096
UDP_ANSWER_LIMIT = 512  # RFC 1035 without EDNS: longer local answers are truncated (TC set)
UPSTREAM_TIMEOUT = 2.0
# What one container may hold at once, so that it cannot starve the others' lookups.
MAX_FORWARDS_PER_CONTAINER = 4
MAX_TCP_CLIENTS_PER_CONTAINER = 4


class MalformedQuery(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Query:
    id: int
    flags: int
    name: str          # lower case, without the trailing dot
    qtype: int
    qclass: int
    question: bytes    # the question section as received, echoed in answers


def parse_query(data: bytes) -> Query:
    """The first question of a DNS query (RFC 1035 §4.1); MalformedQuery otherwise."""
    if len(data) < 12:
        raise MalformedQuery("short header")
    qid, flags, qdcount = struct.unpack_from("!HHH", data)
    if flags & 0x8000 or qdcount < 1:
        raise MalformedQuery("not a query")
    labels: list[str] = []
    pos = 12
    while True:
        if pos >= len(data):
            raise MalformedQuery("truncated name")
        length = data[pos]
        pos += 1
        if length == 0:
            break
        if length & 0xC0:
            raise MalformedQuery("compressed question name")
        label = data[pos:pos + length]
        if len(label) != length:
            raise MalformedQuery("truncated label")
        labels.append(label.decode("ascii", "replace").lower())
        pos += length
    if pos + 4 > len(data):
        raise MalformedQuery("truncated question")
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    return Query(qid, flags, ".".join(labels), qtype, qclass, data[12:pos + 4])


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.split("."):
        if label:
            raw = label.encode("ascii", "replace")[:63]
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def response(query: Query, *, rcode: int = RCODE_OK, addresses: Sequence[str] = (), pointer: str = "",
             max_size: int = 65535) -> bytes:
    """An answer to ``query``: A records for ``addresses``, or one PTR record naming ``pointer``;
    the answers that fit in ``max_size`` bytes, with TC set when some did not."""
    # QR, the query's opcode and RD, RA; AA stays clear (dockerd's answers are not authoritative)
    flags = 0x8000 | (query.flags & 0x7900) | 0x0080 | rcode
    answers = [struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, TTL, 4) + IPv4Address(a).packed for a in addresses]
    if pointer:
        rdata = _encode_name(pointer)
        answers.append(struct.pack("!HHHIH", 0xC00C, TYPE_PTR, CLASS_IN, TTL, len(rdata)) + rdata)
    room = max_size - 12 - len(query.question)
    while answers and sum(map(len, answers)) > room:
        answers.pop()
        flags |= 0x0200
    header = struct.pack("!HHHHHH", query.id, flags, 1, len(answers), 0, 0)
    return header + query.question + b"".join(answers)


def error_response(data: bytes, rcode: int) -> bytes | None:
    """FORMERR/SERVFAIL for a query that could not be parsed (its ID kept), or None."""
    if len(data) < 12:
        return None
    qid, flags = struct.unpack_from("!HH", data)
    return struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x7900) | 0x0080 | rcode, 0, 0, 0, 0)


def reverse_name(address: str) -> str:
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa"


# A container's names: name -> addresses, for its network; and address -> name for PTR.
Resolver = Callable[[str], list[str]]
ReverseResolver = Callable[[str], str]


@dataclass
class _Endpoint:
    key: str
    sock: socket.socket          # UDP
    listener: socket.socket      # TCP: for clients that retry a truncated answer over TCP
    resolve: Resolver
    reverse: ReverseResolver
    upstreams: tuple[str, ...]
    may_forward: Callable[[], bool]  # false for a container only on internal networks
    forwards: int = 0                # lookups in the forwarding pool now
    tcp_clients: int = 0


class EmbeddedDNS:
    def __init__(self, *, forwarders: int = 8) -> None:
        self._selector = selectors.DefaultSelector()
        self._endpoints: dict[str, _Endpoint] = {}
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=forwarders, thread_name_prefix="dockyard-dns")
        self._counts = threading.Lock()  # guards the endpoints' forwards and tcp_clients
        self._thread: threading.Thread | None = None
        self._closed = False

    def serve(self, key: str, netns_path: str, *, resolve: Resolver, reverse: ReverseResolver,
              upstreams: Sequence[str], may_forward: Callable[[], bool] = lambda: True) -> None:
        """Answer at 127.0.0.11:53 in the namespace at ``netns_path`` for ``key`` (a container).
        ``may_forward``: whether names the network does not know go upstream now (not for a
        container only on internal networks: that would be a way out of them, as in dockerd)."""
        def bind() -> tuple[socket.socket, socket.socket]:
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                udp.bind((ADDRESS, PORT))
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((ADDRESS, udp.getsockname()[1]))
                tcp.listen(16)
                for sock in (udp, tcp):
                    sock.setblocking(False)
            except BaseException:
                udp.close()
                tcp.close()
                raise
            return udp, tcp

        self.stop(key)
        udp, tcp = call_in_netns(netns_path, bind)
        endpoint = _Endpoint(key, udp, tcp, resolve, reverse, tuple(upstreams), may_forward)
        with self._lock:
            if self._closed:
                udp.close()
                tcp.close()
                return
            self._endpoints[key] = endpoint
            self._selector.register(udp, selectors.EVENT_READ, endpoint)
            self._selector.register(tcp, selectors.EVENT_READ, endpoint)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="dockyard-dns", daemon=True)
                self._thread.start()
        self._wake()

    def stop(self, key: str) -> None:
        with self._lock:
            endpoint = self._endpoints.pop(key, None)
            if endpoint is not None:
                for sock in (endpoint.sock, endpoint.listener):
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(sock)
        if endpoint is not None:
            endpoint.sock.close()
            endpoint.listener.close()
            self._wake()

    def serving(self) -> set[str]:
        with self._lock:
            return set(self._endpoints)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            keys = list(self._endpoints)
        for key in keys:
            self.stop(key)
        self._wake()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
            for key, _ in self._selector.select(timeout=1.0):
                if key.data is None:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                    continue
                endpoint: _Endpoint = key.data
                if key.fileobj is endpoint.listener:
                    self._accept(endpoint)
                    continue
                try:
                    data, peer = endpoint.sock.recvfrom(MAX_UDP)
                except OSError:
                    continue  # closed meanwhile, or nothing after all
                if len(data) < 12:
                    continue  # not even a header: nothing to answer
                try:
                    reply = self._answer(endpoint, data, max_size=UDP_ANSWER_LIMIT)
                except Exception:  # noqa: BLE001 - one bad query must not stop the server
                    logger.exception("embedded DNS: query from %s failed", endpoint.key[:12])
                    continue
                if reply is not None:
                    _send(endpoint.sock, reply, peer)
                elif self._take(endpoint, "forwards", MAX_FORWARDS_PER_CONTAINER):
                    self._pool.submit(self._forward_udp, endpoint, data, peer)
                else:
                    _send(endpoint.sock, _servfail(data), peer)

    def _take(self, endpoint: _Endpoint, counter: str, limit: int) -> bool:
        with self._counts:
            if getattr(endpoint, counter) >= limit:
                return False
            setattr(endpoint, counter, getattr(endpoint, counter) + 1)
            return True

    def _give_back(self, endpoint: _Endpoint, counter: str) -> None:
        with self._counts:
            setattr(endpoint, counter, getattr(endpoint, counter) - 1)

    def _accept(self, endpoint: _Endpoint) -> None:
        try:
            conn, _ = endpoint.listener.accept()
        except OSError:
            return
        if not self._take(endpoint, "tcp_clients", MAX_TCP_CLIENTS_PER_CONTAINER):
            conn.close()
            return
        # a thread of its own: a slow TCP client holds nobody else's lookups
        threading.Thread(target=self._serve_tcp, args=(endpoint, conn), name="dockyard-dns-tcp", daemon=True).start()

    @staticmethod
    def _answer(endpoint: _Endpoint, data: bytes, *, max_size: int = 65535) -> bytes | None:
        """The reply to a query the network's names answer (or FORMERR, or SERVFAIL for a name
        that may not be forwarded); None: to be forwarded."""
        try:
            query = parse_query(data)
        except MalformedQuery:
            return error_response(data, RCODE_FORMERR)
        if query.qclass == CLASS_IN and query.qtype in (TYPE_A, TYPE_AAAA):
            addresses = endpoint.resolve(query.name)
            if addresses:  # a container: its IPv4 addresses; it has no IPv6 one (NOERROR, no data)
                return response(query, addresses=addresses if query.qtype == TYPE_A else (), max_size=max_size)
        elif query.qclass == CLASS_IN and query.qtype == TYPE_PTR and query.name.endswith(".in-addr.arpa"):
            address = ".".join(reversed(query.name[:-len(".in-addr.arpa")].split(".")))
            name = endpoint.reverse(address)
            if name:
                return response(query, pointer=name, max_size=max_size)
        if not endpoint.may_forward():
            return response(query, rcode=RCODE_SERVFAIL)
        return None

    def _forward_udp(self, endpoint: _Endpoint, data: bytes, peer: tuple[str, int]) -> None:
        try:
            _send(endpoint.sock, _forward(endpoint.upstreams, data, tcp=False), peer)
        finally:
            self._give_back(endpoint, "forwards")

    def _serve_tcp(self, endpoint: _Endpoint, conn: socket.socket) -> None:
        """One TCP client: length-prefixed queries until it closes or idles (RFC 1035 §4.2.2)."""
        try:
            with conn:
                conn.settimeout(UPSTREAM_TIMEOUT * 2)
                while True:
                    data = _read_message(conn)
                    if data is None or len(data) < 12:
                        return
                    reply = self._answer(endpoint, data) or _forward(endpoint.upstreams, data, tcp=True)
                    if reply:
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return
        finally:
            self._give_back(endpoint, "tcp_clients")


def _read_message(conn: socket.socket) -> bytes | None:
    """One length-prefixed DNS message from a TCP stream; None at its end."""
    def exactly(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    size = exactly(2)
    return None if size is None else exactly(struct.unpack("!H", size)[0])


def _forward(upstreams: Sequence[str], data: bytes, *, tcp: bool) -> bytes:
    """Relay the query to the upstream servers in turn (over TCP for a TCP client: its answer may
    be longer than a datagram); SERVFAIL when none answers."""
    for server in upstreams:
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM) as upstream:
                upstream.settimeout(UPSTREAM_TIMEOUT)
                upstream.connect((server, PORT))
                if tcp:
                    upstream.sendall(struct.pack("!H", len(data)) + data)
                    reply = _read_message(upstream)
                    if reply is None:
                        continue
                    return reply
                upstream.send(data)
                while True:
                    reply = upstream.recv(MAX_UDP)
                    if reply[:2] == data[:2]:
                        return reply
        except OSError:
            continue
    return _servfail(data)


def _servfail(data: bytes) -> bytes:
    try:
        return response(parse_query(data), rcode=RCODE_SERVFAIL)
    except MalformedQuery:
        return b""


def _send(sock: socket.socket, data: bytes, peer: tuple[str, int]) -> None:
    if not data:
        return
    with contextlib.suppress(OSError):  # the container is gone, or its socket buffer is full
        sock.sendto(data, peer)


__all__ = ["ADDRESS", "EmbeddedDNS", "MalformedQuery", "Query", "parse_query", "response", "reverse_name"]

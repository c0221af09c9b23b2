from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.network.files import (
    parse_extra_host,
    render_hostname,
    render_hosts,
    render_resolv_conf,
    upstream_servers,
)

DOCKER_HOSTS = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def test_hosts_like_docker() -> None:
    assert render_hosts("0123456789ab", "", "172.17.0.2") == DOCKER_HOSTS + "172.17.0.2\t0123456789ab\n"


def test_hosts_with_domain_extra_hosts_and_no_address() -> None:
    text = render_hosts("web", "example.com", "172.17.0.3", ["db:10.0.0.5", "v6:::1", "gw=host-gateway"],
                        host_gateway="172.17.0.1")
    assert text.endswith("10.0.0.5\tdb\n::1\tv6\n172.17.0.1\tgw\n172.17.0.3\tweb.example.com web\n")
    assert render_hosts("web", "", None) == DOCKER_HOSTS


@pytest.mark.parametrize("bad", ["nohost", "x:notanip", ":1.2.3.4"])
def test_bad_extra_host(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_extra_host(bad)


def test_host_gateway_needs_a_value() -> None:
    with pytest.raises(InvalidArgument):
        render_hosts("h", "", None, ["gw:host-gateway"])
    assert parse_extra_host("h:[::1]") == ("h", "::1")


def test_resolv_conf_drops_loopback_servers_keeps_search_and_options() -> None:
    host = "# comment\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\nnameserver fd00::1\n" \
           "search corp.example lab.example\noptions edns0 trust-ad\n"
    assert render_resolv_conf(host) == ("nameserver 10.255.255.53\nsearch corp.example lab.example\n"
                                        "options edns0 trust-ad\n")
    assert "nameserver fd00::1" in render_resolv_conf(host, ipv6=True)


def test_resolv_conf_defaults_when_only_loopback() -> None:
    host = "nameserver 127.0.0.53\noptions edns0\n"
    assert render_resolv_conf(host) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"
    v6 = render_resolv_conf(host, ipv6=True)
    assert "nameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n" in v6
    assert render_resolv_conf("") == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"


def test_resolv_conf_overrides() -> None:
    host = "nameserver 10.1.1.1\nsearch a.example\ndomain b.example\noptions ndots:2\n"
    assert render_resolv_conf(host) == "nameserver 10.1.1.1\nsearch b.example\noptions ndots:2\n"
    out = render_resolv_conf(host, dns=["127.0.0.11"], search=["."], options=["ndots:0"])
    assert out == "nameserver 127.0.0.11\noptions ndots:0\n"
    # with --dns/--dns-search, dockerd's order: search, nameservers, options
    assert render_resolv_conf(host, dns=["9.9.9.9"], search=["ex.com"]) == \
        "search ex.com\nnameserver 9.9.9.9\noptions ndots:2\n"


def test_hostname() -> None:
    assert render_hostname("abc") == "abc\n"


def test_resolv_conf_of_a_user_network_points_at_the_embedded_dns() -> None:
    host = "nameserver 127.0.0.53\nsearch corp.example\noptions edns0\n"
    assert render_resolv_conf(host, embedded=True) == \
        "search corp.example\nnameserver 127.0.0.11\noptions edns0 ndots:0\n"
    # --dns is where the embedded server forwards to; --dns-option with ndots keeps its own
    assert render_resolv_conf(host, dns=["9.9.9.9"], search=["."], options=["ndots:3"], embedded=True) == \
        "nameserver 127.0.0.11\noptions ndots:3\n"


def test_upstream_servers_keep_loopback_ones() -> None:
    assert upstream_servers("nameserver 127.0.0.53\nnameserver 10.0.0.2\n") == ["127.0.0.53", "10.0.0.2"]
    assert upstream_servers("nameserver 127.0.0.53\n", ["1.1.1.1"]) == ["1.1.1.1"]
    assert upstream_servers("") == ["8.8.8.8", "8.8.4.4"]

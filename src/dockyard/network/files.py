"""The /etc/hosts, /etc/resolv.conf and /etc/hostname a container gets, in Docker's layout."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from dockyard.errors import InvalidArgument

DEFAULT_HOSTS = (
    ("127.0.0.1", "localhost"),
    ("::1", "localhost ip6-localhost ip6-loopback"),
    ("fe00::0", "ip6-localnet"),
    ("ff00::0", "ip6-mcastprefix"),
    ("ff02::1", "ip6-allnodes"),
    ("ff02::2", "ip6-allrouters"),
)
DEFAULT_DNS_V4 = ("8.8.8.8", "8.8.4.4")
DEFAULT_DNS_V6 = ("2001:4860:4860::8888", "2001:4860:4860::8844")
HOST_GATEWAY = "host-gateway"
EMBEDDED_DNS = "127.0.0.11"


def parse_extra_host(entry: str) -> tuple[str, str]:
    """``name:ip`` or ``name=ip`` (HostConfig.ExtraHosts) -> (name, ip); the IP may be IPv6."""
    sep = min((i for i in (entry.find("="), entry.find(":")) if i > 0), default=-1)
    if sep < 0:
        raise InvalidArgument(f"invalid extra host {entry!r}: expected name:ip")
    name, ip = entry[:sep], entry[sep + 1:]
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    if ip != HOST_GATEWAY:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidArgument(f"invalid IP address in add-host: {ip!r}") from None
    return name, ip


def render_hosts(hostname: str, domainname: str, address: str | None, extra_hosts: Sequence[str] = (),
                 *, host_gateway: str | None = None, links: Sequence[tuple[str, str]] = ()) -> str:
    """Docker's /etc/hosts: the fixed entries, ``--add-host`` entries, ``--link`` ones (address,
    names), then the container's own.

    ``address`` is None for containers without a network address (``--network none``/``host``).
    """
    lines = [f"{ip}\t{names}" for ip, names in DEFAULT_HOSTS]
    for entry in extra_hosts:
        name, ip = parse_extra_host(entry)
        if ip == HOST_GATEWAY:
            if host_gateway is None:
                raise InvalidArgument("unable to derive the IP value for host-gateway")
            ip = host_gateway
        lines.append(f"{ip}\t{name}")
    lines += [f"{ip}\t{names}" for ip, names in links]
    if address:
        names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
        lines.append(f"{address}\t{names}")
    return "\n".join(lines) + "\n"


def render_hostname(hostname: str) -> str:
    return hostname + "\n"


def _is_loopback(server: str) -> bool:
    try:
        return ipaddress.ip_address(server.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_v6(server: str) -> bool:
    return ":" in server


def _parse_resolv(text: str) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, search domains, options) of a resolv.conf."""
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver" and values:
            servers.append(values[0])
        elif key in ("search", "domain"):
            search = values  # the last search/domain line wins, as in the resolver
        elif key == "options":
            options.extend(values)
    return servers, search, options


def upstream_servers(host_resolv: str, dns: Sequence[str] = ()) -> list[str]:
    """Where the embedded DNS sends what it does not answer: ``--dns``, else the host's servers
    (loopback ones too: it forwards from the host), else Docker's public defaults."""
    servers = list(dns) or _parse_resolv(host_resolv)[0]
    return servers or list(DEFAULT_DNS_V4)


def render_resolv_conf(host_resolv: str, *, dns: Sequence[str] = (), search: Sequence[str] = (),
                       options: Sequence[str] = (), ipv6: bool = False, embedded: bool = False) -> str:
    """The container's resolv.conf from the host's, like Docker's default bridge network.

    Explicit ``dns``/``search``/``options`` replace the host's. Host nameservers on loopback
    (127.x, ::1) cannot be reached from the container and are dropped, IPv6 ones too without IPv6;
    when none remain, Docker's public defaults are used. ``embedded``: a user-defined network's,
    whose only server is the embedded DNS (which forwards to the others), with ``ndots:0`` unless
    an ndots option is given, as dockerd writes it.
    """
    host_servers, host_search, host_options = _parse_resolv(host_resolv)
    if embedded:
        domains = list(search) if search else host_search
        domains = [] if domains == ["."] else domains
        opts = list(options) if options else host_options
        if not any(o.startswith("ndots:") for o in opts):
            opts.append("ndots:0")
        lines = (["search " + " ".join(domains)] if domains else []) + [f"nameserver {EMBEDDED_DNS}"]
        return "\n".join([*lines, "options " + " ".join(opts)]) + "\n"

    if dns:
        servers = list(dns)
    else:
        servers = [s for s in host_servers if not _is_loopback(s) and (ipv6 or not _is_v6(s))]
        if not servers:
            servers = list(DEFAULT_DNS_V4) + (list(DEFAULT_DNS_V6) if ipv6 else [])
    domains = list(search) if search else host_search
    domains = [] if domains == ["."] else domains  # --dns-search . means no search domains
    opts = list(options) if options else host_options

    nameservers = [f"nameserver {s}" for s in servers]
    search_line = ["search " + " ".join(domains)] if domains else []
    # a file built from --dns/--dns-search/--dns-opt has dockerd's order (search first); the
    # host's keeps the usual one
    lines = search_line + nameservers if dns or search or options else nameservers + search_line
    if opts:
        lines.append("options " + " ".join(opts))
    return "\n".join(lines) + "\n"


__all__ = ["DEFAULT_DNS_V4", "DEFAULT_DNS_V6", "EMBEDDED_DNS", "HOST_GATEWAY", "parse_extra_host", "render_hostname",
           "render_hosts", "render_resolv_conf", "upstream_servers"]

"""network create, ls, inspect, rm, prune, connect, disconnect."""

from __future__ import annotations

import csv
import json
from argparse import Namespace
from collections.abc import Mapping
from functools import cmp_to_key
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_interface
from typing import Any

from dockyard.cli.app import Cli, CliError, StatusError, UsageError
from dockyard.cli.flags import confirm
from dockyard.cli.formatter import JSON_FORMAT, Row, render, truncate_id
from dockyard.cli.gotypes import (
    GoMap,
    GoStruct,
    GoTime,
    dumps,
    go_time,
    natural_cmp,
    strict,
    string_map,
    struct_map,
    struct_slice,
    text,
)
from dockyard.cli.runopts import kv_map
from dockyard.cli.template import Template, TemplateError, compile_template
from dockyard.errors import DockyardError, NotFound

JSON = dict[str, Any]

NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
NETWORK_QUIET = "{{.ID}}"
NETWORK_RAW = "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n"
NETWORK_RAW_QUIET = "network_id: {{.ID}}"
NETWORK_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
                   "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
PRUNE_WARNING = "WARNING! This will remove all custom networks not used by at least one container.\n" \
    "Are you sure you want to continue?"


def _usage_error(command: str, usage: str, message: str) -> UsageError:
    return UsageError(f"{message}\n\nUsage:  dockyard network {command} {usage}\n\n"
                      f"Run 'dockyard network {command} --help' for more information")


def _filters(values: list[str], flag: str, command: str, usage: str) -> dict[str, list[str]]:
    """Docker's FilterOpt: ``key=value``, the key lower-cased, both trimmed; empty values ignored."""
    filters: dict[str, list[str]] = {}
    for value in values:
        if not value:
            continue
        key, eq, val = value.partition("=")
        if not eq:
            raise _usage_error(command, usage, f'invalid argument "{value}" for "{flag}" flag: bad format of '
                                               "filter (expected name=value)")
        filters.setdefault(key.strip().lower(), []).append(val.strip())
    return filters


def _string_slice(values: list[str]) -> list[str]:
    """A repeated pflag "strings" flag: each value is a comma-separated (CSV) list."""
    out: list[str] = []
    for value in values:
        if value:
            out.extend(next(csv.reader([value]), []))
    return out


# -- network ls ----------------------------------------------------------------------------------


class NetworkRow(Row):
    FIELDS = ("ID", "Name", "Driver", "Scope", "IPv4", "IPv6", "Internal", "Labels", "CreatedAt")

    def __init__(self, network: JSON, *, trunc: bool) -> None:
        self.network = network
        self.trunc = trunc

    def _field(self, key: str) -> str:
        return str(self.network.get(key) or "")

    def _flag(self, key: str) -> str:
        return "true" if self.network.get(key) else "false"

    def ID(self) -> str:  # noqa: N802 - Docker's template field names
        ident = self._field("Id")
        return truncate_id(ident) if self.trunc else ident

    def Name(self) -> str:  # noqa: N802
        return self._field("Name")

    def Driver(self) -> str:  # noqa: N802
        return self._field("Driver")

    def Scope(self) -> str:  # noqa: N802
        return self._field("Scope")

    def IPv4(self) -> str:  # noqa: N802
        return self._flag("EnableIPv4")

    def IPv6(self) -> str:  # noqa: N802
        return self._flag("EnableIPv6")

    def Internal(self) -> str:  # noqa: N802
        return self._flag("Internal")

    def Labels(self) -> str:  # noqa: N802
        labels = self.network.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def CreatedAt(self) -> str:  # noqa: N802
        return go_time(self._field("Created"))


def list_networks(cli: Cli, opts: Namespace, args: list[str]) -> int:
    filters = _filters(opts.filter, "-f, --filter", "ls", "[OPTIONS]")
    networks = cli.client().networks(filters or None)
    fmt = opts.format
    if not fmt or fmt == "table":
        fmt = NETWORK_QUIET if opts.quiet else NETWORK_TABLE
    elif fmt == "raw":
        fmt = NETWORK_RAW_QUIET if opts.quiet else NETWORK_RAW
    elif fmt == "json":
        fmt = JSON_FORMAT
    names = cmp_to_key(natural_cmp)
    ordered = sorted(networks, key=lambda n: names(str(n.get("Name") or "")))
    cli.out.write(render(fmt, [NetworkRow(n, trunc=not opts.no_trunc) for n in ordered], NETWORK_HEADERS))
    return 0


# -- network inspect: the API's Go structs, for templates -------------------------------------------


def _ipam_config(raw: Mapping[str, Any]) -> GoStruct:
    return GoStruct("network.IPAMConfig", [
        ("Subnet", "Subnet", text(raw, "Subnet"), True),
        ("IPRange", "IPRange", text(raw, "IPRange"), True),
        ("Gateway", "Gateway", text(raw, "Gateway"), True),
        ("AuxAddress", "AuxiliaryAddresses", string_map(raw.get("AuxiliaryAddresses")), True),
    ])


def _endpoint(raw: Mapping[str, Any]) -> GoStruct:
    return GoStruct("network.EndpointResource", [
        (name, name, text(raw, name), False)
        for name in ("Name", "EndpointID", "MacAddress", "IPv4Address", "IPv6Address")
    ])


def _peer(raw: Mapping[str, Any]) -> GoStruct:
    return GoStruct("network.PeerInfo", [("Name", "Name", text(raw, "Name"), False),
                                         ("IP", "IP", text(raw, "IP"), False)])


def typed_network(raw: Mapping[str, Any]) -> GoStruct:
    """A ``GET /networks/{id}`` body as the docker CLI decodes it (network.Inspect)."""
    ipam_raw, config_raw, services = raw.get("IPAM"), raw.get("ConfigFrom"), raw.get("Services")
    ipam: Mapping[str, Any] = ipam_raw if isinstance(ipam_raw, Mapping) else {}
    config_from: Mapping[str, Any] = config_raw if isinstance(config_raw, Mapping) else {}
    flags = {name: bool(raw.get(name)) for name in ("EnableIPv4", "EnableIPv6", "Internal", "Attachable",
                                                       "Ingress", "ConfigOnly")}
    return GoStruct("network.Inspect", [
        ("Name", "Name", text(raw, "Name"), False),
        ("ID", "Id", text(raw, "Id"), False),
        ("Created", "Created", GoTime(text(raw, "Created")), False),
        ("Scope", "Scope", text(raw, "Scope"), False),
        ("Driver", "Driver", text(raw, "Driver"), False),
        ("EnableIPv4", "EnableIPv4", flags["EnableIPv4"], False),
        ("EnableIPv6", "EnableIPv6", flags["EnableIPv6"], False),
        ("IPAM", "IPAM", GoStruct("network.IPAM", [
            ("Driver", "Driver", text(ipam, "Driver"), False),
            ("Options", "Options", string_map(ipam.get("Options")), False),
            ("Config", "Config", struct_slice(ipam.get("Config"), _ipam_config), False),
        ]), False),
        ("Internal", "Internal", flags["Internal"], False),
        ("Attachable", "Attachable", flags["Attachable"], False),
        ("Ingress", "Ingress", flags["Ingress"], False),
        ("ConfigFrom", "ConfigFrom", GoStruct("network.ConfigReference", [
            ("Network", "Network", text(config_from, "Network"), False)]), False),
        ("ConfigOnly", "ConfigOnly", flags["ConfigOnly"], False),
        ("Containers", "Containers", struct_map(raw.get("Containers"), _endpoint), False),
        ("Options", "Options", string_map(raw.get("Options")), False),
        ("Labels", "Labels", string_map(raw.get("Labels")), False),
        ("Peers", "Peers", struct_slice(raw.get("Peers"), _peer), True),
        ("Services", "Services", GoMap(services) if isinstance(services, Mapping) else GoMap(nil=True), True),
    ])


def _render_inspect(tmpl: Template, element: JSON) -> str:
    """As docker's template inspector: the typed value first, the raw JSON when a field is not
    one of the struct's."""
    try:
        return tmpl.render(typed_network(element))
    except TemplateError:
        return tmpl.render(strict(element))


def inspect(cli: Cli, opts: Namespace, args: list[str]) -> int:
    fmt: str = opts.format
    tmpl: Template | None = None
    if fmt and fmt != "json":
        try:
            tmpl = compile_template(fmt)
        except TemplateError as exc:
            raise StatusError(f"template parsing error: {exc}", 64) from None
    client = cli.client()
    errors: list[str] = []
    elements: list[JSON] = []
    rendered: list[str] = []
    for name in args:
        try:
            element = client.network(name, verbose=opts.verbose)
        except DockyardError as exc:
            errors.append(f"Error response from daemon: {exc}")
            continue
        elements.append(element)
        if tmpl is not None:
            try:
                rendered.append(_render_inspect(tmpl, element) + "\n")
            except TemplateError as exc:
                errors.append(f"template parsing error: {exc}")
    if tmpl is not None:
        cli.out.write("".join(rendered) or "\n")
    elif fmt == "json":
        cli.out.write("[" + ",".join(dumps(e) for e in elements) + "]\n")
    else:
        cli.out.write(json.dumps(elements, indent=4, ensure_ascii=False) + "\n")
    if errors:
        raise StatusError("\n".join(errors), 1)
    return 0


# -- network create ---------------------------------------------------------------------------------


def _check_label(value: str) -> None:
    """opts.ValidateLabel: a key, without whitespace."""
    key = value.partition("=")[0]
    if not key.strip():
        raise _usage_error("create", "[OPTIONS] NETWORK",
                           f"invalid argument \"{value}\" for \"--label\" flag: invalid label '{value}': empty name")
    if " " in key.strip() or "\t" in key.strip():
        raise _usage_error("create", "[OPTIONS] NETWORK",
                           f"invalid argument \"{value}\" for \"--label\" flag: label '{key.strip()}' contains "
                           "whitespaces")


Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


def _parse_cidr(text: str) -> tuple[Address, Network]:
    """net.ParseCIDR: "address/bits" (host bits allowed)."""
    _, slash, bits = text.partition("/")
    try:
        if not slash or not bits.isascii() or not bits.isdigit():
            raise ValueError(text)
        interface = ip_interface(text)
    except ValueError:
        raise CliError(f"invalid CIDR address: {text}") from None
    return interface.ip, interface.network


def _subnet_matches(subnet: str, data: str) -> bool:
    """Whether ``data`` (an address, or a CIDR's address) is in ``subnet``."""
    try:
        _, network = _parse_cidr(subnet)
    except CliError as exc:
        raise CliError(f"invalid subnet: {exc}") from None
    if "/" in data:
        address: Address | None = _parse_cidr(data)[0]
    else:
        try:
            address = ip_address(data)
        except ValueError:
            address = None
    return address is not None and address.version == network.version and address in network


def ipam_configs(subnets: list[str], ip_ranges: list[str], gateways: list[str]) -> list[JSON]:
    """The IPAM.Config of ``network create``: one entry per subnet, with its range and gateway,
    checked as the docker CLI checks them."""
    if len(subnets) < len(ip_ranges) or len(subnets) < len(gateways):
        raise CliError("every ip-range or gateway must have a corresponding subnet")
    configs: dict[str, JSON] = {}
    for subnet in subnets:
        for other in configs:
            if _subnet_matches(subnet, other) or _subnet_matches(other, subnet):
                raise CliError("multiple overlapping subnet configuration is not supported")
        configs[subnet] = {"Subnet": subnet}
    for key, what, values in (("IPRange", "range", ip_ranges), ("Gateway", "gateway", gateways)):
        for value in values:
            if key == "IPRange":
                _parse_cidr(value)  # a range must be a CIDR, whichever subnet it is checked against
            matched = False
            for subnet in subnets:
                if not _subnet_matches(subnet, value):
                    continue
                if key in configs[subnet]:
                    several = "ranges" if key == "IPRange" else "gateways"
                    where = "on the same subnet" if key == "IPRange" else "for the same subnet"
                    raise CliError(f"cannot configure multiple {several} ({value}, {configs[subnet][key]}) "
                                   f"{where} ({subnet})")
                configs[subnet][key] = value
                matched = True
            if not matched:
                raise CliError(f"no matching subnet for {what} {value}")
    return list(configs.values())


def create(cli: Cli, opts: Namespace, args: list[str]) -> int:
    for label in opts.label:
        _check_label(label)
    configs = ipam_configs(_string_slice(opts.subnet), _string_slice(opts.ip_range), _string_slice(opts.gateway))
    result = cli.client().create_network(
        args[0], driver=opts.driver, internal=opts.internal, attachable=opts.attachable,
        labels=kv_map(opts.label), options=kv_map(opts.opt),
        ipam={"Driver": "default", "Config": configs, "Options": {}},
    )
    cli.print(str(result.get("Id", "")))
    return 0


# -- network rm, prune ------------------------------------------------------------------------------


def remove(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()
    failed = False
    for name in args:
        try:
            client.remove_network(name)
        except NotFound as exc:
            if opts.force:
                continue
            cli.error(f"Error response from daemon: {exc}")
            failed = True
            continue
        except DockyardError as exc:
            cli.error(f"Error response from daemon: {exc}")
            failed = True
            continue
        cli.print(name)
    if failed:
        raise StatusError("exit status 1", 1)
    return 0


def prune(cli: Cli, opts: Namespace, args: list[str]) -> int:
    filters = _filters(opts.filter, "--filter", "prune", "[OPTIONS]")
    if not opts.force and not confirm(cli, PRUNE_WARNING):
        return 0
    report = cli.client().prune_networks(filters)
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        cli.print("Deleted Networks:\n" + "".join(f"{name}\n" for name in deleted))
    return 0


# -- network connect, disconnect ----------------------------------------------------------------------


def endpoint_config(opts: Namespace) -> JSON:
    """The EndpointConfig of ``network connect``'s request."""
    driver_opts: dict[str, str] = {}
    for opt in _string_slice(opts.driver_opt):
        key, eq, value = opt.partition("=")
        if not eq or not key.strip():
            raise CliError("invalid key/value pair format in driver options")
        driver_opts[key.strip()] = value.strip()
    ipam: JSON = {}
    if opts.ip:
        ipam["IPv4Address"] = opts.ip
    if opts.ip6:
        ipam["IPv6Address"] = opts.ip6
    link_local = _string_slice(opts.link_local_ip)
    if link_local:
        ipam["LinkLocalIPs"] = link_local
    return {"IPAMConfig": ipam, "Aliases": _string_slice(opts.alias), "DriverOpts": driver_opts}


def connect(cli: Cli, opts: Namespace, args: list[str]) -> int:
    config = endpoint_config(opts)
    cli.client().connect_network(args[0], args[1], config)
    return 0


def disconnect(cli: Cli, opts: Namespace, args: list[str]) -> int:
    cli.client().disconnect_network(args[0], args[1], force=opts.force)
    return 0


__all__ = ["NetworkRow", "connect", "create", "disconnect", "endpoint_config", "inspect", "ipam_configs", "list_networks",
           "prune", "remove", "typed_network"]

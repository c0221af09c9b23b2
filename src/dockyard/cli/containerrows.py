"""Rows of `ps`, with Docker's field names, headers and value formatting (formatter/container.go)."""

from __future__ import annotations

import json
import time
from typing import Any

from dockyard.cli.formatter import Row, ellipsis, truncate_id
from dockyard.cli.imagerows import go_time_string
from dockyard.units import human_duration, human_size_with_precision

PS_HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Names": "NAMES",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES",
    "Networks": "NETWORKS",
    "Platform": "PLATFORM",
}
PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
PS_QUIET = "{{.ID}}"


def go_quote(text: str) -> str:
    """strconv.Quote, close enough: JSON escaping with printable non-ASCII kept."""
    return json.dumps(text, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _join_host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _form_group(key: str, start: int, last: int) -> str:
    parts = key.split("/")
    group_type = parts[0]
    ip = ""
    if len(parts) > 1:
        ip, group_type = parts[0], parts[1]
    group = str(start) if start == last else f"{start}-{last}"
    if ip:
        group = f"{ip}:{group}->{group}"
    return f"{group}/{group_type}"


def displayable_ports(ports: list[dict[str, Any]]) -> str:
    """formatter.DisplayablePorts: grouped ranges, then host mappings, ", "-separated."""

    def key(p: dict[str, Any]) -> tuple[int, str, int, str]:
        return (int(p.get("PrivatePort") or 0), str(p.get("IP") or ""), int(p.get("PublicPort") or 0),
                str(p.get("Type") or ""))

    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []
    for port in sorted(ports, key=key):
        current = int(port.get("PrivatePort") or 0)
        public = int(port.get("PublicPort") or 0)
        kind = str(port.get("Type") or "")
        ip = str(port.get("IP") or "")
        port_key = kind
        if ip:
            if public != current:
                mappings.append(f"{_join_host_port(ip, public)}->{current}/{kind}")
                continue
            port_key = f"{ip}/{kind}"
        group = groups.get(port_key)
        if group is None:
            groups[port_key] = [current, current]
            order.append(port_key)
            continue
        if current == group[1] + 1:
            group[1] = current
            continue
        result.append(_form_group(port_key, group[0], group[1]))
        groups[port_key] = [current, current]
    for port_key in order:
        first, last = groups[port_key]
        result.append(_form_group(port_key, first, last))
    result.extend(mappings)
    return ", ".join(result)


def _familiar_image(image: str) -> str:
    """Docker's Image column: the familiar name, without the digest when a tag is present."""
    from dockyard.errors import InvalidArgument
    from dockyard.oci.reference import parse_normalized

    try:
        ref = parse_normalized(image)
    except InvalidArgument:
        return image
    name = ref.familiar_name
    return f"{name}:{ref.tag}" if ref.tag else name


class ContainerRow(Row):
    FIELDS = tuple(PS_HEADERS)

    def __init__(self, summary: dict[str, Any], *, trunc: bool, now: float | None = None) -> None:
        self.c = summary
        self.trunc = trunc
        self.now = now

    def ID(self) -> str:
        ident = str(self.c.get("Id", ""))
        return truncate_id(ident) if self.trunc else ident

    def Names(self) -> str:
        names = [str(n)[1:] if str(n).startswith("/") else str(n) for n in self.c.get("Names") or []]
        if self.trunc:
            for name in names:
                if "/" not in name:
                    names = [name]
                    break
        return ",".join(names)

    def Image(self) -> str:
        image = str(self.c.get("Image") or "")
        if not image:
            return "<no image>"
        if self.trunc:
            image_id = str(self.c.get("ImageID") or "")
            if image_id and truncate_id(image_id) == truncate_id(image):
                return truncate_id(image_id)
            return _familiar_image(image)
        return image

    def Command(self) -> str:
        command = str(self.c.get("Command") or "")
        if self.trunc:
            command = ellipsis(command, 20)
        return go_quote(command)

    def CreatedAt(self) -> str:
        return go_time_string(int(self.c.get("Created") or 0))

    def RunningFor(self) -> str:
        now = self.now if self.now is not None else time.time()
        return human_duration(now - int(self.c.get("Created") or 0)) + " ago"

    def Ports(self) -> str:
        return displayable_ports(list(self.c.get("Ports") or []))

    def State(self) -> str:
        return str(self.c.get("State") or "")

    def Status(self) -> str:
        return str(self.c.get("Status") or "")

    def Size(self) -> str:
        size_rw = int(self.c.get("SizeRw") or 0)
        root = int(self.c.get("SizeRootFs") or 0)
        text = human_size_with_precision(size_rw, 3)
        if root > 0:
            text = f"{text} (virtual {human_size_with_precision(root, 3)})"
        return text

    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in labels.items())

    def Mounts(self) -> str:
        names = []
        for mount in self.c.get("Mounts") or []:
            name = str(mount.get("Name") or mount.get("Source") or "")
            if self.trunc:
                name = ellipsis(name, 15)
            names.append(name)
        return ",".join(names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    def Networks(self) -> str:
        networks = (self.c.get("NetworkSettings") or {}).get("Networks") or {}
        return ",".join(sorted(networks))

    def Platform(self) -> str:
        return ""


def ps_rows(containers: list[dict[str, Any]], *, trunc: bool, now: float | None = None) -> list[ContainerRow]:
    return [ContainerRow(c, trunc=trunc, now=now) for c in containers]


__all__ = ["PS_HEADERS", "PS_QUIET", "PS_TABLE", "ContainerRow", "displayable_ports", "go_quote", "ps_rows"]

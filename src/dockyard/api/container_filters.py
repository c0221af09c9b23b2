"""Which containers ``GET /containers/json`` lists: its ``all`` flag and ``filters``.

The rules are dockerd's (daemon/list.go): ``status`` implies ``all``; ``before``/``since`` take a
full ID or an exact name and cut the list, newest first, at that container without implying
``all``; ``id`` is a unique ID prefix; ``name`` is a regular expression searched in the name with
and without its ``/``; ``label`` is ``key`` or ``key=value`` (``key!=value`` looks up the label
``key!``, as in Docker); ``publish``/``expose`` look at the ports of running containers only,
because Docker forgets a container's port map when it stops; ``is-task`` is about swarm tasks,
which dockyard never runs. Values are checked before any container is looked at, with Docker's
messages.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.api import params
from dockyard.engine.containers.networking import BRIDGE_NETWORK_ID
from dockyard.engine.containers.record import ContainerRecord
from dockyard.engine.containers.state import STATUSES
from dockyard.engine.spec.wire import parse_bind
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.labels import label_matches
from dockyard.oci import reference

LIST_FILTERS = {"id", "name", "label", "status", "ancestor", "exited", "before", "since", "network", "volume",
                "health", "publish", "expose", "is-task",
                "isolation"}  # accepted, and it leaves every container in: Linux has one isolation
HEALTH_VALUES = ("starting", "healthy", "unhealthy", "none")

_INT = re.compile(r"[+-]?[0-9]+")
_UINT = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-f]+")


def select(records: Iterable[ContainerRecord], filters: dict[str, list[str]], *, show_all: bool) -> list[ContainerRecord]:
    """The records to list, in the order given, as Docker selects them.

    Raises InvalidArgument for a value Docker refuses and NotFound for a ``before``/``since``
    container that does not exist.
    """
    everything = list(records)
    ctx = _fold(everything, filters, show_all=show_all)
    return [r for r in everything if _included(r, ctx)]


@dataclass
class _Context:
    filters: dict[str, list[str]]
    show_all: bool
    exited: set[int] = field(default_factory=set)
    ids: set[str] | None = None              # unique-prefix matches of the ``id`` values
    window: Callable[[ContainerRecord], bool] | None = None   # before/since
    is_task: bool | None = None
    publish: set[str] = field(default_factory=set)           # "8080/tcp"
    expose: set[str] = field(default_factory=set)


def _fold(records: list[ContainerRecord], filters: dict[str, list[str]], *, show_all: bool) -> _Context:
    """Check every value and precompute what needs the whole list (dockerd's foldFilter)."""
    ctx = _Context(filters, show_all)
    for value in filters.get("exited", []):
        if not _INT.fullmatch(value):
            raise InvalidArgument(f'strconv.Atoi: parsing "{value}": invalid syntax')
        ctx.exited.add(int(value))
    for value in filters.get("status", []):
        if value not in STATUSES:
            raise InvalidArgument(f"Invalid filter 'status={value}'")
        ctx.show_all = True
    if "is-task" in filters:
        values = filters["is-task"]
        if "true" in values:
            ctx.is_task = True
        elif "false" in values:
            ctx.is_task = False
        else:
            raise InvalidArgument(f"Invalid filter 'is-task=[{' '.join(values)}]'")
    for value in filters.get("health", []):
        if value not in HEALTH_VALUES:
            raise InvalidArgument(f"Unrecognised filter value for health: {value}")
    before = since = None
    for value in filters.get("before", []):
        before = _by_id_or_name(records, value)
    for value in filters.get("since", []):
        since = _by_id_or_name(records, value)
    if before is not None or since is not None:
        ctx.window = _window(records, before, since)
    for value in filters.get("publish", []):
        ctx.publish.update(_port_filter("publish", value))
    for value in filters.get("expose", []):
        ctx.expose.update(_port_filter("expose", value))
    if "id" in filters:
        ctx.ids = set()
        for value in filters["id"]:
            found = [r.id for r in records if value and r.id.startswith(value)]
            if len(found) == 1:  # an ambiguous prefix matches nothing, as in dockerd
                ctx.ids.add(found[0])
    return ctx


def _by_id_or_name(records: list[ContainerRecord], value: str) -> ContainerRecord:
    """dockerd's idOrNameFilter: the full ID, else the one container with exactly that name."""
    for rec in records:
        if rec.id == value:
            return rec
    named = [r for r in records if r.name == value.lstrip("/")]
    if len(named) == 1:
        return named[0]
    raise NotFound(f"no such container {value}")


def _window(records: list[ContainerRecord], before: ContainerRecord | None,
            since: ContainerRecord | None) -> Callable[[ContainerRecord], bool]:
    """Containers created strictly before ``before`` and strictly after ``since``."""
    newest_first = sorted(records, key=lambda r: r.created, reverse=True)
    rank = {r.id: i for i, r in enumerate(newest_first)}

    def inside(rec: ContainerRecord) -> bool:
        if before is not None and rank[rec.id] <= rank[before.id]:
            return False
        return not (since is not None and rank[rec.id] >= rank[since.id])
    return inside


def _port_filter(key: str, value: str) -> set[str]:
    """dockerd's portOp: ``<port>[/<proto>]`` or ``<start>-<end>[/<proto>]``, expanded."""
    if ":" in value:
        raise InvalidArgument(f"filter for '{key}' should not contain ':': {value}")
    parts = value.split("/")
    if not value or not parts[0]:
        proto, port = "", ""
    elif len(parts) == 1 or not parts[1]:
        proto, port = "tcp", parts[0]
    else:
        proto, port = parts[1], parts[0]
    try:
        start, end = _port_range(port)
    except ValueError as exc:
        raise InvalidArgument(f"error while looking up for {key} {value}: {exc}") from None
    return {f"{p}/{proto}" for p in range(start, end + 1)}


def _parse_uint16(text: str) -> int:
    if not _UINT.fullmatch(text):
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    number = int(text)
    if number > 0xFFFF:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return number


def _port_range(text: str) -> tuple[int, int]:
    """go-connections' nat.ParsePortRange, with its messages."""
    if not text:
        raise ValueError("empty string specified for ports")
    if "-" not in text:
        number = _parse_uint16(text)
        return number, number
    parts = text.split("-")
    start, end = _parse_uint16(parts[0]), _parse_uint16(parts[1])
    if end < start:
        raise ValueError(f"invalid range specified for port: {text}")
    return start, end


def _regex_match(patterns: list[str], text: str) -> bool:
    """filters.Args.Match: an exact value, or a regular expression found anywhere in ``text``."""
    for pattern in patterns:
        if pattern == text:
            return True
        try:
            if re.search(pattern, text):
                return True
        except re.error:
            continue
    return False


def _included(rec: ContainerRecord, ctx: _Context) -> bool:
    """dockerd's includeContainerInList, in its order."""
    filters = ctx.filters
    if ctx.window is not None and not ctx.window(rec):
        return False
    if not rec.state.running and not ctx.show_all:
        return False
    if "name" in filters and not _regex_match(filters["name"], f"/{rec.name}") \
            and not _regex_match(filters["name"], rec.name):
        return False
    if ctx.ids is not None and rec.id not in ctx.ids:
        return False
    if ctx.is_task:  # no container here is a swarm task
        return False
    if not _labels_match(filters.get("label", []), rec.config.get("Labels") or {}):
        return False
    if ctx.exited and (rec.state.running or not rec.state.started_at or rec.state.exit_code not in ctx.exited):
        return False
    if "status" in filters and rec.state.status not in filters["status"]:
        return False
    if "health" in filters and (rec.state.health or "none") not in filters["health"]:
        return False
    if "volume" in filters and not _volume_match(rec, filters["volume"]):
        return False
    if "ancestor" in filters and not any(_ancestor_match(rec, a) for a in filters["ancestor"]):
        return False
    if "network" in filters and not _network_match(rec, filters["network"]):
        return False
    if ctx.publish or ctx.expose:
        published, exposed = _ports(rec)
        if not (published & ctx.publish or exposed & ctx.expose):
            return False
    return True


PRUNE_FILTERS = {"until", "label", "label!"}


def prunable(rec: ContainerRecord, filters: Mapping[str, list[str]]) -> bool:
    """``container prune``: stopped containers, created before ``until`` and matching the labels
    (``label!``: matching none of them)."""
    if rec.state.status not in ("exited", "created", "dead"):
        return False
    for text in filters.get("until", []):
        until = params.timestamp_ns(text)
        if until is not None and not rec.created * 1e9 < until:
            return False
    labels = rec.config.get("Labels") or {}
    if not _labels_match(filters.get("label", []), labels):
        return False
    return not any(_labels_match([expr], labels) for expr in filters.get("label!", []))


def _labels_match(exprs: list[str], labels: Mapping[str, Any]) -> bool:
    """filters.Args.MatchKVList: every ``key`` present, every ``key=value`` equal."""
    return all(label_matches(labels, expr) for expr in exprs)


def _mounts(rec: ContainerRecord) -> tuple[set[str], set[str]]:
    """(volume names and bind sources, destinations) of the container's mount points."""
    names: set[str] = set()
    destinations: set[str] = set()
    for target in rec.config.get("Volumes") or {}:
        destinations.add(posixpath.normpath(str(target)))
    for target, (name, _) in rec.volumes.items():  # anonymous ones too, by their generated names
        destinations.add(target)
        names.add(name)
    for target, (_, name, source, _) in rec.inherited_mounts.items():
        destinations.add(target)
        names.add(name or source)
    host = rec.host_config
    for bind in host.get("Binds") or []:
        try:
            spec = parse_bind(str(bind))
        except DockyardError:
            continue
        destinations.add(spec.target)
        if spec.source:
            names.add(spec.source)
    for mount in host.get("Mounts") or []:
        if not isinstance(mount, dict):
            continue
        if mount.get("Target"):
            destinations.add(posixpath.normpath(str(mount["Target"])))
        source = str(mount.get("Source") or "")
        if source:
            names.add(posixpath.normpath(source) if source.startswith("/") else source)
    return names, destinations


def _volume_match(rec: ContainerRecord, values: list[str]) -> bool:
    names, destinations = _mounts(rec)
    return any(v in destinations or v in names for v in values)


def _normalized(ref: str) -> str | None:
    try:
        return str(reference.parse_docker_ref(ref))
    except DockyardError:
        return None


def _ancestor_match(rec: ContainerRecord, ancestor: str) -> bool:
    """The container's image by reference (``busybox`` is ``busybox:latest``) or ID (prefix)."""
    if not ancestor:
        return False
    image_hex = rec.image_id.split(":")[-1]
    wanted = ancestor.removeprefix("sha256:")
    if _HEX.fullmatch(wanted) and image_hex.startswith(wanted):
        return True
    if ancestor in (rec.image, rec.image_id):
        return True
    normalized = _normalized(ancestor)
    return normalized is not None and normalized == _normalized(rec.image)


def _network_names(rec: ContainerRecord) -> dict[str, str]:
    """The networks the container is connected to: name → network ID (``""`` when unknown)."""
    mode = str(rec.host_config.get("NetworkMode") or "default")
    if mode.startswith("container:"):
        return {}  # it shares another container's stack and has no network of its own
    if mode in ("default", "bridge"):
        names = {"bridge": rec.network.network_id if rec.network else BRIDGE_NETWORK_ID}
    else:
        names = {mode: rec.network.network_id if rec.network and rec.network.network == mode else ""}
    configs = (rec.request.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    names.update({str(n): str((c or {}).get("NetworkID") or "") for n, c in configs.items() if n not in names})
    names.update({a.network: a.network_id for a in rec.extra_networks})
    return names


def _network_match(rec: ContainerRecord, values: list[str]) -> bool:
    networks = _network_names(rec)
    return any(v in networks or any(nid and nid.startswith(v) for nid in networks.values()) for v in values)


def _port_keys(text: str) -> set[str]:
    """``80``, ``80/udp`` or ``8000-8001/tcp`` → ``{"80/tcp"}``…; nothing for a malformed key."""
    port, _, proto = text.partition("/")
    try:
        start, end = _port_range(port)
    except ValueError:
        return set()
    return {f"{p}/{proto or 'tcp'}" for p in range(start, end + 1)}


def _ports(rec: ContainerRecord) -> tuple[set[str], set[str]]:
    """(published host ports, container ports) of the container's port map, as in Docker's
    ``Ports``: empty unless it runs on a network of its own."""
    mode = str(rec.host_config.get("NetworkMode") or "default")
    if not rec.state.running or mode in ("host", "none") or mode.startswith("container:"):
        return set(), set()
    bindings = rec.host_config.get("PortBindings") or {}
    exposed: set[str] = set()
    for key in [*(rec.config.get("ExposedPorts") or {}), *bindings]:
        exposed |= _port_keys(str(key))
    published: set[str] = set()
    for key, binds in bindings.items():
        proto = str(key).partition("/")[2] or "tcp"
        for bind in binds or []:
            host_port = str((bind or {}).get("HostPort") or "") if isinstance(bind, dict) else ""
            if host_port:
                published |= _port_keys(f"{host_port}/{proto}")
    return published, exposed

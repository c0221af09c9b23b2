"""The Engine API as compose needs it: the client's JSON turned into small typed views here, so
that nothing else in compose reads Docker's field names.

``Client`` is the slice of dockyard.client.DockyardClient compose uses; any object with those
methods (a real Docker daemon's client of the same shape, a fake in tests) will do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockyard.compose import COMPOSE_VERSION
from dockyard.compose import labels as L
from dockyard.compose.convert import CreateRequest
from dockyard.compose.model import Network, Volume
from dockyard.errors import NotFound

JSON = dict[str, Any]
Filters = Mapping[str, list[str]]


class AttachSocket(Protocol):
    """A hijacked attach stream (dockyard.http.client.HijackedSocket)."""

    @property
    def multiplexed(self) -> bool: ...

    def recv(self, size: int = ...) -> bytes: ...

    def close(self) -> None: ...


class Client(Protocol):
    def containers(self, all: bool = False, limit: int | None = None, size: bool = False,
                   filters: Filters | None = None) -> list[JSON]: ...

    def inspect_container(self, container: str, size: bool = False) -> JSON: ...

    def create_container(self, config: Mapping[str, Any], name: str | None = None,
                         platform: str | None = None) -> JSON: ...

    def start(self, container: str, detach_keys: str | None = None) -> None: ...

    def stop(self, container: str, t: int | None = None, signal: str | None = None) -> None: ...

    def restart(self, container: str, t: int | None = None, signal: str | None = None) -> None: ...

    def kill(self, container: str, signal: str | None = None) -> None: ...

    def remove(self, container: str, v: bool = False, force: bool = False, link: bool = False) -> None: ...

    def rename(self, container: str, name: str) -> None: ...

    def network(self, ref: str, *, verbose: bool = False) -> JSON: ...

    def networks(self, filters: Filters | None = None) -> list[JSON]: ...

    def create_network(self, name: str, *, driver: str = "bridge", internal: bool = False,
                       attachable: bool = False, labels: dict[str, str] | None = None,
                       options: dict[str, str] | None = None, ipam: JSON | None = None) -> JSON: ...

    def remove_network(self, ref: str) -> None: ...

    def volume(self, name: str) -> JSON: ...

    def volumes(self, filters: Filters | None = None) -> list[JSON]: ...

    def create_volume(self, name: str = "", *, driver: str = "", labels: dict[str, str] | None = None,
                      options: dict[str, str] | None = None) -> JSON: ...

    def remove_volume(self, name: str, *, force: bool = False) -> None: ...

    def inspect_image(self, name: str) -> JSON: ...

    def pull(self, image: str, tag: str | None = None, *, platform: str | None = None, all_tags: bool = False,
             auth: str | None = None) -> Iterator[JSON]: ...

    def logs(self, container: str, stdout: bool = True, stderr: bool = True, follow: bool = False,
             since: str | None = None, until: str | None = None, timestamps: bool = False,
             tail: str | None = None, details: bool = False) -> Iterator[bytes]: ...

    def attach(self, container: str, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               stream: bool = True, logs: bool = False, detach_keys: str | None = None) -> Any: ...

    def wait(self, container: str, condition: str | None = None) -> Any: ...

    def follow_logs(self, container: str, stdout: bool = True, stderr: bool = True, since: str | None = None,
                    until: str | None = None, timestamps: bool = False, tail: str | None = None) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class PublishedPort:
    private: int
    type: str = "tcp"
    ip: str = ""
    public: int = 0


@dataclass(frozen=True)
class ContainerSummary:
    """A row of ``GET /containers/json``."""

    id: str
    name: str
    labels: Mapping[str, str]
    state: str
    status: str
    image: str
    command: str
    created: int
    ports: tuple[PublishedPort, ...] = ()
    networks: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()

    @property
    def project(self) -> str:
        return self.labels.get(L.PROJECT, "")

    @property
    def service(self) -> str:
        return self.labels.get(L.SERVICE, "")

    @property
    def number(self) -> int:
        try:
            return int(self.labels.get(L.CONTAINER_NUMBER, "0"))
        except ValueError:
            return 0

    @property
    def config_hash(self) -> str:
        return self.labels.get(L.CONFIG_HASH, "")

    @property
    def image_id(self) -> str:
        return self.labels.get(L.IMAGE, "")

    @property
    def short_name(self) -> str:
        """The name in log prefixes: ``web-1``, or the custom container_name."""
        default = f"{self.project}-{self.service}-{self.number}"
        if self.name == default and self.project:
            return self.name[len(self.project) + 1:]
        return self.name

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")

    @property
    def health(self) -> str:
        for word in ("unhealthy", "healthy", "health: starting"):
            if f"({word})" in self.status:
                return "starting" if word == "health: starting" else word
        return ""


@dataclass(frozen=True)
class MountInfo:
    type: str
    name: str
    destination: str


@dataclass(frozen=True)
class ContainerState:
    """What ``GET /containers/{id}/json`` says about a container's life."""

    id: str
    name: str
    status: str
    exit_code: int = 0
    health: str = ""  # "" when the container has no healthcheck
    has_healthcheck: bool = False
    tty: bool = False
    started_at: str = ""
    restart_policy: str = ""
    mounts: tuple[MountInfo, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting", "paused")


@dataclass(frozen=True)
class ResourceInfo:
    """A network or a volume that exists: its name, id and labels."""

    name: str
    id: str
    labels: Mapping[str, str]
    in_use: bool = False


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _summary(raw: JSON) -> ContainerSummary:
    names = [str(n).lstrip("/") for n in raw.get("Names") or []]
    name = next((n for n in names if "/" not in n), names[0] if names else "")
    ports = tuple(PublishedPort(private=int(p.get("PrivatePort") or 0), type=str(p.get("Type") or "tcp"),
                                ip=str(p.get("IP") or ""), public=int(p.get("PublicPort") or 0))
                  for p in raw.get("Ports") or [] if isinstance(p, Mapping))
    networks = tuple(sorted(((raw.get("NetworkSettings") or {}).get("Networks") or {}).keys()))
    mounts = tuple(str(m.get("Name") or m.get("Source") or "") for m in raw.get("Mounts") or []
                   if isinstance(m, Mapping))
    return ContainerSummary(
        id=str(raw.get("Id") or ""), name=name, labels=_str_map(raw.get("Labels")), state=str(raw.get("State") or ""),
        status=str(raw.get("Status") or ""), image=str(raw.get("Image") or ""),
        command=str(raw.get("Command") or ""), created=int(raw.get("Created") or 0), ports=ports,
        networks=networks, mounts=mounts)


def _state(raw: JSON) -> ContainerState:
    state = raw.get("State") or {}
    config = raw.get("Config") or {}
    health = state.get("Health") or {}
    check = config.get("Healthcheck") or {}
    test = check.get("Test") or []
    mounts = tuple(MountInfo(type=str(m.get("Type") or ""), name=str(m.get("Name") or ""),
                             destination=str(m.get("Destination") or ""))
                   for m in raw.get("Mounts") or [] if isinstance(m, Mapping))
    return ContainerState(
        id=str(raw.get("Id") or ""),
        name=str(raw.get("Name") or "").lstrip("/"),
        status=str(state.get("Status") or ""),
        exit_code=int(state.get("ExitCode") or 0),
        health=str(health.get("Status") or "") if isinstance(health, Mapping) else "",
        has_healthcheck=bool(test) and test != ["NONE"],
        tty=bool(config.get("Tty")),
        started_at=str(state.get("StartedAt") or ""),
        restart_policy=str(((raw.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or ""),
        mounts=mounts,
        labels=_str_map(config.get("Labels")),
    )


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag or digest) as the pull endpoint wants them; the tag defaults to latest."""
    if "@" in image:
        name, _, digest = image.partition("@")
        return name, digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, "latest"


class Engine:
    """Typed access to one daemon for one project."""

    def __init__(self, client: Client, *, auth: Callable[[str], str | None] | None = None) -> None:
        self.client = client
        self._auth = auth

    # -- containers ----------------------------------------------------------------------------

    def containers(self, project: str, *, services: tuple[str, ...] = (), all: bool = True,
                   oneoff: bool | None = False) -> list[ContainerSummary]:
        """The project's containers (one-off ones left out unless ``oneoff`` is None or True),
        ordered by service then replica number."""
        filters: dict[str, list[str]] = {"label": [L.project_filter(project)]}
        if oneoff is not None:
            filters["label"].append(f"{L.ONEOFF}={'True' if oneoff else 'False'}")
        if len(services) == 1:
            filters["label"].append(f"{L.SERVICE}={services[0]}")
        rows = [_summary(r) for r in self.client.containers(all=all, filters=filters)]
        if services:
            rows = [r for r in rows if r.service in services]
        return sorted(rows, key=lambda c: (c.service, c.number, c.name))

    def inspect(self, ident: str) -> ContainerState:
        return _state(self.client.inspect_container(ident))

    def create(self, request: CreateRequest) -> str:
        created = self.client.create_container(request.body, name=request.name, platform=request.platform or None)
        return str(created.get("Id") or "")

    def start(self, ident: str) -> None:
        self.client.start(ident)

    def stop(self, ident: str, timeout: int | None = None) -> None:
        self.client.stop(ident, t=timeout)

    def restart(self, ident: str, timeout: int | None = None) -> None:
        self.client.restart(ident, t=timeout)

    def kill(self, ident: str, signal: str | None = None) -> None:
        self.client.kill(ident, signal=signal)

    def remove(self, ident: str, *, volumes: bool = False, force: bool = False) -> None:
        self.client.remove(ident, v=volumes, force=force)

    def rename(self, ident: str, name: str) -> None:
        self.client.rename(ident, name)

    def wait(self, ident: str) -> int:
        """Block until the container is not running; its exit code."""
        result = self.client.wait(ident, condition="not-running").result()
        return int(result.get("StatusCode") or 0)

    def attach(self, ident: str) -> AttachSocket:
        sock: AttachSocket = self.client.attach(ident, stdout=True, stderr=True, stream=True, logs=False)
        return sock

    def logs(self, ident: str, *, follow: bool = False, tail: str = "all", timestamps: bool = False,
             since: str = "", until: str = "") -> Iterator[bytes]:
        """A container's output; followed ones on a connection of their own, so that several can be
        read at once."""
        if follow:
            return self.client.follow_logs(ident, tail=tail, timestamps=timestamps, since=since or None,
                                           until=until or None)
        return self.client.logs(ident, tail=tail, timestamps=timestamps, since=since or None, until=until or None)

    # -- networks and volumes ------------------------------------------------------------------

    def network(self, name: str) -> ResourceInfo | None:
        try:
            raw = self.client.network(name)
        except NotFound:
            return None
        return ResourceInfo(name=str(raw.get("Name") or name), id=str(raw.get("Id") or ""),
                            labels=_str_map(raw.get("Labels")), in_use=bool(raw.get("Containers")))

    def project_networks(self, project: str) -> list[ResourceInfo]:
        rows = self.client.networks({"label": [L.project_filter(project)]})
        return [ResourceInfo(name=str(r.get("Name") or ""), id=str(r.get("Id") or ""), labels=_str_map(r.get("Labels")))
                for r in rows]

    def create_network(self, network: Network, project: str) -> None:
        labels = {**network.labels, L.NETWORK: network.key, L.PROJECT: project, L.VERSION: COMPOSE_VERSION}
        ipam: JSON | None = None
        if network.ipam is not None:
            ipam = {
                "Driver": network.ipam.driver or "default",
                "Config": [{k: v for k, v in (("Subnet", p.subnet), ("Gateway", p.gateway), ("IPRange", p.ip_range),
                                              ("AuxiliaryAddresses", dict(p.aux_addresses))) if v}
                           for p in network.ipam.config],
                "Options": dict(network.ipam.options),
            }
        self.client.create_network(network.name, driver=network.driver or "bridge", internal=network.internal,
                                   attachable=network.attachable, labels=labels, options=dict(network.driver_opts),
                                   ipam=ipam)

    def remove_network(self, name: str) -> None:
        self.client.remove_network(name)

    def volume(self, name: str) -> ResourceInfo | None:
        try:
            raw = self.client.volume(name)
        except NotFound:
            return None
        return ResourceInfo(name=str(raw.get("Name") or name), id=str(raw.get("Name") or name),
                            labels=_str_map(raw.get("Labels")))

    def project_volumes(self, project: str) -> list[ResourceInfo]:
        rows = self.client.volumes({"label": [L.project_filter(project)]})
        return [ResourceInfo(name=str(r.get("Name") or ""), id=str(r.get("Name") or ""), labels=_str_map(r.get("Labels")))
                for r in rows]

    def create_volume(self, volume: Volume, project: str) -> None:
        labels = {**volume.labels, L.PROJECT: project, L.VERSION: COMPOSE_VERSION, L.VOLUME: volume.key}
        self.client.create_volume(volume.name, driver=volume.driver or "local", labels=labels,
                                  options=dict(volume.driver_opts))

    def remove_volume(self, name: str) -> None:
        self.client.remove_volume(name, force=True)

    # -- images --------------------------------------------------------------------------------

    def image_id(self, image: str) -> str | None:
        try:
            raw = self.client.inspect_image(image)
        except NotFound:
            return None
        return str(raw.get("Id") or "")

    def pull(self, image: str, platform: str = "") -> None:
        name, tag = split_image(image)
        auth = self._auth(image) if self._auth is not None else None
        for _ in self.client.pull(name, tag, platform=platform or None, auth=auth):
            pass


__all__ = ["AttachSocket", "Client", "ContainerState", "ContainerSummary", "Engine", "MountInfo", "PublishedPort",
           "ResourceInfo", "split_image"]

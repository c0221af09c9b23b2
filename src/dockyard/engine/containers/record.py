"""The persisted container: its create request, resolved command, state and network attachment.

The create request is kept as the client sent it (Docker's Config/HostConfig/NetworkingConfig),
like dockerd's hostconfig.json: inspect shows it back, and start parses it again with the spec
model, so a newer dockyard applies its own defaults to an older container.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from dockyard.engine.containers.state import ContainerState


@dataclass(frozen=True, slots=True)
class NetworkAttachment:
    network: str            # "bridge"
    network_id: str
    endpoint_id: str
    ip_address: str
    prefix_len: int
    gateway: str
    mac_address: str
    host_ifname: str
    ports: tuple[tuple[str, int, str, int], ...] = ()  # published: (proto, container port, host ip, host port)
    aliases: tuple[str, ...] = ()  # the names the embedded DNS answers for it on this network
    ifname: str = "eth0"           # inside the container


@dataclass(frozen=True, slots=True)
class ContainerRecord:
    id: str
    name: str                              # without "/"
    created: float
    image: str                             # as the user typed it
    image_id: str
    request: dict[str, Any]                # {"Config": …, "HostConfig": …, "NetworkingConfig": …}
    path: str = ""
    args: tuple[str, ...] = ()
    state: ContainerState = field(default_factory=ContainerState)
    restart_count: int = 0
    manually_stopped: bool = False         # dockerd's HasBeenManuallyStopped: stop/kill by a user
    network: NetworkAttachment | None = None
    # the networks connected besides the first (``network connect``, more EndpointsConfig entries)
    extra_networks: tuple[NetworkAttachment, ...] = ()
    snapshot_key: str = ""
    log_path: str = ""
    hostname: str = ""
    # volume mount points: destination -> [volume name, its directory on the host]
    volumes: dict[str, list[str]] = field(default_factory=dict)
    # --volumes-from: destination -> ["volume" or "bind", volume name or "", host directory, writable]
    inherited_mounts: dict[str, list[Any]] = field(default_factory=dict)

    def with_state(self, **changes: Any) -> ContainerRecord:
        return replace(self, state=replace(self.state, **changes))

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.request.get("Config") or {})

    @property
    def host_config(self) -> dict[str, Any]:
        return dict(self.request.get("HostConfig") or {})

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    def to_document(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_document(cls, text: str) -> ContainerRecord:
        data = json.loads(text)
        raw_state = data.pop("state")
        raw_state["health_log"] = tuple(raw_state.get("health_log") or ())
        state = ContainerState(**raw_state)
        network = data.pop("network")
        data["args"] = tuple(data.get("args") or ())
        data["extra_networks"] = tuple(_attachment(n) for n in data.get("extra_networks") or ())
        return cls(state=state, network=_attachment(network) if network else None, **data)

    @property
    def attachments(self) -> tuple[NetworkAttachment, ...]:
        """Every network endpoint the container has while it runs, its first network's first."""
        return ((self.network,) if self.network is not None else ()) + self.extra_networks


def _attachment(data: dict[str, Any]) -> NetworkAttachment:
    return NetworkAttachment(**{**data, "ports": tuple(tuple(p) for p in data.get("ports") or ()),
                                "aliases": tuple(data.get("aliases") or ())})

"""Python client of the Engine API: speaks HTTP only, never the engine's internals."""

from __future__ import annotations

from dockyard.client.api import API_VERSION, DEFAULT_HOST, ContainerWait, DockyardClient, default_host
from dockyard.client.errors import StreamError
from dockyard.http.client import ConnectError, HijackedSocket

__all__ = [
    "API_VERSION",
    "DEFAULT_HOST",
    "ConnectError",
    "ContainerWait",
    "DockyardClient",
    "HijackedSocket",
    "StreamError",
    "default_host",
]

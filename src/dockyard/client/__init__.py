"""Python client of the Engine API: speaks HTTP only, never the engine's internals."""

from __future__ import annotations

from dockyard.client.api import API_VERSION, DEFAULT_HOST, DockyardClient, default_host
from dockyard.client.errors import StreamError
from dockyard.http.client import ConnectError

__all__ = ["API_VERSION", "DEFAULT_HOST", "ConnectError", "DockyardClient", "StreamError", "default_host"]

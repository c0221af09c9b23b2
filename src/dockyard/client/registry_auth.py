"""Registry credentials on the client side: ~/.docker/config.json and the X-Registry-Auth header.

The file format and credential helpers live in dockyard.distribution.credentials; this module is
the only door to them from the client and the CLI, so that `docker login` and `dockyard login`
share one store.
"""

from __future__ import annotations

from dockyard.client.api import EMPTY_AUTH
from dockyard.distribution.credentials import Credentials, DockerConfigCredentials, encode_registry_auth
from dockyard.errors import DockyardError

DOCKER_HUB = "docker.io"
# The key and server address Docker uses for Docker Hub (registry.IndexServer).
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"


def server_address(registry: str) -> str:
    """What the docker CLI sends as "serveraddress" for a reference's registry."""
    return DOCKER_HUB_SERVER if registry == DOCKER_HUB else registry


def hostname(address: str) -> str:
    """Docker's ConvertToHostname: ``https://host:port/v2/`` → ``host:port``."""
    for scheme in ("http://", "https://"):
        if address.startswith(scheme):
            address = address[len(scheme):]
            break
    return address.split("/", 1)[0]


class CredentialStore:
    """The credentials of every registry the user logged in to."""

    def __init__(self, path: str | None = None) -> None:
        self._config = DockerConfigCredentials(path)

    @property
    def path(self) -> str:
        return self._config.path

    def get(self, registry: str) -> Credentials | None:
        return self._config.get(registry)

    def store(self, registry: str, creds: Credentials) -> bool:
        """Save ``creds``; True when they went into the file unencrypted."""
        return self._config.store(registry, creds)

    def erase(self, registry: str) -> bool:
        return self._config.erase(registry)

    def auth_header(self, registry: str) -> str:
        """The X-Registry-Auth value for ``registry``: stored credentials, or ``e30=`` (none)."""
        try:
            creds = self.get(registry)
        except DockyardError:
            creds = None  # an unreadable config file means anonymous access, as with docker
        if not creds:
            return EMPTY_AUTH
        return encode_registry_auth(creds, server_address(registry))


__all__ = ["DOCKER_HUB", "DOCKER_HUB_SERVER", "CredentialStore", "Credentials", "hostname", "server_address"]

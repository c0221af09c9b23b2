"""The registry protocol, client side: endpoints, credentials, token auth, manifests and blobs."""

from __future__ import annotations

from dockyard.distribution.auth import Authorizer, Challenge, parse_www_authenticate
from dockyard.distribution.client import BlobSink, RegistryClient
from dockyard.distribution.credentials import (
    Credentials,
    DockerConfigCredentials,
    decode_registry_auth,
    encode_registry_auth,
)
from dockyard.distribution.hosts import RegistryEndpoint, RegistryHosts, registry_key

__all__ = [
    "Authorizer",
    "BlobSink",
    "Challenge",
    "Credentials",
    "DockerConfigCredentials",
    "RegistryClient",
    "RegistryEndpoint",
    "RegistryHosts",
    "decode_registry_auth",
    "encode_registry_auth",
    "parse_www_authenticate",
    "registry_key",
]

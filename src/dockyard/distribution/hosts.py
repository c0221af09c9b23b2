"""Where a registry is reached: URLs, mirrors, insecure registries and TLS material (certs.d)."""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.errors import InvalidArgument

DOCKER_HUB = "docker.io"
DOCKER_HUB_URL = "https://registry-1.docker.io"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
DEFAULT_CERTS_DIRS = ("/etc/docker/certs.d", "/etc/dockyard/certs.d")


@dataclass(frozen=True)
class RegistryEndpoint:
    """One way to reach a registry, in the order they should be tried."""

    registry: str  # as in the reference: "docker.io", "127.0.0.1:5000"
    url: str  # base URL: "https://registry-1.docker.io", "http://127.0.0.1:5000"
    ssl_context: ssl.SSLContext | None
    mirror: bool = False

    @property
    def is_tls(self) -> bool:
        return self.url.startswith("https://")


def is_docker_hub(registry: str) -> bool:
    return registry.lower() in _HUB_ALIASES


def registry_key(registry: str) -> str:
    """The key of the registry in ~/.docker/config.json's ``auths``."""
    return DOCKER_HUB_KEY if is_docker_hub(registry) else registry


def split_host_port(registry: str) -> tuple[str, int | None]:
    """``"[::1]:5000"`` → ``("::1", 5000)``; ``"example.com"`` → ``("example.com", None)``."""
    if registry.startswith("["):
        host, sep, rest = registry[1:].partition("]")
        if not sep:
            raise InvalidArgument(f"invalid registry address: {registry}")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif registry.count(":") == 1:
        host, _, port_text = registry.partition(":")
    else:
        host, port_text = registry, ""
    if not port_text:
        return host, None
    try:
        return host, int(port_text)
    except ValueError:
        raise InvalidArgument(f"invalid registry address: {registry}") from None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _strip_scheme(entry: str) -> str:
    for prefix in ("http://", "https://"):
        if entry.startswith(prefix):
            entry = entry[len(prefix):]
    return entry.rstrip("/")


class RegistryHosts:
    """Turns a registry name into the endpoints to try, as dockerd's registry service does."""

    def __init__(self, insecure_registries: Sequence[str] = (), mirrors: Sequence[str] = (),
                 certs_dirs: Sequence[str] = DEFAULT_CERTS_DIRS) -> None:
        self._insecure_names: set[str] = set()
        self._insecure_nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in insecure_registries:
            entry = _strip_scheme(entry.strip())
            if "/" in entry:
                try:
                    self._insecure_nets.append(ipaddress.ip_network(entry, strict=False))
                    continue
                except ValueError:
                    raise InvalidArgument(f"invalid insecure registry: {entry}") from None
            self._insecure_names.add(entry.lower())
        self.mirrors = tuple(m.rstrip("/") if "://" in m else f"https://{m.rstrip('/')}" for m in mirrors)
        self.certs_dirs = tuple(certs_dirs)
        self._contexts: dict[tuple[str, bool], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def is_insecure(self, registry: str) -> bool:
        """Plain HTTP or unverified TLS is allowed: loopback, listed names and CIDRs."""
        host, _ = split_host_port(registry)
        if is_loopback(host) or registry.lower() in self._insecure_names or host.lower() in self._insecure_names:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self._insecure_nets)

    def endpoints(self, registry: str) -> list[RegistryEndpoint]:
        """The endpoints to try in order: mirrors (Docker Hub only), HTTPS, then HTTP if insecure."""
        if is_docker_hub(registry):
            found = [RegistryEndpoint(DOCKER_HUB, url, self.ssl_context(_strip_scheme(url)), True)
                     if url.startswith("https://") else RegistryEndpoint(DOCKER_HUB, url, None, True)
                     for url in self.mirrors]
            found.append(RegistryEndpoint(DOCKER_HUB, DOCKER_HUB_URL, self.ssl_context("registry-1.docker.io")))
            return found
        host, _ = split_host_port(registry)
        http = RegistryEndpoint(registry, f"http://{registry}", None)
        if is_loopback(host):
            # dockerd treats loopback registries as insecure; nearly all of them speak plain HTTP.
            return [http, RegistryEndpoint(registry, f"https://{registry}", self.ssl_context(registry, verify=False))]
        if self.is_insecure(registry):
            return [RegistryEndpoint(registry, f"https://{registry}", self.ssl_context(registry, verify=False)), http]
        return [RegistryEndpoint(registry, f"https://{registry}", self.ssl_context(registry))]

    def ssl_context(self, registry: str, *, verify: bool = True) -> ssl.SSLContext:
        """System CAs plus ``<certs_dir>/<registry>/*.crt``, and client pairs ``*.cert``/``*.key``."""
        key = (registry, verify)
        with self._lock:
            cached = self._contexts.get(key)
            if cached is not None:
                return cached
            ctx = ssl.create_default_context()
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            for certs_dir in self.certs_dirs:
                self._load_dir(ctx, os.path.join(certs_dir, registry.replace("[", "").replace("]", "")))
            self._contexts[key] = ctx
            return ctx

    @staticmethod
    def _load_dir(ctx: ssl.SSLContext, path: str) -> None:
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return
        for name in names:
            full = os.path.join(path, name)
            if name.endswith(".crt"):
                try:
                    ctx.load_verify_locations(cafile=full)
                except (OSError, ssl.SSLError) as exc:
                    raise InvalidArgument(f"invalid CA certificate {full}: {exc}") from exc
            elif name.endswith(".cert"):
                keyfile = full[: -len(".cert")] + ".key"
                if not os.path.exists(keyfile):
                    raise InvalidArgument(f"missing key {os.path.basename(keyfile)} for client certificate "
                                          f"{name}. CA certificates must use the extension .crt")
                try:
                    ctx.load_cert_chain(full, keyfile)
                except (OSError, ssl.SSLError) as exc:
                    raise InvalidArgument(f"invalid client certificate {full}: {exc}") from exc
            elif name.endswith(".key") and not os.path.exists(full[: -len(".key")] + ".cert"):
                raise InvalidArgument(f"missing client certificate {name[:-4]}.cert for key {name}")


__all__ = ["DEFAULT_CERTS_DIRS", "DOCKER_HUB", "DOCKER_HUB_KEY", "DOCKER_HUB_URL", "RegistryEndpoint",
           "RegistryHosts", "is_docker_hub", "is_loopback", "registry_key", "split_host_port"]

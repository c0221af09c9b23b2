"""dockyard compose: the Compose Specification on one host.

loader (files, .env, interpolation, merge) → model (frozen dataclasses) → converge through the
Engine API client only, so the same code drives dockyardd or a real Docker daemon.
"""

from __future__ import annotations

COMPOSE_VERSION = "2.29.7"
"""The Docker Compose release whose behaviour, names and labels this package follows; written in
the ``com.docker.compose.version`` label as Compose writes its own version there."""

__all__ = ["COMPOSE_VERSION"]

"""How Compose names projects, containers, networks and volumes."""

from __future__ import annotations

import re

from dockyard.compose.errors import InvalidProject

SEPARATOR = "-"
_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]")


def normalize_project_name(name: str) -> str:
    """Lowercase, drop characters outside [a-z0-9_-], then any leading "_" or "-"."""
    return _NOT_ALLOWED.sub("", name.lower()).lstrip("_-")


def check_project_name(name: str) -> str:
    """A name given explicitly (-p, COMPOSE_PROJECT_NAME, ``name:``) must already be normal."""
    if not name:
        raise InvalidProject("project name must not be empty")
    if normalize_project_name(name) != name:
        raise InvalidProject(f'invalid project name "{name}": must consist only of lowercase alphanumeric '
                             "characters, hyphens, and underscores as well as start with a letter or number")
    return name


def container_name(project: str, service: str, number: int) -> str:
    return SEPARATOR.join((project, service, str(number)))


def resource_name(project: str, key: str) -> str:
    """A project's network or volume as the engine knows it: ``<project>_<key>``."""
    return f"{project}_{key}"


__all__ = ["SEPARATOR", "check_project_name", "container_name", "normalize_project_name", "resource_name"]

"""API version negotiation: ``/v1.xx`` prefixes and the headers every response carries."""

from __future__ import annotations

import re

from dockyard import __version__
from dockyard.errors import InvalidArgument

API_VERSION = "1.44"
MIN_API_VERSION = "1.24"
_PREFIX = re.compile(r"^/v(\d+)\.(\d+)(/.*)?$")

COMMON_HEADERS = [
    ("Api-Version", API_VERSION),
    ("Docker-Experimental", "false"),
    ("Ostype", "linux"),
    ("Server", f"Dockyard/{__version__} (linux)"),
]


def _tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def split_version(path: str) -> tuple[str, str]:
    """``/v1.41/images/json`` → ("1.41", "/images/json"). Unversioned paths mean the current version.

    Versions above ours are served as ours: pinned clients send whatever they were given.
    """
    m = _PREFIX.match(path)
    if not m:
        return API_VERSION, path
    version = (int(m.group(1)), int(m.group(2)))
    if version < _tuple(MIN_API_VERSION):
        raise InvalidArgument(
            f"client version {m.group(1)}.{m.group(2)} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version")
    if version > _tuple(API_VERSION):
        version = _tuple(API_VERSION)
    return f"{version[0]}.{version[1]}", m.group(3) or "/"


def at_least(version: str, other: str) -> bool:
    return _tuple(version) >= _tuple(other)

"""Reference helpers shared by the image service: Docker's lookup order and display names."""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument
from dockyard.oci.reference import Reference, parse_normalized, with_default_tag

_HEX_PREFIX = re.compile(r"^(sha256:)?([a-f0-9]{1,64})$")


def id_prefix(text: str) -> str | None:
    """The hex part when ``text`` can be an image ID or a prefix of one."""
    m = _HEX_PREFIX.match(text)
    return m.group(2) if m else None


def is_full_id(text: str) -> bool:
    m = _HEX_PREFIX.match(text)
    return bool(m and len(m.group(2)) == 64)


def familiar(stored_name: str) -> str:
    """``docker.io/library/busybox:latest`` → ``busybox:latest`` (names are stored normalised)."""
    try:
        return parse_normalized(stored_name).familiar_string()
    except InvalidArgument:
        return stored_name


def tagged(text: str) -> Reference:
    """Parse a user's reference and add ``latest`` when it names neither tag nor digest."""
    return with_default_tag(parse_normalized(text))


def repo_of(stored_name: str) -> str:
    """The repository part of a stored tag or digest reference."""
    return parse_normalized(stored_name).name

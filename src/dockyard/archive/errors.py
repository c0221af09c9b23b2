"""Errors raised while reading or writing layer archives."""

from __future__ import annotations

from dockyard.errors import InvalidArgument


class CorruptLayer(InvalidArgument):
    """The layer's bytes are truncated or not a valid (compressed) tar stream."""


class UnsafeLayer(InvalidArgument):
    """A layer entry would write outside the root it is applied to."""


__all__ = ["CorruptLayer", "UnsafeLayer"]

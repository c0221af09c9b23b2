"""Engine API error responses as dockyard errors, carrying the server's message verbatim."""

from __future__ import annotations

import json

from dockyard.errors import (
    Conflict,
    DockyardError,
    InvalidArgument,
    NotFound,
    NotImplemented_,
    PermissionDenied,
    Unauthorized,
    Unavailable,
)

_BY_STATUS: dict[int, type[DockyardError]] = {
    400: InvalidArgument,
    401: Unauthorized,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    501: NotImplemented_,
    503: Unavailable,
}


def error_message(body: bytes, status: int) -> str:
    """The "message" of a JSON error body, or the body itself when it is not JSON."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        message = decoded.get("message")
        if isinstance(message, str):
            return message
    return text or f"HTTP {status}"


def error_for_status(status: int, body: bytes) -> DockyardError:
    """The dockyard error for an HTTP error response."""
    cls = _BY_STATUS.get(status, DockyardError)
    return cls(error_message(body, status))


class StreamError(DockyardError):
    """A progress stream (load, import, pull) reported an error after its first byte."""


__all__ = ["StreamError", "error_for_status", "error_message"]

"""Registry error bodies (``{"errors":[{"code","message","detail"}]}``) mapped to dockyard errors."""

from __future__ import annotations

import json

from dockyard.errors import (
    DockyardError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    NotImplemented_,
    Unauthorized,
    Unavailable,
)

_KINDS: dict[str, type[DockyardError]] = {
    "MANIFEST_UNKNOWN": NotFound,
    "BLOB_UNKNOWN": NotFound,
    "NAME_UNKNOWN": NotFound,
    "BLOB_UPLOAD_UNKNOWN": NotFound,
    "UNAUTHORIZED": Unauthorized,
    "DENIED": Unauthorized,
    "DIGEST_INVALID": InvalidArgument,
    "MANIFEST_INVALID": InvalidArgument,
    "NAME_INVALID": InvalidArgument,
    "TAG_INVALID": InvalidArgument,
    "SIZE_INVALID": InvalidArgument,
    "BLOB_UPLOAD_INVALID": InvalidArgument,
    "MANIFEST_BLOB_UNKNOWN": FailedPrecondition,
    "UNSUPPORTED": NotImplemented_,
    "TOOMANYREQUESTS": Unavailable,
    "UNAVAILABLE": Unavailable,
}

_BY_STATUS: dict[int, type[DockyardError]] = {
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    429: Unavailable,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def code_text(code: str) -> str:
    """Docker's rendering of an error code: ``MANIFEST_UNKNOWN`` → ``manifest unknown``."""
    return code.lower().replace("_", " ")


def parse_errors(body: bytes) -> list[tuple[str, str]]:
    """The (code, message) pairs of a registry error body; empty when it is not one."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    errors = obj.get("errors") if isinstance(obj, dict) else None
    if not isinstance(errors, list):
        return []
    found = []
    for item in errors:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            message = item.get("message")
            found.append((item["code"], message if isinstance(message, str) else ""))
    return found


def registry_error(status: int, reason: str, body: bytes, *,
                   unauthorized: str = "authentication required") -> DockyardError:
    """The error for a failed registry (or token server) response, worded as Docker words it."""
    errors = parse_errors(body)
    if errors:
        texts = [f"{code_text(code)}: {message}" if message else code_text(code) for code, message in errors]
        text = texts[0] if len(texts) == 1 else "errors:\n" + "\n".join(texts) + "\n"
        kind = _KINDS.get(errors[0][0].upper(), _BY_STATUS.get(status, DockyardError))
        return kind(text)
    if status == 401:
        return Unauthorized(f"unauthorized: {_details(body) or unauthorized}")
    if status == 403:
        return Unauthorized(f"denied: {_details(body) or 'requested access to the resource is denied'}")
    if status == 404:
        return NotFound("not found")
    kind = _BY_STATUS.get(status, DockyardError)
    return kind(f"received unexpected HTTP status: {status} {reason}".rstrip())


def _details(body: bytes) -> str:
    """The text of a token server's error (``{"details": …}`` or ``{"error": …}``)."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(obj, dict):
        for key in ("details", "error_description", "message", "error"):
            value = obj.get(key)
            if isinstance(value, str) and value:
                return value
    return ""


__all__ = ["code_text", "parse_errors", "registry_error"]

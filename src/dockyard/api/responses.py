"""Response builders: JSON, errors, and the chunked JSON-message streams of pull/load/import."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from dockyard.api.errors import error_body
from dockyard.http.server import Response


def json_response(obj: Any, status: int = 200) -> Response:
    body = json.dumps(obj).encode() + b"\n"
    return Response(status=status, headers=[("Content-Type", "application/json")], body=body)


def empty(status: int = 204) -> Response:
    return Response(status=status, body=b"")


def error(status: int, message: str) -> Response:
    return Response(status=status, headers=[("Content-Type", "application/json")], body=error_body(message))


def json_message(obj: dict[str, Any]) -> bytes:
    """One message of a progress stream, as dockerd frames them."""
    return json.dumps(obj).encode() + b"\r\n"


def error_message(message: str) -> bytes:
    return json_message({"errorDetail": {"message": message}, "error": message})


def json_stream(chunks: AsyncIterator[bytes], status: int = 200) -> Response:
    return Response(status=status, headers=[("Content-Type", "application/json")], body=chunks)

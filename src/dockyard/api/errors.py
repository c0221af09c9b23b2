"""The one place where dockyard errors become HTTP statuses and Docker's JSON error bodies."""

from __future__ import annotations

import json

from dockyard import errors

STATUS: list[tuple[type[errors.DockyardError], int]] = [
    (errors.NotFound, 404),
    (errors.AlreadyExists, 409),
    (errors.Conflict, 409),
    (errors.InvalidArgument, 400),
    (errors.FailedPrecondition, 400),
    (errors.Unauthorized, 401),
    (errors.PermissionDenied, 403),
    (errors.Unavailable, 503),
    (errors.NotImplemented_, 501),
    (errors.DataLoss, 500),
]


def status_for(exc: BaseException) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(message: str) -> bytes:
    return json.dumps({"message": message}).encode() + b"\n"

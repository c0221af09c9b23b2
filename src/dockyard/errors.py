"""The one error taxonomy of dockyard.

    DockyardError
    ├── NotFound             404 · exit 1
    ├── AlreadyExists        409 · exit 1
    ├── Conflict             409 · exit 1
    ├── InvalidArgument      400 · exit 1 (125 when raised by the CLI's own parsing)
    ├── FailedPrecondition   400 · exit 1
    ├── Unauthorized         401 · exit 1
    ├── PermissionDenied     403 · exit 1
    ├── Unavailable          503 · exit 1
    ├── NotImplemented_      501 · exit 1
    └── DataLoss             500 · exit 1

Messages use Docker's words where clients parse them. Add context by chaining
(``raise NotFound(...) from exc``). The mapping to HTTP lives in ``dockyard.api.errors``.
"""

from __future__ import annotations


class DockyardError(Exception):
    """Root of every error dockyard raises on purpose."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(DockyardError):
    """The named object does not exist."""


class AlreadyExists(DockyardError):
    """An object with that name or key exists already."""


class Conflict(DockyardError):
    """The operation conflicts with the object's current state or users."""


class InvalidArgument(DockyardError):
    """The request is malformed: bad reference, bad parameter, bad archive."""


class FailedPrecondition(DockyardError):
    """The input is well formed but does not hold up (e.g. a digest mismatch)."""


class Unauthorized(DockyardError):
    """Missing or wrong credentials."""


class PermissionDenied(DockyardError):
    """Credentials are fine but the action is not allowed."""


class Unavailable(DockyardError):
    """A needed service (daemon, registry) cannot be reached right now."""


class NotImplemented_(DockyardError):
    """dockyard does not support this (yet)."""


class DataLoss(DockyardError):
    """Stored data is corrupt or missing."""


__all__ = [
    "AlreadyExists",
    "Conflict",
    "DataLoss",
    "DockyardError",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "NotImplemented_",
    "PermissionDenied",
    "Unauthorized",
    "Unavailable",
]

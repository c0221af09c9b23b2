"""Compose errors, in the taxonomy of dockyard.errors; messages use Docker Compose's words."""

from __future__ import annotations

from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument, NotFound, NotImplemented_


class ComposeError(DockyardError):
    """Root of the errors the compose package raises itself (not the daemon's)."""


class InvalidProject(ComposeError, InvalidArgument):
    """The compose file or the project it describes is invalid."""


class Unsupported(ComposeError, NotImplemented_):
    """Valid Compose, but a feature dockyard compose does not implement yet."""


class NoConfigFile(ComposeError, NotFound):
    """No compose file in the working directory or its parents."""


class ServiceFailed(ComposeError, FailedPrecondition):
    """A service could not be brought to the state asked for (a dependency failed, no container)."""


__all__ = ["ComposeError", "InvalidProject", "NoConfigFile", "ServiceFailed", "Unsupported"]

"""The spec builder: image config + create options → OCI runtime config.json (Docker's defaults)."""

from __future__ import annotations

from dockyard.engine.spec.builder import build_spec, resolve_command
from dockyard.engine.spec.host import HostDevice, HostFacts, JoinedNamespaces
from dockyard.engine.spec.model import (
    ContainerOptions,
    CreateOptions,
    DeviceMapping,
    EndpointOptions,
    HostOptions,
    LogConfig,
    MountSpec,
    MountType,
    NamespaceMode,
    PortBinding,
    Resources,
    RestartPolicy,
    SecurityOptions,
    ThrottleDevice,
    Ulimit,
    WeightDevice,
)
from dockyard.engine.spec.user import ExecUser, PasswdReader, RootfsPasswdReader, resolve_user
from dockyard.engine.spec.validate import validate

__all__ = [
    "ContainerOptions", "CreateOptions", "DeviceMapping", "EndpointOptions", "ExecUser", "HostDevice",
    "HostFacts", "HostOptions", "JoinedNamespaces", "LogConfig", "MountSpec", "MountType", "NamespaceMode",
    "PasswdReader", "PortBinding", "Resources", "RestartPolicy", "RootfsPasswdReader", "SecurityOptions",
    "ThrottleDevice", "Ulimit", "WeightDevice", "build_spec", "resolve_command", "resolve_user", "validate",
]

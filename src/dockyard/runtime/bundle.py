"""Loading a bundle: config.json parsed and checked, the rootfs resolved."""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument, NotFound
from dockyard.runtime.spec import Spec, parse_spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
else:
    from dockyard.runtime._record import record as dataclass


@dataclass(frozen=True, slots=True)
class Bundle:
    path: str
    spec: Spec
    rootfs: str
    raw: bytes


def load_bundle(path: str) -> Bundle:
    bundle = os.path.abspath(path)
    try:
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFound("JSON specification file config.json not found") from None
    spec = parse_spec(raw)
    check_spec(spec)
    rootfs = spec.root_path if spec.root_path.startswith("/") else os.path.join(bundle, spec.root_path)
    rootfs = os.path.realpath(rootfs)
    if not os.path.isdir(rootfs):
        raise NotFound(f"rootfs ({rootfs}) does not exist")
    return Bundle(path=bundle, spec=spec, rootfs=rootfs, raw=raw)


def check_spec(spec: Spec) -> None:
    if spec.process is None:
        raise InvalidArgument("config.json: $.process: process is required to create a container")
    if not spec.process.args:
        raise InvalidArgument("config.json: $.process.args: args must not be empty")
    if not spec.root_path:
        raise InvalidArgument("config.json: $.root: root is required")
    linux = spec.linux
    if linux.namespace("mount") is None:
        raise InvalidArgument("config.json: $.linux.namespaces: a mount namespace is required")
    if (linux.uid_mappings or linux.gid_mappings) and linux.namespace("user") is None:
        raise InvalidArgument("config.json: $.linux.uidMappings: user mappings require a user namespace")
    user_ns = linux.namespace("user")
    if user_ns is not None and not user_ns.path and not (linux.uid_mappings and linux.gid_mappings):
        raise InvalidArgument("config.json: $.linux.uidMappings: a new user namespace needs uid and gid mappings")
    if spec.hostname and (linux.namespace("uts") is None or linux.namespace("uts").path):  # type: ignore[union-attr]
        raise InvalidArgument("config.json: $.hostname: unable to set hostname without a new UTS namespace")
    for key in linux.sysctl:
        if key.startswith("net.") and (linux.namespace("network") is None):
            raise InvalidArgument(f"config.json: $.linux.sysctl.{key}: needs a network namespace")

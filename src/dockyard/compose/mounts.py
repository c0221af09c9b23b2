"""Service ``volumes`` (short ``[SOURCE:]TARGET[:MODE]`` and long syntax) and ``tmpfs``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dockyard.compose.errors import InvalidProject, Unsupported
from dockyard.compose.fields import (
    as_bool,
    as_bytes,
    as_int,
    as_mapping,
    as_str,
    as_str_list,
    check_keys,
    wrong_type,
)
from dockyard.compose.model import MountSpec

PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")
_CONSISTENCY = ("cached", "delegated", "consistent")
_LONG_KEYS = frozenset({"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"})
_BIND_KEYS = frozenset({"propagation", "create_host_path", "selinux", "recursive"})
_VOLUME_KEYS = frozenset({"nocopy", "subpath", "labels"})
_TMPFS_KEYS = frozenset({"size", "mode"})


def is_host_path(source: str) -> bool:
    """Compose's rule: a source that starts like a path is a bind mount, otherwise a volume name."""
    return source.startswith((".", "/", "~"))


def host_path(source: str, project_dir: str) -> str:
    """A bind source made absolute against the project directory (``~`` is the user's home)."""
    if source.startswith("~"):
        source = os.path.expanduser(source)
    return os.path.normpath(os.path.join(project_dir, source))


def _target(target: str, spec: str) -> str:
    if not target:
        raise InvalidProject(f"invalid spec: {spec}: empty section between colons")
    if not target.startswith("/"):
        raise InvalidProject(f'invalid mount config: mount path must be absolute: "{target}"')
    return target


def parse_short(spec: str, project_dir: str) -> MountSpec:
    parts = spec.split(":")
    if len(parts) > 3 or any(p == "" for p in parts):
        raise InvalidProject(f"invalid spec: {spec}: {'too many colons' if len(parts) > 3 else 'empty section between colons'}")
    if len(parts) == 1:
        return MountSpec(type="volume", target=_target(parts[0], spec), short_syntax=True)
    source, target = parts[0], _target(parts[1], spec)
    read_only = False
    propagation = selinux = ""
    nocopy = False
    if len(parts) == 3:
        for option in parts[2].split(","):
            if option in ("ro", "rw"):
                read_only = option == "ro"
            elif option in ("z", "Z"):
                selinux = option
            elif option in PROPAGATIONS:
                propagation = option
            elif option == "nocopy":
                nocopy = True
            elif option in _CONSISTENCY:
                pass  # Docker Desktop file sharing hints: no meaning on Linux
            else:
                raise InvalidProject(f"invalid spec: {spec}: unknown option: {option}")
    if is_host_path(source):
        return MountSpec(type="bind", target=target, source=host_path(source, project_dir), read_only=read_only,
                         short_syntax=True, propagation=propagation, selinux=selinux)
    return MountSpec(type="volume", target=target, source=source, read_only=read_only, short_syntax=True,
                     nocopy=nocopy, selinux=selinux)


def parse_long(value: Mapping[str, Any], path: str, project_dir: str) -> MountSpec:
    check_keys(value, _LONG_KEYS, path)
    kind = as_str(value.get("type") or "", f"{path}.type")
    if not kind:
        raise InvalidProject(f"{path}: missing property 'type'")
    if kind not in ("volume", "bind", "tmpfs"):
        raise Unsupported(f"{path}: volumes of type {kind} are not supported by dockyard compose")
    target = as_str(value.get("target") or "", f"{path}.target")
    if not target:
        raise InvalidProject(f"{path}: missing property 'target'")
    _target(target, target)
    source = as_str(value.get("source") or "", f"{path}.source")
    read_only = as_bool(value.get("read_only", False), f"{path}.read_only")
    if kind == "bind":
        if not source:
            raise InvalidProject(f"{path}: invalid mount config for type \"bind\": field Source must not be empty")
        bind = as_mapping(value.get("bind"), f"{path}.bind")
        check_keys(bind, _BIND_KEYS, f"{path}.bind")
        propagation = as_str(bind.get("propagation") or "", f"{path}.bind.propagation")
        if propagation and propagation not in PROPAGATIONS:
            raise InvalidProject(f"{path}.bind.propagation: invalid propagation mode: {propagation}")
        if bind.get("recursive") not in (None, "enabled"):
            raise Unsupported(f"{path}.bind.recursive is not supported by dockyard compose")
        return MountSpec(type="bind", target=target, source=host_path(source, project_dir), read_only=read_only,
                         propagation=propagation,
                         create_host_path=as_bool(bind.get("create_host_path", True), f"{path}.bind.create_host_path"),
                         selinux=as_str(bind.get("selinux") or "", f"{path}.bind.selinux"))
    if kind == "volume":
        volume = as_mapping(value.get("volume"), f"{path}.volume")
        check_keys(volume, _VOLUME_KEYS, f"{path}.volume")
        if volume.get("labels"):
            raise Unsupported(f"{path}.volume.labels is not supported by dockyard compose")
        return MountSpec(type="volume", target=target, source=source, read_only=read_only,
                         nocopy=as_bool(volume.get("nocopy", False), f"{path}.volume.nocopy"),
                         subpath=as_str(volume.get("subpath") or "", f"{path}.volume.subpath"))
    tmpfs = as_mapping(value.get("tmpfs"), f"{path}.tmpfs")
    check_keys(tmpfs, _TMPFS_KEYS, f"{path}.tmpfs")
    if source:
        raise InvalidProject(f"{path}: invalid mount config for type \"tmpfs\": field Source must be empty")
    mode = tmpfs.get("mode")
    return MountSpec(type="tmpfs", target=target, read_only=read_only,
                     tmpfs_size=as_bytes(tmpfs["size"], f"{path}.tmpfs.size") if tmpfs.get("size") is not None
                     else None,
                     tmpfs_mode=None if mode is None else _octal_mode(mode, f"{path}.tmpfs.mode"))


def _octal_mode(value: Any, path: str) -> int:
    """A file mode: an integer, or a string of octal digits ("1777")."""
    if isinstance(value, str):
        try:
            return int(value, 8)
        except ValueError:
            raise InvalidProject(f"{path}: invalid mode {value!r}: an octal number is expected") from None
    return as_int(value, path)


def parse_volumes(value: Any, path: str, project_dir: str) -> tuple[MountSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise wrong_type(path, "list", value)
    result: list[MountSpec] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(item, str):
            mount = parse_short(item, project_dir)
        elif isinstance(item, Mapping):
            mount = parse_long(as_mapping(item, where), where, project_dir)
        else:
            raise wrong_type(where, "string or mapping", item)
        if any(m.target == mount.target for m in result):
            raise InvalidProject(f"{path}: duplicate mount point: {mount.target}")
        result.append(mount)
    return tuple(result)


def parse_tmpfs(value: Any, path: str) -> tuple[str, ...]:
    entries = as_str_list(value, path)
    for entry in entries:
        _target(entry.split(":", 1)[0], entry)
    return entries


def volume_target(item: Any) -> str | None:
    """The target of a raw ``volumes`` entry, for merging files (None when it cannot be told)."""
    if isinstance(item, Mapping):
        target = item.get("target")
        return target if isinstance(target, str) else None
    if isinstance(item, str):
        parts = item.split(":")
        return parts[0] if len(parts) == 1 else parts[1]
    return None


__all__ = ["PROPAGATIONS", "host_path", "is_host_path", "parse_long", "parse_short", "parse_tmpfs", "parse_volumes",
           "volume_target"]

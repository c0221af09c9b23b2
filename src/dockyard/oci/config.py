"""The image configuration blob: runtime defaults (Docker's "config"), rootfs diff IDs, history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.oci import _json as j
from dockyard.oci.descriptor import Descriptor, freeze_str_map
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import OCI_CONFIG
from dockyard.oci.platform import Platform
from dockyard.oci.timefmt import parse_rfc3339

_HEALTH = "healthcheck"
_CFG = "image config"


def _freeze_any(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def chain_ids(diff_ids: Sequence[Digest]) -> list[Digest]:
    """OCI chain IDs: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out: list[Digest] = []
    for diff_id in diff_ids:
        out.append(diff_id if not out else Digest.from_bytes(f"{out[-1]} {diff_id}".encode()))
    return out


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Docker's Healthcheck; durations in nanoseconds, 0 meaning "inherit/default"."""

    test: tuple[str, ...] = ()
    interval_ns: int = 0
    timeout_ns: int = 0
    start_period_ns: int = 0
    start_interval_ns: int = 0
    retries: int = 0

    def to_json_obj(self) -> dict[str, Any]:
        pairs: list[tuple[str, object]] = [
            ("Test", list(self.test)), ("Interval", self.interval_ns), ("Timeout", self.timeout_ns),
            ("StartPeriod", self.start_period_ns), ("StartInterval", self.start_interval_ns),
            ("Retries", self.retries),
        ]
        return {k: v for k, v in pairs if v}

    @classmethod
    def from_json_obj(cls, obj: Mapping[str, Any]) -> HealthConfig:
        return cls(
            test=j.get_str_list(obj, "Test", _HEALTH),
            interval_ns=j.get_int(obj, "Interval", _HEALTH),
            timeout_ns=j.get_int(obj, "Timeout", _HEALTH),
            start_period_ns=j.get_int(obj, "StartPeriod", _HEALTH),
            start_interval_ns=j.get_int(obj, "StartInterval", _HEALTH),
            retries=j.get_int(obj, "Retries", _HEALTH),
        )


_CONTAINER_KEYS = frozenset({
    "User", "Env", "Cmd", "Entrypoint", "WorkingDir", "Labels", "ExposedPorts", "Volumes",
    "StopSignal", "Healthcheck", "Shell", "OnBuild", "ArgsEscaped",
})


@dataclass(frozen=True, slots=True)
class ContainerConfig:
    """The image config's ``config`` object: defaults for containers made from the image.

    ``cmd``/``entrypoint``/``shell``/``on_build`` are None when unset and ``()`` when explicitly
    empty (``CMD []``), a difference Docker keeps. ``extra`` holds keys legacy builders write
    (Hostname, Image, AttachStdout, …) so that they survive a round trip.
    """

    user: str = ""
    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    stop_signal: str = ""
    healthcheck: HealthConfig | None = None
    shell: tuple[str, ...] | None = None
    on_build: tuple[str, ...] | None = None
    args_escaped: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", freeze_str_map(self.labels, "labels"))
        object.__setattr__(self, "extra", _freeze_any(self.extra))
        for name in ("env", "exposed_ports", "volumes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("cmd", "entrypoint", "shell", "on_build"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = dict(self.extra)
        if self.user:
            obj["User"] = self.user
        if self.env:
            obj["Env"] = list(self.env)
        if self.cmd is not None:
            obj["Cmd"] = list(self.cmd)
        if self.entrypoint is not None:
            obj["Entrypoint"] = list(self.entrypoint)
        if self.working_dir:
            obj["WorkingDir"] = self.working_dir
        if self.labels:
            obj["Labels"] = dict(self.labels)
        if self.exposed_ports:
            obj["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.volumes:
            obj["Volumes"] = {v: {} for v in self.volumes}
        if self.stop_signal:
            obj["StopSignal"] = self.stop_signal
        if self.healthcheck is not None:
            obj["Healthcheck"] = self.healthcheck.to_json_obj()
        if self.shell is not None:
            obj["Shell"] = list(self.shell)
        if self.on_build is not None:
            obj["OnBuild"] = list(self.on_build)
        if self.args_escaped:
            obj["ArgsEscaped"] = True
        return obj

    @classmethod
    def from_json_obj(cls, obj: Mapping[str, Any] | None) -> ContainerConfig:
        if obj is None:
            return cls()
        if not isinstance(obj, Mapping):
            raise InvalidArgument("invalid image config: config must be an object")
        health = j.get_object(obj, "Healthcheck", _CFG)
        return cls(
            user=j.get_str(obj, "User", _CFG),
            env=j.get_str_list(obj, "Env", _CFG),
            cmd=j.opt_str_list(obj, "Cmd", _CFG),
            entrypoint=j.opt_str_list(obj, "Entrypoint", _CFG),
            working_dir=j.get_str(obj, "WorkingDir", _CFG),
            labels=j.get_str_map(obj, "Labels", _CFG),
            exposed_ports=j.get_key_set(obj, "ExposedPorts", _CFG),
            volumes=j.get_key_set(obj, "Volumes", _CFG),
            stop_signal=j.get_str(obj, "StopSignal", _CFG),
            healthcheck=None if health is None else HealthConfig.from_json_obj(health),
            shell=j.opt_str_list(obj, "Shell", _CFG),
            on_build=j.opt_str_list(obj, "OnBuild", _CFG),
            args_escaped=j.get_bool(obj, "ArgsEscaped", _CFG),
            extra={k: v for k, v in obj.items() if k not in _CONTAINER_KEYS},
        )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of ``docker history``; ``empty_layer`` marks steps that made no layer."""

    created: str | None = None
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        if self.created is not None:
            obj["created"] = self.created
        if self.created_by:
            obj["created_by"] = self.created_by
        if self.author:
            obj["author"] = self.author
        if self.comment:
            obj["comment"] = self.comment
        if self.empty_layer:
            obj["empty_layer"] = True
        return obj

    @classmethod
    def from_json_obj(cls, obj: object) -> HistoryEntry:
        if not isinstance(obj, Mapping):
            raise InvalidArgument("invalid image config: history entries must be objects")
        created = j.opt_str(obj, "created", _CFG)
        if created is not None:
            _check_time(created)
        return cls(created, j.get_str(obj, "created_by", _CFG), j.get_str(obj, "author", _CFG),
                   j.get_str(obj, "comment", _CFG), j.get_bool(obj, "empty_layer", _CFG))


def _check_time(text: str) -> None:
    try:
        parse_rfc3339(text)
    except InvalidArgument as exc:
        raise InvalidArgument(f"invalid image config: {exc}") from exc


_IMAGE_KEYS = frozenset({
    "architecture", "os", "variant", "os.version", "created", "author", "config", "rootfs", "history",
})


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """An OCI/Docker image configuration. Unknown top-level keys (docker_version, container,
    container_config, parent, comment, os.features, …) are kept in ``extra``."""

    architecture: str
    os: str
    config: ContainerConfig = field(default_factory=ContainerConfig)
    diff_ids: tuple[Digest, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    created: str | None = None
    author: str = ""
    variant: str | None = None
    os_version: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "diff_ids", tuple(self.diff_ids))
        object.__setattr__(self, "history", tuple(self.history))
        object.__setattr__(self, "extra", _freeze_any(self.extra))

    @property
    def platform(self) -> Platform:
        features = self.extra.get("os.features")
        feats = tuple(f for f in features if isinstance(f, str)) if isinstance(features, list) else ()
        return Platform(self.os, self.architecture, self.variant or None, self.os_version or None, feats)

    def created_unix(self) -> float:
        """Seconds since the epoch of ``created``; 0 when missing."""
        return parse_rfc3339(self.created) if self.created else 0.0

    def chain_ids(self) -> list[Digest]:
        return chain_ids(self.diff_ids)

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = dict(self.extra)
        obj["architecture"] = self.architecture
        obj["os"] = self.os
        if self.variant:
            obj["variant"] = self.variant
        if self.os_version:
            obj["os.version"] = self.os_version
        if self.created is not None:
            obj["created"] = self.created
        if self.author:
            obj["author"] = self.author
        obj["config"] = self.config.to_json_obj()
        obj["rootfs"] = {"type": "layers", "diff_ids": [str(d) for d in self.diff_ids]}
        if self.history:
            obj["history"] = [h.to_json_obj() for h in self.history]
        return obj

    def to_bytes(self) -> bytes:
        return j.canonical_json(self.to_json_obj())

    def descriptor(self, media_type: str = OCI_CONFIG) -> Descriptor:
        data = self.to_bytes()
        return Descriptor(media_type, Digest.from_bytes(data), len(data))

    @classmethod
    def from_json_obj(cls, obj: Mapping[str, Any]) -> ImageConfig:
        rootfs = j.get_object(obj, "rootfs", _CFG) or {}
        if rootfs.get("type") != "layers":
            raise InvalidArgument('invalid image config: rootfs type must be "layers"')
        raw_ids = rootfs.get("diff_ids") or []
        if not isinstance(raw_ids, list) or not all(isinstance(d, str) for d in raw_ids):
            raise InvalidArgument("invalid image config: rootfs.diff_ids must be a list of digests")
        try:
            diff_ids = tuple(Digest.parse(d) for d in raw_ids)
        except InvalidArgument as exc:
            raise InvalidArgument(f"invalid image config: rootfs.diff_ids: {exc}") from exc
        history = obj.get("history") or []
        if not isinstance(history, list):
            raise InvalidArgument("invalid image config: history must be a list")
        created = j.opt_str(obj, "created", _CFG)
        if created is not None:
            _check_time(created)
        return cls(
            architecture=j.get_str(obj, "architecture", _CFG),
            os=j.get_str(obj, "os", _CFG),
            config=ContainerConfig.from_json_obj(j.get_object(obj, "config", _CFG)),
            diff_ids=diff_ids,
            history=tuple(HistoryEntry.from_json_obj(h) for h in history),
            created=created,
            author=j.get_str(obj, "author", _CFG),
            variant=j.opt_str(obj, "variant", _CFG) or None,
            os_version=j.opt_str(obj, "os.version", _CFG) or None,
            extra={k: v for k, v in obj.items() if k not in _IMAGE_KEYS},
        )

    @classmethod
    def from_bytes(cls, data: bytes | str) -> ImageConfig:
        return cls.from_json_obj(j.load_object(data, _CFG))


__all__ = ["ContainerConfig", "HealthConfig", "HistoryEntry", "ImageConfig", "chain_ids"]

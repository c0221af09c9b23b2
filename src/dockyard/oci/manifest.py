"""Image manifests and indexes (OCI and Docker schema 2), and picking a platform from an index."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import _json as j
from dockyard.oci.descriptor import Descriptor, freeze_str_map
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import (
    OCI_INDEX,
    OCI_MANIFEST,
    is_index,
    is_manifest,
    is_schema1,
)
from dockyard.oci.platform import Platform


def _unsupported(media_type: str) -> InvalidArgument:
    return InvalidArgument(f"unsupported manifest media type {media_type!r}")


def _check_schema(obj: Mapping[str, Any], what: str) -> None:
    version = obj.get("schemaVersion")
    media_type = obj.get("mediaType")
    if version == 1 or (isinstance(media_type, str) and is_schema1(media_type)):
        raise InvalidArgument(
            f"unsupported manifest media type {media_type or 'application/vnd.docker.distribution.manifest.v1+json'!r}: "
            "Docker Image manifest version 2, schema 1 is no longer supported")
    if version != 2:
        raise InvalidArgument(f"invalid {what}: schemaVersion must be 2")


def _descriptor(value: object, what: str) -> Descriptor:
    try:
        return Descriptor.from_json_obj(value)
    except InvalidArgument as exc:
        raise InvalidArgument(f"invalid {what}: {exc}") from exc


def _descriptors(obj: Mapping[str, Any], key: str, what: str) -> tuple[Descriptor, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidArgument(f"invalid {what}: {key} must be a list")
    return tuple(_descriptor(v, what) for v in value)


def _common_json(obj: dict[str, Any], annotations: Mapping[str, str], subject: Descriptor | None,
                 artifact_type: str | None) -> dict[str, Any]:
    if annotations:
        obj["annotations"] = dict(annotations)
    if subject is not None:
        obj["subject"] = subject.to_json_obj()
    if artifact_type:
        obj["artifactType"] = artifact_type
    return obj


@dataclass(frozen=True, slots=True)
class Manifest:
    """An image manifest: one config and the ordered layers (base first)."""

    config: Descriptor
    layers: tuple[Descriptor, ...] = ()
    media_type: str = OCI_MANIFEST
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)
    subject: Descriptor | None = None
    artifact_type: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "annotations", freeze_str_map(self.annotations, "annotations"))
        if not is_manifest(self.media_type):
            raise _unsupported(self.media_type)

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": self.config.to_json_obj(),
            "layers": [layer.to_json_obj() for layer in self.layers],
        }
        return _common_json(obj, self.annotations, self.subject, self.artifact_type)

    def to_bytes(self) -> bytes:
        return j.canonical_json(self.to_json_obj())

    def descriptor(self, platform: Platform | None = None) -> Descriptor:
        """A descriptor for :meth:`to_bytes` (what an index entry or a tag points at)."""
        data = self.to_bytes()
        return Descriptor(self.media_type, Digest.from_bytes(data), len(data), platform=platform)

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Manifest:
        obj = j.load_object(data, "manifest")
        _check_schema(obj, "manifest")
        media_type = obj.get("mediaType")
        if media_type is None:
            if "manifests" in obj:
                raise InvalidArgument("invalid manifest: this is an image index")
            media_type = OCI_MANIFEST
        if not isinstance(media_type, str) or not is_manifest(media_type):
            raise _unsupported(str(media_type))
        if "config" not in obj:
            raise InvalidArgument("invalid manifest: config is missing")
        subject = obj.get("subject")
        return cls(
            config=_descriptor(obj["config"], "manifest"),
            layers=_descriptors(obj, "layers", "manifest"),
            media_type=media_type,
            annotations=freeze_str_map(obj.get("annotations"), "manifest annotations"),
            subject=None if subject is None else _descriptor(subject, "manifest"),
            artifact_type=j.opt_str(obj, "artifactType", "manifest"),
        )


@dataclass(frozen=True, slots=True)
class Index:
    """An image index (or Docker manifest list): manifests for several platforms."""

    manifests: tuple[Descriptor, ...] = ()
    media_type: str = OCI_INDEX
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)
    subject: Descriptor | None = None
    artifact_type: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifests", tuple(self.manifests))
        object.__setattr__(self, "annotations", freeze_str_map(self.annotations, "annotations"))
        if not is_index(self.media_type):
            raise _unsupported(self.media_type)

    def select(self, platform: Platform) -> Descriptor:
        """The entry that best serves ``platform`` (exact variant, then the closest compatible
        one, then any variant); the first such entry wins ties."""
        best: Descriptor | None = None
        best_score = 0
        for desc in self.manifests:
            if desc.platform is None:
                continue
            score = platform.match_score(desc.platform)
            if score > best_score:
                best, best_score = desc, score
        if best is None:
            raise NotFound(f"no matching manifest for {platform} in the manifest list entries")
        return best

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "manifests": [m.to_json_obj() for m in self.manifests],
        }
        return _common_json(obj, self.annotations, self.subject, self.artifact_type)

    def to_bytes(self) -> bytes:
        return j.canonical_json(self.to_json_obj())

    def descriptor(self) -> Descriptor:
        data = self.to_bytes()
        return Descriptor(self.media_type, Digest.from_bytes(data), len(data))

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Index:
        obj = j.load_object(data, "image index")
        _check_schema(obj, "image index")
        media_type = obj.get("mediaType")
        if media_type is None:
            if "config" in obj or "layers" in obj:
                raise InvalidArgument("invalid image index: this is an image manifest")
            media_type = OCI_INDEX
        if not isinstance(media_type, str) or not is_index(media_type):
            raise _unsupported(str(media_type))
        if not isinstance(obj.get("manifests"), list):
            raise InvalidArgument("invalid image index: manifests must be a list")
        subject = obj.get("subject")
        return cls(
            manifests=_descriptors(obj, "manifests", "image index"),
            media_type=media_type,
            annotations=freeze_str_map(obj.get("annotations"), "index annotations"),
            subject=None if subject is None else _descriptor(subject, "image index"),
            artifact_type=j.opt_str(obj, "artifactType", "image index"),
        )


def parse_any(media_type: str | None, data: bytes | str) -> Manifest | Index:
    """Decode a manifest or an index; without a media type, sniff it from the document."""
    if media_type is None:
        obj = j.load_object(data, "manifest")
        sniffed = obj.get("mediaType")
        if isinstance(sniffed, str) and sniffed:
            media_type = sniffed
        elif "manifests" in obj:
            media_type = OCI_INDEX
        else:
            media_type = OCI_MANIFEST
    if is_index(media_type):
        return Index.from_bytes(data)
    if is_manifest(media_type) or is_schema1(media_type):
        return Manifest.from_bytes(data)
    raise _unsupported(media_type)


__all__ = ["Index", "Manifest", "parse_any"]

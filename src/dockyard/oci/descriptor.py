"""Content descriptors: the typed, sized, digested pointers that link OCI objects together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.oci.platform import Platform

_EMPTY: Mapping[str, str] = MappingProxyType({})


def freeze_str_map(value: Mapping[str, str] | None, what: str) -> Mapping[str, str]:
    """A read-only copy of a string→string mapping (checked, since it often comes from JSON)."""
    if not value:
        return _EMPTY
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidArgument(f"invalid {what}: expected an object of strings")
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor. Annotations are stored read-only and left out of the hash."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    artifact_type: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "annotations", freeze_str_map(self.annotations, "annotations"))
        object.__setattr__(self, "urls", tuple(self.urls))
        if self.size < 0:
            raise InvalidArgument(f"invalid descriptor: negative size {self.size}")

    def with_annotations(self, annotations: Mapping[str, str]) -> Descriptor:
        """A copy whose annotations are these (merged over the current ones)."""
        merged = {**self.annotations, **annotations}
        return Descriptor(self.media_type, self.digest, self.size, merged, self.platform, self.urls,
                          self.artifact_type)

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.urls:
            obj["urls"] = list(self.urls)
        if self.annotations:
            obj["annotations"] = dict(self.annotations)
        if self.platform is not None:
            obj["platform"] = self.platform.to_json_obj()
        if self.artifact_type:
            obj["artifactType"] = self.artifact_type
        return obj

    @classmethod
    def from_json_obj(cls, obj: object) -> Descriptor:
        if not isinstance(obj, Mapping):
            raise InvalidArgument("invalid descriptor: expected an object")
        media_type, digest, size = obj.get("mediaType"), obj.get("digest"), obj.get("size")
        if not isinstance(media_type, str) or not media_type:
            raise InvalidArgument("invalid descriptor: mediaType must be a non-empty string")
        if not isinstance(digest, str):
            raise InvalidArgument("invalid descriptor: digest must be a string")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidArgument("invalid descriptor: size must be a non-negative integer")
        urls = obj.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise InvalidArgument("invalid descriptor: urls must be a list of strings")
        platform = obj.get("platform")
        artifact_type = obj.get("artifactType")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise InvalidArgument("invalid descriptor: artifactType must be a string")
        return cls(
            media_type=media_type,
            digest=Digest.parse(digest),
            size=size,
            annotations=freeze_str_map(obj.get("annotations"), "descriptor annotations"),
            platform=None if platform is None else Platform.from_json_obj(platform),
            urls=tuple(urls),
            artifact_type=artifact_type or None,
        )


__all__ = ["Descriptor", "freeze_str_map"]

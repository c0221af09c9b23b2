"""What the image service hands to its callers: typed views of stored images and typed events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dockyard.oci.image import ImageConfig


@dataclass(frozen=True, slots=True)
class ImageView:
    """One stored image with everything inspect/list need, resolved from metadata and content."""

    id: str                       # "sha256:<config digest hex>"
    config: ImageConfig
    repo_tags: tuple[str, ...]    # familiar strings, e.g. "busybox:latest"
    repo_digests: tuple[str, ...]  # familiar strings, e.g. "busybox@sha256:…"
    parent: str                   # "" or the parent image id
    size: int                     # uncompressed bytes of all layers
    created: float                # unix seconds, from the config
    last_tag_time: float | None
    target_digest: str
    manifest_digest: str
    layer_sizes: tuple[int, ...] = ()

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.config.labels)


@dataclass(frozen=True, slots=True)
class HistoryItem:
    id: str             # image id for the top entry, "<missing>" below it
    created: float
    created_by: str
    tags: tuple[str, ...]
    size: int
    comment: str


@dataclass(frozen=True, slots=True)
class DeleteRecord:
    """One line of an image removal: exactly one of the two is set."""

    untagged: str = ""
    deleted: str = ""


@dataclass(frozen=True, slots=True)
class PruneReport:
    deleted: tuple[DeleteRecord, ...]
    space_reclaimed: int


@dataclass(frozen=True, slots=True)
class LoadedImage:
    image_id: str
    tag: str | None     # familiar tag, or None when the archive named none


@dataclass(frozen=True, slots=True)
class ImageEvent:
    """An image event as Docker reports it (Type "image")."""

    action: str                   # pull, push, tag, untag, delete, load, import, save
    id: str                       # the image id or the reference, as Docker uses it
    attributes: dict[str, str] = field(default_factory=dict)


EventSink = Callable[[ImageEvent], None]


def discard_events(_: ImageEvent) -> None:
    return None

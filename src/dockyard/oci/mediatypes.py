"""Media types of OCI and Docker image objects, and what kind of object each one names."""

from __future__ import annotations

from dockyard.errors import InvalidArgument

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
# Deprecated by the image spec but still found in the wild (Windows base layers).
OCI_LAYER_NONDIST_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYOUT_VERSION = "1.0.0"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
# Schema 1 is only recognised so that it can be refused with a clear message.
DOCKER_MANIFEST_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_CONTAINERD_IMAGE_NAME = "io.containerd.image.name"
# Docker's `docker save` writes the full image name under containerd's key.
ANNOTATION_IMAGE_NAME = ANNOTATION_CONTAINERD_IMAGE_NAME

_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_CONFIGS = frozenset({OCI_CONFIG, DOCKER_CONFIG})
_LAYERS: dict[str, str] = {
    OCI_LAYER_TAR: "none",
    OCI_LAYER_GZIP: "gzip",
    OCI_LAYER_ZSTD: "zstd",
    OCI_LAYER_NONDIST_TAR: "none",
    OCI_LAYER_NONDIST_GZIP: "gzip",
    OCI_LAYER_NONDIST_ZSTD: "zstd",
    DOCKER_LAYER_TAR: "none",
    DOCKER_LAYER_GZIP: "gzip",
    DOCKER_LAYER_ZSTD: "zstd",
    DOCKER_LAYER_FOREIGN_GZIP: "gzip",
}


def is_manifest(mt: str) -> bool:
    """An image manifest (OCI or Docker schema 2)."""
    return mt in _MANIFESTS


def is_index(mt: str) -> bool:
    """An image index or Docker manifest list."""
    return mt in _INDEXES


def is_config(mt: str) -> bool:
    """An image configuration blob."""
    return mt in _CONFIGS


def is_layer(mt: str) -> bool:
    """A filesystem layer (tar, possibly compressed)."""
    return mt in _LAYERS


def is_schema1(mt: str) -> bool:
    """A Docker schema 1 manifest, which dockyard refuses."""
    return mt in (DOCKER_MANIFEST_SCHEMA1, DOCKER_MANIFEST_SCHEMA1_SIGNED)


def layer_compression(mt: str) -> str:
    """``"gzip"``, ``"zstd"`` or ``"none"`` for a layer media type."""
    try:
        return _LAYERS[mt]
    except KeyError:
        raise InvalidArgument(f"not a layer media type: {mt!r}") from None


def layer_media_type(compression: str, *, docker: bool = False) -> str:
    """The layer media type for ``compression`` in the OCI (default) or Docker vocabulary."""
    table = {
        False: {"none": OCI_LAYER_TAR, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD},
        True: {"none": DOCKER_LAYER_TAR, "gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD},
    }[docker]
    try:
        return table[compression]
    except KeyError:
        raise InvalidArgument(f"unknown layer compression: {compression!r}") from None


__all__ = [
    "ANNOTATION_CONTAINERD_IMAGE_NAME",
    "ANNOTATION_CREATED",
    "ANNOTATION_IMAGE_NAME",
    "ANNOTATION_REF_NAME",
    "DOCKER_CONFIG",
    "DOCKER_LAYER_FOREIGN_GZIP",
    "DOCKER_LAYER_GZIP",
    "DOCKER_LAYER_TAR",
    "DOCKER_LAYER_ZSTD",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_MANIFEST_SCHEMA1",
    "DOCKER_MANIFEST_SCHEMA1_SIGNED",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDIST_GZIP",
    "OCI_LAYER_NONDIST_TAR",
    "OCI_LAYER_NONDIST_ZSTD",
    "OCI_LAYER_TAR",
    "OCI_LAYER_ZSTD",
    "OCI_LAYOUT_VERSION",
    "OCI_MANIFEST",
    "is_config",
    "is_index",
    "is_layer",
    "is_manifest",
    "is_schema1",
    "layer_compression",
    "layer_media_type",
]

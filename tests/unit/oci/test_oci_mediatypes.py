from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci import mediatypes as mt


def test_kinds() -> None:
    assert mt.is_manifest(mt.OCI_MANIFEST) and mt.is_manifest(mt.DOCKER_MANIFEST)
    assert not mt.is_manifest(mt.OCI_INDEX)
    assert mt.is_index(mt.OCI_INDEX) and mt.is_index(mt.DOCKER_MANIFEST_LIST)
    assert not mt.is_index(mt.DOCKER_MANIFEST)
    assert mt.is_config(mt.OCI_CONFIG) and mt.is_config(mt.DOCKER_CONFIG)
    assert not mt.is_config(mt.OCI_LAYER_GZIP)
    for layer in (mt.OCI_LAYER_TAR, mt.OCI_LAYER_GZIP, mt.OCI_LAYER_ZSTD, mt.DOCKER_LAYER_GZIP,
                  mt.DOCKER_LAYER_FOREIGN_GZIP):
        assert mt.is_layer(layer)
    assert not mt.is_layer(mt.OCI_CONFIG)
    assert mt.is_schema1(mt.DOCKER_MANIFEST_SCHEMA1_SIGNED)


@pytest.mark.parametrize(("media_type", "compression"), [
    (mt.OCI_LAYER_TAR, "none"),
    (mt.OCI_LAYER_GZIP, "gzip"),
    (mt.OCI_LAYER_ZSTD, "zstd"),
    (mt.DOCKER_LAYER_GZIP, "gzip"),
    (mt.DOCKER_LAYER_FOREIGN_GZIP, "gzip"),
    (mt.DOCKER_LAYER_TAR, "none"),
])
def test_layer_compression(media_type: str, compression: str) -> None:
    assert mt.layer_compression(media_type) == compression


def test_layer_compression_rejects_non_layers() -> None:
    with pytest.raises(InvalidArgument):
        mt.layer_compression(mt.OCI_MANIFEST)


def test_layer_media_type() -> None:
    assert mt.layer_media_type("zstd") == mt.OCI_LAYER_ZSTD
    assert mt.layer_media_type("gzip", docker=True) == mt.DOCKER_LAYER_GZIP
    with pytest.raises(InvalidArgument):
        mt.layer_media_type("bzip2")


def test_constants() -> None:
    assert mt.OCI_LAYOUT_VERSION == "1.0.0"
    assert mt.ANNOTATION_REF_NAME == "org.opencontainers.image.ref.name"
    assert mt.ANNOTATION_CREATED == "org.opencontainers.image.created"
    assert mt.ANNOTATION_CONTAINERD_IMAGE_NAME == "io.containerd.image.name"

from __future__ import annotations

import dataclasses

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.mediatypes import OCI_LAYER_GZIP, OCI_MANIFEST
from dockyard.oci.platform import Platform

D = Digest.from_bytes(b"hello")


def test_json_minimal_omits_empty_fields() -> None:
    assert Descriptor(OCI_LAYER_GZIP, D, 5).to_json_obj() == {
        "mediaType": OCI_LAYER_GZIP, "digest": str(D), "size": 5}


def test_json_round_trip_full() -> None:
    d = Descriptor(OCI_MANIFEST, D, 5, {"a": "b"}, Platform.parse("linux/arm64/v8"), ("https://x/y",))
    obj = d.to_json_obj()
    assert obj["annotations"] == {"a": "b"}
    assert obj["platform"] == {"os": "linux", "architecture": "arm64", "variant": "v8"}
    assert obj["urls"] == ["https://x/y"]
    assert Descriptor.from_json_obj(obj) == d


def test_annotations_are_read_only_copies() -> None:
    src = {"a": "b"}
    d = Descriptor(OCI_LAYER_GZIP, D, 5, src)
    src["a"] = "changed"
    assert d.annotations["a"] == "b"
    with pytest.raises(TypeError):
        d.annotations["x"] = "y"  # type: ignore[index]


def test_hashable_and_equal() -> None:
    a = Descriptor(OCI_LAYER_GZIP, D, 5, {"a": "b"})
    b = Descriptor(OCI_LAYER_GZIP, D, 5, {"a": "b"})
    c = Descriptor(OCI_LAYER_GZIP, D, 5, {"a": "c"})
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b}) == 1
    assert dataclasses.replace(a, size=6).size == 6


def test_with_annotations_merges() -> None:
    d = Descriptor(OCI_LAYER_GZIP, D, 5, {"a": "1"}).with_annotations({"b": "2"})
    assert dict(d.annotations) == {"a": "1", "b": "2"}


def test_negative_size_rejected() -> None:
    with pytest.raises(InvalidArgument):
        Descriptor(OCI_LAYER_GZIP, D, -1)


@pytest.mark.parametrize("obj", [
    None,
    [],
    {"digest": str(D), "size": 1},
    {"mediaType": "a/b", "digest": "sha256:xyz", "size": 1},
    {"mediaType": "a/b", "digest": str(D), "size": "1"},
    {"mediaType": "a/b", "digest": str(D), "size": True},
    {"mediaType": "a/b", "digest": str(D), "size": -3},
    {"mediaType": "a/b", "digest": str(D), "size": 1, "urls": "x"},
    {"mediaType": "a/b", "digest": str(D), "size": 1, "annotations": {"a": 1}},
    {"mediaType": "a/b", "digest": str(D), "size": 1, "platform": {"os": "linux"}},
])
def test_from_json_invalid(obj: object) -> None:
    with pytest.raises(InvalidArgument):
        Descriptor.from_json_obj(obj)

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.image import Index, Manifest, parse_any
from dockyard.oci.mediatypes import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
)
from dockyard.oci.platform import Platform


def _d(data: bytes, media_type: str = OCI_LAYER_GZIP, platform: Platform | None = None) -> Descriptor:
    return Descriptor(media_type, Digest.from_bytes(data), len(data), platform=platform)


CFG = _d(b"config", OCI_CONFIG)
L1, L2 = _d(b"layer1"), _d(b"layer2")

# What a registry serves for a Docker schema 2 image (pretty-printed, as Docker pushes it).
DOCKER_SCHEMA2 = json.dumps({
    "schemaVersion": 2,
    "mediaType": DOCKER_MANIFEST,
    "config": {"mediaType": DOCKER_CONFIG, "size": 6, "digest": str(CFG.digest)},
    "layers": [{"mediaType": DOCKER_LAYER_GZIP, "size": 6, "digest": str(L1.digest)}],
}, indent=3).encode()


def test_manifest_round_trip_and_layout() -> None:
    m = Manifest(CFG, (L1, L2), annotations={"a": "b"})
    obj = json.loads(m.to_bytes())
    assert obj["schemaVersion"] == 2 and obj["mediaType"] == OCI_MANIFEST
    assert obj["config"] == CFG.to_json_obj()
    assert [layer["digest"] for layer in obj["layers"]] == [str(L1.digest), str(L2.digest)]
    assert obj["annotations"] == {"a": "b"}
    assert Manifest.from_bytes(m.to_bytes()) == m
    assert m.to_bytes() == json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def test_manifest_descriptor() -> None:
    m = Manifest(CFG, (L1,))
    d = m.descriptor(Platform.parse("linux/amd64"))
    assert d.digest == Digest.from_bytes(m.to_bytes()) and d.size == len(m.to_bytes())
    assert d.media_type == OCI_MANIFEST and d.platform == Platform("linux", "amd64")


def test_docker_schema2_decodes() -> None:
    m = Manifest.from_bytes(DOCKER_SCHEMA2)
    assert m.media_type == DOCKER_MANIFEST
    assert m.config.media_type == DOCKER_CONFIG and m.config.digest == CFG.digest
    assert [layer.media_type for layer in m.layers] == [DOCKER_LAYER_GZIP]


def test_manifest_without_media_type_is_oci() -> None:
    obj: dict[str, Any] = {"schemaVersion": 2, "config": CFG.to_json_obj(), "layers": []}
    assert Manifest.from_bytes(json.dumps(obj).encode()).media_type == OCI_MANIFEST


def test_manifest_subject_and_artifact_type_round_trip() -> None:
    m = Manifest(CFG, (L1,), subject=_d(b"s", OCI_MANIFEST), artifact_type="application/x-sig")
    obj = json.loads(m.to_bytes())
    assert obj["subject"]["digest"] == str(Digest.from_bytes(b"s"))
    assert obj["artifactType"] == "application/x-sig"
    assert Manifest.from_bytes(m.to_bytes()) == m


@pytest.mark.parametrize("doc", [
    {"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []},
    {"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
])
def test_schema1_rejected(doc: dict[str, Any]) -> None:
    for parse in (Manifest.from_bytes, lambda b: parse_any(None, b)):
        with pytest.raises(InvalidArgument, match="^unsupported manifest media type"):
            parse(json.dumps(doc).encode())


@pytest.mark.parametrize("doc", [
    {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []},
    {"schemaVersion": 2, "manifests": []},
    {"schemaVersion": 2, "mediaType": "application/json", "config": {}, "layers": []},
    {"schemaVersion": 3, "config": {}, "layers": []},
    {"schemaVersion": 2, "layers": []},
    {"schemaVersion": 2, "config": {"mediaType": OCI_CONFIG}, "layers": []},
    {"schemaVersion": 2, "config": CFG.to_json_obj(), "layers": {}},
    {"schemaVersion": 2, "config": CFG.to_json_obj(), "layers": [None]},
    {"schemaVersion": 2, "config": CFG.to_json_obj(), "layers": [], "annotations": {"a": 1}},
])
def test_invalid_manifests(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        Manifest.from_bytes(json.dumps(doc).encode())


def test_constructor_rejects_wrong_media_types() -> None:
    with pytest.raises(InvalidArgument):
        Manifest(CFG, (), media_type=OCI_INDEX)
    with pytest.raises(InvalidArgument):
        Index((), media_type=OCI_MANIFEST)


def _index(*platforms: str | None, media_type: str = OCI_INDEX) -> Index:
    entries = []
    for i, p in enumerate(platforms):
        entries.append(_d(f"m{i}".encode(), OCI_MANIFEST, Platform.parse(p) if p else None))
    return Index(tuple(entries), media_type=media_type)


def test_index_round_trip() -> None:
    idx = _index("linux/amd64", "linux/arm64/v8", None)
    idx = Index(idx.manifests, annotations={"x": "y"})
    obj = json.loads(idx.to_bytes())
    assert obj["schemaVersion"] == 2 and obj["mediaType"] == OCI_INDEX
    assert obj["manifests"][1]["platform"] == {"os": "linux", "architecture": "arm64", "variant": "v8"}
    assert Index.from_bytes(idx.to_bytes()) == idx
    assert idx.descriptor().digest == Digest.from_bytes(idx.to_bytes())


def test_docker_manifest_list() -> None:
    idx = _index("linux/amd64", media_type=DOCKER_MANIFEST_LIST)
    parsed = Index.from_bytes(idx.to_bytes())
    assert parsed.media_type == DOCKER_MANIFEST_LIST
    assert isinstance(parse_any(None, idx.to_bytes()), Index)


@pytest.mark.parametrize(("entries", "want", "picked"), [
    (("linux/amd64", "linux/arm64/v8"), "linux/arm64", 1),
    (("linux/amd64", "linux/arm64"), "linux/arm64/v8", 1),
    (("linux/arm/v5", "linux/arm/v6", "linux/arm/v7"), "linux/arm/v7", 2),
    (("linux/arm/v5", "linux/arm/v6"), "linux/arm/v7", 1),
    (("linux/amd64", "linux/amd64"), "linux/amd64", 0),
    ((None, "linux/amd64"), "linux/amd64", 1),
    (("linux/amd64/v2", "linux/amd64"), "linux/amd64", 1),
    (("linux/amd64/v2",), "linux/amd64", 0),
    (("windows/amd64", "linux/amd64"), "linux/amd64", 1),
])
def test_select(entries: tuple[str | None, ...], want: str, picked: int) -> None:
    idx = _index(*entries)
    assert idx.select(Platform.parse(want)) is idx.manifests[picked]


def test_select_no_match_uses_dockers_message() -> None:
    idx = _index("linux/arm64", "linux/arm/v7")
    with pytest.raises(NotFound) as exc:
        idx.select(Platform("linux", "amd64"))
    assert str(exc.value) == "no matching manifest for linux/amd64 in the manifest list entries"
    with pytest.raises(NotFound):
        _index("linux/arm/v7").select(Platform.parse("linux/arm/v6"))


@pytest.mark.parametrize("doc", [
    {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "manifests": []},
    {"schemaVersion": 2, "config": CFG.to_json_obj(), "layers": []},
    {"schemaVersion": 2},
    {"schemaVersion": 2, "manifests": [{"mediaType": OCI_MANIFEST}]},
    {"manifests": []},
])
def test_invalid_indexes(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        Index.from_bytes(json.dumps(doc).encode())


def test_parse_any() -> None:
    m = Manifest(CFG, (L1,))
    idx = _index("linux/amd64")
    assert parse_any(None, m.to_bytes()) == m
    assert parse_any(OCI_MANIFEST, m.to_bytes()) == m
    assert parse_any(None, idx.to_bytes()) == idx
    assert parse_any(OCI_INDEX, idx.to_bytes()) == idx
    assert parse_any(None, DOCKER_SCHEMA2) == Manifest.from_bytes(DOCKER_SCHEMA2)
    bare_index = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert isinstance(parse_any(None, bare_index), Index)
    with pytest.raises(InvalidArgument, match="unsupported manifest media type"):
        parse_any("application/octet-stream", m.to_bytes())
    with pytest.raises(InvalidArgument):
        parse_any(OCI_INDEX, m.to_bytes())
    with pytest.raises(InvalidArgument):
        parse_any(None, b"not json")


def test_values_are_hashable() -> None:
    m = Manifest(CFG, [L1], annotations={"a": "b"})  # type: ignore[arg-type]
    assert m.layers == (L1,)
    assert len({m, Manifest(CFG, (L1,), annotations={"a": "b"})}) == 1
    hash(_index("linux/amd64"))

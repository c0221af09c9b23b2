"""What dockyard writes validates against the OCI image-spec JSON schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.image import (
    ContainerConfig,
    HealthConfig,
    HistoryEntry,
    ImageConfig,
    Index,
    Manifest,
)
from dockyard.oci.mediatypes import DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_LAYER_GZIP
from dockyard.oci.platform import Platform

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")
from referencing.jsonschema import DRAFT4  # noqa: E402

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "oci-image"
pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason=f"OCI image-spec schemas not found at {SPECS}")

# The schemas refer to each other by file name relative to their "id"s, which live under two
# different base URLs; register every file under each base so that all references resolve.
_BASES = ("", "https://opencontainers.org/schema/", "https://opencontainers.org/schema/image/")


def _validator(name: str) -> Any:
    registry: Any = referencing.Registry()
    for path in sorted(SPECS.glob("*.json")):
        resource = DRAFT4.create_resource(json.loads(path.read_text()))
        for base in _BASES:
            registry = registry.with_resource(base + path.name, resource)
    schema = json.loads((SPECS / name).read_text())
    registry = registry.with_resource(schema["id"], DRAFT4.create_resource(schema))
    return jsonschema.Draft4Validator(schema, registry=registry)


def _d(data: bytes, media_type: str = OCI_LAYER_GZIP, **kw: Any) -> Descriptor:
    return Descriptor(media_type, Digest.from_bytes(data), len(data), **kw)


def _config() -> ImageConfig:
    return ImageConfig(
        architecture="arm64",
        os="linux",
        variant="v8",
        created="2024-01-02T03:04:05.123456789Z",
        author="someone",
        config=ContainerConfig(
            user="1000:1000", env=("PATH=/bin",), cmd=("sh",), entrypoint=(), working_dir="/app",
            labels={"a": "b"}, exposed_ports=("80/tcp",), volumes=("/data",), stop_signal="SIGTERM",
            healthcheck=HealthConfig(("CMD", "true"), 10**9, 2 * 10**9, 0, 0, 3), shell=("/bin/sh", "-c"),
            on_build=("RUN true",), args_escaped=True,
        ),
        diff_ids=(Digest.from_bytes(b"1"), Digest.from_bytes(b"2")),
        history=(HistoryEntry("2024-01-02T03:04:05Z", "ADD x /", "", "", False),
                 HistoryEntry(None, "CMD [\"sh\"]", "", "c", True)),
        extra={"docker_version": "27.0.0", "os.features": ["x"]},
    )


def test_schema_registry_rejects_bad_documents() -> None:
    # Guard against a validator that silently accepts anything (e.g. unresolved references).
    v = _validator("image-manifest-schema.json")
    bad = json.loads(Manifest(_d(b"c"), (_d(b"l"),)).to_bytes())
    bad["config"]["digest"] = "nope"
    assert list(v.iter_errors(bad))
    bad = json.loads(Manifest(_d(b"c"), (_d(b"l"),)).to_bytes())
    bad["config"]["size"] = "12"
    assert list(v.iter_errors(bad))


def test_manifest_validates() -> None:
    cfg = _config()
    m = Manifest(cfg.descriptor(), (_d(b"l1"), _d(b"l2", annotations={"k": "v"}, urls=("https://x/y",))),
                 annotations={"org.opencontainers.image.created": "2024-01-02T03:04:05Z"},
                 subject=_d(b"s", "application/vnd.oci.image.manifest.v1+json"))
    _validator("image-manifest-schema.json").validate(json.loads(m.to_bytes()))


def test_docker_manifest_validates() -> None:
    m = Manifest(_config().descriptor(DOCKER_CONFIG), (_d(b"l1", DOCKER_LAYER_GZIP),), media_type=DOCKER_MANIFEST)
    _validator("image-manifest-schema.json").validate(json.loads(m.to_bytes()))


def test_index_validates() -> None:
    m = Manifest(_config().descriptor(), (_d(b"l1"),))
    idx = Index((m.descriptor(Platform.parse("linux/arm64/v8")),
                 m.descriptor(Platform("windows", "amd64", None, "10.0.17763.1", ("win32k",)))),
                annotations={"a": "b"})
    _validator("image-index-schema.json").validate(json.loads(idx.to_bytes()))


def test_image_config_validates() -> None:
    _validator("config-schema.json").validate(json.loads(_config().to_bytes()))
    _validator("config-schema.json").validate(json.loads(ImageConfig("amd64", "linux").to_bytes()))


def test_descriptor_validates() -> None:
    v = _validator("content-descriptor.json")
    v.validate(_d(b"x").to_json_obj())
    v.validate(_d(b"x", annotations={"a": "b"}, urls=("https://e.com/b",),
                  platform=Platform.parse("linux/arm/v7")).to_json_obj())

"""Validate Engine API response bodies against the Docker Engine API swagger (v1.44).

    from api_schema import validate_response, validate_path_response
    validate_response("ImageInspect", body)
    validate_path_response("get", "/images/json", 200, body)

Field names and types are part of the contract (TESTING.md). The spec is Swagger 2.0, whose
schemas are JSON Schema draft 4 plus extensions; the only extension that changes validation is
``x-nullable: true``, which here admits ``null``. Everything else (``additionalProperties``,
``required``, ``enum``) is enforced exactly as the spec says. ``format`` is not checked: the spec
uses it for Go types (``int64``, ``dateTime``) rather than as a constraint.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "engine-api-v1.44.yaml"
_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")
# Go pointer fields that Docker sends as null although the spec does not mark them x-nullable
# (seen from Docker 20.10 and 25 in container inspect). Admitted only with go_nulls=True.
GO_POINTER_FIELDS = {
    "Resources": ("MemorySwappiness", "OomKillDisable"),
    "HostConfig": ("Init",),
}


class ApiSchemaError(AssertionError):
    """A body does not match the spec; lists every violation with its JSON path."""

    def __init__(self, what: str, errors: list[str]) -> None:
        self.what = what
        self.errors = errors
        shown = "\n  ".join(errors[:20]) + (
            f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        )
        super().__init__(f"{what}: {len(errors)} schema violation(s):\n  {shown}")


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The raw swagger document (cached; the C loader parses the 400 kB file in ~0.1 s)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.load(f, Loader=loader)
    return spec


def _nullable(schema: Any, go_nulls: bool = False) -> Any:
    """Rewrite ``x-nullable: true`` into draft-4 terms, recursively.

    With ``go_nulls``, arrays and objects admit null as well: Go encodes nil slices and maps
    as null, and Docker really sends e.g. ``"Entrypoint": null`` where the spec says array
    (so do the pointer fields of GO_POINTER_FIELDS).
    """
    if isinstance(schema, list):
        return [_nullable(s, go_nulls) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _nullable(v, go_nulls) for k, v in schema.items()}
    nullable = out.pop("x-nullable", False) is True
    if go_nulls and out.get("type") in ("array", "object"):
        nullable = True
    if not nullable:
        return out
    if "$ref" in out or "allOf" in out or "type" not in out:
        # Siblings of $ref are ignored in draft 4, so null has to be an alternative.
        return {"anyOf": [out, {"type": "null"}]}
    types = out["type"] if isinstance(out["type"], list) else [out["type"]]
    out["type"] = [*types, "null"] if "null" not in types else types
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def _definitions(go_nulls: bool = False) -> dict[str, Any]:
    raw = load_spec()["definitions"]
    if go_nulls:
        raw = copy.deepcopy(raw)
        for name, fields in GO_POINTER_FIELDS.items():
            for part in [raw[name], *raw[name].get("allOf", [])]:
                for f in fields:
                    if f in part.get("properties", {}):
                        part["properties"][f]["x-nullable"] = True
    return {name: _nullable(s, go_nulls) for name, s in raw.items()}


def _validator(schema: dict[str, Any], go_nulls: bool) -> jsonschema.Draft4Validator:
    # Embedding every definition lets "#/definitions/X" refs resolve against the root.
    return jsonschema.Draft4Validator({**schema, "definitions": _definitions(go_nulls)})


@functools.cache
def _definition_validator(definition: str, go_nulls: bool) -> jsonschema.Draft4Validator:
    if definition not in load_spec()["definitions"]:
        raise KeyError(f"no definition {definition!r} in {SPEC_PATH.name}")
    return _validator({"$ref": f"#/definitions/{definition}"}, go_nulls)


def _errors(validator: jsonschema.Draft4Validator, body: object) -> list[str]:
    found = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    out = []
    for e in found:
        where = "$" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in e.absolute_path)
        if e.context:  # anyOf: the most specific branch error says what is wrong
            e = jsonschema.exceptions.best_match(e.context) or e
        out.append(f"{where}: {e.message}")
    return out


def response_errors(definition: str, body: object, *, go_nulls: bool = False) -> list[str]:
    """Violations of ``#/definitions/<definition>`` by ``body`` (empty when valid)."""
    return _errors(_definition_validator(definition, go_nulls), body)


def validate_response(definition: str, body: object, *, go_nulls: bool = False) -> None:
    """Raise ApiSchemaError unless ``body`` matches ``#/definitions/<definition>``.

    ``go_nulls=True`` also admits null for every array and object (see _nullable).
    """
    errors = response_errors(definition, body, go_nulls=go_nulls)
    if errors:
        raise ApiSchemaError(definition, errors)


def definition_schema(definition: str, *, go_nulls: bool = False) -> dict[str, Any]:
    """The draft-4 form of one definition (refs left as refs), for inspection in tests."""
    return copy.deepcopy(_definitions(go_nulls)[definition])


def path_response_schema(
    method: str, path_template: str, status: int, *, go_nulls: bool = False
) -> dict[str, Any] | None:
    """The response schema of ``METHOD path`` for ``status``; None when it has no body."""
    paths = load_spec()["paths"]
    template = _VERSION_PREFIX.sub("", path_template)
    if template not in paths:
        close = [p for p in paths if p.split("/")[1:2] == template.split("/")[1:2]]
        raise KeyError(f"no path {template!r} in the spec; paths under it: {close}")
    op = paths[template].get(method.lower())
    if op is None:
        raise KeyError(f"{method.upper()} {template} is not in the spec")
    responses = op.get("responses", {})
    # YAML reads "200:" as an int; tolerate quoted codes and a "default" response too.
    resp = responses.get(status, responses.get(str(status), responses.get("default")))
    if resp is None:
        raise KeyError(f"{method.upper()} {template} documents no {status} response (has {list(responses)})")
    schema = resp.get("schema")
    return _nullable(schema, go_nulls) if schema is not None else None


@functools.cache
def _path_validator(
    method: str, path_template: str, status: int, go_nulls: bool
) -> jsonschema.Draft4Validator | None:
    schema = path_response_schema(method, path_template, status, go_nulls=go_nulls)
    return None if schema is None else _validator(schema, go_nulls)


def validate_path_response(
    method: str, path_template: str, status: int, body: object, *, go_nulls: bool = False
) -> None:
    """Raise ApiSchemaError unless ``body`` matches the spec's response for the endpoint.

    ``path_template`` is spelled as in the spec (``/containers/{id}/json``); a ``/v1.xx``
    prefix is ignored. A response documented without a schema must have no body.
    """
    validator = _path_validator(method.lower(), _VERSION_PREFIX.sub("", path_template), status, go_nulls)
    what = f"{method.upper()} {path_template} {status}"
    if validator is None:
        if body not in (None, b"", ""):
            raise ApiSchemaError(what, [f"$: the spec documents no body, got {type(body).__name__}"])
        return
    errors = _errors(validator, body)
    if errors:
        raise ApiSchemaError(what, errors)

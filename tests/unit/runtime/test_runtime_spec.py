from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.defaults import default_spec
from dockyard.runtime.spec import parse_spec

SCHEMA_DIR = "/work/shared/specs/oci-runtime"


def _cfg(**over: Any) -> dict[str, Any]:
    cfg = default_spec()
    cfg.update(over)
    return cfg


def test_default_spec_parses_and_matches_the_schema() -> None:
    spec = parse_spec(json.dumps(default_spec()))
    assert spec.process is not None and spec.process.args == ("sh",)
    assert spec.linux.namespace("mount") is not None and spec.root_readonly
    assert spec.mounts[1].options == ("nosuid", "strictatime", "mode=755", "size=65536k")
    import os

    if os.path.exists(f"{SCHEMA_DIR}/config-schema.json"):
        from pathlib import Path

        from referencing import Registry
        from referencing.jsonschema import DRAFT4

        resources = [(p.name, DRAFT4.create_resource(json.loads(p.read_text())))
                     for p in Path(SCHEMA_DIR).glob("*.json")]
        schema = json.loads(Path(SCHEMA_DIR, "config-schema.json").read_text())
        validator = jsonschema.Draft4Validator(schema, registry=Registry().with_resources(resources))
        validator.validate(default_spec())


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda c: c.pop("ociVersion"), "$.ociVersion"),
    (lambda c: c["process"].__setitem__("args", "sh"), "$.process.args"),
    (lambda c: c["linux"]["namespaces"].append({"type": "nope"}), "$.linux.namespaces[5].type"),
    (lambda c: c["process"]["rlimits"][0].__setitem__("soft", "x"), "$.process.rlimits[0].soft"),
    (lambda c: c["mounts"][0].pop("destination"), "$.mounts[0].destination"),
    (lambda c: c["process"].__setitem__("oomScoreAdj", 5000), "$.process.oomScoreAdj"),
    (lambda c: c["linux"].__setitem__("seccomp", {"defaultAction": "SCMP_ACT_BOGUS"}), "$.linux.seccomp.defaultAction"),
    (lambda c: c["process"]["user"].__setitem__("uid", -1), "$.process.user.uid"),
])
def test_errors_name_the_json_path(mutate: Any, path: str) -> None:
    cfg = default_spec()
    mutate(cfg)
    with pytest.raises(InvalidArgument, match=path.replace("$", r"\$").replace("[", r"\[").replace(".", r"\.")):
        parse_spec(json.dumps(cfg))


def test_duplicate_namespace_is_refused() -> None:
    cfg = _cfg()
    cfg["linux"]["namespaces"].append({"type": "pid"})
    with pytest.raises(InvalidArgument, match="duplicate namespace"):
        parse_spec(json.dumps(cfg))


def test_resources_and_seccomp_are_typed() -> None:
    cfg = _cfg()
    cfg["linux"]["resources"] = {"memory": {"limit": 1 << 25, "swap": 1 << 26}, "pids": {"limit": 10},
                                 "cpu": {"quota": 50000, "period": 100000, "cpus": "0"}}
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                               "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                             "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]}]}
    spec = parse_spec(json.dumps(cfg))
    assert spec.linux.resources.memory.limit == 1 << 25 and spec.linux.resources.pids_limit == 10
    assert spec.linux.resources.cpu.cpus == "0"
    assert spec.linux.seccomp is not None and spec.linux.seccomp.syscalls[0].args[0].value == 3

"""Shared fixtures of the spec-builder tests: an image's account files, a busybox config, host facts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.engine.spec import HostDevice, HostFacts
from dockyard.engine.spec.wire import from_docker_json
from dockyard.oci.config import ContainerConfig, ImageConfig

SCHEMA_DIR = Path("/work/shared/specs/oci-runtime")
CONTAINER_ID = "4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef"

BUSYBOX_PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
BUSYBOX_GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
tty:x:5:
disk:x:6:
wheel:x:10:root
audio:x:29:www-data
www-data:x:33:
staff:x:50:www-data,operator
nogroup:x:65534:
"""


@dataclass(frozen=True)
class FakePasswd:
    passwd: str | None = BUSYBOX_PASSWD
    group: str | None = BUSYBOX_GROUP

    def read_passwd(self) -> str | None:
        return self.passwd

    def read_group(self) -> str | None:
        return self.group


BUSYBOX = ImageConfig(
    architecture="amd64", os="linux",
    config=ContainerConfig(env=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",), cmd=("sh",)),
)

HOST = HostFacts(
    kernel=(6, 1), ncpu=8, cgroup2=True, hostname="buildhost",
    devices={
        "/dev/fuse": (HostDevice("/dev/fuse", "c", 10, 229, 0o666, 0, 0),),
        "/dev/sda": (HostDevice("/dev/sda", "b", 8, 0, 0o660, 0, 6),),
        "/dev/snd": (HostDevice("/dev/snd/controlC0", "c", 116, 2, 0o660, 0, 29),
                     HostDevice("/dev/snd/timer", "c", 116, 33, 0o660, 0, 29)),
    },
    all_devices=(HostDevice("/dev/null", "c", 1, 3, 0o666), HostDevice("/dev/sda", "b", 8, 0, 0o660, 0, 6)),
)


def options(config: dict[str, Any] | None = None, host_config: dict[str, Any] | None = None,
            networking: dict[str, Any] | None = None) -> Any:
    cfg = {"Image": "busybox", **(config or {})}
    return from_docker_json(cfg, host_config or {}, networking or {})


def schema_validator() -> Any:
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    resources = [(p.name, DRAFT4.create_resource(json.loads(p.read_text()))) for p in SCHEMA_DIR.glob("*.json")]
    schema = json.loads((SCHEMA_DIR / "config-schema.json").read_text())
    return jsonschema.Draft4Validator(schema, registry=Registry().with_resources(resources))

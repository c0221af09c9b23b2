"""Golden config.json files for typical ``docker run`` option sets.

Regenerate with ``UPDATE_GOLDEN=1 pytest tests/unit/engine_spec``, then review the diff by hand
against Docker's behaviour before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from specfakes import BUSYBOX, CONTAINER_ID, HOST, SCHEMA_DIR, FakePasswd, options, schema_validator

from dockyard.engine.spec import build_spec
from dockyard.runtime.spec import parse_spec

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# name → (Config, HostConfig, extra build_spec keywords)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "default": ({}, {}, {}),
    "privileged": ({}, {"Privileged": True}, {}),
    "cap_drop_all_add_net_admin": ({}, {"CapDrop": ["ALL"], "CapAdd": ["NET_ADMIN"]}, {}),
    "read_only_tmpfs": ({}, {"ReadonlyRootfs": True, "Tmpfs": {"/run": "", "/tmp": "rw,exec,size=64m"}}, {}),
    "user_nobody": ({"User": "nobody"}, {}, {}),
    "limits": ({}, {"Memory": 256 * 2**20, "MemoryReservation": 128 * 2**20, "NanoCpus": 1_500_000_000,
                    "CpuShares": 512, "CpusetCpus": "0-1", "PidsLimit": 100, "OomKillDisable": True,
                    "BlkioWeight": 300, "BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1048576}]}, {}),
    "host_namespaces": ({}, {"PidMode": "host", "IpcMode": "host", "UTSMode": "host", "NetworkMode": "host"}, {}),
    "seccomp_unconfined": ({}, {"SecurityOpt": ["seccomp=unconfined"]}, {}),
    "no_new_privileges": ({}, {"SecurityOpt": ["no-new-privileges"]}, {}),
    "devices": ({}, {"Devices": [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse",
                                  "CgroupPermissions": "rwm"},
                                 {"PathOnHost": "/dev/snd", "PathInContainer": "/dev/sound",
                                  "CgroupPermissions": "r"}],
                     "DeviceCgroupRules": ["c 42:* rmw"]}, {}),
    "ulimits": ({}, {"Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048},
                                 {"Name": "core", "Soft": -1, "Hard": -1}]}, {}),
    "init": ({"Entrypoint": ["/bin/echo"], "Cmd": ["hi"], "Tty": True}, {"Init": True},
             {"init_path": "/usr/bin/tini-static"}),
    "binds_volumes_env": (
        {"Env": ["FOO=bar", "PATH=/opt/bin:/bin"], "WorkingDir": "/work", "Hostname": "web",
         "Domainname": "example.org", "Volumes": {"/data": {}}},
        {"Binds": ["/srv/app:/app:ro", "cache:/cache"],
         "Mounts": [{"Type": "bind", "Source": "/srv/share", "Target": "/share",
                     "BindOptions": {"Propagation": "rslave"}},
                    {"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 16777216, "Mode": 0o1777}}],
         "GroupAdd": ["audio", "1234"], "Sysctls": {"net.ipv4.ip_forward": "1"}, "ShmSize": 128 * 2**20,
         "OomScoreAdj": 500},
        {"volume_sources": {"/cache": "/var/lib/dockyard/volumes/cache/_data",
                            "/data": "/var/lib/dockyard/volumes/3f2a/_data"},
         "netns_path": "/run/dockyard/netns/4f1b2c3d4e5f"}),
}


def _build(name: str) -> dict[str, Any]:
    config, host_config, extra = CASES[name]
    kwargs: dict[str, Any] = {"netns_path": None, **extra}
    return build_spec(options(config, host_config), BUSYBOX, container_id=CONTAINER_ID,
                      rootfs="/var/lib/dockyard/snapshots/12/fs", container_dir=f"/var/lib/dockyard/containers/{CONTAINER_ID}",
                      passwd=FakePasswd(), arch="amd64", host=HOST, **kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    spec = _build(name)
    path = GOLDEN / f"{name}.json"
    text = json.dumps(spec, indent=2) + "\n"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"missing golden {path.name}; run with UPDATE_GOLDEN=1")
        path.write_text(text)
    assert spec == json.loads(path.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_spec_is_valid(name: str) -> None:
    spec = _build(name)
    parse_spec(json.dumps(spec))  # our runtime accepts it
    if (SCHEMA_DIR / "config-schema.json").exists():
        schema_validator().validate(spec)

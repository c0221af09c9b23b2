"""Named and anonymous volumes against dockyardd: ``run -v``/``--mount``, the image's content copied
into a new volume, ``rm -v`` and ``--rm``, and ``docker volume`` through the docker CLI, docker-py
and the API schema."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import docker
import pytest
from api_schema import validate_path_response
from leak_checks import mount_points_under
from unix_http import request

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 60


def volume_names(d: DaemonHandle) -> set[str]:
    return set(d.docker("volume", "ls", "-q", timeout=T).stdout.split())


def test_named_volumes_outlive_their_containers(d: DaemonHandle) -> None:
    d.docker("run", "--rm", "-v", "data:/x", "busybox", "sh", "-c", "echo kept > /x/f", timeout=T)
    assert "data" in volume_names(d)
    out = d.docker("run", "--rm", "--mount", "type=volume,src=data,dst=/y,readonly", "busybox", "sh", "-c",
                   "cat /y/f; touch /y/g", check=False, timeout=T)
    assert out.stdout == "kept\n" and "Read-only file system" in out.stderr
    info = json.loads(d.docker("volume", "inspect", "data", timeout=T).stdout)[0]
    assert info["Name"] == "data" and info["Driver"] == "local" and info["Scope"] == "local"
    assert info["Mountpoint"] == str(d.data_root / "volumes" / "data" / "_data")
    with open(os.path.join(info["Mountpoint"], "f")) as f:
        assert f.read() == "kept\n"


def test_volume_in_use_and_removal(d: DaemonHandle) -> None:
    d.docker("volume", "create", "--label", "tier=db", "busy", timeout=T)
    cid = d.docker("run", "-d", "-v", "busy:/x", "busybox", "sleep", "1000", timeout=T).stdout.strip()
    proc = d.docker("volume", "rm", "busy", check=False, timeout=T)
    assert proc.returncode == 1
    assert proc.stderr == f"Error response from daemon: remove busy: volume is in use - [{cid}]\n"
    assert d.docker("volume", "ls", "-q", "-f", "label=tier=db", timeout=T).stdout == "busy\n"
    assert "busy" not in d.docker("volume", "ls", "-q", "-f", "dangling=true", timeout=T).stdout.split()
    d.docker("rm", "-f", cid, timeout=T)
    assert "busy" in d.docker("volume", "ls", "-q", "-f", "dangling=true", timeout=T).stdout.split()
    d.docker("volume", "rm", "busy", timeout=T)
    missing = d.docker("volume", "inspect", "busy", check=False, timeout=T)
    assert missing.returncode == 1 and "get busy: no such volume" in missing.stderr
    assert not (d.data_root / "volumes" / "busy").exists()
    bad = d.docker("volume", "create", "bad name", check=False, timeout=T)
    assert bad.returncode == 1 and '"bad name" includes invalid characters for a local volume name' in bad.stderr


def test_anonymous_volumes_go_with_rm_v_and_auto_remove(d: DaemonHandle) -> None:
    before = volume_names(d)
    d.docker("run", "--rm", "-v", "/anon", "busybox", "sh", "-c", "test -d /anon", timeout=T)
    assert volume_names(d) == before
    d.docker("run", "--name", "keep", "-v", "/anon", "-v", "named1:/n", "busybox", "true", timeout=T)
    mounts = json.loads(d.docker("inspect", "-f", "{{json .Mounts}}", "keep", timeout=T).stdout)
    by_dest = {m["Destination"]: m for m in mounts}
    assert by_dest["/n"]["Name"] == "named1" and by_dest["/n"]["Mode"] == "z" and by_dest["/n"]["RW"] is True
    anonymous = by_dest["/anon"]["Name"]
    assert len(anonymous) == 64 and by_dest["/anon"]["Type"] == "volume" and by_dest["/anon"]["Mode"] == ""
    assert anonymous in volume_names(d)
    d.docker("rm", "-v", "keep", timeout=T)
    assert anonymous not in volume_names(d) and "named1" in volume_names(d)
    # without -v an anonymous volume stays until a prune (which leaves named ones alone since API 1.42)
    d.docker("run", "--name", "keep2", "-v", "/anon", "busybox", "true", timeout=T)
    left = json.loads(d.docker("inspect", "-f", "{{json .Mounts}}", "keep2", timeout=T).stdout)[0]["Name"]
    d.docker("rm", "keep2", timeout=T)
    assert left in volume_names(d)
    pruned = d.docker("volume", "prune", "-f", timeout=T).stdout
    assert left in pruned and "named1" not in pruned
    assert left not in volume_names(d) and "named1" in volume_names(d)


def test_a_new_volume_gets_the_image_content_unless_nocopy(d: DaemonHandle) -> None:
    """dockerd copies what the image has at the mount point into an empty volume, for Config.Volumes
    (the image's VOLUMEs) and named volumes alike."""
    resp = request(d.socket, "POST", "/containers/create?name=seeded",
                   {"Image": "busybox", "Cmd": ["cat", "/etc/group"], "Volumes": {"/etc": {}}})
    assert resp.status == 201, resp.body
    d.docker("start", "-a", "seeded", timeout=T)
    mounts = json.loads(d.docker("inspect", "-f", "{{json .Mounts}}", "seeded", timeout=T).stdout)
    assert [(m["Destination"], m["Mode"]) for m in mounts] == [("/etc", "")]
    assert os.path.exists(os.path.join(mounts[0]["Source"], "passwd"))
    out = d.docker("run", "--rm", "-v", "etcvol:/etc", "busybox", "ls", "/etc", timeout=T).stdout.split()
    assert "passwd" in out
    empty = d.docker("run", "--rm", "--mount", "type=volume,src=etcempty,dst=/etc,volume-nocopy", "busybox",
                     "ls", "-A", "/etc", timeout=T).stdout.split()
    assert empty == ["hostname", "hosts", "resolv.conf"]  # only what the engine mounts there
    d.docker("rm", "-v", "seeded", timeout=T)


def test_volumes_api_schema_and_docker_py(d: DaemonHandle) -> None:
    created = request(d.socket, "POST", "/volumes/create", {"Name": "api1", "Labels": {"k": "v"}})
    assert created.status == 201
    validate_path_response("post", "/volumes/create", 201, created.json(), go_nulls=True)
    listed = request(d.socket, "GET", "/volumes")
    validate_path_response("get", "/volumes", 200, listed.json(), go_nulls=True)
    inspected = request(d.socket, "GET", "/volumes/api1")
    validate_path_response("get", "/volumes/{name}", 200, inspected.json(), go_nulls=True)
    assert inspected.json()["Labels"] == {"k": "v"}
    assert request(d.socket, "GET", "/volumes/nope").status == 404
    client = docker.DockerClient(base_url=f"unix://{d.socket}")
    try:
        vol = client.volumes.create("py1", labels={"a": "b"})
        assert client.volumes.get("py1").attrs["Labels"] == {"a": "b"}
        assert "py1" in [v.name for v in client.volumes.list()]
        out = client.containers.run("busybox", ["sh", "-c", "echo x > /v/f && cat /v/f"], volumes={"py1": {"bind": "/v"}},
                                    remove=True)
        assert out == b"x\n"
        vol.remove()
        assert "py1" not in [v.name for v in client.volumes.list()]
    finally:
        client.close()
    pruned = request(d.socket, "POST", "/volumes/prune?filters=" + quote(json.dumps({"all": ["true"]})))
    validate_path_response("post", "/volumes/prune", 200, pruned.json())
    assert "api1" in pruned.json()["VolumesDeleted"]


def test_own_cli_volume_commands(d: DaemonHandle) -> None:
    assert d.dockyard("volume", "create", "own1", timeout=T).stdout == b"own1\n"
    unnamed = d.dockyard("volume", "create", "--label", "k=v", timeout=T).stdout.decode().strip()
    assert len(unnamed) == 64
    table = d.dockyard("volume", "ls", timeout=T).stdout.decode().splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"] and "local     own1" in table
    assert d.dockyard("volume", "ls", "-q", "-f", "label=k=v", timeout=T).stdout.decode() == unnamed + "\n"
    assert d.dockyard("volume", "inspect", "-f", "{{.Name}} {{.Scope}}", "own1", timeout=T).stdout == b"own1 local\n"
    # a volume made by `volume create` is not anonymous, even without a name: prune leaves it
    d.dockyard("volume", "prune", "-f", timeout=T)
    assert unnamed in d.dockyard("volume", "ls", "-q", timeout=T).stdout.decode().split()
    gone = d.dockyard("volume", "rm", "own1", "nope", check=False, timeout=T)
    assert gone.returncode == 1 and gone.stdout == b"own1\n"
    assert gone.stderr == b"Error response from daemon: get nope: no such volume\n"
    pruned = d.dockyard("volume", "prune", "-a", "-f", timeout=T).stdout.decode()
    assert pruned.startswith("Deleted Volumes:\n") and unnamed in pruned


def test_system_df_counts_containers_and_volumes(d: DaemonHandle) -> None:
    d.docker("volume", "prune", "-a", "-f", timeout=T)
    for name in [n for n in d.docker("ps", "-aq", timeout=T).stdout.split()]:
        d.docker("rm", "-f", "-v", name, timeout=T)
    d.docker("run", "-d", "--name", "dfa", "-v", "dfv:/x", "busybox", "sh", "-c",
             "echo 12345 > /x/f; echo abc > /f; sleep 1000", timeout=T)
    d.docker("run", "--name", "dfb", "busybox", "sh", "-c", "echo 123456789 > /g", timeout=T)
    rows = {line.split("  ")[0]: re.split(r"\s{2,}", line.strip())
            for line in d.docker("system", "df", timeout=T).stdout.splitlines()[1:]}
    assert rows["Images"][1:3] == ["1", "1"]  # busybox, used
    assert rows["Containers"][1:] == ["2", "1", "14B", "10B (71%)"]  # what each wrote; dfb's is reclaimable
    assert rows["Local Volumes"][1:] == ["1", "1", "6B", "0B (0%)"]
    body = request(d.socket, "GET", "/system/df").json()
    validate_path_response("get", "/system/df", 200, body, go_nulls=True)
    assert {c["Names"][0]: c["SizeRw"] for c in body["Containers"]} == {"/dfa": 4, "/dfb": 10}
    assert [(v["Name"], v["UsageData"]) for v in body["Volumes"]] == [("dfv", {"Size": 6, "RefCount": 1})]
    only = request(d.socket, "GET", "/system/df?type=volume").json()
    assert only["Images"] is None and only["Containers"] is None and len(only["Volumes"]) == 1
    assert request(d.socket, "GET", "/system/df?type=bogus").status == 400
    d.docker("rm", "-f", "dfa", "dfb", timeout=T)


def test_container_prune_filters_and_reclaimed_space(d: DaemonHandle) -> None:
    d.docker("run", "--name", "pk", "-l", "keep=1", "busybox", "sh", "-c", "echo 123456789 > /g", timeout=T)
    d.docker("run", "--name", "pg", "busybox", "sh", "-c", "echo 12 > /g", timeout=T)
    running = d.docker("run", "-d", "--name", "pr", "busybox", "sleep", "1000", timeout=T).stdout.strip()
    out = d.docker("container", "prune", "-f", "--filter", "label!=keep", timeout=T).stdout
    assert out.endswith("Total reclaimed space: 3B\n") and "Deleted Containers:" in out
    assert d.docker("container", "prune", "-f", "--filter", "until=1h", timeout=T).stdout == \
        "Total reclaimed space: 0B\n"  # none was made more than an hour ago
    bad = d.docker("container", "prune", "-f", "--filter", "bogus=1", check=False, timeout=T)
    assert bad.returncode == 1 and bad.stderr == "Error response from daemon: Invalid filter 'bogus'\n"
    assert d.docker("container", "prune", "-f", timeout=T).stdout.endswith("Total reclaimed space: 10B\n")
    assert d.docker("ps", "-aq", "--no-trunc", timeout=T).stdout.split() == [running]
    d.docker("rm", "-f", "pr", timeout=T)


def test_volumes_from_another_container(d: DaemonHandle, tmp_path: Path) -> None:
    d.docker("run", "-d", "--name", "vsrc", "-v", "vfv:/vol", "-v", f"{tmp_path}:/hostdir:ro", "-v", "/anon",
             "busybox", "sh", "-c", "echo v > /vol/inv; sleep 1000", timeout=T)
    d.docker("exec", "vsrc", "sh", "-c", "while [ ! -e /vol/inv ]; do sleep 0.05; done", timeout=T)
    ro = d.docker("run", "--name", "vro", "--volumes-from", "vsrc:ro", "busybox", "sh", "-c",
                  "cat /vol/inv; test -d /anon && test -d /hostdir; touch /vol/x", check=False, timeout=T)
    assert ro.stdout == "v\n" and "Read-only file system" in ro.stderr
    mounts = {m["Destination"]: m for m in json.loads(d.docker("inspect", "-f", "{{json .Mounts}}", "vro",
                                                               timeout=T).stdout)}
    assert set(mounts) == {"/vol", "/anon", "/hostdir"} and not any(m["RW"] for m in mounts.values())
    assert mounts["/vol"]["Name"] == "vfv" and mounts["/hostdir"]["Type"] == "bind"
    d.docker("run", "--rm", "--volumes-from", "vsrc", "busybox", "touch", "/vol/y", timeout=T)  # writable as there
    assert (d.data_root / "volumes" / "vfv" / "_data" / "y").exists()
    assert d.docker("ps", "-a", "-q", "--filter", "volume=vfv", timeout=T).stdout.count("\n") == 2
    for bad, message in (("nope", "No such container: nope"), ("vsrc:xx", "invalid mode for volumes-from: xx")):
        proc = d.docker("run", "--rm", "--volumes-from", bad, "busybox", "true", check=False, timeout=T)
        assert proc.returncode == 125 and message in proc.stderr and "Unable to find image" not in proc.stderr
    busy = d.docker("volume", "rm", "vfv", check=False, timeout=T)
    assert busy.returncode == 1 and "volume is in use" in busy.stderr
    d.docker("rm", "-f", "-v", "vsrc", "vro", timeout=T)


def test_local_driver_mount_options(d: DaemonHandle, tmp_path: Path) -> None:
    """``-o type=… -o o=… -o device=…``: what the volume holds is mounted on it at first use; removing
    the volume never touches what a bind volume shows of the host."""
    (tmp_path / "important").write_text("keep\n")
    d.docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={tmp_path}", "bindvol", timeout=T)
    out = d.docker("run", "--rm", "-v", "bindvol:/x", "busybox", "sh", "-c", "cat /x/important; echo new > /x/made",
                   timeout=T).stdout
    assert out == "keep\n" and (tmp_path / "made").read_text() == "new\n"
    d.docker("run", "--rm", "-v", "bindvol:/x", "busybox", "true", timeout=T)  # mounted once, not again
    bind_mounts = [m for m in mount_points_under(d.root) if "bindvol" in m]
    assert bind_mounts == [str(d.data_root / "volumes" / "bindvol" / "_data")]
    d.docker("volume", "rm", "bindvol", timeout=T)
    assert (tmp_path / "important").read_text() == "keep\n" and not mount_points_under(d.root)
    d.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=5m", "tvol", timeout=T)
    df = d.docker("run", "--rm", "-v", "tvol:/t", "busybox", "df", "-k", "/t", timeout=T).stdout.splitlines()[-1]
    assert df.split()[0] == "tmpfs" and df.split()[1] == "5120"
    d.docker("volume", "rm", "tvol", timeout=T)
    bad = d.docker("volume", "create", "-o", "foo=bar", "ab2", check=False, timeout=T)
    assert bad.returncode == 1 and bad.stderr == 'Error response from daemon: create ab2: invalid option: "foo"\n'
    short = d.docker("volume", "create", "x", check=False, timeout=T)
    assert "create x: volume name is too short" in short.stderr
    d.docker("volume", "create", "-o", "type=ext4", "-o", "device=/dev/nope", "badvol", timeout=T)
    failed = d.docker("run", "--rm", "-v", "badvol:/b", "busybox", "true", check=False, timeout=T)
    assert failed.returncode != 0 and "failed to mount local volume" in failed.stderr
    d.docker("volume", "rm", "badvol", timeout=T)


def test_volume_events(d: DaemonHandle) -> None:
    d.docker("run", "--rm", "-v", "evv:/x", "-v", "evro:/r:ro", "busybox", "true", timeout=T)
    time.sleep(1.1)  # the CLI sends --until in whole seconds
    lines = d.docker("events", "--since", "1m", "--until", "0s", "--filter", "type=volume", "--format",
                     '{{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "read/write"}}', timeout=T).stdout
    events = lines.splitlines()
    assert "create evv " in events and "mount evv true" in events and "mount evro false" in events
    assert "unmount evv " in events
    d.docker("volume", "rm", "evv", "evro", timeout=T)


def test_copy_up_into_a_volume_another_container_holds(d: DaemonHandle) -> None:
    """The holder is frozen during the copy (no symlink can be planted meanwhile) and thawed after."""
    d.docker("volume", "create", "shv", timeout=T)
    d.docker("run", "-d", "--name", "holder", "-v", "shv:/x", "busybox", "sleep", "1000", timeout=T)
    assert "passwd" in d.docker("run", "--rm", "-v", "shv:/etc", "busybox", "ls", "/etc", timeout=T).stdout.split()
    assert d.docker("inspect", "-f", "{{.State.Status}}", "holder", timeout=T).stdout.strip() == "running"
    assert "passwd" in d.docker("exec", "holder", "ls", "/x", timeout=T).stdout.split()  # and not frozen
    d.docker("rm", "-f", "holder", timeout=T)
    d.docker("volume", "rm", "shv", timeout=T)

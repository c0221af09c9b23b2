from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from specfakes import BUSYBOX, CONTAINER_ID, HOST, FakePasswd, options

from dockyard.engine.spec import HostFacts, JoinedNamespaces, build_spec
from dockyard.engine.spec.builder import merge_env, replace_or_append_env, resolve_command
from dockyard.engine.spec.defaults import ALL_CAPS, DEFAULT_CAPS
from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.oci.config import ContainerConfig, ImageConfig


def _spec(config: dict[str, Any] | None = None, host_config: dict[str, Any] | None = None,
          image: ImageConfig = BUSYBOX, **kw: Any) -> dict[str, Any]:
    kw.setdefault("netns_path", None)
    kw.setdefault("host", HOST)
    return build_spec(options(config, host_config), image, container_id=CONTAINER_ID, rootfs="/r",
                      container_dir="/c", passwd=FakePasswd(), arch="amd64", **kw)


def _image(**cfg: Any) -> ImageConfig:
    return ImageConfig("amd64", "linux", ContainerConfig(**cfg))


@pytest.mark.parametrize(("image", "config", "args"), [
    ({"cmd": ("sh",)}, {}, ["sh"]),
    ({"cmd": ("sh",)}, {"Cmd": ["echo", "x"]}, ["echo", "x"]),
    ({"entrypoint": ("/ep",), "cmd": ("a",)}, {}, ["/ep", "a"]),
    ({"entrypoint": ("/ep",), "cmd": ("a",)}, {"Cmd": ["b"]}, ["/ep", "b"]),
    ({"entrypoint": ("/ep",), "cmd": ("a",)}, {"Entrypoint": ["/other"]}, ["/other"]),  # image cmd dropped
    ({"entrypoint": ("/ep",), "cmd": ("a",)}, {"Entrypoint": ["/other"], "Cmd": ["c"]}, ["/other", "c"]),
    ({"entrypoint": ("/ep",), "cmd": ("a",)}, {"Entrypoint": [""], "Cmd": ["echo", "hi"]}, ["echo", "hi"]),
    ({"entrypoint": ("/ep",), "cmd": ("a",)}, {"Entrypoint": []}, ["a"]),  # empty list: image cmd kept
])
def test_command(image: dict[str, Any], config: dict[str, Any], args: list[str]) -> None:
    assert resolve_command(options(config), ContainerConfig(**image)) == args


def test_no_command() -> None:
    with pytest.raises(InvalidArgument, match="no command specified"):
        resolve_command(options({"Entrypoint": [""]}), ContainerConfig(entrypoint=("/x",), cmd=("y",)))


def test_env_rules() -> None:
    assert merge_env(["A=1", "B=2"], ["B=3", "C=4"]) == ["B=3", "C=4", "A=1"]
    assert replace_or_append_env(["PATH=/x", "HOSTNAME=h"], ["HOSTNAME=", "PATH", "Z=1"]) == ["HOSTNAME=", "Z=1"]
    spec = _spec({"Env": ["HOME=/custom", "PATH"]}, image=_image(cmd=("sh",), env=("PATH=/img",)))
    # user env unsets PATH (a bare name), HOME from the user wins over /etc/passwd
    assert spec["process"]["env"] == ["HOSTNAME=4f1b2c3d4e5f", "HOME=/custom"]


def test_image_user_and_workdir_are_used() -> None:
    spec = _spec(image=_image(cmd=("sh",), user="www-data", working_dir="/srv"))
    assert spec["process"]["user"] == {"uid": 33, "gid": 33, "additionalGids": [33, 29, 50]}
    assert spec["process"]["cwd"] == "/srv"
    assert spec["process"]["capabilities"] == {"bounding": list(DEFAULT_CAPS)}


@pytest.mark.parametrize(("host_config", "caps"), [
    ({"CapAdd": ["ALL"], "CapDrop": ["SYS_ADMIN"]}, [c for c in ALL_CAPS if c != "CAP_SYS_ADMIN"]),
    ({"CapDrop": ["ALL"]}, []),
    ({"CapDrop": ["chown", "CAP_KILL"], "CapAdd": ["sys_ptrace", "CAP_CHOWN"]},
     [c for c in DEFAULT_CAPS if c not in ("CAP_CHOWN", "CAP_KILL")] + ["CAP_SYS_PTRACE", "CAP_CHOWN"]),
    ({"CapAdd": ["CHOWN"]}, list(DEFAULT_CAPS)),  # no duplicates
])
def test_capabilities(host_config: dict[str, Any], caps: list[str]) -> None:
    spec = _spec(host_config=host_config)
    assert spec["process"]["capabilities"]["bounding"] == caps


def test_seccomp_follows_final_caps() -> None:
    spec = _spec(host_config={"CapAdd": ["SYS_PTRACE"]})
    names = {n for r in spec["linux"]["seccomp"]["syscalls"] for n in r["names"]}
    assert "kcmp" in names
    spec = _spec(host_config={"SecurityOpt": ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":'
                                              '["chmod"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_FOWNER"]}}]}']})
    assert spec["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW",
                                        "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]}


def test_joined_namespaces() -> None:
    spec = _spec(host_config={"PidMode": "container:a", "IpcMode": "container:a", "NetworkMode": "container:a"},
                 netns_path="/proc/9/ns/net",
                 joined=JoinedNamespaces(pid="/proc/9/ns/pid", ipc="/proc/9/ns/ipc", ipc_shm="/c/a/shm"))
    nss = {ns["type"]: ns.get("path") for ns in spec["linux"]["namespaces"]}
    assert nss == {"mount": None, "network": "/proc/9/ns/net", "uts": None, "pid": "/proc/9/ns/pid",
                   "ipc": "/proc/9/ns/ipc", "cgroup": None}
    shm = [m for m in spec["mounts"] if m["destination"] == "/dev/shm"]
    assert shm == [{"destination": "/dev/shm", "type": "bind", "source": "/c/a/shm", "options": ["rbind", "rprivate"]}]
    assert "net.ipv4.ping_group_range" not in spec["linux"].get("sysctl", {})
    with pytest.raises(InvalidArgument, match="invalid PID mode: container:a"):
        _spec(host_config={"PidMode": "container:a"})
    with pytest.raises(InvalidArgument, match="cannot join network of container: a"):
        _spec(host_config={"NetworkMode": "container:a"})


def test_cgroup_namespace_defaults_follow_the_cgroup_version() -> None:
    v1 = replace(HOST, cgroup2=False)
    assert "cgroup" not in [ns["type"] for ns in _spec(host=v1)["linux"]["namespaces"]]
    assert "cgroup" in [ns["type"] for ns in _spec({}, {"CgroupnsMode": "private"}, host=v1)["linux"]["namespaces"]]
    assert "cgroup" not in [ns["type"] for ns in _spec({}, {"CgroupnsMode": "host"})["linux"]["namespaces"]]


def test_ipc_none_has_no_shm_and_shm_size() -> None:
    assert all(m["destination"] != "/dev/shm" for m in _spec(host_config={"IpcMode": "none"})["mounts"])
    shm = next(m for m in _spec(host_config={"ShmSize": 1 << 20})["mounts"] if m["destination"] == "/dev/shm")
    assert shm["options"][-1] == "size=1048576"


def test_shareable_and_joined_ipc_bind_a_host_shm() -> None:
    from dockyard.engine.spec.host import JoinedNamespaces

    shm = [m for m in _spec(host_config={"IpcMode": "shareable"})["mounts"] if m["destination"] == "/dev/shm"]
    assert [(m["type"], m["source"]) for m in shm] == [("bind", "/c/shm")]
    joined = JoinedNamespaces(ipc="/proc/7/ns/ipc", ipc_shm="/d/shm")
    spec = _spec(host_config={"IpcMode": "container:donor"}, joined=joined)
    assert [m["source"] for m in spec["mounts"] if m["destination"] == "/dev/shm"] == ["/d/shm"]
    assert {"type": "ipc", "path": "/proc/7/ns/ipc"} in spec["linux"]["namespaces"]


def test_user_mounts_override_defaults() -> None:
    spec = _spec(host_config={"Binds": ["/my/hosts:/etc/hosts:ro", "/hostdev:/dev"]})
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests.count("/etc/hosts") == 1 and "/dev/pts" not in dests and "/dev/shm" not in dests
    hosts = next(m for m in spec["mounts"] if m["destination"] == "/etc/hosts")
    assert hosts["source"] == "/my/hosts" and hosts["options"] == ["rbind", "ro", "rprivate"]
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /x"):
        _spec(host_config={"Binds": ["/a:/x"], "Tmpfs": {"/x": ""}})


def test_shared_bind_makes_the_rootfs_shared_and_volumes_need_a_source() -> None:
    spec = _spec(host_config={"Binds": ["/a:/x:rshared"]})
    assert spec["linux"]["rootfsPropagation"] == "shared"
    with pytest.raises(InvalidArgument, match="no volume source for mount point /v"):
        _spec(host_config={"Binds": ["vol:/v"]})


def test_init_rules() -> None:
    with pytest.raises(FailedPrecondition):
        _spec(host_config={"Init": True})
    spec = _spec(host_config={"Init": True, "PidMode": "host"}, init_path="/tini")
    assert spec["process"]["args"] == ["sh"]  # no init when the PID namespace is not our own
    assert all(m["destination"] != "/sbin/docker-init" for m in spec["mounts"])


def test_privileged_device_mapping_and_rw_sys() -> None:
    spec = _spec(host_config={"Privileged": True, "Devices": [{"PathOnHost": "/dev/fuse",
                                                              "PathInContainer": "/dev/myfuse"}]})
    assert {"path": "/dev/myfuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666, "uid": 0,
            "gid": 0} in spec["linux"]["devices"]
    sys = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert "ro" not in sys["options"] and "seccomp" not in spec["linux"]
    assert "maskedPaths" not in spec["linux"] and "readonlyPaths" not in spec["linux"]


def test_unknown_device_is_refused() -> None:
    with pytest.raises(InvalidArgument, match='error gathering device information while adding custom device '
                                              '"/dev/nope": no such file or directory'):
        _spec(host_config={"Devices": [{"PathOnHost": "/dev/nope"}]})
    with pytest.raises(InvalidArgument, match="^stat /dev/nope: no such file or directory$"):
        _spec(host_config={"BlkioDeviceReadBps": [{"Path": "/dev/nope", "Rate": 1024}]})


def test_host_specific_masks_hostname_and_domainname() -> None:
    facts = HostFacts(thermal_throttle=("/sys/devices/system/cpu/cpu0/thermal_throttle",))
    spec = _spec({"Domainname": "corp"}, host=facts)
    assert spec["linux"]["maskedPaths"][-1] == "/sys/devices/system/cpu/cpu0/thermal_throttle"
    assert spec["linux"]["sysctl"]["kernel.domainname"] == "corp"
    assert spec["hostname"] == CONTAINER_ID[:12]


def test_memory_swap_and_pids() -> None:
    res = _spec(host_config={"Memory": 2**30, "MemorySwap": -1, "PidsLimit": 0,
                             "CpuQuota": 50000, "CpuPeriod": 100000})["linux"]["resources"]
    assert res["memory"] == {"limit": 2**30, "swap": -1}
    assert res["pids"] == {"limit": -1}
    assert res["cpu"] == {"quota": 50000, "period": 100000}


def test_read_only_rootfs_keeps_user_binds_writable() -> None:
    spec = _spec(host_config={"ReadonlyRootfs": True, "Binds": ["/data:/data"]})
    data = next(m for m in spec["mounts"] if m["destination"] == "/data")
    assert data["options"] == ["rbind", "rprivate"] and spec["root"]["readonly"] is True


def test_probe_host_finds_dev_null() -> None:
    from dockyard.engine.spec.hostprobe import probe_host

    facts = probe_host(["/dev/null", "/nonexistent"])
    (null,) = facts.devices["/dev/null"]
    assert (null.type, null.major, null.minor) == ("c", 1, 3)
    assert facts.devices["/nonexistent"] == () and facts.ncpu >= 1


def test_init_without_a_binary_is_the_runtime_itself() -> None:
    spec = _spec(host_config={"Init": True}, reaper_init=True)
    assert spec["annotations"]["org.dockyard.init"] == "reaper"
    assert spec["process"]["args"][0] != "/sbin/docker-init"
    with_binary = _spec(host_config={"Init": True}, init_path="/usr/bin/tini-static", reaper_init=True)
    assert with_binary["process"]["args"][:2] == ["/sbin/docker-init", "--"]
    assert "org.dockyard.init" not in with_binary.get("annotations", {})
    with pytest.raises(FailedPrecondition, match="no init binary"):
        _spec(host_config={"Init": True})

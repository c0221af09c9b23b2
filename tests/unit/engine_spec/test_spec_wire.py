from __future__ import annotations

from typing import Any

import pytest
from specfakes import HOST

from dockyard.engine.spec import MountType, NamespaceMode, validate
from dockyard.engine.spec.model import DEFAULT_SHM_SIZE
from dockyard.engine.spec.seccomp import Profile
from dockyard.engine.spec.wire import from_docker_json, parse_bind
from dockyard.errors import InvalidArgument


def _parse(config: dict[str, Any] | None = None, host: dict[str, Any] | None = None,
           net: dict[str, Any] | None = None) -> Any:
    return from_docker_json({"Image": "busybox", **(config or {})}, host or {}, net or {})


def test_full_request_is_typed() -> None:
    opts = _parse(
        {"Cmd": "echo hi", "Entrypoint": None, "Env": ["A=1"], "Tty": True, "OpenStdin": True, "User": "nobody",
         "ExposedPorts": {"80": {}, "53/udp": {}}, "Labels": {"a": "b"}, "StopSignal": "SIGINT", "StopTimeout": 3},
        {"Binds": ["/src:/dst:ro,rshared", "named:/v", "/anon"], "CapAdd": ["net_admin"], "CapDrop": "MKNOD",
         "SecurityOpt": ["no-new-privileges:true", "seccomp=unconfined", "label=disable", "apparmor=unconfined"],
         "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}, "PidMode": "container:abc",
         "IpcMode": "shareable", "NetworkMode": "default", "PidsLimit": -1, "Init": True,
         "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
         "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}, "Dns": ["1.1.1.1"]},
        {"EndpointsConfig": {"front": {"Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.0.0.5"}}}})
    cfg, host = opts.config, opts.host
    assert cfg.cmd == ("echo hi",) and cfg.entrypoint is None and cfg.tty and cfg.open_stdin
    assert cfg.exposed_ports == ("80/tcp", "53/udp") and cfg.stop_timeout == 3
    assert [(b.type, b.source, b.target, b.read_only, b.propagation) for b in host.binds] == [
        (MountType.BIND, "/src", "/dst", True, "rshared"), (MountType.VOLUME, "named", "/v", False, ""),
        (MountType.VOLUME, "", "/anon", False, "")]
    assert host.cap_add == ("net_admin",) and host.cap_drop == ("MKNOD",)
    assert host.security.no_new_privileges and host.security.seccomp == "unconfined"
    assert host.pid_mode == NamespaceMode("container", "abc") and host.ipc_mode.kind == "shareable"
    assert host.network_mode == "bridge" and host.resources.pids_limit == -1 and host.init is True
    assert host.restart_policy.name == "on-failure" and host.restart_policy.maximum_retry_count == 3
    assert host.shm_size == DEFAULT_SHM_SIZE and host.log_config.config["max-file"] == "3"
    assert host.port_bindings["80/tcp"][0].host_port == "8080"
    assert opts.endpoints[0].network == "front" and opts.endpoints[0].ipv4_address == "10.0.0.5"


def test_seccomp_profile_json_is_parsed() -> None:
    opts = _parse(host={"SecurityOpt": ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']})
    assert isinstance(opts.host.security.seccomp, Profile)


@pytest.mark.parametrize(("host", "message"), [
    ({"CapAdd": ["CAP_FOO"]}, 'invalid CapAdd: unknown capability: "CAP_FOO"'),
    ({"CapDrop": ["bogus"]}, 'invalid CapDrop: unknown capability: "CAP_BOGUS"'),
    ({"RestartPolicy": {"Name": "sometimes"}}, "invalid restart policy: unknown policy 'sometimes'; use one of "
                                                "'no', 'always', 'on-failure', or 'unless-stopped'"),
    ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}},
     "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
    ({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}},
     "invalid restart policy: maximum retry count cannot be negative"),
    ({"AutoRemove": True, "RestartPolicy": {"Name": "always"}},
     "can't create 'AutoRemove' container with restart policy"),
    ({"Memory": -1}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 1024}, "Minimum memory limit allowed is 6MB"),
    ({"MemorySwap": 2**30}, "You should always set the Memory limit when using Memoryswap limit"),
    ({"Memory": 2**30, "MemorySwap": 2**29}, "Minimum memoryswap limit should be larger than memory limit"),
    ({"Memory": 2**27, "MemoryReservation": 2**28},
     "Minimum memory limit can not be less than memory reservation limit"),
    ({"NanoCpus": -1}, "Range of CPUs is from 0.01 to"),
    ({"NanoCpus": 10**9, "CpuPeriod": 100000}, "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    ({"CpuPeriod": 10}, "CPU cfs period can not be less than 1ms"),
    ({"CpuQuota": 10}, "CPU cfs quota can not be less than 1ms"),
    ({"CpusetCpus": "0-a"}, "Invalid value 0-a for cpuset cpus"),
    ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
    ({"OomScoreAdj": 1001}, "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
    ({"ShmSize": -1}, "SHM size can not be less than 0"),
    ({"Sysctls": {"kernel.panic": "1"}}, "sysctl 'kernel.panic=1' is not whitelisted"),
    ({"Sysctls": {"net.ipv4.ip_forward": "1"}, "NetworkMode": "host"},
     'sysctl "net.ipv4.ip_forward" not allowed in host network namespace'),
    ({"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}, "invalid ulimit type: bogus"),
    ({"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 1}]},
     "ulimit soft limit must be less than or equal to hard limit: 10 > 1"),
    ({"SecurityOpt": ["bogus"]}, 'invalid --security-opt 1: "bogus"'),
    ({"SecurityOpt": ["foo=bar"]}, 'invalid --security-opt 2: "foo=bar"'),
    ({"SecurityOpt": ["no-new-privileges=maybe"]}, 'invalid --security-opt 2: "no-new-privileges=maybe"'),
    ({"SecurityOpt": ["seccomp={bad"]}, "Decoding seccomp profile failed"),
    ({"PidMode": "weird"}, "invalid PID mode: weird"),
    ({"IpcMode": "container:"}, "invalid IPC mode: container:"),
    ({"UTSMode": "container:x"}, "invalid UTS mode: container:x"),
    # sharing another container's network stack: dockerd's checks
    ({"NetworkMode": "container:x", "Dns": ["1.1.1.1"]}, "conflicting options: dns and the network mode"),
    ({"NetworkMode": "container:x", "ExtraHosts": ["a:1.1.1.1"]},
     "conflicting options: custom host-to-IP mapping and the network mode"),
    ({"NetworkMode": "container:x", "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}},
     "conflicting options: port publishing and the container type network mode"),
    ({"NetworkMode": "container:x", "PublishAllPorts": True},
     "conflicting options: port publishing and the container type network mode"),
    ({"CgroupnsMode": "shared"}, "invalid cgroup namespace mode: shared"),
    ({"Memory": "1x"}, "json: cannot unmarshal string into Go struct field HostConfig.Memory of type int64"),
    ({"Privileged": "yes"}, "json: cannot unmarshal string into Go struct field HostConfig.Privileged of type bool"),
    ({"Binds": ["/a:/b:/c:/d"]}, "invalid volume specification: '/a:/b:/c:/d'"),
    ({"Binds": ["/a:rel"]}, "invalid mount path: 'rel' mount path must be absolute"),
    ({"Binds": ["/a:/b:bogus"]}, "invalid mode: bogus"),
    # dockerd's linuxValidMountMode: one option of each kind, the whole mode named
    ({"Binds": ["/a:/b:ro,rw"]}, "invalid mode: ro,rw"),
    ({"Binds": ["/a:/b:ro,bogus"]}, "invalid mode: ro,bogus"),
    ({"Binds": ["/a:/b:rw,z,Z"]}, "invalid mode: rw,z,Z"),
    ({"Binds": ["/a:/b:rshared,rslave"]}, "invalid mode: rshared,rslave"),
    ({"Binds": ["/a:/b:ro,consistent,cached"]}, "invalid mode: ro,consistent,cached"),
    ({"Binds": ["/a:/b:nocopy"]}, "invalid volume specification: '/a:/b:nocopy': invalid mount config for type "
                                  '"bind": field VolumeOptions must not be specified'),
    ({"Binds": ["/a:/"]}, "invalid volume specification: '/a:/': invalid mount config for type \"bind\": "
                          "invalid specification: destination can't be '/'"),
    ({"Binds": ["vol:/x/.."]}, "invalid volume specification: 'vol:/x/..': invalid mount config for type "
                               "\"volume\": invalid specification: destination can't be '/'"),
    ({"Mounts": [{"Type": "bind", "Source": "/a", "Target": "/"}]},
     'invalid mount config for type "bind": invalid specification: destination can\'t be \'/\''),
    ({"Tmpfs": {"/": ""}}, "invalid specification: destination can't be '/'"),
    ({"Tmpfs": {"rel": ""}}, "invalid mount path: 'rel' mount path must be absolute"),
    ({"Isolation": "hyperv"}, 'Invalid isolation: "hyperv" - linux only supports \'default\''),
    ({"Mounts": [{"Type": "bind", "Target": "/x"}]}, 'invalid mount config for type "bind": field Source must not be empty'),
    ({"Mounts": [{"Type": "nfs", "Target": "/x"}]}, 'invalid mount config for type "nfs": mount type unknown'),
    ({"Mounts": [{"Type": "tmpfs", "Source": "/x", "Target": "/x"}]},
     'invalid mount config for type "tmpfs": field Source must not be specified'),
    ({"Mounts": [{"Type": "volume", "Target": "/x", "BindOptions": {}}]},
     'invalid mount config for type "volume": field BindOptions must not be specified'),
    ({"Tmpfs": {"/run": "size=1m,bogus"}}, "invalid tmpfs option"),
    ({"LogConfig": {"Type": "splunkish"}}, 'error looking up logging plugin splunkish: plugin "splunkish" not found'),
    ({"LogConfig": {"Type": "json-file", "Config": {"max-sise": "1m"}}},
     "unknown log opt 'max-sise' for json-file log driver"),
    ({"DeviceCgroupRules": ["x 1:2 rwm"]}, "invalid device cgroup rule format: 'x 1:2 rwm'"),
    ({"Devices": [{"PathOnHost": "/dev/fuse", "CgroupPermissions": "rwx"}]}, "invalid device mode: rwx"),
])
def test_host_config_errors(host: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        _parse(host=host)
    assert message in str(info.value)


@pytest.mark.parametrize(("config", "message"), [
    ({"WorkingDir": "rel/dir"}, "the working directory 'rel/dir' is invalid, it needs to be an absolute path"),
    ({"StopSignal": "SIGNOPE"}, "Invalid signal: SIGNOPE"),
    ({"ExposedPorts": {"99999/tcp": {}}}, 'invalid port specification: "99999/tcp"'),
    ({"Env": ["=x"]}, "invalid environment variable: =x"),
    ({"Cmd": 5}, "json: cannot unmarshal number into Go struct field Config.Cmd of type []string"),
])
def test_config_errors(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        _parse(config)
    assert message in str(info.value)


def test_cpus_range_uses_the_host_cpu_count() -> None:
    opts = _parse(host={"NanoCpus": 9 * 10**9})
    with pytest.raises(InvalidArgument, match=r"Range of CPUs is from 0.01 to 8.00, as there are only 8 CPUs"):
        validate(opts, HOST)


def test_parse_bind_forms() -> None:
    assert parse_bind("/data").type is MountType.VOLUME
    b = parse_bind("/h:/c:Z,rw")
    assert (b.source, b.target, b.read_only, b.propagation, b.raw) == ("/h", "/c", False, "rprivate", "/h:/c:Z,rw")
    v = parse_bind("vol:/c:nocopy")
    assert v.no_copy and v.source == "vol"
    full = parse_bind("/h:/c:ro,z,rslave,consistent")
    assert (full.read_only, full.propagation) == (True, "rslave")


def test_mount_binds_want_their_source_unless_they_may_create_it() -> None:
    made = _parse(host={"Mounts": [{"Type": "bind", "Source": "/nonexistent", "Target": "/x",
                                    "BindOptions": {"CreateMountpoint": True}}]})
    assert made.host.mounts[0].create_host_path
    strict = _parse(host={"Mounts": [{"Type": "bind", "Source": "/nonexistent", "Target": "/x"}]})
    assert not strict.host.mounts[0].create_host_path
    assert _parse(host={"Binds": ["/nonexistent:/x"]}).host.binds[0].create_host_path

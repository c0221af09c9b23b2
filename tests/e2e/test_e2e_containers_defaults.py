"""The security and resource defaults of a container are Docker's, read from inside the container.

Docker's defaults (moby oci/defaults.go, profiles/seccomp/default.json): 14 capabilities
(CapEff 00000000a80425fb), seccomp in filter mode (2), no_new_privs off, a set of masked and
read-only /proc and /sys paths, /dev as a tmpfs, /sys read-only, the hostname = the ID's first 12
characters. Flags change exactly what they should.
"""

from __future__ import annotations

import ipaddress
import json
import os

import pytest

from conftest import DaemonHandle, _private_network

pytestmark = pytest.mark.e2e

T = 60
DOCKER_CAPEFF = "00000000a80425fb"
# moby oci/defaults.go (v28)
MASKED_PATHS = ("/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap")
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def status_fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def run_sh(d: DaemonHandle, *args: str, script: str, check: bool = True) -> str:
    proc = d.docker("run", "--rm", *args, "busybox", "sh", "-c", script, check=check, timeout=T)
    return proc.stdout + proc.stderr


def proc_status(d: DaemonHandle, *args: str) -> dict[str, str]:
    return status_fields(d.docker("run", "--rm", *args, "busybox", "cat", "/proc/self/status",
                                  timeout=T).stdout)


def mountinfo(text: str) -> dict[str, tuple[str, str, str]]:
    """mount point -> (fstype, per-mount options, super options), the last mount on a point wins."""
    out = {}
    for line in text.splitlines():
        pre, _, post = line.partition(" - ")
        fields = pre.split()
        fstype, _source, super_opts = post.split()[:3]
        out[fields[4]] = (fstype, fields[5], super_opts)
    return out


def host_capbnd() -> str:
    with open("/proc/self/status") as f:
        return status_fields(f.read())["CapBnd"]


def test_default_security(d: DaemonHandle) -> None:
    cid = d.docker("run", "-d", "--name", "def", "busybox", "sleep", "1000", timeout=T).stdout.strip()

    def ex(script: str, check: bool = True):
        return d.docker("exec", "def", "sh", "-c", script, check=check, timeout=T)

    # capabilities, seccomp and no_new_privs of PID 1 and of an exec'd process alike
    for text in (ex("cat /proc/1/status").stdout, ex("cat /proc/self/status").stdout):
        status = status_fields(text)
        assert status["CapEff"] == DOCKER_CAPEFF
        assert status["CapPrm"] == DOCKER_CAPEFF
        assert status["CapBnd"] == DOCKER_CAPEFF
        assert status["CapInh"] == "0000000000000000"
        assert status["Seccomp"] == "2"
        assert status["NoNewPrivs"] == "0"

    # a syscall the default profile denies: unshare(CLONE_NEWUSER) needs CAP_SYS_ADMIN there
    denied = ex("unshare -U true; echo rc=$?", check=False)
    assert "rc=1" in denied.stdout and "Operation not permitted" in denied.stderr

    # masked paths (those that exist on this kernel) read as empty; read-only paths are ro mounts
    mounts = mountinfo(ex("cat /proc/self/mountinfo").stdout)
    for path in MASKED_PATHS:
        if not os.path.exists(path):
            continue
        if os.path.isdir(path):
            assert ex(f"ls -A {path}").stdout == "", path
        else:
            assert ex(f"cat {path} | wc -c").stdout.strip() == "0", path
        assert path in mounts, path
    for path in READONLY_PATHS:
        if os.path.exists(path):
            assert path in mounts and mounts[path][1].split(",")[0] == "ro", (path, mounts.get(path))
    write = ex("echo test > /proc/sys/kernel/domainname; echo rc=$?", check=False)
    assert "rc=1" in write.stdout and "Read-only file system" in write.stderr

    # the standard mounts
    assert mounts["/"][0] == "overlay"
    assert mounts["/proc"][0] == "proc"
    assert mounts["/dev"][0] == "tmpfs" and "size=65536k" in mounts["/dev"][2]
    assert mounts["/dev/pts"][0] == "devpts"
    assert mounts["/dev/shm"][0] == "tmpfs" and "size=65536k" in mounts["/dev/shm"][2]
    assert mounts["/dev/mqueue"][0] == "mqueue"
    assert mounts["/sys"][0] == "sysfs" and mounts["/sys"][1].split(",")[0] == "ro"
    for name in ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf"):
        assert name in mounts, name
    devices = set(ex("ls /dev").stdout.split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "ptmx"} <= devices
    assert "vda" not in devices and "sda" not in devices  # no host block devices
    assert ex("echo x > /dev/null; head -c 4 /dev/zero | wc -c").stdout.strip() == "4"

    # identity: hostname, /etc/hostname, /etc/hosts with the container's address
    assert ex("hostname").stdout.strip() == cid[:12]
    assert ex("cat /etc/hostname").stdout.strip() == cid[:12]
    ip = d.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "def", timeout=T).stdout.strip()
    bip = _private_network(d.root)
    assert ipaddress.ip_address(ip) in ipaddress.ip_interface(bip[bip.index("--bip") + 1]).network
    hosts = ex("cat /etc/hosts").stdout.splitlines()
    assert f"{ip}\t{cid[:12]}" in hosts, hosts
    assert any(line.split()[:2] == ["127.0.0.1", "localhost"] for line in hosts)
    assert "nameserver" in ex("cat /etc/resolv.conf").stdout
    env = ex("env").stdout.splitlines()
    assert "HOME=/root" in env and f"HOSTNAME={cid[:12]}" in env
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in env
    assert ex("id -u; id -g").stdout.split() == ["0", "0"]

    # the container is in its own namespaces
    for ns in ("pid", "net", "mnt", "uts", "ipc"):
        assert ex(f"readlink /proc/1/ns/{ns}").stdout.strip() != os.readlink(f"/proc/self/ns/{ns}"), ns
    assert ex("echo $$ && cat /proc/1/cmdline | tr '\\0' ' '").stdout.splitlines()[1].strip() == "sleep 1000"
    d.docker("rm", "-f", "def", timeout=T)


def test_seccomp_unconfined_allows_what_the_default_denies(d: DaemonHandle) -> None:
    out = run_sh(d, "--security-opt", "seccomp=unconfined",
                 script="grep '^Seccomp:' /proc/self/status; unshare -U true && echo allowed")
    assert "Seccomp:\t0" in out and "allowed" in out


def test_privileged(d: DaemonHandle) -> None:
    out = d.docker("run", "--rm", "--privileged", "busybox", "sh", "-c",
                   "cat /proc/self/status; echo ==; cat /proc/self/mountinfo; echo ==; ls /dev; "
                   "echo ==; echo test > /proc/sys/kernel/domainname && echo written",
                   timeout=T).stdout
    status_text, mounts_text, devs, write = out.split("==\n")
    status = status_fields(status_text)
    assert status["CapEff"] == host_capbnd()
    assert status["Seccomp"] == "0"
    mounts = mountinfo(mounts_text)
    assert "/proc/keys" not in mounts and "/proc/timer_list" not in mounts  # nothing masked
    assert mounts["/sys"][1].split(",")[0] == "rw"
    assert "written" in write
    assert len(devs.split()) > 20  # the host's devices


def test_cap_drop_and_add(d: DaemonHandle) -> None:
    assert proc_status(d, "--cap-drop", "ALL")["CapEff"] == "0000000000000000"
    assert proc_status(d, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN")["CapEff"] == "0000000000001000"
    # dropping one default capability clears exactly its bit (CAP_CHOWN = bit 0)
    assert proc_status(d, "--cap-drop", "CHOWN")["CapEff"] == "00000000a80425fa"
    assert proc_status(d, "--cap-add", "SYS_ADMIN")["CapEff"] == "00000000a82425fb"
    out = run_sh(d, "--cap-drop", "ALL", script="chown 1 /tmp; echo rc=$?", check=False)
    assert "rc=1" in out and "Operation not permitted" in out


def test_read_only_and_tmpfs(d: DaemonHandle) -> None:
    out = run_sh(d, "--read-only", script="touch /x; echo rc=$?; touch /tmp/x; echo rc=$?; "
                                         "touch /dev/shm/x; echo shm=$?", check=False)
    assert out.count("Read-only file system") == 2
    assert "rc=0" not in out and "shm=0" in out
    out = run_sh(d, "--read-only", "--tmpfs", "/tmp",
                 script="touch /tmp/x && echo tmp-ok; touch /x; grep ' /tmp ' /proc/self/mountinfo",
                 check=False)
    assert "tmp-ok" in out and "Read-only file system" in out and " - tmpfs " in out
    # without --read-only the rootfs is writable
    assert "ok" in run_sh(d, script="touch /x && echo ok")


def test_no_new_privileges(d: DaemonHandle) -> None:
    assert proc_status(d)["NoNewPrivs"] == "0"
    status = proc_status(d, "--security-opt", "no-new-privileges")
    assert status["NoNewPrivs"] == "1"
    assert status["CapEff"] == DOCKER_CAPEFF and status["Seccomp"] == "2"
    assert proc_status(d, "--security-opt", "no-new-privileges:true")["NoNewPrivs"] == "1"


def test_memory_and_pids_limits(d: DaemonHandle) -> None:
    cid = d.docker("run", "-d", "--name", "lim", "-m", "64m", "--pids-limit", "50", "busybox",
                   "sleep", "1000", timeout=T).stdout.strip()
    inside = d.docker("exec", "lim", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                      "/sys/fs/cgroup/pids/pids.max", timeout=T).stdout.split()
    assert inside == [str(64 * 1024 * 1024), "50"]
    # the same values on the host, in the cgroup the container's PID 1 is in
    pid = d.docker("inspect", "-f", "{{.State.Pid}}", "lim", timeout=T).stdout.strip()
    with open(f"/proc/{pid}/cgroup") as f:
        paths = {c: line.strip().split(":", 2)[2] for line in f for c in line.split(":")[1].split(",")}
    assert cid in paths["memory"]
    with open(f"/sys/fs/cgroup/memory{paths['memory']}/memory.limit_in_bytes") as f:
        assert f.read().strip() == str(64 * 1024 * 1024)
    with open(f"/sys/fs/cgroup/pids{paths['pids']}/pids.max") as f:
        assert f.read().strip() == "50"
    host = json.loads(d.docker("inspect", "-f", "{{json .HostConfig}}", "lim", timeout=T).stdout)
    assert host["Memory"] == 64 * 1024 * 1024 and host["PidsLimit"] == 50
    d.docker("rm", "-f", "lim", timeout=T)
    # unlimited by default
    out = run_sh(d, script="cat /sys/fs/cgroup/pids/pids.max")
    assert out.strip() == "max"


def test_user(d: DaemonHandle) -> None:
    out = d.docker("run", "--rm", "-u", "nobody", "busybox", "id", timeout=T).stdout
    assert out.strip() == "uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)"
    out = d.docker("run", "--rm", "-u", "1234:5678", "busybox", "id", timeout=T).stdout
    assert out.strip().startswith("uid=1234 gid=5678")
    status = proc_status(d, "-u", "nobody")
    assert status["CapEff"] == "0000000000000000"  # a non-root user has no effective capabilities
    assert status["CapBnd"] == DOCKER_CAPEFF
    bad = d.docker("run", "--rm", "-u", "nosuchuser", "busybox", "id", check=False, timeout=T)
    assert bad.returncode != 0
    assert "nosuchuser" in bad.stderr

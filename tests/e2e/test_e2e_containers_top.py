"""``docker top``, ``stats``, ``diff``, ``export`` and ``logs --details`` against dockyardd: the docker CLI, docker-py and the API schema."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import docker
import pytest
from api_schema import validate_path_response
from leak_checks import mount_points_under
from unix_http import request

from conftest import DOCKER_CLI, DaemonHandle

pytestmark = pytest.mark.e2e

T = 60


def test_top_lists_the_container_processes(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "tp", "busybox", "sh", "-c", "sleep 1000 & sleep 999", timeout=T)
    out = d.docker("top", "tp", timeout=T).stdout.splitlines()
    assert out[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    commands = sorted(" ".join(line.split()[7:]) for line in out[1:])
    assert commands == ["sleep 1000", "sleep 999"]  # busybox sh execs its last command
    narrow = d.docker("top", "tp", "-o", "pid,comm", timeout=T).stdout.splitlines()
    assert narrow[0].split() == ["PID", "COMMAND"] and len(narrow) == 3
    bad = d.docker("top", "tp", "--bogus", check=False, timeout=T)
    assert bad.returncode == 1 and "error: unknown gnu long option" in bad.stderr

    resp = request(d.socket, "GET", "/containers/tp/top")
    assert resp.status == 200
    body = resp.json()
    validate_path_response("get", "/containers/{id}/top", 200, body)

    client = docker.DockerClient(base_url=f"unix://{d.socket}")
    try:
        assert len(client.containers.get("tp").top()["Processes"]) == 2
    finally:
        client.close()

    d.docker("stop", "-t", "0", "tp", timeout=T)
    stopped = d.docker("top", "tp", check=False, timeout=T)
    assert stopped.returncode == 1 and "is not running" in stopped.stderr


def test_logs_details(d: DaemonHandle) -> None:
    d.docker("run", "--name", "dt", "busybox", "sh", "-c", "echo a; echo b >&2", timeout=T)
    logs = d.docker("logs", "--details", "dt", timeout=T)
    assert (logs.stdout, logs.stderr) == (" a\n", " b\n")


def test_logs_details_show_the_attributes_json_file_records(d: DaemonHandle) -> None:
    """The labels and variables the log options name go into every entry (``attrs``) and
    ``--details`` shows them sorted and query-escaped, as with Docker."""
    d.docker("run", "--name", "da", "--log-opt", "labels=a,zz", "--log-opt", "env=E1,NOPE", "--log-opt",
             "env-regex=^X", "-l", "a=1", "-l", "b=2", "-e", "E1=v 1&x", "-e", "XA=9", "busybox", "sh", "-c",
             "echo hi; echo '<err>' >&2", timeout=T)
    logs = d.docker("logs", "--details", "da", timeout=T)
    assert (logs.stdout, logs.stderr) == ("E1=v+1%26x,XA=9,a=1 hi\n", "E1=v+1%26x,XA=9,a=1 <err>\n")
    stamped = d.docker("logs", "--details", "-t", "--tail", "1", "da", timeout=T)
    stamp, rest = stamped.stderr.split(" ", 1)
    assert stamp.endswith("Z") and rest == "E1=v+1%26x,XA=9,a=1 <err>\n"
    assert d.docker("logs", "da", timeout=T).stderr == "<err>\n"
    path = d.docker("inspect", "-f", "{{.LogPath}}", "da", timeout=T).stdout.strip()
    with open(path, "rb") as f:
        first, second = f.read().splitlines()
    assert first.startswith(b'{"log":"hi\\n","stream":"stdout","attrs":{"E1":"v 1\\u0026x","XA":"9","a":"1"},"time":"')
    assert second.startswith(b'{"log":"\\u003cerr\\u003e\\n","stream":"stderr","attrs":')
    own = d.dockyard("logs", "--details", "da", timeout=T)
    assert own.stdout == b"E1=v+1%26x,XA=9,a=1 hi\n"


DIFF_SCRIPT = ("touch /etc/x; rm /bin/ls; mkdir -p /new/deep; echo a > /new/deep/f; echo hi >> /etc/passwd; "
               "rm -rf /home; mkdir /tmp/t; rm -rf /usr; mkdir -p /usr/again; ln -s /x /lnk; "
               "touch -d 2001-01-01 /bin/cat")
# What Docker 20.10 printed (sorted) for DIFF_SCRIPT in busybox on this kernel
DOCKER_DIFF = """A /etc/x
A /lnk
A /new
A /new/deep
A /new/deep/f
A /tmp/t
A /usr/again
C /bin
C /bin/busybox
C /etc
C /etc/passwd
C /tmp
C /usr
D /bin/ls
D /home
D /usr/bin
D /usr/sbin
"""


def test_diff_lists_what_the_container_changed(d: DaemonHandle) -> None:
    d.docker("run", "--name", "dd", "busybox", "sh", "-c", DIFF_SCRIPT, timeout=T)
    out = d.docker("diff", "dd", timeout=T).stdout
    assert "".join(sorted(out.splitlines(keepends=True))) == DOCKER_DIFF
    assert d.dockyard("container", "diff", "dd", timeout=T).stdout.decode() == out
    resp = request(d.socket, "GET", "/containers/dd/changes")
    validate_path_response("get", "/containers/{id}/changes", 200, resp.json())
    d.docker("run", "-d", "--name", "dq", "busybox", "sleep", "1000", timeout=T)
    assert d.docker("diff", "dq", timeout=T).stdout == ""  # mount points made by the engine are not changes
    assert request(d.socket, "GET", "/containers/dq/changes").json() is None  # dockerd's null
    missing = d.docker("diff", "nope", check=False, timeout=T)
    assert missing.returncode == 1 and missing.stderr == "Error response from daemon: No such container: nope\n"
    d.docker("rm", "-f", "dd", "dq", timeout=T)


def test_export_is_the_container_s_filesystem(d: DaemonHandle, tmp_path: Path) -> None:
    d.docker("run", "--name", "de", "-v", "/vol", "busybox", "sh", "-c",
             "touch /etc/x; rm /bin/ls; echo data > /vol/in-volume; rm -rf /usr; mkdir -p /usr/again", timeout=T)
    out = tmp_path / "de.tar"
    d.docker("export", "-o", str(out), "de", timeout=T)
    with tarfile.open(out) as tf:
        members = {m.name: m for m in tf.getmembers()}
    # dockerd's init layer, the changes, and nothing mounted over the filesystem (the volume)
    for name in (".dockerenv", "etc/x", "etc/hostname", "dev/console", "usr/again", "bin/busybox"):
        assert name in members, name
    assert "bin/ls" not in members and "usr/bin" not in members and "vol/in-volume" not in members
    assert members["etc/mtab"].issym() and members["etc/mtab"].linkname == "/proc/mounts"
    assert (members["bin/busybox"].uname, members["bin/busybox"].gname) == ("root", "root")
    streamed = d.dockyard("export", "de", timeout=T).stdout
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tf:
        assert set(tf.getnames()) == set(members)
    piped = subprocess.run([DOCKER_CLI, "export", "de"], env=d.env(), capture_output=True, timeout=T)
    with tarfile.open(fileobj=io.BytesIO(piped.stdout)) as tf:  # the docker CLI's own stream
        assert set(tf.getnames()) == set(members)
    d.docker("run", "-d", "--name", "dr", "busybox", "sleep", "1000", timeout=T)
    with tarfile.open(fileobj=io.BytesIO(d.dockyard("export", "dr", timeout=T).stdout)) as tf:
        assert "etc/hostname" in tf.getnames()  # a running container's too, its own mount left alone
    assert d.docker("exec", "dr", "cat", "/etc/hostname", timeout=T).stdout.strip() != ""
    assert not [m for m in mount_points_under(d.root) if "export-" in m]
    d.docker("rm", "-f", "-v", "de", "dr", timeout=T)


def test_stats_of_a_busy_and_a_stopped_container(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "busy", "--pids-limit", "50", "-m", "64m", "busybox", "sh", "-c",
             "while :; do :; done", timeout=T)
    d.docker("create", "--name", "idle", "busybox", "true", timeout=T)
    out = d.docker("stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}", "busy",
                   "idle", timeout=T).stdout.splitlines()
    name, cpu, used, _, limit, pids = out[0].split()
    assert name == "busy" and float(cpu.rstrip("%")) > 30 and limit == "64MiB" and pids == "1"
    assert out[1] == "idle 0.00% 0B / 0B 0"
    one = request(d.socket, "GET", "/containers/busy/stats?stream=false&one-shot=true").json()
    validate_path_response("get", "/containers/{id}/stats", 200, one)
    assert one["pids_stats"] == {"current": 1, "limit": 50} and one["memory_stats"]["limit"] == 64 * 1024 * 1024
    assert one["name"] == "/busy" and "eth0" in one["networks"] and one["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    own = d.dockyard("stats", "--no-stream", "busy", timeout=T).stdout.decode().splitlines()
    assert own[0].split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"] and " busy " in own[1]
    client = docker.DockerClient(base_url=f"unix://{d.socket}")
    try:
        stream = client.containers.get("busy").stats(decode=True)
        first, second = next(stream), next(stream)
        assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
        assert second["cpu_stats"]["cpu_usage"]["total_usage"] > first["cpu_stats"]["cpu_usage"]["total_usage"]
    finally:
        client.close()
    d.docker("rm", "-f", "busy", "idle", timeout=T)

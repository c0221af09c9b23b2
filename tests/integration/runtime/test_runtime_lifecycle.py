"""dockyard-runtime end to end: real containers from a busybox rootfs (root only)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_helpers import ALL_CAPS_DEFAULT, Runtime, base_config

pytestmark = pytest.mark.root


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(tmp_path)
    yield runtime
    runtime.cleanup()


def test_run_echo(rt: Runtime) -> None:
    proc = rt.run(base_config(["echo", "hi"]))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi\n", "")
    assert not rt.leftovers()


def test_exit_code_is_propagated(rt: Runtime) -> None:
    assert rt.run(base_config(["sh", "-c", "exit 3"])).returncode == 3


def test_pid_one_and_hostname(rt: Runtime) -> None:
    proc = rt.run(base_config(["sh", "-c", "echo $$; hostname"]))
    assert proc.stdout.split() == ["1", "box"]


def test_create_start_state_kill_delete(rt: Runtime) -> None:
    cid = rt.new_id()
    bundle = rt.bundle(base_config(["sleep", "60"]))
    pid_file = rt.tmp / "pid"
    proc = rt.cmd("create", "--bundle", str(bundle), "--pid-file", str(pid_file), cid)
    assert proc.returncode == 0, proc.stderr
    state = rt.state(cid)
    assert state["status"] == "created" and state["pid"] == int(pid_file.read_text())
    assert state["bundle"] == str(bundle) and state["id"] == cid and state["ociVersion"]
    again = rt.cmd("create", "--bundle", str(bundle), cid)
    assert again.returncode == 1 and f"container with id exists: {cid}" in again.stderr
    assert rt.cmd("start", cid).returncode == 0
    assert rt.state(cid)["status"] == "running"
    refused = rt.cmd("delete", cid)
    assert refused.returncode == 1 and "not stopped" in refused.stderr
    assert rt.cmd("kill", cid, "KILL").returncode == 0
    rt.reap()
    rt.wait_status(cid, "stopped")
    assert rt.cmd("delete", cid).returncode == 0
    gone = rt.cmd("state", cid)
    assert gone.returncode == 1 and f'container "{cid}" does not exist' in gone.stderr
    assert not os.path.exists(f"/sys/fs/cgroup/memory/dockyard/{cid}")


def test_delete_created_container(rt: Runtime) -> None:
    cid = rt.new_id()
    assert rt.cmd("create", "--bundle", str(rt.bundle(base_config(["true"]))), cid).returncode == 0
    assert rt.cmd("delete", cid).returncode == 0
    assert not (rt.root / cid).exists()


def test_readonly_rootfs(rt: Runtime) -> None:
    config = base_config(["sh", "-c", "touch /x 2>&1; touch /tmp/y && echo tmp-ok"])
    config["root"]["readonly"] = True
    out = rt.run(config).stdout
    assert "Read-only file system" in out and "tmp-ok" in out


def test_masked_and_readonly_paths(rt: Runtime) -> None:
    script = ("for p in /proc/keys /proc/timer_list; do [ -e $p ] && wc -c < $p; done; ls /proc/acpi 2>/dev/null | wc -l;"
              " echo 1 > /proc/sys/kernel/domainname 2>&1 || echo ro-ok")
    out = rt.run(base_config(["sh", "-c", script])).stdout.split()
    assert out[:2] == ["0", "0"] and "ro-ok" in out


def test_capabilities_match_config(rt: Runtime) -> None:
    from dockyard.runtime.capabilities import mask

    out = rt.run(base_config(["grep", "-E", "^Cap(Eff|Bnd|Prm)", "/proc/self/status"])).stdout
    want = f"{mask(ALL_CAPS_DEFAULT):016x}"
    values = dict(line.split(":\t") for line in out.splitlines())
    assert values == {"CapPrm": want, "CapEff": want, "CapBnd": want}


def test_rlimits(rt: Runtime) -> None:
    config = base_config(["sh", "-c", "ulimit -n; ulimit -Hn"])
    config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 777}]
    assert rt.run(config).stdout.split() == ["512", "777"]


def test_user_and_groups(rt: Runtime) -> None:
    config = base_config(["id"])
    config["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7]}
    assert rt.run(config).stdout.strip() == "uid=1000 gid=1001 groups=5,7"


def test_executable_not_found(rt: Runtime) -> None:
    proc = rt.run(base_config(["nosuchcmd"]))
    assert proc.returncode == 127
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in proc.stderr
    assert not rt.leftovers()


def test_not_executable(rt: Runtime) -> None:
    proc = rt.run(base_config(["/etc/passwd"]))
    assert proc.returncode == 126 and "permission denied" in proc.stderr


def test_invalid_config_names_the_path(rt: Runtime) -> None:
    config = base_config(["true"])
    config["linux"]["namespaces"][1]["type"] = "bogus"
    proc = rt.run(config)
    assert proc.returncode == 1 and "$.linux.namespaces[1].type" in proc.stderr
    assert not rt.leftovers()


def test_missing_namespace_path_fails_cleanly(rt: Runtime) -> None:
    config = base_config(["true"])
    config["linux"]["namespaces"][1] = {"type": "network", "path": "/proc/nonexistent/ns/net"}
    proc = rt.run(config)
    assert proc.returncode == 1 and "/proc/nonexistent/ns/net" in proc.stderr
    assert not rt.leftovers()


def test_failed_mount_leaves_nothing(rt: Runtime) -> None:
    config = base_config(["true"])
    config["mounts"].append({"destination": "/data", "type": "bind", "source": "/nonexistent/dir",
                             "options": ["rbind"]})
    cid = rt.new_id()
    proc = rt.cmd("create", "--bundle", str(rt.bundle(config)), cid)
    assert proc.returncode == 1 and "mounting /data" in proc.stderr
    assert not (rt.root / cid).exists()
    assert not os.path.exists(f"/sys/fs/cgroup/memory/dockyard/{cid}")


def test_bind_mount_readonly(rt: Runtime) -> None:
    data = rt.tmp / "data"
    data.mkdir()
    (data / "f").write_text("content\n")
    config = base_config(["sh", "-c", "cat /data/f; touch /data/g 2>&1"])
    config["mounts"].append({"destination": "/data", "type": "bind", "source": str(data), "options": ["rbind", "ro"]})
    out = rt.run(config).stdout
    assert "content" in out and "Read-only file system" in out


def test_seccomp_errno(rt: Runtime) -> None:
    config = base_config(["sh", "-c", "mkdir /tmp/x 2>&1; echo done"],
                         seccomp={"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                                  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                                "errnoRet": 1}]})
    out = rt.run(config).stdout
    assert "Operation not permitted" in out and "done" in out


def test_seccomp_argument_condition(rt: Runtime) -> None:
    # personality(0xffffffff) (a query) stays allowed; any other personality value is refused.
    config = base_config(["sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/a && echo made"],
                         seccomp={"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                                                "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_NE"}]}]})
    out = rt.run(config).stdout
    assert "Seccomp:\t2" in out and "made" in out


@pytest.fixture
def rt_open() -> Iterator[Runtime]:
    """A runtime whose bundle is reachable by unprivileged host uids (pytest's tmp dirs are 0700)."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="dockyard-rt-"))
    base.chmod(0o755)
    runtime = Runtime(base)
    yield runtime
    runtime.cleanup()
    shutil.rmtree(base)


def test_user_namespace_maps(rt_open: Runtime) -> None:
    rt = rt_open
    config = base_config(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"],
                         uidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
                         gidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}])
    config["linux"]["namespaces"].append({"type": "user"})
    proc = rt.run(config)
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert lines == [["0", "100000", "65536"], ["0", "100000", "65536"], ["0"]]


def test_impossible_uid_map(rt: Runtime) -> None:
    config = base_config(["true"], uidMappings=[{"containerID": 0, "hostID": 100000, "size": 10},
                                                {"containerID": 5, "hostID": 200000, "size": 10}],
                         gidMappings=[{"containerID": 0, "hostID": 100000, "size": 10}])
    config["linux"]["namespaces"].append({"type": "user"})
    proc = rt.run(config)
    assert proc.returncode == 1 and "uid_map" in proc.stderr
    assert not rt.leftovers()


def test_exec_into_running_container(rt: Runtime) -> None:
    cid = rt.new_id()
    assert rt.cmd("run", "--detach", "--bundle", str(rt.bundle(base_config(["sleep", "60"]))), cid).returncode == 0
    proc = rt.cmd("exec", cid, "sh", "-c", "hostname; cat /proc/1/cmdline; echo; echo $$")
    assert proc.returncode == 0, proc.stderr
    host, cmdline, pid = proc.stdout.split("\n")[:3]
    assert host == "box" and cmdline.startswith("sleep") and int(pid) > 1
    assert rt.cmd("exec", cid, "sh", "-c", "exit 4").returncode == 4
    missing = rt.cmd("exec", cid, "nope")
    assert missing.returncode == 127 and "executable file not found" in missing.stderr
    ps = rt.cmd("ps", "--format", "json", cid)
    assert json.loads(ps.stdout) == [rt.state(cid)["pid"]]
    assert rt.cmd("kill", cid, "9").returncode == 0


def test_pause_resume(rt: Runtime) -> None:
    cid = rt.new_id()
    assert rt.cmd("run", "-d", "--bundle", str(rt.bundle(base_config(["sleep", "60"]))), cid).returncode == 0
    assert rt.cmd("pause", cid).returncode == 0
    assert rt.state(cid)["status"] == "paused"
    assert rt.cmd("resume", cid).returncode == 0
    assert rt.state(cid)["status"] == "running"


def test_memory_limit_oom_kills(rt: Runtime) -> None:
    config = base_config(["tail", "/dev/zero"], resources={"memory": {"limit": 32 * 1024 * 1024}})
    cid = rt.new_id()
    assert rt.cmd("run", "-d", "--bundle", str(rt.bundle(config)), cid).returncode == 0
    rt.wait_status(cid, "stopped", timeout=20)
    oom = Path(f"/sys/fs/cgroup/memory/dockyard/{cid}/memory.oom_control").read_text()
    assert "oom_kill 1" in oom
    stats = json.loads(rt.cmd("events", "--stats", cid).stdout)
    assert stats["data"]["memory"]["usage"]["limit"] == 32 * 1024 * 1024


def test_pids_limit_stops_fork_loop(rt: Runtime) -> None:
    config = base_config(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done 2>&1; kill $(jobs -p)"],
                         resources={"pids": {"limit": 6}})
    out = rt.run(config).stdout
    assert "can't fork" in out or "Resource temporarily unavailable" in out


def test_console_socket(rt: Runtime) -> None:
    from dockyard.runtime.tty import recv_console

    path = str(rt.tmp / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    config = base_config(["sh", "-c", "tty; echo from-pty"])
    config["process"]["terminal"] = True
    cid = rt.new_id()
    create = subprocess.Popen([*rt_cmd(rt), "create", "--bundle", str(rt.bundle(config)), "--console-socket", path, cid],
                              stderr=subprocess.PIPE, text=True)
    conn, _ = server.accept()
    master = recv_console(conn)
    conn.close()
    server.close()
    assert create.wait(timeout=30) == 0, create.stderr.read() if create.stderr else ""
    assert rt.cmd("start", cid).returncode == 0
    out = b""
    while b"from-pty" not in out:
        try:
            chunk = os.read(master, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert b"/dev/pts/0" in out and b"from-pty" in out


def rt_cmd(rt: Runtime) -> list[str]:
    from runtime_helpers import RUNTIME

    return [RUNTIME, "--root", str(rt.root)]


def test_cwd_through_proc_fd_cannot_escape(rt: Runtime) -> None:
    for n in (3, 4, 5, 6, 7, 8):
        config = base_config(["sh", "-c", "pwd; ls .."])
        config["process"]["cwd"] = f"/proc/self/fd/{n}"
        proc = rt.run(config)
        assert proc.returncode != 0 or "/proc/self/fd" not in proc.stdout, proc.stdout


def test_features_and_spec(rt: Runtime) -> None:
    features = json.loads(rt.cmd("features").stdout)
    assert "SCMP_ACT_ERRNO" in features["linux"]["seccomp"]["actions"]
    bundle = rt.tmp / "specbundle"
    bundle.mkdir()
    assert rt.cmd("spec", "--bundle", str(bundle)).returncode == 0
    assert json.loads((bundle / "config.json").read_text())["process"]["args"] == ["sh"]


def test_reaper_init_annotation(rt: Runtime) -> None:
    """--init without an init binary: the runtime stays PID 1, reaps, forwards signals, keeps the code."""
    config = base_config(["sh", "-c", "sleep 0 & ps -o pid,comm; kill -TERM $$; sleep 5"])
    config["annotations"] = {"org.dockyard.init": "reaper"}
    proc = rt.run(config)
    lines = proc.stdout.split()
    assert lines[:4] == ["PID", "COMMAND", "1", "docker-init"], proc.stdout
    assert proc.returncode == 128 + 15  # the command's death by SIGTERM, passed on as tini does
    plain = base_config(["sh", "-c", "exit 4"])
    plain["annotations"] = {"org.dockyard.init": "reaper"}
    assert rt.run(plain).returncode == 4
    assert not rt.leftovers()

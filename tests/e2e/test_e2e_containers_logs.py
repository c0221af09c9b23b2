"""``docker logs`` through the docker CLI v28: json-file and Docker's ``local`` driver, tail, since,
follow, rotation and compression, and a log of 100k lines."""

from __future__ import annotations

import glob
import gzip
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import DOCKER_CLI, DaemonHandle
from dockyard.shim import locallog, logfile

pytestmark = pytest.mark.e2e

T = 60


def log_dir(d: DaemonHandle, name: str) -> str:
    cid = d.docker("inspect", "-f", "{{.Id}}", name, timeout=T).stdout.strip()
    return str(d.data_root / "containers" / cid)


def local_records(path: str) -> list[locallog.Record]:
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    spans, end = locallog.split_records(data)
    assert end == len(data)
    return [locallog.decode_message(data, a, b) for a, b in spans]


def test_local_driver_logs_tail_since_and_format_on_disk(d: DaemonHandle) -> None:
    script = "echo one; echo two >&2; sleep 1.2; echo three; printf 'no newline'"
    d.docker("run", "--log-driver", "local", "--name", "loc", "busybox", "sh", "-c", script, timeout=T)
    assert d.docker("inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "loc", timeout=T).stdout.strip() == "local"
    logs = d.docker("logs", "loc", timeout=T)
    assert (logs.stdout, logs.stderr) == ("one\nthree\nno newline", "two\n")
    assert d.docker("logs", "--tail", "2", "loc", timeout=T).stdout == "three\nno newline"
    stamped = d.docker("logs", "-t", "loc", timeout=T).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["one", "three", "no newline"]
    # --since between the first lines and the last ones (the CLI takes RFC3339 times)
    since = logfile.format_time(logfile.parse_time(stamped[0].split(" ", 1)[0]) + 600_000_000)
    assert d.docker("logs", "--since", since, "loc", timeout=T).stdout == "three\nno newline"
    assert d.docker("logs", "--until", since, "loc", timeout=T).stdout == "one\n"

    # Docker's place for it, and no LogPath in inspect
    path = os.path.join(log_dir(d, "loc"), "local-logs", "container.log")
    assert d.docker("inspect", "-f", "{{.LogPath}}", "loc", timeout=T).stdout.strip() == ""
    got = local_records(path)
    assert [(r.source, r.line) for r in got] == [("stdout", b"one"), ("stderr", b"two"), ("stdout", b"three"),
                                                ("stdout", b"no newline")]
    assert got[-1].partial and not got[-1].last
    assert not got[0].partial and got[0].time_nano > 0


def test_local_driver_rotation_and_follow_with_tail(d: DaemonHandle) -> None:
    d.docker("run", "--log-driver", "local", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
             "--name", "rot", "busybox", "seq", "2000", timeout=T)
    lines = d.docker("logs", "rot", timeout=T).stdout.splitlines()
    assert lines[-1] == "2000" and lines == [str(i) for i in range(int(lines[0]), 2001)]
    logs_dir = os.path.join(log_dir(d, "rot"), "local-logs")
    files = sorted(os.listdir(logs_dir))
    rotated = [f for f in files if ".log." in f]
    assert len(rotated) == 2 and all(f.endswith(".gz") for f in rotated), files  # compress defaults to on
    for name in rotated:
        records = local_records(os.path.join(logs_dir, name))
        assert records and all(r.source == "stdout" for r in records)
    assert d.docker("logs", "--tail", "3", "rot", timeout=T).stdout == "1998\n1999\n2000\n"

    script = "seq 1 20; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after"
    d.docker("run", "-d", "--log-driver", "local", "--name", "fol", "busybox", "sh", "-c", script, timeout=T)
    deadline = time.monotonic() + 15
    while d.docker("logs", "--tail", "1", "fol", timeout=T).stdout != "20\n":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    follower = subprocess.Popen([DOCKER_CLI, "logs", "-f", "--tail", "5", "fol"], env=d.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.extend(iter(follower.stdout.readline, b"")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 15
        while len(got) < 5:
            assert time.monotonic() < deadline, got
            time.sleep(0.05)
        assert follower.poll() is None
        d.docker("exec", "fol", "touch", "/tmp/go", timeout=T)
        assert follower.wait(timeout=T) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    reader.join(5)
    follower.stdout.close()
    follower.stderr.close()
    assert got == [b"16\n", b"17\n", b"18\n", b"19\n", b"20\n", b"after\n"]


def test_json_file_log_of_100k_lines(d: DaemonHandle) -> None:
    d.docker("run", "--name", "big", "busybox", "sh", "-c", "seq 100000; echo oops >&2; echo 'a \"b\"\tc'",
             timeout=T)
    logs = d.docker("logs", "big", timeout=T)
    assert logs.stdout == "".join(f"{i}\n" for i in range(1, 100001)) + 'a "b"\tc\n'
    assert logs.stderr == "oops\n"
    tail = d.docker("logs", "--tail", "3", "big", timeout=T)
    assert (tail.stdout, tail.stderr) == ('100000\na "b"\tc\n', "oops\n")
    stamped = d.docker("logs", "-t", "--tail", "3", "big", timeout=T).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["100000", 'a "b"\tc']
    [path] = glob.glob(os.path.join(log_dir(d, "big"), "*-json.log"))
    with open(path, "rb") as f:
        first = json.loads(f.readline())
    assert first["log"] == "1\n" and first["stream"] == "stdout"


def test_local_driver_options(d: DaemonHandle) -> None:
    d.docker("run", "--log-driver", "local", "--log-opt", "max-size=1k", "--log-opt", "max-file=2",
             "--log-opt", "compress=false", "--name", "plain", "busybox", "seq", "1000", timeout=T)
    files = sorted(os.listdir(os.path.join(log_dir(d, "plain"), "local-logs")))
    assert files == ["container.log", "container.log.1"], files
    assert d.docker("logs", "--tail", "1", "plain", timeout=T).stdout == "1000\n"
    bad = d.docker("run", "--log-driver", "local", "--log-opt", "max-file=1", "busybox", "true", check=False,
                   timeout=T)
    assert bad.returncode == 125
    assert "compression cannot be enabled when max file count is 1" in bad.stderr
    bad = d.docker("run", "--log-driver", "local", "--log-opt", "compress=maybe", "busybox", "true", check=False,
                   timeout=T)
    assert bad.returncode == 125 and 'strconv.ParseBool: parsing "maybe": invalid syntax' in bad.stderr


def test_json_file_compressed_rotation(d: DaemonHandle) -> None:
    d.docker("run", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "--log-opt", "compress=true",
             "--name", "jz", "busybox", "seq", "2000", timeout=T)
    files = sorted(os.listdir(log_dir(d, "jz")))
    rotated = [f for f in files if "-json.log." in f]
    assert len(rotated) == 2 and all(f.endswith(".gz") for f in rotated), files
    lines = d.docker("logs", "jz", timeout=T).stdout.splitlines()
    assert lines[-1] == "2000" and lines == [str(i) for i in range(int(lines[0]), 2001)]
    bad = d.docker("run", "--log-opt", "compress=true", "busybox", "true", check=False, timeout=T)
    assert bad.returncode == 125
    assert ("failed to initialize logging driver: compress cannot be true when max-file is less than 2 or "
            "max-size is not set") in bad.stderr


def test_logs_of_the_none_driver_cannot_be_read(d: DaemonHandle) -> None:
    assert d.docker("run", "--name", "quiet", "--log-driver", "none", "busybox", "echo", "hi", timeout=T).stdout == "hi\n"
    for args in (("logs", "quiet"), ("logs", "-f", "quiet")):
        proc = d.docker(*args, check=False, timeout=T)
        assert proc.returncode == 1
        assert "Error response from daemon: configured logging driver does not support reading" in proc.stderr
    d.docker("rm", "quiet", timeout=T)


def test_bad_log_option_values_fail_the_start(d: DaemonHandle) -> None:
    # dockerd checks the option names at create and reads the values when the driver opens the log.
    bad = d.docker("run", "--log-opt", "max-size=abc", "--name", "badlog", "busybox", "true", check=False, timeout=T)
    assert bad.returncode == 125
    assert "Error response from daemon: failed to initialize logging driver: invalid size: 'abc'" in bad.stderr
    state = d.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", "badlog", timeout=T)
    assert state.stdout.strip() == "created 128 failed to initialize logging driver: invalid size: 'abc'"
    unknown = d.docker("create", "--log-opt", "max-sise=1m", "busybox", check=False, timeout=T)
    assert unknown.returncode == 1 and "unknown log opt 'max-sise' for json-file log driver" in unknown.stderr
    d.docker("rm", "badlog", timeout=T)


def test_since_and_until_take_a_line_s_exact_time(d: DaemonHandle) -> None:
    d.docker("run", "--name", "stamps", "busybox", "sh", "-c", "echo a; sleep 0.1; echo b; sleep 0.1; echo c", timeout=T)
    try:
        stamp = d.docker("logs", "-t", "stamps", timeout=T).stdout.splitlines()[1].split(" ", 1)[0]
        # to the nanosecond, both ends inclusive, as dockerd's
        assert d.docker("logs", "--until", stamp, "stamps", timeout=T).stdout == "a\nb\n"
        assert d.docker("logs", "--since", stamp, "stamps", timeout=T).stdout == "b\nc\n"
    finally:
        d.docker("rm", "stamps", timeout=T)

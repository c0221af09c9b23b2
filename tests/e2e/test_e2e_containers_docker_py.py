"""docker-py 7 container flows against dockyardd: run, create/start, get/list, exec_run, logs, wait, stop, remove."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from busybox_image import busybox_archive

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

FULL_ID = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def client(daemon: DaemonHandle) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, timeout=60)
    c.images.load(busybox_archive().read_bytes())
    try:
        yield c
    finally:
        if daemon.process.poll() is None:
            for container in c.containers.list(all=True):
                container.remove(force=True)
        c.close()


def test_run_foreground(client: docker.DockerClient) -> None:
    assert client.containers.run("busybox", "echo hi") == b"hi\n"
    assert client.containers.run("busybox", ["sh", "-c", "echo a; echo b"], remove=True) == b"a\nb\n"
    out = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], stdout=False, stderr=True,
                                remove=True)
    assert out == b"err\n"
    with pytest.raises(docker.errors.ContainerError) as failed:
        client.containers.run("busybox", ["sh", "-c", "echo oops >&2; exit 3"], remove=True)
    assert failed.value.exit_status == 3
    assert b"oops" in failed.value.stderr
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("nosuchimage:1", "true")
    # `echo hi` without remove=True is still there, exited 0; the rest removed themselves
    [left] = client.containers.list(all=True)
    assert left.status == "exited" and left.attrs["State"]["ExitCode"] == 0
    left.remove()
    assert client.containers.list(all=True) == []


def test_run_detached_get_list_exec_logs_wait_stop_remove(client: docker.DockerClient) -> None:
    web = client.containers.run("busybox", ["sh", "-c", "echo started; exec sleep 1000"], detach=True,
                                name="web", labels={"tier": "front"}, environment={"GREETING": "hello"})
    other = client.containers.run("busybox", "sleep 1000", detach=True, labels={"tier": "back"})
    assert FULL_ID.match(web.id) and web.name == "web"

    got = client.containers.get("web")
    assert got.id == web.id and got.short_id == web.id[:12]
    assert got.status == "running"
    assert got.attrs["Config"]["Labels"] == {"tier": "front"}
    assert got.labels == {"tier": "front"}
    assert got.image.tags == ["busybox:latest"]
    assert client.containers.get(web.id[:10]).id == web.id
    assert other.name and re.fullmatch(r"[a-z]+_[a-z]+\d*", other.name), other.name  # generated name

    assert {c.id for c in client.containers.list()} == {web.id, other.id}
    assert [c.id for c in client.containers.list(filters={"label": "tier=front"})] == [web.id]
    assert [c.id for c in client.containers.list(filters={"label": ["tier=back"]})] == [other.id]
    assert [c.id for c in client.containers.list(filters={"name": "web"})] == [web.id]
    assert client.containers.list(filters={"label": "tier=nothing"}) == []

    deadline = time.monotonic() + 10
    while web.logs() != b"started\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert web.logs() == b"started\n"
    assert web.logs(stdout=True, stderr=False, tail=1) == b"started\n"
    assert b"started" in b"".join(web.logs(stream=True, follow=False))

    web.stop(timeout=1)
    web.reload()
    assert web.status == "exited"
    waited = web.wait()
    assert waited["StatusCode"] == 137 and not waited.get("Error")
    assert [c.id for c in client.containers.list()] == [other.id]
    assert web.id in {c.id for c in client.containers.list(all=True, filters={"status": "exited"})}

    web.start()
    web.reload()
    assert web.status == "running"
    web.restart(timeout=1)
    web.pause()
    web.reload()
    assert web.status == "paused"
    web.unpause()
    web.kill()
    assert web.wait(timeout=30)["StatusCode"] == 137
    web.rename("web2")
    web.reload()
    assert web.name == "web2"

    with pytest.raises(docker.errors.APIError) as running:
        other.remove()
    assert running.value.status_code == 409
    other.remove(force=True)
    web.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("web2")
    assert client.containers.list(all=True) == []


def test_create_then_start(client: docker.DockerClient) -> None:
    c = client.containers.create("busybox", ["sh", "-c", "echo from-create; exit 2"], name="made",
                                 working_dir="/tmp", hostname="myhost")
    assert c.status == "created"
    assert client.containers.get("made").attrs["State"]["Status"] == "created"
    assert c.attrs["Config"]["WorkingDir"] == "/tmp"
    assert c.attrs["Config"]["Hostname"] == "myhost"
    c.start()
    assert c.wait(timeout=30)["StatusCode"] == 2
    assert c.logs() == b"from-create\n"
    c.reload()
    assert c.status == "exited" and c.attrs["State"]["ExitCode"] == 2
    c.remove()

    with pytest.raises(docker.errors.APIError) as conflict:
        client.containers.create("busybox", name="dup")
        client.containers.create("busybox", name="dup")
    assert conflict.value.status_code == 409
    client.containers.get("dup").remove()


def test_attach_stdin_through_the_api(client: docker.DockerClient) -> None:
    api = client.api
    created = api.create_container("busybox", ["cat"], stdin_open=True)
    sock = api.attach_socket(created["Id"], params={"stdin": 1, "stdout": 1, "stream": 1})
    api.start(created["Id"])
    raw = sock._sock
    raw.sendall(b"through attach\n")
    raw.shutdown(1)  # half-close: stdin EOF, cat exits
    data = b""
    deadline = time.monotonic() + 15
    raw.settimeout(15)
    while time.monotonic() < deadline:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert api.wait(created["Id"], timeout=30)["StatusCode"] == 0
    assert data == b"\x01\x00\x00\x00\x00\x00\x00\x0fthrough attach\n"
    api.remove_container(created["Id"])


def test_exec_run(client: docker.DockerClient) -> None:
    web = client.containers.run("busybox", "sleep 1000", detach=True, name="web",
                                environment={"GREETING": "hello"})
    outputs = []
    for _ in range(10):
        outputs.append(web.exec_run(["sh", "-c", "echo $GREETING"]).output)
        outputs.append(web.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True).output)
    result = web.exec_run(["sh", "-c", "id -u; pwd; exit 4"], user="nobody", workdir="/tmp")
    streamed = b"".join(web.exec_run(["sh", "-c", "echo 1; echo 2"], stream=True).output)
    web.remove(force=True)
    assert outputs == [b"hello\n", (b"o\n", b"e\n")] * 10
    assert result.output == b"65534\n/tmp\n" and result.exit_code == 4
    assert streamed == b"1\n2\n"


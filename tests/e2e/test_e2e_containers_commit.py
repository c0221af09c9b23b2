"""``docker commit`` against dockyardd: the container's changes become a layer on its image, its
config (with ``--change``) the image's, through the docker CLI, our CLI and docker-py."""

from __future__ import annotations

import json
import time

import docker
import pytest

from conftest import DaemonHandle

pytestmark = pytest.mark.e2e

T = 60


def test_commit_makes_an_image_of_the_changes(d: DaemonHandle) -> None:
    d.docker("run", "--name", "cm", "-e", "FOO=bar", "-w", "/tmp", "busybox", "sh", "-c",
             "echo x > /tmp/made; rm /bin/ls", timeout=T)
    image_id = d.docker("commit", "-m", "my msg", "-a", "me <me@x>", "-c", 'CMD ["cat", "/tmp/made"]', "-c",
                        "ENV A=1", "cm", "snap:1", timeout=T).stdout.strip()
    info = json.loads(d.docker("image", "inspect", "snap:1", timeout=T).stdout)[0]
    busybox = json.loads(d.docker("image", "inspect", "busybox", timeout=T).stdout)[0]
    assert info["Id"] == image_id and info["Parent"] == busybox["Id"]
    assert (info["Comment"], info["Author"]) == ("my msg", "me <me@x>")
    assert info["Config"]["Cmd"] == ["cat", "/tmp/made"] and info["Config"]["WorkingDir"] == "/tmp"
    assert info["Config"]["Env"][0] == "FOO=bar" and info["Config"]["Env"][-1] == "A=1"
    assert info["RootFS"]["Layers"][:-1] == busybox["RootFS"]["Layers"]
    assert info["Size"] == busybox["Size"] + 2  # dockerd's size: the 2 bytes of /tmp/made
    history = d.docker("history", "--format", "{{.ID}} {{.CreatedBy}} {{.Size}} {{.Comment}}", "snap:1",
                       timeout=T).stdout.splitlines()
    assert history[0] == f"{image_id[7:19]} sh -c echo x > /tmp/made; rm /bin/ls 2B my msg"
    assert history[1].startswith(busybox["Id"][7:19])  # the parent image names its own top entry
    assert d.docker("run", "--rm", "snap:1", timeout=T).stdout == "x\n"
    missing = d.docker("run", "--rm", "snap:1", "ls", "/bin/ls", check=False, timeout=T)
    assert missing.returncode != 0  # the deletion travelled as a whiteout
    clean = d.docker("run", "--rm", "snap:1", "sh", "-c", "cat /etc/hostname >/dev/null; ls -a /", timeout=T).stdout
    assert ".dockerenv" in clean  # the new container's own, made at its create
    time.sleep(1.1)  # the CLI sends --until in whole seconds: the commit's second must be over
    events = d.docker("events", "--since", "2m", "--until", "0s", "--filter", "event=commit", "--format",
                      "{{.Type}} {{.Action}} {{.Actor.Attributes.comment}}", timeout=T).stdout
    assert "container commit my msg" in events
    bad = d.docker("commit", "nope", "x", check=False, timeout=T)
    assert bad.returncode == 1 and bad.stderr == "Error response from daemon: No such container: nope\n"
    own = d.dockyard("commit", "-m", "own", "cm", "mine", timeout=T).stdout.decode().strip()
    assert own.startswith("sha256:") and d.docker("image", "inspect", "-f", "{{.Comment}}", "mine:latest",
                                                  timeout=T).stdout.strip() == "own"
    client = docker.DockerClient(base_url=f"unix://{d.socket}")
    try:
        img = client.containers.get("cm").commit(repository="frompy", tag="t", message="py")
        assert "frompy:t" in img.tags
    finally:
        client.close()
    d.docker("rm", "cm", timeout=T)
    d.docker("rmi", "snap:1", "mine", "frompy:t", timeout=T)


def test_commit_of_a_running_container_pauses_it_meanwhile(d: DaemonHandle) -> None:
    d.docker("run", "-d", "--name", "live", "busybox", "sh", "-c", "echo hi > /f; sleep 1000", timeout=T)
    d.docker("exec", "live", "sh", "-c", "while [ ! -s /f ]; do sleep 0.05; done", timeout=T)
    d.docker("commit", "live", "livesnap", timeout=T)
    assert d.docker("inspect", "-f", "{{.State.Status}}", "live", timeout=T).stdout.strip() == "running"
    assert d.docker("exec", "live", "true", timeout=T).returncode == 0  # thawed again
    assert d.docker("run", "--rm", "livesnap", "cat", "/f", timeout=T).stdout == "hi\n"
    d.docker("rm", "-f", "live", timeout=T)
    d.docker("rmi", "livesnap", timeout=T)

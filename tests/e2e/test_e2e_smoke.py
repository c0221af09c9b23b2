from __future__ import annotations

import json

import pytest
from busybox_image import busybox_archive

pytestmark = pytest.mark.e2e


def test_docker_cli_loads_lists_and_removes(daemon, tmp_path):
    archive = busybox_archive(fmt="docker-archive", tags=("busybox:latest",))
    out = daemon.docker("load", "-i", str(archive)).stdout
    assert "Loaded image: busybox:latest" in out
    listed = daemon.docker("images", "--format", "{{json .}}").stdout.strip().splitlines()
    assert [json.loads(line)["Repository"] for line in listed] == ["busybox"]
    removed = daemon.docker("rmi", "busybox").stdout
    assert "Untagged: busybox:latest" in removed and "Deleted: sha256:" in removed
    assert daemon.docker("images", "-q").stdout.strip() == ""

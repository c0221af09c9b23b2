"""Paths inspect shows for a container, by log driver."""

from __future__ import annotations

from dockyard.api.container_wire import _beside


def test_files_beside_the_json_log() -> None:
    assert _beside("/d/containers/abc/abc-json.log", "hosts") == "/d/containers/abc/hosts"


def test_files_beside_the_local_log_directory() -> None:
    assert _beside("/d/containers/abc/local-logs/container.log", "hosts") == "/d/containers/abc/hosts"


def test_no_log_no_path() -> None:
    assert _beside("", "hosts") == ""

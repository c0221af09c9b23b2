"""The labels Docker Compose puts on what it creates; other tools (and Compose) read them."""

from __future__ import annotations

PREFIX = "com.docker.compose."
PROJECT = PREFIX + "project"
SERVICE = PREFIX + "service"
CONTAINER_NUMBER = PREFIX + "container-number"
ONEOFF = PREFIX + "oneoff"
CONFIG_HASH = PREFIX + "config-hash"
WORKING_DIR = PREFIX + "project.working_dir"
CONFIG_FILES = PREFIX + "project.config_files"
ENVIRONMENT_FILE = PREFIX + "project.environment_file"
DEPENDS_ON = PREFIX + "depends_on"
IMAGE = PREFIX + "image"
VERSION = PREFIX + "version"
NETWORK = PREFIX + "network"
VOLUME = PREFIX + "volume"
REPLACE = PREFIX + "replace"


def project_filter(project: str) -> str:
    return f"{PROJECT}={project}"


__all__ = [
    "CONFIG_FILES", "CONFIG_HASH", "CONTAINER_NUMBER", "DEPENDS_ON", "ENVIRONMENT_FILE", "IMAGE", "NETWORK",
    "ONEOFF", "PREFIX", "PROJECT", "REPLACE", "SERVICE", "VERSION", "VOLUME", "WORKING_DIR", "project_filter",
]

"""Helpers for running Debian's docker-registry in tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class RunningRegistry:
    name: str  # "127.0.0.1:<port>"
    root: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def htpasswd_line(user: str, password: str) -> str:
    """A bcrypt htpasswd entry, from the bcrypt package or Apache's htpasswd; skip without both."""
    try:
        import bcrypt  # type: ignore[import-not-found]
    except ImportError:
        tool = shutil.which("htpasswd")
        if tool is None:
            pytest.skip("neither the bcrypt package nor htpasswd is installed")
        out = subprocess.run([tool, "-Bbn", user, password], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    return f"{user}:{hashed}"

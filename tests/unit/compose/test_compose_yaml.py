"""YAML read as Compose reads it (1.2 core schema) and written back."""

from __future__ import annotations

import pytest

from dockyard.compose.errors import InvalidProject
from dockyard.compose.yamlio import dump_yaml, load_yaml


def test_yaml_1_2_scalars() -> None:
    doc = load_yaml("a: yes\nb: 22:22\nc: 017\nd: true\ne: 1.5\nf: 0x1F\ng: 2001-12-14\nh: ~\ni: on\nj: 0o17\n", "f")
    assert doc == {"a": "yes", "b": "22:22", "c": 17, "d": True, "e": 1.5, "f": 31, "g": "2001-12-14", "h": None,
                   "i": "on", "j": 15}


def test_anchors_and_merge_keys() -> None:
    doc = load_yaml("x-base: &base {image: busybox, tty: true}\nservices:\n  a:\n    <<: *base\n    tty: false\n",
                    "f")
    assert doc["services"]["a"] == {"image": "busybox", "tty": False}


@pytest.mark.parametrize("text, message", [
    ("a: 1\na: 2\n", 'f.yml: yaml: line 2: mapping key "a" already defined at line 1'),
    ("a: b: c\n", "f.yml: yaml: line 1: mapping values are not allowed in this context"),
    ("a: !reset 1\n", "f.yml: yaml: line 1: unsupported tag !reset"),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidProject) as info:
        load_yaml(text, "f.yml")
    assert str(info.value) == message


def test_dump_quotes_what_would_change_type() -> None:
    data = {"a": "22:22", "b": "yes", "c": "8080", "d": "127.0.0.1", "e": ["x", {"k": None}], "f": 1, "g": "80:80"}
    text = dump_yaml(data)
    assert text == 'a: "22:22"\nb: "yes"\nc: "8080"\nd: 127.0.0.1\ne:\n  - x\n  - k: null\nf: 1\ng: 80:80\n'
    assert load_yaml(text, "again") == data

"""The dotenv format of .env and env_file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.compose.envfile import parse_env, read_env_file
from dockyard.compose.errors import InvalidProject
from dockyard.compose.interpolation import mapping_lookup


def parse(text: str, env: dict[str, str] | None = None) -> dict[str, str]:
    return parse_env(text, ".env", mapping_lookup(env or {}))


def test_basic_forms() -> None:
    text = """
# a comment
PLAIN=value
SPACED = spaced value
export EXPORTED=yes
EMPTY=
INLINE=value # a comment
HASH=a#b
SINGLE='literal $PLAIN \\n'
DOUBLE="line1\\nline2 ${PLAIN}"
MULTI="first
second"
"""
    assert parse(text) == {
        "PLAIN": "value", "SPACED": "spaced value", "EXPORTED": "yes", "EMPTY": "", "INLINE": "value",
        "HASH": "a#b", "SINGLE": "literal $PLAIN \\n", "DOUBLE": "line1\nline2 value", "MULTI": "first\nsecond",
    }


def test_interpolation_prefers_the_environment_then_earlier_keys() -> None:
    text = "A=from-file\nB=${A}-b\nC=${HOME_X:-none}\nD=$$literal\n"
    assert parse(text) == {"A": "from-file", "B": "from-file-b", "C": "none", "D": "$literal"}
    assert parse(text, {"A": "from-env"})["B"] == "from-env-b"


def test_bare_names_inherit_from_the_environment() -> None:
    assert parse("FROM_ENV\nMISSING\n", {"FROM_ENV": "x"}) == {"FROM_ENV": "x"}


def test_errors() -> None:
    with pytest.raises(InvalidProject, match=r"\.env: line 2: unexpected character"):
        parse("A=1\nB C=2\n")
    with pytest.raises(InvalidProject, match="unterminated quoted value"):
        parse('A="never closed\n')


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.env"
    with pytest.raises(InvalidProject) as info:
        read_env_file(missing, mapping_lookup({}))
    assert str(info.value) == f"env file {missing} not found: stat {missing}: no such file or directory"

"""Variable substitution: Compose's syntax, its escapes and its errors."""

from __future__ import annotations

import pytest

from dockyard.compose.errors import InvalidProject
from dockyard.compose.interpolation import (
    InvalidTemplate,
    MissingRequired,
    interpolate,
    mapping_lookup,
    substitute,
)

ENV = {"SET": "value", "EMPTY": "", "PORT": "8080", "NESTED": "inner"}
LOOKUP = mapping_lookup(ENV)


@pytest.mark.parametrize("template, expected", [
    ("plain", "plain"),
    ("$SET", "value"),
    ("${SET}", "value"),
    ("pre-${SET}-post", "pre-value-post"),
    ("$SET$SET", "valuevalue"),
    ("${UNSET:-dflt}", "dflt"),
    ("${EMPTY:-dflt}", "dflt"),
    ("${EMPTY-dflt}", ""),
    ("${UNSET-dflt}", "dflt"),
    ("${SET:-dflt}", "value"),
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${SET:?must}", "value"),
    ("${UNSET:-${NESTED}}", "inner"),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("cost: 5$$", "cost: 5$"),
    ("127.0.0.1:${PORT}:80", "127.0.0.1:8080:80"),
    ("${UNSET:-a b c}", "a b c"),
    ("${UNSET:-}", ""),
])
def test_substitutions(template: str, expected: str) -> None:
    assert substitute(template, LOOKUP) == expected


@pytest.mark.parametrize("template", ["$", "a $ b", "${", "${SET", "${}", "${1abc}", "${SET:x}", "$1"])
def test_invalid_templates(template: str) -> None:
    with pytest.raises(InvalidTemplate):
        substitute(template, LOOKUP)


def test_required_variables() -> None:
    with pytest.raises(MissingRequired, match="^required variable UNSET is missing a value: say it$"):
        substitute("${UNSET:?say it}", LOOKUP)
    with pytest.raises(MissingRequired, match="^required variable EMPTY is missing a value: no$"):
        substitute("${EMPTY:?no}", LOOKUP)
    assert substitute("${EMPTY?no}", LOOKUP) == ""
    with pytest.raises(MissingRequired, match="^required variable UNSET is missing a value$"):
        substitute("${UNSET?}", LOOKUP)


def test_unset_variables_warn_once_per_use() -> None:
    warnings: list[str] = []
    assert substitute("a${NOPE}b$NOPE", LOOKUP, warnings.append) == "ab"
    assert warnings == ['The "NOPE" variable is not set. Defaulting to a blank string.'] * 2
    warnings.clear()
    substitute("${NOPE:-x}", LOOKUP, warnings.append)
    assert warnings == []


def test_interpolate_walks_values_not_keys() -> None:
    tree = {"services": {"$SET": {"image": "busybox:${TAG:-1.36}", "ports": ["${PORT}:80", 9000],
                                  "tty": True}}}
    assert interpolate(tree, LOOKUP) == {"services": {"$SET": {"image": "busybox:1.36", "ports": ["8080:80", 9000],
                                                               "tty": True}}}


def test_interpolate_errors_name_the_place() -> None:
    with pytest.raises(InvalidProject) as info:
        interpolate({"services": {"web": {"command": "echo $ 5"}}}, LOOKUP)
    assert str(info.value) == ('invalid interpolation format for services.web.command: "echo $ 5"; '
                               "you may need to escape any $ with another $")
    with pytest.raises(InvalidProject, match="required variable TOKEN is missing a value: set TOKEN"):
        interpolate({"services": {"web": {"environment": ["T=${TOKEN:?set TOKEN}"]}}}, LOOKUP)

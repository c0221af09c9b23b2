from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci.platform import Platform


@pytest.mark.parametrize(("text", "expected"), [
    ("linux/amd64", "linux/amd64"),
    ("linux/x86_64", "linux/amd64"),
    ("Linux/AMD64", "linux/amd64"),
    ("linux/i386", "linux/386"),
    ("linux/aarch64", "linux/arm64"),
    ("linux/arm64", "linux/arm64"),
    ("linux/arm64/v8", "linux/arm64/v8"),
    ("linux/aarch64/8", "linux/arm64/v8"),
    ("linux/arm64/9", "linux/arm64/v9"),
    ("linux/armhf", "linux/arm"),
    ("linux/armel", "linux/arm/v6"),
    ("linux/arm", "linux/arm"),
    ("linux/arm/v7", "linux/arm/v7"),
    ("linux/arm/7", "linux/arm/v7"),
    ("linux/arm/6", "linux/arm/v6"),
    ("linux/amd64/v1", "linux/amd64"),
    ("linux/amd64/v3", "linux/amd64/v3"),
    ("macos/arm64", "darwin/arm64"),
])
def test_parse(text: str, expected: str) -> None:
    assert str(Platform.parse(text)) == expected


def test_parse_single_component_uses_host_for_the_rest() -> None:
    host = Platform.host()
    assert Platform.parse("linux") == Platform("linux", host.architecture, host.variant)
    assert Platform.parse("s390x") == Platform(host.os, "s390x")
    assert Platform.parse("armhf") == Platform(host.os, "arm")


def test_parse_os_version() -> None:
    p = Platform.parse("windows(10.0.17763)/amd64")
    assert (p.os, p.os_version, p.architecture) == ("windows", "10.0.17763", "amd64")


@pytest.mark.parametrize("text", ["foo", "foo/bar/baz/qux", "linux/*", "li nux/amd64", "linux/am d64", "", "linux/", "linux\n/amd64", "linux/arm64/v9.0"])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid argument$"):
        Platform.parse(text)


def test_parse_unknown_message() -> None:
    with pytest.raises(InvalidArgument) as exc:
        Platform.parse("foo/bar/baz/qux")
    assert str(exc.value) == '"foo/bar/baz/qux": unknown operating system or architecture: invalid argument'


def test_host_is_linux_and_normalised() -> None:
    host = Platform.host()
    assert host.os == "linux"
    assert host.architecture not in ("x86_64", "aarch64")


@pytest.mark.parametrize(("want", "have", "ok"), [
    ("linux/amd64", "linux/amd64", True),
    ("linux/amd64", "linux/arm64", False),
    ("linux/amd64", "windows/amd64", False),
    ("linux/arm64", "linux/arm64/v8", True),
    ("linux/arm64/v8", "linux/arm64", True),
    ("linux/arm64/v8", "linux/aarch64", True),
    ("linux/arm/v7", "linux/arm/v6", True),
    ("linux/arm/v6", "linux/arm/v7", False),
    ("linux/arm/v7", "linux/arm", True),
    ("linux/amd64/v3", "linux/amd64/v2", True),
    ("linux/amd64/v2", "linux/amd64/v3", False),
    ("linux/amd64", "linux/amd64/v3", True),
])
def test_matches(want: str, have: str, ok: bool) -> None:
    assert Platform.parse(want).matches(Platform.parse(have)) is ok


def test_match_score_prefers_closest_variant() -> None:
    want = Platform.parse("linux/arm/v7")
    assert want.match_score(Platform.parse("linux/arm/v7")) > want.match_score(Platform.parse("linux/arm/v6"))
    assert want.match_score(Platform.parse("linux/arm/v6")) > want.match_score(Platform.parse("linux/arm/v5"))


def test_json_round_trip() -> None:
    p = Platform("windows", "amd64", None, "10.0.17763.1", ("win32k",))
    obj = p.to_json_obj()
    assert obj == {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1",
                   "os.features": ["win32k"]}
    assert Platform.from_json_obj(obj) == p
    assert Platform.parse("linux/arm/v7").to_json_obj() == {"os": "linux", "architecture": "arm", "variant": "v7"}


@pytest.mark.parametrize("obj", [None, [], {"os": "linux"}, {"os": 1, "architecture": "x"},
                                 {"os": "linux", "architecture": "arm", "variant": 7},
                                 {"os": "linux", "architecture": "arm", "os.features": "x"}])
def test_from_json_invalid(obj: object) -> None:
    with pytest.raises(InvalidArgument):
        Platform.from_json_obj(obj)


def test_frozen_and_hashable() -> None:
    assert len({Platform.parse("linux/amd64"), Platform("linux", "amd64")}) == 1

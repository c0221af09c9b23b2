from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidArgument
from dockyard.oci.image import format_rfc3339, format_rfc3339_ns, parse_rfc3339, parse_rfc3339_ns


@pytest.mark.parametrize(("text", "ns"), [
    ("1970-01-01T00:00:00Z", 0),
    ("2024-01-02T03:04:05Z", 1704164645 * 10**9),
    ("2024-01-02T03:04:05.123456789Z", 1704164645123456789),
    ("2024-01-02T03:04:05.5z", 1704164645500000000),
    ("2024-01-02T05:04:05+02:00", 1704164645 * 10**9),
    ("2024-01-01T22:04:05.1-05:00", 1704164645100000000),
    ("2024-01-02T03:04:05.1234567891234Z", 1704164645123456789),
    ("0001-01-01T00:00:00Z", -62135596800 * 10**9),
])
def test_parse(text: str, ns: int) -> None:
    assert parse_rfc3339_ns(text) == ns
    assert parse_rfc3339(text) == pytest.approx(ns / 1e9)


@pytest.mark.parametrize("text", ["", "2024-01-02", "2024-01-02T03:04:05", "2024-13-02T03:04:05Z",
                                  "2024-02-30T03:04:05Z", "2024-01-02 03:04:05Z", "2024-01-02T03:04:05.Z",
                                  "2024-01-02T03:04:05Z\n"])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_rfc3339(text)


def test_format_go_style() -> None:
    assert format_rfc3339(0) == "1970-01-01T00:00:00Z"
    assert format_rfc3339(1704164645) == "2024-01-02T03:04:05Z"
    assert format_rfc3339(1704164645.5) == "2024-01-02T03:04:05.5Z"
    assert format_rfc3339(1704164645.123456) == "2024-01-02T03:04:05.123456Z"
    assert format_rfc3339_ns(1704164645123456789) == "2024-01-02T03:04:05.123456789Z"
    assert format_rfc3339_ns(1704164645120000000) == "2024-01-02T03:04:05.12Z"
    assert format_rfc3339(-0.5) == "1969-12-31T23:59:59.5Z"


@given(st.integers(min_value=-62135596800 * 10**9, max_value=253402300799 * 10**9))
def test_ns_round_trip(ns: int) -> None:
    assert parse_rfc3339_ns(format_rfc3339_ns(ns)) == ns

"""go-units sizes/durations and Go tabwriter alignment, checked against Docker's outputs."""

from __future__ import annotations

import pytest

from dockyard.cli.tabwriter import tabwrite
from dockyard.units import bytes_size, human_duration, human_size, human_size_with_precision


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, "0B"),
        (830, "830B"),
        (12345, "12.3kB"),
        (4261234, "4.26MB"),
        (1240000000, "1.24GB"),
        (1000, "1kB"),
        (999999, "1e+03kB"),
        (7_200_000_000_000, "7.2TB"),
    ],
)
def test_human_size_precision_3(size: int, expected: str) -> None:
    assert human_size_with_precision(size, 3) == expected


def test_human_size_and_bytes_size() -> None:
    assert human_size(1234567) == "1.235MB"
    assert bytes_size(1536 * 1024) == "1.5MiB"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.3, "Less than a second"),
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5399, "About an hour"),
        (5400, "2 hours"),
        (47 * 3600, "47 hours"),
        (48 * 3600, "2 days"),
        (14 * 86400, "2 weeks"),
        (21 * 86400, "3 weeks"),
        (60 * 86400, "2 months"),
        (3 * 365 * 86400, "3 years"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_tabwriter_matches_docker_images_layout() -> None:
    text = (
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n"
        "busybox\tlatest\t1c35c4412082\t2 weeks ago\t4.26MB\n"
        "<none>\t<none>\tabcdefabcdef\tLess than a second ago\t830B\n"
    )
    assert tabwrite(text) == (
        "REPOSITORY   TAG       IMAGE ID       CREATED                  SIZE\n"
        "busybox      latest    1c35c4412082   2 weeks ago              4.26MB\n"
        "<none>       <none>    abcdefabcdef   Less than a second ago   830B\n"
    )


def test_tabwriter_column_blocks_end_at_shorter_lines() -> None:
    text = "a\tb\nlonger-cell\tc\nplain line\nx\ty\n"
    assert tabwrite(text) == "a             b\nlonger-cell   c\nplain line\nx         y\n"


@pytest.mark.parametrize(("text", "value"), [("1", True), ("t", True), ("TRUE", True), ("True", True),
                                             ("0", False), ("f", False), ("false", False), ("False", False)])
def test_go_bool(text: str, value: bool) -> None:
    from dockyard.units import parse_go_bool

    assert parse_go_bool(text) is value


def test_go_bool_errors_in_go_words() -> None:
    from dockyard.units import parse_go_bool

    with pytest.raises(ValueError, match='strconv.ParseBool: parsing "yes": invalid syntax'):
        parse_go_bool("yes")

from __future__ import annotations

import random

import pytest

from dockyard.engine.containers.names import generate_name, validate_name
from dockyard.engine.containers.state import ContainerState, status_text
from dockyard.errors import InvalidArgument
from dockyard.units import human_duration


def test_validate_name_follows_docker() -> None:
    assert validate_name("/web") == "web"
    assert validate_name("a.b-c_d") == "a.b-c_d"
    for bad in ("x", "-web", "we b", "web/1", ""):
        with pytest.raises(InvalidArgument, match=r"Invalid container name"):
            validate_name(bad)


def test_generate_name_avoids_taken_ones() -> None:
    rng = random.Random(7)
    first = generate_name(lambda n: False, rng)
    adjective, _, surname = first.partition("_")
    assert adjective and surname and first != "boring_wozniak"
    taken = {first}
    rng = random.Random(7)
    second = generate_name(lambda n: n in taken, rng)
    assert second != first


@pytest.mark.parametrize(("seconds", "words"), [
    (0.4, "Less than a second"), (1, "1 second"), (7, "7 seconds"), (59, "59 seconds"),
    (60, "About a minute"), (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"),
    (3600, "About an hour"), (2 * 3600, "2 hours"), (47 * 3600, "47 hours"), (3 * 86400, "3 days"),
    (15 * 86400, "2 weeks"), (70 * 86400, "2 months"), (800 * 86400, "2 years"),
])
def test_human_duration_matches_go_units(seconds: float, words: str) -> None:
    assert human_duration(seconds) == words


def test_status_text() -> None:
    now = 1000.0
    assert status_text(ContainerState(), now=now) == "Created"
    assert status_text(ContainerState(status="running", started_at=993), now=now) == "Up 7 seconds"
    assert status_text(ContainerState(status="paused", started_at=880), now=now) == "Up 2 minutes (Paused)"
    assert status_text(ContainerState(status="running", started_at=999.8, health="healthy"),
                       now=now) == "Up Less than a second (healthy)"
    assert status_text(ContainerState(status="exited", exit_code=1, finished_at=820), now=now) == \
        "Exited (1) 3 minutes ago"
    assert status_text(ContainerState(status="exited", exit_code=127), now=now) == "Exited (127)"

"""The jsonmessage renderer against output recorded from the docker CLI v28 (same messages in)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli.progress import ProgressDisplay, ProgressError, display, go_duration, progress_bar

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64

PULL: list[dict[str, Any]] = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa111"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb222"},
    {"status": "Waiting", "progressDetail": {}, "id": "bbb222"},
    {"status": "Downloading", "progressDetail": {"current": 1000, "total": 2200000}, "progress": "x", "id": "aaa111"},
    {"status": "Downloading", "progressDetail": {"current": 1100000, "total": 2200000}, "progress": "x", "id": "aaa111"},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "aaa111"},
    {"status": "Download complete", "progressDetail": {}, "id": "aaa111"},
    {"status": "Extracting", "progressDetail": {"current": 32768, "total": 2200000}, "progress": "x", "id": "aaa111"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaa111"},
    {"status": "Downloading", "progressDetail": {"current": 500}, "progress": "x", "id": "bbb222"},
    {"status": "Download complete", "progressDetail": {}, "id": "bbb222"},
    {"status": "Pull complete", "progressDetail": {}, "id": "bbb222"},
    {"status": "Digest: " + DIGEST_A},
    {"status": "Status: Downloaded newer image for busybox:latest"},
]

PUSH: list[dict[str, Any]] = [
    {"status": "The push refers to repository [docker.io/library/x]"},
    {"status": "Preparing", "progressDetail": {}, "id": "ccc333"},
    {"status": "Preparing", "progressDetail": {}, "id": "ddd444"},
    {"status": "Pushing", "progressDetail": {"current": 512, "total": 1024}, "progress": "x", "id": "ccc333"},
    {"status": "Pushed", "progressDetail": {}, "id": "ccc333"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "ddd444"},
    {"status": f"latest: digest: {DIGEST_B} size: 527"},
    {"progressDetail": {}, "aux": {"Tag": "latest", "Digest": DIGEST_B, "Size": 527}},
]

# `docker pull busybox` on a 120-column terminal (the pty's \r\n turned back into \n).
PULL_TTY_120 = (
    "latest: Pulling from library/busybox\n"
    "\n\x1b[1A\x1b[2K\raaa111: Pulling fs layer \r\x1b[1B"
    "\n\x1b[1A\x1b[2K\rbbb222: Pulling fs layer \r\x1b[1B"
    "\x1b[1A\x1b[2K\rbbb222: Waiting \r\x1b[1B"
    "\x1b[2A\x1b[2K\raaa111: Downloading [>" + " " * 50 + "]      1kB/2.2MB\r\x1b[2B"
    "\x1b[2A\x1b[2K\raaa111: Downloading [" + "=" * 25 + ">" + " " * 25 + "]    1.1MB/2.2MB\r\x1b[2B"
    "\x1b[2A\x1b[2K\raaa111: Verifying Checksum \r\x1b[2B"
    "\x1b[2A\x1b[2K\raaa111: Download complete \r\x1b[2B"
    "\x1b[2A\x1b[2K\raaa111: Extracting [>" + " " * 50 + "]  32.77kB/2.2MB\r\x1b[2B"
    "\x1b[2A\x1b[2K\raaa111: Pull complete \r\x1b[2B"
    "\x1b[1A\x1b[2K\rbbb222: Downloading     500B\r\x1b[1B"
    "\x1b[1A\x1b[2K\rbbb222: Download complete \r\x1b[1B"
    "\x1b[1A\x1b[2K\rbbb222: Pull complete \r\x1b[1B"
    f"Digest: {DIGEST_A}\n"
    "Status: Downloaded newer image for busybox:latest\n"
)

# `docker pull busybox | cat`.
PULL_PIPED = (
    "latest: Pulling from library/busybox\n"
    "aaa111: Pulling fs layer\n"
    "bbb222: Pulling fs layer\n"
    "bbb222: Waiting\n"
    "aaa111: Verifying Checksum\n"
    "aaa111: Download complete\n"
    "aaa111: Pull complete\n"
    "bbb222: Download complete\n"
    "bbb222: Pull complete\n"
    f"Digest: {DIGEST_A}\n"
    "Status: Downloaded newer image for busybox:latest\n"
)

# `docker push x` on an 80-column terminal: no bar below 111 columns.
PUSH_TTY_80 = (
    "The push refers to repository [docker.io/library/x]\n"
    "\n\x1b[1A\x1b[2K\rccc333: Preparing \r\x1b[1B"
    "\n\x1b[1A\x1b[2K\rddd444: Preparing \r\x1b[1B"
    "\x1b[2A\x1b[2K\rccc333: Pushing     512B/1.024kB\r\x1b[2B"
    "\x1b[2A\x1b[2K\rccc333: Pushed \r\x1b[2B"
    "\x1b[1A\x1b[2K\rddd444: Layer already exists \r\x1b[1B"
    f"latest: digest: {DIGEST_B} size: 527\n"
)

PUSH_PIPED = (
    "The push refers to repository [docker.io/library/x]\n"
    "ccc333: Preparing\n"
    "ddd444: Preparing\n"
    "ccc333: Pushed\n"
    "ddd444: Layer already exists\n"
    f"latest: digest: {DIGEST_B} size: 527\n"
)


def render(messages: list[dict[str, Any]], *, is_tty: bool, width: int = 200) -> str:
    out: list[str] = []
    display(messages, out.append, is_tty=is_tty, width=width)
    return "".join(out)


def test_pull_on_a_terminal_matches_docker() -> None:
    assert render(PULL, is_tty=True, width=120) == PULL_TTY_120


def test_pull_piped_matches_docker() -> None:
    assert render(PULL, is_tty=False) == PULL_PIPED


def test_push_on_a_narrow_terminal_matches_docker() -> None:
    assert render(PUSH, is_tty=True, width=80) == PUSH_TTY_80


def test_push_piped_matches_docker_and_hands_aux_over() -> None:
    aux: list[Any] = []
    out: list[str] = []
    display(PUSH, out.append, is_tty=False, on_aux=aux.append)
    assert "".join(out) == PUSH_PIPED
    assert aux == [{"Tag": "latest", "Digest": DIGEST_B, "Size": 527}]


def test_error_stops_the_display_with_its_message() -> None:
    messages = [*PULL[:4], {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"},
                {"status": "never shown"}]
    out: list[str] = []
    with pytest.raises(ProgressError) as caught:
        display(messages, out.append, is_tty=False)
    assert str(caught.value) == "unexpected EOF"
    assert "".join(out).endswith("bbb222: Waiting\n")
    assert "never shown" not in "".join(out)
    # The deprecated "error" field alone is an error too.
    with pytest.raises(ProgressError, match="^boom$"):
        display([{"error": "boom"}], out.append, is_tty=True)


def test_a_plain_line_forgets_the_layer_lines() -> None:
    # pull -a: the second tag's layers start a new block instead of moving the cursor back up.
    shown = ProgressDisplay([].append, is_tty=True)
    out: list[str] = []
    shown.write = out.append
    shown.feed({"status": "Pulling fs layer", "progressDetail": {}, "id": "l1"})
    shown.feed({"status": "Pulling from library/x", "id": "2"})
    out.clear()
    shown.feed({"status": "Pulling fs layer", "progressDetail": {}, "id": "l2"})
    assert "".join(out) == "\n\x1b[1A\x1b[2K\rl2: Pulling fs layer \r\x1b[1B"


def test_legacy_progress_text_and_stream_messages() -> None:
    assert render([{"status": "Loading", "progress": "[==> ] 1MB", "id": "x"}], is_tty=False) == (
        "x: Loading [==> ] 1MB"
    )
    assert render([{"stream": "Step 1/2 : FROM bb\n"}], is_tty=False) == "Step 1/2 : FROM bb\n"
    assert render([{"status": "created", "id": "c1", "from": "busybox"}], is_tty=False) == (
        "c1: (from busybox) created\n"
    )


def test_progress_bar_numbers_units_and_time_left() -> None:
    assert progress_bar({}) == ""
    assert progress_bar({"current": 2_500_000, "total": 1_000_000}, width=80) == "   2.5MB"
    assert progress_bar({"current": 3, "total": 10, "units": "items"}, width=80) == "3/10 items"
    assert progress_bar({"current": 7, "units": "items"}) == "7 items"
    assert progress_bar({"current": 5, "total": 10, "hidecounts": True}, width=80) == ""
    # Half done after 10 s: 10 s left.
    bar = progress_bar({"current": 500, "total": 1000, "start": 1000}, width=200, now=1010.0)
    assert bar == "[" + "=" * 25 + ">" + " " * 25 + "]     500B/1kB 10s"
    assert progress_bar({"current": 1, "total": 100, "start": 1000}, width=80, now=1001.0) == (
        "      1B/100B 1m39s"
    )
    # Over 100 %: the bar is full and the total is left out.
    assert progress_bar({"current": 3000, "total": 1000}, width=120).startswith("[" + "=" * 50 + ">] ")


def test_go_duration() -> None:
    assert [go_duration(s) for s in (0, 45, 125, 3603)] == ["0s", "45s", "2m5s", "1h0m3s"]

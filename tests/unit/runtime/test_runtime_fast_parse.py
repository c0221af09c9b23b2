"""The runtime's quick command-line parser agrees with argparse wherever it answers."""

from __future__ import annotations

import pytest

from dockyard.runtime.command import _fast_parse, _parser

ANSWERED = [
    ["--root", "/r", "create", "--bundle", "/b", "--pid-file", "/p", "c1"],
    ["--root=/r", "--log", "/l", "create", "-b", "/b", "--console-socket", "/s", "c1"],
    ["--root", "/r", "start", "c1"],
    ["--root", "/r", "kill", "c1", "KILL"],
    ["--root", "/r", "kill", "--all", "c1"],
    ["--root", "/r", "delete", "--force", "c1"],
    ["--root", "/r", "state", "c1"],
    ["--root", "/r", "exec", "--detach", "--process", "/p.json", "--pid-file", "/x.pid", "c1"],
    ["--root", "/r", "exec", "-d", "-p", "/p.json", "--console-socket", "s.sock", "c1"],
]
DECLINED = [
    ["--root", "/r", "exec", "c1", "sh"],           # a command line instead of a process file
    ["--root", "/r", "exec", "-t", "-p", "/p", "c1"],  # a flag only argparse knows
    ["--root", "/r", "list"],
    ["--help"],
    ["--root", "/r", "create", "--preserve-fds", "x", "c1"],
]


@pytest.mark.parametrize("argv", ANSWERED, ids=lambda a: " ".join(a))
def test_quick_parse_matches_argparse(argv: list[str]) -> None:
    quick = _fast_parse(argv)
    assert quick is not None
    full = vars(_parser().parse_args(argv))
    for name, value in full.items():
        assert getattr(quick, name) == value, name


@pytest.mark.parametrize("argv", DECLINED, ids=lambda a: " ".join(a))
def test_quick_parse_leaves_the_rest_to_argparse(argv: list[str]) -> None:
    assert _fast_parse(argv) is None

"""The dockyard-shim command line."""

from __future__ import annotations

import argparse

import pytest

from dockyard.shim import main


def test_console_size() -> None:
    assert main._size("24x80") == (24, 80)
    with pytest.raises(argparse.ArgumentTypeError):
        main._size("24-80")


def test_log_path_required_unless_none(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main.main(["--id", "c", "--bundle", "b", "--runtime", "runc", "--runtime-root", "r", "--state-dir",
                   "/nonexistent/never"])
    assert "--log-path is required" in capsys.readouterr().err


def test_defaults_rotate_logs() -> None:
    args = main._parser().parse_args(["--id", "c", "--bundle", "b", "--runtime", "runc", "--runtime-root", "r",
                                      "--state-dir", "s", "--log-path", "l"])
    assert (args.log_driver, args.log_max_size, args.log_max_file) == ("json-file", 10 * 1024 * 1024, 3)

"""The dockyard-shim command line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dockyard.shim import logfile, main


def test_console_size() -> None:
    assert main._size("24x80") == (24, 80)
    with pytest.raises(argparse.ArgumentTypeError):
        main._size("24-80")


def test_log_path_required_unless_none(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main.main(["--id", "c", "--bundle", "b", "--runtime", "runc", "--runtime-root", "r", "--state-dir",
                   "/nonexistent/never"])
    assert "--log-path is required" in capsys.readouterr().err


def test_defaults_rotate_logs(tmp_path: Path) -> None:
    args = main._parser().parse_args(["--id", "c", "--bundle", "b", "--runtime", "runc", "--runtime-root", "r",
                                      "--state-dir", "s", "--log-path", "l"])
    # unset limits are the driver's own: json-file rotates at 10 MB into 3 files by default
    assert (args.log_driver, args.log_max_size, args.log_max_file, args.log_compress) == ("json-file", None, None, None)
    writer = logfile.open_writer("json-file", str(tmp_path / "c-json.log"))
    assert isinstance(writer, logfile.JsonFileWriter)
    assert (writer.max_size, writer.max_file) == (10 * 1024 * 1024, 3)
    writer.close()

"""The dockyard-shim command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.shim import logfile, main


def test_console_size() -> None:
    assert main._size("24x80") == (24, 80)
    with pytest.raises(ValueError, match="HEIGHTxWIDTH"):
        main._size("24-80")


def test_bad_console_size_is_reported_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main.main(["--id", "c", "--bundle", "b", "--runtime", "runc", "--runtime-root", "r", "--state-dir", "s",
                   "--log-path", "l", "--console-size", "24-80"])
    assert "console size must be HEIGHTxWIDTH" in capsys.readouterr().err


def test_fast_parse_agrees_with_argparse() -> None:
    argv = ["--id", "c1", "--bundle", "/b", "--runtime", "/usr/bin/runc", "--runtime-root=/r", "--state-dir", "/s",
            "--log-driver", "local", "--log-path", "/l", "--log-max-size", "100", "--log-max-file", "2",
            "--log-compress", "false", "--tty", "--stdin", "--console-size", "24x80", "--ready-fd", "7",
            "--exec-runtime"]
    fast = main._fast_parse(argv, main._SHIM_OPTIONS, main._SHIM_SWITCHES, main._SHIM_DEFAULTS, main._SHIM_REQUIRED)
    assert fast is not None
    assert vars(fast) == vars(main._parser().parse_args(argv))


@pytest.mark.parametrize("argv", [
    ["--id", "c"],  # required options missing
    ["--id", "c", "--bundle", "b", "--runtime", "r", "--runtime-root", "r", "--state-dir", "s", "--bogus"],
    ["--id", "c", "--bundle", "b", "--runtime", "r", "--runtime-root", "r", "--state-dir", "s",
     "--log-driver", "syslog"],
    ["--id", "c", "--bundle", "b", "--runtime", "r", "--runtime-root", "r", "--state-dir", "s",
     "--log-max-size", "big"],
    ["--id", "c", "--bundle", "b", "--runtime", "r", "--runtime-root", "r", "--state-dir"],
])
def test_fast_parse_leaves_the_unusual_to_argparse(argv: list[str]) -> None:
    assert main._fast_parse(argv, main._SHIM_OPTIONS, main._SHIM_SWITCHES, main._SHIM_DEFAULTS,
                            main._SHIM_REQUIRED) is None


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

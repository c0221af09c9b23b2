"""`dockyard compose …` on the command line: global options before the subcommand, help, errors,
and the commands that need no daemon."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dockyard.cli.app import Cli, UsageError
from dockyard.cli.main import run
from dockyard.cli.parser import COMPOSE_COMMANDS, parse_command, resolve


def cli() -> Cli:
    def no_daemon(host: str) -> object:
        raise AssertionError("this command must not need the daemon")

    return Cli(out=io.StringIO(), err=io.StringIO(), connect=no_daemon)


def test_global_options_are_lifted_into_the_subcommand() -> None:
    resolved = resolve(["compose", "-f", "a.yml", "--file=b.yml", "-pdemo", "--profile", "x", "--env-file", "e",
                        "--project-directory", "/p", "--ansi", "never", "logs", "-f", "web"])
    assert not isinstance(resolved, str)
    path, command, rest = resolved
    assert path == "compose logs" and command is COMPOSE_COMMANDS["logs"]
    inv = parse_command(path, command, rest)
    assert inv.options.compose_files == ["a.yml", "b.yml"]
    assert inv.options.project_name == "demo"
    assert inv.options.profiles == ["x"] and inv.options.env_files == ["e"]
    assert inv.options.project_directory == "/p"
    assert inv.options.follow is True and inv.args == ["web"]


def test_exec_keeps_the_command_flags() -> None:
    resolved = resolve(["compose", "-p", "demo", "exec", "-T", "web", "ls", "-la"])
    assert not isinstance(resolved, str)
    inv = parse_command(*resolved)
    assert inv.options.no_TTY and inv.args == ["web", "ls", "-la"]


def test_help_and_errors() -> None:
    assert isinstance(resolve(["compose"]), str)
    help_text = resolve(["compose", "--help"])
    assert isinstance(help_text, str) and "Usage:  dockyard compose [OPTIONS] COMMAND" in help_text
    assert "  up          Create and start containers" in help_text
    with pytest.raises(UsageError, match="unknown flag: --bogus"):
        resolve(["compose", "--bogus", "up"])
    with pytest.raises(UsageError, match="unknown command: dockyard compose frobnicate"):
        resolve(["compose", "frobnicate"])
    with pytest.raises(UsageError, match="flag needs an argument: -f"):
        resolve(["compose", "-f"])


def test_config_without_a_daemon(tmp_path: Path) -> None:
    (tmp_path / "app.yml").write_text("services:\n  web: {image: busybox}\n  db: {image: busybox}\n"
                                      "volumes: {data: {}}\n")
    c = cli()
    assert run(["compose", "-f", str(tmp_path / "app.yml"), "-p", "demo", "config", "--services"], c) == 0
    assert c.out.getvalue() == "db\nweb\n"  # type: ignore[attr-defined]
    c = cli()
    assert run(["compose", "-f", str(tmp_path / "app.yml"), "config", "--volumes"], c) == 0
    assert c.out.getvalue() == "data\n"  # type: ignore[attr-defined]
    c = cli()
    assert run(["compose", "-f", str(tmp_path / "app.yml"), "-p", "demo", "config"], c) == 0
    assert c.out.getvalue().startswith("name: demo\nservices:\n  db:\n    image: busybox\n")  # type: ignore[attr-defined]


def test_compose_errors_are_printed_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web: {command: x}\n")
    c = cli()
    assert run(["compose", "--project-directory", str(tmp_path), "config"], c) == 1
    assert c.err.getvalue() == ('service "web" has neither an image nor a build context specified: '  # type: ignore[attr-defined]
                                "invalid compose project\n")


def test_version() -> None:
    c = cli()
    assert run(["compose", "version", "--short"], c) == 0
    from dockyard import __version__

    assert c.out.getvalue() == f"{__version__}\n"  # type: ignore[attr-defined]


def test_ps_rows() -> None:
    from dockyard.cli.commands.compose import PS_HEADERS, PS_TABLE, ComposeRow
    from dockyard.cli.formatter import render
    from dockyard.compose.engine import ContainerSummary, PublishedPort

    labels = {"com.docker.compose.project": "demo", "com.docker.compose.service": "web",
              "com.docker.compose.container-number": "1"}
    row = ContainerSummary(id="c" * 64, name="demo-web-1", labels=labels, state="running",
                           status="Up 2 minutes (healthy)", image="busybox", command="sh -c 'echo a long command'",
                           created=1000, ports=(PublishedPort(80, "tcp", "127.0.0.1", 8080),), networks=("demo_default",))
    text = render(PS_TABLE, [ComposeRow(row, trunc=True, now=1000 + 150)], PS_HEADERS)
    assert text.splitlines() == [
        "NAME         IMAGE     COMMAND                  SERVICE   CREATED         STATUS                   PORTS",
        "demo-web-1   busybox   \"sh -c 'echo a long …\"   web       2 minutes ago   Up 2 minutes (healthy)   "
        "127.0.0.1:8080->80/tcp",
    ]
    data = ComposeRow(row, trunc=True, now=1150).template_json()
    assert '"Health":"healthy"' in data and '"Publishers":[{"URL":"127.0.0.1","TargetPort":80,' in data
    assert row.short_name == "web-1"

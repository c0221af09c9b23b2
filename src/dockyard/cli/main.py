"""The dockyard command: argv in, exit status out."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from dockyard.cli.app import DEFAULT_HOST, Cli, CliError, CommandFailed, StatusError, UsageError
from dockyard.cli.template import TemplateError
from dockyard.errors import DockyardError


def _daemon_unreachable(host: str) -> str:
    return f"Cannot connect to the dockyard daemon at {host}. Is the daemon running?"


def run(argv: Sequence[str], cli: Cli | None = None) -> int:
    """Run one command line; returns the exit status."""
    from dockyard.cli import parser

    cli = cli or Cli()
    try:
        glob = parser.parse_global(argv)
        cli.host = glob.host or os.environ.get("DOCKYARD_HOST") or cli.host or DEFAULT_HOST
        cli.debug = glob.debug
        if glob.show_version:
            from dockyard import __version__

            cli.print(f"dockyard version {__version__}")
            return 0
        if glob.show_help:
            cli.out.write(parser.top_help())
            return 0
        resolved = parser.resolve(glob.rest)
        if isinstance(resolved, str):
            cli.out.write(resolved)
            return 0
        path, command, rest = resolved
        try:
            invocation = parser.parse_command(path, command, rest)
        except SystemExit as exc:  # argparse printed --help
            return int(exc.code or 0)
        module_name, func_name = command.handler.split(":")
        handler: Any = getattr(importlib.import_module(module_name), func_name)
        result = handler(cli, invocation.options, invocation.args)
        return int(result or 0)
    except UsageError as exc:
        cli.error(str(exc))
        return exc.status
    except CommandFailed as exc:
        return exc.status
    except StatusError as exc:
        if str(exc):
            cli.error(str(exc))
        return exc.status
    except TemplateError as exc:
        cli.error(f"template parsing error: {exc}")
        return 1
    except CliError as exc:
        cli.error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except DockyardError as exc:
        return _report(cli, exc)
    finally:
        cli.close()


def _report(cli: Cli, exc: DockyardError) -> int:
    from dockyard.client import ConnectError

    if isinstance(exc, ConnectError):
        cli.error(_daemon_unreachable(cli.host))
        if cli.debug:
            cli.error(f"({exc})")
        return 1
    cli.error(f"Error response from daemon: {exc}")
    return 1


def main(argv: Sequence[str] | None = None) -> NoReturn:
    try:
        status = run(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # Output piped into head/less that exited: not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        status = 141
    sys.exit(status)


__all__ = ["main", "run"]


if __name__ == "__main__":
    main()

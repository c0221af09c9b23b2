"""Flag values shared by commands: filters and prompts."""

from __future__ import annotations

from dockyard.cli.app import Cli, UsageError


def parse_filters(values: list[str]) -> dict[str, list[str]]:
    """Repeated ``--filter key=value`` flags as {"key": ["value", …]}."""
    filters: dict[str, list[str]] = {}
    for value in values:
        key, eq, val = value.partition("=")
        if not eq:
            raise UsageError(
                f'invalid argument "{value}" for "-f, --filter" flag: bad format of filter (expected name=value)'
            )
        filters.setdefault(key.strip().lower(), []).append(val)
    return filters


def confirm(cli: Cli, message: str) -> bool:
    """Docker's PromptForConfirmation: "y" or "Y" on a line of stdin means yes."""
    cli.out.write(f"{message} [y/N] ")
    cli.out.flush()
    line = cli.stdin.readline().decode(errors="replace").strip()
    return line in ("y", "Y")


__all__ = ["confirm", "parse_filters"]

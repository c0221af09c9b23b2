"""load, save, import: image tarballs in and out."""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Iterator
from typing import Any, BinaryIO

from dockyard.cli.app import Cli, CliError
from dockyard.cli.commands.images import split_target


def _print_messages(cli: Cli, messages: Iterator[dict[str, Any]]) -> None:
    """Print a JSON message stream the way docker does for load and import."""
    for message in messages:
        if message.get("error"):
            continue  # raised by the client once the stream ends
        if "stream" in message:
            cli.out.write(str(message["stream"]))
        elif message.get("status"):
            ident = message.get("id")
            progress = message.get("progress") or ""
            text = f"{ident}: {message['status']}" if ident else str(message["status"])
            cli.print(f"{text} {progress}".rstrip())
        cli.out.flush()


def load(cli: Cli, opts: Namespace, args: list[str]) -> int:
    if opts.input:
        try:
            source: BinaryIO = open(opts.input, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CliError(f"open {opts.input}: {exc.strerror.lower() if exc.strerror else exc}") from exc
    else:
        if cli.stdin_is_terminal():
            raise CliError("requested load from stdin, but stdin is empty")
        source = cli.stdin
    try:
        _print_messages(cli, cli.client().load(source, quiet=opts.quiet))
    finally:
        if opts.input:
            source.close()
    return 0


def save(cli: Cli, opts: Namespace, args: list[str]) -> int:
    if not opts.output and cli.out_is_terminal():
        raise CliError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    _write_tar(cli, cli.client().save(list(args)), opts.output, "failed to save image")
    return 0


def export(cli: Cli, opts: Namespace, args: list[str]) -> int:
    if not opts.output and cli.out_is_terminal():
        raise CliError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    _write_tar(cli, cli.client().export(args[0]), opts.output, "failed to export container")
    return 0


def _write_tar(cli: Cli, chunks: Iterator[bytes], output: str, failure: str) -> None:
    if not output:
        for chunk in chunks:
            cli.out_bytes.write(chunk)
        cli.out_bytes.flush()
        return
    # Write next to the target and rename, so a failed save leaves no truncated tarball.
    target = output
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, target)
    except OSError as exc:
        raise CliError(f"{failure}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def import_image(cli: Cli, opts: Namespace, args: list[str]) -> int:
    source_arg = args[0]
    repo: str | None = None
    tag: str | None = None
    if len(args) > 1:
        repo, tag = split_target(args[1])
    client = cli.client()
    common: dict[str, Any] = {
        "repo": repo,
        "tag": tag,
        "changes": list(opts.change),
        "message": opts.message or None,
        "platform": opts.platform or None,
    }
    if source_arg == "-":
        messages = client.import_image(source=cli.stdin, **common)
    elif "://" in source_arg:
        messages = client.import_image(src_url=source_arg, **common)
    else:
        try:
            f = open(source_arg, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CliError(f"open {source_arg}: {(exc.strerror or str(exc)).lower()}") from exc
        with f:
            _print_messages(cli, client.import_image(source=f, **common))
        return 0
    _print_messages(cli, messages)
    return 0


__all__ = ["export", "import_image", "load", "save"]

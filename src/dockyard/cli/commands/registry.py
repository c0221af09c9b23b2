"""pull and push, with Docker's progress display."""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dockyard.cli.app import Cli, CliError
from dockyard.cli.progress import DEFAULT_WIDTH, ProgressError, display
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.oci.reference import Reference

ALL_TAGS_WITH_TAG = "tag can't be used with --all-tags/-a"


def parse_reference(text: str) -> Reference:
    """NAME[:TAG|@DIGEST] normalised as docker does; errors printed verbatim, exit 1."""
    from dockyard.oci.reference import parse_normalized

    try:
        return parse_normalized(text)
    except InvalidArgument as exc:
        raise CliError(str(exc)) from exc


def _with_default_tag(cli: Cli, ref: Reference, all_tags: bool, quiet: bool) -> Reference:
    if all_tags and not ref.is_name_only():
        raise CliError(ALL_TAGS_WITH_TAG)
    if not all_tags and ref.is_name_only():
        ref = ref.with_tag("latest")
        if not quiet:
            cli.print("Using default tag: latest")
    return ref


def _terminal_width(cli: Cli) -> int:
    try:
        return os.get_terminal_size(cli.out_bytes.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return DEFAULT_WIDTH


def show_progress(cli: Cli, messages: Iterator[dict[str, Any]], *, quiet: bool) -> None:
    """Render a pull/push stream; an error message is printed alone and the command exits 1."""

    def write(text: str) -> None:
        if not quiet:
            cli.out.write(text)
            cli.out.flush()

    is_tty = not quiet and cli.out_is_terminal()
    try:
        display(messages, write, is_tty=is_tty, width=_terminal_width(cli) if is_tty else DEFAULT_WIDTH)
    except ProgressError as exc:
        raise CliError(str(exc)) from exc


def _auth_header(registry: str) -> str:
    from dockyard.client.registry_auth import CredentialStore

    return CredentialStore().auth_header(registry)


def pull(cli: Cli, opts: Namespace, args: list[str]) -> int:
    ref = _with_default_tag(cli, parse_reference(args[0]), opts.all_tags, opts.quiet)
    tag: str | None = None
    if not opts.all_tags:
        tag = str(ref.digest) if ref.digest is not None else ref.tag
    messages = cli.client().pull(
        ref.name, tag, platform=opts.platform or None, all_tags=opts.all_tags, auth=_auth_header(ref.domain)
    )
    show_progress(cli, messages, quiet=opts.quiet)
    cli.print(str(ref))
    return 0


def push(cli: Cli, opts: Namespace, args: list[str]) -> int:
    ref = _with_default_tag(cli, parse_reference(args[0]), opts.all_tags, opts.quiet)
    if ref.digest is not None:
        raise CliError("cannot push a digest reference")
    tag = None if opts.all_tags else ref.tag
    messages = cli.client().push(ref.name, tag, auth=_auth_header(ref.domain))
    show_progress(cli, messages, quiet=opts.quiet)
    if opts.quiet:
        cli.print(str(ref))
    return 0


__all__ = ["parse_reference", "pull", "push", "show_progress"]

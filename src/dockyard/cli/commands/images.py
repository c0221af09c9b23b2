"""images, image inspect, inspect, history, tag, rmi, image prune."""

from __future__ import annotations

import json
from argparse import Namespace
from typing import Any

from dockyard.cli.app import Cli, CliError, CommandFailed
from dockyard.cli.flags import confirm, parse_filters
from dockyard.cli.formatter import render, resolve_format
from dockyard.cli.imagerows import (
    HISTORY_HEADERS,
    HISTORY_TABLE,
    IMAGE_HEADERS,
    IMAGE_TABLE,
    IMAGE_TABLE_DIGESTS,
    QUIET,
    HistoryRow,
    image_rows,
)
from dockyard.cli.template import compile_template
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.units import human_size


def _is_connect_error(exc: Exception) -> bool:
    from dockyard.client import ConnectError

    return isinstance(exc, ConnectError)


def list_images(cli: Cli, opts: Namespace, args: list[str]) -> int:
    filters = parse_filters(opts.filter)
    if args:
        filters.setdefault("reference", []).append(args[0])
    images = cli.client().images(all=opts.all, filters=filters or None, digests=opts.digests)
    if opts.quiet and (not opts.format or opts.format == "table"):
        fmt = QUIET
    else:
        fmt = resolve_format(opts.format, IMAGE_TABLE_DIGESTS if opts.digests else IMAGE_TABLE)
    rows = image_rows(images, digests=opts.digests, trunc=not opts.no_trunc)
    cli.out.write(render(fmt, rows, IMAGE_HEADERS))
    return 0


def write_inspect(cli: Cli, fmt: str, elements: list[Any]) -> None:
    """Docker's inspect output: an indented JSON array, or the template once per element."""
    if fmt:
        if fmt == "json":
            fmt = "{{json .}}"
        tmpl = compile_template(fmt.replace("\\t", "\t").replace("\\n", "\n"))
        for element in elements:
            cli.out.write(tmpl.render(element) + "\n")
        return
    cli.out.write(json.dumps(elements, indent=4, ensure_ascii=False) + "\n")


def _inspect_each(
    cli: Cli, names: list[str], fmt: str, *, object_words: bool, kinds: tuple[str, ...] = ("image",)
) -> int:
    if fmt:
        compile_template(fmt)  # a bad template fails before any request, as with docker
    elements: list[Any] = []
    errors: list[str] = []
    client = cli.client()
    for name in names:
        try:
            elements.append(_inspect_first(client, name, kinds))
        except NotFound as exc:
            errors.append(
                f"Error: No such object: {name}" if object_words else f"Error response from daemon: {exc}"
            )
        except DockyardError as exc:
            if _is_connect_error(exc):
                raise
            errors.append(f"Error response from daemon: {exc}")
    write_inspect(cli, fmt, elements)
    for message in errors:
        cli.error(message)
    return 1 if errors else 0


def _inspect_first(client: Any, name: str, kinds: tuple[str, ...]) -> Any:
    """Docker's generic inspect: try each kind of object in turn; the last NotFound wins."""
    for i, kind in enumerate(kinds):
        try:
            if kind == "container":
                return client.inspect_container(name)
            return client.inspect_image(name)
        except NotFound:
            if i == len(kinds) - 1:
                raise
    raise NotFound(f"No such object: {name}")


def inspect_images(cli: Cli, opts: Namespace, args: list[str]) -> int:
    return _inspect_each(cli, args, opts.format, object_words=False)


def inspect_objects(cli: Cli, opts: Namespace, args: list[str]) -> int:
    if opts.type and opts.type not in ("image", "container"):
        raise CliError(f'"{opts.type}" is not a valid value for --type')
    kinds: tuple[str, ...] = (opts.type,) if opts.type else ("container", "image")
    return _inspect_each(cli, args, opts.format, object_words=not opts.type, kinds=kinds)


def history(cli: Cli, opts: Namespace, args: list[str]) -> int:
    entries = cli.client().history(args[0])
    if opts.quiet and (not opts.format or opts.format == "table"):
        fmt = QUIET
    else:
        fmt = resolve_format(opts.format, HISTORY_TABLE)
    rows = [HistoryRow(e, trunc=not opts.no_trunc, human=opts.human) for e in entries]
    cli.out.write(render(fmt, rows, HISTORY_HEADERS))
    return 0


def split_target(target: str) -> tuple[str, str]:
    """TARGET_IMAGE[:TAG] as the full repository name and the tag ("latest" by default)."""
    from dockyard.oci.reference import parse_normalized

    try:
        ref = parse_normalized(target)
    except InvalidArgument as exc:
        raise CliError(f'Error parsing reference: "{target}" is not a valid repository/tag: {exc}') from exc
    if ref.digest is not None:
        raise CliError("refusing to create a tag with a digest reference")
    return ref.name, ref.tag or "latest"


def tag(cli: Cli, opts: Namespace, args: list[str]) -> int:
    repo, tag_name = split_target(args[1])
    cli.client().tag(args[0], repo, tag_name)
    return 0


def remove(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()
    errors: list[str] = []
    for name in args:
        try:
            items = client.remove_image(name, force=opts.force, noprune=opts.no_prune)
        except DockyardError as exc:
            if _is_connect_error(exc):
                raise
            errors.append(f"Error response from daemon: {exc}")
            continue
        for item in items:
            if item.get("Deleted"):
                cli.print(f"Deleted: {item['Deleted']}")
            else:
                cli.print(f"Untagged: {item.get('Untagged', '')}")
    if errors:
        cli.error("\n".join(errors))
        raise CommandFailed(1)
    return 0


DANGLING_WARNING = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
ALL_WARNING = (
    "WARNING! This will remove all images without at least one container associated to them.\n"
    "Are you sure you want to continue?"
)


def commit(cli: Cli, opts: Namespace, args: list[str]) -> int:
    repo = tag = ""
    if len(args) > 1:
        repo, tag = split_target(args[1])
    result = cli.client().commit(args[0], repo=repo, tag=tag, comment=opts.message, author=opts.author,
                                 pause=opts.pause, changes=list(opts.change))
    cli.print(str(result.get("Id", "")))
    return 0


def prune(cli: Cli, opts: Namespace, args: list[str]) -> int:
    filters = parse_filters(opts.filter)
    filters["dangling"] = ["false" if opts.all else "true"]
    if not opts.force and not confirm(cli, ALL_WARNING if opts.all else DANGLING_WARNING):
        return 0
    report = cli.client().prune_images(filters)
    deleted = report.get("ImagesDeleted") or []
    if deleted:
        lines = ["Deleted Images:"]
        for item in deleted:
            if item.get("Untagged"):
                lines.append(f"untagged: {item['Untagged']}")
            else:
                lines.append(f"deleted: {item.get('Deleted', '')}")
        cli.print("\n".join(lines) + "\n")
    cli.print(f"Total reclaimed space: {human_size(int(report.get('SpaceReclaimed') or 0))}")
    return 0


__all__ = ["commit", "history", "inspect_images", "inspect_objects", "list_images", "prune", "remove", "tag"]

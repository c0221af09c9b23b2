"""cp: copy files between a container and the local filesystem, with the docker CLI's rules.

``CONTAINER:SRC DEST`` fetches a tar of SRC (named from its base name) and unpacks it into DEST
when that is a directory, or as DEST (renamed) otherwise; ``SRC/.`` copies a directory's content.
``SRC CONTAINER:DEST`` sends a tar the same way, into DEST or its parent. ``-`` stands for a tar on
standard input or output.
"""

from __future__ import annotations

import base64
import io
import json
import os
import posixpath
import sys
import tarfile
from argparse import Namespace
from typing import Any

from dockyard.cli.app import Cli, CliError
from dockyard.errors import NotFound

_DIR_BIT = 1 << 31
_LINK_BIT = 1 << 27


def _split(arg: str) -> tuple[str | None, str]:
    """(container, path) of ``CONTAINER:PATH``; a local path has no container."""
    if arg.startswith((".", "/")) or ":" not in arg:
        return None, arg
    container, _, path = arg.partition(":")
    return container, path


def _stat_header(value: str | None) -> dict[str, Any]:
    return json.loads(base64.b64decode(value)) if value else {}


def cp(cli: Cli, opts: Namespace, args: list[str]) -> int:
    (src_c, src), (dst_c, dst) = _split(args[0]), _split(args[1])
    if src_c and dst_c:
        raise CliError("copying between containers is not supported")
    if not src_c and not dst_c:
        raise CliError("must specify at least one container source")
    if src_c:
        _from_container(cli, src_c, src, dst, follow=opts.follow_link)
    else:
        assert dst_c is not None
        _to_container(cli, src, dst_c, dst, copy_owner=opts.archive, follow=opts.follow_link)
    return 0


# ---- out of a container --------------------------------------------------------------------


def _from_container(cli: Cli, container: str, src: str, dst: str, *, follow: bool) -> None:
    client = cli.client()
    if follow:
        first = _stat_header(client.archive_stat(container, src))
        if first.get("mode", 0) & _LINK_BIT and first.get("linkTarget"):
            src = first["linkTarget"]
    info, chunks = client.archive_get(container, src)
    stat = _stat_header(info)
    if dst == "-":
        for chunk in chunks:
            cli.out_bytes.write(chunk)
        cli.out_bytes.flush()
        return
    data = io.BytesIO(b"".join(chunks))
    src_is_dir = bool(stat.get("mode", 0) & _DIR_BIT)
    contents_only = src.endswith("/.")
    if os.path.isdir(dst):
        target_dir, rename = dst, None if not contents_only else ""
    else:
        if dst.endswith(os.sep) or os.path.lexists(dst) and src_is_dir:
            raise CliError("no such directory" if not os.path.lexists(dst) else "cannot copy directory")
        parent = os.path.dirname(os.path.abspath(dst))
        if not os.path.isdir(parent):
            raise CliError("no such directory")
        target_dir, rename = parent, os.path.basename(dst)
    _extract(data, target_dir, rename=rename, base=str(stat.get("name", "")))


def _extract(data: io.BytesIO, target: str, *, rename: str | None, base: str) -> None:
    """Unpack into ``target``; entries under ``base`` move to ``rename`` ("" = into target itself)."""
    with tarfile.open(fileobj=data, mode="r:") as tf:
        members = tf.getmembers()
        for member in members:
            if rename is not None and base:
                member.name = _rebased(member.name, base, rename)
                if member.islnk():
                    member.linkname = _rebased(member.linkname, base, rename)
        tf.extractall(target, members=[m for m in members if m.name != "."], filter="tar")


def _rebased(name: str, base: str, rename: str) -> str:
    head, _, tail = name.partition("/")
    if head != base:
        return name
    return "/".join(p for p in (rename, tail) if p) or "."


# ---- into a container ----------------------------------------------------------------------


def _to_container(cli: Cli, src: str, container: str, dst: str, *, copy_owner: bool, follow: bool) -> None:
    client = cli.client()
    try:
        dst_stat: dict[str, Any] | None = _stat_header(client.archive_stat(container, dst))
    except NotFound:
        dst_stat = None
    if dst_stat and dst_stat.get("mode", 0) & _LINK_BIT and dst_stat.get("linkTarget"):
        dst = dst_stat["linkTarget"]
        dst_stat = _stat_header(client.archive_stat(container, dst))
    if src == "-":
        if dst_stat is None or not dst_stat.get("mode", 0) & _DIR_BIT:
            raise CliError(f"destination \"{container}:{dst}\" must be a directory")
        client.archive_put(container, dst, sys.stdin.buffer, copy_owner=copy_owner)
        return
    local = os.path.realpath(src) if follow else src
    if not os.path.lexists(local):
        raise CliError(f"lstat {os.path.abspath(src)}: no such file or directory")
    src_is_dir = os.path.isdir(local) and not os.path.islink(local)
    if dst_stat is not None and dst_stat.get("mode", 0) & _DIR_BIT:
        target, name = dst, os.path.basename(os.path.normpath(src))
    else:
        if dst.endswith("/"):
            raise CliError("no such directory")
        if dst_stat is not None and src_is_dir:
            raise CliError("cannot copy directory")
        target, name = posixpath.dirname(dst) or "/", posixpath.basename(dst)
    if src.endswith("/.") and src_is_dir:
        name = ""
    client.archive_put(container, target, _tar_of(local, name), copy_owner=copy_owner)


def _tar_of(path: str, name: str) -> io.BytesIO:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        if name:
            tf.add(path, arcname=name)
        else:  # the directory's content
            for child in sorted(os.listdir(path)):
                tf.add(os.path.join(path, child), arcname=child)
    out.seek(0)
    return out


__all__ = ["cp"]

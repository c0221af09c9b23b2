"""Rows of `images` and `history`, with Docker's field names, headers and value formatting."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from dockyard.cli.formatter import Row, ellipsis, truncate_id
from dockyard.errors import InvalidArgument
from dockyard.oci.reference import parse_normalized
from dockyard.units import human_duration, human_size, human_size_with_precision

NONE = "<none>"

IMAGE_HEADERS = {
    "ID": "IMAGE ID",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
    "VirtualSize": "VIRTUAL SIZE",
}
IMAGE_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_TABLE_DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
QUIET = "{{.ID}}"

HISTORY_HEADERS = {
    "ID": "IMAGE",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY",
    "Size": "SIZE",
    "Comment": "COMMENT",
}
HISTORY_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"


def go_time_string(unix: int) -> str:
    """Go's time.Time.String() in local time: "2024-01-02 15:04:05 +0000 UTC"."""
    moment = datetime.fromtimestamp(unix).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %z ") + (moment.tzname() or "")


def rfc3339(unix: int) -> str:
    moment = datetime.fromtimestamp(unix).astimezone()
    offset = moment.utcoffset()
    text = moment.isoformat()
    return text[:-6] + "Z" if offset is not None and offset.total_seconds() == 0 else text


def since(unix: int, now: float | None = None) -> str:
    return human_duration((now if now is not None else time.time()) - unix) + " ago"


class ImageRow(Row):
    FIELDS = tuple(IMAGE_HEADERS)

    def __init__(
        self,
        summary: dict[str, Any],
        repo: str,
        tag: str,
        digest: str,
        *,
        trunc: bool,
        now: float | None = None,
    ) -> None:
        self.summary = summary
        self.repo = repo
        self.tag = tag
        self.digest = digest
        self.trunc = trunc
        self.now = now

    def _int(self, key: str, default: int = 0) -> int:
        value = self.summary.get(key)
        return int(value) if isinstance(value, int | float) else default

    def ID(self) -> str:
        ident = str(self.summary.get("Id", ""))
        return truncate_id(ident) if self.trunc else ident

    def Repository(self) -> str:
        return self.repo

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        return since(self._int("Created"), self.now)

    def CreatedAt(self) -> str:
        return go_time_string(self._int("Created"))

    def Size(self) -> str:
        return human_size_with_precision(self._int("Size"), 3)

    def Containers(self) -> str:
        n = self._int("Containers", -1)
        return "N/A" if n == -1 else str(n)

    def SharedSize(self) -> str:
        n = self._int("SharedSize", -1)
        return "N/A" if n == -1 else human_size_with_precision(n, 3)

    def UniqueSize(self) -> str:
        shared = self._int("SharedSize", -1)
        return "N/A" if shared == -1 else human_size_with_precision(self._int("Size") - shared, 3)

    def VirtualSize(self) -> str:
        return human_size(self._int("VirtualSize", self._int("Size")))


def _familiar(ref: str) -> tuple[str, str | None, str | None] | None:
    try:
        parsed = parse_normalized(ref)
    except InvalidArgument:
        return None
    return parsed.familiar_name, parsed.tag, str(parsed.digest) if parsed.digest is not None else None


def _is_dangling(summary: dict[str, Any]) -> bool:
    tags = summary.get("RepoTags") or []
    digests = summary.get("RepoDigests") or []
    if not tags and not digests:
        return True
    return tags == ["<none>:<none>"] and digests == ["<none>@<none>"]


def image_rows(
    images: list[dict[str, Any]], *, digests: bool, trunc: bool, now: float | None = None
) -> list[ImageRow]:
    """One row per repository:tag (and per digest with --digests), as docker images shows."""
    rows: list[ImageRow] = []
    for summary in images:
        if _is_dangling(summary):
            rows.append(ImageRow(summary, NONE, NONE, NONE, trunc=trunc, now=now))
            continue
        repo_tags: dict[str, list[str]] = {}
        repo_digests: dict[str, list[str]] = {}
        for ref in summary.get("RepoTags") or []:
            parsed = _familiar(str(ref))
            if parsed and parsed[1]:
                repo_tags.setdefault(parsed[0], []).append(parsed[1])
        for ref in summary.get("RepoDigests") or []:
            parsed = _familiar(str(ref))
            if parsed and parsed[2]:
                repo_digests.setdefault(parsed[0], []).append(parsed[2])
        for repo, tags in repo_tags.items():
            # Digests never get rows of their own next to a tag; without --digests they are hidden.
            repo_dgsts = repo_digests.pop(repo, [])
            if not digests:
                repo_dgsts = []
            for tag in tags:
                if not repo_dgsts:
                    rows.append(ImageRow(summary, repo, tag, NONE, trunc=trunc, now=now))
                for dgst in repo_dgsts:
                    rows.append(ImageRow(summary, repo, tag, dgst, trunc=trunc, now=now))
        for repo, dgsts in repo_digests.items():
            if digests:
                rows.extend(ImageRow(summary, repo, NONE, d, trunc=trunc, now=now) for d in dgsts)
            else:
                rows.append(ImageRow(summary, repo, NONE, "", trunc=trunc, now=now))
    return rows


class HistoryRow(Row):
    FIELDS = tuple(HISTORY_HEADERS)

    def __init__(self, entry: dict[str, Any], *, trunc: bool, human: bool, now: float | None = None) -> None:
        self.entry = entry
        self.trunc = trunc
        self.human = human
        self.now = now

    def _created(self) -> int:
        value = self.entry.get("Created")
        return int(value) if isinstance(value, int | float) else 0

    def ID(self) -> str:
        ident = str(self.entry.get("Id", ""))
        return truncate_id(ident) if self.trunc and ident != "<missing>" else ident

    def CreatedSince(self) -> str:
        return since(self._created(), self.now) if self.human else rfc3339(self._created())

    def CreatedAt(self) -> str:
        return rfc3339(self._created())

    def CreatedBy(self) -> str:
        text = str(self.entry.get("CreatedBy", "")).replace("\t", " ")
        return ellipsis(text, 45) if self.trunc else text

    def Size(self) -> str:
        value = self.entry.get("Size")
        size = int(value) if isinstance(value, int | float) else 0
        return human_size_with_precision(size, 3) if self.human else str(size)

    def Comment(self) -> str:
        return str(self.entry.get("Comment", ""))


__all__ = [
    "HISTORY_HEADERS",
    "HISTORY_TABLE",
    "IMAGE_HEADERS",
    "IMAGE_TABLE",
    "IMAGE_TABLE_DIGESTS",
    "QUIET",
    "HistoryRow",
    "ImageRow",
    "image_rows",
]

"""--format handling shared by list commands: "table", "table TEMPLATE", "json", "TEMPLATE"."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dockyard.cli.tabwriter import tabwrite
from dockyard.cli.template import HEADER_FUNCTIONS, MissingField, compile_template

TABLE = "table"
JSON_FORMAT = "{{json .}}"


def go_json(fields: Mapping[str, Any]) -> str:
    """json.Marshal of a map: sorted keys, <, > and & escaped as Go does."""
    text = json.dumps(dict(sorted(fields.items())), separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class Row:
    """A formatter context: named fields computed on demand (Docker's xxxContext types)."""

    FIELDS: tuple[str, ...] = ()

    def template_field(self, name: str) -> Any:
        if name not in self.FIELDS:
            raise MissingField(name)
        method: Callable[[], Any] = getattr(self, name)
        return method()

    def template_json(self) -> str:
        return go_json({name: self.template_field(name) for name in self.FIELDS})


class _Headers:
    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = headers

    def template_field(self, name: str) -> str:
        return self.headers.get(name, "")


def resolve_format(fmt: str, default_table: str) -> str:
    if not fmt or fmt == TABLE:
        return default_table
    if fmt == "json":
        return JSON_FORMAT
    return fmt


def render(fmt: str, rows: Iterable[Any], headers: Mapping[str, str]) -> str:
    """Render rows with a resolved format; tables get a header row and tabwriter alignment."""
    is_table = fmt.startswith(TABLE)
    body = fmt[len(TABLE) :] if is_table else fmt
    body = body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    tmpl = compile_template(body)
    out = "".join(tmpl.render(row) + "\n" for row in rows)
    if not is_table:
        return out
    header = tmpl.render(_Headers(headers), functions=HEADER_FUNCTIONS)
    return tabwrite(header + "\n" + out)


def ellipsis(text: str, width: int) -> str:
    """Docker's formatter.Ellipsis: cut to ``width`` runes, the last one an ellipsis."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return text[0]
    return text[: width - 1] + "…"


def truncate_id(ident: str) -> str:
    """stringid.TruncateID: drop the algorithm prefix, keep 12 characters."""
    if ":" in ident:
        ident = ident.split(":", 1)[1]
    return ident[:12]


__all__ = ["JSON_FORMAT", "TABLE", "Row", "ellipsis", "go_json", "render", "resolve_format", "truncate_id"]

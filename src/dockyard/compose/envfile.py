"""``.env`` and ``env_file`` files as Compose reads them (the dotenv format).

``KEY=value``, ``export KEY=value``, ``# comments``; single quotes keep text as is, double quotes
understand ``\\n``-style escapes and may span lines; unquoted values end at a `` #`` comment.
Double-quoted and unquoted values are interpolated (the environment first, then the keys defined
above in the same file). A bare ``KEY`` takes its value from the environment, if it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dockyard.compose.errors import InvalidProject
from dockyard.compose.interpolation import InvalidTemplate, Lookup, MissingRequired, substitute

_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v"}


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.text = text.replace("\r\n", "\n")
        self.source = source
        self.pos = 0

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def fail(self, message: str) -> InvalidProject:
        return InvalidProject(f"{self.source}: line {self.line}: {message}")

    def rest_of_line(self) -> str:
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end == -1 else end
        chunk = self.text[self.pos:end]
        self.pos = end + 1
        return chunk


def _expand(value: str, lookup: Lookup, reader: _Reader) -> str:
    try:
        return substitute(value, lookup)
    except (InvalidTemplate, MissingRequired) as exc:
        raise reader.fail(str(exc) if isinstance(exc, MissingRequired) else f'invalid interpolation in "{value}"')


def parse_env(text: str, source: str, lookup: Lookup) -> dict[str, str]:
    """The variables of one env file, in order."""
    reader = _Reader(text, source)
    found: dict[str, str] = {}

    def chained(name: str) -> str | None:
        value = lookup(name)
        return value if value is not None else found.get(name)

    while reader.pos < len(reader.text):
        line_start = reader.pos
        stripped = reader.text[line_start:].lstrip(" \t")
        reader.pos = len(reader.text) - len(stripped)
        if not stripped or stripped[0] == "\n":
            reader.rest_of_line()
            continue
        if stripped[0] == "#":
            reader.rest_of_line()
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            reader.pos += len("export")
            while reader.pos < len(reader.text) and reader.text[reader.pos] in " \t":
                reader.pos += 1
        start = reader.pos
        while reader.pos < len(reader.text) and reader.text[reader.pos] in _KEY_CHARS:
            reader.pos += 1
        key = reader.text[start:reader.pos]
        nxt = reader.text[reader.pos] if reader.pos < len(reader.text) else "\n"
        if not key:
            raise reader.fail(f'unexpected character "{nxt}" in variable name')
        while nxt in " \t":
            reader.pos += 1
            nxt = reader.text[reader.pos] if reader.pos < len(reader.text) else "\n"
        if nxt == "\n" or nxt == "#":
            # a bare name: inherit it from the environment
            reader.rest_of_line()
            inherited = lookup(key)
            if inherited is not None:
                found[key] = inherited
            continue
        if nxt != "=":
            raise reader.fail(f'unexpected character "{nxt}" in variable name "{key}"')
        reader.pos += 1
        while reader.pos < len(reader.text) and reader.text[reader.pos] in " \t":
            reader.pos += 1
        quote = reader.text[reader.pos] if reader.pos < len(reader.text) else ""
        if quote in ("'", '"'):
            value = _quoted(reader, quote)
            trailing = reader.rest_of_line().strip()
            if trailing and not trailing.startswith("#"):
                raise reader.fail(f'unexpected characters after the quoted value of "{key}"')
            found[key] = value if quote == "'" else _expand(value, chained, reader)
        else:
            raw = reader.rest_of_line()
            comment = raw.find(" #")
            if comment == -1:
                comment = raw.find("\t#")
            if comment != -1:
                raw = raw[:comment]
            found[key] = _expand(raw.strip(), chained, reader)
    return found


def _quoted(reader: _Reader, quote: str) -> str:
    reader.pos += 1
    out: list[str] = []
    text = reader.text
    while reader.pos < len(text):
        ch = text[reader.pos]
        if ch == quote:
            reader.pos += 1
            return "".join(out)
        if ch == "\\" and quote == '"' and reader.pos + 1 < len(text):
            nxt = text[reader.pos + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            reader.pos += 2
            continue
        out.append(ch)
        reader.pos += 1
    raise reader.fail(f"unterminated quoted value ({quote})")


def read_env_file(path: str | Path, lookup: Lookup) -> dict[str, str]:
    """Read and parse one env file; a missing file is Compose's error."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidProject(f"env file {p} not found: stat {p}: no such file or directory") from None
    except OSError as exc:
        raise InvalidProject(f"failed to read {p}: {exc.strerror}") from None
    return parse_env(text, str(p), lookup)


def environ_lookup(environ: Mapping[str, str]) -> Lookup:
    return environ.get


__all__ = ["environ_lookup", "parse_env", "read_env_file"]

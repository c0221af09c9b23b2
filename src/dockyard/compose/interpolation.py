"""Variable substitution in compose files and .env files, with Compose's syntax and errors.

``$VAR`` and ``${VAR}``; ``${VAR:-default}`` / ``${VAR-default}`` (when unset or empty / unset);
``${VAR:?error}`` / ``${VAR?error}`` (required); ``${VAR:+alt}`` / ``${VAR+alt}`` (when set);
defaults and alternatives may hold substitutions themselves; ``$$`` is a literal ``$``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dockyard.compose.errors import InvalidProject

Lookup = Callable[[str], str | None]
Warn = Callable[[str], None]

_NAME_START = set("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHARS = _NAME_START | set("0123456789")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InvalidTemplate(ValueError):
    """The string is not a valid template (a lone ``$``, an unclosed ``${``, a bad name)."""


class MissingRequired(ValueError):
    """``${VAR?err}`` or ``${VAR:?err}`` with VAR unset (or empty)."""

    def __init__(self, name: str, reason: str) -> None:
        message = f"required variable {name} is missing a value"
        super().__init__(f"{message}: {reason}" if reason else message)


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` that closes the ``${`` whose body starts at ``start``."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "$" and i + 1 < len(text) and text[i + 1] == "$":
            i += 2
            continue
        if ch == "$" and i + 1 < len(text) and text[i + 1] == "{":
            depth += 1
            i += 2
            continue
        if ch == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise InvalidTemplate("unclosed ${")


def _braced(body: str, lookup: Lookup, warn: Warn | None) -> str:
    i = 0
    while i < len(body) and body[i] in _NAME_CHARS:
        i += 1
    name, rest = body[:i], body[i:]
    if not name or name[0] not in _NAME_START:
        raise InvalidTemplate(f"invalid variable name {body!r}")
    if not rest:
        return _value(name, lookup, warn)
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if op is None:
        raise InvalidTemplate(f"invalid operator in ${{{body}}}")
    arg = rest[len(op):]
    value = lookup(name)
    empty_counts = op.startswith(":")
    unset = value is None or (empty_counts and value == "")
    kind = op[-1]
    if kind == "-":
        return substitute(arg, lookup, warn) if unset else str(value)
    if kind == "?":
        if unset:
            raise MissingRequired(name, substitute(arg, lookup, warn))
        return str(value)
    # "+": the alternative when the variable is set
    return "" if unset else substitute(arg, lookup, warn)


def _value(name: str, lookup: Lookup, warn: Warn | None) -> str:
    value = lookup(name)
    if value is None:
        if warn is not None:
            warn(f'The "{name}" variable is not set. Defaulting to a blank string.')
        return ""
    return value


def substitute(text: str, lookup: Lookup, warn: Warn | None = None) -> str:
    """``text`` with every substitution done; raises InvalidTemplate or MissingRequired."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            out.append(_braced(text[i + 2:end], lookup, warn))
            i = end + 1
        elif nxt in _NAME_START:
            j = i + 1
            while j < len(text) and text[j] in _NAME_CHARS:
                j += 1
            out.append(_value(text[i + 1:j], lookup, warn))
            i = j
        else:
            raise InvalidTemplate("a $ not followed by a variable")
    return "".join(out)


def interpolate(tree: Any, lookup: Lookup, path: str = "", warn: Warn | None = None) -> Any:
    """Substitute in every string value of a parsed YAML tree (keys are left alone)."""
    if isinstance(tree, str):
        try:
            return substitute(tree, lookup, warn)
        except InvalidTemplate:
            raise InvalidProject(f'invalid interpolation format for {path or "value"}: "{tree}"; '
                                 "you may need to escape any $ with another $") from None
        except MissingRequired as exc:
            raise InvalidProject(str(exc)) from None
    if isinstance(tree, Mapping):
        return {key: interpolate(value, lookup, f"{path}.{key}" if path else str(key), warn)
                for key, value in tree.items()}
    if isinstance(tree, list):
        return [interpolate(item, lookup, f"{path}.[]", warn) for item in tree]
    return tree


def mapping_lookup(*layers: Mapping[str, str]) -> Lookup:
    """A lookup through several maps, the first that has the name wins."""

    def lookup(name: str) -> str | None:
        for layer in layers:
            if name in layer:
                return layer[name]
        return None

    return lookup


__all__ = ["InvalidTemplate", "Lookup", "MissingRequired", "interpolate", "mapping_lookup", "substitute"]

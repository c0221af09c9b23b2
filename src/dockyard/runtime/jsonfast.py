"""JSON for the runtime's hot path without importing ``json`` (and, through it, ``re`` and ``enum``).

CPython's C accelerator does the real work in both directions; only when it is missing, or the
input is bad (for the exact error message), does this fall back to the ``json`` module. Output
looks like ``json.dumps``'s default (``", "`` and ``": "`` separators, ASCII escapes).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Imported now, not on first use: the container's init speaks JSON after pivot_root, when the
# interpreter's own files may be out of reach.
try:
    import _json
except ImportError:  # pragma: no cover - every CPython has it
    _json = None  # type: ignore[assignment]

_scanner: Any = None
_WS = " \t\n\r"


class _Context:
    """The attributes ``_json.make_scanner`` reads (what json.JSONDecoder has by default)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str] = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


def loads(data: bytes | str) -> Any:
    global _scanner
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    try:
        if _scanner is None:
            _scanner = _json.make_scanner(_Context())  # type: ignore[arg-type]
        start = len(text) - len(text.lstrip(_WS))
        value, end = _scanner(text, start)
        if text[end:].strip(_WS):
            raise ValueError("extra data")
        return value
    except Exception:  # noqa: BLE001 - let json produce the real error (or the value)
        import json

        return json.loads(data)


def dumps(obj: Any) -> str:
    if _json is None:  # pragma: no cover
        import json

        return json.dumps(obj)
    quote = _json.encode_basestring_ascii
    out: list[str] = []
    _encode(obj, out, quote)
    return "".join(out)


def _encode(obj: Any, out: list[str], quote: Any) -> None:
    if isinstance(obj, str):
        out.append(quote(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        import json

        out.append(json.dumps(obj))
    elif isinstance(obj, dict):
        out.append("{")
        first = True
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"keys must be str, not {type(key).__name__}")
            if not first:
                out.append(", ")
            first = False
            out.append(quote(key))
            out.append(": ")
            _encode(value, out, quote)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, value in enumerate(obj):
            if i:
                out.append(", ")
            _encode(value, out, quote)
        out.append("]")
    else:
        try:
            items = dict(obj.items())  # Mapping (MappingProxyType and friends)
        except AttributeError:
            raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable") from None
        _encode(items, out, quote)

"""The subset of Go's text/template that Docker's --format flags use, with Docker's functions.

Supported: text and ``{{action}}`` with ``{{-``/``-}}`` trimming and comments; fields ``.A.B``,
``.``, variables (``$``, ``$x := …``, ``range $k, $v := …``), literals, parenthesised pipelines,
pipes; ``if``/``else if``/``else``, ``range`` (with ``else``), ``with``; the functions ``and or not
eq ne lt le gt ge len index print printf println`` and Docker's ``json split join title lower
upper pad truncate``. Values print like Go's fmt: ``[a b]``, ``map[k:v]``, ``true``, ``<nil>``.

Data is plain Python (dicts from JSON, lists, scalars) or an object implementing
``template_field(name)`` (Docker's formatter contexts) and optionally ``template_json()``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from dockyard.errors import InvalidArgument


class TemplateError(InvalidArgument):
    """The template does not parse, or failed while executing."""


@runtime_checkable
class FieldSource(Protocol):
    def template_field(self, name: str) -> Any: ...


class _NoValue:
    """A missing map key: prints as Go's "<no value>"."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


class MissingField(Exception):
    """Raised by template_field for a field the object does not have."""


# -- values ------------------------------------------------------------------------------------


def go_str(value: Any) -> str:
    """Format a value the way Go's fmt.Sprint prints it."""
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = " ".join(f"{go_str(k)}:{go_str(value[k])}" for k in sorted(value, key=str))
        return f"map[{inner}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    return str(value)


def _go_float(value: float) -> str:
    """Go's %v for float64: shortest digits, exponent form below 1e-4 or from 1e21."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    exp10 = len(text) + exponent - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 21:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    return prefix + format(Decimal(repr(abs(value))).normalize(), "f")


def truthy(value: Any) -> bool:
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return bool(value)
    return True


def to_json(value: Any) -> str:
    """Docker's ``json`` function: compact JSON without HTML escaping."""
    if hasattr(value, "template_json"):
        return str(value.template_json())
    if value is NO_VALUE:
        value = None
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _go_printf(fmt: str, *args: Any) -> str:
    out: list[str] = []
    index = 0
    pos = 0
    for match in re.finditer(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])", fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width, prec, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[index]
        index += 1
        if verb in "sv":
            text = go_str(arg)
        elif verb == "q":
            text = json.dumps(go_str(arg), ensure_ascii=False)
        elif verb == "d":
            text = str(int(arg))
        elif verb == "t":
            text = go_str(bool(arg))
        elif verb in "fFeEgG":
            text = ("%" + ("." + prec if prec else "") + verb.lower()) % float(arg)
            prec = None
        elif verb in "xX":
            text = format(int(arg), verb) if not isinstance(arg, str) else arg.encode().hex()
        else:
            text = go_str(arg)
        if prec and verb in "sv":
            text = text[: int(prec)]
        if width:
            w = int(width)
            text = text.ljust(w) if "-" in flags else text.rjust(w, "0" if "0" in flags else " ")
        out.append(text)
    out.append(fmt[pos:])
    return "".join(out)


def _go_print(*args: Any) -> str:
    # fmt.Sprint puts a space between operands when neither side is a string.
    out = ""
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_str(arg)
    return out


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if value is None or value is NO_VALUE:
            raise TemplateError("error calling index: index of untyped nil")
        if isinstance(value, Mapping):
            value = value.get(key, NO_VALUE)
        elif isinstance(value, list | tuple | str):
            try:
                value = value[int(key)]
            except (IndexError, ValueError) as exc:
                raise TemplateError(f"error calling index: index out of range: {key}") from exc
        else:
            value = _field(value, str(key))
    return value


def _len(value: Any) -> int:
    if value is None or value is NO_VALUE:
        raise TemplateError("error calling len: len of nil pointer")
    try:
        return len(value)
    except TypeError as exc:
        raise TemplateError(f"error calling len: len of type {type(value).__name__}") from exc


def _cmp(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(a: Any, b: Any) -> bool:
        try:
            return op(a, b)
        except TypeError as exc:
            raise TemplateError("incompatible types for comparison") from exc

    return compare


def _eq(a: Any, *others: Any) -> bool:
    return any(a == b for b in others)


def _title(s: Any) -> str:
    return re.sub(r"(^|[^\w])(\w)", lambda m: m.group(1) + m.group(2).upper(), go_str(s))


def _pad(s: Any, left: int, right: int) -> str:
    return " " * int(left) + go_str(s) + " " * int(right)


def _truncate(s: Any, n: int) -> str:
    text = go_str(s)
    return text[: int(n)]


def _split(s: Any, sep: str) -> list[str]:
    return go_str(s).split(sep) if sep else list(go_str(s))


def _join(items: Any, sep: str) -> str:
    if items is None or items is NO_VALUE:
        return ""
    return sep.join(go_str(i) for i in items)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: next((x for x in a if not truthy(x)), a[-1]),
    "or": lambda *a: next((x for x in a if truthy(x)), a[-1]),
    "not": lambda a: not truthy(a),
    "eq": _eq,
    "ne": lambda a, b: a != b,
    "lt": _cmp(lambda a, b: a < b),
    "le": _cmp(lambda a, b: a <= b),
    "gt": _cmp(lambda a, b: a > b),
    "ge": _cmp(lambda a, b: a >= b),
    "len": _len,
    "index": _index,
    "print": _go_print,
    "printf": _go_printf,
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "json": to_json,
    "split": _split,
    "join": _join,
    "title": _title,
    "lower": lambda s: go_str(s).lower(),
    "upper": lambda s: go_str(s).upper(),
    "pad": _pad,
    "truncate": _truncate,
}

# Used when rendering a table header: every function passes its first argument through.
HEADER_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **FUNCTIONS,
    **{
        name: (lambda v="", *_: v)
        for name in ("json", "split", "join", "title", "lower", "upper", "pad", "truncate")
    },
}


def _field(value: Any, name: str) -> Any:
    if value is None or value is NO_VALUE:
        return NO_VALUE
    if isinstance(value, FieldSource):
        try:
            return value.template_field(name)
        except MissingField:
            raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}") from None
    if isinstance(value, Mapping):
        return value.get(name, NO_VALUE)
    if isinstance(value, str | int | float | bool | list | tuple):
        raise TemplateError(f"can't evaluate field {name} in type {_go_type(value)}")
    attr = getattr(value, name, NO_VALUE)
    return attr() if callable(attr) else attr


def _go_type(value: Any) -> str:
    return {str: "string", int: "int", float: "float64", bool: "bool"}.get(type(value), "[]interface {}")


# -- lexing ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)+')
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<chain>(?<=\))(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<dot>\.)
  | (?P<num>[-+]?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()|,])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str


def _lex_action(src: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"unexpected {src[pos]!r} in command")
        kind = m.lastgroup or ""
        if kind != "ws":
            toks.append(Tok(kind, m.group()))
        pos = m.end()
    return toks


# -- parse tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    kind: str  # field, var, dot, lit, ident, pipe
    value: Any = None
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    decl: tuple[str, ...]
    commands: tuple[tuple[Arg, ...], ...]
    assign: bool = False


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Action:
    pipe: Pipeline


@dataclass
class Block:
    kind: str  # if, range, with
    pipe: Pipeline
    body: list[Node] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)


Node = Text | Action | Block


class _PipeParser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def pipeline(self, *, allow_decl: bool = True, in_parens: bool = False) -> Pipeline:
        decl: list[str] = []
        assign = False
        if allow_decl:
            j = self.i
            names: list[str] = []
            while j < len(self.toks) and self.toks[j].kind == "var":
                names.append(self.toks[j].text)
                j += 1
                if j < len(self.toks) and self.toks[j].kind == "punct" and self.toks[j].text == ",":
                    j += 1
                    continue
                break
            if names and j < len(self.toks) and self.toks[j].kind in ("decl", "assign"):
                decl, assign = names, self.toks[j].kind == "assign"
                self.i = j + 1
        commands: list[tuple[Arg, ...]] = []
        args: list[Arg] = []
        while True:
            tok = self.peek()
            if tok is None or (tok.kind == "punct" and tok.text == ")"):
                if in_parens != (tok is not None):
                    raise TemplateError("unclosed left paren" if in_parens else "unexpected right paren")
                if in_parens:
                    self.take()
                break
            tok = self.take()
            if tok.kind == "punct" and tok.text == "|":
                if not args:
                    raise TemplateError("missing command before |")
                commands.append(tuple(args))
                args = []
                continue
            args.append(self.operand(tok))
        if args:
            commands.append(tuple(args))
        elif commands:
            raise TemplateError("missing command after |")
        return Pipeline(tuple(decl), tuple(commands), assign)

    def operand(self, tok: Tok) -> Arg:
        arg = self.term(tok)
        nxt = self.peek()
        if nxt is not None and nxt.kind == "chain":
            self.take()
            arg = Arg(arg.kind, arg.value, arg.chain + tuple(nxt.text.split(".")[1:]))
        return arg

    def term(self, tok: Tok) -> Arg:
        if tok.kind in ("field", "chain"):
            return Arg("field", chain=tuple(tok.text.split(".")[1:]))
        if tok.kind == "dot":
            return Arg("dot")
        if tok.kind == "var":
            name, _, rest = tok.text.partition(".")
            return Arg("var", name, tuple(rest.split(".")) if rest else ())
        if tok.kind == "str":
            return Arg("lit", json.loads(tok.text))
        if tok.kind == "raw":
            return Arg("lit", tok.text[1:-1])
        if tok.kind == "char":
            return Arg("lit", ord(json.loads('"' + tok.text[1:-1] + '"')))
        if tok.kind == "num":
            text = tok.text
            if text.lower().startswith(("0x", "-0x", "+0x")):
                return Arg("lit", int(text, 16))
            return Arg("lit", float(text) if any(c in text for c in ".eE") else int(text))
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return Arg("lit", tok.text == "true")
            if tok.text == "nil":
                return Arg("lit", None)
            return Arg("ident", tok.text)
        if tok.kind == "punct" and tok.text == "(":
            return Arg("pipe", self.pipeline(allow_decl=False, in_parens=True))
        raise TemplateError(f"unexpected {tok.text!r} in command")


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)


def parse(source: str) -> list[Node]:
    """Parse a template into nodes."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    for m in _ACTION.finditer(source):
        text = source[pos : m.start()]
        if m.group(1):
            text = text.rstrip(" \t\r\n")
        if pieces and pieces[-1][0] == "trim":
            text = text.lstrip(" \t\r\n")
            pieces.pop()
        pieces.append(("text", text))
        pieces.append(("action", m.group(2).strip()))
        if m.group(3):
            pieces.append(("trim", ""))
        pos = m.end()
    tail = source[pos:]
    if pieces and pieces[-1][0] == "trim":
        tail = tail.lstrip(" \t\r\n")
        pieces.pop()
    if "{{" in tail:
        raise TemplateError("unclosed action")
    pieces.append(("text", tail))

    root: list[Node] = []
    # (block, in its else branch, opened by "else if"/"else with" and so closed by the outer end)
    stack: list[tuple[Block, bool, bool]] = []

    def target() -> list[Node]:
        if not stack:
            return root
        block, in_else, _ = stack[-1]
        return block.orelse if in_else else block.body

    for kind, text in pieces:
        if kind == "text":
            if text:
                target().append(Text(text))
            continue
        if text.startswith("/*"):
            if not text.endswith("*/"):
                raise TemplateError("unclosed comment")
            continue
        toks = _lex_action(text)
        if not toks:
            raise TemplateError("missing value for command")
        head = toks[0].text if toks[0].kind == "ident" else ""
        if head in ("if", "range", "with"):
            block = Block(head, _parse_pipe(toks[1:], head))
            target().append(block)
            stack.append((block, False, False))
        elif head == "else":
            if not stack or stack[-1][1]:
                raise TemplateError("unexpected {{else}}")
            block, _, chained = stack.pop()
            stack.append((block, True, chained))
            if len(toks) > 1:
                kind2 = toks[1].text
                if kind2 not in ("if", "with") or toks[1].kind != "ident":
                    raise TemplateError(f"unexpected {kind2!r} after else")
                inner = Block(kind2, _parse_pipe(toks[2:], kind2))
                block.orelse.append(inner)
                stack.append((inner, False, True))
        elif head == "end":
            if len(toks) > 1:
                raise TemplateError("unexpected arguments to end")
            if not stack:
                raise TemplateError("unexpected {{end}}")
            while stack:
                _, _, chained = stack.pop()
                if not chained:
                    break
        elif head in ("define", "template", "block", "break", "continue"):
            raise TemplateError(f"{{{{{head}}}}} is not supported")
        else:
            target().append(Action(_parse_pipe(toks, "command")))
    if stack:
        raise TemplateError(f"unexpected EOF: unclosed {{{{{stack[-1][0].kind}}}}}")
    return root


def _parse_pipe(toks: list[Tok], context: str) -> Pipeline:
    if not toks:
        raise TemplateError(f"missing value for {context}")
    parser = _PipeParser(toks)
    return parser.pipeline()


# -- execution ---------------------------------------------------------------------------------


class _Exec:
    def __init__(self, funcs: Mapping[str, Callable[..., Any]], root: Any) -> None:
        self.funcs = funcs
        self.vars: list[dict[str, Any]] = [{"$": root}]
        self.out: list[str] = []

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.vars):
            if name in scope:
                return scope[name]
        raise TemplateError(f"undefined variable: {name}")

    def run(self, nodes: Sequence[Node], dot: Any) -> None:
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipeline(node.pipe, dot)
                if not node.pipe.decl:
                    self.out.append(go_str(value))
            else:
                self.block(node, dot)

    def block(self, node: Block, dot: Any) -> None:
        self.vars.append({})
        try:
            if node.kind == "range":
                self.range(node, dot)
                return
            value = self.pipeline(node.pipe, dot)
            if truthy(value):
                self.run(node.body, value if node.kind == "with" else dot)
            else:
                self.run(node.orelse, dot)
        finally:
            self.vars.pop()

    def range(self, node: Block, dot: Any) -> None:
        pipe = Pipeline((), node.pipe.commands)
        value = self.pipeline(pipe, dot)
        if isinstance(value, Mapping):
            items: list[tuple[Any, Any]] = [(k, value[k]) for k in sorted(value, key=str)]
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        elif value is None or value is NO_VALUE:
            items = []
        else:
            raise TemplateError(f"range can't iterate over {go_str(value)}")
        if not items:
            self.run(node.orelse, dot)
            return
        decl = node.pipe.decl
        for key, elem in items:
            scope = self.vars[-1]
            if len(decl) == 1:
                scope[decl[0]] = elem
            elif len(decl) >= 2:
                scope[decl[0]], scope[decl[1]] = key, elem
            self.run(node.body, elem)

    def pipeline(self, pipe: Pipeline, dot: Any) -> Any:
        value: Any = NO_VALUE
        piped = False
        for command in pipe.commands:
            value = self.command(command, dot, value if piped else None, piped)
            piped = True
        if pipe.decl:
            scope = self.vars[-1]
            if pipe.assign:
                for s in reversed(self.vars):
                    if pipe.decl[0] in s:
                        scope = s
                        break
            scope[pipe.decl[0]] = value
        return value

    def command(self, args: tuple[Arg, ...], dot: Any, prev: Any, piped: bool) -> Any:
        first = args[0]
        if first.kind == "ident":
            fn = self.funcs.get(first.value)
            if fn is None:
                raise TemplateError(f'function "{first.value}" not defined')
            values = [self.arg(a, dot) for a in args[1:]]
            if piped:
                values.append(prev)
            try:
                return fn(*values)
            except TemplateError:
                raise
            except (TypeError, ValueError, AttributeError) as exc:
                raise TemplateError(f"error calling {first.value}: {exc}") from exc
        if len(args) > 1 or piped:
            raise TemplateError(f"can't give argument to non-function {self._describe(first)}")
        return self.arg(first, dot)

    @staticmethod
    def _describe(arg: Arg) -> str:
        if arg.kind == "field":
            return "." + ".".join(arg.chain)
        return str(arg.value)

    def arg(self, arg: Arg, dot: Any) -> Any:
        if arg.kind == "lit":
            base = arg.value
        elif arg.kind in ("dot", "field"):
            base = dot
        elif arg.kind == "var":
            base = self.lookup(arg.value)
        elif arg.kind == "pipe":
            base = self.pipeline(arg.value, dot)
        else:  # a bare function name used as an argument: call it without arguments
            fn = self.funcs.get(arg.value)
            if fn is None:
                raise TemplateError(f'function "{arg.value}" not defined')
            base = fn()
        for name in arg.chain:
            base = _field(base, name)
        return base


@dataclass(frozen=True)
class Template:
    """A parsed template, ready to render against many objects."""

    source: str
    nodes: tuple[Node, ...]

    def render(self, data: Any, *, functions: Mapping[str, Callable[..., Any]] = FUNCTIONS) -> str:
        ex = _Exec(functions, data)
        try:
            ex.run(self.nodes, data)
        except RecursionError as exc:
            raise TemplateError("template recursion too deep") from exc
        return "".join(ex.out)


def compile_template(source: str) -> Template:
    """Parse ``source``; raise TemplateError("template parsing error: …") when it is invalid."""
    return Template(source, tuple(parse(source)))


__all__ = [
    "FUNCTIONS",
    "HEADER_FUNCTIONS",
    "NO_VALUE",
    "FieldSource",
    "MissingField",
    "Template",
    "TemplateError",
    "compile_template",
    "go_str",
    "to_json",
    "truthy",
]

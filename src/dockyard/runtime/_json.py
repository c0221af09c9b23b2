"""Typed reads from config.json with the JSON path of the first bad value in the error."""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class Node:
    """A JSON value and where it sits (``$.linux.namespaces[2].type``)."""

    __slots__ = ("path", "value")

    def __init__(self, value: object, path: str = "$") -> None:
        self.value = value
        self.path = path

    def fail(self, why: str) -> InvalidArgument:
        return InvalidArgument(f"config.json: {self.path}: {why}")

    def obj(self) -> Mapping[str, Any]:
        if not isinstance(self.value, dict):
            raise self.fail(f"expected object, got {_kind(self.value)}")
        return self.value

    def has(self, key: str) -> bool:
        return self.obj().get(key) is not None

    def get(self, key: str) -> Node | None:
        value = self.obj().get(key)
        return None if value is None else Node(value, f"{self.path}.{key}")

    def need(self, key: str) -> Node:
        node = self.get(key)
        if node is None:
            raise Node(None, f"{self.path}.{key}").fail("required property is missing")
        return node

    def items(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.fail(f"expected array, got {_kind(self.value)}")
        return [Node(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]

    def text(self) -> str:
        if not isinstance(self.value, str):
            raise self.fail(f"expected string, got {_kind(self.value)}")
        return self.value

    def integer(self, lo: int | None = None, hi: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            if isinstance(self.value, float) and self.value.is_integer():
                self.value = int(self.value)
            else:
                raise self.fail(f"expected integer, got {_kind(self.value)}")
        if (lo is not None and self.value < lo) or (hi is not None and self.value > hi):
            raise self.fail(f"{self.value} is out of range")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.fail(f"expected boolean, got {_kind(self.value)}")
        return self.value

    def strs(self) -> tuple[str, ...]:
        return tuple(n.text() for n in self.items())

    def str_map(self) -> dict[str, str]:
        return {k: Node(v, f"{self.path}.{k}").text() for k, v in self.obj().items()}

    def enum(self, allowed: frozenset[str] | tuple[str, ...]) -> str:
        text = self.text()
        if text not in allowed:
            raise self.fail(f"{text!r} is not one of {sorted(allowed)}")
        return text


def opt_str(node: Node, key: str, default: str = "") -> str:
    child = node.get(key)
    return default if child is None else child.text()


def opt_int(node: Node, key: str, lo: int | None = None, hi: int | None = None) -> int | None:
    child = node.get(key)
    return None if child is None else child.integer(lo, hi)


def opt_bool(node: Node, key: str, default: bool = False) -> bool:
    child = node.get(key)
    return default if child is None else child.boolean()


def opt_strs(node: Node, key: str) -> tuple[str, ...]:
    child = node.get(key)
    return () if child is None else child.strs()


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "integer", float: "number"}.get(
        type(value), type(value).__name__)

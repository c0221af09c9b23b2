"""``class X(NamedTuple)`` without importing ``typing`` at run time.

``typing`` costs a process about 1.6 MB, and every shim is a fork of one warm process: what that
process imports, each container pays for. Type checkers see ``typing.NamedTuple``; at run time
this builds the same ``collections.namedtuple`` from the class body (field annotations, defaults,
methods), which is all ``typing.NamedTuple`` does too.

    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from dockyard.namedtuples import NamedTuple
"""

from __future__ import annotations

from collections import namedtuple

_CLASS_KEYS = ("__annotations__", "__module__", "__qualname__", "__doc__", "__orig_bases__")


class _Builder(type):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:
            return super().__new__(mcs, name, bases, namespace)
        fields = list(namespace.get("__annotations__", {}))  # type: ignore[call-overload]
        defaults = [namespace[f] for f in fields if f in namespace]
        if any(f not in namespace for f in fields[len(fields) - len(defaults):]):
            raise TypeError(f"{name}: a field without a default follows one with a default")
        cls: type = namedtuple(name, fields, defaults=defaults, module=str(namespace.get("__module__")))  # type: ignore[misc]  # noqa: PYI024
        for key, value in namespace.items():
            if key not in fields and key not in _CLASS_KEYS:
                setattr(cls, key, value)
        cls.__doc__ = namespace.get("__doc__") or cls.__doc__  # type: ignore[assignment]
        cls.__qualname__ = str(namespace.get("__qualname__", name))
        return cls


class NamedTuple(metaclass=_Builder):
    """Subclass with annotated fields, as with ``typing.NamedTuple``."""

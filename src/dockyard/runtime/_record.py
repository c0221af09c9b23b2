"""A cheap stand-in for ``@dataclass`` on the runtime's hot path.

``dataclasses`` compiles an ``__init__``/``__eq__``/``__repr__`` per class with ``exec`` at import
time: about a millisecond a class, which a command that starts a container dozens of times a
second pays on every run. Type checkers see the real ``dataclasses.dataclass`` (the modules import
it under ``TYPE_CHECKING``); at run time ``record`` gives the same constructor, equality, hashing,
repr and immutability from one shared set of functions, without compiling anything.

    if TYPE_CHECKING:
        from dataclasses import dataclass as record, field
    else:
        from dockyard.runtime._record import field, record
"""

from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], object]) -> object:
    """Only ``default_factory`` is supported (the sole use of ``field`` in the runtime)."""
    return _Factory(default_factory)


class FrozenInstanceError(AttributeError):
    pass


def _init(self: object, *args: object, **kwargs: object) -> None:
    cls = type(self)
    names: tuple[str, ...] = cls._record_fields  # type: ignore[attr-defined]
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments but {len(args)} were given")
    values = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in cls._record_defaults and key not in names:  # type: ignore[attr-defined]
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
        if key in values:
            raise TypeError(f"{cls.__name__}() got multiple values for argument {key!r}")
        values[key] = value
    setter = object.__setattr__
    defaults: dict[str, object] = cls._record_defaults  # type: ignore[attr-defined]
    for name in names:
        if name in values:
            setter(self, name, values[name])
        elif name in defaults:
            default = defaults[name]
            setter(self, name, default.make() if isinstance(default, _Factory) else default)
        else:
            raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")


def _astuple(self: object) -> tuple[object, ...]:
    return tuple(getattr(self, n) for n in type(self)._record_fields)  # type: ignore[attr-defined]


def _eq(self: object, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return bool(_astuple(self) == _astuple(other))


def _hash(self: object) -> int:
    return hash(_astuple(self))


def _repr(self: object) -> str:
    inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self)._record_fields)  # type: ignore[attr-defined]
    return f"{type(self).__qualname__}({inner})"


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def record(cls: type | None = None, /, *, frozen: bool = False, slots: bool = False) -> object:
    """``@record`` / ``@record(frozen=True, slots=True)``: fields are the class annotations, in order.
    (``slots`` is accepted for the type checker's sake; instances keep a ``__dict__``.)"""

    def wrap(klass: type) -> type:
        names = tuple(klass.__dict__.get("__annotations__", {}))
        defaults: dict[str, object] = {}
        for name in names:
            if name in klass.__dict__:
                defaults[name] = klass.__dict__[name]
                delattr(klass, name)
        klass._record_fields = names  # type: ignore[attr-defined]
        klass._record_defaults = defaults  # type: ignore[attr-defined]
        klass.__init__ = _init  # type: ignore[misc]
        klass.__eq__ = _eq  # type: ignore[method-assign,assignment]
        klass.__repr__ = _repr  # type: ignore[method-assign,assignment]
        klass.__match_args__ = names  # type: ignore[attr-defined,misc]
        if frozen:
            klass.__hash__ = _hash  # type: ignore[method-assign,assignment]
            klass.__setattr__ = _frozen_setattr  # type: ignore[method-assign,assignment]
            klass.__delattr__ = _frozen_delattr  # type: ignore[method-assign,assignment]
        else:
            klass.__hash__ = None  # type: ignore[assignment]
        return klass

    return wrap if cls is None else wrap(cls)


def replace(obj: object, /, **changes: object) -> object:
    """``dataclasses.replace`` for records."""
    values = {n: getattr(obj, n) for n in type(obj)._record_fields}  # type: ignore[attr-defined]
    values.update(changes)
    return type(obj)(**values)

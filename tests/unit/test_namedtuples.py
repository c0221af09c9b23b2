"""dockyard.namedtuples.NamedTuple builds what typing.NamedTuple builds, without importing typing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dockyard.namedtuples import NamedTuple


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str = ""

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)

    @classmethod
    def origin(cls) -> Point:
        return cls(0)


def test_fields_defaults_and_tuple_behaviour() -> None:
    p = Point(3, -4)
    assert (p.x, p.y, p.label) == (3, -4, "")
    assert p == (3, -4, "") and isinstance(p, tuple)
    assert Point._fields == ("x", "y", "label")
    assert p._replace(label="a") == Point(3, -4, "a")
    assert p._asdict() == {"x": 3, "y": -4, "label": ""}
    x, y, _ = p
    assert (x, y) == (3, -4)
    assert hash(p) == hash((3, -4, ""))


def test_methods_docstring_and_names() -> None:
    assert Point(3, -4).norm1() == 7
    assert Point.origin() == Point(0, 0, "")
    assert Point.__doc__ == "A point."
    assert Point.__name__ == "Point" and Point.__qualname__ == "Point"
    assert Point.__module__ == __name__
    assert repr(Point(1)) == "Point(x=1, y=0, label='')"


def test_immutable() -> None:
    with pytest.raises(AttributeError):
        Point(1).x = 2  # type: ignore[misc]


def test_a_field_without_default_after_one_with_default_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default"):
        class Bad(NamedTuple):  # noqa: F841 - defining it is the test
            a: int = 1
            b: int


def test_typing_stays_unimported() -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from dockyard.namedtuples import NamedTuple\n"
            "class P(NamedTuple):\n    a: int\n"
            "print('typing' in sys.modules)")
    src = str(__import__("pathlib").Path(__import__("dockyard").__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-S", "-I", "-c", code, src], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

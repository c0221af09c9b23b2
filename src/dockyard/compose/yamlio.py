"""YAML in and out, read as Compose reads it (YAML 1.2 core scalars, duplicate keys refused).

PyYAML implements YAML 1.1, where ``yes``/``on`` are booleans, ``22:22`` is a base-60 integer and
``017`` is octal. Compose (Go's yaml.v3) reads YAML 1.2: those stay strings or decimals, which is
what port mappings and environment values need. The C parser is used when PyYAML has it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from dockyard.compose.errors import InvalidProject

# The C parser when PyYAML was built with libyaml.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_DROPPED = {_BOOL, _INT, _FLOAT, "tag:yaml.org,2002:timestamp"}


class ComposeLoader(_BaseLoader):  # type: ignore[misc]
    """A safe loader with the YAML 1.2 core schema's implicit types."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {
        key: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
        for key, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }


ComposeLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
ComposeLoader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
ComposeLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> dict[Any, Any]:
    # Keys written twice are an error (yaml.v3's); keys that "<<" merges in may be overridden.
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "found unhashable key", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f'mapping key "{key}" already defined at line {seen[key] + 1}', key_node.start_mark)
        seen[key] = key_node.start_mark.line
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        mapping[loader.construct_object(key_node, deep=True)] = loader.construct_object(value_node, deep=True)
    return mapping


ComposeLoader.add_constructor(_INT, _construct_int)
ComposeLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_yaml(text: str, source: str) -> Any:
    """Parse one YAML document; errors name the file and line as Compose does."""
    try:
        return yaml.load(text, Loader=ComposeLoader)  # ComposeLoader is a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if problem.startswith("could not determine a constructor for the tag"):
            tag = problem.split("tag", 1)[1].strip().strip("'")
            raise InvalidProject(f"{source}: yaml: {where}unsupported tag {tag}") from None
        raise InvalidProject(f"{source}: yaml: {where}{problem}") from None
    except yaml.YAMLError as exc:
        raise InvalidProject(f"{source}: yaml: {exc}") from None


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Block style, lists indented under their key as Compose prints them (the Python emitter:
    the C one does not let lists be indented)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _str_representer(dumper: Any, data: str) -> Any:
    # Strings that YAML 1.2 would read as another type (or with a newline) are quoted.
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if _needs_quotes(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _needs_quotes(data: str) -> bool:
    """Strings a YAML reader (1.2, or the 1.1 most tools still use) would take for another type."""
    if data == "" or data.lower() in ("true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"):
        return True
    for tag, rx in (t for resolvers in ComposeLoader.yaml_implicit_resolvers.values() for t in resolvers):
        if tag in (_INT, _FLOAT) and rx.match(data):
            return True
    return re.fullmatch(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|0[0-7_]+", data) is not None


_Dumper.add_representer(str, _str_representer)


def dump_yaml(data: Any) -> str:
    """Block-style YAML of plain data, keys in the order given."""
    text: str = yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                          width=1 << 16, indent=2)
    return text


__all__ = ["ComposeLoader", "dump_yaml", "load_yaml"]

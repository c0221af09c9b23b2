"""The services' dependency graph: start order, stop order, what a service pulls in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dockyard.compose.errors import InvalidProject
from dockyard.compose.model import Service


def _edges(services: Sequence[Service]) -> dict[str, tuple[str, ...]]:
    known = {s.name for s in services}
    return {s.name: tuple(d for d in s.dependency_names() if d in known) for s in services}


def check_cycles(services: Sequence[Service]) -> None:
    """Raise Compose's error naming the cycle, if the dependencies have one."""
    edges = _edges(services)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in edges[name]:
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                raise InvalidProject(f"dependency cycle detected: {' -> '.join(cycle)}")
            if state.get(dep) is None:
                visit(dep)
        path.pop()
        state[name] = 2

    for service in services:
        if state.get(service.name) is None:
            visit(service.name)


def start_order(services: Sequence[Service]) -> list[str]:
    """Every service after those it depends on; otherwise in the order given."""
    check_cycles(services)
    edges = _edges(services)
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dep in edges[name]:
            visit(dep)
        done.append(name)

    for service in services:
        visit(service.name)
    return done


def stop_order(services: Sequence[Service]) -> list[str]:
    """Dependents first: the reverse of the start order."""
    return list(reversed(start_order(services)))


def with_dependencies(services: Sequence[Service], names: Iterable[str]) -> set[str]:
    """``names`` and everything they depend on, transitively."""
    edges = _edges(services)
    result: set[str] = set()
    todo = [n for n in names if n in edges]
    while todo:
        name = todo.pop()
        if name in result:
            continue
        result.add(name)
        todo.extend(edges[name])
    return result


def dependents(services: Sequence[Service], name: str) -> list[str]:
    """Services that depend on ``name``, directly or not, in start order."""
    edges = _edges(services)
    result: set[str] = set()
    changed = True
    while changed:
        changed = False
        for service, deps in edges.items():
            if service not in result and (name in deps or result & set(deps)):
                result.add(service)
                changed = True
    return [n for n in start_order(services) if n in result]


__all__ = ["check_cycles", "dependents", "start_order", "stop_order", "with_dependencies"]

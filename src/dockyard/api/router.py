"""Route table: (method, path pattern) → handler; path parameters may contain slashes (image names)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dockyard.http.server import Request, Response

RouteHandler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler


def compile_template(template: str) -> re.Pattern[str]:
    """``/images/{name:.+}/json`` → a regex; ``{x}`` matches one segment, ``{x:.+}`` anything."""
    out = "^"
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{"):
            name, _, rx = part[1:-1].partition(":")
            out += f"(?P<{name}>{rx or '[^/]+'})"
        else:
            out += re.escape(part)
    return re.compile(out + "$")


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: RouteHandler) -> None:
        self.routes.append(Route(method, compile_template(template), handler))

    def match(self, method: str, path: str) -> tuple[RouteHandler | None, dict[str, str], bool]:
        """(handler, params, path_exists); HEAD falls back to GET."""
        path_exists = False
        for route in self.routes:
            m = route.pattern.match(path)
            if not m:
                continue
            path_exists = True
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route.handler, m.groupdict(), True
        return None, {}, path_exists

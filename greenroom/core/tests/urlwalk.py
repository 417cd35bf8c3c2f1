"""Every URL pattern of the site, for tests that crawl it (secret leaks, the page matrix)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


def walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry, route)
        else:
            yield route, entry


@dataclass(frozen=True)
class Route:
    route: str  # as Django joins it: "publishing/posts/<int:pk>/"
    name: str  # namespaced: "media:asset"; the route itself when the pattern has no name
    pattern: URLPattern

    @property
    def int_params(self) -> list[str]:
        converters = getattr(self.pattern.pattern, "converters", {})
        return [n for n, c in converters.items() if type(c).__name__ == "IntConverter"]

    def fill(self, value: int) -> str:
        path = self.route
        for name in self.int_params:
            path = path.replace(f"<int:{name}>", str(value))
        return "/" + path


def _named(resolver: URLResolver, prefix: str = "", ns: str = "") -> Iterator[Route]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{ns}{entry.namespace}:" if entry.namespace else ns
            yield from _named(entry, route, inner)
        else:
            yield Route(route, f"{ns}{entry.name}" if entry.name else route, entry)


def site_routes() -> list[Route]:
    """Every URL pattern the project serves, in resolution order."""
    return list(_named(get_resolver()))

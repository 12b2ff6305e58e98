"""Deny by default: every URL pattern reaches a view with a declared access policy."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

from tongxin.core.policy import declared_policy


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def test_every_view_declares_an_access_policy():
    undeclared = [
        route
        for route, entry in _walk(get_resolver().url_patterns)
        if not declared_policy(entry.callback)
    ]
    assert undeclared == [], f"views without a declared policy: {undeclared}"


def test_the_walk_sees_the_api_and_the_pages():
    routes = [route for route, _ in _walk(get_resolver().url_patterns)]
    assert "accounts/login/" in routes
    assert "api/v1/auth/token/" in routes

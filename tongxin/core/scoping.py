"""Who may see what: a user's power is the union of the subtrees of their role assignments.

Scope is data (ARCHITECTURE.md 3): every scoped row reaches an org node whose materialized
path starts with the path of a node the user holds a role at. Each model's `visible_to(user)`
selector is built from `subtree_q()`; each `rules` predicate from `holds_role_over()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

_CACHE_ATTR = "_tongxin_grants"


@dataclass(frozen=True)
class Grant:
    role: str
    node_id: int
    path: str
    unit_id: int | None


def grants(user) -> tuple[Grant, ...]:
    """The user's role assignments, fetched once per user object (i.e. once per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        from tongxin.accounts.models import RoleAssignment

        rows = RoleAssignment.objects.filter(user=user, node__closed_at__isnull=True).values_list(
            "role", "node_id", "node__path", "unit_id"
        )
        cached = tuple(Grant(*row) for row in rows)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_grants(user) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def has_role(user, roles: Iterable[str]) -> bool:
    wanted = set(roles)
    return any(g.role in wanted for g in grants(user))


def scope_paths(user, roles: Iterable[str]) -> list[str]:
    """Paths of the nodes where the user holds any of `roles`, with nested ones folded away."""
    wanted = set(roles)
    paths = sorted({g.path for g in grants(user) if g.role in wanted})
    folded: list[str] = []
    for path in paths:
        if not folded or not path.startswith(folded[-1]):
            folded.append(path)
    return folded


def subtree_q(paths: Iterable[str], field: str = "path") -> Q:
    """Rows whose `field` lies in any of the subtrees; an empty Q-set matches nothing."""
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(**{f"{field}__startswith": path})
    return query


def holds_role_over(user, path: str, roles: Iterable[str], *, strict: bool = False) -> bool:
    """Does the user hold one of `roles` at the node with `path` or (strictly) above it?"""
    wanted = set(roles)
    for grant in grants(user):
        if grant.role not in wanted or not path.startswith(grant.path):
            continue
        if strict and path == grant.path:
            continue
        return True
    return False

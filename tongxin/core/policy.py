"""Every view declares who may reach it; an undeclared view fails the URL-policy test.

A policy is checked before the view runs: `public` (login page, health check), any signed-in user,
or a signed-in user holding one of the listed roles somewhere. Object-level scope (which nodes,
which rows) is then the view's job, through `get_<x>_for_user` and `visible_to` selectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from tongxin.core.scoping import has_role

ATTR = "tongxin_policy"


@dataclass(frozen=True)
class Policy:
    public: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)

    def allows(self, user: Any) -> bool:
        if self.public:
            return True
        if user is None or not user.is_authenticated:
            return False
        return not self.roles or has_role(user, self.roles)


PUBLIC = Policy(public=True)
SIGNED_IN = Policy()


def roles(*names: Iterable[str] | str) -> Policy:
    flat: set[str] = set()
    for name in names:
        flat.update([name] if isinstance(name, str) else name)
    return Policy(roles=frozenset(flat))


def _check(policy: Policy, request: HttpRequest) -> HttpResponse | None:
    if policy.allows(request.user):
        return None
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied


def policy(
    declared: Policy,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a function view with its access policy, enforced before the view runs."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return _check(declared, request) or view(request, *args, **kwargs)

        setattr(wrapped, ATTR, declared)
        return wrapped

    return decorate


class PolicyMixin:
    """For class-based views: set `tongxin_policy = ...` on the class."""

    tongxin_policy: Policy

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _check(self.tongxin_policy, request) or super().dispatch(request, *args, **kwargs)


class PolicyPermission(BasePermission):
    """DRF side: the view class's `tongxin_policy` decides; a view without one is refused."""

    def has_permission(self, request: Any, view: Any) -> bool:
        declared: Policy | None = getattr(view, ATTR, None)
        return declared is not None and declared.allows(request.user)


def declared_policy(callback: Any) -> Policy | None:
    """The policy of a resolved URL callback, whatever kind of view it is."""
    for holder in (callback, getattr(callback, "cls", None), getattr(callback, "view_class", None)):
        found = getattr(holder, ATTR, None) if holder is not None else None
        if found is not None:
            return found
    return None

"""A password that must be changed blocks every page until it is (SECURITY.md 2).

Two reasons: an official's password older than the maximum age (90 days by default), or a
password an administrator chose (new account, reset), which the administrator knows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import OFFICIAL_ROLES
from tongxin.core.scoping import grants

# Only what is needed to change the password (or leave) stays reachable; listing whole prefixes
# such as /accounts/ would also exempt the administrators' pages that live under it.
_ALWAYS_ALLOWED_PREFIXES = ("/static/", "/i18n/", "/api/", "/healthz")
_ALWAYS_ALLOWED_VIEWS = ("accounts:login", "accounts:logout", "accounts:password_change")


def password_expired(user: Any) -> bool:
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    if not max_age or not user.is_authenticated:
        return False
    if not any(g.role in OFFICIAL_ROLES for g in grants(user)):
        return False
    changed = user.password_changed_at or user.date_joined
    return changed < timezone.now() - timedelta(days=max_age)


def must_change_password(user: Any) -> bool:
    return user.is_authenticated and (user.must_change_password or password_expired(user))


class PasswordExpiryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._allowed_paths: frozenset[str] | None = None

    def _exempt(self, path: str) -> bool:
        if self._allowed_paths is None:
            self._allowed_paths = frozenset(reverse(name) for name in _ALWAYS_ALLOWED_VIEWS)
        return path in self._allowed_paths or path.startswith(_ALWAYS_ALLOWED_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._exempt(request.path) and must_change_password(request.user):
            if request.headers.get("HX-Request"):
                # An htmx fragment (the inbox badge) must not swap a whole page into itself.
                return HttpResponse(status=204)
            return redirect(reverse("accounts:password_change") + "?expired=1")
        return self.get_response(request)

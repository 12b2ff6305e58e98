"""Officials whose password is older than the maximum age must change it first (SECURITY.md 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import OFFICIAL_ROLES
from tongxin.core.scoping import grants

_ALWAYS_ALLOWED = ("/accounts/", "/static/", "/i18n/", "/api/")


def password_expired(user) -> bool:
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    if not max_age or not user.is_authenticated:
        return False
    if not any(g.role in OFFICIAL_ROLES for g in grants(user)):
        return False
    changed = user.password_changed_at or user.date_joined
    return changed < timezone.now() - timedelta(days=max_age)


class PasswordExpiryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_ALWAYS_ALLOWED) and password_expired(request.user):
            return redirect(reverse("accounts:password_change") + "?expired=1")
        return self.get_response(request)

"""What a signed-in user must do before anything else (SECURITY.md 2 and 5).

1. A session of a user with a two-factor device that this device did not verify (a login that
   bypassed the code step, or a device reset or re-enrolled since) is ended at once.
2. A password that must be changed blocks every page until it is: an official's password older
   than the maximum age (90 days by default), or a password an administrator chose (new
   account, reset), which the administrator knows. The API answers 403 with a machine-readable
   code instead (`password_change_refusal`): here for a session, in `ExpiringTokenAuthentication`
   for a token, and the token endpoint issues none; the password is changed on the web page.
3. Under TONGXIN_REQUIRE_2FA=officials, an official without a two-factor device is sent to
   enrol one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts import two_factor
from tongxin.accounts.models import OFFICIAL_ROLES
from tongxin.core.scoping import grants

# Only what is needed to change the password (or leave) stays reachable; listing whole prefixes
# such as /accounts/ would also exempt the administrators' pages that live under it. The token
# endpoint authenticates by its own credentials and refuses such a user itself.
_ALWAYS_ALLOWED_PREFIXES = ("/static/", "/i18n/", "/healthz")
_ALWAYS_ALLOWED_VIEWS = (
    "accounts:login",
    "accounts:logout",
    "accounts:password_change",
    "api-token",
)
# Enrolment: the same, plus the enrolment page itself; the API is not exempt (a session of an
# official who must enrol gets 403 there; token clients are refused a token instead).
_ENROL_ALLOWED_PREFIXES = ("/static/", "/i18n/", "/healthz")
_ENROL_ALLOWED_VIEWS = (*_ALWAYS_ALLOWED_VIEWS, "accounts:otp_setup", "accounts:login_otp")


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


PASSWORD_CHANGE_REQUIRED = "password_change_required"  # noqa: S105 (an error code)


def password_change_refusal() -> dict[str, str]:
    """The API's answer (403) to a user who must change their password first."""
    return {
        "detail": _("您的密码已过期或为管理员设置的初始密码，请先在网页上修改密码，再使用接口。"),
        "code": PASSWORD_CHANGE_REQUIRED,
    }


class PasswordExpiryMiddleware:
    """The account gate: stale two-factor sessions, password changes, two-factor enrolment."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._allowed_paths: frozenset[str] | None = None
        self._enrol_paths: frozenset[str] | None = None

    def _exempt(self, path: str) -> bool:
        if self._allowed_paths is None:
            self._allowed_paths = frozenset(reverse(name) for name in _ALWAYS_ALLOWED_VIEWS)
        return path in self._allowed_paths or path.startswith(_ALWAYS_ALLOWED_PREFIXES)

    def _enrol_exempt(self, path: str) -> bool:
        if self._enrol_paths is None:
            self._enrol_paths = frozenset(reverse(name) for name in _ENROL_ALLOWED_VIEWS)
        return path in self._enrol_paths or path.startswith(_ENROL_ALLOWED_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or request.path.startswith("/static/"):
            return self.get_response(request)
        if two_factor.session_is_stale(request):
            logout(request)
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("会话已失效，请重新登录。")}, status=401)
            if request.headers.get("HX-Request"):
                return HttpResponse(status=204)
            messages.info(request, _("动态口令已变更，请重新登录。"))
            return redirect("accounts:login")
        if not self._exempt(request.path) and must_change_password(user):
            if request.path.startswith("/api/"):
                return JsonResponse(password_change_refusal(), status=403)
            if request.headers.get("HX-Request"):
                # An htmx fragment (the inbox badge) must not swap a whole page into itself.
                return HttpResponse(status=204)
            return redirect(reverse("accounts:password_change") + "?expired=1")
        if not self._enrol_exempt(request.path) and two_factor.must_enrol(user):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("请先在网页上绑定动态口令。")}, status=403)
            if request.headers.get("HX-Request"):
                return HttpResponse(status=204)
            return redirect("accounts:otp_setup")
        return self.get_response(request)

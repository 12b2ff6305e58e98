"""Two-factor sign-in (SECURITY.md 5): who must use it, and the two-step session handshake.

Policy, `settings.REQUIRE_2FA` (env TONGXIN_REQUIRE_2FA):

- ``officials`` (production default): a user holding any official role (OFFICIAL_ROLES, which
  includes the three administrators) must enrol an authenticator app before doing anything else,
  and the API refuses them a token until they have;
- ``off`` (development and demo default): nobody is forced to enrol.

Under both, a user who *has* a confirmed device gives a code after the password at every sign-in,
on the page and for an API token.

The page flow: the password step does not log the session in. It leaves a short-lived "pending"
marker (user id, backend, password hash) in the anonymous session and sends the browser to the
code step; only a right code calls `login()`. The session then remembers which device verified
it; `PasswordExpiryMiddleware` ends any session of a user with a device that was not verified by
that very device (a device reset or re-enrolled elsewhere ends every older session).

A wrong code is a failed sign-in for django-axes (`user_login_failed` with the username), so code
guessing and password guessing share one limit: 5 failures lock the username for 30 minutes.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import signals
from django.http import HttpRequest

from tongxin.accounts.models import OFFICIAL_ROLES, TotpDevice, User
from tongxin.core.scoping import grants

POLICY_OFFICIALS = "officials"
POLICY_OFF = "off"
POLICIES = (POLICY_OFFICIALS, POLICY_OFF)

PENDING_KEY = "tongxin_2fa_pending"
VERIFIED_KEY = "tongxin_2fa_device"
# How long the code step waits after a right password before the password must be given again.
PENDING_SECONDS = 300
STAGE = "otp"


def policy() -> str:
    value = getattr(settings, "REQUIRE_2FA", None)
    if value is None:
        value = POLICY_OFFICIALS if getattr(settings, "PRODUCTION", False) else POLICY_OFF
    return value if value in POLICIES else POLICY_OFFICIALS


def is_official(user: Any) -> bool:
    return any(g.role in OFFICIAL_ROLES for g in grants(user))


def confirmed_device(user: Any) -> TotpDevice | None:
    if not getattr(user, "pk", None):
        return None
    return TotpDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).first()


def must_enrol(user: Any) -> bool:
    """A signed-in official without a device, while the policy requires one."""
    return (
        policy() == POLICY_OFFICIALS
        and user.is_authenticated
        and is_official(user)
        and confirmed_device(user) is None
    )


# --- the session handshake --------------------------------------------------------------------


def begin_pending(request: HttpRequest, user: User, next_url: str) -> None:
    request.session[PENDING_KEY] = {
        "user_id": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
        "auth_hash": user.get_session_auth_hash(),
        "since": time.time(),
        "next": next_url,
    }


def pending_user(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """The user whose password was right a moment ago in this session, if still waiting."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    if time.time() - float(data.get("since", 0)) > PENDING_SECONDS:
        clear_pending(request)
        return None
    user = User.objects.filter(pk=data.get("user_id"), is_active=True).first()
    if user is None or user.get_session_auth_hash() != data.get("auth_hash"):
        clear_pending(request)
        return None
    user.backend = data.get("backend")
    return user, data


def clear_pending(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)


def mark_verified(request: HttpRequest, device: TotpDevice) -> None:
    request.session[VERIFIED_KEY] = device.pk


def session_is_stale(request: HttpRequest) -> bool:
    """A signed-in session that a device should have verified but did not (or another did)."""
    verified_by = request.session.get(VERIFIED_KEY)
    device = confirmed_device(request.user)
    if device is None:
        # Verified by a device that has since been reset: the session ends with it.
        return verified_by is not None
    return verified_by != device.pk


def count_failure(request: Any, user: User) -> None:
    """A wrong code counts as a failed sign-in of that username (django-axes lockout)."""
    signals.user_login_failed.send(
        sender=__name__,
        credentials={"username": user.get_username(), "tongxin_stage": STAGE},
        request=request,
    )


def is_locked(request: Any, user: User) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, {"username": user.get_username()})

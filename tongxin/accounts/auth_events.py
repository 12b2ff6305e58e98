"""Audit every login, logout, failed login and lockout (SECURITY.md 9).

Django's auth signals are the one place every login path (pages, API token, admin) meets, so the
audit hooks here rather than in each view.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import signals

from tongxin.core.audit import audit
from tongxin.core.models import AuditOutcome


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit(actor=user, action="accounts.login", obj=user)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit(actor=user, action="accounts.logout", obj=user)


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    if credentials.get("tongxin_stage") == "otp":
        # A wrong sign-in code: `totp_verify` has audited it (accounts.otp.verify, failure); the
        # signal is sent only so django-axes counts it toward the username's lockout.
        return
    username = str(credentials.get("username", ""))[:150]
    audit(
        actor=None,
        username=username,
        action="accounts.login_failed",
        object_type="accounts.user",
        object_repr=username,
        outcome=AuditOutcome.FAILURE,
    )


def _locked_out(sender: Any, request: Any = None, username: Any = None, **kw: Any) -> None:
    # Sent by django-axes on the failure that reaches the limit and on each attempt while locked.
    name = str(username or "")[:150]
    audit(
        actor=None,
        username=name,
        action="accounts.locked_out",
        object_type="accounts.user",
        object_repr=name,
        outcome=AuditOutcome.DENIED,
    )


def connect() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="tongxin_audit_locked_out")
    signals.user_logged_in.connect(_logged_in, dispatch_uid="tongxin_audit_login")
    signals.user_logged_out.connect(_logged_out, dispatch_uid="tongxin_audit_logout")
    signals.user_login_failed.connect(_login_failed, dispatch_uid="tongxin_audit_login_failed")

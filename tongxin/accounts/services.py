"""Account writes. Every change here is audited; permission changes name both sides."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from tongxin.accounts.models import User
from tongxin.core.audit import audit


def user_change_password(*, actor: User, user: User, new_password: str) -> User:
    """Set a new password after the policy validators accept it; restarts the 90-day clock."""
    validate_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        audit(actor=actor, action="accounts.password_change", obj=user)
    return user

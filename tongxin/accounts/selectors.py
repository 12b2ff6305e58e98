"""Reads for the three separated administrators (三员分立, SECURITY.md 8).

Each selector checks the caller's duty itself, so a view or API endpoint that forgot its policy
still cannot hand the audit trail to the security administrator or the user list to the auditor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role, RoleAssignment, TotpDevice, User
from tongxin.core.models import AuditRecord, JobFailure
from tongxin.core.scoping import has_role, scope_paths, subtree_q
from tongxin.orgs.models import OrgNode, ResidentUnit


def ensure_duty(actor: Any, role: str) -> None:
    """Refuse unless the actor holds `role`; `None` is a trusted system process (seed, command)."""
    if actor is None:
        return
    if not has_role(actor, {role}):
        raise PermissionDenied(_("此操作仅限%(duty)s。") % {"duty": Role(role).label})


# --- users (system administrator) -------------------------------------------------------------


def users_for_admin(actor: Any) -> QuerySet[User]:
    """Every account with its role assignments, in a constant number of queries."""
    ensure_duty(actor, Role.SYS_ADMIN)
    assignments = RoleAssignment.objects.select_related("node", "unit").order_by("node__path")
    return User.objects.prefetch_related(Prefetch("assignments", queryset=assignments)).order_by(
        "username"
    )


def get_user_for_admin(actor: Any, pk: int) -> User:
    found = users_for_admin(actor).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def user_by_username(username: str) -> User | None:
    return User.objects.filter(username=username.strip()).first()


# --- role assignments (security administrator) ------------------------------------------------


def _sec_paths(actor: Any) -> list[str]:
    ensure_duty(actor, Role.SEC_ADMIN)
    return scope_paths(actor, {Role.SEC_ADMIN})


def assignments_visible_to(actor: Any) -> QuerySet[RoleAssignment]:
    """Assignments at nodes inside the security administrator's subtree."""
    return (
        RoleAssignment.objects.filter(subtree_q(_sec_paths(actor), "node__path"))
        .select_related("user", "node", "unit", "granted_by")
        .order_by("node__path", "role", "user__username")
    )


def get_assignment_for_user(actor: Any, pk: int) -> RoleAssignment:
    """An assignment outside the actor's subtree is reported as missing, like a wrong id."""
    found = assignments_visible_to(actor).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def grantable_nodes(actor: Any) -> QuerySet[OrgNode]:
    """Open nodes where the security administrator may grant roles."""
    return OrgNode.objects.filter(subtree_q(_sec_paths(actor)), closed_at__isnull=True).order_by(
        "path"
    )


def grantable_units(actor: Any) -> QuerySet[ResidentUnit]:
    return (
        ResidentUnit.objects.filter(subtree_q(_sec_paths(actor), "node__path"))
        .filter(closed_at__isnull=True)
        .select_related("node")
        .order_by("node__path", "name")
    )


@dataclass(frozen=True)
class Lockout:
    username: str
    failures: int
    last_attempt: datetime
    last_ip: str | None
    addresses: int

    @property
    def locked_until(self) -> datetime:
        # Failures older than the cool-off stop counting, so the newest one bounds the lock.
        return self.last_attempt + settings.AXES_COOLOFF_TIME


def current_lockouts(actor: Any) -> list[Lockout]:
    """Usernames locked right now: failures inside the cool-off window reach the limit.

    django-axes keeps one row per (username, address, browser); a username lock sums them,
    which is exactly how axes itself decides (AXES_LOCKOUT_PARAMETERS = ["username"]).
    """
    ensure_duty(actor, Role.SEC_ADMIN)
    threshold = timezone.now() - settings.AXES_COOLOFF_TIME
    recent = AccessAttempt.objects.filter(attempt_time__gte=threshold, username__isnull=False)
    last_ip = (
        recent.filter(username=OuterRef("username"))
        .order_by("-attempt_time")
        .values("ip_address")[:1]
    )
    rows = (
        recent.values("username")
        .annotate(
            failures=Sum("failures_since_start"),
            last_attempt=Max("attempt_time"),
            addresses=Count("ip_address", distinct=True),
            last_ip=Subquery(last_ip),
        )
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last_attempt")
    )
    return [Lockout(**row) for row in rows]


# --- audit trail (audit administrator) and job failures (system administrator) ----------------


def audit_records_for(actor: Any) -> QuerySet[AuditRecord]:
    """The whole trail, newest first; only the audit administrator reads it."""
    ensure_duty(actor, Role.AUDIT_ADMIN)
    return AuditRecord.objects.order_by("-id")


def job_failures_for(actor: Any) -> QuerySet[JobFailure]:
    ensure_duty(actor, Role.SYS_ADMIN)
    return JobFailure.objects.order_by("-failed_at", "-id")


# --- two-factor devices (security administrator) ----------------------------------------------


def totp_devices_visible_to(actor: Any) -> QuerySet[TotpDevice]:
    """Devices of users holding a role inside the security administrator's subtree."""
    users = RoleAssignment.objects.filter(subtree_q(_sec_paths(actor), "node__path")).values(
        "user_id"
    )
    return (
        TotpDevice.objects.filter(user_id__in=users)
        .select_related("user")
        .order_by("user__username")
    )


def get_user_with_device_for(actor: Any, user_pk: int) -> User:
    device = totp_devices_visible_to(actor).filter(user_id=user_pk).first()
    if device is None:
        raise Http404
    return device.user

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
from django.db.models import (
    CharField,
    Count,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role, RoleAssignment, TotpDevice, User
from tongxin.core.models import AuditRecord, JobFailure
from tongxin.core.scoping import has_role, scope_paths, subtree_q
from tongxin.orgs.models import OrgNode, ResidentUnit
from tongxin.orgs.tree import depth_of


def ensure_duty(actor: Any, role: str) -> None:
    """Refuse unless the actor holds `role`; `None` is a trusted system process (seed, command)."""
    if actor is None:
        return
    if not has_role(actor, {role}):
        raise PermissionDenied(_("此操作仅限%(duty)s。") % {"duty": Role(role).label})


# --- scope of the three administrators ----------------------------------------------------------
#
# Each administrator holds their role at a node and sees the accounts of that subtree: users
# holding a role assignment inside it, or created there (`User.created_in`, before any role is
# granted). An administrator at a district (a root of the tree) also sees the accounts that
# belong nowhere yet: no role and no place of creation (seed data, management commands, every
# role revoked). Only such district administrators see the whole audit trail.


def is_top_level(actor: Any, role: str) -> bool:
    """Does the actor hold `role` at a district, a root of the organization tree?"""
    return any(depth_of(path) == 1 for path in scope_paths(actor, {role}))


def users_in_scope(actor: Any, role: str) -> QuerySet[User]:
    """Accounts inside the subtrees where the actor holds `role` (see above); no duty check."""
    paths = scope_paths(actor, {role})
    holders = RoleAssignment.objects.filter(subtree_q(paths, "node__path")).values("user_id")
    query = Q(pk__in=holders) | subtree_q(paths, "created_in__path")
    if any(depth_of(path) == 1 for path in paths):
        anywhere = RoleAssignment.objects.filter(user_id=OuterRef("pk"))
        query |= Q(~Exists(anywhere), created_in__isnull=True)
    return User.objects.filter(query)


def user_in_scope(actor: Any, role: str, user: User) -> bool:
    return users_in_scope(actor, role).filter(pk=user.pk).exists()


def roles_outside_scope(actor: Any, role: str, user: User) -> bool:
    """Does `user` hold a role outside the subtrees where the actor holds `role`?

    Seeing an account needs one of its roles in scope; changing it (password, active flag,
    two-factor device) needs all of them: a street's administrator must not take over an account
    that also works for the district.
    """
    paths = scope_paths(actor, {role})
    return RoleAssignment.objects.filter(user=user).exclude(subtree_q(paths, "node__path")).exists()


# --- users (system administrator) -------------------------------------------------------------


def users_for_admin(actor: Any) -> QuerySet[User]:
    """The accounts in the system administrator's scope, with their role assignments.

    Constant number of queries. A trusted process (`actor=None`) sees every account.
    """
    ensure_duty(actor, Role.SYS_ADMIN)
    assignments = RoleAssignment.objects.select_related("node", "unit").order_by("node__path")
    users = User.objects.all() if actor is None else users_in_scope(actor, Role.SYS_ADMIN)
    return (
        users.select_related("created_in")
        .prefetch_related(Prefetch("assignments", queryset=assignments))
        .order_by("username")
    )


def get_user_for_admin(actor: Any, pk: int) -> User:
    """An account outside the administrator's scope is reported as missing, like a wrong id."""
    found = users_for_admin(actor).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def creation_nodes(actor: Any) -> QuerySet[OrgNode]:
    """Open nodes where the system administrator may create accounts."""
    ensure_duty(actor, Role.SYS_ADMIN)
    paths = scope_paths(actor, {Role.SYS_ADMIN})
    return OrgNode.objects.filter(subtree_q(paths), closed_at__isnull=True).order_by("path")


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


def lockout_scope_q(actor: Any) -> Q:
    """Login failures the security administrator may see and clear, by the username typed.

    Failures of accounts in their scope; at a district, also of usernames no account has.
    """
    visible = users_in_scope(actor, Role.SEC_ADMIN).values("username")
    query = Q(username__in=visible)
    if is_top_level(actor, Role.SEC_ADMIN):
        query |= ~Q(username__in=User.objects.values("username"))
    return query


def current_lockouts(actor: Any) -> list[Lockout]:
    """Usernames locked right now: failures inside the cool-off window reach the limit.

    django-axes keeps one row per (username, address, browser); a username lock sums them,
    which is exactly how axes itself decides (AXES_LOCKOUT_PARAMETERS = ["username"]).
    """
    ensure_duty(actor, Role.SEC_ADMIN)
    threshold = timezone.now() - settings.AXES_COOLOFF_TIME
    recent = AccessAttempt.objects.filter(attempt_time__gte=threshold, username__isnull=False)
    if actor is not None:
        recent = recent.filter(lockout_scope_q(actor))
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
    """The trail, newest first; only the audit administrator reads it.

    An audit administrator at a district reads the whole trail. One lower down reads what the
    accounts in their subtree did, the failed sign-ins under those usernames, and what was done
    to those accounts; system processes and other subtrees stay out of their view.
    """
    ensure_duty(actor, Role.AUDIT_ADMIN)
    records = AuditRecord.objects.order_by("-id")
    if actor is None or is_top_level(actor, Role.AUDIT_ADMIN):
        return records
    users = users_in_scope(actor, Role.AUDIT_ADMIN)
    ids_as_text = users.annotate(text_id=Cast("pk", CharField())).values("text_id")
    return records.filter(
        Q(actor_id__in=users.values("pk"))
        | Q(actor_id__isnull=True, actor_username__in=users.values("username"))
        | Q(object_type="accounts.user", object_id__in=ids_as_text)
    )


def job_failures_for(actor: Any) -> QuerySet[JobFailure]:
    """Failed background jobs belong to no subtree: only a district system administrator's."""
    ensure_duty(actor, Role.SYS_ADMIN)
    failures = JobFailure.objects.order_by("-failed_at", "-id")
    if actor is not None and not is_top_level(actor, Role.SYS_ADMIN):
        return failures.none()
    return failures


# --- two-factor devices (security administrator) ----------------------------------------------


def totp_devices_visible_to(actor: Any) -> QuerySet[TotpDevice]:
    """Devices of the accounts in the security administrator's scope."""
    ensure_duty(actor, Role.SEC_ADMIN)
    users = users_in_scope(actor, Role.SEC_ADMIN).values("pk")
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

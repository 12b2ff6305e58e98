"""Account writes. Every change here is audited; permission changes name both sides.

三员分立 (SECURITY.md 8) is enforced here rather than only in views: the system administrator
manages accounts but grants no roles, the security administrator grants roles and unlocks accounts
but creates no users, the audit administrator only reads (and exports) the audit trail. Nobody
changes their own rights. An `actor` of `None` is a trusted system process (seed data, a
management command); every request passes its user, signed in or not.
"""

from __future__ import annotations

from typing import Any

from axes.utils import reset as axes_reset
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from tongxin.accounts import totp
from tongxin.accounts.models import ADMIN_ROLES, Role, RoleAssignment, TotpDevice, User
from tongxin.accounts.selectors import (
    ensure_duty,
    is_top_level,
    roles_outside_scope,
    user_in_scope,
)
from tongxin.core.audit import audit
from tongxin.core.models import AuditOutcome, AuditRecord
from tongxin.core.scoping import forget_grants, holds_role_over, scope_paths
from tongxin.orgs.models import OrgNode, ResidentUnit

# The largest audit export: beyond this the auditor narrows the filters (memory and file size).
AUDIT_EXPORT_MAX_ROWS = 100_000


def _refuse(
    *, actor: Any, action: str, reason: str, obj: Any = None, changes: dict[str, Any] | None = None
) -> PermissionDenied:
    """Record a refused attempt (in its own transaction, to survive the refusal); build the error.

    Attempts to exceed one's duties are exactly what an auditor looks for (SECURITY.md 9).
    """
    audit(
        actor=actor,
        action=action,
        obj=obj,
        outcome=AuditOutcome.DENIED,
        changes={"reason": reason, **(changes or {})},
    )
    return PermissionDenied(reason)


def _require_duty(actor: Any, role: str, action: str, obj: Any = None) -> None:
    try:
        ensure_duty(actor, role)
    except PermissionDenied as exc:
        raise _refuse(actor=actor, action=action, reason=str(exc), obj=obj) from None


def _holds_admin_role(user: User) -> bool:
    return user.assignments.filter(role__in=ADMIN_ROLES).exists()


def _validate_password_for(user: User, password: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def _drop_tokens(user: User) -> None:
    # A token outlives the password it was issued against; the old holder must sign in again.
    Token.objects.filter(user=user).delete()


def _check_user_scope(*, actor: Any, role: str, action: str, user: User) -> None:
    """Refuse (audited) a change to an account outside the administrator's scope.

    The account must be in scope (a role in the administrator's subtree, or created there), and
    hold no role elsewhere: otherwise a street's administrator could take over an account that
    also works for the district. The pages and the API already answer 404 for accounts out of
    sight; this guards every other caller.
    """
    if actor is None:
        return
    if not user_in_scope(actor, role, user):
        raise _refuse(actor=actor, action=action, obj=user, reason=_("该用户不在您的管理范围内。"))
    if roles_outside_scope(actor, role, user):
        raise _refuse(
            actor=actor,
            action=action,
            obj=user,
            reason=_("该用户在您的管理范围之外还持有角色，须由上级管理员操作。"),
        )


# --- accounts (system administrator) ----------------------------------------------------------


def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    display_name: str = "",
    email: str = "",
    must_change_password: bool = True,
    node: OrgNode | None = None,
) -> User:
    """Create an account with no roles; the security administrator grants them separately.

    The administrator chose the password, so by default the owner must replace it at first sign-in.
    The account is created at `node` (by default the administrator's own), inside the
    administrator's subtree: it stays in their view until it holds a role (`User.created_in`).
    """
    _require_duty(actor, Role.SYS_ADMIN, "accounts.user.create")
    if actor is not None:
        if node is None:
            own = scope_paths(actor, {Role.SYS_ADMIN})
            node = OrgNode.objects.filter(path__in=own[:1]).first()
        elif not holds_role_over(actor, node.path, {Role.SYS_ADMIN}):
            raise _refuse(
                actor=actor,
                action="accounts.user.create",
                reason=_("所选组织不在您的管理范围内。"),
                changes={"username": username, "node_id": node.pk, "node": node.name},
            )
    username = username.strip()
    display_name = display_name.strip()
    email = email.strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [_("请填写用户名。")]
    else:
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError as exc:
            errors["username"] = exc.messages
        if len(username) > 150:
            errors["username"] = [_("用户名不能超过 150 个字符。")]
        elif User.objects.filter(username__iexact=username).exists():
            # Case-insensitive: "ZhangSan" and "zhangsan" would be two accounts for one person.
            errors["username"] = [_("该用户名已被使用。")]
    if len(display_name) > 50:
        errors["display_name"] = [_("姓名不能超过 50 个字符。")]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("请输入有效的电子邮箱地址。")]
    if node is not None and node.closed_at is not None:
        errors["node"] = [_("该组织已撤销，不能在此创建用户。")]
    candidate = User(username=username, display_name=display_name, email=email, created_in=node)
    try:
        _validate_password_for(candidate, password)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            candidate.set_password(password)
            candidate.password_changed_at = timezone.now()
            candidate.must_change_password = must_change_password
            candidate.save(force_insert=True)
            audit(
                actor=actor,
                action="accounts.user.create",
                obj=candidate,
                changes={
                    "username": username,
                    "display_name": display_name,
                    "email": email,
                    "created_in": node.name if node else None,
                    "created_in_path": node.path if node else None,
                },
            )
    except IntegrityError:
        # Two administrators creating the same name at once: the database's unique index decides.
        raise ValidationError({"username": [_("该用户名已被使用。")]}) from None
    return candidate


def user_update(
    *,
    actor: User | None,
    user: User,
    display_name: str | None = None,
    email: str | None = None,
    is_active: bool | None = None,
) -> User:
    """Change an account's name, e-mail or active flag; `None` leaves a field as it is.

    A deactivated account loses its API token at once; its sessions stop working because Django
    refuses inactive users on every request. An account holding a 三员 role is deactivated only
    after the security administrator has revoked that role: two people must agree.
    """
    _require_duty(actor, Role.SYS_ADMIN, "accounts.user.update", obj=user)
    _check_user_scope(actor=actor, role=Role.SYS_ADMIN, action="accounts.user.update", user=user)
    errors: dict[str, list[str]] = {}
    new: dict[str, Any] = {}
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 50:
            errors["display_name"] = [_("姓名不能超过 50 个字符。")]
        new["display_name"] = display_name
    if email is not None:
        email = email.strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors["email"] = [_("请输入有效的电子邮箱地址。")]
        new["email"] = email
    if is_active is not None and is_active != user.is_active:
        if not is_active and actor is not None and actor.pk == user.pk:
            errors["is_active"] = [_("不能停用自己的账号。")]
        elif not is_active and actor is not None and _holds_admin_role(user):
            raise _refuse(
                actor=actor,
                action="accounts.user.update",
                obj=user,
                reason=_("该账号持有三员角色，须先由安全管理员撤销角色后再停用。"),
            )
        new["is_active"] = is_active
    if errors:
        raise ValidationError(errors)
    changes = {
        field: {"from": getattr(user, field), "to": value}
        for field, value in new.items()
        if getattr(user, field) != value
    }
    if not changes:
        return user
    with transaction.atomic():
        for field, value in new.items():
            setattr(user, field, value)
        user.save(update_fields=list(changes))
        if changes.get("is_active", {}).get("to") is False:
            _drop_tokens(user)
        audit(actor=actor, action="accounts.user.update", obj=user, changes=changes)
    return user


def user_reset_password(*, actor: User | None, user: User, new_password: str) -> User:
    """Give a user a new password chosen by the system administrator; they must change it.

    Refused for the administrator's own account (use the change-password page) and for 三员
    accounts: otherwise the system administrator could sign in as the auditor.
    """
    _require_duty(actor, Role.SYS_ADMIN, "accounts.user.reset_password", obj=user)
    _check_user_scope(
        actor=actor, role=Role.SYS_ADMIN, action="accounts.user.reset_password", user=user
    )
    if actor is not None and actor.pk == user.pk:
        raise ValidationError({"password": [_("请通过“修改密码”页面修改自己的密码。")]})
    if actor is not None and _holds_admin_role(user):
        raise _refuse(
            actor=actor,
            action="accounts.user.reset_password",
            obj=user,
            reason=_("三员账号的密码不能由系统管理员重置，须先由安全管理员撤销其角色。"),
        )
    _validate_password_for(user, new_password)
    with transaction.atomic():
        user.set_password(new_password)
        user.password_changed_at = timezone.now()
        user.must_change_password = True
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        _drop_tokens(user)
        audit(actor=actor, action="accounts.user.reset_password", obj=user)
    return user


def user_change_password(*, actor: User, user: User, new_password: str) -> User:
    """Set a new password after the policy validators accept it; restarts the 90-day clock.

    API tokens issued against the old password are dropped, as Django ends the other sessions.
    """
    if actor.pk != user.pk:
        raise PermissionDenied(_("只能修改自己的密码。"))
    if user.check_password(new_password):
        raise ValidationError({"password": [_("新密码不能与当前密码相同。")]})
    _validate_password_for(user, new_password)
    with transaction.atomic():
        user.set_password(new_password)
        user.password_changed_at = timezone.now()
        user.must_change_password = False
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        _drop_tokens(user)
        audit(actor=actor, action="accounts.password_change", obj=user)
    return user


# --- roles and lockouts (security administrator) ----------------------------------------------


def _assignment_changes(
    user: User, role: str, node: OrgNode, unit: ResidentUnit | None
) -> dict[str, Any]:
    return {
        "user_id": user.pk,
        "username": user.username,
        "role": role,
        "node_id": node.pk,
        "node": node.name,
        "node_path": node.path,
        "unit_id": unit.pk if unit else None,
        "unit": unit.name if unit else None,
    }


def _check_scope(
    *, actor: User | None, action: str, user: User, node: OrgNode, changes: dict[str, Any]
) -> None:
    if actor is None:
        return
    if actor.pk == user.pk:
        raise _refuse(
            actor=actor, action=action, reason=_("不能为自己授予或撤销角色。"), changes=changes
        )
    if not holds_role_over(actor, node.path, {Role.SEC_ADMIN}):
        raise _refuse(
            actor=actor, action=action, reason=_("所选组织不在您的管理范围内。"), changes=changes
        )


def role_grant(
    *,
    actor: User | None,
    user: User,
    role: str,
    node: OrgNode,
    unit: ResidentUnit | None = None,
) -> RoleAssignment:
    """Grant `role` at `node` (and, for a unit liaison, for `unit`) to another user.

    The node must lie in the security administrator's own subtree. The three administrator roles
    are held alone: an account holding one takes no other role, business or administrative.
    """
    _require_duty(actor, Role.SEC_ADMIN, "accounts.role.grant", obj=user)
    changes = _assignment_changes(user, role, node, unit)
    _check_scope(actor=actor, action="accounts.role.grant", user=user, node=node, changes=changes)
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [_("未知的角色。")]
    if node.closed_at is not None:
        errors["node"] = [_("该组织已撤销，不能在此授权。")]
    if not user.is_active:
        errors["user"] = [_("该账号已停用，不能授权。")]
    if role == Role.UNIT_LIAISON:
        if unit is None:
            errors["unit"] = [_("驻区单位联络员须指定所代表的单位。")]
        elif unit.closed_at is not None or not unit.node.path.startswith(node.path):
            errors["unit"] = [_("所选单位不在该组织范围内。")]
    elif unit is not None:
        errors["unit"] = [_("只有驻区单位联络员需要指定单位。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Lock the grantee so two concurrent grants cannot both pass the exclusivity check.
        User.objects.select_for_update().filter(pk=user.pk).first()
        held = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
        if (role in ADMIN_ROLES and held - {role}) or (
            role not in ADMIN_ROLES and held & ADMIN_ROLES
        ):
            raise ValidationError({"role": [_("三员角色须专人专岗，不能与其他角色兼任。")]})
        if RoleAssignment.objects.filter(user=user, role=role, node=node).exists():
            raise ValidationError({"role": [_("该用户在此组织已有该角色。")]})
        assignment = RoleAssignment.objects.create(
            user=user, role=role, node=node, unit=unit, granted_by=actor
        )
        audit(actor=actor, action="accounts.role.grant", obj=assignment, changes=changes)
    forget_grants(user)
    return assignment


def role_revoke(*, actor: User | None, assignment: RoleAssignment) -> None:
    """Take a role away; the same scope rules as granting it."""
    user = assignment.user
    changes = _assignment_changes(user, assignment.role, assignment.node, assignment.unit)
    _require_duty(actor, Role.SEC_ADMIN, "accounts.role.revoke", obj=assignment)
    _check_scope(
        actor=actor,
        action="accounts.role.revoke",
        user=user,
        node=assignment.node,
        changes=changes,
    )
    with transaction.atomic():
        object_id, object_repr = str(assignment.pk), str(assignment)
        assignment.delete()
        audit(
            actor=actor,
            action="accounts.role.revoke",
            object_type="accounts.roleassignment",
            object_id=object_id,
            object_repr=object_repr,
            changes=changes,
        )
    forget_grants(user)


def account_unlock(*, actor: User | None, username: str) -> int:
    """Lift a login lockout before its 30 minutes are up; returns the attempt rows cleared."""
    _require_duty(actor, Role.SEC_ADMIN, "accounts.user.unlock")
    username = username.strip()
    if not username:
        raise ValidationError({"username": [_("请填写用户名。")]})
    user = User.objects.filter(username=username).first()
    # The same scope as the lockout list: accounts in the administrator's subtree, and at a
    # district also usernames that no account has (a mistyped name still locks).
    if actor is not None and not (
        user_in_scope(actor, Role.SEC_ADMIN, user)
        if user is not None
        else is_top_level(actor, Role.SEC_ADMIN)
    ):
        raise _refuse(
            actor=actor,
            action="accounts.user.unlock",
            obj=user,
            reason=_("该用户不在您的管理范围内。"),
            changes={"username": username},
        )
    with transaction.atomic():
        cleared = axes_reset(username=username)
        audit(
            actor=actor,
            action="accounts.user.unlock",
            object_type="accounts.user",
            object_id=str(user.pk) if user else "",
            object_repr=username,
            changes={"username": username, "attempts_cleared": cleared},
        )
    return cleared


# --- audit trail (audit administrator) --------------------------------------------------------


def audit_records_export(
    *, actor: User | None, records: QuerySet[AuditRecord], filters: dict[str, Any]
) -> bytes:
    """The filtered trail as an .xlsx workbook; the export itself is an audit record."""
    from tongxin.accounts.exports import audit_workbook

    _require_duty(actor, Role.AUDIT_ADMIN, "core.audit.export")
    count = records.count()
    if count > AUDIT_EXPORT_MAX_ROWS:
        raise ValidationError(
            _("符合条件的记录有 %(n)d 条，超过单次导出上限 %(max)d 条，请缩小筛选范围。")
            % {"n": count, "max": AUDIT_EXPORT_MAX_ROWS}
        )
    content = audit_workbook(records)
    audit(
        actor=actor,
        action="core.audit.export",
        object_type="core.auditrecord",
        object_repr=_("审计日志导出"),
        changes={"filters": filters, "rows": count},
    )
    return content


# --- two-factor sign-in (SECURITY.md 5) -------------------------------------------------------


def totp_enrol_begin(*, actor: User, user: User) -> TotpDevice:
    """The user's device being enrolled: a fresh secret, kept until confirmed by a first code.

    A confirmed device is never replaced here: losing or changing a phone goes through the
    security administrator (`totp_reset`), so a stolen session cannot move the second factor.
    """
    if actor.pk != user.pk:
        raise PermissionDenied(_("只能为自己的账号绑定动态口令。"))
    device = TotpDevice.objects.filter(user=user).first()
    if device is not None and device.confirmed:
        raise ValidationError(_("您已绑定动态口令。如需更换手机，请联系安全管理员重置。"))
    if device is not None:
        return device
    with transaction.atomic():
        device = TotpDevice(user=user)
        device.secret = totp.new_secret()
        device.save(force_insert=True)
        audit(actor=actor, action="accounts.otp.enrol_begin", obj=user)
    return device


def totp_enrol_confirm(*, actor: User, user: User, code: str) -> TotpDevice:
    """Confirm enrolment with a first code from the app; API tokens issued before are dropped."""
    if actor.pk != user.pk:
        raise PermissionDenied(_("只能为自己的账号绑定动态口令。"))
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise ValidationError({"code": [_("没有待确认的动态口令，请刷新页面重新开始。")]})
    step = totp.match_step(device.secret.reveal(), code)
    if step is None:
        audit(
            actor=actor,
            action="accounts.otp.enrol",
            obj=user,
            outcome=AuditOutcome.FAILURE,
            changes={"reason": "wrong_code"},
        )
        raise ValidationError(
            {"code": [_("验证码不正确，请核对手机时间，输入应用中当前显示的 6 位数字。")]}
        )
    with transaction.atomic():
        now = timezone.now()
        updated = TotpDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True).update(
            confirmed_at=now, last_step=step, last_used_at=now
        )
        if updated != 1:
            raise ValidationError({"code": [_("该动态口令已确认。")]})
        _drop_tokens(user)
        audit(actor=actor, action="accounts.otp.enrol", obj=user)
    device.refresh_from_db()
    return device


def totp_verify(*, user: User, code: str, channel: str = "web") -> TotpDevice | None:
    """Check a sign-in code against the user's confirmed device; the device on success.

    The accepted step is recorded with a conditional UPDATE (`last_step < step`), which touches
    exactly one row for the first use of a code and none for any replay, even concurrent ones.
    Success and failure are audited here; counting the failure toward the lockout is the
    caller's (it needs the request: `two_factor.count_failure`).
    """
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    reason = ""
    if device is None:
        reason = "no_device"
    else:
        step = totp.match_step(device.secret.reveal(), code)
        if step is None:
            reason = "wrong_code"
        else:
            with transaction.atomic():
                used = TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(
                    last_step=step, last_used_at=timezone.now()
                )
                if used == 1:
                    audit(
                        actor=user,
                        action="accounts.otp.verify",
                        obj=user,
                        changes={"channel": channel},
                    )
                    return device
            reason = "replayed_code"
    audit(
        actor=None,
        username=user.get_username(),
        action="accounts.otp.verify",
        object_type="accounts.user",
        object_id=str(user.pk),
        object_repr=user.get_username(),
        outcome=AuditOutcome.FAILURE,
        changes={"channel": channel, "reason": reason},
    )
    return None


def totp_reset(*, actor: User | None, user: User) -> bool:
    """The security administrator removes a user's device (lost phone); returns whether one existed.

    The user's sessions end at their next request (the middleware finds no device to match the
    one that verified them) and their API tokens are dropped now. Under the `officials` policy
    they enrol again at their next sign-in.
    """
    _require_duty(actor, Role.SEC_ADMIN, "accounts.otp.reset", obj=user)
    if actor is not None:
        if actor.pk == user.pk:
            raise _refuse(
                actor=actor,
                action="accounts.otp.reset",
                obj=user,
                reason=_("不能重置自己的动态口令。"),
            )
        _check_user_scope(actor=actor, role=Role.SEC_ADMIN, action="accounts.otp.reset", user=user)
    with transaction.atomic():
        deleted, _rows = TotpDevice.objects.filter(user=user).delete()
        _drop_tokens(user)
        audit(
            actor=actor,
            action="accounts.otp.reset",
            obj=user,
            changes={"username": user.username, "device_removed": bool(deleted)},
        )
    return bool(deleted)

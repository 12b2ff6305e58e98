"""Users and their role assignments: each a role at a node of the organization tree."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.core.fields import SealedField


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("区级管理员")
    STREET_ADMIN = "street_admin", _("街道管理员")
    COMMUNITY_ADMIN = "community_admin", _("社区管理员")
    GRID_MANAGER = "grid_manager", _("网格员")
    DEPARTMENT = "department", _("职能部门")
    UNIT_LIAISON = "unit_liaison", _("驻区单位联络员")
    MEMBER = "member", _("党员")
    RESIDENT = "resident", _("居民")
    SYS_ADMIN = "sys_admin", _("系统管理员")
    SEC_ADMIN = "sec_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")


# The three separated administrator roles (三员分立) do no business work at all.
ADMIN_ROLES = frozenset({Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN})
BUSINESS_ROLES = frozenset(set(Role) - ADMIN_ROLES)
# Roles that administer the organization network below their node.
MANAGING_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN})
# Officials must change their password periodically (SECURITY.md 2); residents and members not.
OFFICIAL_ROLES = frozenset(set(Role) - {Role.MEMBER, Role.RESIDENT})


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    # Set when an administrator chose the password (new account, reset): the administrator knows
    # it, so the owner must replace it before doing anything else (SECURITY.md 2).
    must_change_password = models.BooleanField(_("须修改初始密码"), default=False)
    # Where the account was created: it stays in that system administrator's view (and their
    # superiors') before the security administrator grants it a role there (SECURITY.md 7).
    created_in = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建所在组织"),
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class RoleAssignment(models.Model):
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("用户")
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    node = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, related_name="assignments", verbose_name=_("组织")
    )
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="liaisons",
        verbose_name=_("驻区单位"),
        help_text=_("驻区单位联络员所代表的单位"),
    )
    granted_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("授权人"),
    )
    granted_at = models.DateTimeField(_("授权时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "node"], name="uniq_role_per_node"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="role_is_known"
            ),
            models.CheckConstraint(
                condition=~models.Q(role=Role.UNIT_LIAISON) | models.Q(unit__isnull=False),
                name="liaison_has_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.node}"


def _no_mask(value: str) -> str:
    return ""


class TotpDevice(models.Model):
    """A user's authenticator app (SECURITY.md 5): one per user, confirmed by a first code.

    The secret is sealed with the installation's SM4-GCM keyring like any personal data
    (`rotate_encryption_key` re-encrypts it); nothing readable is kept. `last_step` is the newest
    30-second step whose code was accepted: a code of that step or an older one is refused, so a
    code seen over someone's shoulder cannot be used again.
    """

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="totp_device", verbose_name=_("用户")
    )
    secret = SealedField(
        purpose="accounts.totpdevice.secret", mask=_no_mask, verbose_name="动态口令密钥"
    )
    confirmed_at = models.DateTimeField(_("绑定时间"), null=True, blank=True)
    last_step = models.BigIntegerField(_("最近使用的时间步"), default=0)
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("动态口令设备")
        verbose_name_plural = _("动态口令设备")

    def __str__(self) -> str:
        return f"{self.user} · {_('动态口令')}"

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

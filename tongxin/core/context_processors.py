"""Navigation built from what exists and what the signed-in user's roles allow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES, Role
from tongxin.core.policy import SIGNED_IN, Policy, roles


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    icon: str
    policy: Policy
    # View-name prefixes of the pages this entry stands for (default: the entry's own view);
    # several entries share an app namespace, so the namespace alone would light them all up.
    section: tuple[str, ...] = ()


NAV: tuple[NavItem, ...] = (
    NavItem(_("工作台"), "core:home", "speedometer2", SIGNED_IN),
    NavItem(
        _("组织体系"),
        "orgs:tree",
        "diagram-3",
        roles(BUSINESS_ROLES),
        ("orgs:tree", "orgs:node_", "orgs:party_org_", "orgs:coverage"),
    ),
    NavItem(
        _("驻区单位"),
        "orgs:unit_list",
        "buildings",
        roles(BUSINESS_ROLES),
        ("orgs:unit_", "orgs:instructor_"),
    ),
    NavItem(
        _("兼职委员"), "orgs:committee_list", "people", roles(BUSINESS_ROLES), ("orgs:committee_",)
    ),
    NavItem(
        _("领导联系点"), "orgs:contact_list", "pin-map", roles(MANAGING_ROLES), ("orgs:contact_",)
    ),
    NavItem(
        _("用户管理"),
        "accounts:user_list",
        "person-gear",
        roles(Role.SYS_ADMIN),
        ("accounts:user_",),
    ),
    NavItem(_("后台任务"), "core:job_failures", "gear", roles(Role.SYS_ADMIN)),
    NavItem(
        _("角色授权"),
        "accounts:assignment_list",
        "shield-lock",
        roles(Role.SEC_ADMIN),
        ("accounts:assignment_",),
    ),
    NavItem(
        _("登录锁定"),
        "accounts:lockout_list",
        "lock",
        roles(Role.SEC_ADMIN),
        ("accounts:lockout_",),
    ),
    NavItem(
        _("审计日志"), "core:audit_list", "journal-text", roles(Role.AUDIT_ADMIN), ("core:audit_",)
    ),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    items = []
    for item in NAV:
        if not item.policy.allows(user):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # a page not built yet; test_nav checks that none is missing
            continue
        active = bool(current) and current.startswith(item.section or (item.url_name,))
        items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
    return {"nav_items": items}

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

# Who reaches the people pages (tongxin/people/rules.py: territorial roles, and members and
# residents for their own record). Spelled out here: core must not import an app's rules.
PEOPLE_NAV_ROLES = frozenset(
    {
        Role.DISTRICT_ADMIN,
        Role.STREET_ADMIN,
        Role.COMMUNITY_ADMIN,
        Role.GRID_MANAGER,
        Role.MEMBER,
        Role.RESIDENT,
    }
)
# Who reaches the outreach pages (tongxin/outreach/rules.py OUTREACH_ROLES).
OUTREACH_NAV_ROLES = frozenset(BUSINESS_ROLES - {Role.DEPARTMENT})


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    icon: str
    policy: Policy
    # View-name prefixes of the pages this entry stands for (default: the entry's own view);
    # several entries share an app namespace, so the namespace alone would light them all up.
    section: tuple[str, ...] = ()


@dataclass(frozen=True)
class NavGroup:
    """A menu in the navigation bar; shown as a plain link when only one entry is visible."""

    label: str | Promise
    icon: str
    items: tuple[NavItem, ...]


NAV: tuple[NavGroup, ...] = (
    NavGroup(
        _("工作台"),
        "",
        (NavItem(_("工作台"), "core:home", "speedometer2", SIGNED_IN),),
    ),
    NavGroup(
        _("组织体系"),
        "diagram-3",
        (
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
                _("兼职委员"),
                "orgs:committee_list",
                "people",
                roles(BUSINESS_ROLES),
                ("orgs:committee_",),
            ),
            NavItem(
                _("领导联系点"),
                "orgs:contact_list",
                "pin-map",
                roles(MANAGING_ROLES),
                ("orgs:contact_",),
            ),
        ),
    ),
    NavGroup(
        _("党员群众"),
        "people-fill",
        (
            NavItem(
                _("党员群众"),
                "people:member_list",
                "people-fill",
                roles(PEOPLE_NAV_ROLES),
                ("people:",),
            ),
            NavItem(
                _("在职党员报到"),
                "people:reporting",
                "person-badge",
                roles(Role.UNIT_LIAISON),
                ("people:reporting", "people:unit_reporting", "people:registration_"),
            ),
        ),
    ),
    NavGroup(
        _("共驻共建"),
        "people",
        (
            # tongxin/cobuild/rules.py COBUILD_ROLES (managing roles and unit liaisons) and
            # VENUE_ROLES (every business role), spelled out for the same reason as above.
            NavItem(
                _("共建总览"),
                "cobuild:index",
                "speedometer",
                roles(MANAGING_ROLES | {Role.UNIT_LIAISON}),
                ("cobuild:index", "cobuild:rates"),
            ),
            NavItem(
                _("双向承诺"),
                "cobuild:agreement_list",
                "file-earmark-check",
                roles(MANAGING_ROLES | {Role.UNIT_LIAISON}),
                ("cobuild:agreement_", "cobuild:commitment_"),
            ),
            NavItem(
                _("双向挂职"),
                "cobuild:secondment_list",
                "arrow-left-right",
                roles(MANAGING_ROLES | {Role.UNIT_LIAISON}),
                ("cobuild:secondment_",),
            ),
            NavItem(
                _("资源与需求"),
                "cobuild:need_list",
                "diagram-2",
                roles(MANAGING_ROLES | {Role.UNIT_LIAISON}),
                ("cobuild:need_", "cobuild:resource_"),
            ),
            NavItem(
                _("服务项目"),
                "cobuild:project_list",
                "kanban",
                roles(MANAGING_ROLES | {Role.UNIT_LIAISON}),
                ("cobuild:project_",),
            ),
            NavItem(
                _("开放场地"),
                "cobuild:venue_list",
                "building",
                roles(BUSINESS_ROLES),
                ("cobuild:venue_", "cobuild:booking_"),
            ),
            NavItem(
                _("联席会议"),
                "cobuild:meeting_list",
                "people",
                roles(MANAGING_ROLES | {Role.UNIT_LIAISON}),
                ("cobuild:meeting_", "cobuild:body_", "cobuild:resolution_"),
            ),
            NavItem(
                _("双向评议"),
                "cobuild:round_list",
                "award",
                roles(MANAGING_ROLES | {Role.UNIT_LIAISON}),
                ("cobuild:round_", "cobuild:sheet_", "cobuild:award_", "cobuild:report_"),
            ),
            NavItem(
                _("双向约束"),
                "cobuild:unit_reports",
                "clipboard-data",
                roles(MANAGING_ROLES | {Role.UNIT_LIAISON}),
                ("cobuild:unit_report", "cobuild:consultation_"),
            ),
        ),
    ),
    NavGroup(
        _("网格事件"),
        "grid-3x3",
        (
            # One entry for the grid map and the grid pages (the map links to the list and back).
            NavItem(
                _("网格"),
                "grids:map",
                "map",
                roles(BUSINESS_ROLES),
                ("grids:map", "grids:list", "grids:detail", "grids:edit", "grids:boundary_"),
            ),
            NavItem(
                _("走访"),
                "grids:visit_list",
                "journal-richtext",
                # tongxin/grids/rules.py VISIT_PAGE_ROLES, spelled out for the same reason as above.
                roles(Role.GRID_MANAGER, Role.MEMBER, Role.COMMUNITY_ADMIN),
                ("grids:visit_", "grids:follow_up_"),
            ),
            # tongxin/events/rules.py STAFF_ROLES / REPORTING_ROLES, spelled out likewise.
            NavItem(
                _("事件"),
                "events:list",
                "flag",
                roles(
                    Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.GRID_MANAGER
                ),
                ("events:list", "events:detail", "events:move", "events:stats"),
            ),
            NavItem(
                _("我的事件"),
                "events:mine",
                "phone",
                roles(Role.GRID_MANAGER, Role.MEMBER, Role.RESIDENT, Role.UNIT_LIAISON),
                ("events:mine", "events:report"),
            ),
            NavItem(
                _("部门派单"),
                "events:inbox",
                "megaphone",
                roles(Role.DEPARTMENT),
                ("events:inbox",),
            ),
            NavItem(
                _("事件配置"),
                "events:config",
                "sliders",
                roles(Role.DISTRICT_ADMIN),
                ("events:config",),
            ),
        ),
    ),
    NavGroup(
        _("服务群众"),
        "heart",
        (
            # tongxin/outreach/rules.py OUTREACH_ROLES (business roles but departments) and the
            # managing roles, spelled out for the same reason as above.
            NavItem(
                _("服务首页"),
                "outreach:home",
                "heart",
                roles(OUTREACH_NAV_ROLES),
                ("outreach:home",),
            ),
            NavItem(
                _("心愿墙"),
                "outreach:wish_wall",
                "stars",
                roles(OUTREACH_NAV_ROLES),
                (
                    "outreach:wish_wall",
                    "outreach:wish_mine",
                    "outreach:wish_new",
                    "outreach:wish_detail",
                    "outreach:wish_move",
                    "outreach:wish_photo",
                ),
            ),
            NavItem(
                _("心愿审核"),
                "outreach:wish_manage",
                "clipboard-check",
                roles(MANAGING_ROLES),
                ("outreach:wish_manage",),
            ),
            NavItem(
                _("一呼百应"),
                "outreach:order_list",
                "megaphone",
                roles(OUTREACH_NAV_ROLES),
                ("outreach:order_",),
            ),
            NavItem(
                _("志愿活动"),
                "outreach:activity_list",
                "calendar-heart",
                roles(OUTREACH_NAV_ROLES),
                ("outreach:activity_", "outreach:signup_", "outreach:hours_mine"),
            ),
            NavItem(
                _("时长认定"),
                "outreach:hours_review",
                "clock-history",
                roles(MANAGING_ROLES),
                ("outreach:hours_review", "outreach:hours_move"),
            ),
            NavItem(
                _("百米服务圈"),
                "outreach:points",
                "geo-alt",
                roles(OUTREACH_NAV_ROLES),
                ("outreach:point",),
            ),
        ),
    ),
    NavGroup(
        _("系统管理"),
        "gear",
        (
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
                _("动态口令"),
                "accounts:otp_device_list",
                "phone",
                roles(Role.SEC_ADMIN),
                ("accounts:otp_device",),
            ),
            NavItem(_("数据保留"), "accounts:retention", "hourglass-split", roles(Role.SEC_ADMIN)),
            NavItem(
                _("审计日志"),
                "core:audit_list",
                "journal-text",
                roles(Role.AUDIT_ADMIN),
                ("core:audit_",),
            ),
        ),
    ),
)


def _visible_items(group: NavGroup, user: Any, current: str) -> list[dict[str, Any]]:
    items = []
    for item in group.items:
        if not item.policy.allows(user):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # a page not built yet; test_nav checks that none is missing
            continue
        active = bool(current) and current.startswith(item.section or (item.url_name,))
        items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    groups = []
    for group in NAV:
        items = _visible_items(group, user, current)
        if items:
            active = any(item["active"] for item in items)
            groups.append(
                {"label": group.label, "icon": group.icon, "items": items, "active": active}
            )
    return {"nav_groups": groups}

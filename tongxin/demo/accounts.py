"""Demo accounts, one for each kind of user, all with the published demo password."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from tongxin.accounts.models import Role, RoleAssignment, User
from tongxin.demo.orgs import DemoOrgs
from tongxin.orgs.models import ResidentUnit


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    where: str


def demo_accounts(demo: DemoOrgs) -> list[tuple[DemoAccount, object, ResidentUnit | None]]:
    wenxian = demo.communities["文献社区"]
    dongmei = demo.communities["东梅社区"]
    grid = demo.grids["文献社区"][0]
    unit = ResidentUnit.objects.filter(node__path__startswith=wenxian.path).order_by("pk").first()
    if unit is None:  # the generator always puts units in 文献社区; keep the demo whole anyway
        unit = ResidentUnit.objects.create(
            name="文献社区卫生服务站", unit_type="institution", node=wenxian, party_status="own"
        )
    district = demo.district
    zhenhai = demo.streets["镇海街道"]
    rows = [
        ("demo_district", "区委组织部 陈承芳", Role.DISTRICT_ADMIN, district, None),
        ("demo_street", "镇海街道 张玲", Role.STREET_ADMIN, zhenhai, None),
        ("demo_community", "文献社区 郭景国", Role.COMMUNITY_ADMIN, wenxian, None),
        ("demo_community_b", "东梅社区 林赛青", Role.COMMUNITY_ADMIN, dongmei, None),
        ("demo_grid", f"{grid.name} 网格员", Role.GRID_MANAGER, grid, None),
        ("demo_member", "党员 黄丽芬", Role.MEMBER, grid, None),
        ("demo_resident", "居民 吴秀英", Role.RESIDENT, grid, None),
        ("demo_unit", f"{unit.name} 联络员", Role.UNIT_LIAISON, unit.node, unit),
        ("demo_dept", "区城管局派驻镇海街道", Role.DEPARTMENT, zhenhai, None),
        ("demo_sysadmin", "系统管理员", Role.SYS_ADMIN, district, None),
        ("demo_secadmin", "安全管理员", Role.SEC_ADMIN, district, None),
        ("demo_auditor", "审计管理员", Role.AUDIT_ADMIN, district, None),
    ]
    return [(DemoAccount(u, n, r, node.name), node, un) for u, n, r, node, un in rows]


def build_accounts(demo: DemoOrgs) -> list[DemoAccount]:
    created = []
    now = timezone.now()
    for account, node, unit in demo_accounts(demo):
        user = User.objects.create_user(
            username=account.username,
            password=settings.DEMO_PASSWORD,
            display_name=account.display_name,
            password_changed_at=now,
        )
        RoleAssignment.objects.create(user=user, role=account.role, node=node, unit=unit)
        created.append(account)
    return created


def describe_accounts() -> list[str]:
    lines = []
    for assignment in (
        RoleAssignment.objects.filter(user__username__startswith="demo_")
        .select_related("user", "node")
        .order_by("user__username")
    ):
        role = assignment.get_role_display()
        lines.append(f"  {assignment.user.username:<18} {role} · {assignment.node.name}")
    return lines

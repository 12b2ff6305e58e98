"""Named users at named places, shared by every app's tests (ARCHITECTURE.md convention 7).

荔城区
├── 镇海街道 ── 文献社区 (community A) ── 文献一网格 ── 文献一网格一组
│           └── 东梅社区 (community B, A's sibling) ── 东梅一网格
└── 拱辰街道 ── 拱辰社区
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tongxin.accounts.models import Role, RoleAssignment, User
from tongxin.orgs.models import Level, OrgKind, OrgNode, ResidentUnit, UnitType
from tongxin.orgs.services import node_create

PASSWORD = "Tongxin-test-2026"


@dataclass
class Places:
    district: OrgNode
    street: OrgNode
    community_a: OrgNode
    grid_a: OrgNode
    group_a: OrgNode
    community_b: OrgNode
    grid_b: OrgNode
    street_2: OrgNode
    community_c: OrgNode
    unit_a: ResidentUnit
    unit_b: ResidentUnit


def _node(parent: OrgNode | None, name: str, level: str, kind: str) -> OrgNode:
    return node_create(
        actor=None,
        parent=parent,
        name=name,
        level=level,
        party_org={"name": f"{name}党组织", "kind": kind},
    )


@pytest.fixture
def places(db) -> Places:
    district = _node(None, "荔城区", Level.DISTRICT, OrgKind.PARTY_COMMITTEE)
    street = _node(district, "镇海街道", Level.STREET, OrgKind.WORKING_COMMITTEE)
    community_a = _node(street, "文献社区", Level.COMMUNITY, OrgKind.PARTY_COMMITTEE)
    grid_a = _node(community_a, "文献一网格", Level.GRID, OrgKind.BRANCH)
    group_a = _node(grid_a, "文献一网格一组", Level.GROUP, OrgKind.GROUP)
    community_b = _node(street, "东梅社区", Level.COMMUNITY, OrgKind.PARTY_COMMITTEE)
    grid_b = _node(community_b, "东梅一网格", Level.GRID, OrgKind.BRANCH)
    street_2 = _node(district, "拱辰街道", Level.STREET, OrgKind.WORKING_COMMITTEE)
    community_c = _node(street_2, "拱辰社区", Level.COMMUNITY, OrgKind.GENERAL_BRANCH)
    unit_a = ResidentUnit.objects.create(
        name="文献供电所", unit_type=UnitType.SOE, node=community_a, party_status="own"
    )
    unit_b = ResidentUnit.objects.create(
        name="东梅科技有限公司", unit_type=UnitType.NON_PUBLIC, node=community_b
    )
    return Places(
        district,
        street,
        community_a,
        grid_a,
        group_a,
        community_b,
        grid_b,
        street_2,
        community_c,
        unit_a,
        unit_b,
    )


def make_user(username: str, role: str | None, node: OrgNode | None, **extra) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, display_name=username)
    if role is not None:
        RoleAssignment.objects.create(user=user, role=role, node=node, **extra)
    return user


@dataclass
class People:
    district_admin: User
    street_admin: User
    community_admin: User
    community_admin_b: User
    grid_manager: User
    department: User
    unit_liaison: User
    member: User
    resident: User
    sys_admin: User
    sec_admin: User
    audit_admin: User
    nobody: User


@pytest.fixture
def people(places: Places) -> People:
    p = places
    return People(
        district_admin=make_user("li_district", Role.DISTRICT_ADMIN, p.district),
        street_admin=make_user("zhang_street", Role.STREET_ADMIN, p.street),
        community_admin=make_user("wang_wenxian", Role.COMMUNITY_ADMIN, p.community_a),
        community_admin_b=make_user("chen_dongmei", Role.COMMUNITY_ADMIN, p.community_b),
        grid_manager=make_user("lin_grid", Role.GRID_MANAGER, p.grid_a),
        department=make_user("huang_dept", Role.DEPARTMENT, p.street),
        unit_liaison=make_user("zheng_unit", Role.UNIT_LIAISON, p.community_a, unit=p.unit_a),
        member=make_user("guo_member", Role.MEMBER, p.grid_a),
        resident=make_user("wu_resident", Role.RESIDENT, p.grid_a),
        sys_admin=make_user("sys_admin", Role.SYS_ADMIN, p.district),
        sec_admin=make_user("sec_admin", Role.SEC_ADMIN, p.district),
        audit_admin=make_user("audit_admin", Role.AUDIT_ADMIN, p.district),
        nobody=make_user("no_role", None, None),
    )

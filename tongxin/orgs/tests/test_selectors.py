"""Scoped reads: visibility, tree search, coverage arithmetic, committee norms, home summary."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from tongxin.orgs import selectors, services
from tongxin.orgs.models import Level, OrgCategory, PartyStatus, UnitType
from tongxin.orgs.tests.factories import (
    CommitteeMemberFactory,
    ContactPointFactory,
    InstructorFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db


def names(queryset) -> set[str]:
    return {obj.name for obj in queryset}


def test_visible_nodes_follow_the_assignment_subtrees(places, people):
    assert names(selectors.visible_nodes(people.community_admin)) == {
        "文献社区",
        "文献一网格",
        "文献一网格一组",
    }
    assert names(selectors.visible_nodes(people.grid_manager)) == {"文献一网格", "文献一网格一组"}
    street = names(selectors.visible_nodes(people.street_admin))
    assert "东梅社区" in street and "文献社区" in street and "拱辰街道" not in street
    assert len(selectors.visible_nodes(people.district_admin)) == 9
    for admin in (people.sys_admin, people.sec_admin, people.audit_admin, people.nobody):
        assert not selectors.visible_nodes(admin).exists()


def test_closed_nodes_are_hidden_on_request(places, people):
    services.node_close(actor=people.street_admin, node=places.group_a, version=1, reason="x")
    assert "文献一网格一组" in names(selectors.visible_nodes(people.community_admin))
    assert "文献一网格一组" not in names(
        selectors.visible_nodes(people.community_admin, include_closed=False)
    )


def test_get_node_for_user_answers_404_outside_scope_and_403_without_the_right(places, people):
    assert selectors.get_node_for_user(people.community_admin, places.grid_a.pk) == places.grid_a
    with pytest.raises(Http404):
        selectors.get_node_for_user(people.community_admin, places.community_b.pk)
    with pytest.raises(Http404):
        selectors.get_node_for_user(people.community_admin, "not-a-number")
    with pytest.raises(PermissionDenied):
        selectors.get_node_for_user(people.grid_manager, places.grid_a.pk, write=True)
    with pytest.raises(PermissionDenied):
        selectors.get_node_for_user(
            people.community_admin, places.community_a.pk, write=True, perm="orgs.rename_node"
        )
    assert selectors.get_node_for_user(people.community_admin, places.community_a.pk, write=True)


def test_node_children_carry_counts(places, people):
    UnitFactory(node=places.grid_a)
    services.node_create(actor=None, parent=places.grid_a, name="文献一网格二组", level="group")
    services.node_close(actor=people.street_admin, node=places.group_a, version=1, reason="x")
    (grid,) = selectors.node_children(people.community_admin, places.community_a)
    assert grid.open_children == 1 and grid.closed_children == 1 and grid.open_units == 1
    assert selectors.territorial_org(grid).name == "文献一网格党组织"
    open_only = selectors.node_children(people.community_admin, places.grid_a)
    assert names(open_only) == {"文献一网格二组"}
    everything = selectors.node_children(people.community_admin, places.grid_a, include_closed=True)
    assert names(everything) == {"文献一网格一组", "文献一网格二组"}


def test_tree_roots_are_the_assignment_nodes(places, people):
    assert names(selectors.tree_roots(people.street_admin)) == {"镇海街道"}
    assert names(selectors.tree_roots(people.sys_admin)) == set()


def test_tree_search_returns_matches_with_their_visible_ancestors(places, people):
    hits = selectors.tree_search(people.street_admin, "一组")
    assert [h.node.name for h in hits] == ["文献一网格一组"]
    assert [a.name for a in hits[0].ancestors] == ["镇海街道", "文献社区", "文献一网格"]
    # The community admin's chain stops at their own node: the street is not theirs to see.
    hits = selectors.tree_search(people.community_admin, "一组")
    assert [a.name for a in hits[0].ancestors] == ["文献社区", "文献一网格"]
    assert selectors.tree_search(people.community_admin, "东梅") == []
    assert selectors.tree_search(people.community_admin, "  ") == []


def test_tree_search_runs_in_two_queries(places, people, django_assert_max_num_queries):
    for i in range(10):
        services.node_create(actor=None, parent=places.grid_a, name=f"文献楼栋{i}", level="group")
    user = people.street_admin
    selectors.tree_search(user, "x")  # warm the grants cache
    with django_assert_max_num_queries(2):
        hits = selectors.tree_search(user, "楼栋")
    assert len(hits) == 10


def test_visible_ancestors_never_leave_the_scope(places, people):
    assert selectors.visible_ancestors(people.community_admin, places.group_a) == [
        places.community_a,
        places.grid_a,
    ]


def test_move_destinations(places, people):
    destinations = selectors.move_destinations(people.street_admin, places.grid_a)
    assert names(destinations) == {"东梅社区"}
    assert names(selectors.move_destinations(people.district_admin, places.community_a)) == {
        "拱辰街道"
    }
    assert not selectors.move_destinations(people.district_admin, places.district).exists()


def test_units_are_visible_in_the_subtree_and_to_their_liaison_only(places, people):
    assert names(selectors.visible_units(people.community_admin)) == {"文献供电所"}
    assert names(selectors.visible_units(people.grid_manager)) == set()
    assert names(selectors.visible_units(people.street_admin)) == {"文献供电所", "东梅科技有限公司"}
    assert names(selectors.visible_units(people.unit_liaison)) == {"文献供电所"}
    UnitFactory(node=places.community_a, name="文献另一家公司")
    assert names(selectors.visible_units(people.unit_liaison)) == {"文献供电所"}
    assert not selectors.visible_units(people.audit_admin).exists()


def test_unit_filters(places, people):
    UnitFactory(node=places.grid_a, name="文献商贸", party_status=PartyStatus.INSTRUCTOR)
    UnitFactory(node=places.community_b, name="东梅物业", unit_type=UnitType.PROPERTY)
    closed = UnitFactory(node=places.grid_a, name="已注销公司", closed_at=timezone.now())
    user = people.street_admin
    assert names(selectors.visible_units(user, unit_type=UnitType.PROPERTY)) == {"东梅物业"}
    assert names(selectors.visible_units(user, party_status=PartyStatus.INSTRUCTOR)) == {"文献商贸"}
    assert names(selectors.visible_units(user, node=places.grid_a)) == {"文献商贸"}
    assert names(selectors.visible_units(user, search="物业")) == {"东梅物业"}
    assert closed in selectors.visible_units(user, include_closed=True)
    assert closed not in selectors.visible_units(user)


def test_coverage_arithmetic(places, people):
    a = places.community_a
    UnitFactory(node=a, party_status=PartyStatus.OWN, party_org_name="甲公司党支部")
    UnitFactory(node=places.grid_a, party_status=PartyStatus.OWN, party_org_name="乙公司党支部")
    UnitFactory(node=a, unit_type=UnitType.SOCIAL_ORG, party_status=PartyStatus.JOINT)
    UnitFactory(node=a, party_status=PartyStatus.INSTRUCTOR)
    UnitFactory(node=a, party_status=PartyStatus.NONE)
    UnitFactory(node=a, unit_type=UnitType.SOCIAL_ORG)
    UnitFactory(node=a, closed_at=timezone.now(), party_status=PartyStatus.NONE)  # not counted
    cover = selectors.coverage(people.community_admin)
    assert (cover.total, cover.own, cover.joint, cover.instructor, cover.none) == (6, 2, 1, 1, 2)
    assert cover.organization_rate == pytest.approx(3 / 6)
    assert cover.work_rate == pytest.approx(4 / 6)
    by_type = {value: n for value, _label, n in cover.by_type}
    assert by_type[UnitType.NON_PUBLIC] == 4
    assert by_type[UnitType.SOCIAL_ORG] == 2
    assert by_type[UnitType.SOE] == 1  # 文献供电所: not a "两新" unit, not in the rates
    assert cover.units_total == 7
    # The street sees the sibling's uncovered enterprise too.
    street = selectors.coverage(people.street_admin)
    assert street.total == 7 and street.none == 3
    assert street.organization_rate == pytest.approx(3 / 7)


def test_coverage_with_no_new_sector_units_has_no_rate(places, people):
    cover = selectors.coverage(people.community_admin)
    assert cover.total == 0 and cover.organization_rate is None and cover.work_rate is None


def test_coverage_by_child(places, people):
    UnitFactory(node=places.grid_a, party_status=PartyStatus.OWN, party_org_name="x")
    UnitFactory(node=places.community_a)  # at the street's child itself
    rows = {
        row.node.name: row.coverage
        for row in selectors.coverage_by_child(people.street_admin, places.street)
    }
    assert rows["文献社区"].total == 2 and rows["文献社区"].own == 1
    assert rows["文献社区"].organization_rate == pytest.approx(0.5)
    assert rows["东梅社区"].total == 1 and rows["东梅社区"].none == 1


def test_committee_roster_warns_outside_the_norm(places, people):
    body = places.community_a
    CommitteeMemberFactory.create_batch(2, body=body)
    CommitteeMemberFactory(body=body, left_on=dt.date(2024, 6, 1))
    CommitteeMemberFactory(body=body, term_end=dt.date(2024, 12, 31))
    roster = selectors.committee_roster(body)
    assert roster.size == 2 and len(roster.former) == 2
    assert roster.norm == (3, 5)
    assert "少于" in roster.warning
    CommitteeMemberFactory(body=body)
    assert selectors.committee_roster(body).warning == ""
    CommitteeMemberFactory.create_batch(3, body=body)
    assert "多于" in selectors.committee_roster(body).warning
    CommitteeMemberFactory.create_batch(8, body=places.street)
    assert selectors.committee_roster(places.street).warning == ""
    CommitteeMemberFactory.create_batch(3, body=places.street)
    assert "多于常规规模 8–10 名" in selectors.committee_roster(places.street).warning


def test_committee_bodies_in_scope_with_out_of_norm_filter(places, people):
    CommitteeMemberFactory.create_batch(4, body=places.community_a)
    bodies = selectors.with_size_warnings(selectors.committee_bodies(people.street_admin))
    by_name = {b.name: b for b in bodies}
    assert set(by_name) == {"镇海街道", "文献社区", "东梅社区"}
    assert by_name["文献社区"].current_members == 4 and by_name["文献社区"].size_warning == ""
    assert by_name["东梅社区"].size_warning
    out = selectors.committee_bodies(people.street_admin).filter(selectors.out_of_norm_q())
    assert names(out) == {"镇海街道", "东梅社区"}
    assert names(selectors.committee_bodies(people.community_admin)) == {"文献社区"}
    assert names(selectors.committee_bodies(people.grid_manager)) == set()


def test_committee_members_visible_by_body_scope(places, people):
    CommitteeMemberFactory(body=places.community_a, person_name="甲")
    CommitteeMemberFactory(body=places.community_b, person_name="乙")
    visible = {m.person_name for m in selectors.visible_committee_members(people.community_admin)}
    assert visible == {"甲"}
    visible = {m.person_name for m in selectors.visible_committee_members(people.street_admin)}
    assert visible == {"甲", "乙"}


def test_contact_points_visible_to_managing_roles_in_scope(places, people):
    ContactPointFactory(community=places.community_a, leader_name="甲")
    ContactPointFactory(community=places.community_b, leader_name="乙")
    ContactPointFactory(community=places.community_c, leader_name="丙")

    def leaders(user):
        return {p.leader_name for p in selectors.visible_contact_points(user)}

    assert leaders(people.community_admin) == {"甲"}
    assert leaders(people.street_admin) == {"甲", "乙"}
    assert leaders(people.district_admin) == {"甲", "乙", "丙"}
    assert leaders(people.grid_manager) == set()
    assert leaders(people.unit_liaison) == set()
    assert names(selectors.contact_communities(people.street_admin)) == {"文献社区", "东梅社区"}
    assert names(selectors.contact_communities(people.community_admin)) == set()


def test_subtree_summary(places, people):
    UnitFactory(node=places.community_a, party_status=PartyStatus.OWN, party_org_name="x")
    UnitFactory(node=places.community_a)
    services.party_org_create(
        actor=None,
        node=places.community_a,
        category=OrgCategory.BUILDING,
        name="楼宇党支部",
    )
    summary = selectors.subtree_summary(people.community_admin)
    levels = dict(summary.nodes_by_level)
    assert levels[str(Level.COMMUNITY.label)] == 1 and levels[str(Level.GRID.label)] == 1
    assert summary.orgs_total == 4  # three territorial organizations and the building branch
    assert dict(summary.orgs_by_category)[str(OrgCategory.BUILDING.label)] == 1
    assert summary.units_total == 3
    assert summary.coverage.organization_rate == pytest.approx(0.5)
    assert summary.bodies_total == 1 and summary.bodies_out_of_norm == 1
    assert selectors.subtree_summary(people.sys_admin) is None


def test_subtree_summary_query_count_does_not_grow(places, people, django_assert_max_num_queries):
    for _ in range(20):
        UnitFactory(node=places.grid_a)
    CommitteeMemberFactory.create_batch(5, body=places.community_a)
    selectors.subtree_summary(people.district_admin)
    with django_assert_max_num_queries(6):
        selectors.subtree_summary(people.district_admin)


def test_unit_list_prefetches_instructors(places, people, django_assert_max_num_queries):
    for _ in range(15):
        InstructorFactory(unit=UnitFactory(node=places.grid_a))
    list(selectors.unit_list(people.street_admin))
    with django_assert_max_num_queries(2):
        units = list(selectors.unit_list(people.street_admin))
        assert sum(len(u.active_instructors) for u in units) == 15
        assert all(u.node.name for u in units)


def test_history_lines_are_readable(places, people):
    services.node_update(
        actor=people.community_admin,
        node=places.community_a,
        version=1,
        changes={"address": "文献路 1 号"},
        party_org={"kind": "general_branch"},
    )
    (edited,) = [c for c in selectors.node_history(places.community_a) if c.kind == "edited"]
    assert "地址：— → 文献路 1 号" in edited.lines
    assert "党组织组织类别：党委 → 党总支" in edited.lines

"""The permission predicates, one rule of the scope table per test."""

from __future__ import annotations

import pytest

from tongxin.orgs.rules import can
from tongxin.orgs.tests.factories import CommitteeMemberFactory, ContactPointFactory

pytestmark = pytest.mark.django_db


def test_business_roles_see_their_subtree_and_admins_see_nothing(places, people):
    assert can(people.resident, "orgs.view_node", places.grid_a)
    assert not can(people.resident, "orgs.view_node", places.community_a)
    assert can(people.department, "orgs.view_node", places.grid_b)
    for admin in (people.sys_admin, people.sec_admin, people.audit_admin, people.nobody):
        assert not can(admin, "orgs.view_node", places.district)


def test_managing_roles_create_and_edit_at_ancestor_or_self(places, people):
    assert can(people.community_admin, "orgs.add_node", places.community_a)
    assert can(people.community_admin, "orgs.change_node", places.community_a)
    assert can(people.community_admin, "orgs.change_node", places.group_a)
    assert not can(people.community_admin, "orgs.change_node", places.community_b)
    assert not can(people.community_admin, "orgs.change_node", places.street)
    assert not can(people.grid_manager, "orgs.change_node", places.grid_a)
    assert not can(people.member, "orgs.add_node", places.grid_a)


@pytest.mark.parametrize("perm", ["rename", "move", "close", "reopen"])
def test_rename_move_close_only_strictly_below(places, people, perm):
    name = f"orgs.{perm}_node"
    assert not can(people.community_admin, name, places.community_a)
    assert can(people.community_admin, name, places.grid_a)
    assert can(people.street_admin, name, places.community_a)
    assert not can(people.street_admin, name, places.street)
    assert not can(people.street_admin, name, places.community_c)
    assert can(people.district_admin, name, places.street_2)


def test_units_visible_to_territory_roles_and_to_their_liaison(places, people):
    assert can(people.community_admin, "orgs.view_residentunit", places.unit_a)
    assert not can(people.community_admin, "orgs.view_residentunit", places.unit_b)
    assert can(people.unit_liaison, "orgs.view_residentunit", places.unit_a)
    assert not can(people.unit_liaison, "orgs.view_residentunit", places.unit_b)
    assert can(people.street_admin, "orgs.view_residentunit", places.unit_b)


def test_unit_edits(places, people):
    assert can(people.community_admin, "orgs.change_residentunit", places.unit_a)
    assert not can(people.unit_liaison, "orgs.change_residentunit", places.unit_a)
    assert can(people.unit_liaison, "orgs.change_unit_contact", places.unit_a)
    assert not can(people.unit_liaison, "orgs.change_unit_contact", places.unit_b)
    assert not can(people.grid_manager, "orgs.change_unit_contact", places.unit_a)
    assert can(people.community_admin, "orgs.manage_instructors", places.unit_a)
    assert not can(people.community_admin_b, "orgs.manage_instructors", places.unit_a)


def test_committee_rules(places, people):
    assert can(people.community_admin, "orgs.add_committee_member", places.community_a)
    assert not can(people.community_admin, "orgs.add_committee_member", places.grid_a)
    assert not can(people.community_admin, "orgs.add_committee_member", places.street)
    assert can(people.street_admin, "orgs.add_committee_member", places.street)
    member = CommitteeMemberFactory(body=places.community_b)
    assert can(people.community_admin_b, "orgs.change_committeemember", member)
    assert not can(people.community_admin, "orgs.change_committeemember", member)
    assert (
        can(
            people.member,
            "orgs.view_committeemember",
            CommitteeMemberFactory(body=places.community_a),
        )
        is False
    )  # a member at a grid sees the grid's subtree only


def test_contact_point_rules(places, people):
    point = ContactPointFactory(community=places.community_a)
    assert can(people.community_admin, "orgs.view_contactpoint", point)
    assert not can(people.community_admin, "orgs.change_contactpoint", point)
    assert can(people.street_admin, "orgs.change_contactpoint", point)
    assert can(people.district_admin, "orgs.add_contact_point", places.community_c)
    assert not can(people.street_admin, "orgs.add_contact_point", places.community_c)
    assert not can(people.grid_manager, "orgs.view_contactpoint", point)


def test_a_superuser_flag_grants_nothing(places, people):
    people.nobody.is_superuser = True
    assert people.nobody.has_perm("orgs.change_node", places.district)  # Django's own answer
    assert not can(people.nobody, "orgs.change_node", places.district)  # ours

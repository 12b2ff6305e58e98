"""Who may do what to one person-related object: the rules table of people/rules.py."""

from __future__ import annotations

import pytest

from tongxin.people.rules import can, serving_paths

pytestmark = pytest.mark.django_db

ALL = [
    "district_admin",
    "street_admin",
    "community_admin",
    "community_admin_b",
    "grid_manager",
    "department",
    "unit_liaison",
    "member",
    "resident",
    "sys_admin",
    "sec_admin",
    "audit_admin",
    "nobody",
]


def allowed(people, perm: str, obj) -> set[str]:
    return {who for who in ALL if can(getattr(people, who), perm, obj)}


def test_who_may_reveal_an_id_number_and_phone(people, roster):
    """Least privilege (SECURITY.md 12): managing roles over the person, and the person."""
    assert allowed(people, "people.reveal_person", roster.member_a.person) == {
        "district_admin",
        "street_admin",
        "community_admin",
        "member",  # 郭景国 himself
    }
    assert allowed(people, "people.reveal_person", roster.member_b.person) == {
        "district_admin",
        "street_admin",
        "community_admin_b",
    }


def test_who_sees_a_member(people, roster):
    assert allowed(people, "people.view_member", roster.member_a) == {
        "district_admin",
        "street_admin",
        "community_admin",
        "grid_manager",
        "member",
    }


def test_who_changes_party_membership(people, roster):
    expected = {"district_admin", "street_admin", "community_admin"}
    for perm in (
        "people.change_member",
        "people.transfer_member",
        "people.change_member_status",
        "people.manage_floating",
    ):
        assert allowed(people, perm, roster.member_a) == expected, perm


def test_who_sees_and_sets_sensitive_groups(people, roster):
    person = roster.resident_a.person
    assert allowed(people, "people.view_sensitive_groups", person) == {
        "community_admin",
        "grid_manager",
        "resident",
    }
    assert allowed(people, "people.change_sensitive_groups", person) == {
        "community_admin",
        "grid_manager",
    }


def test_a_community_grant_above_community_level_does_not_serve(people, places):
    from tongxin.accounts.models import Role, RoleAssignment
    from tongxin.core.scoping import forget_grants

    RoleAssignment.objects.create(
        user=people.street_admin, role=Role.COMMUNITY_ADMIN, node=places.street
    )
    forget_grants(people.street_admin)
    assert serving_paths(people.street_admin) == []
    assert serving_paths(people.community_admin) == [places.community_a.path]


def test_who_records_dues(people, roster):
    ledger_owner = roster.member_a
    assert allowed(people, "people.collect_dues", ledger_owner) == {
        "community_admin",
        "grid_manager",
    }
    assert allowed(people, "people.collect_dues_on_behalf", ledger_owner) == {"grid_manager"}
    assert allowed(people, "people.override_dues", ledger_owner) == {
        "district_admin",
        "street_admin",
        "community_admin",
    }
    assert allowed(people, "people.view_dues", ledger_owner) == {
        "district_admin",
        "street_admin",
        "community_admin",
        "grid_manager",
        "member",
    }


def test_who_works_with_in_service_reporting(people, places, roster):
    from tongxin.people import services

    registration = services.registration_create(actor=None, member=roster.in_service_a)
    assert allowed(people, "people.record_service", registration) == {
        "community_admin",
        "grid_manager",
    }
    assert allowed(people, "people.rate_service", registration) == {"community_admin"}
    assert allowed(people, "people.view_registration", registration) == {
        "district_admin",
        "street_admin",
        "community_admin",
        "grid_manager",
        "unit_liaison",
    }
    # The unit sits at community level: its report is for those over the community, and its
    # liaison (a grid manager sees the members of their grid in the community lists instead).
    assert allowed(people, "people.view_unit_report", places.unit_a) == {
        "district_admin",
        "street_admin",
        "community_admin",
        "unit_liaison",
    }
    assert allowed(people, "people.view_unit_report", places.unit_b) == {
        "district_admin",
        "street_admin",
        "community_admin_b",
    }


def test_who_collects_basic_information(people, places, roster):
    expected = {"district_admin", "street_admin", "community_admin", "grid_manager"}
    assert allowed(people, "people.add_resident", places.grid_a) == expected
    assert allowed(people, "people.change_household", roster.household_a) == expected
    assert allowed(people, "people.change_building", roster.building_a) == expected
    assert allowed(people, "people.add_member", places.grid_a) == expected - {"grid_manager"}


def test_superusers_get_no_shortcut(people, roster):
    people.nobody.is_superuser = True
    assert not can(people.nobody, "people.reveal_person", roster.member_a.person)

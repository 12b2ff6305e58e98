"""Scoped reads: who sees which people, which special groups, which counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from tongxin.people import selectors, services
from tongxin.people.selectors import LedgerFilters, MemberFilters, ResidentFilters
from tongxin.people.tests.factories import make_member

pytestmark = pytest.mark.django_db


def names(rows) -> set[str]:
    return {getattr(r, "person", r).name for r in rows}


def test_each_role_sees_the_members_of_its_subtree(people, roster):
    assert names(selectors.member_list(people.district_admin)) == {"郭景国", "林志明", "陈东梅"}
    assert names(selectors.member_list(people.street_admin)) == {"郭景国", "林志明", "陈东梅"}
    assert names(selectors.member_list(people.community_admin)) == {"郭景国", "林志明"}
    assert names(selectors.member_list(people.community_admin_b)) == {"陈东梅"}
    assert names(selectors.member_list(people.grid_manager)) == {"郭景国", "林志明"}


def test_a_member_and_a_resident_see_only_their_own_record(people, roster):
    assert names(selectors.member_list(people.member)) == {"郭景国"}
    assert names(selectors.resident_list(people.member)) == set()
    assert names(selectors.resident_list(people.resident)) == {"吴秀英"}
    assert names(selectors.member_list(people.resident)) == set()


@pytest.mark.parametrize("who", ["sys_admin", "sec_admin", "audit_admin", "department", "nobody"])
def test_the_three_admins_and_others_see_no_personal_data(people, roster, who):
    user = getattr(people, who)
    assert not selectors.member_list(user).exists()
    assert not selectors.resident_list(user).exists()
    assert not selectors.visible_households(user).exists()
    assert not selectors.visible_ledger(user).exists()
    assert selectors.group_counts(user) == []


def test_a_unit_liaison_sees_no_roster(people, roster):
    assert not selectors.member_list(people.unit_liaison).exists()
    assert not selectors.resident_list(people.unit_liaison).exists()


def test_details_outside_scope_are_404(people, roster):
    with pytest.raises(Http404):
        selectors.get_member_for_user(people.community_admin_b, roster.member_a.pk)
    with pytest.raises(Http404):
        selectors.get_resident_for_user(people.community_admin, roster.resident_b.pk)
    with pytest.raises(Http404):
        selectors.get_member_for_user(people.member, roster.in_service_a.pk)
    with pytest.raises(Http404):
        selectors.get_member_for_user(people.community_admin, "not-a-number")


def test_sensitive_groups_are_visible_only_to_the_serving_community(people, roster):
    def groups_seen(user):
        return {
            (r.person.name, g.group)
            for r in selectors.resident_list(user)
            for g in r.person.visible_groups
        }

    assert groups_seen(people.community_admin) == {
        ("吴秀英", "low_income"),
        ("吴秀英", "elderly_alone"),
    }
    assert groups_seen(people.grid_manager) == {
        ("吴秀英", "low_income"),
        ("吴秀英", "elderly_alone"),
    }
    assert groups_seen(people.resident) == {("吴秀英", "low_income"), ("吴秀英", "elderly_alone")}
    # The street and district see the people but only the open groups.
    assert groups_seen(people.street_admin) == {("吴秀英", "elderly_alone")}
    assert groups_seen(people.district_admin) == {("吴秀英", "elderly_alone")}
    assert groups_seen(people.community_admin_b) == {("黄东梅", "hardship")}


def test_filtering_by_a_sensitive_group_finds_nothing_above_the_community(people, roster):
    def found(user, group):
        return names(selectors.resident_list(user, ResidentFilters(group=group)))

    assert found(people.community_admin, "low_income") == {"吴秀英"}
    assert found(people.street_admin, "low_income") == set()
    assert found(people.street_admin, "hardship") == set()
    assert found(people.district_admin, "low_income") == set()
    assert found(people.street_admin, "elderly_alone") == {"吴秀英"}


def test_above_the_community_sensitive_groups_are_counts_per_community(people, roster):
    rows = {row.node.name: row.counts for row in selectors.group_counts(people.street_admin)}
    assert rows == {
        "文献社区": {"low_income": 1, "elderly_alone": 1},
        "东梅社区": {"hardship": 1},
    }
    assert {r.node.name for r in selectors.group_counts(people.community_admin_b)} == {"东梅社区"}


def test_search_by_name_full_id_number_phone_and_last_four(people, roster):
    def found(term):
        return names(selectors.member_list(people.street_admin, MemberFilters(search=term)))

    assert found("景国") == {"郭景国"}
    assert found(roster.plain["member_a_id"]) == {"郭景国"}
    assert found(roster.plain["member_a_id"].lower()) == {"郭景国"}
    assert found(roster.plain["member_a_phone"]) == {"郭景国"}
    assert found("1234") == {"郭景国"}
    assert found(roster.plain["member_a_id"][:10]) == set()  # partial numbers do not match
    assert (
        selectors.find_person_by_id_number(people.community_admin_b, roster.plain["member_a_id"])
        is None
    )


def test_member_filters(people, places, roster):
    def found(**kw):
        return names(selectors.member_list(people.street_admin, MemberFilters(**kw)))

    assert found(category="in_service") == {"林志明"}
    assert found(category="retired") == {"郭景国"}
    assert found(branch=places.grid_b) == {"陈东梅"}
    assert found(node=places.community_a) == {"郭景国", "林志明"}
    assert found(unit=places.unit_a) == {"林志明"}
    assert found(status="suspended") == set()
    assert found(age_min=50) == {"郭景国", "陈东梅"}
    assert found(age_min=60) == {"郭景国"}


def test_counts_by_category(people, roster):
    counts = {
        code: n for code, _label, n in selectors.member_counts_by_category(people.street_admin)
    }
    assert counts == {
        "registered": 1,
        "in_service": 1,
        "new_sector": 0,
        "retired": 1,
        "laid_off": 0,
        "floating": 0,
    }


def test_reporting_lists_per_community_and_per_unit(people, places, roster):
    services.registration_create(actor=None, member=roster.in_service_a)
    make_member(places.grid_a, category="in_service", unit=places.unit_a, name="未报到")
    by_community = {
        r.label: (r.total, r.reported)
        for r in selectors.reporting_by_community(people.street_admin)
    }
    assert by_community == {"文献社区": (2, 1)}
    by_unit = {
        r.label: (r.total, r.reported, r.not_reported)
        for r in selectors.reporting_by_unit(people.street_admin)
    }
    assert by_unit == {"文献供电所": (2, 1, 1)}
    # The unit's liaison sees all of its in-service members, wherever they live.
    liaison_rows = selectors.reporting_members(people.unit_liaison, unit=places.unit_a)
    assert {(m.person.name, m.reported) for m in liaison_rows} == {
        ("林志明", True),
        ("未报到", False),
    }
    # The sibling community sees none of them.
    assert not selectors.reporting_members(people.community_admin_b, unit=places.unit_a).exists()
    assert selectors.reporting_by_community(people.community_admin_b) == []


def test_registrations_are_seen_by_the_unit_liaison_and_the_member(people, places, roster):
    registration = services.registration_create(actor=None, member=roster.in_service_a)
    assert list(selectors.visible_registrations(people.unit_liaison)) == [registration]
    assert list(selectors.visible_registrations(people.grid_manager)) == [registration]
    assert not selectors.visible_registrations(people.community_admin_b).exists()


def test_dues_summary_per_branch_and_ledger_filters(people, places, roster):
    month = timezone.localdate().replace(day=1)
    services.dues_generate(actor=None, month=month, node=places.district)
    ledger = selectors.ledger_list(
        people.community_admin, LedgerFilters(member=roster.member_a)
    ).get()
    services.dues_pay(actor=people.grid_manager, ledger=ledger, on_behalf=True)
    summary = {s.branch.name: s for s in selectors.dues_summary(people.street_admin, month)}
    assert set(summary) == {"文献一网格", "东梅一网格"}
    wenxian = summary["文献一网格"]
    assert (wenxian.members, wenxian.paid_members, wenxian.collected_on_behalf) == (2, 1, 1)
    assert (
        wenxian.due
        == ledger.amount
        + selectors.ledger_list(people.community_admin, LedgerFilters(member=roster.in_service_a))
        .get()
        .amount
    )
    arrears = selectors.ledger_list(people.street_admin, LedgerFilters(arrears_only=True))
    assert names(r.member for r in arrears) == {"林志明", "陈东梅"}
    assert names(r.member for r in selectors.visible_ledger(people.member)) == {"郭景国"}
    assert selectors.member_arrears(roster.member_a).months == 0


def test_transfer_destinations_cover_the_district_only(people, places):
    destinations = set(
        selectors.transfer_destinations(people.community_admin).values_list("node__name", flat=True)
    )
    assert {"东梅一网格", "拱辰社区", "文献一网格"} <= destinations
    assert not selectors.transfer_destinations(people.grid_manager).exists()


def test_household_and_building_lists_count_residents(people, roster):
    household = selectors.household_list(people.grid_manager).get()
    assert (household.resident_count, household.head_name) == (1, "吴秀英")
    building = selectors.building_list(people.grid_manager).get()
    assert building.household_count == 1
    assert not selectors.household_list(people.community_admin_b).exists()


def test_volunteers_and_teams_are_scoped(people, places, roster):
    team = services.team_create(
        actor=people.community_admin, node=places.community_a, data={"name": "文献党员志愿服务队"}
    )
    services.volunteer_register(
        actor=people.grid_manager, person=roster.member_a.person, teams=[team]
    )
    assert names(selectors.volunteer_list(people.community_admin, team=team)) == {"郭景国"}
    assert not selectors.volunteer_list(people.community_admin_b).exists()
    assert selectors.team_list(people.community_admin).get().volunteer_count == 1
    assert not selectors.team_list(people.community_admin_b).exists()
    assert names(selectors.volunteer_list(people.member)) == {"郭景国"}


def test_registration_year_figures(people, places, roster):
    registration = services.registration_create(
        actor=None, member=roster.in_service_a, registered_on=dt.date(2025, 1, 1)
    )
    services.service_record_add(
        actor=None,
        registration=registration,
        served_on=dt.date(2025, 5, 1),
        hours="2.5",
        description="x",
    )
    services.registration_rate(actor=None, registration=registration, year=2025, rating="qualified")
    row = selectors.registration_list(people.community_admin, year=2025).get()
    assert (str(row.year_hours), row.year_rating) == ("2.5", "qualified")


def test_group_counts_include_members_who_are_not_residents_and_drop_the_moved_out(
    people, places, roster
):
    services.person_set_groups(actor=None, person=roster.member_a.person, groups=["senior_member"])
    services.resident_move_out(
        actor=None, resident=roster.resident_b, version=1, on=timezone.localdate()
    )
    rows = {row.node.name: row.counts for row in selectors.group_counts(people.street_admin)}
    assert rows == {"文献社区": {"low_income": 1, "elderly_alone": 1, "senior_member": 1}}

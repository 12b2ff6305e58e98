"""What grids show: figures counted from the people app, warnings, scope, constant queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404

from tongxin.accounts.models import Role, RoleAssignment
from tongxin.conftest import make_user
from tongxin.grids import measures, selectors, services
from tongxin.grids.tests.factories import draw, household, member, square
from tongxin.orgs.services import node_create

pytestmark = pytest.mark.django_db


def names(queryset) -> list[str]:
    return [n.name for n in queryset]


def test_figures_count_households_residents_members_groups_and_managers(places, people):
    for door in ("101", "102", "103"):
        household(places.grid_a, door, residents=2)
    moved = household(places.grid_a, "104", residents=1).residents.get()
    moved.moved_out_on = dt.date(2026, 1, 1)
    moved.save()
    household(places.grid_b, "201", residents=5)
    member(places.grid_a)  # registered at the grid, no branch
    member(places.community_a, branch=places.grid_a)  # active in the grid's branch
    member(places.grid_a, branch=places.grid_b)  # active elsewhere: counts there
    member(places.grid_a, status="transferred_out")
    node = selectors.grid_list(people.community_admin).get(pk=places.grid_a.pk)
    figures = selectors.figures_of(node)
    assert (figures.households, figures.population, figures.members) == (4, 6, 2)
    assert (figures.groups, figures.managers) == (1, 1)
    assert (figures.hh_min, figures.hh_max, figures.pop_min, figures.pop_max) == (
        300,
        500,
        1000,
        2000,
    )
    assert selectors.figures_for([places.grid_b.pk])[places.grid_b.pk].members == 1


def test_warnings_say_what_is_missing_or_out_of_norm(places, people):
    node = selectors.grid_list(people.district_admin).get(pk=places.grid_b.pk)
    assert selectors.grid_warnings(node) == [
        "尚未配备网格员（一格一员）。",
        "尚未绘制网格边界。",
        "尚未登记住户。",
    ]
    household(places.grid_a, "101", residents=3)
    draw(places.grid_a, square(119.0, 25.43))
    node = selectors.grid_list(people.district_admin).get(pk=places.grid_a.pk)
    assert selectors.grid_warnings(node) == [
        "住户 1 户，少于常规规模 300–500 户。",
        "人口 3 人，少于常规规模 1000–2000 人。",
    ]
    services.grid_update(
        actor=None,
        node=places.grid_a,
        version=1,
        changes={"households_min": 1, "population_min": 0, "population_max": 2},
    )
    node = selectors.grid_list(people.district_admin).get(pk=places.grid_a.pk)
    assert selectors.grid_warnings(node) == ["人口 3 人，多于常规规模 0–2 人。"]


def test_warnings_only_filters_in_the_database(places, people):
    for i in range(300):
        household(places.grid_a, f"{i}")
    services.grid_update(actor=None, node=places.grid_a, version=0, changes={"population_min": 0})
    draw(places.grid_a, square(119.0, 25.43))
    listed = selectors.grid_list(people.street_admin, warnings_only=True)
    assert names(listed) == ["东梅一网格"]


def test_the_list_is_scoped_to_the_users_subtree(places, people):
    assert names(selectors.grid_list(people.community_admin)) == ["文献一网格"]
    assert names(selectors.grid_list(people.community_admin_b)) == ["东梅一网格"]
    assert names(selectors.grid_list(people.grid_manager)) == ["文献一网格"]
    assert names(selectors.grid_list(people.street_admin)) == ["文献一网格", "东梅一网格"]
    assert names(selectors.grid_list(people.audit_admin)) == []
    assert names(selectors.grid_list(people.nobody)) == []


def test_a_sibling_communitys_grid_is_a_404(places, people):
    assert selectors.get_grid_for_user(people.community_admin, places.grid_a.pk)
    with pytest.raises(Http404):
        selectors.get_grid_for_user(people.community_admin, places.grid_b.pk)
    with pytest.raises(Http404):
        selectors.get_grid_for_user(people.community_admin, places.community_a.pk)  # not a grid
    with pytest.raises(Http404):
        selectors.get_grid_for_user(people.community_admin, "x")


def test_the_list_costs_the_same_queries_for_two_grids_or_twenty(
    places, people, django_assert_max_num_queries
):
    def run() -> None:
        for node in selectors.grid_list(people.district_admin):
            selectors.grid_warnings(node)
            selectors.managers_of(node)
            selectors.profile_of(node)

    with django_assert_max_num_queries(4):  # grants, grids with figures, managers, branches
        run()
    for i in range(20):
        grid = node_create(
            actor=None,
            parent=places.community_b,
            name=f"东梅{i}网格",
            level="grid",
            party_org={"name": f"东梅{i}网格党支部", "kind": "branch"},
        )
        draw(grid, square(119.0 + i * 0.01, 25.5))
        household(grid, "1", residents=2)
        manager = make_user(f"gm{i}", Role.GRID_MANAGER, grid)
        assert RoleAssignment.objects.filter(user=manager).exists()
    people.district_admin = type(people.district_admin).objects.get(pk=people.district_admin.pk)
    with django_assert_max_num_queries(4):
        run()


def test_map_measures_are_pluggable(places, people):
    household(places.grid_a, "1", residents=2)
    assert measures.measure_values("households", [places.grid_a.pk, places.grid_b.pk]) == {
        places.grid_a.pk: 1,
        places.grid_b.pk: 0,
    }
    measures.register_measure("answer", "测试指标", lambda ids: dict.fromkeys(ids, 42), order=1)
    try:
        assert measures.measures()[0].key == "answer"
        assert measures.measure_values("answer", [places.grid_a.pk]) == {places.grid_a.pk: 42}
    finally:
        measures.unregister_measure("answer")
    with pytest.raises(ValueError):
        measures.register_measure("bad key", "x", lambda ids: {})

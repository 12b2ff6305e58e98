"""Who sees what: 文献社区 against its sibling 东梅社区, one unit against another; lists
exclude, details 404; list endpoints run a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tongxin.cobuild import services
from tongxin.cobuild.tests.conftest import api, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(world):
    places, people = world.places, world.people
    mine = signed(world)
    theirs = signed(world, node=places.community_b, unit=places.unit_b)
    res_a = services.resource_create(
        actor=people.unit_liaison, unit=places.unit_a, kind="venue", title="A 会议室"
    )
    res_b = services.resource_create(
        actor=world.liaison_b, unit=places.unit_b, kind="venue", title="B 会议室"
    )
    need_b = services.need_create(
        actor=people.community_admin_b, community=places.community_b, kind="funds", title="B 资金"
    )
    sec_b = services.secondment_create(
        actor=people.community_admin_b,
        person_name="陈书记",
        direction="unit_to_community",
        unit=places.unit_b,
        community=places.community_b,
        role="first_secretary",
        starts_on=dt.date(2026, 1, 1),
    )
    meet_b = services.meeting_create(
        actor=people.community_admin_b,
        body=places.community_b,
        held_on=dt.date(2026, 3, 1),
        title="东梅联席会",
        agenda="议程",
    )
    cons_b = services.consultation_record(
        actor=world.liaison_b,
        unit=places.unit_b,
        subject="promotion",
        about_person="某人",
        consulted_person="陈主任",
        opinion="agree",
        consulted_on=dt.date(2026, 3, 1),
    )
    return {
        "agreements": (mine.pk, theirs.pk),
        "resources": (res_a.pk, res_b.pk),
        "need": need_b.pk,
        "secondment": sec_b.pk,
        "meeting": meet_b.pk,
        "consultation": cons_b.pk,
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("who", ["community_admin", "unit_liaison"])
def test_the_sibling_and_the_other_unit_are_invisible(world, rows, who):
    client = api(getattr(world.people, who))
    mine, theirs = rows["agreements"]
    assert _ids(client.get(reverse("api-agreements"))) == {mine}
    assert client.get(reverse("api-agreement-detail", args=[theirs])).status_code == 404
    res_a, res_b = rows["resources"]
    assert _ids(client.get(reverse("api-resources"))) == {res_a}
    assert client.get(reverse("api-resource-detail", args=[res_b])).status_code == 404
    assert (
        client.get(reverse("api-secondment-detail", args=[rows["secondment"]])).status_code == 404
    )
    assert client.get(reverse("api-meeting-detail", args=[rows["meeting"]])).status_code == 404
    assert (
        client.get(reverse("api-consultation-detail", args=[rows["consultation"]])).status_code
        == 404
    )
    assert _ids(client.get(reverse("api-consultations"))) == set()
    assert (
        client.get(reverse("api-unit-annual-report", args=[world.places.unit_b.pk])).status_code
        == 404
    )
    theirs_commitment = world.places.unit_b.cobuild_agreements.get().commitments.first()
    assert (
        client.get(reverse("api-commitment-detail", args=[theirs_commitment.pk])).status_code == 404
    )


def test_the_sibling_community_cannot_see_our_need(world, rows):
    client = api(world.people.community_admin)
    assert rows["need"] not in _ids(client.get(reverse("api-needs")))
    assert client.get(reverse("api-need-detail", args=[rows["need"]])).status_code == 404
    # the street sees both communities
    street = api(world.people.street_admin)
    assert _ids(street.get(reverse("api-agreements"))) == set(rows["agreements"])


def test_roles_outside_cobuild_are_refused(world, rows):
    for user in (world.people.resident, world.people.sys_admin, world.people.grid_manager):
        assert api(user).get(reverse("api-agreements")).status_code == 403
    # but residents may look at and book venues
    assert api(world.people.resident).get(reverse("api-venues")).status_code == 200


def test_list_endpoints_run_constant_queries(world, django_assert_max_num_queries):
    places, people = world.places, world.people
    for year in range(2020, 2026):
        signed(world, year=year)
        services.resource_create(
            actor=people.unit_liaison, unit=places.unit_a, kind="funds", title=f"资金{year}"
        )
        services.meeting_create(
            actor=people.community_admin,
            body=places.community_a,
            held_on=dt.date(year, 5, 1),
            title="会",
            agenda="议程",
        )
    client = api(people.street_admin)
    for name in (
        "api-agreements",
        "api-resources",
        "api-meetings",
        "api-secondments",
        "api-needs",
        "api-projects",
        "api-venues",
        "api-evaluations",
        "api-consultations",
    ):
        with django_assert_max_num_queries(8):
            assert client.get(reverse(name)).status_code == 200

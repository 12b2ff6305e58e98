"""Who sees which events: 文献社区 against its sibling 东梅社区 (lists exclude, details 404),
the street over both, 拱辰 over neither, departments only what is whistled to them, residents
only what they reported, the 三员 nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tongxin.accounts.models import Role
from tongxin.conftest import make_user
from tongxin.events.models import Action, HandlingLevel
from tongxin.events.selectors import visible_events
from tongxin.events.tests.conftest import B_LAT, B_LNG, report
from tongxin.events.tests.test_workflow import at_level, move

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_sides(world):
    wenxian = report(world, description="文献社区的事件：井盖缺失")
    resident_b = make_user("dongmei_resident", Role.RESIDENT, world.places.grid_b)
    dongmei = report(
        world, actor=resident_b, description="东梅社区的事件：垃圾堆积", lng=B_LNG, lat=B_LAT
    )
    assert dongmei.node == world.places.grid_b
    return wenxian, dongmei


def ids(user) -> set[int]:
    return set(visible_events(user).values_list("pk", flat=True))


def test_each_community_sees_its_own(world, two_sides):
    wenxian, dongmei = two_sides
    p = world.people
    assert ids(p.community_admin) == {wenxian.pk}
    assert ids(p.community_admin_b) == {dongmei.pk}
    assert ids(p.grid_manager) == {wenxian.pk}
    assert ids(world.community_b_grid_manager) == {dongmei.pk}
    assert ids(p.street_admin) == {wenxian.pk, dongmei.pk}
    assert ids(p.district_admin) == {wenxian.pk, dongmei.pk}
    assert ids(p.resident) == {wenxian.pk}  # reported it
    for nobody in (p.member, p.unit_liaison, p.sys_admin, p.sec_admin, p.audit_admin, p.nobody):
        assert ids(nobody) == set()


@pytest.mark.parametrize("who", ["community_admin_b", "member", "department", "unit_liaison"])
def test_outsiders_get_404_on_pages_and_api(world, two_sides, who):
    wenxian, _ = two_sides
    user = getattr(world.people, who)
    api = APIClient()
    api.force_authenticate(user)
    assert api.get(reverse("api-event-detail", args=[wenxian.pk])).status_code == 404
    assert wenxian.pk not in [e["id"] for e in api.get(reverse("api-events")).data["results"]]
    moved = api.post(
        reverse("api-event-transitions", args=[wenxian.pk]), {"action": "accept"}, format="json"
    )
    assert moved.status_code == 404
    page = Client()
    page.force_login(user)
    assert page.get(reverse("events:detail", args=[wenxian.pk])).status_code == 404
    assert page.post(reverse("events:move", args=[wenxian.pk, "accept"])).status_code == 404


@pytest.mark.usefixtures("two_sides")
def test_a_department_sees_only_what_is_whistled_to_it(world):
    p = world.people
    assert ids(p.department) == set()
    event = at_level(world, HandlingLevel.STREET)
    move(world, event, Action.WHISTLE, departments=[world.market])
    assert ids(p.department) == set()  # whistled to the market office, not to 城管
    assert ids(world.market_staff) == {event.pk}
    other = at_level(world, HandlingLevel.STREET)
    move(world, other, Action.WHISTLE, departments=[world.city])
    assert ids(p.department) == {other.pk}
    client = Client()
    client.force_login(p.department)
    html = client.get(reverse("events:inbox")).content.decode()
    assert f"#{other.pk}" in html and f"#{event.pk} " not in html


def test_department_staff_of_another_street_do_not_see_the_whistle(world):
    from tongxin.events.models import DepartmentStaff

    gongchen_staff = make_user("gongchen_city", Role.DEPARTMENT, world.places.street_2)
    DepartmentStaff.objects.create(department=world.city, user=gongchen_staff)
    event = at_level(world, HandlingLevel.STREET)
    move(world, event, Action.WHISTLE, departments=[world.city])
    assert ids(gongchen_staff) == set()
    assert ids(world.people.department) == {event.pk}


def test_the_other_street_sees_nothing(world, two_sides):
    street_2_admin = make_user("gongchen_admin", Role.STREET_ADMIN, world.places.street_2)
    assert ids(street_2_admin) == set()


def test_stats_are_scoped(world, two_sides):
    api = APIClient()
    api.force_authenticate(world.people.community_admin_b)
    assert api.get(reverse("api-event-stats")).data["total"] == 1
    outside = api.get(reverse("api-event-stats"), {"node": world.places.community_a.pk})
    assert outside.status_code == 400  # a node outside the scope "does not exist"

"""Role × endpoint matrix over the sibling communities 文献社区 and 东梅社区 (SECURITY.md 7).

Everyone at 文献社区 (or below) finds nothing of 东梅社区 in any people list or endpoint, gets 404
(403 where the role may not open the page at all) for its objects, and is refused its edits; the
东梅社区 admin likewise for 文献社区. Names carry the community so a leak is visible.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tongxin.people import services
from tongxin.people.models import DuesLedger

pytestmark = pytest.mark.django_db

A_SIDE = ["community_admin", "grid_manager", "member", "resident", "unit_liaison"]
HIDDEN = (403, 404)

LIST_PAGES = [
    "people:member_list",
    "people:resident_list",
    "people:household_list",
    "people:building_list",
    "people:group_counts",
    "people:dues_ledger",
    "people:reporting",
    "people:volunteer_list",
    "people:team_list",
]
LIST_ENDPOINTS = [
    "/api/v1/members/",
    "/api/v1/residents/",
    "/api/v1/households/",
    "/api/v1/buildings/",
    "/api/v1/dues/",
    "/api/v1/registrations/",
    "/api/v1/volunteers/",
    "/api/v1/volunteer-teams/",
    "/api/v1/reporting/by-unit/",
    "/api/v1/reporting/by-community/",
]


@pytest.fixture
def sides(places, roster):
    """Dues, a registration and a volunteer on each side, on top of the roster."""
    month = timezone.localdate().replace(day=1)
    services.dues_generate(actor=None, month=month, node=places.district)
    services.registration_create(actor=None, member=roster.in_service_a)
    b_team = services.team_create(
        actor=None, node=places.community_b, data={"name": "东梅志愿服务队"}
    )
    services.volunteer_register(actor=None, person=roster.member_b.person, teams=[b_team])
    a_team = services.team_create(
        actor=None, node=places.community_a, data={"name": "文献志愿服务队"}
    )
    return {
        "a": {
            "member": roster.member_a,
            "resident": roster.resident_a,
            "household": roster.household_a,
            "building": roster.building_a,
            "ledger": DuesLedger.objects.get(member=roster.member_a),
            "team": a_team,
        },
        "b": {
            "member": roster.member_b,
            "resident": roster.resident_b,
            "ledger": DuesLedger.objects.get(member=roster.member_b),
            "team": b_team,
        },
    }


def _clients(user) -> tuple[Client, APIClient]:
    web = Client()
    web.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    return web, api


def _b_detail_pages(b) -> list[str]:
    return [
        reverse("people:member_detail", args=[b["member"].pk]),
        reverse("people:resident_detail", args=[b["resident"].pk]),
        reverse("people:person_groups", args=[b["resident"].person_id]),
        reverse("people:dues_pay", args=[b["ledger"].pk]),
        reverse("people:team_detail", args=[b["team"].pk]),
        reverse("people:volunteer_register", args=[b["member"].person_id]),
        reverse("people:member_edit", args=[b["member"].pk]),
        reverse("people:member_transfer", args=[b["member"].pk]),
        reverse("people:resident_edit", args=[b["resident"].pk]),
    ]


def _b_detail_endpoints(b) -> list[str]:
    return [
        f"/api/v1/members/{b['member'].pk}/",
        f"/api/v1/residents/{b['resident'].pk}/",
        f"/api/v1/dues/{b['ledger'].pk}/",
        f"/api/v1/volunteer-teams/{b['team'].pk}/",
    ]


@pytest.mark.parametrize("who", A_SIDE)
def test_the_a_side_never_sees_dongmei(people, sides, who):
    web, api = _clients(getattr(people, who))
    for name in LIST_PAGES:
        response = web.get(reverse(name))
        assert response.status_code in (200, 403), name
        assert "东梅" not in response.content.decode(), (who, name)
    for url in LIST_ENDPOINTS:
        response = api.get(url)
        assert response.status_code in (200, 403), url
        assert "东梅" not in response.content.decode(), (who, url)
    for url in _b_detail_pages(sides["b"]):
        assert web.get(url).status_code in HIDDEN, (who, url)
    for url in _b_detail_endpoints(sides["b"]):
        assert api.get(url).status_code in HIDDEN, (who, url)
    b = sides["b"]
    writes = [
        (f"/api/v1/members/{b['member'].pk}/", "patch", {"version": 1, "name": "改名"}),
        (f"/api/v1/members/{b['member'].pk}/reveal/", "post", {"reason": "越权"}),
        (
            f"/api/v1/members/{b['member'].pk}/transfer/",
            "post",
            {"version": 1, "on": "2025-01-01", "to_name": "x"},
        ),
        (f"/api/v1/residents/{b['resident'].pk}/groups/", "post", {"groups": []}),
        (f"/api/v1/dues/{b['ledger'].pk}/pay/", "post", {}),
        (
            f"/api/v1/dues/{b['ledger'].pk}/override/",
            "post",
            {"version": 1, "amount": "0", "reason": "越权"},
        ),
    ]
    for url, method, data in writes:
        response = getattr(api, method)(url, data, format="json")
        assert response.status_code in HIDDEN, (who, url, response.status_code)
    assert (
        web.post(
            reverse("people:person_reveal", args=[b["member"].person_id]), {"reason": "越权"}
        ).status_code
        in HIDDEN
    )


def test_the_dongmei_admin_never_sees_wenxian(people, sides):
    web, api = _clients(people.community_admin_b)
    a_names = ("郭景国", "林志明", "吴秀英", "文献花园", "文献志愿服务队")
    for name in LIST_PAGES:
        html = web.get(reverse(name)).content.decode()
        assert not any(n in html for n in a_names), name
    for url in LIST_ENDPOINTS:
        body = api.get(url).content.decode()
        assert not any(n in body for n in a_names), url
    a = sides["a"]
    pages = [
        reverse("people:member_detail", args=[a["member"].pk]),
        reverse("people:resident_detail", args=[a["resident"].pk]),
        reverse("people:household_detail", args=[a["household"].pk]),
        reverse("people:building_detail", args=[a["building"].pk]),
        reverse("people:dues_override", args=[a["ledger"].pk]),
        reverse("people:team_detail", args=[a["team"].pk]),
    ]
    for url in pages:
        assert web.get(url).status_code == 404, url
    endpoints = [
        f"/api/v1/members/{a['member'].pk}/",
        f"/api/v1/residents/{a['resident'].pk}/",
        f"/api/v1/households/{a['household'].pk}/",
        f"/api/v1/buildings/{a['building'].pk}/",
        f"/api/v1/dues/{a['ledger'].pk}/",
        f"/api/v1/volunteer-teams/{a['team'].pk}/",
    ]
    for url in endpoints:
        assert api.get(url).status_code == 404, url


def test_the_street_sees_both_and_the_other_street_neither(people, places, sides):
    _, api = _clients(people.street_admin)
    body = api.get("/api/v1/members/").content.decode()
    assert "郭景国" in body and "陈东梅" in body
    from tongxin.accounts.models import Role
    from tongxin.conftest import make_user

    other_street = make_user("gongchen_street", Role.STREET_ADMIN, places.street_2)
    _, api = _clients(other_street)
    assert api.get("/api/v1/members/").json()["results"] == []
    assert api.get(f"/api/v1/members/{sides['a']['member'].pk}/").status_code == 404

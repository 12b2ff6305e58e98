"""Role × endpoint matrix over sibling subtrees (ARCHITECTURE.md 3, SECURITY.md 7).

Every business role held at 文献社区 (community A) or below, and the admin of its sibling 东梅社区,
must find nothing of the other community in any list, get 404 (or 403) for any of its objects,
and have every edit of them refused. The street admin sees both communities but not 拱辰街道;
the district admin sees everything; the 三员 see no business data at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tongxin.orgs import services
from tongxin.orgs.models import (
    CommitteeMember,
    ContactPoint,
    OrgCategory,
    OrgNode,
    PartyOrganization,
    ResidentUnit,
)
from tongxin.orgs.tests.factories import (
    CommitteeMemberFactory,
    ContactPointFactory,
    ContactProjectFactory,
    InstructorFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

A_SIDE_ROLES = ["community_admin", "grid_manager", "member", "resident", "unit_liaison"]
ADMIN_ROLES = ["sys_admin", "sec_admin", "audit_admin"]
HIDDEN = (403, 404)


@dataclass
class Side:
    """One community's objects, all named with the community's name so a leak is visible."""

    marker: str
    community: OrgNode
    grid: OrgNode
    unit: ResidentUnit
    party_org: PartyOrganization
    member: CommitteeMember
    contact: ContactPoint


def _side(places, marker: str, community, grid, unit) -> Side:
    org = services.party_org_create(
        actor=None,
        node=community,
        category=OrgCategory.TEMPORARY,
        name=f"{marker}临时党支部",
        project=f"{marker}片区改造",
        starts_on=dt.date(2025, 5, 1),
        ends_on=dt.date(2026, 4, 30),
    )
    InstructorFactory(unit=unit, instructor_name=f"{marker}指导员")
    member = CommitteeMemberFactory(body=community, person_name=f"{marker}委员", unit=unit)
    contact = ContactPointFactory(community=community, leader_name=f"{marker}联系领导")
    ContactProjectFactory(contact_point=contact, name=f"{marker}领办项目")
    return Side(marker, community, grid, unit, org, member, contact)


@pytest.fixture
def sides(places):
    a = _side(places, "文献", places.community_a, places.grid_a, places.unit_a)
    b = _side(places, "东梅", places.community_b, places.grid_b, places.unit_b)
    unit_c = UnitFactory(node=places.community_c, name="拱辰商贸有限公司")
    c = _side(places, "拱辰", places.community_c, places.community_c, unit_c)
    return a, b, c


def _clients(user) -> tuple[Client, APIClient]:
    web = Client()
    web.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    return web, api


LIST_PAGES = [
    "orgs:tree",
    "orgs:unit_list",
    "orgs:committee_list",
    "orgs:contact_list",
    "orgs:coverage",
]
LIST_ENDPOINTS = [
    "/api/v1/orgs/?include_closed=true",
    "/api/v1/party-orgs/?include_closed=true",
    "/api/v1/units/?include_closed=true",
    "/api/v1/committee-members/",
    "/api/v1/contact-points/",
    "/api/v1/units/coverage/",
]


def _detail_pages(other: Side) -> list[str]:
    return [
        reverse("orgs:node_detail", args=[other.community.pk]),
        reverse("orgs:node_detail", args=[other.grid.pk]),
        reverse("orgs:node_children", args=[other.community.pk]),
        reverse("orgs:unit_detail", args=[other.unit.pk]),
        reverse("orgs:committee_detail", args=[other.community.pk]),
        reverse("orgs:committee_member_detail", args=[other.member.pk]),
        reverse("orgs:contact_detail", args=[other.contact.pk]),
        reverse("orgs:coverage") + f"?node={other.community.pk}",
        reverse("orgs:unit_list") + f"?node={other.community.pk}",
    ]


def _detail_endpoints(other: Side) -> list[str]:
    return [
        f"/api/v1/orgs/{other.community.pk}/",
        f"/api/v1/orgs/{other.grid.pk}/",
        f"/api/v1/party-orgs/{other.party_org.pk}/",
        f"/api/v1/units/{other.unit.pk}/",
        f"/api/v1/committee-members/{other.member.pk}/",
        f"/api/v1/contact-points/{other.contact.pk}/",
        f"/api/v1/units/coverage/?node={other.community.pk}",
        f"/api/v1/committee-members/roster/?body={other.community.pk}",
        f"/api/v1/units/?node={other.community.pk}",
    ]


def _versions(side: Side) -> tuple:
    return tuple(
        type(obj).objects.get(pk=obj.pk).version
        for obj in (side.community, side.grid, side.unit, side.party_org, side.member, side.contact)
    )


def _assert_lists_exclude(web: Client, api: APIClient, marker: str) -> None:
    for name in LIST_PAGES:
        response = web.get(reverse(name))
        assert response.status_code in (200, 403), name
        if response.status_code == 200:
            assert marker not in response.content.decode(), f"{marker} leaked on {name}"
    for url in LIST_ENDPOINTS:
        response = api.get(url)
        assert response.status_code in (200, 403), url
        if response.status_code == 200:
            assert marker not in response.content.decode(), f"{marker} leaked by {url}"


def _assert_details_hidden(web: Client, api: APIClient, other: Side) -> None:
    for url in _detail_pages(other):
        assert web.get(url).status_code in HIDDEN, url
    for url in _detail_endpoints(other):
        assert api.get(url).status_code in HIDDEN, url


def _assert_edits_refused(web: Client, api: APIClient, other: Side, home: Side) -> None:
    before = _versions(other)
    page_posts = {
        reverse("orgs:node_edit", args=[other.community.pk]): {"version": 1, "code": "X"},
        reverse("orgs:node_create", args=[other.community.pk]): {"name": "越权网格"},
        reverse("orgs:node_rename", args=[other.grid.pk]): {"version": 1, "name": "越权"},
        reverse("orgs:node_close", args=[other.grid.pk]): {"version": 1, "reason": "越权"},
        reverse("orgs:party_org_create", args=[other.community.pk]): {
            "category": "building",
            "name": "越权",
            "kind": "branch",
        },
        reverse("orgs:party_org_close", args=[other.party_org.pk]): {"version": 1},
        reverse("orgs:unit_edit", args=[other.unit.pk]): {"version": 1, "contact_name": "越权"},
        reverse("orgs:unit_close", args=[other.unit.pk]): {"version": 1},
        reverse("orgs:instructor_assign", args=[other.unit.pk]): {
            "instructor_name": "越权",
            "starts_on": "2025-01-01",
        },
        reverse("orgs:committee_member_add", args=[other.community.pk]): {
            "person_name": "越权",
            "duty": "x",
            "term_start": "2025-01-01",
        },
        reverse("orgs:committee_member_edit", args=[other.member.pk]): {
            "version": 1,
            "person_name": "越权",
            "duty": "x",
            "term_start": "2025-01-01",
        },
        reverse("orgs:committee_member_leave", args=[other.member.pk]): {
            "version": 1,
            "left_on": "2025-06-30",
        },
        reverse("orgs:contact_edit", args=[other.contact.pk]): {
            "version": 1,
            "community": other.community.pk,
            "leader_name": "越权",
            "leader_title": "x",
            "starts_on": "2025-01-01",
        },
        reverse("orgs:contact_project_add", args=[other.contact.pk]): {"name": "越权"},
    }
    for url, data in page_posts.items():
        assert web.post(url, data).status_code in HIDDEN, url
    api_writes = [
        ("patch", f"/api/v1/orgs/{other.community.pk}/", {"version": 1, "code": "X"}),
        ("post", "/api/v1/orgs/", {"parent": other.community.pk, "name": "越权网格"}),
        ("post", f"/api/v1/orgs/{other.grid.pk}/rename/", {"version": 1, "name": "越权"}),
        ("post", f"/api/v1/orgs/{other.grid.pk}/close/", {"version": 1, "reason": "越权"}),
        (
            "post",
            f"/api/v1/orgs/{home.grid.pk}/move/",
            {"version": 1, "parent": other.community.pk},
        ),
        ("patch", f"/api/v1/party-orgs/{other.party_org.pk}/", {"version": 1, "secretary": "x"}),
        ("post", f"/api/v1/party-orgs/{other.party_org.pk}/close/", {"version": 1}),
        (
            "post",
            "/api/v1/party-orgs/",
            {"node": other.community.pk, "category": "building", "name": "越权"},
        ),
        ("patch", f"/api/v1/units/{other.unit.pk}/", {"version": 1, "contact_name": "越权"}),
        ("post", f"/api/v1/units/{other.unit.pk}/close/", {"version": 1}),
        (
            "post",
            "/api/v1/units/",
            {"name": "越权", "unit_type": "non_public", "node": other.community.pk},
        ),
        (
            "post",
            f"/api/v1/units/{other.unit.pk}/instructors/",
            {"instructor_name": "越权", "starts_on": "2025-01-01"},
        ),
        (
            "patch",
            f"/api/v1/committee-members/{other.member.pk}/",
            {"version": 1, "duty": "越权"},
        ),
        (
            "post",
            f"/api/v1/committee-members/{other.member.pk}/leave/",
            {"version": 1, "left_on": "2025-06-30"},
        ),
        (
            "post",
            "/api/v1/committee-members/",
            {
                "body": other.community.pk,
                "person_name": "越权",
                "duty": "x",
                "term_start": "2025-01-01",
            },
        ),
        ("patch", f"/api/v1/contact-points/{other.contact.pk}/", {"version": 1, "note": "越权"}),
        ("post", f"/api/v1/contact-points/{other.contact.pk}/projects/", {"name": "越权"}),
        (
            "post",
            "/api/v1/contact-points/",
            {
                "community": other.community.pk,
                "leader_name": "越权",
                "leader_title": "x",
                "starts_on": "2025-01-01",
            },
        ),
    ]
    for method, url, data in api_writes:
        response = getattr(api, method)(url, data, format="json")
        assert response.status_code in (400, 403, 404), (method, url, response.status_code)
    assert _versions(other) == before
    assert not OrgNode.objects.filter(name__startswith="越权").exists()
    assert not ResidentUnit.objects.filter(name="越权").exists()
    assert not CommitteeMember.objects.filter(person_name="越权").exists()
    assert not ContactPoint.objects.filter(leader_name="越权").exists()
    assert not PartyOrganization.objects.filter(name="越权").exists()


@pytest.mark.parametrize("role", A_SIDE_ROLES)
def test_roles_in_community_a_see_nothing_of_the_sibling(places, people, sides, role):
    a, b, _c = sides
    web, api = _clients(getattr(people, role))
    _assert_lists_exclude(web, api, b.marker)
    _assert_details_hidden(web, api, b)
    _assert_edits_refused(web, api, b, a)


def test_the_sibling_community_admin_sees_nothing_of_community_a(places, people, sides):
    a, b, _c = sides
    web, api = _clients(people.community_admin_b)
    assert "东梅社区" in web.get(reverse("orgs:tree")).content.decode()
    _assert_lists_exclude(web, api, a.marker)
    _assert_details_hidden(web, api, a)
    _assert_edits_refused(web, api, a, b)


def test_roles_in_community_a_still_see_their_own_things(places, people, sides):
    a, _b, _c = sides
    web, api = _clients(people.community_admin)
    for url in _detail_pages(a):
        assert web.get(url).status_code == 200, url
    for url in _detail_endpoints(a):
        assert api.get(url).status_code == 200, url
    web, api = _clients(people.unit_liaison)
    assert web.get(reverse("orgs:unit_detail", args=[a.unit.pk])).status_code == 200
    assert api.get(f"/api/v1/units/{a.unit.pk}/").status_code == 200


def test_street_admin_sees_both_communities_but_not_the_other_street(places, people, sides):
    a, b, c = sides
    web, api = _clients(people.street_admin)
    tree = web.get(reverse("orgs:tree")).content.decode()
    assert "文献社区" in tree and "东梅社区" in tree
    units = api.get("/api/v1/units/").content.decode()
    assert "文献供电所" in units and "东梅科技有限公司" in units
    for side in (a, b):
        assert web.get(reverse("orgs:contact_detail", args=[side.contact.pk])).status_code == 200
        assert api.get(f"/api/v1/committee-members/{side.member.pk}/").status_code == 200
    _assert_lists_exclude(web, api, c.marker)
    for url in (
        reverse("orgs:node_detail", args=[places.street_2.pk]),
        reverse("orgs:node_detail", args=[c.community.pk]),
        reverse("orgs:committee_member_detail", args=[c.member.pk]),
        reverse("orgs:contact_detail", args=[c.contact.pk]),
    ):
        assert web.get(url).status_code in HIDDEN, url
    for url in (
        f"/api/v1/orgs/{places.street_2.pk}/",
        f"/api/v1/party-orgs/{c.party_org.pk}/",
        f"/api/v1/committee-members/{c.member.pk}/",
        f"/api/v1/contact-points/{c.contact.pk}/",
    ):
        assert api.get(url).status_code in HIDDEN, url


def test_district_admin_sees_everything(places, people, sides):
    _a, _b, c = sides
    web, api = _clients(people.district_admin)
    tree = web.get(reverse("orgs:tree")).content.decode()
    assert "镇海街道" in tree and "拱辰街道" in tree
    assert api.get("/api/v1/orgs/").json()["count"] == 9
    for url in [*_detail_pages(c)[:1], reverse("orgs:contact_detail", args=[c.contact.pk])]:
        assert web.get(url).status_code == 200, url
    for url in _detail_endpoints(c)[:6]:
        assert api.get(url).status_code == 200, url
    contacts = api.get("/api/v1/contact-points/").json()
    assert {row["leader_name"] for row in contacts["results"]} == {
        "文献联系领导",
        "东梅联系领导",
        "拱辰联系领导",
    }


@pytest.mark.parametrize("role", [*ADMIN_ROLES, "nobody"])
def test_the_three_admins_get_403_on_every_org_page_and_endpoint(places, people, sides, role):
    a, _b, _c = sides
    web, api = _clients(getattr(people, role))
    for name in LIST_PAGES:
        assert web.get(reverse(name)).status_code == 403, name
    for url in _detail_pages(a):
        assert web.get(url).status_code == 403, url
    for url in [*LIST_ENDPOINTS, *_detail_endpoints(a)]:
        assert api.get(url).status_code == 403, url
    response = api.patch(f"/api/v1/orgs/{a.community.pk}/", {"version": 1, "code": "x"})
    assert response.status_code == 403
    assert web.post(reverse("orgs:node_edit", args=[a.community.pk]), {}).status_code == 403

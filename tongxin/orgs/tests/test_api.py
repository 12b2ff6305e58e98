"""The REST API: scoped lists and details, writes through the services, 400/403/404/409."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tongxin.orgs import services
from tongxin.orgs.models import Level, OrgCategory, OrgNode, PartyStatus
from tongxin.orgs.tests.factories import (
    CREDIT_CODE,
    CommitteeMemberFactory,
    ContactPointFactory,
    ContactProjectFactory,
    InstructorFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def names(response) -> set[str]:
    return {row.get("name") or row.get("person_name") for row in response.json()["results"]}


# ---------------------------------------------------------------------------------------------
# /api/v1/orgs/


def test_org_list_is_scoped_and_filtered(places, people, api):
    client = api(people.community_admin)
    response = client.get("/api/v1/orgs/")
    assert response.status_code == 200
    assert names(response) == {"文献社区", "文献一网格", "文献一网格一组"}
    assert names(client.get("/api/v1/orgs/", {"level": "grid"})) == {"文献一网格"}
    assert names(client.get("/api/v1/orgs/", {"parent": places.grid_a.pk})) == {"文献一网格一组"}
    assert names(client.get("/api/v1/orgs/", {"search": "一组"})) == {"文献一网格一组"}
    row = client.get("/api/v1/orgs/", {"level": "community"}).json()["results"][0]
    assert row["party_org"]["name"] == "文献社区党组织"
    assert row["open_children"] == 1 and row["version"] == 1


def test_org_list_hides_closed_nodes_unless_asked(places, people, api):
    services.node_close(actor=people.street_admin, node=places.group_a, version=1, reason="x")
    client = api(people.community_admin)
    assert "文献一网格一组" not in names(client.get("/api/v1/orgs/"))
    assert "文献一网格一组" in names(client.get("/api/v1/orgs/", {"include_closed": "true"}))
    assert client.get(f"/api/v1/orgs/{places.group_a.pk}/").status_code == 200
    assert client.get("/api/v1/orgs/", {"level": "town"}).status_code == 400


def test_org_list_runs_a_constant_number_of_queries(
    places, people, api, django_assert_max_num_queries
):
    client = api(people.district_admin)
    client.get("/api/v1/orgs/")
    with django_assert_max_num_queries(5):
        small = client.get("/api/v1/orgs/")
    for i in range(40):
        services.node_create(
            actor=None,
            parent=places.grid_a,
            name=f"楼栋{i}",
            level=Level.GROUP,
            party_org={"name": f"楼栋{i}党小组", "kind": "group"},
        )
    with django_assert_max_num_queries(5):
        large = client.get("/api/v1/orgs/", {"page_size": 100})
    assert len(large.json()["results"]) == 49 > len(small.json()["results"])


def test_org_detail_outside_scope_is_404(places, people, api):
    client = api(people.community_admin)
    assert client.get(f"/api/v1/orgs/{places.community_b.pk}/").status_code == 404
    assert client.get(f"/api/v1/orgs/{places.grid_a.pk}/").json()["name"] == "文献一网格"


def test_create_a_child_node(places, people, api):
    client = api(people.community_admin)
    response = client.post(
        "/api/v1/orgs/",
        {
            "parent": places.community_a.pk,
            "name": "文献二网格",
            "party_org": {"name": "文献二网格党支部", "kind": "branch"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["level"] == "grid" and body["party_org"]["name"] == "文献二网格党支部"
    assert OrgNode.objects.get(pk=body["id"]).parent == places.community_a


def test_create_under_an_invisible_parent_is_400_and_under_a_visible_one_without_right_403(
    places, people, api
):
    response = api(people.community_admin).post(
        "/api/v1/orgs/", {"parent": places.community_b.pk, "name": "x"}, format="json"
    )
    assert response.status_code == 400 and "parent" in response.json()
    response = api(people.grid_manager).post(
        "/api/v1/orgs/", {"parent": places.grid_a.pk, "name": "x"}, format="json"
    )
    assert response.status_code == 403


def test_create_with_wrong_level_is_400_in_chinese(places, people, api):
    response = api(people.street_admin).post(
        "/api/v1/orgs/",
        {"parent": places.street.pk, "name": "错层", "level": "grid"},
        format="json",
    )
    assert response.status_code == 400
    assert "不能设在所选上级之下" in response.json()["parent"][0]


def test_patch_needs_the_current_version(places, people, api):
    client = api(people.community_admin)
    url = f"/api/v1/orgs/{places.community_a.pk}/"
    response = client.patch(url, {"address": "文献路 1 号"}, format="json")
    assert response.status_code == 400 and response.json()["version"] == ["该字段是必填项。"]
    response = client.patch(
        url,
        {"version": 1, "address": "文献路 1 号", "party_org": {"secretary": "王"}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2 and response.json()["party_org"]["secretary"] == "王"
    response = client.patch(url, {"version": 1, "address": "文献路 2 号"}, format="json")
    assert response.status_code == 409
    assert "已被他人修改" in response.json()["detail"]


def test_patch_outside_scope_is_404_and_without_right_403(places, people, api):
    body = {"version": 1, "code": "x"}
    assert (
        api(people.community_admin)
        .patch(f"/api/v1/orgs/{places.community_b.pk}/", body, format="json")
        .status_code
        == 404
    )
    assert (
        api(people.member)
        .patch(f"/api/v1/orgs/{places.grid_a.pk}/", body, format="json")
        .status_code
        == 403
    )


def test_no_put_and_no_delete(places, people, api):
    client = api(people.district_admin)
    url = f"/api/v1/orgs/{places.group_a.pk}/"
    assert client.delete(url).status_code == 405
    assert client.put(url, {}, format="json").status_code == 405


def test_move_rename_close_reopen(places, people, api):
    client = api(people.street_admin)
    grid = places.grid_a
    response = client.post(
        f"/api/v1/orgs/{grid.pk}/move/",
        {"version": 1, "parent": places.community_b.pk},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["path"].startswith(places.community_b.path)
    assert response.json()["depth"] == 4
    response = client.post(
        f"/api/v1/orgs/{grid.pk}/rename/", {"version": 2, "name": "东梅二网格"}, format="json"
    )
    assert response.status_code == 200 and response.json()["name"] == "东梅二网格"
    response = client.post(f"/api/v1/orgs/{grid.pk}/close/", {"version": 3, "reason": "x"})
    assert response.status_code == 400  # it still has an open group
    assert "下级" in response.json()["non_field_errors"][0]
    response = client.post(
        f"/api/v1/orgs/{places.group_a.pk}/close/", {"version": 1, "reason": "楼栋拆除"}
    )
    assert response.status_code == 200 and response.json()["closed_at"]
    response = client.post(f"/api/v1/orgs/{places.group_a.pk}/reopen/", {"version": 2})
    assert response.status_code == 200 and response.json()["closed_at"] is None
    response = client.post(f"/api/v1/orgs/{places.group_a.pk}/reopen/", {"version": 3})
    assert response.status_code == 409


def test_move_into_own_subtree_and_stale_version(places, people, api):
    client = api(people.district_admin)
    url = f"/api/v1/orgs/{places.community_a.pk}/move/"
    response = client.post(url, {"version": 1, "parent": places.grid_a.pk})
    assert response.status_code == 400 and "parent" in response.json()
    response = client.post(url, {"version": 9, "parent": places.street_2.pk})
    assert response.status_code == 409


def test_community_admin_cannot_rename_or_close_own_community(places, people, api):
    client = api(people.community_admin)
    url = f"/api/v1/orgs/{places.community_a.pk}/"
    assert client.post(url + "rename/", {"version": 1, "name": "x"}).status_code == 403
    assert client.post(url + "close/", {"version": 1, "reason": "x"}).status_code == 403


# ---------------------------------------------------------------------------------------------
# /api/v1/party-orgs/


def test_party_org_create_list_close(places, people, api):
    client = api(people.community_admin)
    response = client.post(
        "/api/v1/party-orgs/",
        {"node": places.community_a.pk, "category": "temporary", "name": "旧改临时党支部"},
        format="json",
    )
    assert response.status_code == 400
    assert {"project", "starts_on", "ends_on"} <= set(response.json())
    response = client.post(
        "/api/v1/party-orgs/",
        {
            "node": places.community_a.pk,
            "category": "temporary",
            "name": "旧改临时党支部",
            "project": "文献片区改造",
            "starts_on": "2025-05-01",
            "ends_on": "2026-04-30",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    org_id = response.json()["id"]
    listed = client.get("/api/v1/party-orgs/", {"category": "temporary"}).json()["results"]
    assert [row["id"] for row in listed] == [org_id]
    response = client.patch(
        f"/api/v1/party-orgs/{org_id}/", {"version": 1, "secretary": "林"}, format="json"
    )
    assert response.status_code == 200 and response.json()["version"] == 2
    response = client.post(f"/api/v1/party-orgs/{org_id}/close/", {"version": 2, "reason": "完工"})
    assert response.status_code == 200 and response.json()["closed_at"]
    assert client.get("/api/v1/party-orgs/", {"category": "temporary"}).json()["count"] == 0


def test_joint_party_org_via_api(places, people, api):
    u1, u2 = UnitFactory(node=places.community_a), UnitFactory(node=places.grid_a)
    response = api(people.community_admin).post(
        "/api/v1/party-orgs/",
        {
            "node": places.community_a.pk,
            "category": "joint",
            "name": "联合党支部",
            "covered_units": [u1.pk, u2.pk],
        },
        format="json",
    )
    assert response.status_code == 201
    assert sorted(response.json()["covered_units"]) == sorted([u1.pk, u2.pk])
    u1.refresh_from_db()
    assert u1.party_status == PartyStatus.JOINT


def test_party_org_create_refuses_territorial(places, people, api):
    response = api(people.community_admin).post(
        "/api/v1/party-orgs/",
        {"node": places.community_a.pk, "category": "territorial", "name": "x"},
        format="json",
    )
    assert response.status_code == 400 and "category" in response.json()


# ---------------------------------------------------------------------------------------------
# /api/v1/units/


def test_unit_list_filters_and_liaison_scope(places, people, api):
    UnitFactory(node=places.grid_a, name="文献商贸", party_status=PartyStatus.INSTRUCTOR)
    client = api(people.street_admin)
    assert names(client.get("/api/v1/units/")) == {"文献供电所", "东梅科技有限公司", "文献商贸"}
    assert names(client.get("/api/v1/units/", {"node": places.community_a.pk})) == {
        "文献供电所",
        "文献商贸",
    }
    assert names(client.get("/api/v1/units/", {"party_status": "instructor"})) == {"文献商贸"}
    assert names(client.get("/api/v1/units/", {"unit_type": "soe"})) == {"文献供电所"}
    assert names(client.get("/api/v1/units/", {"search": "东梅"})) == {"东梅科技有限公司"}
    assert names(api(people.unit_liaison).get("/api/v1/units/")) == {"文献供电所"}
    assert (
        api(people.community_admin)
        .get("/api/v1/units/", {"node": places.community_b.pk})
        .status_code
        == 404
    )


def test_unit_list_runs_a_constant_number_of_queries(
    places, people, api, django_assert_max_num_queries
):
    client = api(people.street_admin)
    client.get("/api/v1/units/")
    with django_assert_max_num_queries(5):
        client.get("/api/v1/units/")
    for _ in range(30):
        InstructorFactory(unit=UnitFactory(node=places.grid_a))
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/units/", {"page_size": 100})
    assert response.json()["count"] == 32
    assert sum(len(row["instructors"]) for row in response.json()["results"]) == 30


def test_unit_create_validates_credit_code_and_party_org_name(places, people, api):
    client = api(people.community_admin)
    base = {"name": "新公司", "unit_type": "non_public", "node": places.grid_a.pk}
    response = client.post("/api/v1/units/", {**base, "credit_code": "123"}, format="json")
    assert response.status_code == 400 and "校验位" in response.json()["credit_code"][0]
    response = client.post("/api/v1/units/", {**base, "party_status": "own"}, format="json")
    assert response.status_code == 400 and "party_org_name" in response.json()
    response = client.post("/api/v1/units/", {**base, "credit_code": CREDIT_CODE}, format="json")
    assert response.status_code == 201 and response.json()["credit_code"] == CREDIT_CODE
    response = client.post("/api/v1/units/", {**base, "node": places.community_b.pk}, format="json")
    assert response.status_code == 400 and "node" in response.json()


def test_liaison_edits_only_contact_fields(places, people, api):
    client = api(people.unit_liaison)
    url = f"/api/v1/units/{places.unit_a.pk}/"
    response = client.patch(url, {"version": 1, "contact_phone": "0594-1234567"}, format="json")
    assert response.status_code == 200 and response.json()["contact_phone"] == "0594-1234567"
    assert client.patch(url, {"version": 2, "name": "改"}, format="json").status_code == 403
    assert (
        client.patch(
            f"/api/v1/units/{places.unit_b.pk}/", {"version": 1, "contact_name": "x"}, format="json"
        ).status_code
        == 404
    )


def test_unit_close_and_instructors(places, people, api):
    client = api(people.community_admin_b)
    unit = places.unit_b
    response = client.post(
        f"/api/v1/units/{unit.pk}/instructors/",
        {"instructor_name": "林指导", "starts_on": "2025-03-01"},
        format="json",
    )
    assert response.status_code == 201
    instructor_id = response.json()["id"]
    detail = client.get(f"/api/v1/units/{unit.pk}/").json()
    assert (
        detail["party_status"] == "instructor" and detail["instructors"][0]["id"] == instructor_id
    )
    response = client.post(
        f"/api/v1/units/{unit.pk}/instructors/{instructor_id}/end/", {"ends_on": "2025-12-31"}
    )
    assert response.status_code == 200 and response.json()["ends_on"] == "2025-12-31"
    response = client.post(f"/api/v1/units/{unit.pk}/close/", {"version": 3})
    assert response.status_code == 200 and response.json()["closed_at"]
    assert client.post(f"/api/v1/units/{unit.pk}/close/", {"version": 4}).status_code == 409


def test_coverage_endpoint(places, people, api):
    UnitFactory(node=places.grid_a, party_status=PartyStatus.OWN, party_org_name="x")
    UnitFactory(node=places.community_a, party_status=PartyStatus.INSTRUCTOR)
    client = api(people.street_admin)
    body = client.get("/api/v1/units/coverage/", {"node": places.street.pk}).json()
    assert (body["total"], body["own"], body["instructor"], body["none"]) == (3, 1, 1, 1)
    assert body["organization_rate"] == pytest.approx(1 / 3)
    assert body["work_rate"] == pytest.approx(2 / 3)
    children = {row["name"]: row for row in body["children"]}
    assert children["文献社区"]["total"] == 2 and children["东梅社区"]["none"] == 1
    assert {row["unit_type"]: row["count"] for row in body["by_type"]}["soe"] == 1
    whole = client.get("/api/v1/units/coverage/").json()
    assert whole["node"] is None and whole["total"] == 3
    assert (
        api(people.community_admin)
        .get("/api/v1/units/coverage/", {"node": places.community_b.pk})
        .status_code
        == 404
    )


# ---------------------------------------------------------------------------------------------
# /api/v1/committee-members/


def test_committee_members(places, people, api):
    client = api(people.community_admin)
    response = client.post(
        "/api/v1/committee-members/",
        {"body": places.grid_a.pk, "person_name": "郑", "duty": "x", "term_start": "2025-01-01"},
        format="json",
    )
    assert response.status_code == 400 and "body" in response.json()
    response = client.post(
        "/api/v1/committee-members/",
        {
            "body": places.community_a.pk,
            "person_name": "郑委员",
            "duty": "联系驻区单位",
            "term_start": "2025-01-01",
            "unit": places.unit_a.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    member_id = response.json()["id"]
    assert response.json()["unit_name"] == "文献供电所" and response.json()["is_current"]
    roster = client.get("/api/v1/committee-members/roster/", {"body": places.community_a.pk})
    assert roster.status_code == 200
    assert roster.json()["size"] == 1 and "少于" in roster.json()["warning"]
    response = client.patch(
        f"/api/v1/committee-members/{member_id}/", {"version": 1, "duty": "新职责"}, format="json"
    )
    assert response.status_code == 200 and response.json()["duty"] == "新职责"
    response = client.post(
        f"/api/v1/committee-members/{member_id}/leave/", {"version": 2, "left_on": "2025-06-30"}
    )
    assert response.status_code == 200 and not response.json()["is_current"]
    assert client.get("/api/v1/committee-members/", {"current": "true"}).json()["count"] == 0
    assert client.get("/api/v1/committee-members/roster/").status_code == 400
    assert (
        client.get("/api/v1/committee-members/roster/", {"body": places.grid_a.pk}).status_code
        == 400
    )


def test_committee_member_list_constant_queries(places, people, api, django_assert_max_num_queries):
    client = api(people.street_admin)
    client.get("/api/v1/committee-members/")
    for _ in range(25):
        CommitteeMemberFactory(body=places.community_a, unit=places.unit_a)
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/committee-members/", {"page_size": 100})
    assert response.json()["count"] == 25


# ---------------------------------------------------------------------------------------------
# /api/v1/contact-points/


def test_contact_points(places, people, api):
    client = api(people.street_admin)
    response = client.post(
        "/api/v1/contact-points/",
        {
            "community": places.community_a.pk,
            "leader_name": "陈",
            "leader_title": "区委副书记",
            "starts_on": "2025-01-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    point_id = response.json()["id"]
    response = client.post(
        f"/api/v1/contact-points/{point_id}/projects/", {"name": "红色物业"}, format="json"
    )
    assert response.status_code == 201 and response.json()["status"] == "planned"
    project_id = response.json()["id"]
    response = client.patch(
        f"/api/v1/contact-points/{point_id}/projects/{project_id}/",
        {"version": 1, "status": "ongoing"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["version"] == 2
    detail = client.get(f"/api/v1/contact-points/{point_id}/").json()
    assert detail["projects"][0]["status"] == "ongoing"
    response = client.patch(
        f"/api/v1/contact-points/{point_id}/", {"version": 1, "note": "每月一次"}, format="json"
    )
    assert response.status_code == 200 and response.json()["note"] == "每月一次"
    # The community admin sees it but may not change it; the grid manager may not even list.
    community = api(people.community_admin)
    assert community.get(f"/api/v1/contact-points/{point_id}/").status_code == 200
    assert (
        community.patch(
            f"/api/v1/contact-points/{point_id}/", {"version": 2, "note": "x"}, format="json"
        ).status_code
        == 403
    )
    assert api(people.grid_manager).get("/api/v1/contact-points/").status_code == 403


def test_contact_point_list_constant_queries(places, people, api, django_assert_max_num_queries):
    client = api(people.district_admin)
    client.get("/api/v1/contact-points/")
    for _ in range(12):
        point = ContactPointFactory(community=places.community_a)
        ContactProjectFactory.create_batch(2, contact_point=point)
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/contact-points/", {"page_size": 100})
    assert response.json()["count"] == 12
    assert all(len(row["projects"]) == 2 for row in response.json()["results"])


def test_project_of_another_point_is_404(places, people, api):
    p1 = ContactPointFactory(community=places.community_a)
    project = ContactProjectFactory(contact_point=ContactPointFactory(community=places.community_a))
    response = api(people.street_admin).patch(
        f"/api/v1/contact-points/{p1.pk}/projects/{project.pk}/",
        {"version": 1, "name": "x"},
        format="json",
    )
    assert response.status_code == 404


def test_party_org_list_constant_queries(places, people, api, django_assert_max_num_queries):
    client = api(people.district_admin)
    client.get("/api/v1/party-orgs/")
    units = [UnitFactory(node=places.community_a) for _ in range(4)]
    for i in range(10):
        services.party_org_create(
            actor=None,
            node=places.community_a,
            category=OrgCategory.JOINT,
            name=f"联合{i}",
            covered_units=units[:2] if i % 2 else units[2:],
        )
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/party-orgs/", {"page_size": 100})
    assert response.json()["count"] == 19


def test_admin_roles_get_403_everywhere(places, people, api):
    for admin in (people.sys_admin, people.sec_admin, people.audit_admin, people.nobody):
        client = api(admin)
        for url in (
            "/api/v1/orgs/",
            f"/api/v1/orgs/{places.district.pk}/",
            "/api/v1/party-orgs/",
            "/api/v1/units/",
            "/api/v1/units/coverage/",
            "/api/v1/committee-members/",
            "/api/v1/contact-points/",
        ):
            assert client.get(url).status_code == 403, (admin, url)


def test_anonymous_gets_401_or_403(places):
    assert APIClient().get("/api/v1/orgs/").status_code in (401, 403)

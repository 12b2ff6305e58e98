"""The people API: masked by default, reveal with a reason, scoped, 400/403/404/409."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tongxin.core.models import AuditOutcome, AuditRecord
from tongxin.people.tests.factories import id_number, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def names(response) -> set[str]:
    return {row["name"] for row in results(response)}


def no_plain(response, roster) -> None:
    body = response.content.decode()
    for value in roster.plain.values():
        assert value not in body


# --- members --------------------------------------------------------------------------------


def test_member_list_shows_category_codes_and_masked_values(api, people, roster):
    response = api(people.community_admin).get("/api/v1/members/")
    rows = {row["name"]: row for row in results(response)}
    assert set(rows) == {"郭景国", "林志明"}
    guo = rows["郭景国"]
    assert guo["category"] == "retired" and guo["management_mode"] == "entrusted"
    assert guo["management_mode_display"] == "托管"
    assert (
        guo["id_number"]
        == roster.plain["member_a_id"][:4] + "*" * 10 + roster.plain["member_a_id"][-4:]
    )
    assert guo["phone"] == "139****1234"
    assert guo["birth_month"] == "1958-03" and "birth_date" not in guo
    assert rows["林志明"]["category"] == "in_service"
    assert rows["林志明"]["unit"]["name"] == "文献供电所"
    no_plain(response, roster)


def test_member_list_filters_and_search(api, people, places, roster):
    client = api(people.street_admin)
    assert names(client.get("/api/v1/members/", {"category": "in_service"})) == {"林志明"}
    assert names(client.get("/api/v1/members/", {"branch": places.grid_b.pk})) == {"陈东梅"}
    assert names(client.get("/api/v1/members/", {"node": places.community_a.pk})) == {
        "郭景国",
        "林志明",
    }
    assert names(client.get("/api/v1/members/", {"search": roster.plain["member_a_id"]})) == {
        "郭景国"
    }
    assert names(client.get("/api/v1/members/", {"search": "1234"})) == {"郭景国"}
    assert client.get("/api/v1/members/", {"category": "honorary"}).status_code == 400


def test_member_list_runs_a_constant_number_of_queries(
    api, people, places, roster, django_assert_max_num_queries
):
    for n in range(40):
        make_member(
            places.grid_a, name=f"党员{n}", id_number=id_number(dt.date(1970, 1, 1), 100 + n)
        )
    client = api(people.community_admin)
    client.get("/api/v1/members/?page_size=1")  # warm up: grants, sessions
    with django_assert_max_num_queries(6):
        small = client.get("/api/v1/members/?page_size=2")
    with django_assert_max_num_queries(6):
        large = client.get("/api/v1/members/?page_size=40")
    assert len(results(small)) == 2 and len(results(large)) == 40


def test_member_detail_is_404_outside_scope_and_403_for_the_admins(api, people, roster):
    url = f"/api/v1/members/{roster.member_a.pk}/"
    assert api(people.community_admin).get(url).status_code == 200
    assert api(people.community_admin_b).get(url).status_code == 404
    assert api(people.member).get(url).status_code == 200  # his own
    assert api(people.member).get(f"/api/v1/members/{roster.in_service_a.pk}/").status_code == 404
    for who in ("sys_admin", "sec_admin", "audit_admin", "department", "unit_liaison"):
        assert api(getattr(people, who)).get(url).status_code == 403, who
    assert APIClient().get(url).status_code in (401, 403)


def test_member_detail_has_history_and_masked_contacts(api, people, roster):
    response = api(people.community_admin).get(f"/api/v1/members/{roster.member_a.pk}/")
    data = response.json()
    assert data["transfers"] == [] and data["floating"] == []
    assert data["monthly_income"] == "4200.00"
    no_plain(response, roster)


def test_create_a_member(api, people, places):
    number = id_number(dt.date(1985, 10, 2), 611)
    response = api(people.community_admin).post(
        "/api/v1/members/",
        {
            "node": places.grid_a.pk,
            "name": "蔡文杰",
            "id_number": number,
            "phone": "0594-2671234",
            "category": "new_sector",
            "joined_on": "2012-07-01",
            "work_unit_name": "外卖平台骑手站",
            "monthly_income": "5600",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["category"] == "new_sector" and data["management_mode"] == "dual"
    assert data["gender"] == "male" and data["birth_month"] == "1985-10"
    assert data["phone"] == "0594-***1234"
    assert number not in response.content.decode()


def test_bad_input_is_400_with_chinese_field_errors(api, people, places):
    bad = id_number(dt.date(1985, 10, 2), 611)
    bad = bad[:-1] + ("1" if bad[-1] != "1" else "2")
    response = api(people.community_admin).post(
        "/api/v1/members/",
        {
            "node": places.grid_a.pk,
            "name": "蔡文杰",
            "id_number": bad,
            "phone": "12345",
            "category": "registered",
            "joined_on": "2012-07-01",
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["id_number"] == ["身份证号校验码不正确，请核对。"]
    assert "手机号" in errors["phone"][0]
    response = api(people.community_admin).post(
        "/api/v1/members/",
        {"node": places.grid_a.pk, "name": "x", "category": "honorary", "joined_on": "2012-07-01"},
        format="json",
    )
    assert response.status_code == 400 and "category" in response.json()


def test_a_node_outside_scope_is_does_not_exist(api, people, places):
    response = api(people.community_admin).post(
        "/api/v1/members/",
        {
            "node": places.grid_b.pk,
            "name": "x",
            "category": "registered",
            "joined_on": "2012-07-01",
        },
        format="json",
    )
    assert response.status_code == 400 and "node" in response.json()


def test_a_grid_manager_cannot_register_members(api, people, places):
    response = api(people.grid_manager).post(
        "/api/v1/members/",
        {
            "node": places.grid_a.pk,
            "name": "x",
            "category": "registered",
            "joined_on": "2012-07-01",
        },
        format="json",
    )
    assert response.status_code == 403


def test_patch_needs_the_current_version(api, people, roster):
    client = api(people.community_admin)
    url = f"/api/v1/members/{roster.member_a.pk}/"
    version = client.get(url).json()["version"]
    response = client.patch(url, {"version": version, "monthly_income": "6100"}, format="json")
    assert response.status_code == 200 and response.json()["monthly_income"] == "6100.00"
    stale = client.patch(url, {"version": version, "category": "registered"}, format="json")
    assert stale.status_code == 409
    assert (
        api(people.grid_manager).patch(url, {"version": version + 1}, format="json").status_code
        == 403
    )


# --- reveal -----------------------------------------------------------------------------------


def test_reveal_returns_plain_values_and_is_audited(api, people, roster):
    url = f"/api/v1/members/{roster.member_a.pk}/reveal/"
    response = api(people.community_admin).post(
        url, {"reason": "办理党员组织关系转接"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "id_number": roster.plain["member_a_id"],
        "phone": roster.plain["member_a_phone"],
        "birth_date": "1958-03-12",
    }
    record = AuditRecord.objects.get(action="people.person.reveal")
    assert record.changes["reason"] == "办理党员组织关系转接"
    assert record.actor_username == people.community_admin.username


@pytest.mark.parametrize("who", ["district_admin", "street_admin", "community_admin", "member"])
def test_who_may_reveal(api, people, roster, who):
    url = f"/api/v1/members/{roster.member_a.pk}/reveal/"
    assert api(getattr(people, who)).post(url, {"reason": "核对"}, format="json").status_code == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("grid_manager", 403),  # sees the member, may not reveal
        ("community_admin_b", 404),
        ("resident", 404),
        ("sys_admin", 403),
        ("audit_admin", 403),
        ("unit_liaison", 403),
    ],
)
def test_who_may_not_reveal(api, people, roster, who, status):
    url = f"/api/v1/members/{roster.member_a.pk}/reveal/"
    response = api(getattr(people, who)).post(url, {"reason": "核对"}, format="json")
    assert response.status_code == status
    assert roster.plain["member_a_id"] not in response.content.decode()


def test_a_refused_reveal_is_audited_as_denied(api, people, roster):
    api(people.grid_manager).post(
        f"/api/v1/members/{roster.member_a.pk}/reveal/", {"reason": "好奇"}, format="json"
    )
    record = AuditRecord.objects.get(action="people.person.reveal")
    assert record.outcome == AuditOutcome.DENIED


def test_reveal_without_a_reason_is_400(api, people, roster):
    url = f"/api/v1/members/{roster.member_a.pk}/reveal/"
    assert api(people.community_admin).post(url, {}, format="json").status_code == 400
    assert api(people.community_admin).post(url, {"reason": " "}, format="json").status_code == 400
    assert not AuditRecord.objects.filter(action="people.person.reveal").exists()


# --- membership actions -----------------------------------------------------------------------


def test_transfer_status_make_full_and_floating(api, people, places, roster):
    client = api(people.community_admin)
    member = make_member(
        places.grid_a,
        name="转接人",
        membership_type="probationary",
        joined_on=timezone.localdate() - dt.timedelta(days=30),
    )
    url = f"/api/v1/members/{member.pk}/"
    response = client.post(
        url + "make-full/", {"version": 1, "on": str(timezone.localdate())}, format="json"
    )
    assert response.status_code == 200 and response.json()["membership_type"] == "full"
    response = client.post(
        url + "floating/",
        {
            "direction": "out",
            "place": "深圳",
            "since": "2024-01-01",
            "contact_phone": "13512345678",
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["contact_phone"] == "135****5678"
    response = client.post(
        url + "status/", {"version": 2, "status": "suspended", "note": "决定"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    response = client.post(url + "status/", {"version": 3, "status": "bogus"}, format="json")
    assert response.status_code == 400
    response = client.post(
        url + "transfer/",
        {"version": 3, "on": str(timezone.localdate()), "to_name": "中共厦门市思明区某社区委员会"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["kind"] == "out"
    detail = client.get(url).json()
    assert detail["status"] == "transferred_out" and len(detail["transfers"]) == 1


def test_transfer_to_a_sibling_community_hands_the_member_over(api, people, places, roster):
    target = places.grid_b.party_orgs.get()
    response = api(people.community_admin).post(
        f"/api/v1/members/{roster.member_a.pk}/transfer/",
        {
            "version": roster.member_a.version,
            "on": str(timezone.localdate()),
            "to_organization": target.pk,
        },
        format="json",
    )
    assert response.status_code == 201
    assert (
        api(people.community_admin).get(f"/api/v1/members/{roster.member_a.pk}/").status_code == 404
    )
    moved = api(people.community_admin_b).get(f"/api/v1/members/{roster.member_a.pk}/").json()
    assert moved["organization"]["id"] == target.pk and moved["transfers"][0]["kind"] == "internal"


# --- residents, households, buildings ---------------------------------------------------------


def test_resident_list_hides_sensitive_groups_above_the_community(api, people, roster):
    rows = {r["name"]: r for r in results(api(people.grid_manager).get("/api/v1/residents/"))}
    assert set(rows["吴秀英"]["special_groups"]) == {"low_income", "elderly_alone"}
    rows = {r["name"]: r for r in results(api(people.street_admin).get("/api/v1/residents/"))}
    assert rows["吴秀英"]["special_groups"] == ["elderly_alone"]
    assert rows["黄东梅"]["special_groups"] == []
    assert (
        names(api(people.street_admin).get("/api/v1/residents/", {"group": "low_income"})) == set()
    )
    assert names(api(people.grid_manager).get("/api/v1/residents/", {"group": "low_income"})) == {
        "吴秀英"
    }


def test_resident_reveal_and_create(api, people, places, roster):
    client = api(people.grid_manager)
    response = client.post(
        f"/api/v1/residents/{roster.resident_a.pk}/reveal/", {"reason": "x y"}, format="json"
    )
    assert response.status_code == 403  # grid managers work from masked values
    response = api(people.community_admin).post(
        f"/api/v1/residents/{roster.resident_a.pk}/reveal/", {"reason": "慰问登记"}, format="json"
    )
    assert response.json()["phone"] == roster.plain["resident_a_phone"]
    response = client.post(
        "/api/v1/residents/",
        {
            "name": "王丽娟",
            "household": roster.household_a.pk,
            "relation": "spouse",
            "phone": "13812345678",
            "groups": ["disabled"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (
        response.json()["special_groups"] == ["disabled"]
        and response.json()["phone"] == "138****5678"
    )
    response = api(people.street_admin).post(
        "/api/v1/residents/",
        {"name": "王二", "node": places.grid_a.pk, "groups": ["hardship"]},
        format="json",
    )
    assert response.status_code == 403


def test_households_and_buildings(api, people, places, roster):
    client = api(people.grid_manager)
    response = client.post(
        "/api/v1/buildings/",
        {"node": places.grid_a.pk, "name": "2号楼", "floors": 7},
        format="json",
    )
    assert response.status_code == 201
    building = response.json()["id"]
    response = client.post(
        "/api/v1/households/",
        {"node": places.grid_a.pk, "building": building, "door": "302"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["resident_count"] == 0
    duplicate = client.post(
        "/api/v1/households/",
        {"node": places.grid_a.pk, "building": building, "door": "302"},
        format="json",
    )
    assert duplicate.status_code == 400 and "door" in duplicate.json()
    assert {
        h["door"] for h in results(client.get("/api/v1/households/", {"building": building}))
    } == {"302"}
    assert results(api(people.community_admin_b).get("/api/v1/households/")) == []
    assert api(people.community_admin_b).get(f"/api/v1/buildings/{building}/").status_code == 404
    assert api(people.member).get("/api/v1/households/").status_code == 403


# --- dues -----------------------------------------------------------------------------------


def test_dues_generate_pay_on_behalf_override_and_summary(api, people, places, roster):
    month = timezone.localdate().strftime("%Y-%m")
    response = api(people.community_admin).post(
        "/api/v1/dues/generate/", {"month": month, "node": places.community_a.pk}, format="json"
    )
    assert response.status_code == 201 and response.json()["created"] == 2
    rows = results(api(people.grid_manager).get("/api/v1/dues/", {"month": month}))
    guo = next(r for r in rows if r["name"] == "郭景国")
    assert (guo["standard"], guo["rate"], guo["dues_class"]) == ("21.00", "0.0050", "retired")
    response = api(people.grid_manager).post(
        f"/api/v1/dues/{guo['id']}/pay/", {"on_behalf": True}, format="json"
    )
    assert response.status_code == 201
    paid = response.json()
    assert (
        paid["paid"] == "21.00"
        and paid["payments"][0]["collected_by"] == people.grid_manager.display_name
    )
    lin = next(r for r in rows if r["name"] == "林志明")
    no_reason = api(people.community_admin).post(
        f"/api/v1/dues/{lin['id']}/override/", {"version": 1, "amount": "50"}, format="json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    override = api(people.community_admin).post(
        f"/api/v1/dues/{lin['id']}/override/",
        {"version": 1, "amount": "50", "reason": "自愿多交"},
        format="json",
    )
    assert override.status_code == 200 and override.json()["amount"] == "50.00"
    assert override.json()["standard"] == "102.00"  # 6800 × 1.5%
    summary = api(people.street_admin).get("/api/v1/dues/summary/", {"month": month}).json()
    assert summary == [
        {
            "branch": {"id": places.grid_a.pk, "name": "文献一网格"},
            "members": 2,
            "due": "71.00",
            "paid": "21.00",
            "outstanding": "50.00",
            "paid_members": 1,
            "collected_on_behalf": 1,
        }
    ]
    arrears = results(api(people.community_admin).get("/api/v1/dues/", {"arrears": "true"}))
    assert [r["name"] for r in arrears] == ["林志明"]
    assert [r["name"] for r in results(api(people.member).get("/api/v1/dues/"))] == ["郭景国"]
    assert api(people.community_admin_b).get(f"/api/v1/dues/{lin['id']}/").status_code == 404
    assert api(people.community_admin).get("/api/v1/dues/", {"month": "2026-13"}).status_code == 400


# --- reporting and volunteers ---------------------------------------------------------------


def test_in_service_reporting_endpoints(api, people, places, roster):
    client = api(people.community_admin)
    post = client.post(
        "/api/v1/service-posts/",
        {"community": places.community_a.pk, "name": "治安巡逻"},
        format="json",
    )
    assert post.status_code == 201
    response = client.post(
        "/api/v1/registrations/",
        {"member": roster.in_service_a.pk, "posts": [post.json()["id"]]},
        format="json",
    )
    assert response.status_code == 201, response.content
    registration = response.json()
    assert registration["unit"]["name"] == "文献供电所"
    url = f"/api/v1/registrations/{registration['id']}/"
    record = api(people.grid_manager).post(
        url + "records/",
        {"served_on": str(timezone.localdate()), "hours": "2.5", "description": "巡逻"},
        format="json",
    )
    assert record.status_code == 201
    rate = client.post(
        url + "rate/",
        {"year": timezone.localdate().year, "rating": "excellent", "comment": "表现突出"},
        format="json",
    )
    assert rate.status_code == 201 and rate.json()["notified_liaisons"] == 1
    liaison_view = api(people.unit_liaison).get("/api/v1/registrations/")
    assert [r["name"] for r in results(liaison_view)] == ["林志明"]
    assert results(liaison_view)[0]["year_rating"] == "excellent"
    assert api(people.community_admin_b).get(url).status_code == 404
    by_unit = api(people.street_admin).get("/api/v1/reporting/by-unit/").json()
    assert by_unit == [
        {"id": places.unit_a.pk, "name": "文献供电所", "total": 1, "reported": 1, "not_reported": 0}
    ]
    by_community = api(people.street_admin).get("/api/v1/reporting/by-community/").json()
    assert by_community[0]["name"] == "文献社区"
    members = api(people.unit_liaison).get("/api/v1/reporting/members/", {"unit": places.unit_a.pk})
    assert members.json() == [
        {
            "id": roster.in_service_a.pk,
            "name": "林志明",
            "node": "文献一网格",
            "unit_name": "文献供电所",
            "reported": True,
        }
    ]
    assert (
        api(people.unit_liaison)
        .get("/api/v1/reporting/members/", {"unit": places.unit_b.pk})
        .status_code
        == 404
    )


def test_volunteers_and_teams(api, people, places, roster):
    client = api(people.community_admin)
    team = client.post(
        "/api/v1/volunteer-teams/",
        {"node": places.community_a.pk, "name": "文献党员志愿服务队"},
        format="json",
    )
    assert team.status_code == 201
    volunteer = client.post(
        "/api/v1/volunteers/",
        {"person": roster.member_a.person.pk, "teams": [team.json()["id"]], "skills": "理发"},
        format="json",
    )
    assert volunteer.status_code == 201 and volunteer.json()["phone"] == "139****1234"
    assert [
        v["name"] for v in results(client.get("/api/v1/volunteers/", {"team": team.json()["id"]}))
    ] == ["郭景国"]
    assert results(api(people.community_admin_b).get("/api/v1/volunteers/")) == []
    assert results(api(people.community_admin_b).get("/api/v1/volunteer-teams/")) == []
    outside = api(people.community_admin_b).post(
        "/api/v1/volunteers/", {"person": roster.member_a.person.pk}, format="json"
    )
    assert outside.status_code == 400 and "person" in outside.json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/residents/",
        "/api/v1/dues/",
        "/api/v1/households/",
        "/api/v1/buildings/",
        "/api/v1/registrations/",
        "/api/v1/volunteers/",
    ],
)
def test_other_lists_run_a_constant_number_of_queries(
    api, people, places, roster, url, django_assert_max_num_queries
):
    from tongxin.people import services
    from tongxin.people.tests.factories import make_household, make_resident

    team = services.team_create(actor=None, node=places.community_a, data={"name": "队"})
    for n in range(25):
        building = services.building_create(actor=None, node=places.grid_a, data={"name": f"{n}栋"})
        household = make_household(places.grid_a, door=f"9{n:02d}", building=building)
        resident = make_resident(
            household=household,
            id_number=id_number(dt.date(1960, 1, 1), 100 + n),
            groups=["elderly_alone"],
        )
        member = make_member(
            places.grid_a,
            category="in_service",
            unit=places.unit_a,
            id_number=id_number(dt.date(1970, 1, 1), 100 + n),
        )
        services.registration_create(actor=None, member=member)
        services.volunteer_register(actor=None, person=resident.person, teams=[team])
    services.dues_generate(actor=None, month=timezone.localdate(), node=places.community_a)
    client = api(people.grid_manager)
    client.get(url + "?page_size=1")
    with django_assert_max_num_queries(7):
        small = client.get(url + "?page_size=2")
    with django_assert_max_num_queries(7):
        large = client.get(url + "?page_size=25")
    assert len(results(small)) == 2 and len(results(large)) == 25


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/members/?node=abc&age_min=x",
        "/api/v1/members/?search=" + "1" * 300,
        "/api/v1/residents/?household=zz",
        "/api/v1/dues/?month=abcd&member=x",
        "/api/v1/dues/summary/?month=2026-13",
        "/api/v1/dues/summary/?node=abc",
        "/api/v1/reporting/members/?unit=abc",
        "/api/v1/registrations/?year=x",
        "/api/v1/members/99999999999999999999/",
    ],
)
def test_bad_query_parameters_never_cause_a_500(api, people, roster, url):
    assert api(people.community_admin).get(url).status_code in (200, 400, 404)


def test_bad_bodies_are_400(api, people, roster):
    client = api(people.community_admin)
    member = f"/api/v1/members/{roster.member_a.pk}/"
    for url, body in [
        (member + "reveal/", {"reason": "x" * 500}),
        (member + "transfer/", {"version": "x", "on": "never"}),
        (member + "status/", {"version": 1, "status": "x" * 50}),
        ("/api/v1/members/", {"node": "x", "joined_on": "1999-02-30"}),
        ("/api/v1/dues/generate/", {"month": "202601", "node": 1}),
        ("/api/v1/residents/", {"name": "x"}),
    ]:
        assert client.post(url, body, format="json").status_code == 400, url

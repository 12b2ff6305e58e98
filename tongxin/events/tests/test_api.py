"""/api/v1/events/…: report, list, detail with history, moves (409 with the reason), similar,
stats; constant query counts on the list."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tongxin.events.models import Event, HandlingLevel, State
from tongxin.events.tests.conftest import A_LAT, A_LNG, OUT_LAT, OUT_LNG, report

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(world, **extra):
    data = {
        "category": world.category.pk,
        "description": "文献路路灯不亮，晚上很暗",
        "lng": A_LNG,
        "lat": A_LAT,
        "address": "文献路 12 号",
    }
    data.update(extra)
    return data


def test_a_resident_reports_and_the_point_finds_the_grid(world):
    response = api(world.people.resident).post(reverse("api-events"), body(world), format="json")
    assert response.status_code == 201, response.data
    data = response.data
    assert data["node"]["name"] == "文献一网格" and data["outside_grid"] is False
    assert (data["state"], data["level"]) == (State.REPORTED, HandlingLevel.GRID)
    assert [h["action"] for h in data["history"]] == ["report"]
    assert response["Location"] == reverse("api-event-detail", args=[data["id"]])
    assert data["allowed_actions"] == []  # the reporter has nothing to do yet


def test_a_point_outside_every_grid_is_kept_with_the_reporters_community(world):
    response = api(world.people.resident).post(
        reverse("api-events"), body(world, lng=OUT_LNG, lat=OUT_LAT), format="json"
    )
    assert response.status_code == 201
    assert response.data["outside_grid"] is True
    assert response.data["node"]["name"] == "文献社区"
    assert response.data["level"] == HandlingLevel.COMMUNITY


def test_gcj02_input_is_converted(world):
    from tongxin.grids.geo import wgs84_to_gcj02

    lng, lat = wgs84_to_gcj02(A_LNG, A_LAT)
    response = api(world.people.resident).post(
        reverse("api-events"), body(world, lng=lng, lat=lat, crs="gcj02"), format="json"
    )
    assert response.status_code == 201
    assert response.data["node"]["name"] == "文献一网格"
    assert abs(response.data["lng"] - A_LNG) < 1e-6


def test_bad_input_gets_chinese_field_errors(world):
    client = api(world.people.resident)
    response = client.post(
        reverse("api-events"),
        body(world, description="灯", lng=None, lat=None, address=""),
        format="json",
    )
    assert response.status_code == 400
    assert "description" in response.data
    response = client.post(reverse("api-events"), body(world, lat=None, address=""), format="json")
    assert response.status_code == 400
    assert "经度和纬度" in str(response.data)
    response = client.post(reverse("api-events"), body(world, category=999999), format="json")
    assert response.status_code == 400 and "category" in response.data


def test_the_three_admins_may_not_report(world):
    response = api(world.people.audit_admin).post(reverse("api-events"), body(world), format="json")
    assert response.status_code == 403


def test_detail_has_history_and_the_users_moves(world):
    event = report(world)
    data = api(world.people.grid_manager).get(reverse("api-event-detail", args=[event.pk])).data
    assert [h["action"] for h in data["history"]] == ["report"]
    actions = {a["action"] for a in data["allowed_actions"]}
    assert actions == {"accept", "escalate", "return", "reject", "merge"}


def test_an_illegal_move_answers_409_with_the_reason(world):
    event = report(world)
    response = api(world.people.grid_manager).post(
        reverse("api-event-transitions", args=[event.pk]), {"action": "resolve"}, format="json"
    )
    assert response.status_code == 409
    assert response.data["detail"] == "事件当前状态为「待受理」，不能执行「办结」。"


def test_the_wrong_person_gets_403_with_who_may(world):
    event = report(world)
    response = api(world.people.community_admin).post(
        reverse("api-event-transitions", args=[event.pk]), {"action": "accept"}, format="json"
    )
    assert response.status_code == 403
    assert "文献一网格的网格员" in response.data["detail"]


def test_a_stale_version_answers_409(world):
    event = report(world)
    client = api(world.people.grid_manager)
    url = reverse("api-event-transitions", args=[event.pk])
    ok = client.post(url, {"action": "accept", "version": event.version}, format="json")
    assert ok.status_code == 200 and ok.data["version"] == event.version + 1
    stale = client.post(url, {"action": "resolve", "version": event.version}, format="json")
    assert stale.status_code == 409


def test_whistle_and_rate_through_the_api(world):
    event = report(world)
    street, dept = world.people.street_admin, world.people.department
    api(world.people.grid_manager).post(
        reverse("api-event-transitions", args=[event.pk]), {"action": "escalate"}, format="json"
    )
    api(world.people.community_admin).post(
        reverse("api-event-transitions", args=[event.pk]), {"action": "escalate"}, format="json"
    )
    url = reverse("api-event-transitions", args=[event.pk])
    response = api(street).post(
        url,
        {"action": "whistle", "departments": [world.city.pk], "note": "请城管报到"},
        format="json",
    )
    assert response.status_code == 200, response.data
    assert response.data["assignments"][0]["state"] == "whistled"
    assert api(dept).post(url, {"action": "acknowledge"}, format="json").status_code == 200
    assert (
        api(dept).post(url, {"action": "handle", "note": "已修复"}, format="json").status_code
        == 200
    )
    assert api(street).post(url, {"action": "resolve"}, format="json").status_code == 200
    bad = api(world.people.resident).post(url, {"action": "rate", "score": 9}, format="json")
    assert bad.status_code == 400
    done = api(world.people.resident).post(url, {"action": "rate", "score": 5}, format="json")
    assert done.status_code == 200 and done.data["state"] == "closed" and done.data["score"] == 5


def test_list_filters(world):
    first = report(world)
    report(world, lng=OUT_LNG, lat=OUT_LAT)
    client = api(world.people.community_admin)
    url = reverse("api-events")
    assert len(client.get(url).data["results"]) == 2
    assert len(client.get(url, {"level": "community"}).data["results"]) == 1
    assert len(client.get(url, {"node": world.places.grid_a.pk}).data["results"]) == 1
    assert len(client.get(url, {"node": world.places.grid_b.pk}).data["results"]) == 0
    assert len(client.get(url, {"category": world.category.parent_id}).data["results"]) == 2
    assert len(client.get(url, {"q": "路灯"}).data["results"]) == 2
    assert len(client.get(url, {"overdue": "true"}).data["results"]) == 0
    Event.objects.filter(pk=first.pk).update(deadline=first.created_at)
    assert len(client.get(url, {"overdue": "true"}).data["results"]) == 1
    assert client.get(url, {"state": "nonsense"}).status_code == 400


def test_list_queries_do_not_grow_with_the_page(world, django_assert_max_num_queries):
    client = api(world.people.street_admin)
    for _ in range(3):
        report(world)
    with django_assert_max_num_queries(8) as few:
        assert len(client.get(reverse("api-events")).data["results"]) == 3
    for _ in range(20):
        report(world)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(reverse("api-events")).data["results"]) == 23


def test_similar_events_nearby(world):
    near = report(world)
    report(world, lng=A_LNG + 0.005, lat=A_LAT)  # about 500 m away
    response = api(world.people.grid_manager).get(
        reverse("api-event-similar"),
        {"lng": A_LNG + 0.0005, "lat": A_LAT, "category": world.category.pk},
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.data] == [near.pk]
    assert 40 <= response.data[0]["distance_m"] <= 60


def test_similar_events_hide_what_the_user_may_not_see(world):
    report(world)
    other = world.community_b_grid_manager
    response = api(other).get(
        reverse("api-event-similar"), {"lng": A_LNG, "lat": A_LAT, "category": world.category.pk}
    )
    assert len(response.data) == 1
    assert response.data[0]["id"] is None and response.data[0]["description"] == ""


def test_stats(world):
    from tongxin.events.tests.test_workflow import bring

    bring(world, State.CLOSED, HandlingLevel.GRID)
    bring(world, State.RESOLVED, HandlingLevel.COMMUNITY)
    report(world)
    response = api(world.people.street_admin).get(reverse("api-event-stats"))
    assert response.status_code == 200
    data = response.data
    assert data["total"] == 3 and data["resolved"] == 2 and data["open_now"] == 1
    shares = {row["level"]: row["share"] for row in data["resolved_by_level"]}
    assert shares["grid"] == 0.5 and shares["community"] == 0.5
    assert data["on_time_rate"] == 1.0 and data["average_score"] == 4.0
    assert api(world.people.resident).get(reverse("api-event-stats")).status_code == 403
    bad = api(world.people.street_admin).get(
        reverse("api-event-stats"), {"since": "2025-02-01", "until": "2025-01-01"}
    )
    assert bad.status_code == 400


def test_categories_and_departments(world):
    client = api(world.people.resident)
    codes = [c["code"] for c in client.get(reverse("api-event-categories")).data]
    assert "fire" in codes and "city-facilities" in codes
    departments = client.get(reverse("api-event-departments")).data
    assert {d["name"] for d in departments} >= {world.city.name, world.market.name}


def test_the_grid_map_can_colour_by_open_and_overdue_events(world):
    from tongxin.grids.measures import get_measure, measure_values

    event = report(world)
    report(world, lng=OUT_LNG, lat=OUT_LAT)  # outside: belongs to the community, not a grid
    assert get_measure("events_open") and get_measure("events_overdue")
    grids = [world.places.grid_a.pk, world.places.grid_b.pk]
    assert measure_values("events_open", grids) == {world.places.grid_a.pk: 1}
    assert measure_values("events_overdue", grids) == {}
    Event.objects.filter(pk=event.pk).update(deadline=event.created_at)
    assert measure_values("events_overdue", grids) == {world.places.grid_a.pk: 1}


def test_reporting_is_refused_and_audited_for_the_three_admins(world):
    from django.core.exceptions import PermissionDenied

    from tongxin.core.models import AuditRecord
    from tongxin.events.services import event_report

    with pytest.raises(PermissionDenied):
        event_report(
            actor=world.people.sys_admin,
            category=world.category,
            description="系统管理员试图上报",
            address="某处",
        )
    assert AuditRecord.objects.filter(action="events.report_event", outcome="denied").exists()

"""The grids and visits REST API: scoped, GeoJSON in and out, versions, Chinese errors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tongxin.grids import geo
from tongxin.grids.models import Grid
from tongxin.grids.tests.factories import collection, feature, household, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


# ---------------------------------------------------------------------------------------------
# /api/v1/grids/


def test_grid_list_is_scoped_and_carries_the_geojson_boundary(layout, people, api):
    response = api(people.community_admin).get("/api/v1/grids/")
    assert response.status_code == 200
    assert names(response) == ["文献一网格", "文献二网格"]
    row = response.json()["results"][0]
    assert row["boundary"]["type"] == "Polygon"
    assert row["boundary"]["coordinates"][0][0] == [119.0, 25.43]
    assert row["community"]["name"] == "文献社区"
    assert row["centroid"] == pytest.approx([119.005, 25.435])
    assert (row["households_min"], row["households_max"]) == (300, 500)
    assert row["managers"] == [{"id": people.grid_manager.pk, "name": "lin_grid"}]
    assert row["branch"]["name"] == "文献一网格党组织"
    assert row["version"] == 1
    assert names(
        api(people.street_admin).get("/api/v1/grids/", {"node": layout.grid_b.parent_id})
    ) == ["东梅一网格"]
    light = api(people.community_admin).get("/api/v1/grids/", {"boundary": "false"})
    assert light.json()["results"][0]["boundary"] is None


def test_grid_list_in_gcj02(layout, people, api):
    row = api(people.community_admin).get("/api/v1/grids/", {"crs": "gcj02"}).json()["results"][0]
    assert row["boundary"]["coordinates"][0][0] == pytest.approx(
        list(geo.wgs84_to_gcj02(119.0, 25.43)), abs=1e-7
    )
    assert api(people.community_admin).get("/api/v1/grids/", {"crs": "utm"}).status_code == 400


def test_a_sibling_communitys_grid_is_excluded_and_404(layout, people, api):
    client = api(people.community_admin_b)
    assert names(client.get("/api/v1/grids/")) == ["东梅一网格"]
    assert client.get(f"/api/v1/grids/{layout.grid_a.pk}/").status_code == 404
    assert client.patch(f"/api/v1/grids/{layout.grid_a.pk}/", {"version": 1}).status_code == 404
    assert api(people.sys_admin).get("/api/v1/grids/").status_code == 403


def test_grid_detail_lists_groups_and_overlaps(layout, people, api):
    row = api(people.grid_manager).get(f"/api/v1/grids/{layout.grid_a.pk}/").json()
    assert row["party_groups"] == [
        {"id": layout.grid_a.children.get().pk, "name": "文献一网格一组"}
    ]
    assert row["overlaps"] == []


def test_patch_norms_and_boundary_with_the_version(layout, people, api):
    client = api(people.community_admin)
    url = f"/api/v1/grids/{layout.grid_a2.pk}/"
    response = client.patch(
        url,
        {"version": 1, "households_max": 450, "boundary": square(119.01, 25.43, 0.005)},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["grid"]["households_max"] == 450 and body["grid"]["version"] == 2
    assert body["overlap_warnings"] == []
    assert geo.locate(119.017, 25.435).outside
    stale = client.patch(url, {"version": 1, "code": "X"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["detail"] == "该记录已被他人修改，请刷新后重试。"
    cleared = client.patch(url, {"version": 2, "boundary": None}, format="json")
    assert cleared.json()["grid"]["boundary"] is None


def test_patch_refuses_bad_rings_and_overlaps_in_chinese(layout, people, api):
    client = api(people.community_admin)
    url = f"/api/v1/grids/{layout.grid_a2.pk}/"
    bad = client.patch(
        url,
        {
            "version": 1,
            "boundary": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
            },
        },
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["boundary"][0].startswith("边界无效：边界自相交")
    overlap = client.patch(url, {"version": 1, "boundary": square(119.005, 25.43)}, format="json")
    assert overlap.status_code == 400
    assert "重叠约" in overlap.json()["boundary"][0]
    allowed = client.patch(
        url,
        {"version": 1, "boundary": square(119.005, 25.43), "allow_overlaps": True},
        format="json",
    )
    assert allowed.status_code == 200
    assert allowed.json()["grid"]["overlaps"][0].startswith("与“文献一网格”重叠约")
    assert client.patch(url, {"version": -1}, format="json").status_code == 400


def test_grid_managers_may_read_but_not_edit(layout, people, api):
    response = api(people.grid_manager).patch(
        f"/api/v1/grids/{layout.grid_a.pk}/", {"version": 1, "code": "X"}, format="json"
    )
    assert response.status_code == 403


# ---------------------------------------------------------------------------------------------
# locate


def test_locate_inside_outside_and_on_the_boundary(layout, people, api):
    client = api(people.grid_manager)
    inside = client.get("/api/v1/grids/locate/", {"lng": 119.005, "lat": 25.435}).json()
    assert inside["grid"]["name"] == "文献一网格"
    assert inside["grid"]["community"]["name"] == "文献社区"
    assert (inside["outside"], inside["on_boundary"], inside["in_scope"]) == (False, False, True)

    edge = client.get("/api/v1/grids/locate/", {"lng": 119.01, "lat": 25.435}).json()
    assert edge["grid"]["id"] == layout.grid_a.pk and edge["on_boundary"]
    assert edge["candidates"] == [layout.grid_a.pk, layout.grid_a2.pk]

    outside = client.get("/api/v1/grids/locate/", {"lng": 120.5, "lat": 25.435}).json()
    assert outside["grid"] is None and outside["outside"] is True

    other = client.get("/api/v1/grids/locate/", {"lng": 119.005, "lat": 25.445}).json()
    assert other["grid"]["name"] == "东梅一网格" and other["in_scope"] is False


def test_locate_accepts_gcj02_and_refuses_bad_input(layout, people, api):
    client = api(people.grid_manager)
    lng, lat = geo.wgs84_to_gcj02(119.015, 25.435)
    found = client.get("/api/v1/grids/locate/", {"lng": lng, "lat": lat, "crs": "gcj02"}).json()
    assert found["grid"]["id"] == layout.grid_a2.pk
    assert found["lng"] == pytest.approx(119.015, abs=1e-9)
    assert client.get("/api/v1/grids/locate/", {"lng": 119}).status_code == 400
    assert client.get("/api/v1/grids/locate/", {"lng": "x", "lat": 25}).status_code == 400
    assert client.get("/api/v1/grids/locate/", {"lng": 200, "lat": 25}).status_code == 400
    assert client.get("/api/v1/grids/locate/", {"lng": "nan", "lat": 25}).status_code == 400


# ---------------------------------------------------------------------------------------------
# export and import


def test_geojson_export_and_import_round_trip(layout, people, api):
    client = api(people.community_admin)
    exported = client.get("/api/v1/grids/geojson/", {"crs": "gcj02"}).json()
    assert exported["type"] == "FeatureCollection"
    assert exported["coordinate_system"] == "gcj02"
    assert len(exported["features"]) == 2
    response = client.post("/api/v1/grids/boundaries/", exported, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["updated"] == 2
    stored = geo.from_stored(Grid.objects.get(node=layout.grid_a).boundary)
    assert stored.equals_exact(geo.parse_boundary(square(119.0, 25.43)), tolerance=1e-6)
    scoped = client.get("/api/v1/grids/geojson/", {"node": layout.grid_b.parent_id})
    assert scoped.status_code == 404


def test_import_errors_come_back_per_feature(layout, people, api):
    file = collection(
        feature(square(119.0, 25.43), node_id=layout.grid_a.pk),
        feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, code="X"),
    )
    response = api(people.community_admin).post(
        "/api/v1/grids/boundaries/?crs=wgs84", file, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "边界导入未通过校验，未做任何修改。",
        "errors": [
            {"feature": 2, "ref": "X", "message": "外环未闭合：首点 (0, 0) 与末点 (0, 1) 不同。"}
        ],
    }
    not_collection = api(people.community_admin).post(
        "/api/v1/grids/boundaries/", {"type": "Feature"}, format="json"
    )
    assert not_collection.status_code == 400
    assert not_collection.json()["file"] == ["文件须为 GeoJSON FeatureCollection。"]


def test_only_managing_roles_import(layout, people, api):
    file = collection(feature(square(119.0, 25.43), node_id=layout.grid_a.pk))
    assert (
        api(people.grid_manager).post("/api/v1/grids/boundaries/", file, format="json").status_code
        == 403
    )


# ---------------------------------------------------------------------------------------------
# visits


def test_visit_create_list_and_follow_up(places, people, api):
    home = household(places.grid_a, "3-201")
    client = api(people.grid_manager)
    response = client.post(
        "/api/v1/visits/",
        {
            "household": home.pk,
            "visited_on": "2026-11-20",
            "summary": "老人独居，腿脚不便。",
            "needs": [{"category": "elderly", "description": "希望有人定期上门"}],
            "follow_ups": [{"action": "联系志愿者结对", "due_on": "2026-11-30", "need": 0}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    visit = response.json()
    assert visit["grid"]["name"] == "文献一网格"
    assert visit["needs"][0]["category"] == "elderly"
    follow_up = visit["follow_ups"][0]
    assert follow_up["need"] == visit["needs"][0]["id"] and follow_up["status"] == "open"

    listed = client.get("/api/v1/visits/", {"mine": "true"}).json()["results"]
    assert [v["id"] for v in listed] == [visit["id"]]
    assert api(people.community_admin_b).get(f"/api/v1/visits/{visit['id']}/").status_code == 404
    assert api(people.street_admin).get("/api/v1/visits/").status_code == 403

    done = client.patch(
        f"/api/v1/follow-ups/{follow_up['id']}/",
        {"version": 1, "status": "done", "result": "已结对"},
        format="json",
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert client.get("/api/v1/follow-ups/", {"status": "open"}).json()["count"] == 0

    added = client.post(
        f"/api/v1/visits/{visit['id']}/follow-ups/", {"action": "回访"}, format="json"
    )
    assert added.status_code == 201


def test_visit_input_errors_are_chinese(places, people, api):
    home = household(places.grid_a, "1")
    client = api(people.grid_manager)
    tomorrow = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = client.post(
        "/api/v1/visits/",
        {"household": home.pk, "visited_on": tomorrow, "summary": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["visited_on"] == ["走访日期不能晚于今天。"]
    sibling = household(places.grid_b, "9")
    response = client.post(
        "/api/v1/visits/",
        {"household": sibling.pk, "visited_on": "2026-11-01", "summary": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "household" in response.json()


def test_the_api_lists_cost_constant_queries(layout, people, api, django_assert_max_num_queries):
    client = api(people.district_admin)
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/grids/").status_code == 200
    for i in range(10):
        household(layout.grid_a, f"{i}", residents=1)
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/grids/").status_code == 200

"""Pages: the map without tiles, lists and details in scope, edits, uploads, the visit diary."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from tongxin.grids import geo
from tongxin.grids.models import FollowUp, Grid, Visit
from tongxin.grids.tests.factories import collection, feature, household, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def map_config(response) -> dict:
    match = re.search(
        r'<script id="grid-map-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page embeds its map configuration"
    return json.loads(match.group(1))


# ---------------------------------------------------------------------------------------------
# the map


def test_the_map_works_without_any_tile_server(layout, people, login):
    response = login(people.street_admin).get(reverse("grids:map"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert "/static/vendor/leaflet/leaflet.css" in page
    assert "未配置底图，仅显示网格边界" in page
    assert not re.search(r'(src|href)="https?://', page), "nothing loads from outside"
    config = map_config(response)
    assert config["tiles"]["url"] == ""
    assert {f["properties"]["name"] for f in config["features"]} == {
        "文献一网格",
        "文献二网格",
        "东梅一网格",
    }
    assert config["bounds"] == pytest.approx([119.0, 25.43, 119.02, 25.45])
    assert config["measure"] == "households"


@override_settings(
    MAP_TILE_URL="https://tiles.example.gov.cn/{z}/{x}/{y}.png",
    MAP_TILE_ATTRIBUTION="示例底图",
    MAP_TILE_CRS="gcj02",
)
def test_a_configured_tile_server_is_used_and_polygons_follow_its_crs(layout, people, login):
    config = map_config(login(people.community_admin).get(reverse("grids:map")))
    assert config["tiles"]["url"] == "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    assert config["tiles"]["attribution"] == "示例底图"
    first = config["features"][0]["geometry"]["coordinates"][0][0]
    assert first == pytest.approx(list(geo.wgs84_to_gcj02(119.0, 25.43)), abs=1e-7)


def test_the_map_is_scoped_and_colours_by_a_chosen_measure(layout, people, login):
    household(layout.grid_a, "1", residents=3)
    client = login(people.community_admin)
    config = map_config(client.get(reverse("grids:map"), {"measure": "population"}))
    assert {f["properties"]["name"] for f in config["features"]} == {"文献一网格", "文献二网格"}
    assert config["values"] == {str(layout.grid_a.pk): 3, str(layout.grid_a2.pk): 0}
    values = client.get(reverse("grids:map_values"), {"measure": "households"}).json()
    assert values["label"] == "户数"
    assert values["values"][str(layout.grid_a.pk)] == 1
    sibling = client.get(reverse("grids:map"), {"within": layout.grid_b.parent_id})
    assert sibling.status_code == 404


def test_the_grid_card(layout, people, login):
    client = login(people.community_admin)
    card = client.get(reverse("grids:card", args=[layout.grid_a.pk]))
    assert card.status_code == 200
    page = card.content.decode()
    assert "文献一网格" in page and "lin_grid" in page and "文献一网格党组织" in page
    assert client.get(reverse("grids:card", args=[layout.grid_b.pk])).status_code == 404


# ---------------------------------------------------------------------------------------------
# list, detail, edit


def test_the_list_and_the_detail_are_scoped(layout, people, login):
    client = login(people.community_admin_b)
    page = client.get(reverse("grids:list")).content.decode()
    assert "东梅一网格" in page and "文献一网格" not in page
    assert client.get(reverse("grids:detail", args=[layout.grid_a.pk])).status_code == 404
    detail = client.get(reverse("grids:detail", args=[layout.grid_b.pk]))
    assert detail.status_code == 200
    assert "尚未配备网格员（一格一员）。" in detail.content.decode()
    assert map_config(detail)["selected"] == layout.grid_b.pk


def test_the_edit_form_saves_and_reports_a_stale_version(layout, people, login):
    client = login(people.community_admin)
    url = reverse("grids:edit", args=[layout.grid_a.pk])
    assert client.get(url).status_code == 200
    data = {
        "version": 1,
        "code": "WX-01",
        "households_min": 250,
        "households_max": 450,
        "population_min": 900,
        "population_max": 1800,
    }
    assert client.post(url, data).status_code == 302
    assert Grid.objects.get(node=layout.grid_a).households_min == 250
    stale = client.post(url, data)
    assert stale.status_code == 409
    assert "该记录已被他人修改，请刷新后重试。" in stale.content.decode()
    assert login(people.grid_manager).get(url).status_code == 403


# ---------------------------------------------------------------------------------------------
# upload and export


def upload(data) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "grids.geojson", json.dumps(data).encode(), content_type="application/geo+json"
    )


def test_an_upload_with_errors_lists_them_and_changes_nothing(layout, people, login):
    client = login(people.community_admin)
    file = collection(
        feature(square(119.0, 25.43, 0.004), node_id=layout.grid_a.pk),
        feature(
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            node_id=layout.grid_a2.pk,
            name="文献二网格",
        ),
    )
    response = client.post(reverse("grids:boundary_upload"), {"file": upload(file), "crs": "wgs84"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "第 2 个要素（文献二网格）：边界无效：边界自相交" in page
    assert geo.locate(119.008, 25.435).grid == layout.grid_a  # the valid feature was not applied


def test_an_upload_in_gcj02_succeeds(layout, people, login):
    client = login(people.community_admin)
    shifted = geo.to_geojson(
        geo.convert_geometry(geo.parse_boundary(square(119.0, 25.43, 0.004)), "wgs84", "gcj02")
    )
    response = client.post(
        reverse("grids:boundary_upload"),
        {"file": upload(collection(feature(shifted, node_id=layout.grid_a.pk))), "crs": "gcj02"},
    )
    assert response.status_code == 302
    assert geo.locate(119.006, 25.435).outside


def test_a_single_grid_upload_takes_a_bare_polygon(layout, people, login):
    client = login(people.community_admin)
    url = reverse("grids:boundary_upload") + f"?grid={layout.grid_a2.pk}"
    response = client.post(url, {"file": upload(square(119.01, 25.43, 0.004)), "crs": "wgs84"})
    assert response.status_code == 302
    assert geo.locate(119.017, 25.435).outside
    not_json = client.post(
        url, {"file": SimpleUploadedFile("x.geojson", b"\xff\xfe"), "crs": "wgs84"}
    )
    assert not_json.status_code == 400
    assert "文件不是有效的 GeoJSON（JSON）文本。" in not_json.content.decode()
    other = reverse("grids:boundary_upload") + f"?grid={layout.grid_b.pk}"
    assert client.get(other).status_code == 404
    assert login(people.grid_manager).get(reverse("grids:boundary_upload")).status_code == 403


def test_the_export_downloads_geojson(layout, people, login):
    response = login(people.community_admin).get(reverse("grids:boundary_export"), {"crs": "gcj02"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    assert "attachment;" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["coordinate_system"] == "gcj02" and len(data["features"]) == 2


# ---------------------------------------------------------------------------------------------
# visits


def test_a_grid_manager_records_a_visit_from_the_phone_pages(places, people, login):
    home = household(places.grid_a, "5-302")
    household(places.grid_b, "9-999")
    client = login(people.grid_manager)
    choose = client.get(reverse("grids:visit_choose")).content.decode()
    assert "5-302" in choose and "9-999" not in choose
    url = reverse("grids:visit_create", args=[home.pk])
    assert 'name="viewport"' in client.get(url).content.decode()
    data = {
        "visited_on": "2026-11-20",
        "summary": "了解到家中老人需要助餐服务。",
        "companions": "党员 黄丽芬",
        "need-TOTAL_FORMS": 2,
        "need-INITIAL_FORMS": 0,
        "need-0-category": "elderly",
        "need-0-description": "希望社区提供助餐",
        "need-1-category": "",
        "need-1-description": "",
        "follow-TOTAL_FORMS": 2,
        "follow-INITIAL_FORMS": 0,
        "follow-0-action": "对接长者食堂",
        "follow-0-due_on": "2026-12-01",
        "follow-1-action": "",
        "follow-1-due_on": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.node, visit.visitor, visit.needs.count()) == (
        places.grid_a,
        people.grid_manager,
        1,
    )
    detail = client.get(response["Location"]).content.decode()
    assert "希望社区提供助餐" in detail and "对接长者食堂" in detail

    follow_up = FollowUp.objects.get()
    done = client.post(
        reverse("grids:follow_up_status", args=[follow_up.pk]),
        {
            "version": 1,
            "status": "done",
            "result": "已安排",
            "next": reverse("grids:follow_up_list"),
        },
    )
    assert done.status_code == 302 and done["Location"] == reverse("grids:follow_up_list")
    follow_up.refresh_from_db()
    assert follow_up.status == "done" and follow_up.result == "已安排"
    assert follow_up.done_by == people.grid_manager

    listing = client.get(reverse("grids:visit_list")).content.decode()
    assert "5-302" in listing
    assert login(people.community_admin_b).get(response["Location"]).status_code == 404


def test_a_visit_form_with_errors_keeps_what_was_typed(places, people, login):
    home = household(places.grid_a, "1")
    client = login(people.grid_manager)
    response = client.post(
        reverse("grids:visit_create", args=[home.pk]),
        {
            "visited_on": "2026-11-20",
            "summary": "记录",
            "need-TOTAL_FORMS": 1,
            "need-INITIAL_FORMS": 0,
            "need-0-category": "",
            "need-0-description": "没有选类别",
            "follow-TOTAL_FORMS": 0,
            "follow-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "第 1 条诉求：请选择诉求类别。" in page and "没有选类别" in page
    assert not Visit.objects.exists()


def test_the_navigation_offers_grids_map_and_visits(places, people, login):
    page = login(people.grid_manager).get(reverse("grids:list")).content.decode()
    for label in ("网格分布图", "走访"):
        assert label in page
    admin_page = login(people.street_admin).get(reverse("grids:list")).content.decode()
    assert reverse("grids:visit_list") not in admin_page

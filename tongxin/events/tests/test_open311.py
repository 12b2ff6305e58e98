"""Open311 GeoReport v2 at /open311/v2/: services, requests (public fields only), POST with the
platform token or an api_key, errors in GeoReport's shape."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tongxin.events.models import Category, Event, Open311Client, Source
from tongxin.events.services import open311_client_create
from tongxin.events.tests.conftest import A_LAT, A_LNG, category, report

pytestmark = pytest.mark.django_db


def test_services_lists_the_categories_with_their_groups(world):
    response = APIClient().get("/open311/v2/services.json")
    assert response.status_code == 200
    by_code = {s["service_code"]: s for s in response.json()}
    assert by_code["city-facilities"]["group"] == by_code["city"]["service_name"]
    assert by_code["city-facilities"]["metadata"] is False
    assert by_code["city-facilities"]["type"] == "realtime"


def test_requests_show_public_fields_only(world):
    event = report(world, reporter_phone="13812345678", description="张三家门口路灯坏了")
    response = APIClient().get("/open311/v2/requests.json")
    assert response.status_code == 200
    [row] = response.json()
    assert row["service_request_id"] == str(event.pk)
    assert row["status"] == "open"
    assert row["service_code"] == "city-facilities"
    text = str(row)
    for private in ("张三", "13812345678", "138****5678", "wu_resident", "文献路"):
        assert private not in text
    assert row["lat"] == round(A_LAT, 3) and row["long"] == round(A_LNG, 3)
    detail = APIClient().get(f"/open311/v2/requests/{event.pk}.json")
    assert detail.status_code == 200 and detail.json()[0]["service_request_id"] == str(event.pk)


def test_private_categories_are_not_published(world):
    dispute = category("dispute-neighbour")
    Category.objects.filter(pk__in=[dispute.pk, dispute.parent_id]).update(is_public=False)
    dispute.refresh_from_db()
    event = report(world, category=dispute, description="邻居装修噪音纠纷")
    assert APIClient().get("/open311/v2/requests.json").json() == []
    missing = APIClient().get(f"/open311/v2/requests/{event.pk}.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404


def test_request_filters(world):
    event = report(world)
    client = APIClient()
    assert client.get("/open311/v2/requests.json", {"status": "closed"}).json() == []
    assert len(client.get("/open311/v2/requests.json", {"status": "open"}).json()) == 1
    assert client.get("/open311/v2/requests.json", {"service_code": "fire"}).json() == []
    ids = client.get("/open311/v2/requests.json", {"service_request_id": f"{event.pk},999"})
    assert [r["service_request_id"] for r in ids.json()] == [str(event.pk)]
    bad = client.get("/open311/v2/requests.json", {"service_request_id": "x"})
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400


def _form(**extra):
    data = {
        "service_code": "city-facilities",
        "lat": A_LAT,
        "long": A_LNG,
        "address_string": "文献路 3 号",
        "description": "井盖缺失，有人差点摔倒",
    }
    data.update(extra)
    return data


def test_post_needs_credentials(world):
    response = APIClient().post("/open311/v2/requests.json", _form())
    assert response.status_code == 401
    assert response.json()[0]["code"] == 401
    bad_key = APIClient().post("/open311/v2/requests.json", _form(api_key="nope"))
    assert bad_key.status_code == 401
    assert not Event.objects.exists()


def test_post_with_an_api_key_files_as_the_clients_user(world):
    client_row, key = open311_client_create(
        actor=None, name="12345 热线", user=world.people.grid_manager, source=Source.HOTLINE
    )
    response = APIClient().post(
        "/open311/v2/requests.json",
        _form(api_key=key, first_name="伟", last_name="陈", phone="13900001111"),
    )
    assert response.status_code == 201, response.json()
    [row] = response.json()
    event = Event.objects.get(pk=int(row["service_request_id"]))
    assert event.source == Source.HOTLINE
    assert event.created_by == world.people.grid_manager
    # a staff account filing for a caller: the caller is the reporter by name
    assert event.reporter is None and event.reporter_name == "陈伟"
    assert str(event.reporter_phone) == "139****1111"
    assert event.node == world.places.grid_a
    assert "已受理" in row["service_notice"]
    client_row.refresh_from_db()
    assert client_row.last_used_at is not None
    assert Open311Client.objects.get().key_hash != key


def test_post_with_the_platform_token(world):
    token = Token.objects.create(user=world.people.resident)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.post("/open311/v2/requests.json", _form(), HTTP_IDEMPOTENCY_KEY="o311-1")
    assert response.status_code == 201
    again = client.post("/open311/v2/requests.json", _form(), HTTP_IDEMPOTENCY_KEY="o311-1")
    assert again.json() == response.json() and Event.objects.count() == 1
    event = Event.objects.get()
    assert event.reporter == world.people.resident and event.source == Source.RESIDENT


def test_post_errors_use_georeport_shape(world):
    token = Token.objects.create(user=world.people.resident)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    unknown = client.post("/open311/v2/requests.json", _form(service_code="no-such"))
    assert unknown.status_code == 400 and "service_code" in unknown.json()[0]["description"]
    half = client.post("/open311/v2/requests.json", _form(long=""))
    assert half.status_code == 400
    short = client.post("/open311/v2/requests.json", _form(description="坏"))
    assert short.status_code == 400 and short.json()[0]["code"] == 400


def test_the_command_prints_a_key_once(world):
    out = io.StringIO()
    call_command("open311_client", name="随手拍", user="wu_resident", stdout=out)
    key = out.getvalue().split("api_key: ")[1].strip()
    response = APIClient().post("/open311/v2/requests.json", _form(api_key=key))
    assert response.status_code == 201


def test_open311_routes_have_names():
    assert reverse("open311-services") == "/open311/v2/services.json"
    assert reverse("open311-request", args=[5]) == "/open311/v2/requests/5.json"

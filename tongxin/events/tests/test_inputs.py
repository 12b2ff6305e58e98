"""No 500 on odd input (SECURITY.md 16): bad filters, bodies and Open311 parameters answer 4xx."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tongxin.events.tests.conftest import report

pytestmark = pytest.mark.django_db


def test_odd_inputs(world):
    c = APIClient()
    c.force_authenticate(world.people.street_admin)
    e = report(world)
    for params in [
        {"node": "abc"},
        {"category": "x"},
        {"since": "zz"},
        {"overdue": "maybe"},
        {"page": "999"},
        {"page_size": "-1"},
        {"level": "moon"},
        {"q": "%_\\" * 40},
    ]:
        r = c.get(reverse("api-events"), params)
        assert r.status_code < 500, (params, r.status_code)
    url = reverse("api-event-transitions", args=[e.pk])
    for body in [
        {"action": "whistle", "departments": ["x"]},
        {"action": "merge", "duplicate_of": "x"},
        {"action": 5},
        {},
        {"action": "rate", "score": "abc"},
        {"action": "accept", "version": -3},
        {"action": "accept", "note": "x" * 600},
        {"action": "whistle", "departments": "1"},
    ]:
        r = c.post(url, body, format="json")
        assert r.status_code < 500, (body, r.status_code, r.data)
    for body in [
        {"photos": "abc"},
        {"category": [1]},
        {"lng": "1e999"},
        {"description": None},
        {"node": 99999},
        {"crs": "mars"},
        [],
    ]:
        r = c.post(reverse("api-events"), body, format="json")
        assert r.status_code < 500, (body, r.status_code)
    for params in [
        {"lng": "x"},
        {"lng": 1, "lat": 1, "category": 0},
        {"lng": 200, "lat": 0, "category": 1},
    ]:
        assert c.get(reverse("api-event-similar"), params).status_code == 400
    for params in [
        {"start_date": "x"},
        {"status": "maybe"},
        {"service_request_id": ","},
        {"end_date": "2020-01-01T00:00:00Z"},
    ]:
        r = APIClient().get("/open311/v2/requests.json", params)
        assert r.status_code < 500, (params, r.status_code)
    r = c.get(reverse("api-event-detail", args=[10**12]))
    assert r.status_code == 404
    assert (
        c.post(reverse("api-events"), "garbage", content_type="application/json").status_code == 400
    )

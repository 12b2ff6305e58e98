"""Idempotency-Key on phone submissions (SECURITY.md 18): a retry gets the first answer, a
reused key with another body 422, concurrent copies one event. Then the generic core piece."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from tongxin.core.idempotency import Answer, IdempotencyKeyReused, fingerprint, run_once
from tongxin.core.models import IdempotencyKey
from tongxin.events.models import Event, EventPhoto
from tongxin.events.tests.conftest import A_LAT, A_LNG, report
from tongxin.events.tests.test_photos import jpeg

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="real concurrency needs PostgreSQL (SQLite serializes writers); make test-pg runs it",
)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def payload(world, **extra):
    data = {
        "category": world.category.pk,
        "description": "菜市场门口油烟很大",
        "lng": A_LNG,
        "lat": A_LAT,
    }
    data.update(extra)
    return data


def post(client, data, key, fmt="json"):
    return client.post(reverse("api-events"), data, format=fmt, HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_returns_the_first_answer_and_writes_nothing(world):
    client = api(world.people.grid_manager)
    first = post(client, payload(world), "phone-1-abc")
    again = post(client, payload(world), "phone-1-abc")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Event.objects.count() == 1


def test_a_multipart_retry_with_the_same_photo_is_the_same_request(world):
    client = api(world.people.grid_manager)
    first = post(client, {**payload(world), "photos": [jpeg()]}, "photo-key", fmt="multipart")
    again = post(client, {**payload(world), "photos": [jpeg()]}, "photo-key", fmt="multipart")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert EventPhoto.objects.count() == 1


def test_the_same_key_with_another_body_is_422(world):
    client = api(world.people.grid_manager)
    assert post(client, payload(world), "key-2").status_code == 201
    other = post(client, payload(world, description="另一件事：路面塌陷"), "key-2")
    assert other.status_code == 422
    assert "幂等键" in other.json()["detail"]
    assert Event.objects.count() == 1


def test_keys_belong_to_their_user(world):
    assert post(api(world.people.grid_manager), payload(world), "shared").status_code == 201
    assert post(api(world.people.resident), payload(world), "shared").status_code == 201
    assert Event.objects.count() == 2


def test_a_refused_request_does_not_use_up_the_key(world):
    client = api(world.people.grid_manager)
    bad = post(client, payload(world, description="短"), "key-3")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert post(client, payload(world), "key-3").status_code == 201


def test_a_malformed_key_is_400(world):
    response = post(api(world.people.grid_manager), payload(world), "含中文的键")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


def test_without_a_key_every_post_is_new(world):
    client = api(world.people.grid_manager)
    client.post(reverse("api-events"), payload(world), format="json")
    client.post(reverse("api-events"), payload(world), format="json")
    assert Event.objects.count() == 2


def _together(n: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_exactly_one_event(world):
    user = world.people.grid_manager
    data = payload(world)

    def submit(_i: int):
        response = post(api(user), data, "same-phone-key")
        return response.status_code, response.json()

    results = _together(8, submit)
    assert all(isinstance(r, tuple) for r in results), results
    assert Event.objects.count() == 1
    event_id = Event.objects.get().pk
    assert {status for status, _ in results} <= {201, 409}
    assert all(body["id"] == event_id for status, body in results if status == 201)
    assert IdempotencyKey.objects.count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_on_one_event_let_one_through(world):
    event = report(world)

    def accept(_i: int):
        response = api(world.people.grid_manager).post(
            reverse("api-event-transitions", args=[event.pk]), {"action": "accept"}, format="json"
        )
        return response.status_code

    results = _together(6, accept)
    assert sorted(results) == [200] + [409] * 5, results
    event.refresh_from_db()
    assert event.transitions.filter(action="accept").count() == 1


# --- the generic piece -------------------------------------------------------------------------


def test_run_once_replays_and_refuses(world):
    user = world.people.resident
    calls = []

    def produce() -> Answer:
        calls.append(1)
        return Answer(201, {"n": len(calls)}, {"Location": "/x/1/"})

    fp = fingerprint("demo", "POST", "/x/", {"a": 1})
    first = run_once(user=user, key="k", scope="demo", fingerprint=fp, produce=produce)
    again = run_once(user=user, key="k", scope="demo", fingerprint=fp, produce=produce)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.body == {"n": 1} and again.headers == {"Location": "/x/1/"} and len(calls) == 1
    other = fingerprint("demo", "POST", "/x/", {"a": 2})
    with pytest.raises(IdempotencyKeyReused):
        run_once(user=user, key="k", scope="demo", fingerprint=other, produce=produce)
    elsewhere = fingerprint("another", "POST", "/y/", {"a": 1})
    with pytest.raises(IdempotencyKeyReused):
        run_once(user=user, key="k", scope="another", fingerprint=elsewhere, produce=produce)


def test_non_2xx_answers_are_not_remembered(world):
    user = world.people.resident
    fp = fingerprint("demo", "POST", "/x/")
    answer = run_once(
        user=user, key="k2", scope="demo", fingerprint=fp, produce=lambda: Answer(409, {})
    )
    assert answer.status == 409 and not IdempotencyKey.objects.filter(key="k2").exists()


def test_old_keys_are_purged(world):
    import datetime as dt

    from django.utils import timezone

    from tongxin.core.idempotency import purge_expired

    post(api(world.people.grid_manager), payload(world), "old")
    assert purge_expired(now=timezone.now() + dt.timedelta(hours=25)) == 1

"""Claims, takes and the last places of an activity under real concurrency (SECURITY.md 19).

Many threads, each with its own database connection, released together by a barrier: exactly
one claim and one take win, the rest get 409; sign-ups never exceed the limit. PostgreSQL only:
SQLite serializes writers (IMMEDIATE transactions), so it cannot show a race (make test-pg).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tongxin.accounts.models import Role
from tongxin.conftest import make_user
from tongxin.outreach import services
from tongxin.outreach.models import Activity, ServiceOrder, Signup, Wish
from tongxin.outreach.tests.conftest import volunteer_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="real concurrency needs PostgreSQL (SQLite serializes writers); make test-pg",
    ),
]
THREADS = 12


def together(n: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # a thread's failure is a result to look at, not a crash
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_many_members_claim_one_wish_and_exactly_one_wins(world):
    members = [make_user(f"m{i}", Role.MEMBER, world.places.grid_a) for i in range(THREADS)]
    wish = services.wish_post(actor=world.people.resident, title="一台助听器")
    services.wish_transition(actor=world.people.community_admin, wish=wish, action="approve")

    def claim(i: int):
        response = api(members[i]).post(reverse("api-wish-claim", args=[wish.pk]))
        return response.status_code, response.json()

    results = together(THREADS, claim)
    codes = sorted(r[0] for r in results)
    assert codes == [200] + [409] * (THREADS - 1), results
    assert all("已被他人认领" in body["detail"] for code, body in results if code == 409)
    wish.refresh_from_db()
    winner = next(body for code, body in results if code == 200)
    assert wish.claimant_name == winner["claimant_name"]
    assert wish.transitions.filter(action="claim").count() == 1


def test_many_volunteers_take_one_order_and_exactly_one_wins(world):
    volunteers = [volunteer_user(f"v{i}", world.places.grid_a) for i in range(THREADS)]
    order = services.order_place(actor=world.people.resident, kind="errand", description="买米买油")

    def take(i: int):
        response = api(volunteers[i]).post(reverse("api-order-take", args=[order.pk]))
        return response.status_code, response.json()

    results = together(THREADS, take)
    assert sorted(r[0] for r in results) == [200] + [409] * (THREADS - 1), results
    assert all("已被接单" in body["detail"] for code, body in results if code == 409)
    order = ServiceOrder.objects.get(pk=order.pk)
    assert order.state == "taken" and order.taken_by in volunteers
    assert order.transitions.filter(action="take").count() == 1


def test_sign_ups_never_exceed_the_limit(world):
    capacity = 5
    users = [make_user(f"s{i}", Role.RESIDENT, world.places.grid_a) for i in range(THREADS)]
    starts = timezone.now() + dt.timedelta(days=1)
    activity = services.activity_create(
        actor=world.people.community_admin,
        community=world.places.community_a,
        title="环境整治",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),
        capacity=capacity,
    )

    def sign_up(i: int):
        return api(users[i]).post(reverse("api-activity-sign-up", args=[activity.pk])).status_code

    results = together(THREADS, sign_up)
    assert sorted(results) == [201] * capacity + [409] * (THREADS - capacity), results
    activity = Activity.objects.get(pk=activity.pk)
    assert activity.signup_count == capacity
    assert Signup.objects.filter(activity=activity).count() == capacity


def test_one_user_double_tapping_sign_up_gets_one_place(world):
    starts = timezone.now() + dt.timedelta(days=1)
    activity = services.activity_create(
        actor=world.people.community_admin,
        community=world.places.community_a,
        title="政策宣教",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),
        capacity=10,
    )
    user = world.people.resident

    def sign_up(_i: int):
        return api(user).post(reverse("api-activity-sign-up", args=[activity.pk])).status_code

    results = together(6, sign_up)
    assert sorted(results) == [201] + [409] * 5, results
    assert Activity.objects.get(pk=activity.pk).signup_count == 1
    assert Wish.objects.count() == 0

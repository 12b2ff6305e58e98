"""Venues: opening hours, capacity and no double bookings — also under a race on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tongxin.cobuild import services
from tongxin.cobuild.models import VenueBooking
from tongxin.cobuild.tests.conftest import api
from tongxin.core.errors import ConflictError

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="real concurrency needs PostgreSQL (SQLite serializes writers)",
)


def _monday_after(days: int = 7) -> dt.date:
    day = timezone.localdate() + dt.timedelta(days=days)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def _venue(world):
    return services.venue_create(
        actor=world.people.unit_liaison,
        unit=world.places.unit_a,
        name="党员活动室",
        capacity=30,
        openings=[(d, dt.time(9), dt.time(17)) for d in range(5)],
    )


def _book(world, venue, start, end, user=None, attendees=10):
    return services.booking_create(
        actor=user or world.people.resident,
        venue=venue,
        starts_at=start,
        ends_at=end,
        purpose="居民议事会",
        attendees=attendees,
    )


@pytest.mark.django_db
def test_overlapping_bookings_are_refused(world):
    venue = _venue(world)
    day = _monday_after()
    _book(world, venue, _at(day, 9), _at(day, 11))
    for start, end in [(9, 11), (10, 12), (10.75, 11.5), (9.5, 10.5)]:
        with pytest.raises(ConflictError, match="已被预约"):
            _book(
                world,
                venue,
                _at(day, int(start), int(start % 1 * 60)),
                _at(day, int(end), int(end % 1 * 60)),
            )
    # touching is not overlapping
    _book(world, venue, _at(day, 11), _at(day, 12), user=world.people.member)
    # a cancelled booking frees its slot
    first = VenueBooking.objects.order_by("id").first()
    services.booking_cancel(actor=world.people.resident, booking=first)
    _book(world, venue, _at(day, 9), _at(day, 11))


@pytest.mark.django_db
def test_bookings_respect_hours_capacity_and_the_past(world):
    venue = _venue(world)
    monday = _monday_after()
    saturday = monday + dt.timedelta(days=5)
    for start, end in [
        (_at(monday, 8), _at(monday, 10)),  # before opening
        (_at(monday, 16), _at(monday, 18)),  # after closing
        (_at(saturday, 10), _at(saturday, 11)),  # closed on Saturday
        (_at(monday, 11), _at(monday, 10)),  # ends before it starts
    ]:
        with pytest.raises(ValidationError):
            _book(world, venue, start, end)
    with pytest.raises(ValidationError):
        _book(world, venue, _at(monday, 9), _at(monday, 10), attendees=31)
    past = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 7)
    with pytest.raises(ValidationError):
        _book(world, venue, _at(past, 9), _at(past, 10))


@pytest.mark.django_db
def test_the_api_answers_409_for_a_taken_slot(world):
    venue = _venue(world)
    day = _monday_after()
    url = reverse("api-venue-bookings", args=[venue.pk])
    body = {
        "starts_at": _at(day, 14).isoformat(),
        "ends_at": _at(day, 15).isoformat(),
        "purpose": "学习",
        "attendees": 5,
    }
    assert api(world.people.resident).post(url, body, format="json").status_code == 201
    response = api(world.people.member).post(url, body, format="json")
    assert response.status_code == 409
    assert "已被预约" in response.json()["detail"]
    # residents see only their own bookings; the unit sees all
    assert len(api(world.people.member).get(url).json()["results"]) == 0
    assert len(api(world.people.unit_liaison).get(url).json()["results"]) == 1


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
def test_concurrent_overlapping_bookings_let_exactly_one_through(world):
    venue = _venue(world)
    day = _monday_after()
    users = [
        world.people.resident,
        world.people.member,
        world.people.grid_manager,
        world.people.community_admin,
        world.people.street_admin,
        world.people.unit_liaison,
        world.people.district_admin,
        world.liaison_b,
    ]

    def book(i: int) -> int:
        # every request overlaps every other one: 10:00–11:00 shifted by i × 5 minutes
        start = _at(day, 10, i * 5)
        response = api(users[i]).post(
            reverse("api-venue-bookings", args=[venue.pk]),
            {
                "starts_at": start.isoformat(),
                "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
                "purpose": "抢订",
                "attendees": 5,
            },
            format="json",
        )
        return response.status_code

    results = _together(len(users), book)
    assert sorted(results) == [201] + [409] * (len(users) - 1), results
    assert VenueBooking.objects.filter(venue=venue, status="confirmed").count() == 1

"""Outreach fixtures on top of the shared places and people (tongxin/conftest.py).

    文献社区 ── 文献一网格: wu_resident (吴秀英, a person), guo_member (党员, a volunteer who
                           offers 代购), zheng_unit (文献供电所 liaison), wang_wenxian (admin)
    东梅社区 ── 东梅一网格: dm_resident, dm_member (a volunteer there), chen_dongmei (admin)
文献一网格 and 东梅一网格 get square boundaries so service points are placed by the locator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role, User
from tongxin.conftest import make_user
from tongxin.outreach.models import VolunteerOffer
from tongxin.people.models import Person, PersonGroup, SpecialGroup, Volunteer

A_LNG, A_LAT = 119.005, 25.435  # inside 文献一网格
B_LNG, B_LAT = 119.005, 25.445  # inside 东梅一网格


def square(x0: float, y0: float, size: float = 0.01) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [
            [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
        ],
    }


def draw(node, boundary) -> None:
    from tongxin.grids.models import Grid
    from tongxin.grids.services import grid_update

    version = Grid.objects.filter(node=node).values_list("version", flat=True).first() or 0
    grid_update(actor=None, node=node, version=version, boundary=boundary)


def person_for(user: User | None, node, name: str) -> Person:
    return Person.objects.create(node=node, name=name, user=user, address=f"{node.name}1号")


def make_volunteer(user: User | None, node, name: str, kinds: tuple[str, ...] = ()) -> Volunteer:
    person = Person.objects.filter(user=user).first() if user else None
    person = person or person_for(user, node, name)
    volunteer = Volunteer.objects.create(person=person, registered_on=dt.date(2024, 1, 1))
    for kind in kinds:
        VolunteerOffer.objects.create(volunteer=volunteer, kind=kind)
    return volunteer


def volunteer_user(username: str, node, kinds: tuple[str, ...] = ("errand",)) -> User:
    user = make_user(username, Role.MEMBER, node)
    make_volunteer(user, node, username, kinds)
    return user


@dataclass
class World:
    places: Any
    people: Any
    resident_person: Person
    member_volunteer: Volunteer
    dm_resident: User
    dm_member: User
    elderly: Person


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_directory(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


@pytest.fixture(autouse=True)
def _fresh_grid_index():
    from tongxin.grids import geo

    geo.forget_index()
    yield
    geo.forget_index()


@pytest.fixture
def world(places, people) -> World:
    p = places
    resident_person = person_for(people.resident, p.grid_a, "吴秀英")
    member_volunteer = make_volunteer(people.member, p.grid_a, "郭党员", ("errand", "repair"))
    dm_resident = make_user("dm_resident", Role.RESIDENT, p.grid_b)
    person_for(dm_resident, p.grid_b, "东梅居民")
    dm_member = volunteer_user("dm_member", p.grid_b)
    elderly = person_for(None, p.grid_a, "林阿婆")
    PersonGroup.objects.create(person=elderly, group=SpecialGroup.ELDERLY_ALONE)
    return World(p, people, resident_person, member_volunteer, dm_resident, dm_member, elderly)


def aware(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=timezone.get_default_timezone())


def hours(value: str) -> Decimal:
    return Decimal(value)

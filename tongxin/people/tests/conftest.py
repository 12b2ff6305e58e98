"""A small roster on the shared `places`: two sibling communities' people, named by place.

文献社区 (community A, grid_a): 郭景国 (registered member, linked to the `member` account),
林志明 (in-service member of 文献供电所), 吴秀英 (resident, low-income and living alone, linked to
the `resident` account), household 文献花园1号楼 101. 东梅社区 (community B, grid_b): 陈东梅
(member) and 黄东梅 (resident, hardship). Every plain ID number and phone is kept on the fixture so
tests can look for leaks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from tongxin.people import services
from tongxin.people.models import Building, Household, PartyMember, Resident
from tongxin.people.tests.factories import id_number, member_data


@dataclass
class Roster:
    member_a: PartyMember
    in_service_a: PartyMember
    resident_a: Resident
    household_a: Household
    building_a: Building
    member_b: PartyMember
    resident_b: Resident
    plain: dict[str, str]


@pytest.fixture
def roster(places, people) -> Roster:
    plain = {
        "member_a_id": id_number(dt.date(1958, 3, 12), 231),
        "member_a_phone": "13905941234",
        "in_service_id": id_number(dt.date(1985, 10, 2), 512),
        "resident_a_id": id_number(dt.date(1941, 1, 20), 342),
        "resident_a_phone": "0594-2671234",
        "member_b_id": id_number(dt.date(1970, 6, 1), 415),
        "resident_b_id": id_number(dt.date(1962, 9, 9), 624),
        "resident_b_phone": "13605948877",
    }
    member_a = services.member_create(
        actor=None,
        node=places.grid_a,
        data=member_data(
            name="郭景国",
            id_number=plain["member_a_id"],
            phone=plain["member_a_phone"],
            category="retired",
            monthly_income="4200.00",
        ),
    )
    member_a.person = services.person_link_user(
        actor=None, person=member_a.person, user=people.member
    )
    in_service_a = services.member_create(
        actor=None,
        node=places.grid_a,
        data=member_data(
            name="林志明",
            id_number=plain["in_service_id"],
            phone="13705940001",
            category="in_service",
            unit=places.unit_a,
            monthly_income="6800.00",
        ),
    )
    building = services.building_create(
        actor=None, node=places.grid_a, data={"name": "文献花园1号楼", "floors": 6}
    )
    household = services.household_create(
        actor=None, node=places.grid_a, data={"door": "101", "building": building}
    )
    resident_a = services.resident_create(
        actor=None,
        data={
            "name": "吴秀英",
            "id_number": plain["resident_a_id"],
            "phone": plain["resident_a_phone"],
            "household": household,
            "relation": "head",
            "groups": ["low_income", "elderly_alone"],
        },
    )
    resident_a.person = services.person_link_user(
        actor=None, person=resident_a.person, user=people.resident
    )
    member_b = services.member_create(
        actor=None,
        node=places.grid_b,
        data=member_data(name="陈东梅", id_number=plain["member_b_id"], phone="13805949999"),
    )
    resident_b = services.resident_create(
        actor=None,
        data={
            "name": "黄东梅",
            "id_number": plain["resident_b_id"],
            "phone": plain["resident_b_phone"],
            "node": places.grid_b,
            "groups": ["hardship"],
        },
    )
    return Roster(
        member_a, in_service_a, resident_a, household, building, member_b, resident_b, plain
    )

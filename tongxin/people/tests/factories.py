"""Builders for people tests: valid ID numbers and members/residents made through the services."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from stdnum.cn import ric

from tongxin.orgs.models import OrgNode
from tongxin.people import services
from tongxin.people.models import Household, PartyMember, Resident

_sequence = itertools.count(101)
_phones = itertools.count(13800000001)


def id_number(born: dt.date = dt.date(1960, 5, 17), seq: int | None = None, area: str = "350302"):
    """A valid 18-character ID number (MOD 11-2 check character computed)."""
    seq = next(_sequence) % 1000 if seq is None else seq
    base = f"{area}{born:%Y%m%d}{seq:03d}"
    return base + ric.calc_check_digit(base + "0")


def phone() -> str:
    return str(next(_phones))


def member_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "郭景国",
        "id_number": id_number(),
        "phone": phone(),
        "address": "文献路 18 号",
        "category": "registered",
        "joined_on": dt.date(1988, 7, 1),
        "membership_type": "full",
        "monthly_income": "4500.00",
    }
    data.update(overrides)
    return data


def make_member(node: OrgNode, actor: Any = None, **overrides: Any) -> PartyMember:
    return services.member_create(actor=actor, node=node, data=member_data(**overrides))


def make_household(node: OrgNode, door: str = "101", **extra: Any) -> Household:
    return services.household_create(actor=None, node=node, data={"door": door, **extra})


def make_resident(
    node: OrgNode | None = None, household: Household | None = None, **overrides: Any
) -> Resident:
    data: dict[str, Any] = {
        "name": "吴秀英",
        "id_number": id_number(dt.date(1950, 3, 8)),
        "phone": phone(),
        "relation": "head",
        "node": node,
        "household": household,
    }
    data.update(overrides)
    return services.resident_create(actor=None, data=data)

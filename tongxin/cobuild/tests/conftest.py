"""Co-building fixtures on top of the shared places and people (tongxin/conftest.py).

镇海街道 (zhang_street) ── 文献社区 (wang_wenxian) ── 文献供电所 (zheng_unit, its liaison)
                       └─ 东梅社区 (chen_dongmei) ── 东梅科技有限公司 (liaison_b)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from tongxin.accounts.models import Role
from tongxin.cobuild import services
from tongxin.cobuild.models import Agreement, Commitment
from tongxin.conftest import make_user

YEAR = 2026


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_directory(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


@dataclass
class World:
    places: Any
    people: Any
    liaison_b: Any


@pytest.fixture
def world(places, people) -> World:
    liaison_b = make_user("liaison_b", Role.UNIT_LIAISON, places.community_b, unit=places.unit_b)
    return World(places, people, liaison_b)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def draft(world: World, *, year: int = YEAR, node=None, unit=None) -> Agreement:
    """A draft between 文献社区 and 文献供电所 with one commitment on each side."""
    # the street admin acts for the street and, as the level above, for its communities
    admin = world.people.street_admin
    agreement = services.agreement_create(
        actor=admin,
        node=node or world.places.community_a,
        unit=unit or world.places.unit_a,
        year=year,
    )
    for side, content in (("organization", "提供报到岗位"), ("unit", "结对帮扶困难家庭")):
        services.commitment_add(
            actor=admin,
            agreement=agreement,
            side=side,
            area="party_building",
            content=content,
            due_on=dt.date(year, 6, 30),
            owner_name="张三",
        )
    return agreement


def signed(world: World, **kwargs: Any) -> Agreement:
    agreement = draft(world, **kwargs)
    return services.agreement_transition(
        actor=world.people.street_admin, agreement=agreement, action="sign"
    )


def commitment_of(agreement: Agreement, side: str) -> Commitment:
    return agreement.commitments.get(side=side)

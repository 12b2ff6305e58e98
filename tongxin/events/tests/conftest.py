"""Event test fixtures on top of the shared places and people (tongxin/conftest.py).

    荔城区 ── 镇海街道 ── 文献社区 ── 文献一网格   (lin_grid: grid manager; wu_resident: resident)
                      └─ 东梅社区 ── 东梅一网格
    城管执法中队 stationed at 镇海街道, huang_dept (department role at 镇海街道) on its staff;
    市场监管所 stationed at 镇海街道 with its own staff; 拱辰 has none.

文献一网格 and 东梅一网格 get square boundaries, so points are placed by the grids app's locator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tongxin.accounts.models import Role, RoleAssignment
from tongxin.conftest import make_user
from tongxin.events import services
from tongxin.events.models import Category, Department, DepartmentStaff, DepartmentStation, Event

# 0.01° squares near 莆田 荔城区 (WGS-84)
A_LNG, A_LAT = 119.005, 25.435  # inside 文献一网格
B_LNG, B_LAT = 119.005, 25.445  # inside 东梅一网格
OUT_LNG, OUT_LAT = 119.100, 25.500  # in no grid


def square(x0: float, y0: float, size: float = 0.01) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [
            [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
        ],
    }


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_directory(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


@pytest.fixture(autouse=True)
def _fresh_grid_index():
    from tongxin.grids import geo

    geo.forget_index()
    yield
    geo.forget_index()


def draw(node, boundary) -> None:
    from tongxin.grids.models import Grid
    from tongxin.grids.services import grid_update

    version = Grid.objects.filter(node=node).values_list("version", flat=True).first() or 0
    grid_update(actor=None, node=node, version=version, boundary=boundary)


def category(code: str = "city-facilities") -> Category:
    """A default category; transactional tests flush the migration's rows, so make sure."""
    parent_code = code.split("-")[0]
    parent, _ = Category.objects.get_or_create(
        code=parent_code,
        defaults={"name": parent_code, "days_grid": 2, "days_community": 3, "days_street": 5},
    )
    if code == parent_code:
        return parent
    found, _ = Category.objects.get_or_create(
        code=code,
        defaults={"name": code, "parent": parent, "days_grid": 2, "days_community": 3},
    )
    return found


@dataclass
class World:
    places: Any
    people: Any
    category: Category
    city: Department
    market: Department
    market_staff: Any
    community_b_grid_manager: Any


@pytest.fixture
def world(places, people) -> World:
    draw(places.grid_a, square(119.00, 25.43))
    draw(places.grid_b, square(119.00, 25.44))
    city = Department.objects.create(name="区城管执法局镇海中队", short_name="城管")
    market = Department.objects.create(name="区市场监管局镇海所", short_name="市场监管")
    for d in (city, market):
        DepartmentStation.objects.create(department=d, street=places.street)
    DepartmentStaff.objects.create(department=city, user=people.department)
    market_staff = make_user("xu_market", Role.DEPARTMENT, places.street)
    DepartmentStaff.objects.create(department=market, user=market_staff)
    grid_manager_b = make_user("fang_grid_b", Role.GRID_MANAGER, places.grid_b)
    return World(places, people, category(), city, market, market_staff, grid_manager_b)


def report(world: World, actor: Any = None, **kwargs: Any) -> Event:
    """An event reported in 文献一网格 (by the resident unless told otherwise)."""
    fields = {
        "category": world.category,
        "description": "文献路路灯不亮，晚上很暗",
        "lng": A_LNG,
        "lat": A_LAT,
        "address": "文献路 12 号",
    }
    fields.update(kwargs)
    return services.event_report(actor=actor or world.people.resident, **fields)


def grant(user, role: str, node) -> None:
    RoleAssignment.objects.create(user=user, role=role, node=node)

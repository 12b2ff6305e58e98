"""Grid test fixtures: a second grid in 文献社区 and boundaries laid out edge to edge.

25.45 ┌──────────┐
      │  grid_b  │            东梅一网格 (东梅社区)
25.44 ├──────────┼──────────┐
      │  grid_a  │ grid_a2  │  文献一网格, 文献二网格 (文献社区)
25.43 └──────────┴──────────┘
    119.00     119.01     119.02
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tongxin.grids import geo
from tongxin.grids.tests.factories import draw, square
from tongxin.orgs.models import Level, OrgKind, OrgNode
from tongxin.orgs.services import node_create


@pytest.fixture(autouse=True)
def _fresh_index():
    """Each test starts from an empty in-process index (its database is a fresh one)."""
    geo.forget_index()
    yield
    geo.forget_index()


@dataclass
class Layout:
    grid_a: OrgNode
    grid_a2: OrgNode
    grid_b: OrgNode


@pytest.fixture
def grid_a2(places) -> OrgNode:
    return node_create(
        actor=None,
        parent=places.community_a,
        name="文献二网格",
        level=Level.GRID,
        party_org={"name": "文献二网格党支部", "kind": OrgKind.BRANCH},
    )


@pytest.fixture
def layout(places, grid_a2) -> Layout:
    draw(places.grid_a, square(119.00, 25.43))
    draw(grid_a2, square(119.01, 25.43))
    draw(places.grid_b, square(119.00, 25.44))
    return Layout(places.grid_a, grid_a2, places.grid_b)

"""The demo district's grid map: every grid drawn, valid, no sibling overlaps, all in place."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tongxin.grids import geo
from tongxin.grids.models import Grid
from tongxin.orgs.models import Level, OrgNode

pytestmark = pytest.mark.django_db


def test_every_demo_grid_has_a_valid_boundary_near_licheng_and_no_sibling_overlaps():
    call_command("seed_demo", seed=2019)
    grids = list(Grid.objects.select_related("node"))
    assert len(grids) == OrgNode.objects.filter(level=Level.GRID).count() == 74
    assert len({g.code for g in grids}) == 74 and grids[0].code.startswith("350304")
    shapes: dict[int, list[geo.Shape]] = {}
    for grid in grids:
        geom = geo.parse_boundary(grid.boundary)
        min_x, min_y, max_x, max_y = geom.bounds
        assert min_x >= 119.0 and max_x <= 119.03 and min_y >= 25.42 and max_y <= 25.45
        assert 50_000 < grid.area_m2 < 400_000, grid.node.name  # 0.05–0.4 km²
        shapes.setdefault(grid.node.parent_id, []).append(
            geo.Shape(grid.node_id, grid.node.name, geom)
        )
    for siblings in shapes.values():
        assert geo.find_overlaps(siblings, siblings) == []
    every = [s for group in shapes.values() for s in group]
    assert geo.find_overlaps(every, every, tolerance_m2=0.01) == []
    # The blocks tile the district: its centre and a point in each street are in some grid.
    for point in [(119.015, 25.435), (119.005, 25.425), (119.025, 25.445)]:
        assert not geo.locate(*point).outside
    assert geo.locate(119.04, 25.435).outside


def test_the_demo_grid_map_is_deterministic():
    from django.db import transaction

    def snapshot(seed: int) -> list:
        with transaction.atomic():
            call_command("seed_demo", seed=seed)
            rows = list(Grid.objects.order_by("code").values_list("code", "boundary"))
            transaction.set_rollback(True)
        return rows

    first = snapshot(5)
    assert first == snapshot(5)
    assert first != snapshot(6)

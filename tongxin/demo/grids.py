"""Plausible grid boundaries for the demo district, deterministic from the seed.

The real 荔城区 grid map is not public, so the layout is generated: WGS-84, in the urban area
around lng 119.00–119.03, lat 25.42–25.45. 镇海街道 takes the western half and 拱辰街道 the
eastern; each street's seven communities are stacked as bands, and each community's band is cut
into its grids (one row of cells, or two rows when it has more than three grids). Cells are about
300–500 m across, the size of a 300–500-household grid in a dense Chinese city.

Neighbouring cells share exactly the same vertices along their common edge (a jittered polyline,
so the map does not look like graph paper), hence siblings never overlap and every point of the
district falls in exactly one grid or on a shared edge.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from tongxin.demo.orgs import STREETS, DemoOrgs
from tongxin.grids.models import Grid
from tongxin.grids.services import grid_boundaries_import

WEST, EAST = 119.000, 119.030
SOUTH, NORTH = 25.420, 25.450
DISTRICT_CODE = "350304"  # 莆田市荔城区
DIGITS = 6  # about 10 cm: plenty for a grid boundary, and shared vertices stay identical

Point = tuple[float, float]


def _pt(x: float, y: float) -> Point:
    return (round(x, DIGITS), round(y, DIGITS))


def _split_line(
    x_bottom: float, x_top: float, y_bottom: float, y_top: float, rng: random.Random, wiggle: float
) -> list[Point]:
    """An interior cell boundary from bottom to top with one jittered midpoint."""
    x_mid = (x_bottom + x_top) / 2 + rng.uniform(-wiggle, wiggle)
    return [_pt(x_bottom, y_bottom), _pt(x_mid, (y_bottom + y_top) / 2), _pt(x_top, y_top)]


def _row_cells(
    x0: float, x1: float, y0: float, y1: float, count: int, rng: random.Random
) -> list[list[Point]]:
    """`count` cells side by side in the box, as closed counter-clockwise rings."""
    width = (x1 - x0) / count
    lines = [[_pt(x0, y0), _pt(x0, y1)]]
    for i in range(1, count):
        nominal = x0 + width * i
        lines.append(
            _split_line(
                nominal + rng.uniform(-0.15, 0.15) * width,
                nominal + rng.uniform(-0.15, 0.15) * width,
                y0,
                y1,
                rng,
                0.12 * width,
            )
        )
    lines.append([_pt(x1, y0), _pt(x1, y1)])
    cells = []
    for left, right in itertools.pairwise(lines):
        # bottom-left → bottom-right → up the right line → top-left → down the left line
        ring = [left[0], *right, *reversed(left[1:])]
        ring.append(ring[0])
        cells.append(ring)
    return cells


def community_cells(
    x0: float, x1: float, y0: float, y1: float, count: int, rng: random.Random
) -> list[list[Point]]:
    """A community's block cut into `count` grids: one row, or two when there are more than 3."""
    if count <= 3:
        return _row_cells(x0, x1, y0, y1, count, rng)
    lower = math.ceil(count / 2)
    y_mid = round((y0 + y1) / 2, DIGITS)
    return _row_cells(x0, x1, y0, y_mid, lower, rng) + _row_cells(
        x0, x1, y_mid, y1, count - lower, rng
    )


def layout(demo: DemoOrgs, seed: int) -> list[dict[str, Any]]:
    """GeoJSON features (with node ids) for every demo grid."""
    rng = random.Random(f"tongxin-demo-grids-{seed}")
    features = []
    street_width = (EAST - WEST) / len(STREETS)
    for s, (_street, community_names) in enumerate(STREETS.items()):
        x0 = WEST + street_width * s
        band = (NORTH - SOUTH) / len(community_names)
        for c, community_name in enumerate(community_names):
            y0 = SOUTH + band * c
            grids = demo.grids[community_name]
            cells = community_cells(x0, x0 + street_width, y0, y0 + band, len(grids), rng)
            for node, ring in zip(grids, cells, strict=True):
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[list(p) for p in ring]],
                        },
                        "properties": {"node_id": node.pk, "name": node.name},
                    }
                )
    return features


def build_grids(demo: DemoOrgs, seed: int) -> int:
    """Give every demo grid a code and a boundary; returns the number of grids drawn.

    Uses its own random stream so the rest of the demo stays what it was for a given seed.
    """
    profiles = []
    for s, community_names in enumerate(STREETS.values(), start=1):
        for c, community_name in enumerate(community_names, start=1):
            for g, node in enumerate(demo.grids[community_name], start=1):
                profiles.append(Grid(node=node, code=f"{DISTRICT_CODE}{s:03d}{c:03d}{g:03d}"))
    Grid.objects.bulk_create(profiles)
    features = layout(demo, seed)
    grid_boundaries_import(
        actor=None, collection={"type": "FeatureCollection", "features": features}
    )
    return len(features)

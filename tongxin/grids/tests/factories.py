"""Builders for grid tests: square boundaries, households and residents written directly.

People rows are created with the ORM (not the people services) so these tests depend only on
the people app's tables, which is all the grids app reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tongxin.grids import services
from tongxin.grids.models import Grid
from tongxin.orgs.models import OrgNode
from tongxin.people.models import Household, PartyMember, Person, Resident

# A 0.01° block near 莆田 荔城区 (WGS-84): about 1 km × 1.1 km.
LNG0, LAT0 = 119.00, 25.43


def square(x0: float, y0: float, size: float = 0.01) -> dict[str, Any]:
    """A closed counter-clockwise square as a GeoJSON Polygon."""
    return {
        "type": "Polygon",
        "coordinates": [
            [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
        ],
    }


def draw(node: OrgNode, boundary: dict[str, Any], **kwargs: Any) -> Grid:
    """Give a grid its boundary as the system would (no permission check)."""
    version = Grid.objects.filter(node=node).values_list("version", flat=True).first() or 0
    return services.grid_update(
        actor=None, node=node, version=version, boundary=boundary, **kwargs
    ).grid


def feature(boundary: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": boundary, "properties": properties}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def household(node: OrgNode, door: str = "101", residents: int = 0) -> Household:
    home = Household.objects.create(node=node, door=door)
    for i in range(residents):
        person = Person.objects.create(node=node, name=f"居民{door}-{i}")
        Resident.objects.create(
            person=person, household=home, relation="head" if i == 0 else "child"
        )
    return home


def member(node: OrgNode, *, branch: OrgNode | None = None, status: str = "normal") -> PartyMember:
    person = Person.objects.create(node=node, name="党员")
    return PartyMember.objects.create(
        person=person,
        category="registered",
        joined_on=dt.date(1990, 7, 1),
        status=status,
        branch=branch,
    )

"""Point-in-grid: inside, outside, on shared edges and vertices, and a live index."""

from __future__ import annotations

import pytest
from django.db import transaction

from tongxin.grids import geo
from tongxin.grids.models import BoundaryRevision, Grid
from tongxin.grids.tests.factories import draw, square
from tongxin.orgs.services import node_close

pytestmark = pytest.mark.django_db


def test_a_point_inside_a_grid_is_placed_there(layout):
    found = geo.locate(119.005, 25.435)
    assert found.grid == layout.grid_a
    assert found.grid.parent.name == "文献社区"
    assert not found.on_boundary and not found.outside
    assert found.candidates == (layout.grid_a.pk,)


def test_a_point_outside_every_grid_is_flagged_not_dropped(layout):
    found = geo.locate(119.05, 25.435)
    assert found.outside and found.grid is None and found.grid_id is None
    assert (found.lng, found.lat) == (119.05, 25.435)


def test_a_point_on_a_shared_edge_goes_to_the_smallest_grid_id(layout):
    assert layout.grid_a.pk < layout.grid_a2.pk
    found = geo.locate(119.01, 25.435)
    assert found.grid == layout.grid_a
    assert found.on_boundary
    assert found.candidates == (layout.grid_a.pk, layout.grid_a2.pk)


def test_the_rule_does_not_depend_on_which_boundary_was_drawn_first(places, grid_a2):
    draw(grid_a2, square(119.01, 25.43))
    draw(places.grid_a, square(119.00, 25.43))
    assert geo.locate(119.01, 25.431).grid == places.grid_a


def test_a_point_on_a_vertex_shared_by_three_grids(layout):
    found = geo.locate(119.01, 25.44)
    assert found.grid == layout.grid_a and found.on_boundary
    assert set(found.candidates) == {layout.grid_a.pk, layout.grid_a2.pk, layout.grid_b.pk}


def test_a_point_on_an_outer_vertex_or_edge_is_inside(layout):
    corner = geo.locate(119.0, 25.43)
    assert corner.grid == layout.grid_a and corner.on_boundary
    edge = geo.locate(119.0, 25.435)
    assert edge.grid == layout.grid_a and edge.on_boundary


def test_gcj02_input_is_converted_before_locating(layout):
    gcj = geo.wgs84_to_gcj02(119.011, 25.431)
    found = geo.locate(*gcj, crs=geo.GCJ02)
    assert found.grid == layout.grid_a2
    assert (found.lng, found.lat) == pytest.approx((119.011, 25.431), abs=1e-9)
    # Read as WGS-84 the same numbers land several hundred metres off, outside every grid.
    assert geo.locate(*gcj).outside


def test_bad_coordinates_are_refused():
    with pytest.raises(ValueError):
        geo.locate(float("nan"), 25.4)
    with pytest.raises(ValueError):
        geo.locate(25.4, 119.0)  # latitude first


def test_the_index_sees_a_boundary_change_without_a_restart(layout):
    assert geo.locate(119.025, 25.435).outside
    draw(layout.grid_a2, square(119.015, 25.43))  # moved 0.005° east
    found = geo.locate(119.025, 25.435)
    assert found.grid == layout.grid_a2
    assert geo.locate(119.012, 25.435).outside


def test_a_change_made_by_another_process_is_seen(layout):
    """Another worker wrote the rows and the token; this process only compares the token."""
    assert geo.locate(119.025, 25.435).outside
    moved = square(119.015, 25.43)
    Grid.objects.filter(node=layout.grid_a2).update(boundary=moved)
    assert geo.locate(119.025, 25.435).outside  # same token: the cached index still answers
    BoundaryRevision.objects.filter(pk=geo.REVISION_PK).update(token="from-another-worker")
    assert geo.locate(119.025, 25.435).grid == layout.grid_a2


def test_a_rolled_back_change_leaves_no_stale_index(layout):
    with transaction.atomic():
        draw(layout.grid_a2, square(119.015, 25.43))
        assert geo.locate(119.025, 25.435).grid == layout.grid_a2
        transaction.set_rollback(True)
    assert geo.locate(119.025, 25.435).outside


def test_closed_grids_are_left_out(layout, people):
    node_close(actor=None, node=layout.grid_a2, version=layout.grid_a2.version, reason="合并")
    assert geo.locate(119.015, 25.435).outside
    found = geo.locate(119.01, 25.435)
    assert found.grid == layout.grid_a and found.candidates == (layout.grid_a.pk,)


def test_an_empty_index_places_nothing(places):
    assert geo.locate(119.005, 25.435).outside
    assert geo.locate_many([(119.005, 25.435)]) == [None]


def test_locate_many_agrees_with_locate(layout, django_assert_max_num_queries):
    points = [
        (119.005, 25.435),
        (119.015, 25.435),
        (119.005, 25.445),
        (119.01, 25.435),
        (119.01, 25.44),
        (119.05, 25.435),
        (119.0, 25.43),
    ]
    expected = [geo.locate(*p).grid_id for p in points]
    with django_assert_max_num_queries(2):
        assert geo.locate_many(points) == expected
    assert expected[-2:] == [None, layout.grid_a.pk]


def test_locate_many_takes_gcj02_and_arrays(layout):
    import numpy as np

    wgs = np.array([(119.005, 25.435), (119.015, 25.435)])
    gcj = np.array([geo.wgs84_to_gcj02(*p) for p in wgs])
    ids = geo.locate_many_array(gcj, crs=geo.GCJ02)
    assert ids.tolist() == [layout.grid_a.pk, layout.grid_a2.pk]
    assert geo.locate_many([]) == []

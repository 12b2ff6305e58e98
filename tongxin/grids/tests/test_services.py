"""Grid writes: edits with versions, boundaries with overlap checks, all-or-nothing imports,
export round trips, and the audit trail."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditRecord
from tongxin.grids import geo, selectors, services
from tongxin.grids.models import BoundaryRevision, Grid
from tongxin.grids.tests.factories import collection, draw, feature, square

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------------------------
# grid_update


def test_the_first_edit_creates_the_profile_from_version_0(places, people):
    result = services.grid_update(
        actor=people.community_admin,
        node=places.grid_a,
        version=0,
        changes={"code": "350304001001001", "households_min": 280},
    )
    grid = Grid.objects.get(node=places.grid_a)
    assert (grid.code, grid.households_min, grid.households_max, grid.version) == (
        "350304001001001",
        280,
        500,
        1,
    )
    assert result.warnings == []
    record = AuditRecord.objects.filter(action="grids.grid.update").latest("id")
    assert record.actor_id == people.community_admin.pk
    assert record.changes["households_min"] == [300, 280]


def test_a_stale_version_is_a_conflict(places, people):
    services.grid_update(actor=people.community_admin, node=places.grid_a, version=0, changes={})
    services.grid_update(
        actor=people.community_admin, node=places.grid_a, version=0, changes={"code": "A1"}
    )
    with pytest.raises(ConflictError):
        services.grid_update(
            actor=people.community_admin, node=places.grid_a, version=0, changes={"code": "A2"}
        )


def test_norms_must_be_ordered(places, people):
    with pytest.raises(ValidationError) as caught:
        services.grid_update(
            actor=people.community_admin,
            node=places.grid_a,
            version=0,
            changes={"population_min": 2500},
        )
    assert caught.value.message_dict == {"population_max": ["上限不能小于下限。"]}


def test_grid_codes_are_unique(places, people):
    draw(places.grid_b, square(119.0, 25.44))
    services.grid_update(actor=None, node=places.grid_b, version=1, changes={"code": "G-1"})
    with pytest.raises(ValidationError) as caught:
        services.grid_update(actor=None, node=places.grid_a, version=0, changes={"code": "G-1"})
    assert caught.value.message_dict["code"] == ["网格编码已被“东梅一网格”使用。"]


def test_only_managing_roles_over_the_grid_edit_it(places, people):
    for user in (people.grid_manager, people.community_admin_b, people.member):
        with pytest.raises(PermissionDenied):
            services.grid_update(actor=user, node=places.grid_a, version=0, changes={})
    services.grid_update(actor=people.street_admin, node=places.grid_a, version=0, changes={})
    assert AuditRecord.objects.filter(action="grids.change_grid", outcome="denied").count() == 3


def test_only_grid_nodes_have_a_profile(places):
    with pytest.raises(ValidationError):
        services.grid_update(actor=None, node=places.community_a, version=0, changes={})


def test_a_bad_boundary_is_refused_with_its_reasons(places, people):
    with pytest.raises(ValidationError) as caught:
        services.grid_update(
            actor=people.community_admin,
            node=places.grid_a,
            version=0,
            boundary={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
        )
    assert caught.value.message_dict["boundary"] == ["外环未闭合：首点 (0, 0) 与末点 (0, 1) 不同。"]
    assert not Grid.objects.exists()


def test_a_boundary_caches_centroid_bbox_and_area(places):
    grid = draw(places.grid_a, square(119.0, 25.43))
    assert (grid.centroid_lng, grid.centroid_lat) == pytest.approx((119.005, 25.435))
    assert grid.bbox == pytest.approx([119.0, 25.43, 119.01, 25.44])
    assert 1_100_000 < grid.area_m2 < 1_125_000


def test_a_boundary_in_gcj02_is_stored_in_wgs84(places):
    gcj = geo.to_geojson(
        geo.convert_geometry(geo.parse_boundary(square(119.0, 25.43)), geo.WGS84, geo.GCJ02)
    )
    grid = draw(places.grid_a, gcj, crs=geo.GCJ02)
    stored = geo.from_stored(grid.boundary)
    assert stored.equals_exact(geo.parse_boundary(square(119.0, 25.43)), tolerance=1e-6)


def test_every_boundary_write_changes_the_revision_token(places):
    before = geo.current_token()
    draw(places.grid_a, square(119.0, 25.43))
    middle = geo.current_token()
    services.grid_update(actor=None, node=places.grid_a, version=1, changes={"code": "X"})
    assert before != middle == geo.current_token()  # a code edit leaves the index alone
    services.grid_update(actor=None, node=places.grid_a, version=2, clear_boundary=True)
    assert geo.current_token() != middle
    assert BoundaryRevision.objects.get().changes >= 2


def test_an_overlap_with_a_sibling_is_refused_unless_allowed(places, grid_a2):
    draw(places.grid_a, square(119.0, 25.43))
    overlapping = square(119.005, 25.43)
    with pytest.raises(ValidationError) as caught:
        draw(grid_a2, overlapping)
    messages = caught.value.message_dict["boundary"]
    assert messages[0].startswith("“文献二网格”与“文献一网格”重叠约 ")
    assert "允许重叠" in messages[-1]
    result = services.grid_update(
        actor=None, node=grid_a2, version=0, boundary=overlapping, allow_overlaps=True
    )
    assert result.warnings and "重叠约" in result.warnings[0]
    assert [o.b_name for o in selectors.sibling_overlaps(places.grid_a)] == ["文献二网格"]


def test_grids_of_other_communities_are_not_siblings(places):
    draw(places.grid_a, square(119.0, 25.43))
    draw(places.grid_b, square(119.005, 25.43))  # overlaps grid_a, but in 东梅社区


def test_a_closed_grid_cannot_be_edited(places):
    from tongxin.orgs.services import node_close

    node_close(actor=None, node=places.group_a, version=1, reason="x")
    node_close(actor=None, node=places.grid_a, version=places.grid_a.version, reason="合并")
    with pytest.raises(ConflictError):
        services.grid_update(actor=None, node=places.grid_a, version=0, changes={"code": "Z"})


# ---------------------------------------------------------------------------------------------
# import


def test_an_import_updates_every_named_grid(places, people, grid_a2):
    draw(places.grid_a, square(118.0, 25.0))
    result = services.grid_boundaries_import(
        actor=people.community_admin,
        collection=collection(
            feature(square(119.0, 25.43), node_id=places.grid_a.pk),
            feature(square(119.01, 25.43), node_id=str(grid_a2.pk), name="文献二网格"),
        ),
    )
    assert [n.pk for n in result.grids] == [places.grid_a.pk, grid_a2.pk]
    assert Grid.objects.get(node=places.grid_a).version == 2
    assert geo.locate(119.015, 25.435).grid == grid_a2
    record = AuditRecord.objects.filter(action="grids.boundary.import").latest("id")
    assert record.changes["grids"] == [places.grid_a.pk, grid_a2.pk]


def test_an_import_is_all_or_nothing_with_every_problem_listed(places, people, grid_a2):
    draw(places.grid_a, square(119.0, 25.43))
    before = Grid.objects.get(node=places.grid_a).boundary
    bad = collection(
        feature(square(119.0, 25.431), node_id=places.grid_a.pk),  # fine on its own
        feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, node_id=grid_a2.pk),
        feature(square(119.0, 25.44), code="no-such-code"),
        feature(square(119.0, 25.44), node_id=places.grid_b.pk),  # 东梅: not this admin's
        feature(square(119.0, 25.44)),
        {"type": "Point"},
    )
    with pytest.raises(services.BoundaryImportError) as caught:
        services.grid_boundaries_import(actor=people.community_admin, collection=bad)
    assert [(p.feature, p.message) for p in caught.value.problems] == [
        (2, "外环只有 3 个点，至少需要 4 个（首尾两点相同）。"),
        (3, "找不到该网格，或无权修改其边界。"),
        (4, "找不到该网格，或无权修改其边界。"),
        (5, "属性中须有 node_id（网格编号）或 code（网格编码）。"),
        (6, "不是 GeoJSON Feature。"),
    ]
    assert (
        str(caught.value.problems[1])
        == "第 3 个要素（no-such-code）：找不到该网格，或无权修改其边界。"
    )
    assert caught.value.message_dict["features"][0].startswith("第 2 个要素")
    assert Grid.objects.get(node=places.grid_a).boundary == before
    assert not Grid.objects.filter(node=grid_a2).exists()


def test_an_import_refuses_overlaps_inside_the_file_and_with_stored_siblings(
    places, people, grid_a2
):
    grid_a3 = services_node(places, "文献三网格")
    draw(grid_a3, square(119.02, 25.43))
    file = collection(
        feature(square(119.0, 25.43), node_id=places.grid_a.pk),
        feature(square(119.005, 25.43), node_id=grid_a2.pk),  # overlaps grid_a (same file)
    )
    with pytest.raises(services.BoundaryImportError) as caught:
        services.grid_boundaries_import(actor=people.community_admin, collection=file)
    (problem,) = caught.value.problems
    assert problem.feature == 1 and "与“文献二网格”重叠约" in problem.message

    stored_overlap = collection(feature(square(119.015, 25.43), node_id=grid_a2.pk))
    with pytest.raises(services.BoundaryImportError) as caught:
        services.grid_boundaries_import(actor=people.community_admin, collection=stored_overlap)
    assert "文献三网格" in caught.value.problems[0].message

    result = services.grid_boundaries_import(
        actor=people.community_admin, collection=stored_overlap, allow_overlaps=True
    )
    assert len(result.warnings) == 1


def services_node(places, name):
    from tongxin.orgs.models import Level
    from tongxin.orgs.services import node_create

    return node_create(actor=None, parent=places.community_a, name=name, level=Level.GRID)


def test_an_import_matches_grid_codes_then_node_codes(places, people):
    services.grid_update(actor=None, node=places.grid_a, version=0, changes={"code": "WX-01"})
    places.grid_b.code = "DM-01"
    places.grid_b.save(update_fields=["code"])
    services.grid_boundaries_import(
        actor=people.street_admin,
        collection=collection(
            feature(square(119.0, 25.43), code="WX-01"),
            feature(square(119.0, 25.44), code="DM-01"),
        ),
    )
    assert geo.locate(119.005, 25.435).grid == places.grid_a
    assert geo.locate(119.005, 25.445).grid == places.grid_b
    assert Grid.objects.get(node=places.grid_b).code == "DM-01"


def test_the_same_grid_twice_in_one_file_is_refused(places):
    file = collection(
        feature(square(119.0, 25.43), node_id=places.grid_a.pk),
        feature(square(119.0, 25.43), node_id=places.grid_a.pk),
    )
    with pytest.raises(services.BoundaryImportError) as caught:
        services.grid_boundaries_import(actor=None, collection=file)
    assert caught.value.problems[0].message == "与第 1 个要素是同一网格。"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "Feature"}, "file"),
        ({"type": "FeatureCollection", "features": []}, "file"),
        ([], "file"),
    ],
)
def test_a_file_that_is_not_a_feature_collection_is_refused(places, data, field):
    with pytest.raises(ValidationError) as caught:
        services.grid_boundaries_import(actor=None, collection=data)
    assert field in caught.value.message_dict


# ---------------------------------------------------------------------------------------------
# export round trip


@pytest.mark.parametrize("crs", [geo.WGS84, geo.GCJ02, geo.BD09])
def test_export_then_import_gives_back_the_same_boundaries(places, people, grid_a2, crs):
    draw(places.grid_a, square(119.0, 25.43))
    draw(grid_a2, square(119.01, 25.43))
    exported = selectors.boundaries_geojson(people.community_admin, crs=crs)
    assert [f["id"] for f in exported["features"]] == [places.grid_a.pk, grid_a2.pk]
    assert exported["features"][0]["properties"]["community"] == "文献社区"
    assert (exported.get("coordinate_system") or geo.WGS84) == crs
    before = {g.node_id: geo.from_stored(g.boundary) for g in Grid.objects.all()}
    # The file names its coordinate system, so the import needs no option.
    services.grid_boundaries_import(actor=people.community_admin, collection=exported)
    for grid in Grid.objects.all():
        assert geo.from_stored(grid.boundary).equals_exact(before[grid.node_id], tolerance=1e-6)


def test_export_is_limited_to_what_the_user_sees(places, people):
    draw(places.grid_a, square(119.0, 25.43))
    draw(places.grid_b, square(119.0, 25.44))
    names = lambda user, **kw: [  # noqa: E731
        f["properties"]["name"] for f in selectors.boundaries_geojson(user, **kw)["features"]
    ]
    assert names(people.community_admin_b) == ["东梅一网格"]
    assert names(people.street_admin) == ["文献一网格", "东梅一网格"]
    assert names(people.street_admin, within=places.community_a) == ["文献一网格"]
    assert names(people.sys_admin) == []

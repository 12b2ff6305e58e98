"""Geometry without the database: ring validation, coordinate systems, overlaps."""

from __future__ import annotations

import pytest
from shapely.geometry import Polygon

from tongxin.grids import geo
from tongxin.grids.tests.factories import square

# ---------------------------------------------------------------------------------------------
# ring validation


def problems(data) -> list[str]:
    with pytest.raises(geo.GeometryError) as caught:
        geo.parse_boundary(data)
    return caught.value.messages


def test_a_valid_square_is_accepted_and_oriented_counter_clockwise():
    clockwise = {
        "type": "Polygon",
        "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]],
    }
    geom = geo.parse_boundary(clockwise)
    assert geom.area == 1
    assert geom.exterior.is_ccw


def test_an_unclosed_ring_is_refused_with_both_ends_named():
    (message,) = problems({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})
    assert message == "外环未闭合：首点 (0, 0) 与末点 (0, 1) 不同。"


def test_a_ring_with_too_few_positions_is_refused():
    (message,) = problems({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})
    assert message == "外环只有 3 个点，至少需要 4 个（首尾两点相同）。"


def test_a_self_intersecting_ring_is_refused_with_the_place_in_chinese():
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    (message,) = problems(bow_tie)
    assert message.startswith("边界无效：边界自相交（边与边交叉），位置 0.5, 0.5")
    assert "Self-intersection" in message


def test_every_bad_ring_is_reported_not_only_the_first():
    data = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 1]]],
            [[[5, 5], [6, 5], [5, 5]]],
        ],
    }
    assert problems(data) == [
        "第 1 个多边形的外环未闭合：首点 (0, 0) 与末点 (0, 1) 不同。",
        "第 2 个多边形的外环只有 3 个点，至少需要 4 个（首尾两点相同）。",
    ]


def test_a_hole_outside_its_shell_is_refused():
    data = {
        "type": "Polygon",
        "coordinates": [
            [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]],
            [[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]],
        ],
    }
    (message,) = problems(data)
    assert "内环（挖空部分）位于外环之外" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, "边界须为 GeoJSON 几何对象（Polygon 或 MultiPolygon）。"),
        ({"type": "Point", "coordinates": [1, 2]}, "边界类型须为 Polygon 或 MultiPolygon"),
        ({"type": "Polygon", "coordinates": []}, "多边形没有任何环。"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, "x"], [1, 1], [0, 0]]]},
            "外环第 2 个点不是 [经度, 纬度] 数值对。",
        ),
        (
            {"type": "Polygon", "coordinates": [[[25.4, 190], [1, 0], [1, 1], [25.4, 190]]]},
            "超出经纬度范围（经度在前）",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]},
            "边界无效",
        ),
    ],
)
def test_malformed_geometries_get_a_chinese_reason(data, expected):
    assert expected in problems(data)[0]


def test_geojson_output_round_trips():
    geom = geo.parse_boundary(square(119.0, 25.43))
    assert geo.parse_boundary(geo.to_geojson(geom)).equals(geom)


def test_area_is_in_square_metres():
    # 0.01° × 0.01° at latitude 25.43°: about 1,005 m × 1,106 m.
    area = geo.area_m2(geo.parse_boundary(square(119.0, 25.43)))
    assert 1_100_000 < area < 1_125_000


# ---------------------------------------------------------------------------------------------
# GCJ-02 / BD-09

# Published test points of the widely used open implementation (wgs lng, lat, gcj lng, lat).
KNOWN = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # 上海
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # 深圳
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # 北京
]


@pytest.mark.parametrize(("w_lng", "w_lat", "g_lng", "g_lat"), KNOWN)
def test_wgs84_to_gcj02_matches_known_points(w_lng, w_lat, g_lng, g_lat):
    lng, lat = geo.wgs84_to_gcj02(w_lng, w_lat)
    assert abs(lng - g_lng) < 1e-6 and abs(lat - g_lat) < 1e-6


@pytest.mark.parametrize(("w_lng", "w_lat", "g_lng", "g_lat"), KNOWN)
def test_gcj02_to_wgs84_inverts_within_a_millionth_of_a_degree(w_lng, w_lat, g_lng, g_lat):
    lng, lat = geo.gcj02_to_wgs84(g_lng, g_lat)
    assert abs(lng - w_lng) < 1e-6 and abs(lat - w_lat) < 1e-6


@pytest.mark.parametrize(
    ("lng", "lat"), [(119.0075, 25.4312), (87.6, 43.8), (126.6, 45.75), (109.5, 18.25)]
)
def test_round_trips_through_gcj02_and_bd09(lng, lat):
    for crs in (geo.GCJ02, geo.BD09):
        back = geo.to_wgs84(*geo.from_wgs84(lng, lat, crs), crs)
        assert abs(back[0] - lng) < 1e-6 and abs(back[1] - lat) < 1e-6
    shifted = geo.wgs84_to_gcj02(lng, lat)
    assert 1e-4 < abs(shifted[0] - lng) + abs(shifted[1] - lat) < 1e-2  # hundreds of metres


def test_gcj02_to_bd09_matches_the_published_formula():
    assert geo.gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-9
    )
    assert geo.bd09_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.39762729119315, 39.90865673957631), abs=1e-6
    )


@pytest.mark.parametrize(("lng", "lat"), [(2.3522, 48.8566), (-74.006, 40.7128), (151.2, -33.9)])
def test_points_outside_china_are_unchanged(lng, lat):
    assert geo.wgs84_to_gcj02(lng, lat) == (lng, lat)
    assert geo.gcj02_to_wgs84(lng, lat) == (lng, lat)
    assert geo.to_wgs84(lng, lat, geo.GCJ02) == (lng, lat)


def test_geometries_convert_vertex_by_vertex():
    geom = geo.parse_boundary(square(119.0, 25.43))
    gcj = geo.convert_geometry(geom, geo.WGS84, geo.GCJ02)
    first = gcj.exterior.coords[0]
    assert first == pytest.approx(geo.wgs84_to_gcj02(*geom.exterior.coords[0]), abs=1e-12)
    back = geo.convert_geometry(gcj, geo.GCJ02, geo.WGS84)
    assert back.equals_exact(geom, tolerance=1e-9)


# ---------------------------------------------------------------------------------------------
# overlaps


def test_overlaps_name_both_grids_and_give_the_area():
    a = geo.Shape(1, "文献一网格", geo.parse_boundary(square(119.0, 25.43)))
    b = geo.Shape(2, "文献二网格", geo.parse_boundary(square(119.005, 25.43)))
    (overlap,) = geo.find_overlaps([a], [b])
    assert (overlap.a_name, overlap.b_name) == ("文献一网格", "文献二网格")
    assert overlap.area_m2 == pytest.approx(
        geo.area_m2(
            Polygon([(119.005, 25.43), (119.01, 25.43), (119.01, 25.44), (119.005, 25.44)])
        ),
        rel=1e-3,
    )
    assert overlap.pair_message.startswith("“文献一网格”与“文献二网格”重叠约 ")


def test_grids_sharing_an_edge_or_a_vertex_do_not_overlap():
    a = geo.Shape(1, "甲", geo.parse_boundary(square(119.0, 25.43)))
    edge = geo.Shape(2, "乙", geo.parse_boundary(square(119.01, 25.43)))
    corner = geo.Shape(3, "丙", geo.parse_boundary(square(119.01, 25.44)))
    assert geo.find_overlaps([a], [edge, corner, a]) == []


def test_each_overlapping_pair_is_reported_once():
    a = geo.Shape(1, "甲", geo.parse_boundary(square(119.0, 25.43)))
    b = geo.Shape(2, "乙", geo.parse_boundary(square(119.005, 25.43)))
    assert len(geo.find_overlaps([a, b], [a, b])) == 1

"""Geometry of grids: boundary validation, coordinate systems, overlaps, and point-in-grid.

Coordinate systems (docs/grids.md):
- boundaries are stored in WGS-84 (GPS, Tianditu/CGCS2000 to within centimetres), GeoJSON
  order `[longitude, latitude]`;
- Chinese web maps (AutoNavi/高德, Tencent, Google China) use GCJ-02, an obfuscated offset of
  WGS-84 by a few hundred metres; Baidu uses BD-09, a further offset of GCJ-02. Imports and
  exports convert; points outside China are left unchanged (the offset is only applied inside).

Point-in-grid: each process keeps an STRtree over every grid boundary, tagged with the token of
the `BoundaryRevision` row it was built from. Every boundary write changes that token in its own
transaction, so any worker of any process notices with one primary-key read and rebuilds before
answering. Closed grids stay in the tree but are filtered out at query time (their closure is
an orgs write that does not touch boundaries).

The boundary rule: a point is in a grid when the grid's polygon *covers* it (interior or
boundary). A point on an edge or vertex shared by several grids goes to the open grid with the
smallest id (the grid's OrgNode id, which never changes): deterministic, stable across rebuilds,
and independent of the order rows come back in. A point outside every grid is returned as such;
callers flag it, they never drop it.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext as _
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.strtree import STRtree
from shapely.validation import explain_validity

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"
CRS_CHOICES = (WGS84, GCJ02, BD09)
CRS_LABELS = {WGS84: "WGS-84", GCJ02: "GCJ-02", BD09: "BD-09"}
# As choices, for forms, serializers and the OpenAPI enum name override (GridCrsEnum).
CRS_ENUM = [(crs, CRS_LABELS[crs]) for crs in CRS_CHOICES]

# Intersections smaller than this are digitizing noise along shared edges, not overlaps.
OVERLAP_TOLERANCE_M2 = 1.0
MAX_POSITIONS = 100_000  # per geometry: a grid's boundary, not a coastline

# ---------------------------------------------------------------------------------------------
# GCJ-02 / BD-09 (the public reverse-engineered algorithm; Krasovsky 1940 ellipsoid)

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_INVERSE_STEPS = 30
_INVERSE_EPSILON = 1e-12  # degrees (~0.1 µm): far below any survey's precision


def out_of_china(lng: Any, lat: Any) -> Any:
    """The rough bounding box inside which the GCJ-02 offset is applied (works on arrays)."""
    return (lng < 72.004) | (lng > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_delta(lng: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lng - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlng = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlng = (dlng * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlng, dlat


def _wgs_to_gcj(lng: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlng, dlat = _gcj_delta(lng, lat)
    outside = out_of_china(lng, lat)
    return np.where(outside, lng, lng + dlng), np.where(outside, lat, lat + dlat)


def _invert(
    forward: Any, lng: np.ndarray, lat: np.ndarray, start: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(w) = (lng, lat) for w by fixed-point iteration (the offset is smooth and
    small, so each step shrinks the error by orders of magnitude; 2–4 steps reach 1e-12)."""
    w_lng, w_lat = start
    for _step in range(_INVERSE_STEPS):
        f_lng, f_lat = forward(w_lng, w_lat)
        d_lng, d_lat = lng - f_lng, lat - f_lat
        w_lng, w_lat = w_lng + d_lng, w_lat + d_lat
        if max(
            float(np.max(np.abs(d_lng), initial=0.0)), float(np.max(np.abs(d_lat), initial=0.0))
        ) < (_INVERSE_EPSILON):
            break
    return w_lng, w_lat


def _gcj_to_wgs(lng: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w_lng, w_lat = _invert(_wgs_to_gcj, lng, lat, (lng, lat))
    outside = out_of_china(lng, lat)
    return np.where(outside, lng, w_lng), np.where(outside, lat, w_lat)


def _gcj_to_bd(lng: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(lng * lng + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lng) + 0.000003 * np.cos(lng * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj(lng: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The usual closed-form inverse is only approximate (~1e-6°); refine it by iteration.
    x, y = lng - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _invert(_gcj_to_bd, lng, lat, (z * np.cos(theta), z * np.sin(theta)))


def _to_wgs84_arrays(lng: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    if crs == WGS84:
        return lng, lat
    if crs == GCJ02:
        return _gcj_to_wgs(lng, lat)
    if crs == BD09:
        return _gcj_to_wgs(*_bd_to_gcj(lng, lat))
    raise ValueError(f"unknown coordinate system {crs!r}")


def _from_wgs84_arrays(lng: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    if crs == WGS84:
        return lng, lat
    if crs == GCJ02:
        return _wgs_to_gcj(lng, lat)
    if crs == BD09:
        gcj_lng, gcj_lat = _wgs_to_gcj(lng, lat)
        return _gcj_to_bd(gcj_lng, gcj_lat)
    raise ValueError(f"unknown coordinate system {crs!r}")


def _scalar(fn: Any, lng: float, lat: float, *args: Any) -> tuple[float, float]:
    out_lng, out_lat = fn(np.asarray([lng], dtype=float), np.asarray([lat], dtype=float), *args)
    return float(out_lng[0]), float(out_lat[0])


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    return _scalar(_wgs_to_gcj, lng, lat)


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    return _scalar(_gcj_to_wgs, lng, lat)


def gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    return _scalar(_gcj_to_bd, lng, lat)


def bd09_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    return _scalar(_bd_to_gcj, lng, lat)


def to_wgs84(lng: float, lat: float, crs: str = WGS84) -> tuple[float, float]:
    return _scalar(_to_wgs84_arrays, lng, lat, crs)


def from_wgs84(lng: float, lat: float, crs: str = WGS84) -> tuple[float, float]:
    return _scalar(_from_wgs84_arrays, lng, lat, crs)


def convert_coords(coords: np.ndarray, source: str, target: str) -> np.ndarray:
    """Convert an (n, 2) array of `[lng, lat]` between coordinate systems."""
    if source == target or len(coords) == 0:
        return coords
    lng, lat = coords[:, 0], coords[:, 1]
    if source != WGS84:
        lng, lat = _to_wgs84_arrays(lng, lat, source)
    if target != WGS84:
        lng, lat = _from_wgs84_arrays(lng, lat, target)
    return np.column_stack([lng, lat])


def convert_geometry(geom: BaseGeometry, source: str, target: str) -> BaseGeometry:
    if source == target:
        return geom
    return shapely.transform(geom, lambda coords: convert_coords(coords, source, target))


# ---------------------------------------------------------------------------------------------
# GeoJSON boundaries: parse, validate, write


class GeometryError(Exception):
    """A boundary that cannot be stored; `messages` says every reason found, in Chinese."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


# GEOS's reasons (shapely.validation.explain_validity) as a grid administrator reads them.
_VALIDITY_REASONS = {
    "Self-intersection": "边界自相交（边与边交叉）",
    "Ring Self-intersection": "环自相交（环在某点与自身接触）",
    "Hole lies outside shell": "内环（挖空部分）位于外环之外",
    "Holes are nested": "内环相互嵌套",
    "Interior is disconnected": "内环把多边形分割成了互不相连的部分",
    "Nested shells": "多面体的各部分相互嵌套",
    "Duplicate Rings": "存在重复的环",
    "Too few points in geometry component": "环的有效点数过少",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}
_REASON_AT = re.compile(r"^(?P<reason>[^\[]+)\[(?P<x>[-0-9.eE+]+) (?P<y>[-0-9.eE+]+)\]$")


def explain_invalid(geom: BaseGeometry) -> str:
    """GEOS's reason a geometry is invalid, framed in Chinese with its location."""
    raw = explain_validity(geom)
    match = _REASON_AT.match(raw)
    reason_en = match.group("reason").strip() if match else raw
    reason = _VALIDITY_REASONS.get(reason_en, _("图形无效"))
    if match:
        return _("边界无效：%(reason)s，位置 %(lng)s, %(lat)s（%(raw)s）。") % {
            "reason": reason,
            "lng": _fmt(float(match.group("x"))),
            "lat": _fmt(float(match.group("y"))),
            "raw": raw,
        }
    return _("边界无效：%(reason)s（%(raw)s）。") % {"reason": reason, "raw": raw}


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ring_label(polygon_index: int | None, ring_index: int) -> str:
    ring = _("外环") if ring_index == 0 else _("第 %(n)d 个内环") % {"n": ring_index}
    if polygon_index is None:
        return ring
    return _("第 %(n)d 个多边形的%(ring)s") % {"n": polygon_index + 1, "ring": ring}


def _check_ring(ring: Any, label: str, problems: list[str]) -> list[tuple[float, float]] | None:
    if not isinstance(ring, list):
        problems.append(_("%(ring)s不是坐标数组。") % {"ring": label})
        return None
    points: list[tuple[float, float]] = []
    for index, position in enumerate(ring, start=1):
        if (
            not isinstance(position, list)
            or len(position) not in (2, 3)
            or not all(_is_number(v) for v in position)
        ):
            problems.append(
                _("%(ring)s第 %(n)d 个点不是 [经度, 纬度] 数值对。") % {"ring": label, "n": index}
            )
            return None
        lng, lat = float(position[0]), float(position[1])
        if not (-180.0 <= lng <= 180.0 and -90.0 <= lat <= 90.0):
            problems.append(
                _("%(ring)s第 %(n)d 个点 (%(lng)s, %(lat)s) 超出经纬度范围（经度在前）。")
                % {"ring": label, "n": index, "lng": _fmt(lng), "lat": _fmt(lat)}
            )
            return None
        points.append((lng, lat))
    if len(points) < 4:
        problems.append(
            _("%(ring)s只有 %(n)d 个点，至少需要 4 个（首尾两点相同）。")
            % {"ring": label, "n": len(points)}
        )
        return None
    if points[0] != points[-1]:
        problems.append(
            _("%(ring)s未闭合：首点 (%(a)s) 与末点 (%(b)s) 不同。")
            % {
                "ring": label,
                "a": f"{_fmt(points[0][0])}, {_fmt(points[0][1])}",
                "b": f"{_fmt(points[-1][0])}, {_fmt(points[-1][1])}",
            }
        )
        return None
    return points


def _check_polygon(rings: Any, polygon_index: int | None, problems: list[str]) -> Polygon | None:
    if not isinstance(rings, list) or not rings:
        label = (
            _("多边形")
            if polygon_index is None
            else _("第 %(n)d 个多边形") % {"n": polygon_index + 1}
        )
        problems.append(_("%(what)s没有任何环。") % {"what": label})
        return None
    checked = [
        _check_ring(ring, _ring_label(polygon_index, i), problems) for i, ring in enumerate(rings)
    ]
    if any(ring is None for ring in checked):
        return None
    return Polygon(checked[0], checked[1:])


def parse_boundary(data: Any) -> Polygon | MultiPolygon:
    """A GeoJSON Polygon or MultiPolygon as a valid shapely geometry, shells counter-clockwise.

    Raises GeometryError listing every problem: wrong type, malformed or out-of-range positions,
    rings with fewer than four positions or not closed, and then GEOS validity (self-intersection
    and the like, with the place where it happens).
    """
    if not isinstance(data, dict):
        raise GeometryError([_("边界须为 GeoJSON 几何对象（Polygon 或 MultiPolygon）。")])
    kind = data.get("type")
    coordinates = data.get("coordinates")
    problems: list[str] = []
    if kind == "Polygon":
        polygon = _check_polygon(coordinates, None, problems)
        geom: BaseGeometry | None = polygon
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise GeometryError([_("MultiPolygon 没有任何多边形。")])
        parts = [_check_polygon(rings, i, problems) for i, rings in enumerate(coordinates)]
        geom = None if any(p is None for p in parts) else MultiPolygon(parts)
    else:
        raise GeometryError(
            [_("边界类型须为 Polygon 或 MultiPolygon，收到的是 %(kind)s。") % {"kind": kind}]
        )
    if problems or geom is None:
        raise GeometryError(problems)
    if shapely.get_num_coordinates(geom) > MAX_POSITIONS:
        raise GeometryError([_("边界点数过多（超过 %(n)d 个）。") % {"n": MAX_POSITIONS}])
    if not geom.is_valid:
        raise GeometryError([explain_invalid(geom)])
    if geom.is_empty or geom.area <= 0:
        raise GeometryError([_("边界面积为零。")])
    return normalize(geom)


def normalize(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """Shells counter-clockwise, holes clockwise (RFC 7946 §3.1.6)."""
    if isinstance(geom, Polygon):
        return orient(geom, sign=1.0)
    return MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])


def _ring_coords(ring: Any, digits: int | None) -> list[list[float]]:
    if digits is None:
        return [[float(x), float(y)] for x, y in ring.coords]
    return [[round(float(x), digits), round(float(y), digits)] for x, y in ring.coords]


def _polygon_coords(polygon: Polygon, digits: int | None) -> list[list[list[float]]]:
    return [_ring_coords(polygon.exterior, digits)] + [
        _ring_coords(ring, digits) for ring in polygon.interiors
    ]


def to_geojson(geom: BaseGeometry, *, digits: int | None = None) -> dict[str, Any]:
    """A Polygon/MultiPolygon as a GeoJSON geometry dict (plain lists, JSON-ready)."""
    if isinstance(geom, Polygon):
        return {"type": "Polygon", "coordinates": _polygon_coords(geom, digits)}
    if isinstance(geom, MultiPolygon):
        return {
            "type": "MultiPolygon",
            "coordinates": [_polygon_coords(p, digits) for p in geom.geoms],
        }
    raise TypeError(f"not a polygon: {geom.geom_type}")


def from_stored(boundary: dict[str, Any]) -> BaseGeometry:
    """A stored (already validated) boundary as a shapely geometry."""
    return shapely.geometry.shape(boundary)


def area_m2(geom: BaseGeometry) -> float:
    """Approximate area in square metres (local equirectangular projection: fine at grid scale)."""
    if geom.is_empty:
        return 0.0
    lat0 = math.radians(geom.centroid.y)
    kx = 111_320.0 * math.cos(lat0)
    ky = 110_574.0
    return float(shapely.transform(geom, lambda c: c * np.array([kx, ky])).area)


@dataclass(frozen=True)
class Summary:
    """What is cached next to a boundary so lists and the map never parse polygons."""

    centroid: tuple[float, float]
    bbox: tuple[float, float, float, float]
    area_m2: float


def summarize(geom: BaseGeometry) -> Summary:
    centroid = geom.centroid
    if not geom.covers(centroid):  # a crescent or ring-shaped grid: keep the label inside
        centroid = geom.representative_point()
    min_x, min_y, max_x, max_y = geom.bounds
    return Summary((centroid.x, centroid.y), (min_x, min_y, max_x, max_y), area_m2(geom))


# ---------------------------------------------------------------------------------------------
# overlaps between sibling grids


@dataclass(frozen=True)
class Shape:
    """A grid's geometry with what a report needs to name it."""

    id: int
    name: str
    geom: BaseGeometry


@dataclass(frozen=True)
class Overlap:
    a_id: int
    a_name: str
    b_id: int
    b_name: str
    area_m2: float

    @property
    def message(self) -> str:
        return _("与“%(other)s”重叠约 %(area)s 平方米。") % {
            "other": self.b_name,
            "area": f"{self.area_m2:,.0f}" if self.area_m2 >= 10 else f"{self.area_m2:.1f}",
        }

    @property
    def pair_message(self) -> str:
        return _("“%(a)s”与“%(b)s”重叠约 %(area)s 平方米。") % {
            "a": self.a_name,
            "b": self.b_name,
            "area": f"{self.area_m2:,.0f}" if self.area_m2 >= 10 else f"{self.area_m2:.1f}",
        }


def find_overlaps(
    subjects: Sequence[Shape],
    others: Sequence[Shape],
    *,
    tolerance_m2: float = OVERLAP_TOLERANCE_M2,
) -> list[Overlap]:
    """Every pair (subject, other) whose areas overlap by more than the tolerance.

    Shared edges and vertices have zero area and are not overlaps. A pair is reported once even
    when both of its grids are among the subjects; a shape is never compared with itself.
    """
    if not subjects or not others:
        return []
    tree = STRtree([o.geom for o in others])
    seen: set[frozenset[int]] = set()
    found: list[Overlap] = []
    for subject in subjects:
        for index in tree.query(subject.geom, predicate="intersects"):
            other = others[int(index)]
            pair = frozenset((subject.id, other.id))
            if other.id == subject.id or pair in seen:
                continue
            seen.add(pair)
            shared = subject.geom.intersection(other.geom)
            area = area_m2(shared)
            if area > tolerance_m2:
                found.append(Overlap(subject.id, subject.name, other.id, other.name, area))
    return found


# ---------------------------------------------------------------------------------------------
# the process-wide point-in-grid index

REVISION_PK = 1


@dataclass(frozen=True)
class _Index:
    token: str
    ids: np.ndarray  # node id of each tree geometry
    geoms: tuple[BaseGeometry, ...]
    tree: STRtree | None

    @property
    def empty(self) -> bool:
        return self.tree is None


_lock = threading.Lock()
_index: _Index | None = None


def current_token() -> str:
    from tongxin.grids.models import BoundaryRevision

    token = BoundaryRevision.objects.filter(pk=REVISION_PK).values_list("token", flat=True).first()
    return token or ""


def _build(token: str) -> _Index:
    from tongxin.grids.models import Grid

    rows = list(
        Grid.objects.filter(boundary__isnull=False)
        .order_by("node_id")
        .values_list("node_id", "boundary")
    )
    ids: list[int] = []
    geoms: list[BaseGeometry] = []
    for node_id, boundary in rows:
        try:
            geom = from_stored(boundary)
        except Exception:  # noqa: S112 - one corrupt row must not take the index down
            continue
        # Not `shapely.prepare`d: STRtree.query prepares the *input* geometry for the predicate,
        # and unprepared shared geometries keep the tree safe for concurrent threads.
        ids.append(node_id)
        geoms.append(geom)
    return _Index(
        token=token,
        ids=np.asarray(ids, dtype=np.int64),
        geoms=tuple(geoms),
        tree=STRtree(geoms) if geoms else None,
    )


def grid_index() -> _Index:
    """The index, rebuilt first when a boundary changed anywhere since it was built."""
    global _index
    token = current_token()
    index = _index
    if index is not None and index.token == token:
        return index
    with _lock:
        index = _index
        if index is None or index.token != token:
            # The token is read before the rows: a write committed in between makes the rows
            # newer than the token, which only costs one extra rebuild on the next call.
            index = _build(token)
            _index = index
    return index


def forget_index() -> None:
    """Drop this process's index (tests; the token check makes it unnecessary otherwise)."""
    global _index
    with _lock:
        _index = None


@dataclass(frozen=True)
class LocateResult:
    """Where a point is. `grid` is None when the point lies outside every open grid."""

    grid: Any  # OrgNode | None, with `parent` (the community) loaded
    on_boundary: bool
    lng: float  # WGS-84
    lat: float
    candidates: tuple[int, ...] = field(default=())  # every open grid covering the point

    @property
    def outside(self) -> bool:
        return self.grid is None

    @property
    def grid_id(self) -> int | None:
        return self.grid.pk if self.grid is not None else None


def _check_point(lng: Any, lat: Any) -> tuple[float, float]:
    if not (_is_number(lng) and _is_number(lat)):
        raise ValueError("longitude and latitude must be finite numbers")
    if not (-180.0 <= lng <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError("longitude or latitude out of range")
    return float(lng), float(lat)


def locate(lng: float, lat: float, *, crs: str = WGS84) -> LocateResult:
    """The grid containing the point (two queries: the revision token, the candidate grids).

    `crs` says what the coordinates are in (wgs84, gcj02 or bd09). On a shared edge or vertex
    the open grid with the smallest id wins and `on_boundary` is True; outside every grid,
    `grid` is None. Raises ValueError for non-numeric or out-of-range coordinates.
    """
    from tongxin.orgs.models import Level, OrgNode

    lng, lat = _check_point(lng, lat)
    lng, lat = to_wgs84(lng, lat, crs)
    index = grid_index()
    if index.empty:
        return LocateResult(None, False, lng, lat)
    point = Point(lng, lat)
    hits = index.tree.query(point, predicate="covered_by")
    if len(hits) == 0:
        return LocateResult(None, False, lng, lat)
    geom_by_id = {int(index.ids[i]): index.geoms[int(i)] for i in hits}
    open_grids = list(
        OrgNode.objects.filter(pk__in=sorted(geom_by_id), level=Level.GRID, closed_at__isnull=True)
        .select_related("parent")
        .order_by("pk")
    )
    if not open_grids:
        return LocateResult(None, False, lng, lat)
    chosen = open_grids[0]
    on_boundary = bool(geom_by_id[chosen.pk].boundary.distance(point) == 0)
    return LocateResult(chosen, on_boundary, lng, lat, tuple(g.pk for g in open_grids))


def locate_many_array(
    points: Iterable[Sequence[float]] | np.ndarray, *, crs: str = WGS84
) -> np.ndarray:
    """Grid ids for many points at once: an int64 array, 0 where a point is outside every grid.

    Same rule as `locate` (covers; smallest open id on shared edges), vectorized: one STRtree
    query for all points, one query for which candidate grids are open.
    """
    from tongxin.orgs.models import Level, OrgNode

    coords = np.asarray(points, dtype=float).reshape(-1, 2)
    result = np.zeros(len(coords), dtype=np.int64)
    if len(coords) == 0:
        return result
    coords = convert_coords(coords, crs, WGS84)
    index = grid_index()
    if index.empty:
        return result
    inputs, tree_indices = index.tree.query(shapely.points(coords), predicate="covered_by")
    if len(inputs) == 0:
        return result
    node_ids = index.ids[tree_indices]
    unique_ids = np.unique(node_ids)
    open_ids = np.fromiter(
        OrgNode.objects.filter(
            pk__in=unique_ids.tolist(), level=Level.GRID, closed_at__isnull=True
        ).values_list("pk", flat=True),
        dtype=np.int64,
    )
    keep = np.isin(node_ids, open_ids)
    inputs, node_ids = inputs[keep], node_ids[keep]
    if len(inputs) == 0:
        return result
    # Smallest id per point: sort by (point, id) and take each point's first row.
    order = np.lexsort((node_ids, inputs))
    inputs, node_ids = inputs[order], node_ids[order]
    first = np.concatenate(([True], inputs[1:] != inputs[:-1]))
    result[inputs[first]] = node_ids[first]
    return result


def locate_many(
    points: Iterable[Sequence[float]] | np.ndarray, *, crs: str = WGS84
) -> list[int | None]:
    """`locate_many_array` as a list of grid ids, None for points outside every grid."""
    return [int(v) if v else None for v in locate_many_array(points, crs=crs)]

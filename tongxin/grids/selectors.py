"""Reads of grids and visits, always scoped to what the user may see.

A grid is scoped by its OrgNode's path, exactly like the organization tree: `visible_grids(user)`
is the user's business-role subtrees filtered to grid nodes. Figures (households, population,
members, buildings, party groups, managers) are correlated COUNT subqueries on the node
queryset, so a page of grids is one query however long the page, and "only grids with warnings"
is a WHERE clause, not a Python loop.

Counting rules (from the people app's records):
- households: `Household` rows whose node is the grid;
- population: current residents (not moved out) of those households, plus current residents
  without a household whose person is registered at the grid;
- members: party members in good standing (status normal) whose active branch is the grid, plus
  those without a branch whose person is registered at the grid;
- grid managers: users with the `grid_manager` role at the grid node ("一格一员");
- grid branch: the node's territorial party organization; party groups: its open child nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role, RoleAssignment
from tongxin.core.scoping import scope_paths, subtree_q
from tongxin.grids import geo
from tongxin.grids.models import (
    DEFAULT_HOUSEHOLDS_MAX,
    DEFAULT_HOUSEHOLDS_MIN,
    DEFAULT_POPULATION_MAX,
    DEFAULT_POPULATION_MIN,
    FollowUp,
    FollowUpStatus,
    Grid,
    Visit,
    VisitNeed,
)
from tongxin.grids.rules import (
    GRID_EDIT_ROLES,
    GRID_VIEW_ROLES,
    VISIT_RECORD_ROLES,
    can,
    serving_paths,
)
from tongxin.orgs.models import Level, OrgNode
from tongxin.orgs.selectors import territorial_org, with_territorial_org
from tongxin.people.models import Building, Household, MemberStatus, PartyMember, Resident

# ---------------------------------------------------------------------------------------------
# helpers


def _get_or_404(queryset: QuerySet, pk: Any) -> Any:
    try:
        found = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Http404
    return found


def _count(queryset: QuerySet, outer_field: str) -> Coalesce:
    """A correlated COUNT(*) that stays one query whatever the page size (no join fan-out)."""
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def profile_of(node: OrgNode) -> Grid:
    """The node's grid profile; an unsaved one with the default norms and version 0 if none.

    Version 0 is what a client sends back to create the profile with its first edit.
    """
    try:
        return node.grid_profile
    except Grid.DoesNotExist:
        profile = Grid(node=node, code=node.code)
        profile.version = 0
        return profile


# ---------------------------------------------------------------------------------------------
# grids


def grid_scope_paths(user: Any) -> list[str]:
    return scope_paths(user, GRID_VIEW_ROLES)


def visible_grids(user: Any, *, include_closed: bool = False) -> QuerySet[OrgNode]:
    """Grid nodes in the subtrees where the user holds a business role."""
    queryset = OrgNode.objects.filter(subtree_q(grid_scope_paths(user)), level=Level.GRID)
    if not include_closed:
        queryset = queryset.filter(closed_at__isnull=True)
    return queryset


def get_grid_for_user(user: Any, pk: Any, *, write: bool = False) -> OrgNode:
    """The grid node (with community and profile loaded): 404 outside scope, 403 for `write`
    without the right to edit it."""
    node = _get_or_404(
        visible_grids(user, include_closed=True).select_related("parent", "grid_profile"), pk
    )
    if write and not can(user, "grids.change_grid", node):
        raise PermissionDenied
    return node


def get_scope_node_for_user(user: Any, pk: Any) -> OrgNode:
    """Any node the user sees (the root of a map, an export, a list filter); 404 otherwise."""
    queryset = OrgNode.objects.filter(subtree_q(grid_scope_paths(user)))
    return _get_or_404(queryset, pk)


def scope_roots(user: Any) -> list[OrgNode]:
    return list(OrgNode.objects.filter(path__in=grid_scope_paths(user)).order_by("path"))


def community_choices(user: Any) -> QuerySet[OrgNode]:
    """Open communities and streets the user sees: the "where" filter of lists and the map."""
    return (
        OrgNode.objects.filter(
            subtree_q(grid_scope_paths(user)),
            level__in=[Level.DISTRICT, Level.STREET, Level.COMMUNITY],
            closed_at__isnull=True,
        )
        .select_related("parent")
        .order_by("path")
    )


def editable_scope_nodes(user: Any) -> QuerySet[OrgNode]:
    """Nodes under which the user may edit grids (for the upload page's hint)."""
    return OrgNode.objects.filter(
        subtree_q(scope_paths(user, GRID_EDIT_ROLES)), closed_at__isnull=True
    )


def _people_figures() -> dict[str, Any]:
    current = Resident.objects.filter(moved_out_on__isnull=True)
    active = PartyMember.objects.filter(status=MemberStatus.NORMAL)
    return {
        "n_households": _count(Household.objects.all(), "node_id"),
        "n_population": _count(current.filter(household__isnull=False), "household__node_id")
        + _count(current.filter(household__isnull=True), "person__node_id"),
        "n_members": _count(active.filter(branch__isnull=False), "branch_id")
        + _count(active.filter(branch__isnull=True), "person__node_id"),
        "n_buildings": _count(Building.objects.all(), "node_id"),
    }


def with_figures(queryset: QuerySet[OrgNode]) -> QuerySet[OrgNode]:
    """Annotate figures (`n_*`: OrgNode already has `households`, `buildings` relations) and
    effective norms (profile values, else the seed 004 defaults)."""
    return queryset.annotate(
        **_people_figures(),
        n_groups=_count(
            OrgNode.objects.filter(level=Level.GROUP, closed_at__isnull=True), "parent_id"
        ),
        n_managers=_count(
            RoleAssignment.objects.filter(role=Role.GRID_MANAGER, user__is_active=True), "node_id"
        ),
        hh_min=Coalesce(F("grid_profile__households_min"), Value(DEFAULT_HOUSEHOLDS_MIN)),
        hh_max=Coalesce(F("grid_profile__households_max"), Value(DEFAULT_HOUSEHOLDS_MAX)),
        pop_min=Coalesce(F("grid_profile__population_min"), Value(DEFAULT_POPULATION_MIN)),
        pop_max=Coalesce(F("grid_profile__population_max"), Value(DEFAULT_POPULATION_MAX)),
    )


def warning_q() -> Q:
    """Grids that need attention: outside a norm, without a manager, or without a boundary."""
    return (
        Q(n_households__lt=F("hh_min"))
        | Q(n_households__gt=F("hh_max"))
        | Q(n_population__lt=F("pop_min"))
        | Q(n_population__gt=F("pop_max"))
        | Q(n_managers=0)
        | Q(grid_profile__isnull=True)
        | Q(grid_profile__boundary__isnull=True)
    )


def with_managers(queryset: QuerySet[OrgNode]) -> QuerySet[OrgNode]:
    """Prefetch each grid's managers into `manager_assignments` (one query)."""
    return queryset.prefetch_related(
        Prefetch(
            "assignments",
            queryset=RoleAssignment.objects.filter(role=Role.GRID_MANAGER, user__is_active=True)
            .select_related("user")
            .order_by("granted_at", "id"),
            to_attr="manager_assignments",
        )
    )


def managers_of(node: OrgNode) -> list[Any]:
    prefetched = getattr(node, "manager_assignments", None)
    if prefetched is None:
        prefetched = list(
            RoleAssignment.objects.filter(
                node=node, role=Role.GRID_MANAGER, user__is_active=True
            ).select_related("user")
        )
    return [a.user for a in prefetched]


@dataclass(frozen=True)
class Figures:
    households: int
    population: int
    members: int
    buildings: int
    groups: int
    managers: int
    hh_min: int
    hh_max: int
    pop_min: int
    pop_max: int


# Figures field → the annotation holding it.
FIGURE_ANNOTATIONS = {
    "households": "n_households",
    "population": "n_population",
    "members": "n_members",
    "buildings": "n_buildings",
    "groups": "n_groups",
    "managers": "n_managers",
    "hh_min": "hh_min",
    "hh_max": "hh_max",
    "pop_min": "pop_min",
    "pop_max": "pop_max",
}


def figures_of(node: OrgNode) -> Figures:
    """Figures of a node annotated by `with_figures`."""
    return Figures(**{name: getattr(node, ann) for name, ann in FIGURE_ANNOTATIONS.items()})


def figures_for(ids: list[int]) -> dict[int, Figures]:
    """Figures of many grids in one query (for map measures)."""
    rows = with_figures(OrgNode.objects.filter(pk__in=ids)).values(
        "pk", *FIGURE_ANNOTATIONS.values()
    )
    return {
        row["pk"]: Figures(**{name: row[ann] for name, ann in FIGURE_ANNOTATIONS.items()})
        for row in rows
    }


def _norm_warning(label: str, unit: str, value: int, low: int, high: int) -> str:
    values = {"what": label, "n": value, "unit": unit, "low": low, "high": high}
    if value < low:
        return _("%(what)s %(n)d %(unit)s，少于常规规模 %(low)d–%(high)d %(unit)s。") % values
    if value > high:
        return _("%(what)s %(n)d %(unit)s，多于常规规模 %(low)d–%(high)d %(unit)s。") % values
    return ""


def grid_warnings(node: OrgNode) -> list[str]:
    """What needs attention on a grid annotated by `with_figures` (no query)."""
    warnings = []
    profile = profile_of(node)
    if node.n_managers == 0:
        warnings.append(_("尚未配备网格员（一格一员）。"))
    if profile.boundary is None:
        warnings.append(_("尚未绘制网格边界。"))
    if node.n_households == 0:
        warnings.append(_("尚未登记住户。"))
    else:
        warnings.append(
            _norm_warning(_("住户"), _("户"), node.n_households, node.hh_min, node.hh_max)
        )
        warnings.append(
            _norm_warning(_("人口"), _("人"), node.n_population, node.pop_min, node.pop_max)
        )
    return [w for w in warnings if w]


def grid_list(
    user: Any,
    *,
    within: OrgNode | None = None,
    search: str = "",
    warnings_only: bool = False,
    include_closed: bool = False,
) -> QuerySet[OrgNode]:
    """Visible grids with figures, profile, community, branch and managers (fixed queries)."""
    queryset = visible_grids(user, include_closed=include_closed)
    if within is not None:
        queryset = queryset.filter(path__startswith=within.path)
    term = search.strip()
    if term:
        queryset = queryset.filter(
            Q(name__icontains=term) | Q(grid_profile__code__iexact=term) | Q(code__iexact=term)
        )
    queryset = with_figures(queryset)
    if warnings_only:
        queryset = queryset.filter(warning_q())
    return with_managers(
        with_territorial_org(queryset.select_related("parent", "grid_profile"))
    ).order_by("path")


def with_details(queryset: QuerySet[OrgNode]) -> QuerySet[OrgNode]:
    return with_managers(
        with_territorial_org(with_figures(queryset).select_related("parent", "grid_profile"))
    )


def grid_with_details(node: OrgNode) -> OrgNode:
    """The same node re-read with figures, managers and branch (for a detail page or card)."""
    return with_details(OrgNode.objects.filter(pk=node.pk)).get()


def party_groups(node: OrgNode) -> QuerySet[OrgNode]:
    return OrgNode.objects.filter(parent=node, level=Level.GROUP, closed_at__isnull=True).order_by(
        "path"
    )


def grid_buildings(node: OrgNode) -> QuerySet[Building]:
    return (
        Building.objects.filter(node=node)
        .annotate(household_count=_count(Household.objects.all(), "building_id"))
        .order_by("name", "id")
    )


@dataclass
class GridCard:
    node: OrgNode
    profile: Grid
    figures: Figures
    managers: list[Any]
    branch: Any
    warnings: list[str] = field(default_factory=list)


def grid_card(node: OrgNode) -> GridCard:
    node = grid_with_details(node)
    return GridCard(
        node=node,
        profile=profile_of(node),
        figures=figures_of(node),
        managers=managers_of(node),
        branch=territorial_org(node),
        warnings=grid_warnings(node),
    )


def sibling_shapes(parent_ids: list[int], *, exclude: set[int] | None = None) -> list[geo.Shape]:
    """Stored boundaries of the open grids under the given communities."""
    rows = (
        Grid.objects.filter(
            node__parent_id__in=parent_ids,
            node__level=Level.GRID,
            node__closed_at__isnull=True,
            boundary__isnull=False,
        )
        .select_related("node")
        .order_by("node_id")
    )
    exclude = exclude or set()
    return [
        geo.Shape(g.node_id, g.node.name, geo.from_stored(g.boundary))
        for g in rows
        if g.node_id not in exclude
    ]


def sibling_overlaps(node: OrgNode) -> list[geo.Overlap]:
    """Overlaps between this grid's stored boundary and its siblings' (reported on its page)."""
    profile = profile_of(node)
    if profile.boundary is None or node.parent_id is None:
        return []
    mine = geo.Shape(node.pk, node.name, geo.from_stored(profile.boundary))
    return geo.find_overlaps([mine], sibling_shapes([node.parent_id], exclude={node.pk}))


# ---------------------------------------------------------------------------------------------
# GeoJSON export and the map


def _grid_properties(node: OrgNode, profile: Grid) -> dict[str, Any]:
    community = node.parent
    return {
        "node_id": node.pk,
        "code": profile.code,
        "name": node.name,
        "community": community.name if community else "",
        "community_id": community.pk if community else None,
        "households_min": profile.households_min,
        "households_max": profile.households_max,
        "population_min": profile.population_min,
        "population_max": profile.population_max,
        "area_m2": round(profile.area_m2) if profile.area_m2 is not None else None,
    }


def _drawn_grids(user: Any, within: OrgNode | None) -> QuerySet[OrgNode]:
    queryset = visible_grids(user).filter(
        grid_profile__isnull=False, grid_profile__boundary__isnull=False
    )
    if within is not None:
        queryset = queryset.filter(path__startswith=within.path)
    return queryset.select_related("parent", "grid_profile").order_by("path")


def boundaries_geojson(
    user: Any, *, within: OrgNode | None = None, crs: str = geo.WGS84, digits: int = 7
) -> dict[str, Any]:
    """A FeatureCollection of the visible grids' boundaries (two queries).

    WGS-84 is GeoJSON's own system (RFC 7946); any other is named in a foreign member
    `coordinate_system`, which the import reads back, so export → import round-trips.
    """
    features = []
    for node in _drawn_grids(user, within):
        profile = node.grid_profile
        geom = geo.convert_geometry(geo.from_stored(profile.boundary), geo.WGS84, crs)
        features.append(
            {
                "type": "Feature",
                "id": node.pk,
                "geometry": geo.to_geojson(geom, digits=digits),
                "properties": _grid_properties(node, profile),
            }
        )
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs != geo.WGS84:
        collection["coordinate_system"] = crs
    return collection


@dataclass
class MapData:
    features: list[dict[str, Any]]
    undrawn: int
    bounds: list[float] | None


def map_data(user: Any, *, within: OrgNode | None = None, crs: str = geo.WGS84) -> MapData:
    """Features for the map page (coordinates in the base map's system) and how many grids in
    scope have no boundary yet (three queries)."""
    features = []
    min_x = min_y = float("inf")
    max_x = max_y = float("-inf")
    for node in _drawn_grids(user, within):
        profile = node.grid_profile
        geom = geo.convert_geometry(geo.from_stored(profile.boundary), geo.WGS84, crs)
        bx0, by0, bx1, by1 = geom.bounds
        min_x, min_y, max_x, max_y = (
            min(min_x, bx0),
            min(min_y, by0),
            max(max_x, bx1),
            max(max_y, by1),
        )
        features.append(
            {
                "type": "Feature",
                "id": node.pk,
                "geometry": geo.to_geojson(geom, digits=7),
                "properties": {
                    "id": node.pk,
                    "name": node.name,
                    "community": node.parent.name if node.parent else "",
                },
            }
        )
    scope = visible_grids(user)
    if within is not None:
        scope = scope.filter(path__startswith=within.path)
    undrawn = scope.filter(
        Q(grid_profile__isnull=True) | Q(grid_profile__boundary__isnull=True)
    ).count()
    bounds = [min_x, min_y, max_x, max_y] if features else None
    return MapData(features=features, undrawn=undrawn, bounds=bounds)


def map_grid_ids(user: Any, within: OrgNode | None = None) -> list[int]:
    queryset = visible_grids(user)
    if within is not None:
        queryset = queryset.filter(path__startswith=within.path)
    return list(queryset.values_list("pk", flat=True))


# ---------------------------------------------------------------------------------------------
# visits and follow-ups


def visit_scope_q(user: Any, prefix: str = "") -> Q:
    """Visits the user may read: in the serving community, or their own where they still visit."""
    own = Q(pk__in=[])
    if user is not None and user.is_authenticated and user.pk is not None:
        own = Q(**{f"{prefix}visitor_id": user.pk}) & subtree_q(
            scope_paths(user, VISIT_RECORD_ROLES), f"{prefix}node__path"
        )
    return subtree_q(serving_paths(user), f"{prefix}node__path") | own


def visible_visits(user: Any) -> QuerySet[Visit]:
    return Visit.objects.filter(visit_scope_q(user))


def visit_list(
    user: Any,
    *,
    mine: bool = False,
    grid: OrgNode | None = None,
    household: Household | None = None,
    search: str = "",
) -> QuerySet[Visit]:
    """Visits with household, grid and visitor, and their need / open follow-up counts."""
    queryset = visible_visits(user)
    if mine:
        queryset = queryset.filter(visitor_id=user.pk)
    if grid is not None:
        queryset = queryset.filter(node__path__startswith=grid.path)
    if household is not None:
        queryset = queryset.filter(household=household)
    term = search.strip()
    if term:
        queryset = queryset.filter(
            Q(summary__icontains=term)
            | Q(household__door__icontains=term)
            | Q(household__building__name__icontains=term)
            | Q(needs__description__icontains=term)
        ).distinct()
    return (
        queryset.select_related("household__building", "node__parent", "visitor")
        .annotate(
            need_count=_count(VisitNeed.objects.all(), "visit_id"),
            open_follow_ups=_count(FollowUp.objects.filter(status=FollowUpStatus.OPEN), "visit_id"),
        )
        .order_by("-visited_on", "-id")
    )


def get_visit_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "grids.change_visit"
) -> Visit:
    visit = _get_or_404(
        visible_visits(user).select_related("household__building", "node__parent", "visitor"), pk
    )
    if write and not can(user, perm, visit):
        raise PermissionDenied
    return visit


def visit_detail(visit: Visit) -> tuple[list[Any], list[FollowUp]]:
    needs = list(visit.needs.order_by("id"))
    follow_ups = list(
        visit.follow_ups.select_related("need", "done_by").order_by("status", "due_on", "id")
    )
    return needs, follow_ups


def visible_follow_ups(user: Any) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(visit_scope_q(user, "visit__"))


def follow_up_list(
    user: Any,
    *,
    status: str | None = FollowUpStatus.OPEN,
    mine: bool = False,
    grid: OrgNode | None = None,
) -> QuerySet[FollowUp]:
    """Follow-ups, the most urgent first (overdue, then by due date; no date last)."""
    queryset = visible_follow_ups(user)
    if status:
        queryset = queryset.filter(status=status)
    if mine:
        queryset = queryset.filter(visit__visitor_id=user.pk)
    if grid is not None:
        queryset = queryset.filter(visit__node__path__startswith=grid.path)
    return queryset.select_related(
        "visit__household__building", "visit__node", "visit__visitor", "need", "done_by"
    ).order_by(F("due_on").asc(nulls_last=True), "id")


def get_follow_up_for_user(user: Any, pk: Any, *, write: bool = False) -> FollowUp:
    follow_up = _get_or_404(
        visible_follow_ups(user).select_related("visit__node", "visit__household__building"), pk
    )
    if write and not can(user, "grids.change_followup", follow_up):
        raise PermissionDenied
    return follow_up


def visit_households(
    user: Any, *, grid: OrgNode | None = None, search: str = ""
) -> QuerySet[Household]:
    """Households the user may record a visit at (their visiting grids)."""
    queryset = Household.objects.filter(
        subtree_q(scope_paths(user, VISIT_RECORD_ROLES), "node__path")
    )
    if grid is not None:
        queryset = queryset.filter(node__path__startswith=grid.path)
    term = search.strip()
    if term:
        queryset = queryset.filter(
            Q(door__icontains=term) | Q(address__icontains=term) | Q(building__name__icontains=term)
        )
    return queryset.select_related("building", "node").order_by(
        "node__path", "building__name", "door", "id"
    )


def get_household_for_visit(user: Any, pk: Any) -> Household:
    return _get_or_404(visit_households(user), pk)


def visit_counts(user: Any) -> dict[str, int]:
    """For the visit page's header: my visits this month and open follow-ups I can work."""
    today = timezone.localdate()
    month_start = today.replace(day=1)
    mine = visible_visits(user).filter(visitor_id=user.pk, visited_on__gte=month_start).count()
    follow_ups = visible_follow_ups(user).filter(status=FollowUpStatus.OPEN)
    return {
        "visits_this_month": mine,
        "open_follow_ups": follow_ups.count(),
        "overdue_follow_ups": follow_ups.filter(due_on__lt=today).count(),
    }

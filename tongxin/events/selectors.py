"""Reads of events, always scoped to what the user may see (ARCHITECTURE.md 3).

`visible_events(user)` is the one answer to "which events may this user see":
- district / street / community admins and grid managers: events whose grid (or, outside every
  grid, community) lies in the subtree of a node they hold that role at;
- department staff: events whistled to their department by a street their assignment covers;
- everyone: the events they reported themselves.
`get_event_for_user(user, pk, write=...)` fetches one: 404 outside that set, 403 for `write`
when the user has no move on it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.scoping import scope_paths, subtree_q
from tongxin.events import conf
from tongxin.events.models import (
    OPEN_STATES,
    AssignmentState,
    Category,
    Department,
    DepartmentAssignment,
    DepartmentStation,
    Event,
    EventTransition,
    HandlingLevel,
    State,
)
from tongxin.events.rules import (
    REPORTING_ROLES,
    can,
    department_ids,
    department_paths,
    staff_paths,
)
from tongxin.orgs.models import Level, OrgNode

EARTH_RADIUS_M = 6_371_008.8

# ---------------------------------------------------------------------------------------------
# scope


def _nodes_in(paths: Iterable[str]) -> QuerySet[OrgNode]:
    return OrgNode.objects.filter(subtree_q(paths)).values("pk")


def _under(paths: Iterable[str]) -> Q:
    """Events whose node lies in one of the subtrees, as a correlated EXISTS.

    Lists use this, not `node__in=_nodes_in(paths)`: an IN is indexable, so SQLite ORs the
    reporter and node indexes together and sorts the user's whole scope for every page (2 s
    for the district at a million events); with EXISTS it walks the created_at index newest
    first and stops when the page is full (bench/bench_events.py). Aggregates keep the IN.
    """
    return Q(Exists(OrgNode.objects.filter(subtree_q(paths), pk=OuterRef("node_id"))))


def _department_q(user: Any) -> Q | None:
    ids = department_ids(user)
    paths = department_paths(user)
    if not ids or not paths:
        return None
    whistled = DepartmentAssignment.objects.filter(
        subtree_q(paths, "street__path"), event=OuterRef("pk"), department_id__in=ids
    )
    return Q(Exists(whistled))


def visible_events(user: Any) -> QuerySet[Event]:
    """Every event the user may see (see the module docstring); none for anonymous users."""
    if user is None or not user.is_authenticated:
        return Event.objects.none()
    query = Q(reporter=user)
    paths = staff_paths(user)
    if paths:
        query |= _under(paths)
    departments = _department_q(user)
    if departments is not None:
        query |= departments
    return Event.objects.filter(query)


def _get_or_404(queryset: QuerySet, pk: Any) -> Any:
    try:
        found = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Http404
    return found


# The related rows the detail page, the API detail and the move rules read.
DETAIL_PREFETCH = (
    Prefetch(
        "assignments",
        queryset=DepartmentAssignment.objects.select_related(
            "department", "street", "acknowledged_by", "handled_by"
        ),
    ),
    Prefetch(
        "transitions",
        queryset=EventTransition.objects.select_related("actor").order_by("at", "id"),
    ),
    "photos",
)


def with_detail(queryset: QuerySet[Event]) -> QuerySet[Event]:
    """Everything the detail page, the API detail and the move rules read, in a fixed set."""
    return queryset.select_related(
        "category__parent",
        "node",
        "handling_node",
        "reporter",
        "duplicate_of",
    ).prefetch_related(*DETAIL_PREFETCH)


def get_event_for_user(user: Any, pk: Any, *, write: bool = False) -> Event:
    """The event, or 404 outside the user's scope; 403 for `write` when they have no move on it."""
    event = _get_or_404(with_detail(visible_events(user)), pk)
    if write and not can(user, "events.act_on_event", event):
        raise PermissionDenied
    return event


# ---------------------------------------------------------------------------------------------
# lists


@dataclass(frozen=True)
class EventFilters:
    category: Category | None = None
    state: str | None = None
    level: str | None = None
    source: str | None = None
    overdue: bool = False
    open_only: bool = False
    node: OrgNode | None = None
    query: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


def overdue_q(now: dt.datetime | None = None) -> Q:
    """Open events whose current deadline has passed."""
    return Q(state__in=list(OPEN_STATES), deadline__lt=now or timezone.now())


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def apply_filters(queryset: QuerySet[Event], filters: EventFilters) -> QuerySet[Event]:
    if filters.category is not None:
        family = Q(category=filters.category) | Q(category__parent=filters.category)
        queryset = queryset.filter(family)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.level:
        queryset = queryset.filter(level=filters.level)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.overdue:
        queryset = queryset.filter(overdue_q())
    if filters.open_only:
        queryset = queryset.filter(state__in=list(OPEN_STATES))
    if filters.node is not None:
        queryset = queryset.filter(_under([filters.node.path]))
    if filters.query:
        term = filters.query.strip()[:50]
        queryset = queryset.filter(Q(description__icontains=term) | Q(address__icontains=term))
    if filters.since:
        queryset = queryset.filter(created_at__gte=_day_start(filters.since))
    if filters.until:
        queryset = queryset.filter(created_at__lt=_day_start(filters.until + dt.timedelta(days=1)))
    return queryset


def event_list(user: Any, filters: EventFilters | None = None) -> QuerySet[Event]:
    """The user's events, filtered, newest first; a page of it is one query (plus the count)."""
    queryset = apply_filters(visible_events(user), filters or EventFilters())
    return queryset.select_related(
        "category__parent", "node", "handling_node", "reporter"
    ).order_by("-created_at", "-id")


def my_grid_events(user: Any) -> QuerySet[Event]:
    """For a grid manager's phone: open events of their grid(s) and their own open reports."""
    grids = scope_paths(user, {Role.GRID_MANAGER})
    query = Q(reporter=user)
    if grids:
        query |= Q(node__in=_nodes_in(grids))
    return (
        Event.objects.filter(query)
        .filter(state__in=[*OPEN_STATES, State.RETURNED, State.RESOLVED])
        .select_related("category__parent", "node", "handling_node")
        .order_by(F("deadline").asc(nulls_last=True), "-id")
    )


def department_inbox(user: Any, *, include_handled: bool = False) -> QuerySet[DepartmentAssignment]:
    """Whistles to the user's departments from the streets their assignment covers."""
    ids = department_ids(user)
    paths = department_paths(user)
    if not ids or not paths:
        return DepartmentAssignment.objects.none()
    queryset = DepartmentAssignment.objects.filter(
        subtree_q(paths, "street__path"), department_id__in=ids
    )
    if not include_handled:
        queryset = queryset.exclude(state=AssignmentState.HANDLED)
    return queryset.select_related(
        "department", "street", "event__category__parent", "event__node"
    ).order_by(F("deadline").asc(nulls_last=True), "-id")


def filter_nodes(user: Any) -> QuerySet[OrgNode]:
    """Nodes a staff user may narrow a list or measures to (their subtree, down to grids)."""
    return OrgNode.objects.filter(
        subtree_q(staff_paths(user)),
        closed_at__isnull=True,
        level__in=[Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID],
    ).order_by("path")


def reporting_nodes(user: Any) -> QuerySet[OrgNode]:
    """Grids and communities a user may file an event at when no point places it."""
    return (
        OrgNode.objects.filter(
            subtree_q(scope_paths(user, REPORTING_ROLES)),
            closed_at__isnull=True,
            level__in=[Level.COMMUNITY, Level.GRID],
        )
        .select_related("parent")
        .order_by("path")
    )


def active_categories() -> QuerySet[Category]:
    return (
        Category.objects.filter(is_active=True)
        .select_related("parent")
        .order_by(
            Coalesce("parent__sort", "sort"), Coalesce("parent_id", "id"), "parent_id", "sort", "id"
        )
    )


def whistle_departments(event: Event) -> QuerySet[Department]:
    """Active departments stationed at the event's street: those the street can whistle to."""
    stations = DepartmentStation.objects.filter(street=event.handling_node)
    return Department.objects.filter(
        is_active=True, pk__in=stations.values("department_id")
    ).order_by("name")


def merge_candidates(user: Any, event: Event, *, limit: int = 20) -> list[Event]:
    """Open events the user sees that this one could be merged into, nearest first."""
    queryset = (
        visible_events(user)
        .exclude(pk=event.pk)
        .exclude(state__in=[State.MERGED, State.REJECTED, State.CLOSED])
        .filter(Q(category=event.category.family) | Q(category__parent=event.category.family))
        .select_related("category__parent", "node")
        .order_by("-created_at")[:200]
    )
    rows = list(queryset)
    if event.has_point:
        rows.sort(
            key=lambda e: (
                haversine_m(event.lng, event.lat, e.lng, e.lat) if e.has_point else math.inf
            )
        )
    return rows[:limit]


# ---------------------------------------------------------------------------------------------
# duplicates nearby


def haversine_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class SimilarEvent:
    event: Event
    distance_m: int
    visible: bool  # may the user open it (see its description)?


def similar_events(
    user: Any,
    *,
    lng: float,
    lat: float,
    category: Category,
    exclude: int | None = None,
    radius_m: int | None = None,
    days: int | None = None,
    limit: int = 5,
) -> list[SimilarEvent]:
    """Open events of the same category family near the point, reported recently.

    The search covers every event, not only the visible ones, so a resident learns that the
    broken lamp is already reported; but only events the user may see come back with their
    description (`visible`), the others as category, state, distance and date. Two queries:
    a bounding box on the (lat, lng) index, then which of the hits the user may open.
    """
    radius = radius_m if radius_m is not None else conf.get("EVENTS_DUPLICATE_RADIUS_M")
    recent = days if days is not None else conf.get("EVENTS_DUPLICATE_DAYS")
    dlat = math.degrees(radius / EARTH_RADIUS_M)
    dlng = dlat / max(math.cos(math.radians(lat)), 1e-6)
    family = category.family
    candidates = (
        Event.objects.filter(
            lat__range=(lat - dlat, lat + dlat),
            lng__range=(lng - dlng, lng + dlng),
            state__in=[*OPEN_STATES, State.RETURNED],
            created_at__gte=timezone.now() - dt.timedelta(days=recent),
        )
        .filter(Q(category=family) | Q(category__parent=family))
        .select_related("category__parent", "node")
    )
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude)
    hits = []
    for event in candidates[:500]:
        distance = haversine_m(lng, lat, event.lng, event.lat)
        if distance <= radius:
            hits.append((distance, event))
    hits.sort(key=lambda pair: (pair[0], -pair[1].pk))
    hits = hits[:limit]
    if not hits:
        return []
    visible = set(
        visible_events(user).filter(pk__in=[e.pk for _d, e in hits]).values_list("pk", flat=True)
    )
    return [SimilarEvent(e, round(d), e.pk in visible) for d, e in hits]


# ---------------------------------------------------------------------------------------------
# measures


@dataclass
class Measures:
    total: int = 0
    by_category: list[dict[str, Any]] = field(default_factory=list)
    by_state: list[dict[str, Any]] = field(default_factory=list)
    resolved: int = 0
    resolved_by_level: list[dict[str, Any]] = field(default_factory=list)
    on_time: int = 0
    on_time_rate: float | None = None
    rated: int = 0
    average_score: float | None = None
    open_now: int = 0
    overdue_now: int = 0


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def event_measures(
    user: Any,
    *,
    node: OrgNode | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Measures:
    """Counts by category and state, where events were resolved, on-time rate, satisfaction.

    For the events reported in [since, until] in the user's subtree (or `node`'s). Four
    aggregate queries whatever the number of events. A resolved event is on time when it never
    passed a deadline at any level on its way.
    """
    # `node` comes from filter_nodes(user), inside the staff scope: its subtree alone is the
    # scope, one indexable IN (aggregates read every row of it, so no EXISTS here).
    paths = [node.path] if node is not None else staff_paths(user)
    base = Event.objects.filter(node__in=_nodes_in(paths))
    base = apply_filters(base, EventFilters(since=since, until=until)).order_by()

    families = {c.pk: c for c in Category.objects.filter(parent__isnull=True)}
    rows = (
        base.values("state")
        .annotate(family=Coalesce("category__parent_id", "category_id"))
        .values("family", "state")
        .annotate(n=Count("pk"))
    )
    per_family: dict[int, dict[str, int]] = {}
    per_state: dict[str, int] = {}
    for row in rows:
        per_family.setdefault(row["family"], {})[row["state"]] = row["n"]
        per_state[row["state"]] = per_state.get(row["state"], 0) + row["n"]

    figures = base.aggregate(
        total=Count("pk"),
        resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
        on_time=Count("pk", filter=Q(resolved_at__isnull=False, overdue=False)),
        rated=Count("score"),
        average=Avg("score"),
        open_now=Count("pk", filter=Q(state__in=list(OPEN_STATES))),
        overdue_now=Count("pk", filter=overdue_q()),
    )
    levels = dict(
        base.filter(resolved_at__isnull=False).values_list("resolved_level").annotate(n=Count("pk"))
    )
    resolved = figures["resolved"]
    return Measures(
        total=figures["total"],
        by_category=[
            {
                "category": families[pk].code if pk in families else str(pk),
                "name": families[pk].name if pk in families else str(pk),
                "total": sum(states.values()),
                "states": {s: states.get(s, 0) for s in State.values},
            }
            for pk, states in sorted(
                per_family.items(),
                key=lambda item: (families[item[0]].sort if item[0] in families else 0, item[0]),
            )
        ],
        by_state=[
            {"state": value, "label": str(label), "count": per_state.get(value, 0)}
            for value, label in State.choices
        ],
        resolved=resolved,
        resolved_by_level=[
            {
                "level": value,
                "label": str(label),
                "count": levels.get(value, 0),
                "share": _share(levels.get(value, 0), resolved),
            }
            for value, label in HandlingLevel.choices
        ],
        on_time=figures["on_time"],
        on_time_rate=_share(figures["on_time"], resolved),
        rated=figures["rated"],
        average_score=round(figures["average"], 2) if figures["average"] is not None else None,
        open_now=figures["open_now"],
        overdue_now=figures["overdue_now"],
    )


def open_events_by_grid(grid_ids: Iterable[int], *, overdue_only: bool = False) -> dict[int, int]:
    """Open (or overdue) events per grid id: the map's colouring measures."""
    queryset = Event.objects.filter(node_id__in=list(grid_ids), state__in=list(OPEN_STATES))
    if overdue_only:
        queryset = queryset.filter(deadline__lt=timezone.now())
    return dict(queryset.order_by().values_list("node_id").annotate(n=Count("pk")))

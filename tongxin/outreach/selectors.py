"""Reads of the services to residents, always scoped (ARCHITECTURE.md 3).

Who sees what:
- wishes: the poster their own; the claimer what they claimed; admins (district / street /
  community) their subtree; anyone living or serving in a community its public wall (approved
  wishes: open, claimed, fulfilled, confirmed — with the poster's name masked);
- orders: placer, recipient and taker theirs; admins their subtree; the community's
  volunteers the orders waiting to be taken there;
- activities: the community's people and volunteers, and admins above it;
- hours claims: the claimant theirs, admins their subtree;
- service points: public information — every active point, to anyone signed in.
`get_<x>_for_user(user, pk, write=...)`: 404 outside that set, 403 for `write` without a move.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from tongxin.accounts.models import MANAGING_ROLES
from tongxin.core.scoping import scope_paths, subtree_q
from tongxin.orgs.models import OrgNode
from tongxin.outreach.models import (
    Activity,
    ActivityState,
    HoursClaim,
    HoursClaimState,
    HoursEntry,
    HoursSource,
    OrderState,
    ServiceOrder,
    ServicePoint,
    Signup,
    SignupState,
    Wish,
    WishState,
)
from tongxin.outreach.rules import (
    OUTREACH_ROLES,
    available_moves,
    home_community_paths,
    volunteer_info,
)

EARTH_RADIUS_M = 6_371_008.8
WALL_STATES = (WishState.OPEN, WishState.CLAIMED, WishState.FULFILLED, WishState.CONFIRMED)


def managed_paths(user: Any) -> list[str]:
    return scope_paths(user, MANAGING_ROLES)


def _in(paths: Any, field: str = "community__path") -> Q:
    return Q(**{f"{field}__in": sorted(paths)})


# ---------------------------------------------------------------------------------------------
# wishes


def visible_wishes(user: Any) -> QuerySet[Wish]:
    if user is None or not user.is_authenticated:
        return Wish.objects.none()
    query = (
        Q(poster=user)
        | Q(claimed_by=user)
        | subtree_q(managed_paths(user), "community__path")
        | (Q(state__in=WALL_STATES) & _in(home_community_paths(user, OUTREACH_ROLES)))
    )
    return Wish.objects.filter(query).select_related("community", "claimed_unit")


def wish_wall(user: Any, community: OrgNode | None = None) -> QuerySet[Wish]:
    """The public wall: approved wishes of the user's communities (or one of them), open first."""
    paths = home_community_paths(user, OUTREACH_ROLES) | set(managed_paths(user))
    query = Q(state__in=WALL_STATES) & (
        _in(paths) | subtree_q(managed_paths(user), "community__path")
    )
    if community is not None:
        query &= Q(community=community)
    return (
        Wish.objects.filter(query)
        .select_related("community")
        # descending by state code puts "open" first, then fulfilled, confirmed, claimed
        .order_by("-state", "-created_at", "-id")
    )


def my_wishes(user: Any) -> QuerySet[Wish]:
    return (
        Wish.objects.filter(Q(poster=user) | Q(claimed_by=user))
        .select_related("community", "claimed_unit")
        .order_by("-created_at", "-id")
    )


def managed_wishes(user: Any, state: str = "") -> QuerySet[Wish]:
    query = subtree_q(managed_paths(user), "community__path")
    if state:
        query &= Q(state=state)
    return Wish.objects.filter(query).select_related("community").order_by("-created_at", "-id")


def get_wish_for_user(user: Any, pk: Any, *, write: bool = False) -> Wish:
    wish = visible_wishes(user).select_related("poster", "claimed_by").filter(pk=pk).first()
    if wish is None:
        raise Http404
    if write and not available_moves(user, wish):
        raise PermissionDenied
    return wish


def mask_name(name: str) -> str:
    """吴秀英 → 吴**: the wall shows whose wish it is without naming them."""
    return f"{name[:1]}{'*' * max(1, len(name) - 1)}" if name else ""


@dataclass
class WishCounts:
    community_id: int
    community: str
    posted: int
    approved: int
    claimed: int
    fulfilled: int
    confirmed: int


def wish_counts(
    user: Any, *, since: dt.datetime, until: dt.datetime, node: OrgNode | None = None
) -> list[WishCounts]:
    """Per community of the user's subtree (or `node`'s), in [since, until): wishes posted,
    approved, claimed, fulfilled (兑现) and confirmed (圆梦). One aggregate query."""
    scope = subtree_q(managed_paths(user), "community__path")
    if node is not None:
        scope &= Q(community__path__startswith=node.path)
    in_period = {
        "posted": Q(created_at__gte=since, created_at__lt=until),
        "claimed": Q(claimed_at__gte=since, claimed_at__lt=until),
        "fulfilled": Q(fulfilled_at__gte=since, fulfilled_at__lt=until),
        "confirmed": Q(confirmed_at__gte=since, confirmed_at__lt=until),
    }
    rows = (
        Wish.objects.filter(scope)
        .values("community_id", "community__name", "community__path")
        .annotate(
            posted=Count("pk", filter=in_period["posted"]),
            approved=Count(
                "pk",
                filter=in_period["posted"] & ~Q(state__in=["pending", "declined", "withdrawn"]),
            ),
            claimed=Count("pk", filter=in_period["claimed"]),
            fulfilled=Count("pk", filter=in_period["fulfilled"]),
            confirmed=Count("pk", filter=in_period["confirmed"]),
        )
        .order_by("community__path")
    )
    return [
        WishCounts(
            r["community_id"],
            r["community__name"],
            r["posted"],
            r["approved"],
            r["claimed"],
            r["fulfilled"],
            r["confirmed"],
        )
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# orders


def visible_orders(user: Any) -> QuerySet[ServiceOrder]:
    if user is None or not user.is_authenticated:
        return ServiceOrder.objects.none()
    query = (
        Q(placed_by=user)
        | Q(recipient=user)
        | Q(taken_by=user)
        | subtree_q(managed_paths(user), "community__path")
        | (Q(state=OrderState.PLACED) & _in(volunteer_info(user).paths))
    )
    return ServiceOrder.objects.filter(query).select_related("community", "taken_volunteer__person")


def takeable_orders(user: Any) -> QuerySet[ServiceOrder]:
    """Orders waiting in the communities the user volunteers in (not their own)."""
    paths = volunteer_info(user).paths
    return (
        ServiceOrder.objects.filter(_in(paths), state=OrderState.PLACED)
        .exclude(Q(placed_by=user) | Q(recipient=user))
        .select_related("community")
        .order_by("created_at", "id")
    )


def my_orders(user: Any) -> QuerySet[ServiceOrder]:
    return (
        ServiceOrder.objects.filter(Q(placed_by=user) | Q(recipient=user) | Q(taken_by=user))
        .select_related("community")
        .order_by("-created_at", "-id")
    )


def managed_orders(user: Any, state: str = "") -> QuerySet[ServiceOrder]:
    query = subtree_q(managed_paths(user), "community__path")
    if state:
        query &= Q(state=state)
    return (
        ServiceOrder.objects.filter(query)
        .select_related("community", "placed_by", "taken_by")
        .order_by("-created_at", "-id")
    )


def get_order_for_user(user: Any, pk: Any, *, write: bool = False) -> ServiceOrder:
    order = (
        visible_orders(user)
        .select_related("placed_by", "recipient", "taken_by", "recipient_person__node")
        .filter(pk=pk)
        .first()
    )
    if order is None:
        raise Http404
    if write and not available_moves(user, order):
        raise PermissionDenied
    return order


def get_order_to_take(user: Any, pk: Any) -> ServiceOrder:
    """For 接单: besides the visible orders, any order of the communities the user volunteers in,
    so a volunteer who lost the race learns it is taken (409) instead of finding it gone (404).
    Nothing is shown from it: the take refuses before anything is serialized."""
    order = (
        ServiceOrder.objects.filter(
            Q(pk=pk)
            & (_in(volunteer_info(user).paths) | Q(pk__in=visible_orders(user).values("pk")))
        )
        .select_related("community")
        .first()
    )
    if order is None:
        raise Http404
    return order


def on_behalf_candidates(user: Any) -> QuerySet[Any]:
    """Special-group residents of the admin's subtree the community may order for."""
    from tongxin.outreach.services import ON_BEHALF_GROUPS
    from tongxin.people.models import Person

    paths = managed_paths(user)
    return (
        Person.objects.filter(subtree_q(paths, "node__path"), groups__group__in=ON_BEHALF_GROUPS)
        .select_related("node")
        .distinct()
        .order_by("node__path", "name")
    )


# ---------------------------------------------------------------------------------------------
# activities, sign-ups, hours


def _activity_scope(user: Any) -> Q:
    paths = home_community_paths(user, OUTREACH_ROLES) | volunteer_info(user).paths
    return _in(paths) | subtree_q(managed_paths(user), "community__path")


def visible_activities(user: Any) -> QuerySet[Activity]:
    if user is None or not user.is_authenticated:
        return Activity.objects.none()
    return Activity.objects.filter(_activity_scope(user)).select_related(
        "community", "team", "post"
    )


def upcoming_activities(user: Any, now: dt.datetime) -> QuerySet[Activity]:
    return (
        visible_activities(user)
        .filter(ends_at__gte=now, state=ActivityState.PUBLISHED)
        .order_by("starts_at", "id")
    )


def get_activity_for_user(user: Any, pk: Any) -> Activity:
    activity = visible_activities(user).filter(pk=pk).first()
    if activity is None:
        raise Http404
    return activity


def my_signup(user: Any, activity: Activity) -> Signup | None:
    return (
        Signup.objects.filter(activity=activity, user=user)
        .exclude(state=SignupState.CANCELLED)
        .select_related("activity__community")
        .first()
    )


def get_signup_for_user(user: Any, pk: Any) -> Signup:
    signup = (
        Signup.objects.filter(
            Q(user=user) | subtree_q(managed_paths(user), "activity__community__path"), pk=pk
        )
        .select_related("activity__community", "user")
        .first()
    )
    if signup is None:
        raise Http404
    return signup


def activity_signups(activity: Activity) -> QuerySet[Signup]:
    return activity.signups.exclude(state=SignupState.CANCELLED).order_by("signed_up_at", "id")


def visible_claims(user: Any) -> QuerySet[HoursClaim]:
    if user is None or not user.is_authenticated:
        return HoursClaim.objects.none()
    return HoursClaim.objects.filter(
        Q(user=user) | subtree_q(managed_paths(user), "community__path")
    ).select_related("community")


def claims_to_review(user: Any) -> QuerySet[HoursClaim]:
    return (
        HoursClaim.objects.filter(
            subtree_q(managed_paths(user), "community__path"), state=HoursClaimState.PENDING
        )
        .select_related("community")
        .order_by("created_at", "id")
    )


def get_claim_for_user(user: Any, pk: Any) -> HoursClaim:
    claim = visible_claims(user).filter(pk=pk).first()
    if claim is None:
        raise Http404
    return claim


@dataclass
class HoursSummary:
    activity_hours: Decimal
    claimed_hours: Decimal
    in_service_hours: Decimal
    points: int

    @property
    def total_hours(self) -> Decimal:
        return self.activity_hours + self.claimed_hours + self.in_service_hours


def hours_summary(user: Any) -> HoursSummary:
    """The user's service hours: activities and approved claims (the ledger) plus their
    in-service service records (people.ServiceRecord, 在职党员到社区服务), which count too.
    Two aggregate queries."""
    from tongxin.people.models import ServiceRecord

    rows = {
        r["source"]: r
        for r in HoursEntry.objects.filter(user=user)
        .values("source")
        .annotate(hours=Sum("hours"), points=Sum("points"))
    }
    in_service = ServiceRecord.objects.filter(registration__member__person__user=user).aggregate(
        hours=Sum("hours")
    )["hours"] or Decimal("0")
    zero = Decimal("0")
    return HoursSummary(
        activity_hours=(rows.get(HoursSource.ACTIVITY) or {}).get("hours") or zero,
        claimed_hours=(rows.get(HoursSource.CLAIM) or {}).get("hours") or zero,
        in_service_hours=in_service,
        points=sum(int(r["points"] or 0) for r in rows.values()),
    )


def my_hours_entries(user: Any) -> QuerySet[HoursEntry]:
    return (
        HoursEntry.objects.filter(user=user)
        .select_related("community")
        .order_by("-served_on", "-id")
    )


# ---------------------------------------------------------------------------------------------
# service points


def haversine_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def visible_points(user: Any) -> QuerySet[ServicePoint]:
    query = Q(active=True) | subtree_q(managed_paths(user), "community__path")
    return ServicePoint.objects.filter(query).select_related("community", "grid", "team")


@dataclass
class NearPoint:
    point: ServicePoint
    distance_m: float


def nearest_points(
    user: Any, *, lng: float, lat: float, limit: int = 10, radius_m: float = 5000
) -> list[NearPoint]:
    """Active points within `radius_m`, nearest first, with their distance (haversine).

    A bounding box on the (lat, lng) index narrows the candidates first; one query.
    """
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlng = dlat / max(0.01, math.cos(math.radians(lat)))
    candidates = ServicePoint.objects.filter(
        active=True,
        lat__gte=lat - dlat,
        lat__lte=lat + dlat,
        lng__gte=lng - dlng,
        lng__lte=lng + dlng,
    ).select_related("community", "grid", "team")
    found = [NearPoint(p, haversine_m(lng, lat, p.lng, p.lat)) for p in candidates]
    found = [f for f in found if f.distance_m <= radius_m]
    found.sort(key=lambda f: (f.distance_m, f.point.pk))
    return found[:limit]


def user_anchor(user: Any) -> tuple[float, float] | None:
    """Where to centre "near me" without a phone fix: the centre of the user's grid."""
    from tongxin.grids.models import Grid

    paths = sorted(g.path for g in _grants(user))
    for path in paths:
        grid = (
            Grid.objects.filter(
                node__path__in=[path[:end] for end in range(5, len(path) + 1, 5)],
                centroid_lng__isnull=False,
            )
            .order_by("-node__depth")
            .first()
        )
        if grid is None:
            grid = (
                Grid.objects.filter(node__path__startswith=path, centroid_lng__isnull=False)
                .order_by("node__path")
                .first()
            )
        if grid is not None:
            return grid.centroid_lng, grid.centroid_lat
    return None


def _grants(user: Any) -> Any:
    from tongxin.core.scoping import grants

    return grants(user)

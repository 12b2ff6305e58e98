"""Reads of co-building, always scoped to what the user may see.

Scope (docs/cobuild.md "Who sees what"):
- district / street / community admins see the rows whose node lies in their subtree: an
  agreement by its organization's node, a resource or venue by its unit's location, a need,
  project, secondment or consultation by its community, a meeting by its body, a round by its
  organizing node;
- a unit liaison sees only their own unit's agreements, resources, venues, projects,
  secondments, consultations and sheets, the meetings their unit attended, the rounds covering
  their unit, and the need lists of their unit's street (to offer resources for them);
- evaluation rounds organized above a community (by its street) are seen by its admins too:
  the community scores its units there;
- venues open to the public are bookable by every business role of the same district.

One object is fetched with `get_<x>_for_user(user, pk, *, write=False)`: 404 outside the scope
(the same answer as "does not exist"), 403 when seen but not changeable.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES
from tongxin.cobuild.models import (
    Agreement,
    Award,
    BookingStatus,
    Commitment,
    CommitmentSide,
    CommitmentState,
    Consultation,
    EvaluationDirection,
    EvaluationRound,
    EvaluationSheet,
    JointMeeting,
    MeetingAttendance,
    NeedItem,
    NeedStatus,
    ProjectState,
    Resolution,
    ResourceItem,
    Secondment,
    ServiceProject,
    Venue,
    VenueBooking,
)
from tongxin.cobuild.rules import can
from tongxin.cobuild.workflow import COMMITMENT_DONE
from tongxin.core.scoping import grants, scope_paths, subtree_q
from tongxin.orgs.models import PATH_SEGMENT_LENGTH, CommitteeMember, Level, OrgNode, ResidentUnit
from tongxin.orgs.rules import liaison_unit_ids

STEP = PATH_SEGMENT_LENGTH + 1
TWO_PLACES = Decimal("0.01")


def today() -> dt.date:
    return timezone.localdate()


def _get_or_404(queryset: QuerySet, pk: Any) -> Any:
    try:
        found = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Http404
    return found


def _authorize(user: Any, perm: str, obj: Any) -> None:
    if not can(user, perm, obj):
        raise PermissionDenied


def staff_paths(user: Any) -> list[str]:
    return scope_paths(user, MANAGING_ROLES)


def own_unit_ids(user: Any) -> list[int]:
    return sorted(liaison_unit_ids(user))


def _own_unit_paths(user: Any) -> list[str]:
    ids = own_unit_ids(user)
    if not ids:
        return []
    return list(ResidentUnit.objects.filter(pk__in=ids).values_list("node__path", flat=True))


def _prefix(path: str, depth: int) -> str:
    return path[: STEP * depth]


def ancestor_paths(path: str) -> list[str]:
    return [path[:end] for end in range(STEP, len(path) + 1, STEP)]


def _scoped(user: Any, field: str, unit_field: str | None) -> Q:
    query = subtree_q(staff_paths(user), field)
    own = own_unit_ids(user)
    if own and unit_field:
        query |= Q(**{f"{unit_field}__in": own})
    return query


# ---------------------------------------------------------------------------------------------
# agreements and commitments


def visible_agreements(user: Any) -> QuerySet[Agreement]:
    return Agreement.objects.filter(_scoped(user, "node__path", "unit_id"))


def agreement_list(
    user: Any,
    *,
    year: int | None = None,
    status: str | None = None,
    node: OrgNode | None = None,
    unit: ResidentUnit | None = None,
) -> QuerySet[Agreement]:
    """Agreements with their commitment counts (correlated aggregates: constant queries)."""
    queryset = visible_agreements(user)
    if year:
        queryset = queryset.filter(year=year)
    if status:
        queryset = queryset.filter(status=status)
    if node is not None:
        queryset = queryset.filter(node__path__startswith=node.path)
    if unit is not None:
        queryset = queryset.filter(unit=unit)
    return (
        queryset.select_related("node", "unit")
        .annotate(
            commitments_total=Count(
                "commitments", filter=~Q(commitments__state=CommitmentState.CANCELLED)
            ),
            commitments_done=Count(
                "commitments", filter=Q(commitments__state__in=list(COMMITMENT_DONE))
            ),
            commitments_overdue=Count(
                "commitments", filter=Q(commitments__state=CommitmentState.OVERDUE)
            ),
        )
        .order_by("-year", "node__path", "unit__name", "id")
    )


def get_agreement_for_user(user: Any, pk: Any, *, write: bool = False) -> Agreement:
    agreement = _get_or_404(
        visible_agreements(user)
        .select_related("node", "unit", "unit__node", "copied_from")
        .prefetch_related(
            Prefetch(
                "commitments",
                queryset=Commitment.objects.select_related("owner").prefetch_related("files"),
            ),
            "transitions",
        ),
        pk,
    )
    if write:
        _authorize(user, "cobuild.change_agreement", agreement)
    return agreement


def visible_commitments(user: Any) -> QuerySet[Commitment]:
    return Commitment.objects.filter(_scoped(user, "agreement__node__path", "agreement__unit_id"))


def get_commitment_for_user(user: Any, pk: Any) -> Commitment:
    return _get_or_404(
        visible_commitments(user)
        .select_related("agreement__node", "agreement__unit", "owner")
        .prefetch_related("files", "transitions"),
        pk,
    )


def agreement_nodes(user: Any) -> QuerySet[OrgNode]:
    """Streets and communities where the user may sign agreements."""
    return OrgNode.objects.filter(
        subtree_q(staff_paths(user)),
        level__in=[Level.STREET, Level.COMMUNITY],
        closed_at__isnull=True,
    ).order_by("path")


def units_in_scope(user: Any) -> QuerySet[ResidentUnit]:
    """Open units located in the admin's subtree, or the liaison's own."""
    return ResidentUnit.objects.filter(
        _scoped(user, "node__path", "id"), closed_at__isnull=True
    ).order_by("name")


@dataclass
class Rate:
    """Fulfilment figures; cancelled commitments do not count (they were withdrawn)."""

    key: Any = None
    label: str = ""
    total: int = 0
    done: int = 0
    confirmed: int = 0
    overdue: int = 0
    cancelled: int = 0

    @property
    def countable(self) -> int:
        return self.total - self.cancelled

    @property
    def rate(self) -> Decimal | None:
        """Fulfilled or confirmed ÷ (all − cancelled), as a percentage with two decimals."""
        if not self.countable:
            return None
        return (Decimal(self.done * 100) / Decimal(self.countable)).quantize(
            TWO_PLACES, ROUND_HALF_UP
        )

    def add(self, state: str, n: int) -> None:
        self.total += n
        if state in COMMITMENT_DONE:
            self.done += n
        if state == CommitmentState.CONFIRMED:
            self.confirmed += n
        if state == CommitmentState.OVERDUE:
            self.overdue += n
        if state == CommitmentState.CANCELLED:
            self.cancelled += n


@dataclass
class Rates:
    year: int
    overall: Rate
    by_agreement: list[Rate]
    by_unit: list[Rate]
    by_community: list[Rate]
    by_street: list[Rate]


def fulfilment_rates(
    user: Any, *, year: int, agreements: QuerySet[Agreement] | None = None
) -> Rates:
    """Fulfilment rates per agreement, unit, community (where the unit is) and street (of the
    organization) for one year, over the agreements the user sees (two queries)."""
    base = agreements if agreements is not None else visible_agreements(user)
    rows = (
        Commitment.objects.filter(agreement__in=base.filter(year=year))
        .order_by()
        .values(
            "agreement_id",
            "agreement__title",
            "agreement__node__path",
            "agreement__unit_id",
            "agreement__unit__name",
            "agreement__unit__node__path",
            "state",
        )
        .annotate(n=Count("pk"))
    )
    overall = Rate(label=str(year))
    by: dict[str, dict[Any, Rate]] = defaultdict(dict)
    paths: set[str] = set()
    for row in rows:
        community = _prefix(row["agreement__unit__node__path"], 3)
        street = _prefix(row["agreement__node__path"], 2)
        paths.update({community, street})
        keys = {
            "agreement": (row["agreement_id"], row["agreement__title"]),
            "unit": (row["agreement__unit_id"], row["agreement__unit__name"]),
            "community": (community, ""),
            "street": (street, ""),
        }
        overall.add(row["state"], row["n"])
        for group, (key, label) in keys.items():
            rate = by[group].setdefault(key, Rate(key=key, label=label))
            rate.add(row["state"], row["n"])
    names = dict(OrgNode.objects.filter(path__in=paths).values_list("path", "name"))
    for group in ("community", "street"):
        for rate in by[group].values():
            rate.label = names.get(rate.key, rate.key)

    def ordered(group: str) -> list[Rate]:
        return sorted(by[group].values(), key=lambda r: (-(r.rate or 0), r.label))

    return Rates(
        year=year,
        overall=overall,
        by_agreement=ordered("agreement"),
        by_unit=ordered("unit"),
        by_community=ordered("community"),
        by_street=ordered("street"),
    )


def agreement_rate(agreement: Agreement) -> Rate:
    rate = Rate(key=agreement.pk, label=agreement.title)
    for commitment in agreement.commitments.all():
        rate.add(commitment.state, 1)
    return rate


def commitments_past_due(on: dt.date) -> QuerySet[Commitment]:
    from tongxin.cobuild.models import AgreementStatus
    from tongxin.cobuild.workflow import COMMITMENT_OPEN

    return Commitment.objects.filter(
        state__in=list(COMMITMENT_OPEN),
        due_on__lt=on,
        agreement__status=AgreementStatus.SIGNED,
    )


# ---------------------------------------------------------------------------------------------
# secondments


def visible_secondments(user: Any) -> QuerySet[Secondment]:
    return Secondment.objects.filter(_scoped(user, "community__path", "unit_id"))


def secondment_list(user: Any, *, current: bool | None = None) -> QuerySet[Secondment]:
    queryset = visible_secondments(user).select_related("unit", "community")
    on = today()
    is_current = Q(starts_on__lte=on) & (Q(ends_on__isnull=True) | Q(ends_on__gte=on))
    if current is True:
        queryset = queryset.filter(is_current)
    elif current is False:
        queryset = queryset.exclude(is_current)
    return queryset.order_by("community__path", "-starts_on", "id")


def get_secondment_for_user(user: Any, pk: Any) -> Secondment:
    return _get_or_404(visible_secondments(user).select_related("unit", "community"), pk)


# ---------------------------------------------------------------------------------------------
# resources, needs, matching, projects


def visible_resources(user: Any) -> QuerySet[ResourceItem]:
    return ResourceItem.objects.filter(_scoped(user, "unit__node__path", "unit_id"))


def resource_list(user: Any, *, kind: str | None = None) -> QuerySet[ResourceItem]:
    queryset = visible_resources(user).select_related("unit", "unit__node")
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("unit__name", "kind", "id")


def get_resource_for_user(user: Any, pk: Any, *, write: bool = False) -> ResourceItem:
    item = _get_or_404(visible_resources(user).select_related("unit", "unit__node"), pk)
    if write:
        _authorize(user, "cobuild.manage_unit_items", item.unit)
    return item


def visible_needs(user: Any) -> QuerySet[NeedItem]:
    query = subtree_q(staff_paths(user), "community__path")
    # A liaison reads their street's need lists: that is where their unit can help.
    streets = {_prefix(p, 2) for p in _own_unit_paths(user)}
    query |= subtree_q(sorted(streets), "community__path")
    return NeedItem.objects.filter(query)


def need_list(
    user: Any, *, kind: str | None = None, status: str | None = None
) -> QuerySet[NeedItem]:
    queryset = visible_needs(user).select_related("community")
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("community__path", "-created_at", "id")


def get_need_for_user(user: Any, pk: Any, *, write: bool = False) -> NeedItem:
    need = _get_or_404(visible_needs(user).select_related("community"), pk)
    if write:
        _authorize(user, "cobuild.add_need", need.community)
    return need


PLACE_LABELS = {0: "同一社区", 1: "同一街道", 2: "本区其他街道"}


def need_matches(need: NeedItem, *, on: dt.date | None = None, limit: int = 20) -> list[Any]:
    """Published resources that could meet the need, best first (one query).

    Same kind, from an open unit of the same district, available at the time wanted (or now);
    ranked by place — same community, then same street, then the rest of the district — and then
    by how busy the resource already is (fewer running projects first). Resource lists are
    published for co-building, so matching looks across the district, not only the user's scope.
    """
    on = on or today()
    when = need.needed_by or on
    path = need.community.path
    queryset = (
        ResourceItem.objects.filter(
            kind=need.kind,
            active=True,
            unit__closed_at__isnull=True,
            unit__node__path__startswith=_prefix(path, 1),
        )
        .filter(Q(available_until__isnull=True) | Q(available_until__gte=max(on, when)))
        .filter(Q(available_from__isnull=True) | Q(available_from__lte=when))
        .select_related("unit", "unit__node")
        .annotate(
            place=Case(
                When(unit__node__path__startswith=path, then=Value(0)),
                When(unit__node__path__startswith=_prefix(path, 2), then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
            running=Count(
                "projects",
                filter=Q(projects__state__in=[ProjectState.PLANNED, ProjectState.ONGOING]),
            ),
        )
        .order_by("place", "running", "unit__name", "id")
    )
    matches = list(queryset[:limit])
    for item in matches:
        item.place_label = PLACE_LABELS[item.place]
    return matches


def visible_projects(user: Any) -> QuerySet[ServiceProject]:
    return ServiceProject.objects.filter(_scoped(user, "community__path", "unit_id"))


def project_list(user: Any, *, state: str | None = None) -> QuerySet[ServiceProject]:
    queryset = visible_projects(user).select_related("community", "unit", "need", "resource")
    if state:
        queryset = queryset.filter(state=state)
    return queryset.order_by("-starts_on", "id")


def get_project_for_user(user: Any, pk: Any, *, write: bool = False) -> ServiceProject:
    project = _get_or_404(
        visible_projects(user)
        .select_related("community", "unit", "need", "resource")
        .prefetch_related("transitions"),
        pk,
    )
    if write:
        _authorize(user, "cobuild.change_project", project)
    return project


def public_projects(community: OrgNode) -> QuerySet[ServiceProject]:
    """What residents of a community see: published projects that were not cancelled."""
    return (
        ServiceProject.objects.filter(community=community, published=True)
        .exclude(state=ProjectState.CANCELLED)
        .select_related("unit")
        .order_by("-starts_on", "id")
    )


def open_needs_for(user: Any) -> QuerySet[NeedItem]:
    return visible_needs(user).filter(status=NeedStatus.OPEN)


# ---------------------------------------------------------------------------------------------
# venues and bookings


def _district_paths(user: Any) -> list[str]:
    return sorted({_prefix(g.path, 1) for g in grants(user) if g.role in BUSINESS_ROLES})


def bookable_venues(user: Any) -> QuerySet[Venue]:
    """Open venues of open units in the user's district (residents book them too)."""
    return Venue.objects.filter(
        subtree_q(_district_paths(user), "unit__node__path"),
        active=True,
        unit__closed_at__isnull=True,
    )


def managed_venues(user: Any) -> QuerySet[Venue]:
    return Venue.objects.filter(_scoped(user, "unit__node__path", "unit_id"))


def venue_list(user: Any, *, mine: bool = False) -> QuerySet[Venue]:
    queryset = managed_venues(user) if mine else bookable_venues(user)
    return (
        queryset.select_related("unit", "unit__node")
        .prefetch_related("openings")
        .order_by("unit__name", "name", "id")
    )


def get_venue_for_user(user: Any, pk: Any, *, write: bool = False) -> Venue:
    queryset = (managed_venues(user) | bookable_venues(user)).distinct()
    venue = _get_or_404(queryset.select_related("unit", "unit__node"), pk)
    if write:
        _authorize(user, "cobuild.change_venue", venue)
    return venue


def venue_bookings(
    user: Any, venue: Venue, *, since: dt.datetime | None = None
) -> QuerySet[VenueBooking]:
    """The venue's bookings: all of them for its managers, otherwise the user's own."""
    queryset = venue.bookings.select_related("booked_by", "venue").order_by("starts_at", "id")
    if since is not None:
        queryset = queryset.filter(ends_at__gte=since)
    if not can(user, "cobuild.change_venue", venue):
        queryset = queryset.filter(booked_by=user)
    return queryset


def busy_slots(venue: Venue, *, since: dt.datetime, until: dt.datetime) -> list[VenueBooking]:
    """Confirmed bookings in a period, shown to anyone as taken times (no names)."""
    return list(
        venue.bookings.filter(
            status=BookingStatus.CONFIRMED, starts_at__lt=until, ends_at__gt=since
        ).order_by("starts_at")
    )


def get_booking_for_user(user: Any, pk: Any) -> VenueBooking:
    queryset = VenueBooking.objects.filter(
        Q(booked_by=user) | Q(venue__in=managed_venues(user))
    ).select_related("venue__unit__node", "booked_by")
    return _get_or_404(queryset, pk)


# ---------------------------------------------------------------------------------------------
# joint meetings and the missed-quarter flag


def visible_meetings(user: Any) -> QuerySet[JointMeeting]:
    query = subtree_q(staff_paths(user), "body__path")
    own = own_unit_ids(user)
    if own:
        query |= Q(pk__in=MeetingAttendance.objects.filter(unit_id__in=own).values("meeting_id"))
    return JointMeeting.objects.filter(query)


def meeting_list(user: Any, *, body: OrgNode | None = None, year: int | None = None) -> QuerySet:
    queryset = visible_meetings(user).select_related("body")
    if body is not None:
        queryset = queryset.filter(body=body)
    if year:
        queryset = queryset.filter(held_on__year=year)
    return queryset.annotate(
        attended=Count("attendance", filter=Q(attendance__present=True), distinct=True),
        resolutions_total=Count("resolutions", distinct=True),
    ).order_by("-held_on", "id")


def get_meeting_for_user(user: Any, pk: Any, *, write: bool = False) -> JointMeeting:
    meeting = _get_or_404(
        visible_meetings(user)
        .select_related("body")
        .prefetch_related(
            Prefetch(
                "attendance", queryset=MeetingAttendance.objects.select_related("unit", "member")
            ),
            Prefetch(
                "resolutions",
                queryset=Resolution.objects.select_related("owner_unit").prefetch_related(
                    "updates"
                ),
            ),
        ),
        pk,
    )
    if write:
        _authorize(user, "cobuild.change_meeting", meeting)
    return meeting


def get_resolution_for_user(user: Any, pk: Any) -> Resolution:
    return _get_or_404(
        Resolution.objects.filter(meeting__in=visible_meetings(user)).select_related(
            "meeting__body", "owner_unit"
        ),
        pk,
    )


def body_nodes(user: Any) -> QuerySet[OrgNode]:
    """Open 大工委 (street) and 大党委 (community) bodies in the admin's subtree."""
    return agreement_nodes(user)


def quarter_of(day: dt.date) -> int:
    return (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> dt.date:
    if quarter == 4:
        return dt.date(year, 12, 31)
    return dt.date(year, quarter * 3 + 1, 1) - dt.timedelta(days=1)


@dataclass
class BodyQuarters:
    body: OrgNode
    year: int
    counts: dict[int, int] = field(default_factory=dict)
    missed: list[int] = field(default_factory=list)

    @property
    def cells(self) -> list[tuple[int, int, bool]]:
        """(quarter, meetings, missed) for the four quarters, for the pages."""
        return [(q, self.counts.get(q, 0), q in self.missed) for q in (1, 2, 3, 4)]


def meeting_quarters(
    bodies: Iterable[OrgNode], *, year: int, on: dt.date | None = None
) -> list[BodyQuarters]:
    """For each body, its meetings per quarter of `year` and the quarters that ended without
    one (SPEC §5: at least once a quarter). One query whatever the number of bodies."""
    on = on or today()
    bodies = list(bodies)
    held = (
        JointMeeting.objects.filter(body__in=bodies, held_on__year=year)
        .order_by()
        .values_list("body_id", "held_on")
    )
    counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for body_id, held_on in held:
        counts[body_id][quarter_of(held_on)] += 1
    ended = [q for q in (1, 2, 3, 4) if quarter_end(year, q) < on]
    out = []
    for body in bodies:
        mine = dict(counts.get(body.pk, {}))
        out.append(
            BodyQuarters(
                body=body, year=year, counts=mine, missed=[q for q in ended if not mine.get(q)]
            )
        )
    return out


def missed_quarters(user: Any, *, year: int, on: dt.date | None = None) -> list[BodyQuarters]:
    """The district overview: every body in the user's scope with its quarters (two queries)."""
    return meeting_quarters(body_nodes(user), year=year, on=on)


def committee_choices(body: OrgNode) -> QuerySet[CommitteeMember]:
    from tongxin.orgs.selectors import current_members_q

    return body.committee_members.filter(current_members_q()).select_related("unit")


# ---------------------------------------------------------------------------------------------
# evaluation rounds


def visible_rounds(user: Any) -> QuerySet[EvaluationRound]:
    query = subtree_q(staff_paths(user), "node__path")
    # A round organized above covers the community (which scores its units) and the unit.
    covering = {a for p in [*_own_unit_paths(user), *staff_paths(user)] for a in ancestor_paths(p)}
    if covering:
        query |= Q(node__path__in=sorted(covering))
    return EvaluationRound.objects.filter(query)


def round_list(user: Any) -> QuerySet[EvaluationRound]:
    return (
        visible_rounds(user)
        .select_related("node")
        .annotate(sheets_total=Count("sheets"))
        .order_by("-year", "node__path", "id")
    )


def get_round_for_user(user: Any, pk: Any, *, write: bool = False) -> EvaluationRound:
    evaluation = _get_or_404(
        visible_rounds(user).select_related("node").prefetch_related("items"), pk
    )
    if write:
        _authorize(user, "cobuild.change_round", evaluation)
    return evaluation


def round_units(evaluation: EvaluationRound) -> QuerySet[ResidentUnit]:
    """The units the round covers: open units located in its node's subtree."""
    return ResidentUnit.objects.filter(
        node__path__startswith=evaluation.node.path, closed_at__isnull=True
    ).select_related("node")


def round_communities(evaluation: EvaluationRound) -> QuerySet[OrgNode]:
    return OrgNode.objects.filter(
        path__startswith=evaluation.node.path, level=Level.COMMUNITY, closed_at__isnull=True
    ).order_by("path")


def community_of(unit: ResidentUnit) -> OrgNode | None:
    """The community a unit is located in (its node, or the node's community ancestor)."""
    path = _prefix(unit.node.path, 3)
    if unit.node.path == path:
        return unit.node if unit.node.level == Level.COMMUNITY else None
    return OrgNode.objects.filter(path=path, level=Level.COMMUNITY).first()


def visible_sheets(user: Any, evaluation: EvaluationRound) -> QuerySet[EvaluationSheet]:
    """Sheets of the round: all of them for its organizers and the admins of the community
    scored or scoring; a liaison sees the sheets their unit filled or received."""
    queryset = evaluation.sheets.select_related("unit", "community", "submitted_by")
    query = subtree_q(staff_paths(user), "community__path")
    own = own_unit_ids(user)
    if own:
        query |= Q(unit_id__in=own)
    return queryset.filter(query).prefetch_related("scores__item")


@dataclass
class Result:
    subject: Any
    score: Decimal
    sheets: int
    rank: int = 0


def _ranked(results: list[Result]) -> list[Result]:
    """Competition ranking (1, 1, 3): ties share the better rank, the next one skips."""
    results.sort(key=lambda r: (-r.score, str(r.subject)))
    for index, result in enumerate(results):
        if index and result.score == results[index - 1].score:
            result.rank = results[index - 1].rank
        else:
            result.rank = index + 1
    return results


def average(values: list[Decimal]) -> Decimal:
    return (sum(values, Decimal(0)) / len(values)).quantize(TWO_PLACES, ROUND_HALF_UP)


@dataclass
class RoundResults:
    units: list[Result]
    communities: list[Result]


def round_results(evaluation: EvaluationRound) -> RoundResults:
    """Each unit's score is the mean of the weighted totals of the sheets its community filled
    about it; each community's the mean of its units' sheets about it; ranked (two queries)."""
    by_unit: dict[int, list[Decimal]] = defaultdict(list)
    by_community: dict[int, list[Decimal]] = defaultdict(list)
    sheets = evaluation.sheets.values_list("direction", "unit_id", "community_id", "total")
    for direction, unit_id, community_id, total in sheets:
        if direction == EvaluationDirection.COMMUNITY_RATES_UNIT:
            by_unit[unit_id].append(total)
        else:
            by_community[community_id].append(total)
    units = {u.pk: u for u in ResidentUnit.objects.filter(pk__in=by_unit)}
    nodes = {n.pk: n for n in OrgNode.objects.filter(pk__in=by_community)}
    return RoundResults(
        units=_ranked([Result(units[k], average(v), len(v)) for k, v in by_unit.items()]),
        communities=_ranked(
            [Result(nodes[k], average(v), len(v)) for k, v in by_community.items()]
        ),
    )


def round_awards(evaluation: EvaluationRound) -> QuerySet[Award]:
    return evaluation.awards.select_related("unit").order_by("kind", "id")


# ---------------------------------------------------------------------------------------------
# consultations and the unit's annual report


def visible_consultations(user: Any) -> QuerySet[Consultation]:
    return Consultation.objects.filter(_scoped(user, "community__path", "unit_id"))


def consultation_list(user: Any) -> QuerySet[Consultation]:
    return visible_consultations(user).select_related("unit", "community")


def get_consultation_for_user(user: Any, pk: Any) -> Consultation:
    return _get_or_404(visible_consultations(user).select_related("unit", "community"), pk)


def get_report_unit_for_user(user: Any, pk: Any) -> ResidentUnit:
    """A unit whose annual report the user may read: in an admin's subtree, or the liaison's."""
    return _get_or_404(
        ResidentUnit.objects.filter(_scoped(user, "node__path", "id")).select_related("node"), pk
    )


@dataclass
class AnnualReport:
    unit: ResidentUnit
    year: int
    meetings_attended: int
    meetings_invited: int
    commitments_total: int
    commitments_kept: int
    commitments_confirmed: int
    commitments_overdue: int
    unit_commitments_total: int
    unit_commitments_kept: int
    members_reported: int
    ratings: dict[str, int]
    evaluation_score: Decimal | None
    evaluation_rank: int | None
    evaluation_of: int
    awards: list[str]
    consultations: int

    @property
    def kept_rate(self) -> Decimal | None:
        if not self.unit_commitments_total:
            return None
        return (
            Decimal(self.unit_commitments_kept * 100) / Decimal(self.unit_commitments_total)
        ).quantize(TWO_PLACES, ROUND_HALF_UP)

    def lines(self) -> list[tuple[str, Any]]:
        """The report as (label, value) rows, for the page and the .xlsx export."""
        from django.utils.translation import gettext as _

        from tongxin.people.models import Rating

        rows: list[tuple[str, Any]] = [
            (_("单位"), self.unit.name),
            (_("年度"), self.year),
            (_("联席会议出席（次）"), self.meetings_attended),
            (_("所在大工委/大党委召开联席会议（次）"), self.meetings_invited),
            (_("共建协议承诺事项（项，不含取消）"), self.commitments_total),
            (_("其中已履行（项）"), self.commitments_kept),
            (_("其中对方已确认（项）"), self.commitments_confirmed),
            (_("其中逾期未履行（项）"), self.commitments_overdue),
            (_("单位承诺事项（项）"), self.unit_commitments_total),
            (_("单位承诺已履行（项）"), self.unit_commitments_kept),
            (_("单位承诺履行率（%）"), self.kept_rate if self.kept_rate is not None else "—"),
            (_("在职党员到社区报到（人）"), self.members_reported),
        ]
        for value, label in Rating.choices:
            rows.append((_("社区评价为「%(r)s」（人）") % {"r": label}, self.ratings.get(value, 0)))
        rows += [
            (
                _("双向评议得分"),
                self.evaluation_score if self.evaluation_score is not None else "—",
            ),
            (
                _("双向评议排名"),
                f"{self.evaluation_rank}/{self.evaluation_of}" if self.evaluation_rank else "—",
            ),
            (_("获得表彰"), "、".join(self.awards) or "—"),
            (_("提拔/评优前征求社区意见（次）"), self.consultations),
        ]
        return rows


def annual_report(unit: ResidentUnit, year: int) -> AnnualReport:
    """The figures of 双向约束 for one unit and year (a fixed number of queries)."""
    from tongxin.people.models import Registration, YearRating

    attended = MeetingAttendance.objects.filter(
        unit=unit, present=True, meeting__held_on__year=year
    ).count()
    bodies = CommitteeMember.objects.filter(unit=unit).values("body_id")
    invited = JointMeeting.objects.filter(body_id__in=bodies, held_on__year=year).count()
    states = dict(
        Commitment.objects.filter(agreement__unit=unit, agreement__year=year)
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    unit_states = dict(
        Commitment.objects.filter(
            agreement__unit=unit, agreement__year=year, side=CommitmentSide.UNIT
        )
        .exclude(state=CommitmentState.CANCELLED)
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    reported = Registration.objects.filter(unit=unit, registered_on__lte=end).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=start)
    )
    ratings = dict(
        YearRating.objects.filter(registration__unit=unit, year=year)
        .order_by()
        .values_list("rating")
        .annotate(n=Count("pk"))
    )
    score = rank = None
    of = 0
    awards: list[str] = []
    for evaluation in EvaluationRound.objects.filter(
        year=year, node__path__in=ancestor_paths(unit.node.path)
    ).order_by("-node__depth")[:1]:
        results = round_results(evaluation).units
        of = len(results)
        for result in results:
            if result.subject.pk == unit.pk:
                score, rank = result.score, result.rank
        awards = [a.get_kind_display() for a in evaluation.awards.filter(unit=unit)]
    total = sum(n for s, n in states.items() if s != CommitmentState.CANCELLED)
    return AnnualReport(
        unit=unit,
        year=year,
        meetings_attended=attended,
        meetings_invited=invited,
        commitments_total=total,
        commitments_kept=sum(states.get(s, 0) for s in COMMITMENT_DONE),
        commitments_confirmed=states.get(CommitmentState.CONFIRMED, 0),
        commitments_overdue=states.get(CommitmentState.OVERDUE, 0),
        unit_commitments_total=sum(unit_states.values()),
        unit_commitments_kept=sum(unit_states.get(s, 0) for s in COMMITMENT_DONE),
        members_reported=reported.count(),
        ratings=ratings,
        evaluation_score=score,
        evaluation_rank=rank,
        evaluation_of=of,
        awards=awards,
        consultations=Consultation.objects.filter(unit=unit, consulted_on__year=year).count(),
    )

"""Reads of people data, always scoped to what the user may see.

Every list starts from a `visible_*(user)` queryset: the OR of the user's people-role subtrees
(tongxin.core.scoping path prefixes) and, for a member or resident, their own record. Single
objects come from `get_*_for_user(user, pk, *, write=False)`: 404 outside scope (the same answer
as "does not exist"), 403 when seen but not changeable. Lists fetch related rows in a fixed number
of queries whatever the page size.

Sensitive special groups are filtered *inside* the querysets: a street or district admin's list
never carries them and cannot be filtered by them (that would reveal membership); they get counts
from `group_counts()` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.utils import timezone

from tongxin.core.scoping import grants, scope_paths, subtree_q
from tongxin.orgs.models import Level, OrgNode, PartyOrganization, ResidentUnit
from tongxin.people.models import (
    OPEN_GROUPS,
    SENSITIVE_GROUPS,
    Building,
    Category,
    DuesLedger,
    DuesPayment,
    FloatingRecord,
    Household,
    MemberStatus,
    MemberTransfer,
    PartyMember,
    Person,
    PersonGroup,
    Registration,
    Resident,
    ServicePost,
    ServiceRecord,
    Volunteer,
    VolunteerTeam,
    YearRating,
)
from tongxin.people.rules import (
    COMMUNITY_PATH_LENGTH,
    MANAGING_ROLES,
    PEOPLE_ROLES,
    can,
    liaison_unit_ids,
    serving_paths,
)
from tongxin.people.validation import money

ZERO = Decimal("0.00")

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


def _authorize(user: Any, perm: str, obj: Any) -> None:
    if not can(user, perm, obj):
        raise PermissionDenied


def people_paths(user: Any) -> list[str]:
    return scope_paths(user, PEOPLE_ROLES)


def _self_q(user: Any, prefix: str) -> Q:
    # Guard: `user_id=None` would match every person without an account.
    if user is None or not user.is_authenticated or user.pk is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix}user_id": user.pk})


def person_scope_q(user: Any, prefix: str = "") -> Q:
    """Rows reaching a person the user may see: territory or own record."""
    return subtree_q(people_paths(user), f"{prefix}node__path") | _self_q(user, prefix)


def today() -> date:
    return timezone.localdate()


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def month_start(day: date) -> date:
    return day.replace(day=1)


def _count_subquery(queryset: QuerySet, outer_field: str) -> Coalesce:
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# ---------------------------------------------------------------------------------------------
# persons and special groups


def sensitive_visible_q(user: Any, prefix: str = "person__") -> Q:
    """Group tags the user may see: open groups, and sensitive ones where they serve."""
    return (
        Q(group__in=sorted(OPEN_GROUPS))
        | subtree_q(serving_paths(user), f"{prefix}node__path")
        | _self_q(user, prefix)
    )


def groups_prefetch(user: Any, lookup: str = "groups") -> Prefetch:
    """Prefetch each person's special groups the user may see into `visible_groups`."""
    return Prefetch(
        lookup,
        queryset=PersonGroup.objects.filter(sensitive_visible_q(user)).order_by("group"),
        to_attr="visible_groups",
    )


def visible_persons(user: Any) -> QuerySet[Person]:
    return Person.objects.filter(person_scope_q(user))


def get_person_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "people.change_person"
) -> Person:
    person = _get_or_404(visible_persons(user).select_related("node"), pk)
    if write:
        _authorize(user, perm, person)
    return person


def find_person_by_id_number(user: Any, number: str) -> Person | None:
    """Exact look-up through the blind index, within the user's scope."""
    return visible_persons(user).filter(Person.id_number.lookup(number)).first()


def _search_q(term: str, prefix: str = "") -> Q:
    """Name contains the term; an ID number or phone matches exactly (blind index); four digits
    match a phone's last four (from the masked copy)."""
    term = term.strip()
    query = Q(**{f"{prefix}name__icontains": term})
    compact = term.replace(" ", "").replace("-", "")
    if len(compact) == 18 or (len(compact) == 17 and compact.isdigit()):
        query |= Person.id_number.lookup(compact.upper(), prefix)
    elif compact.isdigit() and len(compact) >= 7:
        query |= Person.phone.lookup(compact, prefix)
    elif compact.isdigit() and len(compact) == 4:
        query |= Q(**{f"{prefix}phone_masked__endswith": compact})
    return query


def _group_filter(queryset: QuerySet, user: Any, group: str, prefix: str) -> QuerySet:
    """Persons in `group`, but a sensitive group only where the user serves (or their own)."""
    tags = PersonGroup.objects.filter(person=OuterRef(f"{prefix}pk" if prefix else "pk"))
    tags = tags.filter(group=group)
    if group in SENSITIVE_GROUPS:
        tags = tags.filter(
            subtree_q(serving_paths(user), "person__node__path") | _self_q(user, "person__")
        )
    return queryset.filter(Exists(tags))


def _node_filter(node: OrgNode | None, prefix: str) -> Q:
    return Q(**{f"{prefix}node__path__startswith": node.path}) if node is not None else Q()


# ---------------------------------------------------------------------------------------------
# party members


def visible_members(user: Any) -> QuerySet[PartyMember]:
    return PartyMember.objects.filter(person_scope_q(user, "person__"))


@dataclass
class MemberFilters:
    search: str = ""
    category: str = ""
    status: str = ""
    membership_type: str = ""
    node: OrgNode | None = None
    branch: OrgNode | None = None
    organization: PartyOrganization | None = None
    unit: ResidentUnit | None = None
    group: str = ""
    age_min: int | None = None


def member_list(user: Any, filters: MemberFilters | None = None) -> QuerySet[PartyMember]:
    """Members the user sees, filtered, with everything a list row shows (fixed queries)."""
    f = filters or MemberFilters()
    queryset = visible_members(user)
    if f.search.strip():
        queryset = queryset.filter(_search_q(f.search, "person__"))
    if f.category:
        queryset = queryset.filter(category=f.category)
    if f.status:
        queryset = queryset.filter(status=f.status)
    if f.membership_type:
        queryset = queryset.filter(membership_type=f.membership_type)
    if f.node is not None:
        queryset = queryset.filter(_node_filter(f.node, "person__"))
    if f.branch is not None:
        queryset = queryset.filter(branch=f.branch)
    if f.organization is not None:
        queryset = queryset.filter(organization=f.organization)
    if f.unit is not None:
        queryset = queryset.filter(unit=f.unit)
    if f.group:
        queryset = _group_filter(queryset, user, f.group, "person__")
    if f.age_min is not None:
        queryset = queryset.filter(person__birth_date__lte=years_before(today(), f.age_min))
    return (
        queryset.select_related("person__node", "organization", "branch", "unit")
        .prefetch_related(groups_prefetch(user, "person__groups"))
        .order_by("person__node__path", "person__name", "id")
    )


def get_member_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "people.change_member"
) -> PartyMember:
    queryset = visible_members(user).select_related(
        "person__node", "person__user", "organization__node", "branch", "unit"
    )
    member = _get_or_404(queryset.prefetch_related(groups_prefetch(user, "person__groups")), pk)
    if write:
        _authorize(user, perm, member)
    return member


def member_transfers(member: PartyMember) -> QuerySet[MemberTransfer]:
    return member.transfers.select_related("from_organization", "to_organization", "actor")


def member_floating(member: PartyMember) -> QuerySet[FloatingRecord]:
    return member.floating.order_by("-since", "-id")


def get_floating_for_user(user: Any, pk: Any, *, write: bool = False) -> FloatingRecord:
    queryset = FloatingRecord.objects.filter(member__in=visible_members(user)).select_related(
        "member__person__node"
    )
    record = _get_or_404(queryset, pk)
    if write:
        _authorize(user, "people.manage_floating", record.member)
    return record


def member_counts_by_category(user: Any, node: OrgNode | None = None) -> list[tuple[str, str, int]]:
    """Members in normal standing by category, for a subtree (one query)."""
    queryset = visible_members(user).filter(status=MemberStatus.NORMAL)
    if node is not None:
        queryset = queryset.filter(_node_filter(node, "person__"))
    counts = dict(queryset.order_by().values_list("category").annotate(n=Count("pk")))
    return [(code, str(label), counts.get(code, 0)) for code, label in Category.choices]


def organization_choices(user: Any) -> QuerySet[PartyOrganization]:
    """Open party organizations in the user's people scope (to hold a member's record)."""
    return (
        PartyOrganization.objects.filter(
            subtree_q(people_paths(user), "node__path"), closed_at__isnull=True
        )
        .select_related("node")
        .order_by("node__path", "id")
    )


def transfer_destinations(user: Any) -> QuerySet[PartyOrganization]:
    """Open organizations anywhere in the user's district(s): a member may move to a sibling
    community the sender does not manage (the receiving side sees them from then on)."""
    districts = sorted({g.path[:5] for g in grants(user) if g.role in MANAGING_ROLES})
    return (
        PartyOrganization.objects.filter(
            subtree_q(districts, "node__path"), closed_at__isnull=True, node__closed_at__isnull=True
        )
        .select_related("node")
        .order_by("node__path", "id")
    )


def grid_choices(user: Any) -> QuerySet[OrgNode]:
    """Open grids (and communities) in the user's people scope: where a person may belong."""
    return OrgNode.objects.filter(
        subtree_q(people_paths(user)),
        level__in=[Level.COMMUNITY, Level.GRID],
        closed_at__isnull=True,
    ).order_by("path")


def _districts(user: Any) -> list[str]:
    return sorted({p[:5] for p in people_paths(user)})


def unit_choices(user: Any) -> QuerySet[ResidentUnit]:
    """Open units of the user's district(s): a member's employer may sit in another community
    (unit names are not personal data)."""
    return (
        ResidentUnit.objects.filter(
            subtree_q(_districts(user), "node__path"), closed_at__isnull=True
        )
        .select_related("node")
        .order_by("name")
    )


# ---------------------------------------------------------------------------------------------
# residents, households, buildings


def visible_residents(user: Any) -> QuerySet[Resident]:
    return Resident.objects.filter(person_scope_q(user, "person__"))


@dataclass
class ResidentFilters:
    search: str = ""
    node: OrgNode | None = None
    group: str = ""
    residence_type: str = ""
    household: Household | None = None
    include_moved_out: bool = False


def resident_list(user: Any, filters: ResidentFilters | None = None) -> QuerySet[Resident]:
    f = filters or ResidentFilters()
    queryset = visible_residents(user)
    if not f.include_moved_out:
        queryset = queryset.filter(moved_out_on__isnull=True)
    if f.search.strip():
        queryset = queryset.filter(_search_q(f.search, "person__"))
    if f.node is not None:
        queryset = queryset.filter(_node_filter(f.node, "person__"))
    if f.residence_type:
        queryset = queryset.filter(residence_type=f.residence_type)
    if f.household is not None:
        queryset = queryset.filter(household=f.household)
    if f.group:
        queryset = _group_filter(queryset, user, f.group, "person__")
    return (
        queryset.select_related("person__node", "household__building", "person__membership")
        .prefetch_related(groups_prefetch(user, "person__groups"))
        .order_by("person__node__path", "household_id", "person__name", "id")
    )


def get_resident_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "people.change_resident"
) -> Resident:
    queryset = visible_residents(user).select_related(
        "person__node", "person__membership", "household__building", "household__node"
    )
    resident = _get_or_404(queryset.prefetch_related(groups_prefetch(user, "person__groups")), pk)
    if write:
        _authorize(user, perm, resident)
    return resident


def visible_households(user: Any) -> QuerySet[Household]:
    return Household.objects.filter(subtree_q(people_paths(user), "node__path"))


def household_list(
    user: Any, *, node: OrgNode | None = None, building: Building | None = None, search: str = ""
) -> QuerySet[Household]:
    queryset = visible_households(user)
    if node is not None:
        queryset = queryset.filter(node__path__startswith=node.path)
    if building is not None:
        queryset = queryset.filter(building=building)
    if search.strip():
        term = search.strip()
        queryset = queryset.filter(
            Q(door__icontains=term) | Q(address__icontains=term) | Q(building__name__icontains=term)
        )
    current = Resident.objects.filter(moved_out_on__isnull=True)
    head = current.filter(household=OuterRef("pk"), relation="head").values("person__name")[:1]
    return (
        queryset.select_related("node", "building")
        .annotate(
            resident_count=_count_subquery(current, "household_id"),
            head_name=Subquery(head),
        )
        .order_by("node__path", "building__name", "door", "id")
    )


def get_household_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "people.change_household"
) -> Household:
    household = _get_or_404(visible_households(user).select_related("node", "building"), pk)
    if write:
        _authorize(user, perm, household)
    return household


def household_residents(user: Any, household: Household) -> QuerySet[Resident]:
    return resident_list(user, ResidentFilters(household=household, include_moved_out=True))


def visible_buildings(user: Any) -> QuerySet[Building]:
    return Building.objects.filter(subtree_q(people_paths(user), "node__path"))


def building_list(
    user: Any, *, node: OrgNode | None = None, search: str = ""
) -> QuerySet[Building]:
    queryset = visible_buildings(user)
    if node is not None:
        queryset = queryset.filter(node__path__startswith=node.path)
    if search.strip():
        queryset = queryset.filter(
            Q(name__icontains=search.strip()) | Q(address__icontains=search.strip())
        )
    return (
        queryset.select_related("node")
        .annotate(household_count=_count_subquery(Household.objects.all(), "building_id"))
        .order_by("node__path", "name", "id")
    )


def get_building_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "people.change_building"
) -> Building:
    building = _get_or_404(visible_buildings(user).select_related("node"), pk)
    if write:
        _authorize(user, perm, building)
    return building


@dataclass
class GroupCount:
    node: OrgNode
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def group_counts(user: Any, node: OrgNode | None = None) -> list[GroupCount]:
    """Special-group counts per community in the user's scope (one query + the communities).

    Counts are all anyone above the serving community learns about sensitive groups; they are
    grouped by community (never by grid or building) so a count rarely points at one household.
    """
    persons = visible_persons(user)
    if node is not None:
        persons = persons.filter(node__path__startswith=node.path)
    rows = (
        PersonGroup.objects.filter(person__in=persons)
        .exclude(person__resident__moved_out_on__isnull=False)  # moved away: no longer served
        .annotate(community_path=Substr("person__node__path", 1, COMMUNITY_PATH_LENGTH))
        .order_by()
        .values_list("community_path", "group")
        .annotate(n=Count("pk"))
    )
    by_path: dict[str, dict[str, int]] = {}
    for path, group, n in rows:
        by_path.setdefault(path, {})[group] = n
    communities = OrgNode.objects.filter(path__in=list(by_path), level=Level.COMMUNITY)
    return [GroupCount(c, by_path.get(c.path, {})) for c in communities.order_by("path")]


# ---------------------------------------------------------------------------------------------
# in-service reporting


def visible_registrations(user: Any) -> QuerySet[Registration]:
    units = liaison_unit_ids(user)
    scope = person_scope_q(user, "member__person__")
    if units:
        scope |= Q(unit_id__in=sorted(units))
    return Registration.objects.filter(scope)


def registration_list(
    user: Any,
    *,
    community: OrgNode | None = None,
    unit: ResidentUnit | None = None,
    open_only: bool = True,
    year: int | None = None,
) -> QuerySet[Registration]:
    queryset = visible_registrations(user)
    if open_only:
        queryset = queryset.filter(ended_on__isnull=True)
    if community is not None:
        queryset = queryset.filter(community__path__startswith=community.path)
    if unit is not None:
        queryset = queryset.filter(unit=unit)
    year = year or today().year
    hours = (
        ServiceRecord.objects.filter(registration=OuterRef("pk"), served_on__year=year)
        .order_by()
        .values("registration")
        .annotate(total=Sum("hours"))
        .values("total")
    )
    rating = YearRating.objects.filter(registration=OuterRef("pk"), year=year).values("rating")[:1]
    return (
        queryset.select_related("member__person__node", "community", "unit")
        .prefetch_related("posts")
        .annotate(
            year_hours=Coalesce(
                Subquery(hours, output_field=DecimalField(max_digits=8, decimal_places=1)),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=8, decimal_places=1),
            ),
            year_rating=Subquery(rating),
        )
        .order_by("community__path", "member__person__name", "id")
    )


def get_registration_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "people.record_service"
) -> Registration:
    queryset = visible_registrations(user).select_related(
        "member__person__node", "community", "unit"
    )
    registration = _get_or_404(queryset.prefetch_related("posts"), pk)
    if write:
        _authorize(user, perm, registration)
    return registration


def registration_records(registration: Registration) -> QuerySet[ServiceRecord]:
    return registration.records.select_related("post", "recorded_by")


def service_posts(community: OrgNode) -> QuerySet[ServicePost]:
    return ServicePost.objects.filter(community=community, active=True).order_by("name")


def _open_registration() -> Exists:
    return Exists(Registration.objects.filter(member=OuterRef("pk"), ended_on__isnull=True))


def reporting_members(
    user: Any, *, community: OrgNode | None = None, unit: ResidentUnit | None = None
) -> QuerySet[PartyMember]:
    """In-service members in normal standing with a `reported` flag.

    For a unit, its liaison sees all of the unit's in-service members; territorial users see
    those living in their scope. Otherwise members living in the user's scope (or `community`).
    """
    base = PartyMember.objects.filter(category=Category.IN_SERVICE, status=MemberStatus.NORMAL)
    if unit is not None:
        base = base.filter(unit=unit)
        if unit.pk not in liaison_unit_ids(user):
            base = base.filter(person_scope_q(user, "person__"))
    else:
        base = base.filter(person_scope_q(user, "person__"))
    if community is not None:
        base = base.filter(person__node__path__startswith=community.path)
    return (
        base.annotate(reported=_open_registration())
        .select_related("person__node", "unit")
        .order_by("person__node__path", "person__name", "id")
    )


@dataclass
class ReportingRow:
    key: Any
    label: str
    total: int
    reported: int
    unit_id: int | None = None

    @property
    def not_reported(self) -> int:
        return self.total - self.reported


def reporting_by_unit(user: Any) -> list[ReportingRow]:
    """Reported / not reported per unit, over the in-service members the user sees."""
    rows = (
        reporting_members(user)
        .order_by()
        .values("unit_id", "unit__name", "work_unit_name")
        .annotate(total=Count("pk"), reported_n=Count("pk", filter=Q(reported=True)))
    )
    out: dict[Any, ReportingRow] = {}
    for row in rows:
        key = row["unit_id"] or row["work_unit_name"] or ""
        label = row["unit__name"] or row["work_unit_name"] or "—"
        entry = out.setdefault(key, ReportingRow(key, label, 0, 0, row["unit_id"]))
        entry.total += row["total"]
        entry.reported += row["reported_n"]
    return sorted(out.values(), key=lambda r: (-r.not_reported, r.label))


def reporting_by_community(user: Any) -> list[ReportingRow]:
    """Reported / not reported per residence community."""
    rows = (
        reporting_members(user)
        .annotate(community_path=Substr("person__node__path", 1, COMMUNITY_PATH_LENGTH))
        .order_by()
        .values("community_path")
        .annotate(total=Count("pk"), reported_n=Count("pk", filter=Q(reported=True)))
    )
    by_path = {r["community_path"]: r for r in rows}
    communities = OrgNode.objects.filter(path__in=list(by_path), level=Level.COMMUNITY)
    return [
        ReportingRow(c, c.name, by_path[c.path]["total"], by_path[c.path]["reported_n"])
        for c in communities.order_by("path")
    ]


# ---------------------------------------------------------------------------------------------
# dues


def visible_ledger(user: Any) -> QuerySet[DuesLedger]:
    return DuesLedger.objects.filter(person_scope_q(user, "member__person__"))


@dataclass
class LedgerFilters:
    month: date | None = None
    node: OrgNode | None = None
    branch: OrgNode | None = None
    member: PartyMember | None = None
    arrears_only: bool = False
    search: str = ""


def ledger_list(user: Any, filters: LedgerFilters | None = None) -> QuerySet[DuesLedger]:
    f = filters or LedgerFilters()
    queryset = visible_ledger(user)
    if f.month is not None:
        queryset = queryset.filter(month=month_start(f.month))
    if f.node is not None:
        queryset = queryset.filter(member__person__node__path__startswith=f.node.path)
    if f.branch is not None:
        queryset = queryset.filter(branch=f.branch)
    if f.member is not None:
        queryset = queryset.filter(member=f.member)
    if f.arrears_only:
        queryset = queryset.filter(paid__lt=F("amount"), month__lte=month_start(today()))
    if f.search.strip():
        queryset = queryset.filter(_search_q(f.search, "member__person__"))
    return (
        queryset.select_related("member__person__node", "branch")
        .prefetch_related(
            Prefetch(
                "payments",
                queryset=DuesPayment.objects.select_related("collected_by").order_by(
                    "paid_on", "id"
                ),
            )
        )
        .order_by("-month", "member__person__node__path", "member__person__name", "id")
    )


def get_ledger_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "people.collect_dues"
) -> DuesLedger:
    queryset = visible_ledger(user).select_related("member__person__node", "branch")
    ledger = _get_or_404(queryset, pk)
    if write:
        _authorize(user, perm, ledger)
    return ledger


@dataclass
class Arrears:
    months: int
    amount: Decimal


def member_arrears(member: PartyMember, *, up_to: date | None = None) -> Arrears:
    """Months not fully paid up to the current month, and the amount outstanding."""
    up_to = month_start(up_to or today())
    figures = member.dues.filter(paid__lt=F("amount"), month__lte=up_to).aggregate(
        months=Count("pk"), due=Coalesce(Sum("amount"), ZERO), paid=Coalesce(Sum("paid"), ZERO)
    )
    return Arrears(figures["months"], money(figures["due"] - figures["paid"]))


@dataclass
class BranchSummary:
    branch: OrgNode | None
    members: int
    due: Decimal
    paid: Decimal
    paid_members: int
    collected_on_behalf: int

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid

    @property
    def rate(self) -> float | None:
        return self.paid_members / self.members if self.members else None


def dues_summary(user: Any, month: date, node: OrgNode | None = None) -> list[BranchSummary]:
    """One month's dues per branch: members, due, paid, fully-paid members, 代收 count."""
    queryset = visible_ledger(user).filter(month=month_start(month))
    if node is not None:
        queryset = queryset.filter(member__person__node__path__startswith=node.path)
    on_behalf = DuesPayment.objects.filter(ledger=OuterRef("pk"), collected_by__isnull=False)
    rows = (
        queryset.annotate(proxy=Exists(on_behalf))
        .order_by()
        .values("branch_id")
        .annotate(
            members=Count("pk"),
            due=Coalesce(Sum("amount"), ZERO),
            paid_sum=Coalesce(Sum("paid"), ZERO),
            paid_members=Count("pk", filter=Q(paid__gte=F("amount"))),
            proxies=Count("pk", filter=Q(proxy=True)),
        )
    )
    rows = list(rows)
    branches = OrgNode.objects.in_bulk([r["branch_id"] for r in rows if r["branch_id"]])
    out = [
        BranchSummary(
            branch=branches.get(r["branch_id"]),
            members=r["members"],
            due=money(r["due"]),
            paid=money(r["paid_sum"]),
            paid_members=r["paid_members"],
            collected_on_behalf=r["proxies"],
        )
        for r in rows
    ]
    return sorted(out, key=lambda s: s.branch.path if s.branch else "~")


def branch_choices(user: Any) -> QuerySet[OrgNode]:
    return OrgNode.objects.filter(
        subtree_q(people_paths(user)), level=Level.GRID, closed_at__isnull=True
    ).order_by("path")


# ---------------------------------------------------------------------------------------------
# volunteers


def visible_teams(user: Any) -> QuerySet[VolunteerTeam]:
    return VolunteerTeam.objects.filter(subtree_q(people_paths(user), "node__path"))


def team_list(user: Any, *, include_closed: bool = False) -> QuerySet[VolunteerTeam]:
    queryset = visible_teams(user)
    if not include_closed:
        queryset = queryset.filter(closed_at__isnull=True)
    return (
        queryset.select_related("node", "leader")
        .annotate(
            volunteer_count=_count_subquery(
                Volunteer.teams.through.objects.all(), "volunteerteam_id"
            )
        )
        .order_by("node__path", "name")
    )


def get_team_for_user(user: Any, pk: Any, *, write: bool = False) -> VolunteerTeam:
    team = _get_or_404(visible_teams(user).select_related("node", "leader"), pk)
    if write:
        _authorize(user, "people.change_volunteer_team", team)
    return team


def visible_volunteers(user: Any) -> QuerySet[Volunteer]:
    return Volunteer.objects.filter(person_scope_q(user, "person__"))


def volunteer_list(
    user: Any, *, team: VolunteerTeam | None = None, search: str = "", node: OrgNode | None = None
) -> QuerySet[Volunteer]:
    queryset = visible_volunteers(user)
    if team is not None:
        queryset = queryset.filter(teams=team)
    if node is not None:
        queryset = queryset.filter(person__node__path__startswith=node.path)
    if search.strip():
        queryset = queryset.filter(_search_q(search, "person__"))
    return (
        queryset.select_related("person__node")
        .prefetch_related(Prefetch("teams", queryset=VolunteerTeam.objects.order_by("name")))
        .order_by("person__node__path", "person__name", "id")
    )


def get_volunteer_for_user(user: Any, pk: Any, *, write: bool = False) -> Volunteer:
    volunteer = _get_or_404(visible_volunteers(user).select_related("person__node"), pk)
    if write:
        _authorize(user, "people.register_volunteer", volunteer)
    return volunteer

"""Reads of the organization network, always scoped to what the user may see.

Every list starts from a `visible_*(user)` queryset built from the user's role assignments with
`tongxin.core.scoping` (a path-prefix filter), so a list can never show a row from a sibling
subtree. Every single object is fetched with a `get_*_for_user(user, pk, *, write=False)` helper:
404 when the user may not see it (the same answer as "does not exist", so nothing leaks),
403 when they see it but may not change it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES
from tongxin.core.scoping import scope_paths, subtree_q
from tongxin.orgs.models import (
    CHILD_LEVEL,
    COMMITTEE_SIZE_NORMS,
    NEW_SECTOR_TYPES,
    PARENT_LEVEL,
    PATH_SEGMENT_LENGTH,
    CommitteeMember,
    ContactPoint,
    ContactProject,
    InstructorAssignment,
    Level,
    NodeChange,
    OrgCategory,
    OrgKind,
    OrgNode,
    PartyOrganization,
    PartyStatus,
    ResidentUnit,
    UnitType,
)
from tongxin.orgs.rules import (
    CONTACT_EDIT_ROLES,
    UNIT_TERRITORY_ROLES,
    can,
    liaison_unit_ids,
)

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


def _count_subquery(queryset: QuerySet, outer_field: str = "pk") -> Coalesce:
    """A correlated COUNT(*) that stays one query whatever the page size (no join fan-out)."""
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def today() -> date:
    return timezone.localdate()


def current_members_q(on: date | None = None, prefix: str = "") -> Q:
    """Members serving on `on`: not left, and the term not over."""
    on = on or today()
    return Q(**{f"{prefix}left_on__isnull": True}) & (
        Q(**{f"{prefix}term_end__isnull": True}) | Q(**{f"{prefix}term_end__gte": on})
    )


# ---------------------------------------------------------------------------------------------
# nodes


def node_scope_paths(user: Any) -> list[str]:
    return scope_paths(user, BUSINESS_ROLES)


def visible_nodes(user: Any, *, include_closed: bool = True) -> QuerySet[OrgNode]:
    """Nodes in the subtrees where the user holds a business role (none for the 三员)."""
    queryset = OrgNode.objects.filter(subtree_q(node_scope_paths(user)))
    if not include_closed:
        queryset = queryset.filter(closed_at__isnull=True)
    return queryset


def manageable_nodes(user: Any, *, levels: Iterable[str] | None = None) -> QuerySet[OrgNode]:
    """Open nodes where the user may create or edit (ancestor-or-self of a managing role)."""
    queryset = OrgNode.objects.filter(
        subtree_q(scope_paths(user, MANAGING_ROLES)), closed_at__isnull=True
    )
    if levels is not None:
        queryset = queryset.filter(level__in=list(levels))
    return queryset


def get_node_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "orgs.change_node"
) -> OrgNode:
    """The node, or 404 when it is outside the user's scope; 403 for `write` without `perm`."""
    node = _get_or_404(visible_nodes(user), pk)
    if write:
        _authorize(user, perm, node)
    return node


def with_territorial_org(queryset: QuerySet[OrgNode]) -> QuerySet[OrgNode]:
    """Prefetch each node's open territorial party organization into `territorial_orgs`."""
    return queryset.prefetch_related(
        Prefetch(
            "party_orgs",
            queryset=PartyOrganization.objects.filter(
                category=OrgCategory.TERRITORIAL, closed_at__isnull=True
            ).order_by("id"),
            to_attr="territorial_orgs",
        )
    )


def territorial_org(node: OrgNode) -> PartyOrganization | None:
    prefetched = getattr(node, "territorial_orgs", None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return node.party_orgs.filter(category=OrgCategory.TERRITORIAL, closed_at__isnull=True).first()


def with_counts(queryset: QuerySet[OrgNode]) -> QuerySet[OrgNode]:
    """Annotate open child, closed child and open unit counts, as correlated subqueries."""
    return queryset.annotate(
        open_children=_count_subquery(OrgNode.objects.filter(closed_at__isnull=True), "parent_id"),
        closed_children=_count_subquery(
            OrgNode.objects.filter(closed_at__isnull=False), "parent_id"
        ),
        open_units=_count_subquery(ResidentUnit.objects.filter(closed_at__isnull=True), "node_id"),
    )


def node_children(user: Any, node: OrgNode, *, include_closed: bool = False) -> QuerySet[OrgNode]:
    """The node's children the user sees, with their counts and territorial organization."""
    queryset = visible_nodes(user, include_closed=include_closed).filter(parent=node)
    return with_territorial_org(with_counts(queryset)).order_by("path")


def tree_roots(user: Any, *, include_closed: bool = False) -> QuerySet[OrgNode]:
    """The top of the user's scope: the nodes they hold business roles at, nested ones folded."""
    queryset = OrgNode.objects.filter(path__in=node_scope_paths(user))
    if not include_closed:
        queryset = queryset.filter(closed_at__isnull=True)
    return with_territorial_org(with_counts(queryset)).order_by("path")


def visible_ancestors(user: Any, node: OrgNode) -> list[OrgNode]:
    """The node's ancestors the user may see, top first (breadcrumbs never leak outside scope)."""
    paths = node.ancestor_paths()[:-1]
    if not paths:
        return []
    return list(visible_nodes(user).filter(path__in=paths).order_by("path"))


@dataclass(frozen=True)
class SearchHit:
    node: OrgNode
    ancestors: list[OrgNode]


def tree_search(
    user: Any, query: str, *, include_closed: bool = False, limit: int = 50
) -> list[SearchHit]:
    """Nodes whose name contains `query`, each with its visible ancestor chain (two queries)."""
    query = query.strip()
    if not query:
        return []
    matches = list(
        visible_nodes(user, include_closed=include_closed)
        .filter(Q(name__icontains=query) | Q(code__iexact=query))
        .order_by("path")[:limit]
    )
    wanted = {path for node in matches for path in node.ancestor_paths()[:-1]}
    by_path = {n.path: n for n in visible_nodes(user).filter(path__in=wanted)} if wanted else {}
    return [
        SearchHit(
            node=node,
            ancestors=[by_path[p] for p in node.ancestor_paths()[:-1] if p in by_path],
        )
        for node in matches
    ]


def node_history(node: OrgNode, *, limit: int = 50) -> list[NodeChange]:
    """The node's latest changes, newest first, each with readable `lines` for the timeline."""
    changes = list(node.changes.select_related("actor").order_by("-at", "-id")[:limit])
    for change in changes:
        change.lines = describe_change(change)
    return changes


def _field_text(model: type, name: str, value: Any) -> tuple[str, str]:
    """A field's verbose name and a value as people read it (choice labels, "—" for empty)."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a key that is not a field: show it as it is
        return name, str(value) if value not in (None, "") else "—"
    if value in (None, "", []):
        return str(field.verbose_name), "—"
    choices = dict(getattr(field, "flatchoices", None) or [])
    return str(field.verbose_name), str(choices.get(value, value))


def describe_change(change: NodeChange) -> list[str]:
    """What an EDITED history row changed, as "字段：旧值 → 新值" lines."""
    if change.kind != "edited":
        return []
    lines = []
    before, after = change.before or {}, change.after or {}
    for key, new in after.items():
        if key == "party_org":
            if isinstance(new, dict):
                old = before.get("party_org") or {}
                for name, value in new.items():
                    label, new_text = _field_text(PartyOrganization, name, value)
                    old_text = _field_text(PartyOrganization, name, old.get(name))[1]
                    lines.append(f"{_('党组织')}{label}：{old_text} → {new_text}")
            continue
        label, new_text = _field_text(OrgNode, key, new)
        old_text = _field_text(OrgNode, key, before.get(key))[1]
        lines.append(f"{label}：{old_text} → {new_text}")
    return lines


def move_destinations(user: Any, node: OrgNode) -> QuerySet[OrgNode]:
    """Where the user may move `node`: open nodes of the parent level, in their managing scope,
    not inside the node's own subtree and not its current parent."""
    parent_level = PARENT_LEVEL.get(node.level)
    if parent_level is None:
        return OrgNode.objects.none()
    return (
        manageable_nodes(user, levels=[parent_level])
        .exclude(path__startswith=node.path)
        .exclude(pk=node.parent_id)
        .order_by("path")
    )


# ---------------------------------------------------------------------------------------------
# party organizations


def visible_party_orgs(user: Any, *, include_closed: bool = True) -> QuerySet[PartyOrganization]:
    queryset = PartyOrganization.objects.filter(subtree_q(node_scope_paths(user), "node__path"))
    if not include_closed:
        queryset = queryset.filter(closed_at__isnull=True)
    return queryset


def get_party_org_for_user(user: Any, pk: Any, *, write: bool = False) -> PartyOrganization:
    org = _get_or_404(visible_party_orgs(user).select_related("node"), pk)
    if write:
        _authorize(user, "orgs.change_partyorganization", org)
    return org


def node_party_orgs(node: OrgNode, *, include_closed: bool = False) -> QuerySet[PartyOrganization]:
    queryset = node.party_orgs.prefetch_related("covered_units").order_by("category", "id")
    if not include_closed:
        queryset = queryset.filter(closed_at__isnull=True)
    return queryset


# ---------------------------------------------------------------------------------------------
# resident units


def visible_units(
    user: Any,
    *,
    unit_type: str | None = None,
    party_status: str | None = None,
    node: OrgNode | None = None,
    search: str | None = None,
    include_closed: bool = False,
) -> QuerySet[ResidentUnit]:
    """Units located in the user's subtrees; a unit liaison sees only their own unit(s)."""
    scope = subtree_q(scope_paths(user, UNIT_TERRITORY_ROLES), "node__path")
    own = liaison_unit_ids(user)
    if own:
        scope |= Q(pk__in=sorted(own))
    queryset = ResidentUnit.objects.filter(scope)
    if not include_closed:
        queryset = queryset.filter(closed_at__isnull=True)
    if unit_type:
        queryset = queryset.filter(unit_type=unit_type)
    if party_status:
        queryset = queryset.filter(party_status=party_status)
    if node is not None:
        queryset = queryset.filter(node__path__startswith=node.path)
    if search and search.strip():
        term = search.strip()
        queryset = queryset.filter(
            Q(name__icontains=term)
            | Q(credit_code__iexact=term)
            | Q(party_org_name__icontains=term)
        )
    return queryset


def active_instructors_prefetch() -> Prefetch:
    return Prefetch(
        "instructors",
        queryset=InstructorAssignment.objects.filter(ends_on__isnull=True).order_by("-starts_on"),
        to_attr="active_instructors",
    )


def unit_list(user: Any, **filters: Any) -> QuerySet[ResidentUnit]:
    """`visible_units` ready for a list: node and active instructors fetched in fixed queries."""
    return (
        visible_units(user, **filters)
        .select_related("node")
        .prefetch_related(active_instructors_prefetch())
        .order_by("node__path", "name", "id")
    )


def get_unit_for_user(
    user: Any, pk: Any, *, write: bool = False, perm: str = "orgs.change_residentunit"
) -> ResidentUnit:
    unit = _get_or_404(visible_units(user, include_closed=True).select_related("node"), pk)
    if write:
        _authorize(user, perm, unit)
    return unit


def get_instructor_for_user(user: Any, pk: Any, *, write: bool = False) -> InstructorAssignment:
    queryset = InstructorAssignment.objects.filter(
        unit__in=visible_units(user, include_closed=True)
    ).select_related("unit__node")
    assignment = _get_or_404(queryset, pk)
    if write:
        _authorize(user, "orgs.manage_instructors", assignment.unit)
    return assignment


def unit_instructors(unit: ResidentUnit) -> QuerySet[InstructorAssignment]:
    return unit.instructors.order_by("ends_on", "-starts_on", "-id")


def units_open_for_choice(user: Any, node: OrgNode) -> QuerySet[ResidentUnit]:
    """Open units in `node`'s subtree the user sees: choices for joint orgs and committee seats."""
    return visible_units(user, node=node).order_by("name")


@dataclass
class Coverage:
    """Party-organization coverage of the "两新" units of a subtree (SPEC §1, seed 000)."""

    total: int = 0
    own: int = 0
    joint: int = 0
    instructor: int = 0
    none: int = 0
    by_type: list[tuple[str, str, int]] = field(default_factory=list)
    units_total: int = 0

    @property
    def organization_rate(self) -> float | None:
        """组织覆盖率: units with their own or a joint party organization."""
        return (self.own + self.joint) / self.total if self.total else None

    @property
    def work_rate(self) -> float | None:
        """工作覆盖率: organization coverage plus units reached by an instructor only."""
        return (self.own + self.joint + self.instructor) / self.total if self.total else None


_COVERAGE_AGGREGATES = {
    "total": Count("pk"),
    "own": Count("pk", filter=Q(party_status=PartyStatus.OWN)),
    "joint": Count("pk", filter=Q(party_status=PartyStatus.JOINT)),
    "instructor": Count("pk", filter=Q(party_status=PartyStatus.INSTRUCTOR)),
    "none": Count("pk", filter=Q(party_status=PartyStatus.NONE)),
}


def coverage_of(units: QuerySet[ResidentUnit]) -> Coverage:
    """Coverage figures for a queryset of units (two queries)."""
    figures = (
        units.filter(unit_type__in=NEW_SECTOR_TYPES).order_by().aggregate(**_COVERAGE_AGGREGATES)
    )
    counts = dict(units.order_by().values_list("unit_type").annotate(n=Count("pk")))
    by_type = [(value, str(label), counts.get(value, 0)) for value, label in UnitType.choices]
    return Coverage(**figures, by_type=by_type, units_total=sum(counts.values()))


def coverage(user: Any, node: OrgNode | None = None) -> Coverage:
    """Coverage of the open units the user sees, in `node`'s subtree when given."""
    return coverage_of(visible_units(user, node=node))


@dataclass(frozen=True)
class ChildCoverage:
    node: OrgNode
    coverage: Coverage


def coverage_by_child(user: Any, node: OrgNode) -> list[ChildCoverage]:
    """The same figures for each child of `node`, grouped by path prefix in one query."""
    children = list(node_children(user, node))
    if not children:
        return []
    prefix_len = len(node.path) + PATH_SEGMENT_LENGTH + 1
    rows = (
        visible_units(user, node=node)
        .filter(unit_type__in=NEW_SECTOR_TYPES)
        .exclude(node=node)
        .annotate(branch=Substr("node__path", 1, prefix_len))
        .order_by()
        .values("branch")
        .annotate(**_COVERAGE_AGGREGATES)
    )
    by_branch = {row.pop("branch"): row for row in rows}
    return [ChildCoverage(child, Coverage(**by_branch.get(child.path, {}))) for child in children]


# ---------------------------------------------------------------------------------------------
# committees (大工委 / 大党委 part-time members)


def visible_committee_members(user: Any) -> QuerySet[CommitteeMember]:
    return CommitteeMember.objects.filter(subtree_q(node_scope_paths(user), "body__path"))


def committee_member_list(
    user: Any, *, body: OrgNode | None = None, current_only: bool = False
) -> QuerySet[CommitteeMember]:
    queryset = visible_committee_members(user).select_related("body", "unit")
    if body is not None:
        queryset = queryset.filter(body=body)
    if current_only:
        queryset = queryset.filter(current_members_q())
    return queryset.order_by("body__path", "left_on", "term_start", "id")


def get_committee_member_for_user(user: Any, pk: Any, *, write: bool = False) -> CommitteeMember:
    member = _get_or_404(visible_committee_members(user).select_related("body", "unit"), pk)
    if write:
        _authorize(user, "orgs.change_committeemember", member)
    return member


def size_warning(level: str, size: int) -> str:
    """The warning to show when a body's current size is outside its norm, else ''."""
    norm = COMMITTEE_SIZE_NORMS.get(level)
    if norm is None:
        return ""
    low, high = norm
    if size < low:
        return _("现有兼职委员 %(n)d 名，少于常规规模 %(low)d–%(high)d 名。") % {
            "n": size,
            "low": low,
            "high": high,
        }
    if size > high:
        return _("现有兼职委员 %(n)d 名，多于常规规模 %(low)d–%(high)d 名。") % {
            "n": size,
            "low": low,
            "high": high,
        }
    return ""


@dataclass
class Roster:
    body: OrgNode
    current: list[CommitteeMember]
    former: list[CommitteeMember]
    norm: tuple[int, int] | None
    warning: str

    @property
    def size(self) -> int:
        return len(self.current)


def committee_roster(body: OrgNode, *, on: date | None = None) -> Roster:
    """A body's current and former part-time members, with the size-norm warning."""
    members = list(body.committee_members.select_related("unit").order_by("term_start", "id"))
    current_ids = set(
        body.committee_members.filter(current_members_q(on)).values_list("pk", flat=True)
    )
    current = [m for m in members if m.pk in current_ids]
    former = [m for m in members if m.pk not in current_ids]
    return Roster(
        body=body,
        current=current,
        former=former,
        norm=COMMITTEE_SIZE_NORMS.get(body.level),
        warning=size_warning(body.level, len(current)),
    )


def committee_bodies(user: Any) -> QuerySet[OrgNode]:
    """Open street and community nodes in scope, each annotated with `current_members`."""
    current = CommitteeMember.objects.filter(current_members_q())
    return (
        visible_nodes(user, include_closed=False)
        .filter(level__in=list(COMMITTEE_SIZE_NORMS))
        .annotate(current_members=_count_subquery(current, "body_id"))
        .order_by("path")
    )


def with_size_warnings(bodies: Iterable[OrgNode]) -> list[OrgNode]:
    """Attach `norm` and `size_warning` to annotated bodies (no query)."""
    out = []
    for body in bodies:
        body.norm = COMMITTEE_SIZE_NORMS.get(body.level)
        body.size_warning = size_warning(body.level, body.current_members)
        out.append(body)
    return out


def out_of_norm_q() -> Q:
    query = Q(pk__in=[])
    for level, (low, high) in COMMITTEE_SIZE_NORMS.items():
        query |= Q(level=level) & (Q(current_members__lt=low) | Q(current_members__gt=high))
    return query


# ---------------------------------------------------------------------------------------------
# leader contact points


def visible_contact_points(user: Any) -> QuerySet[ContactPoint]:
    """Contact points of communities under a node where the user holds a managing role."""
    return ContactPoint.objects.filter(
        subtree_q(scope_paths(user, MANAGING_ROLES), "community__path")
    )


def contact_point_list(
    user: Any, *, community: OrgNode | None = None, search: str | None = None
) -> QuerySet[ContactPoint]:
    queryset = visible_contact_points(user).select_related("community")
    if community is not None:
        queryset = queryset.filter(community__path__startswith=community.path)
    if search and search.strip():
        term = search.strip()
        queryset = queryset.filter(
            Q(leader_name__icontains=term) | Q(projects__name__icontains=term)
        ).distinct()
    return queryset.prefetch_related(
        Prefetch("projects", queryset=ContactProject.objects.order_by("id"))
    ).order_by("community__path", "leader_name", "id")


def get_contact_point_for_user(user: Any, pk: Any, *, write: bool = False) -> ContactPoint:
    point = _get_or_404(visible_contact_points(user).select_related("community"), pk)
    if write:
        _authorize(user, "orgs.change_contactpoint", point)
    return point


def get_contact_project_for_user(user: Any, pk: Any, *, write: bool = False) -> ContactProject:
    queryset = ContactProject.objects.filter(
        contact_point__in=visible_contact_points(user)
    ).select_related("contact_point__community")
    project = _get_or_404(queryset, pk)
    if write:
        _authorize(user, "orgs.change_contactpoint", project.contact_point)
    return project


def contact_communities(user: Any) -> QuerySet[OrgNode]:
    """Communities where the user may arrange contact points."""
    return OrgNode.objects.filter(
        subtree_q(scope_paths(user, CONTACT_EDIT_ROLES)),
        level=Level.COMMUNITY,
        closed_at__isnull=True,
    ).order_by("path")


# ---------------------------------------------------------------------------------------------
# the home page


@dataclass
class Summary:
    nodes_by_level: list[tuple[str, int]]
    orgs_by_kind: list[tuple[str, int]]
    orgs_by_category: list[tuple[str, int]]
    orgs_total: int
    units_total: int
    coverage: Coverage
    bodies_total: int
    bodies_out_of_norm: int


def subtree_summary(user: Any) -> Summary | None:
    """What the home page shows a business user about their part of the network (6 queries)."""
    paths = node_scope_paths(user)
    if not paths:
        return None
    open_nodes = OrgNode.objects.filter(subtree_q(paths), closed_at__isnull=True)
    level_counts = dict(open_nodes.order_by().values_list("level").annotate(n=Count("pk")))
    orgs = PartyOrganization.objects.filter(
        subtree_q(paths, "node__path"), closed_at__isnull=True, node__closed_at__isnull=True
    ).order_by()
    kind_category = list(orgs.values_list("kind", "category").annotate(n=Count("pk")))
    by_kind: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for kind, category, n in kind_category:
        by_kind[kind] = by_kind.get(kind, 0) + n
        by_category[category] = by_category.get(category, 0) + n
    bodies = committee_bodies(user)
    body_figures = bodies.order_by().aggregate(
        total=Count("pk"), out=Count("pk", filter=out_of_norm_q())
    )
    cover = coverage(user)
    return Summary(
        nodes_by_level=[(str(label), level_counts.get(v, 0)) for v, label in Level.choices],
        orgs_by_kind=[(str(label), by_kind[v]) for v, label in OrgKind.choices if v in by_kind],
        orgs_by_category=[
            (str(label), by_category[v]) for v, label in OrgCategory.choices if v in by_category
        ],
        orgs_total=sum(by_kind.values()),
        units_total=cover.units_total,
        coverage=cover,
        bodies_total=body_figures["total"],
        bodies_out_of_norm=body_figures["out"],
    )


def child_level(node: OrgNode) -> str | None:
    return CHILD_LEVEL.get(node.level)

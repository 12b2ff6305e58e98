"""What the organization network's lists put in their .xlsx exports (core/exports.py does the
writing, masking, auditing), and the node "paths of names" shared with the unit import.

A place is written as the names from the street down, `镇海街道/文献社区/文献一网格`: what people
recognise, and exactly what the unit import accepts back in its 所在社区/网格 column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core.exports import ExportColumn, masked
from tongxin.orgs.models import (
    PATH_SEGMENT_LENGTH,
    CommitteeMember,
    ContactPoint,
    OrgNode,
    ResidentUnit,
)
from tongxin.orgs.selectors import (
    territorial_org,
    today,
    visible_nodes,
    with_counts,
    with_territorial_org,
)

PATH_SEPARATOR = "/"
_STEP = PATH_SEGMENT_LENGTH + 1  # a segment and its dot


def ancestor_names(paths: Iterable[str]) -> dict[str, str]:
    """Names of the nodes at `paths` and all their ancestors: {path: name}, one query."""
    wanted: set[str] = set()
    for path in paths:
        wanted.update(path[:end] for end in range(_STEP, len(path) + 1, _STEP))
    if not wanted:
        return {}
    return dict(OrgNode.objects.filter(path__in=sorted(wanted)).values_list("path", "name"))


def name_chain(path: str, names: dict[str, str]) -> list[str]:
    return [names.get(path[:end], "?") for end in range(_STEP, len(path) + 1, _STEP)]


def place_label(chain: list[str]) -> str:
    """Names below the district: the district is the same for everyone in one installation."""
    return PATH_SEPARATOR.join(chain[1:] if len(chain) > 1 else chain)


class PlaceLabels:
    """Place labels for the rows of an export, fetched lazily in batches (constant queries)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def prime(self, paths: Iterable[str]) -> None:
        missing = [p for p in paths if p not in self._names]
        if missing:
            self._names.update(ancestor_names(missing))

    def label(self, node: OrgNode | None) -> str:
        if node is None:
            return ""
        if node.path not in self._names:
            self.prime([node.path])
        return place_label(name_chain(node.path, self._names))


def primed(
    queryset: QuerySet, labels: PlaceLabels, path_of: Any, chunk: int = 2000
) -> Iterator[Any]:
    """Iterate a queryset in chunks, priming the place labels of each chunk with one query."""
    batch: list[Any] = []
    for obj in queryset.iterator(chunk_size=chunk):
        batch.append(obj)
        if len(batch) >= chunk:
            labels.prime(path_of(o) for o in batch)
            yield from batch
            batch = []
    if batch:
        labels.prime(path_of(o) for o in batch)
        yield from batch


# ---------------------------------------------------------------------------------------------
# column sets


def unit_columns(labels: PlaceLabels) -> list[ExportColumn]:
    """The unit import's columns first (same headers), then what only an export shows."""
    return [
        ExportColumn(gettext_lazy("单位名称"), "name", width=32),
        ExportColumn(gettext_lazy("单位类型"), "unit_type", width=14),
        ExportColumn(gettext_lazy("所在社区/网格"), lambda u: labels.label(u.node), width=32),
        ExportColumn(gettext_lazy("统一社会信用代码"), "credit_code", width=22),
        ExportColumn(gettext_lazy("地址"), "address", width=30),
        ExportColumn(gettext_lazy("从业人员数"), "employees", width=12),
        ExportColumn(gettext_lazy("党员数"), "party_members", width=10),
        ExportColumn(gettext_lazy("党组织覆盖"), "party_status", width=18),
        ExportColumn(gettext_lazy("单位党组织名称"), "party_org_name", width=28),
        ExportColumn(gettext_lazy("联系人"), "contact_name", width=10),
        # Personal data (SECURITY.md 12): a contact's phone leaves the system masked.
        ExportColumn(gettext_lazy("联系电话"), masked("contact_phone"), width=16),
        ExportColumn(
            gettext_lazy("党建指导员"),
            lambda u: "、".join(i.instructor_name for i in getattr(u, "active_instructors", [])),
            width=16,
        ),
        ExportColumn(gettext_lazy("注销时间"), "closed_at", width=20),
    ]


def unit_rows(queryset: QuerySet[ResidentUnit], labels: PlaceLabels) -> Iterator[ResidentUnit]:
    return primed(queryset, labels, lambda u: u.node.path)


def node_columns(labels: PlaceLabels) -> list[ExportColumn]:
    def org(node: OrgNode, attr: str) -> str:
        found = territorial_org(node)
        return getattr(found, attr, "") if found is not None else ""

    return [
        ExportColumn(gettext_lazy("名称"), "name", width=24),
        ExportColumn(gettext_lazy("层级"), "level", width=14),
        ExportColumn(gettext_lazy("编码"), "code", width=16),
        ExportColumn(gettext_lazy("完整路径"), lambda n: labels.label(n), width=44),
        ExportColumn(gettext_lazy("属地党组织"), lambda n: org(n, "name"), width=28),
        ExportColumn(
            gettext_lazy("组织类别"),
            lambda n: territorial_org(n).get_kind_display() if territorial_org(n) else "",
            width=10,
        ),
        ExportColumn(gettext_lazy("书记"), lambda n: org(n, "secretary"), width=10),
        ExportColumn(gettext_lazy("下级组织数"), "open_children", width=12),
        ExportColumn(gettext_lazy("驻区单位数"), "open_units", width=12),
        ExportColumn(gettext_lazy("地址"), "address", width=30),
        ExportColumn(gettext_lazy("撤销时间"), "closed_at", width=20),
        ExportColumn(gettext_lazy("撤销原因"), "closed_reason", width=20),
    ]


def committee_columns(labels: PlaceLabels) -> list[ExportColumn]:
    on = today()

    def state(member: CommitteeMember) -> str:
        if member.left_on is not None:
            return _("已离任")
        if member.term_end is not None and member.term_end < on:
            return _("任期已满")
        return _("在任")

    return [
        ExportColumn(gettext_lazy("所属组织"), lambda m: labels.label(m.body), width=28),
        ExportColumn(
            gettext_lazy("类别"),
            lambda m: _("大工委") if m.body.level == "street" else _("大党委"),
            width=8,
        ),
        ExportColumn(gettext_lazy("姓名"), "person_name", width=10),
        ExportColumn(gettext_lazy("所在单位"), "unit.name", width=28),
        ExportColumn(gettext_lazy("单位职务"), "unit_post", width=16),
        ExportColumn(gettext_lazy("委员职责（设岗定责）"), "duty", width=30),
        ExportColumn(gettext_lazy("公开承诺"), "public_commitment", width=30),
        ExportColumn(gettext_lazy("任期开始"), "term_start", width=12),
        ExportColumn(gettext_lazy("任期结束"), "term_end", width=12),
        ExportColumn(gettext_lazy("离任日期"), "left_on", width=12),
        ExportColumn(gettext_lazy("状态"), state, width=10),
    ]


def contact_columns(labels: PlaceLabels) -> list[ExportColumn]:
    def projects(point: ContactPoint) -> str:
        return "；".join(f"{p.name}（{p.get_status_display()}）" for p in point.projects.all())

    return [
        ExportColumn(gettext_lazy("联系领导"), "leader_name", width=10),
        ExportColumn(gettext_lazy("职务"), "leader_title", width=20),
        ExportColumn(gettext_lazy("联系社区"), lambda p: labels.label(p.community), width=28),
        ExportColumn(gettext_lazy("联系起始"), "starts_on", width=12),
        ExportColumn(gettext_lazy("联系结束"), "ends_on", width=12),
        ExportColumn(gettext_lazy("领办项目"), projects, width=50),
        ExportColumn(gettext_lazy("备注"), "note", width=30),
    ]


def node_export_queryset(
    user: Any, *, parent: OrgNode | None, query: str, include_closed: bool
) -> QuerySet[OrgNode]:
    """The node list an export writes: a node's children, the tree search's matches (without
    the page's 50-hit cap), or the user's whole scope, in tree order."""
    queryset = visible_nodes(user, include_closed=include_closed)
    if parent is not None:
        queryset = queryset.filter(parent=parent)
    elif query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(code__iexact=query))
    return with_territorial_org(with_counts(queryset)).order_by("path")

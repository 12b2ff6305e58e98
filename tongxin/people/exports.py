"""What the people lists put in their .xlsx exports (core/exports.py writes, audits and sends).

Every list exports the rows the page shows — the same scoped selector and filters — with:

- ID numbers and phones only as their masked copies (`3503**********1234`, `138****5678`):
  the plain values never leave through an export (SECURITY.md 12);
- birth dates as year and month only (with the masked number a full date would narrow the ID
  number to a handful of candidates; pages show the same);
- special groups as the selector's `visible_groups`: sensitive groups (disability, low income…)
  only for the serving community, as on the page (SECURITY.md 13);
- no income figures: a member's declared income is for dues collectors, not for lists.

Places are written as in the imports (`镇海街道/文献社区/文献一网格`), and the member and
resident exports start with the import's columns, so an export reads like a filled template.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core.exports import ExportColumn
from tongxin.orgs.exports import PlaceLabels, primed
from tongxin.people.models import Person, Registration

# ---------------------------------------------------------------------------------------------
# helpers


def birth_month(person: Person) -> str:
    return f"{person.birth_date:%Y-%m}" if person.birth_date else ""


def groups_text(person: Person) -> str:
    """The special groups the selector let through for this user (never more)."""
    return "、".join(g.get_group_display() for g in getattr(person, "visible_groups", []))


def yes_no(value: bool) -> str:
    return _("是") if value else _("否")


def _person_columns(labels: PlaceLabels, of: Any) -> list[ExportColumn]:
    """The person part of a row; `of(row)` is the row's person."""
    return [
        ExportColumn(gettext_lazy("姓名"), lambda r: of(r).name, width=10),
        ExportColumn(gettext_lazy("性别"), lambda r: of(r).get_gender_display(), width=6),
        ExportColumn(gettext_lazy("民族"), lambda r: of(r).ethnicity, width=8),
        ExportColumn(gettext_lazy("出生年月"), lambda r: birth_month(of(r)), width=10),
        # The masked copies: the only form personal data takes in an export.
        ExportColumn(gettext_lazy("公民身份号码"), lambda r: of(r).id_number_masked, width=22),
        ExportColumn(gettext_lazy("手机号码"), lambda r: of(r).phone_masked, width=16),
        ExportColumn(gettext_lazy("住址"), lambda r: of(r).address, width=28),
        ExportColumn(gettext_lazy("所在网格"), lambda r: labels.label(of(r).node), width=30),
    ]


# ---------------------------------------------------------------------------------------------
# members


def member_columns(labels: PlaceLabels) -> list[ExportColumn]:
    return [
        *_person_columns(labels, lambda m: m.person),
        ExportColumn(gettext_lazy("党员类别"), "category", width=14),
        ExportColumn(gettext_lazy("管理方式"), lambda m: m.get_management_mode_display(), width=10),
        ExportColumn(gettext_lazy("入党日期"), "joined_on", width=12),
        ExportColumn(gettext_lazy("正式/预备"), "membership_type", width=12),
        ExportColumn(gettext_lazy("转正日期"), "full_on", width=12),
        ExportColumn(gettext_lazy("党籍状态"), "status", width=10),
        ExportColumn(gettext_lazy("组织关系所在党组织"), "organization_label", width=28),
        ExportColumn(
            gettext_lazy("活动所在网格"),
            lambda m: labels.label(m.branch) if m.branch_id else "",
            width=30,
        ),
        ExportColumn(gettext_lazy("工作单位"), "unit_label", width=26),
        ExportColumn(gettext_lazy("党费计算类别"), "dues_class", width=18),
        ExportColumn(gettext_lazy("特殊人群"), lambda m: groups_text(m.person), width=24),
    ]


def primed_many(
    queryset: QuerySet, labels: PlaceLabels, paths_of: Any, chunk: int = 2000
) -> Iterator[Any]:
    """Like `orgs.exports.primed`, for rows that show several places (one query per chunk)."""
    batch: list[Any] = []
    for obj in queryset.iterator(chunk_size=chunk):
        batch.append(obj)
        if len(batch) >= chunk:
            labels.prime(path for o in batch for path in paths_of(o))
            yield from batch
            batch = []
    if batch:
        labels.prime(path for o in batch for path in paths_of(o))
        yield from batch


def member_rows(queryset: QuerySet, labels: PlaceLabels) -> Iterator[Any]:
    def paths(member: Any) -> list[str]:
        found = [member.person.node.path]
        if member.branch_id:
            found.append(member.branch.path)
        return found

    return primed_many(queryset, labels, paths)


# ---------------------------------------------------------------------------------------------
# residents, households, buildings


def resident_columns(labels: PlaceLabels) -> list[ExportColumn]:
    def building(r: Any) -> str:
        household = r.household
        return household.building.name if household and household.building_id else ""

    return [
        *_person_columns(labels, lambda r: r.person),
        ExportColumn(gettext_lazy("楼栋"), building, width=18),
        ExportColumn(
            gettext_lazy("门牌/房号"), lambda r: r.household.door if r.household else "", width=14
        ),
        ExportColumn(gettext_lazy("与户主关系"), "relation", width=12),
        ExportColumn(gettext_lazy("人口类别"), "residence_type", width=12),
        ExportColumn(gettext_lazy("入住日期"), "moved_in_on", width=12),
        ExportColumn(gettext_lazy("迁出日期"), "moved_out_on", width=12),
        ExportColumn(gettext_lazy("特殊人群"), lambda r: groups_text(r.person), width=24),
        ExportColumn(
            gettext_lazy("党员"), lambda r: yes_no(hasattr(r.person, "membership")), width=6
        ),
    ]


def resident_rows(queryset: QuerySet, labels: PlaceLabels) -> Iterator[Any]:
    return primed(queryset, labels, lambda r: r.person.node.path)


def household_columns(labels: PlaceLabels) -> list[ExportColumn]:
    return [
        ExportColumn(gettext_lazy("所在网格"), lambda h: labels.label(h.node), width=30),
        ExportColumn(gettext_lazy("楼栋"), "building.name", width=18),
        ExportColumn(gettext_lazy("门牌/房号"), "door", width=14),
        ExportColumn(gettext_lazy("户别"), "household_type", width=10),
        ExportColumn(gettext_lazy("地址"), "address", width=28),
        ExportColumn(gettext_lazy("户主"), "head_name", width=10),
        ExportColumn(gettext_lazy("在住人数"), "resident_count", width=10),
        ExportColumn(gettext_lazy("备注"), "note", width=24),
    ]


def building_columns(labels: PlaceLabels) -> list[ExportColumn]:
    return [
        ExportColumn(gettext_lazy("所在网格"), lambda b: labels.label(b.node), width=30),
        ExportColumn(gettext_lazy("楼栋名称"), "name", width=18),
        ExportColumn(gettext_lazy("地址"), "address", width=28),
        ExportColumn(gettext_lazy("层数"), "floors", width=8),
        ExportColumn(gettext_lazy("单元数"), "entrances", width=8),
        ExportColumn(gettext_lazy("住户数"), "household_count", width=10),
        ExportColumn(gettext_lazy("备注"), "note", width=24),
    ]


def node_rows(queryset: QuerySet, labels: PlaceLabels) -> Iterator[Any]:
    return primed(queryset, labels, lambda obj: obj.node.path)


# ---------------------------------------------------------------------------------------------
# dues


def ledger_columns(labels: PlaceLabels) -> list[ExportColumn]:
    def collectors(row: Any) -> str:
        names = {p.collected_by.display_name for p in row.payments.all() if p.collected_by_id}
        return "、".join(sorted(names))

    return [
        ExportColumn(gettext_lazy("月份"), lambda r: f"{r.month:%Y-%m}", width=10),
        ExportColumn(gettext_lazy("姓名"), "member.person.name", width=10),
        ExportColumn(
            gettext_lazy("所在网格"), lambda r: labels.label(r.member.person.node), width=30
        ),
        ExportColumn(gettext_lazy("党支部"), "branch.name", width=18),
        ExportColumn(gettext_lazy("计算类别"), "dues_class", width=18),
        ExportColumn(gettext_lazy("标准"), "standard", width=10),
        ExportColumn(gettext_lazy("应交"), "amount", width=10),
        ExportColumn(gettext_lazy("已交"), "paid", width=10),
        ExportColumn(gettext_lazy("未交"), "outstanding", width=10),
        ExportColumn(gettext_lazy("交清日期"), "paid_on", width=12),
        ExportColumn(gettext_lazy("代收人"), collectors, width=14),
        ExportColumn(gettext_lazy("调整原因"), "override_reason", width=24),
    ]


def ledger_rows(queryset: QuerySet, labels: PlaceLabels) -> Iterator[Any]:
    return primed(queryset, labels, lambda r: r.member.person.node.path)


def summary_columns() -> list[ExportColumn]:
    return [
        ExportColumn(
            gettext_lazy("党支部"), lambda s: s.branch.name if s.branch else "—", width=22
        ),
        ExportColumn(gettext_lazy("党员数"), "members", width=10),
        ExportColumn(gettext_lazy("应交"), "due", width=12),
        ExportColumn(gettext_lazy("已交"), "paid", width=12),
        ExportColumn(gettext_lazy("未交"), "outstanding", width=12),
        ExportColumn(gettext_lazy("交清人数"), "paid_members", width=10),
        ExportColumn(gettext_lazy("代收笔数"), "collected_on_behalf", width=10),
    ]


# ---------------------------------------------------------------------------------------------
# in-service reporting


def with_open_registration(queryset: QuerySet) -> QuerySet:
    """Each member's open registration (with its posts) in `open_registrations`."""
    return queryset.prefetch_related(
        Prefetch(
            "registrations",
            queryset=Registration.objects.filter(ended_on__isnull=True)
            .select_related("community")
            .prefetch_related("posts"),
            to_attr="open_registrations",
        )
    )


def reporting_columns(labels: PlaceLabels) -> list[ExportColumn]:
    def registration(member: Any) -> Any:
        found = getattr(member, "open_registrations", [])
        return found[0] if found else None

    def community(member: Any) -> str:
        found = registration(member)
        return found.community.name if found else ""

    def registered_on(member: Any) -> Any:
        found = registration(member)
        return found.registered_on if found else None

    def posts(member: Any) -> str:
        found = registration(member)
        return "、".join(p.name for p in found.posts.all()) if found else ""

    return [
        ExportColumn(gettext_lazy("姓名"), "person.name", width=10),
        ExportColumn(gettext_lazy("居住网格"), lambda m: labels.label(m.person.node), width=30),
        ExportColumn(gettext_lazy("工作单位"), "unit_label", width=26),
        ExportColumn(
            gettext_lazy("报到情况"), lambda m: _("已报到") if m.reported else _("未报到")
        ),
        ExportColumn(gettext_lazy("报到社区"), community, width=14),
        ExportColumn(gettext_lazy("报到日期"), registered_on, width=12),
        ExportColumn(gettext_lazy("认领岗位"), posts, width=26),
    ]


def reporting_rows(queryset: QuerySet, labels: PlaceLabels) -> Iterator[Any]:
    return primed(queryset, labels, lambda m: m.person.node.path, chunk=1000)

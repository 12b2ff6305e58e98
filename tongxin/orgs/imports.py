"""Spreadsheet import of resident units (驻区单位), on the core import framework.

Each row is held to the rules of the registration form (`services.unit_rule_errors`, the same
function `unit_create` runs), the credit code to `services.normalize_credit_code`, and the place
to the actor's scope: a community or grid where they may register units (`orgs.add_unit`).

The 所在社区/网格 column names a place by its names from the top, separated by "/"
(`镇海街道/文献社区/文献一网格`), by any trailing part of that path as long as it is unambiguous
(`文献社区/文献一网格`, or `文献一网格` alone), or by the node's code (编码).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.accounts.models import MANAGING_ROLES
from tongxin.core.imports import Column, Importer, RowError, choice, integer, register, text
from tongxin.core.policy import roles
from tongxin.core.xlsx import SheetSpec
from tongxin.orgs import services
from tongxin.orgs.exports import ancestor_names, name_chain, place_label
from tongxin.orgs.models import Level, OrgNode, PartyStatus, ResidentUnit, UnitType
from tongxin.orgs.rules import can
from tongxin.orgs.selectors import visible_nodes
from tongxin.orgs.services import UNIT_FIELDS, UNIT_LEVELS

_SEPARATORS = re.compile(r"\s*[/／\\>＞]\s*")
REFERENCE_LIMIT = 10_000  # rows in the template's list of places


class NodeLookup:
    """Resolve a place written in a spreadsheet to an open node the user sees.

    Loads the user's visible open nodes once (one query, plus one for the names of ancestors
    above their scope), then answers each row from memory.
    """

    def __init__(self, user: Any) -> None:
        nodes = list(
            visible_nodes(user, include_closed=False).only(
                "id", "name", "code", "level", "path", "closed_at", "parent_id"
            )
        )
        names = ancestor_names(n.path for n in nodes)
        self.by_name: dict[str, list[tuple[OrgNode, list[str]]]] = {}
        self.by_code: dict[str, list[OrgNode]] = {}
        for node in nodes:
            chain = name_chain(node.path, names)
            self.by_name.setdefault(_norm(node.name), []).append((node, [_norm(c) for c in chain]))
            if node.code:
                self.by_code.setdefault(_norm(node.code).upper(), []).append(node)
        self.nodes = nodes
        self.names = names

    def find(self, raw: Any) -> OrgNode:
        written = _norm(str(raw))
        parts = [p for p in _SEPARATORS.split(written) if p]
        if not parts:
            raise RowError(_("必填，不能为空。"))
        candidates = [
            node for node, chain in self.by_name.get(parts[-1], []) if chain[-len(parts) :] == parts
        ]
        if not candidates and len(parts) == 1:
            candidates = self.by_code.get(parts[0].upper(), [])
        if not candidates:
            raise RowError(
                _(
                    "找不到“%(place)s”：请填写社区或网格的名称路径"
                    "（如 镇海街道/文献社区/文献一网格）或编码，且须在您的管辖范围内。"
                )
                % {"place": written[:60]}
            )
        if len(candidates) > 1:
            raise RowError(
                _("“%(place)s”对应多个组织，请写上上级名称加以区分，如 %(example)s。")
                % {"place": written[:60], "example": self.label(candidates[0])}
            )
        return candidates[0]

    def label(self, node: OrgNode) -> str:
        return place_label(name_chain(node.path, self.names))


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


@register
class UnitImporter(Importer):
    kind = "units"
    title = gettext_lazy("驻区单位")
    policy = roles(MANAGING_ROLES)
    list_url_name = "orgs:unit_list"
    model = ResidentUnit
    columns = (
        Column(
            gettext_lazy("单位名称"),
            "name",
            required=True,
            parse=text(120),
            example="荔城示例科技有限公司",
            width=30,
        ),
        Column(
            gettext_lazy("单位类型"),
            "unit_type",
            required=True,
            parse=choice(UnitType),
            example=str(UnitType.NON_PUBLIC.label),
        ),
        Column(
            gettext_lazy("所在社区/网格"),
            "node",
            required=True,
            parse="parse_node",
            example="镇海街道/文献社区/文献一网格",
            help=gettext_lazy(
                "社区或网格的名称路径，用“/”分隔，如 镇海街道/文献社区/文献一网格；"
                "不致混淆时可只写末尾几级（如 文献一网格），也可填写组织编码。"
                "须为您可以登记驻区单位的社区或网格，见“可选社区网格”工作表。"
            ),
            aliases=("所在社区", "所在网格", "社区/网格"),
            width=32,
        ),
        Column(
            gettext_lazy("统一社会信用代码"),
            "credit_code",
            parse=services.normalize_credit_code,
            example="91350304MA2Y0B1A3B",
            help=gettext_lazy("18 位，校验位须正确；不得与文件中其他行或系统中未注销的单位重复。"),
            unique=True,
            text_format=True,
            width=22,
        ),
        Column(gettext_lazy("地址"), "address", parse=text(200), example="荔城区文献路 1 号"),
        Column(gettext_lazy("从业人员数"), "employees", parse=integer(0), example=50, default=0),
        Column(
            gettext_lazy("党员数"),
            "party_members",
            parse=integer(0),
            example=3,
            default=0,
            help=gettext_lazy("整数，不小于 0，且不多于从业人员数。"),
        ),
        Column(
            gettext_lazy("党组织覆盖"),
            "party_status",
            parse=choice(PartyStatus),
            example=str(PartyStatus.OWN.label),
            default=PartyStatus.NONE,
            width=18,
        ),
        Column(
            gettext_lazy("单位党组织名称"),
            "party_org_name",
            parse=text(120),
            example="荔城示例科技有限公司党支部",
            help=gettext_lazy("党组织覆盖为“单独组建”时必填；不超过 120 个字。"),
            width=28,
        ),
        Column(gettext_lazy("联系人"), "contact_name", parse=text(50), example="林晓"),
        Column(
            gettext_lazy("联系电话"),
            "contact_phone",
            parse=text(40),
            example="0594-2345678",
            text_format=True,
        ),
    )
    notes = (
        gettext_lazy("党组织覆盖留空时按“未覆盖”登记；从业人员数、党员数留空时按 0 登记。"),
        gettext_lazy(
            "导入只新增单位，不修改已有单位；信用代码与系统中未注销的单位重复时整份文件不予导入。"
        ),
    )

    def prepare(self) -> None:
        self.nodes = NodeLookup(self.actor)
        self.writable: dict[int, bool] = {}  # a file names few places, many times each

    def parse_node(self, raw: Any) -> OrgNode:
        node = self.nodes.find(raw)
        if node.level not in UNIT_LEVELS:
            raise RowError(_("驻区单位应设在社区或网格。"))
        if node.pk not in self.writable:
            self.writable[node.pk] = can(self.actor, "orgs.add_unit", node)
        if not self.writable[node.pk]:
            raise RowError(
                _("您无权在“%(place)s”登记驻区单位。") % {"place": self.nodes.label(node)}
            )
        return node

    def clean_row(self, values: dict[str, Any]) -> dict[str, Any]:
        unit = ResidentUnit(**values)
        errors = services.unit_rule_errors(unit, UNIT_FIELDS)
        if errors:
            raise ValidationError(errors)
        return {"unit": unit, "credit_code": unit.credit_code}

    def unique_value(self, key: str, values: dict[str, Any]) -> Hashable | None:
        return values.get("credit_code") or None

    def existing_values(self, key: str, values: list[Hashable]) -> set[Hashable]:
        return set(
            ResidentUnit.objects.filter(credit_code__in=values, closed_at__isnull=True).values_list(
                "credit_code", flat=True
            )
        )

    def existing_message(self, key: str) -> str:
        return _("已有使用该统一社会信用代码的驻区单位。")

    def commit(self, rows: list[dict[str, Any]], actor: Any) -> int:
        units = [row["unit"] for row in rows]
        return len(services.unit_bulk_create(actor=actor, units=units, batch_size=self.batch_size))

    def reference_sheets(self) -> list[SheetSpec]:
        """The places this user may register units in, as the import expects them written."""
        lookup = NodeLookup(self.actor)
        rows = [
            [lookup.label(node), node.code, Level(node.level).label]
            for node in lookup.nodes
            if node.level in UNIT_LEVELS and can(self.actor, "orgs.add_unit", node)
        ][:REFERENCE_LIMIT]
        return [
            SheetSpec(
                title=_("可选社区网格"),
                headers=[_("所在社区/网格"), _("编码"), _("层级")],
                rows=rows,
                widths=[40, 16, 10],
            )
        ]

"""Spreadsheet imports of people, on the core import framework (docs/imports.md).

Three kinds, one declarative class each:

- `members` (党员): one row per party member: the person (姓名, 公民身份号码, 手机号码…) and the
  membership (党员类别, 入党日期, 正式/预备, 组织关系所在党组织…);
- `residents` (居民): one row per resident, naming the household they live in by 楼栋 and
  门牌/房号 within their grid. Rows naming the same door belong to one household; a household or
  building the grid does not have yet is registered with them. This is the sheet a community
  office keeps anyway (基础信息采集: 户号, 姓名, 与户主关系 …), so it needs no second file;
- `households` (住户): households alone (a building's doors before anyone is recorded, vacant
  flats), with their buildings.

Each row is held to the rules the forms and services apply: `clean_person_data`,
`clean_member_data` (through `services.clean_member_row`), `clean_resident_data`, `clean_groups`,
`services.check_member_links`; places to the actor's scope and permission; ID numbers to GB 11643
and, through the blind index, to uniqueness within the file and against the database. A person
already registered (a resident who is also a member) is reused, as the single-record services do,
when the actor sees them and the role is still free. Then the bulk services write everything in
the engine's one transaction, with their audit records.

Personal data never reaches a job's errors: messages name the row and column, and any text that
looks like an ID number or phone (say, an ID number typed into the 党员类别 column and echoed by
"…不是可选值") is masked before it is stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.accounts.models import MANAGING_ROLES
from tongxin.core.crypto import keyring
from tongxin.core.fields import mask_id_number
from tongxin.core.imports import (
    Column,
    Importer,
    RowError,
    choice,
    date,
    decimal,
    register,
    text,
)
from tongxin.core.masking import mask_phone
from tongxin.core.policy import roles
from tongxin.core.xlsx import SheetSpec
from tongxin.orgs.imports import REFERENCE_LIMIT, NodeLookup
from tongxin.orgs.models import Level, OrgNode, PartyOrganization, ResidentUnit
from tongxin.people import selectors, services
from tongxin.people.models import (
    SENSITIVE_GROUPS,
    Building,
    Category,
    DuesClass,
    Gender,
    Household,
    HouseholdType,
    MembershipType,
    PartyMember,
    Person,
    Relation,
    ResidenceType,
    Resident,
)
from tongxin.people.rules import PEOPLE_ROLES, can, serves
from tongxin.people.validation import (
    IdNumber,
    clean_groups,
    clean_id_number,
    clean_person_data,
    clean_phone,
    clean_resident_data,
    registered_indexes,
)

PERSON_LEVELS = (Level.COMMUNITY, Level.GRID)
EXAMPLE_ID = "35030419800101004X"  # valid (check character X), clearly an example

# ---------------------------------------------------------------------------------------------
# personal data out of messages

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])|(?<!\d)[0-9]{15}(?!\d)")
_PHONE_LIKE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")


def mask_personal(message: str) -> str:
    """Mask anything in a message that looks like an ID number or a phone number."""
    message = _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), message)
    return _PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)), message)


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


class choice_with_aliases(choice):
    """A choice column that also takes short forms offices write (在职 for 在职党员, 预备…)."""

    def __init__(self, choices: Any, aliases: dict[str, str]) -> None:
        super().__init__(choices)
        self.aliases = aliases

    def _build_lookup(self) -> dict[str, str]:
        lookup = super()._build_lookup()
        for name, value in self.aliases.items():
            lookup.setdefault(name, value)
        return lookup


CATEGORY = choice_with_aliases(
    Category,
    {
        "在册": Category.REGISTERED,
        "在职": Category.IN_SERVICE,
        "新兴领域": Category.NEW_SECTOR,
        "离退休": Category.RETIRED,
        "退休": Category.RETIRED,
        "下岗职工": Category.LAID_OFF,
        "下岗": Category.LAID_OFF,
        "流动": Category.FLOATING,
    },
)
MEMBERSHIP = choice_with_aliases(
    MembershipType, {"正式": MembershipType.FULL, "预备": MembershipType.PROBATIONARY}
)
_GROUP_SEPARATORS = re.compile(r"[、,，;；/\s]+")


def parse_groups(raw: Any) -> list[str]:
    """`低保户、空巢独居老人` → codes (labels or codes, separated by 、 , ; / or spaces)."""
    names = [n for n in _GROUP_SEPARATORS.split(_norm(str(raw))) if n]
    try:
        return sorted(clean_groups(names))
    except ValidationError as exc:
        raise RowError(_messages(exc)) from None


# ---------------------------------------------------------------------------------------------
# shared by the three kinds


class PeopleImporter(Importer):
    """Places, ID numbers and phones, and masked messages: what every people import needs."""

    add_perm: str = ""
    place_levels: tuple[str, ...] = PERSON_LEVELS
    # Parsers that never repeat a cell's text in their message need no masking.
    _PLAIN_PARSERS = (text, date, decimal)

    @classmethod
    def column_parser(cls, column: Column, instance: Importer) -> Callable[[Any], Any]:
        parse = super().column_parser(column, instance)
        if isinstance(parse, cls._PLAIN_PARSERS):
            return parse

        def guarded(raw: Any) -> Any:
            try:
                return parse(raw)
            except RowError as exc:
                raise RowError(mask_personal(str(exc))) from None
            except ValidationError as exc:
                raise RowError(mask_personal(_messages(exc))) from None

        return guarded

    def prepare(self) -> None:
        self.nodes = NodeLookup(self.actor)
        self.ring = keyring()
        self.today = timezone.localdate()  # one date for the whole file
        self._places: dict[str, OrgNode | str] = {}  # a file names few places, many times each
        self._place_ok: dict[int, bool] = {}
        self._serves: dict[str, bool] = {}

    # --- parsers ------------------------------------------------------------------------------

    def find_place(self, raw: Any) -> OrgNode:
        """`NodeLookup.find`, remembered per spelling (the answer or the message)."""
        key = raw if isinstance(raw, str) else str(raw)
        found = self._places.get(key)
        if found is None:
            try:
                found = self.nodes.find(raw)
            except RowError as exc:
                found = str(exc)
            self._places[key] = found
        if isinstance(found, str):
            raise RowError(found)
        return found

    def parse_node(self, raw: Any) -> OrgNode:
        node = self.find_place(raw)
        if node.level not in self.place_levels:
            raise RowError(self.level_message())
        if node.pk not in self._place_ok:
            self._place_ok[node.pk] = can(self.actor, self.add_perm, node)
        if not self._place_ok[node.pk]:
            raise RowError(
                _("您无权在“%(place)s”登记%(what)s。")
                % {"place": self.nodes.label(node), "what": self.title}
            )
        return node

    def level_message(self) -> str:
        return _("应填写社区或网格。")

    def parse_id_number(self, raw: Any) -> IdNumber:
        if isinstance(raw, (int, float)):
            # Excel keeps 15 significant digits: an ID number stored as a number has lost its end.
            raise RowError(
                _("身份证号被 Excel 存成了数字，末几位可能已丢失：请将该列设为“文本”格式再填写。")
            )
        return clean_id_number(raw if isinstance(raw, str) else str(raw), today=self.today)

    def parse_phone(self, raw: Any) -> str:
        return clean_phone(raw if isinstance(raw, str) else _cell_digits(raw))

    # --- ID numbers: unique in the file and against the database ------------------------------

    def unique_value(self, key: str, values: dict[str, Any]) -> Hashable | None:
        parsed = values.get("id_number")
        if not isinstance(parsed, IdNumber):
            return None
        field = Person.id_number
        return self.ring.blind_index(field.normalize(parsed.number), purpose=field.purpose)

    def serves(self, node: OrgNode) -> bool:
        if node.path not in self._serves:
            self._serves[node.path] = serves(self.actor, node.path)
        return self._serves[node.path]

    def place_rows(self) -> list[list[str]]:
        lookup = NodeLookup(self.actor)
        return [
            [lookup.label(node), node.code, Level(node.level).label]
            for node in lookup.nodes
            if node.level in self.place_levels and can(self.actor, self.add_perm, node)
        ][:REFERENCE_LIMIT]


def _cell_digits(raw: Any) -> str:
    """A phone Excel stored as a number: 13812345678.0 → "13812345678"."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _person_input(values: dict[str, Any]) -> dict[str, Any]:
    """The person part of a parsed row, as `clean_person_data` takes it (the ID number as the
    column parsed it: checked once)."""
    return {
        "name": values["name"],
        "gender": values.get("gender") or "",
        "ethnicity": values.get("ethnicity") or "",
        "id_number": values["id_number"],
        "phone": values.get("phone") or "",
        "address": values.get("address") or "",
    }


def _errors_by_column(exc: ValidationError, renames: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        out.setdefault(renames.get(key, key), []).extend(mask_personal(m) for m in messages)
    return out


# Service error keys → the column that carries them.
_PERSON_KEYS = {"birth_date": "id_number", "note": "__all__"}
_MEMBER_KEYS = {
    **_PERSON_KEYS,
    "organization_name": "organization",
    "work_unit_name": "unit",
}

# ---------------------------------------------------------------------------------------------
# party members


def _person_columns(*, address_help: str = "") -> tuple[Column, ...]:
    return (
        Column(gettext_lazy("姓名"), "name", required=True, parse=text(50), example="林晓"),
        Column(
            gettext_lazy("性别"),
            "gender",
            parse=choice(Gender),
            example="男",
            help=gettext_lazy("男 或 女；可不填，按身份证号自动生成（填写时须与身份证号一致）。"),
            width=8,
        ),
        Column(
            gettext_lazy("民族"),
            "ethnicity",
            parse=text(20),
            example="汉族",
            help=gettext_lazy("不填按“汉族”登记。"),
            width=8,
        ),
        Column(
            gettext_lazy("公民身份号码"),
            "id_number",
            required=True,
            parse="parse_id_number",
            example=EXAMPLE_ID,
            help=gettext_lazy(
                "18 位居民身份证号码，校验位须正确，出生日期、性别由此自动生成；"
                "不得与文件中其他行重复。请将该列设为“文本”格式，以免 Excel 丢失末位。"
            ),
            aliases=("身份证号", "身份证号码", "身份证", "公民身份号"),
            unique=True,
            text_format=True,
            width=22,
        ),
        Column(
            gettext_lazy("手机号码"),
            "phone",
            parse="parse_phone",
            example="13812345678",
            help=gettext_lazy("11 位手机号，或固定电话（如 0594-2345678）。"),
            aliases=("联系电话", "手机号", "电话", "手机"),
            text_format=True,
            width=16,
        ),
        Column(
            gettext_lazy("住址"),
            "address",
            parse=text(200),
            example="荔城区文献路18号",
            help=address_help,
            aliases=("现住址", "居住地址", "地址"),
            width=28,
        ),
    )


@register
class MemberImporter(PeopleImporter):
    kind = "members"
    title = gettext_lazy("党员")
    policy = roles(MANAGING_ROLES)
    list_url_name = "people:member_list"
    add_perm = "people.add_member"
    columns = (
        *_person_columns(),
        Column(
            gettext_lazy("所在网格"),
            "node",
            required=True,
            parse="parse_node",
            example="镇海街道/文献社区/文献一网格",
            help=gettext_lazy(
                "党员居住地所在的网格（或社区）：名称路径，用“/”分隔，如 "
                "镇海街道/文献社区/文献一网格；不致混淆时可只写末尾几级，也可填写组织编码。"
                "须在您的管辖范围内，见“可选社区网格”工作表。"
            ),
            aliases=("所在社区/网格", "居住网格", "所在社区", "社区/网格", "网格"),
            width=30,
        ),
        Column(
            gettext_lazy("党员类别"),
            "category",
            required=True,
            parse=CATEGORY,
            example=str(Category.REGISTERED.label),
            width=14,
        ),
        Column(
            gettext_lazy("入党日期"), "joined_on", required=True, parse=date(), example="1998-07-01"
        ),
        Column(
            gettext_lazy("正式/预备"),
            "membership_type",
            parse=MEMBERSHIP,
            example=str(MembershipType.FULL.label),
            default="",
            help=gettext_lazy("正式党员 或 预备党员；不填按正式党员登记。"),
            aliases=("党员身份", "正式或预备", "正式党员/预备党员"),
            width=12,
        ),
        Column(
            gettext_lazy("转正日期"),
            "full_on",
            parse=date(),
            help=gettext_lazy("日期，不早于入党日期；预备党员不填时按入党日期满一年计。"),
            default=None,
        ),
        Column(
            gettext_lazy("组织关系所在党组织"),
            "organization",
            parse="parse_organization",
            help=gettext_lazy(
                "不填：所在网格的党支部（网格党组织）。填写本系统中的党组织名称时关联该党组织"
                "（见“可选党组织”工作表）；其他名称按系统外党组织登记（如单位党支部）。"
            ),
            aliases=("组织关系所在", "所在党组织", "党组织"),
            width=26,
        ),
        Column(
            gettext_lazy("活动所在网格"),
            "branch",
            parse="parse_branch",
            help=gettext_lazy(
                "党员参加组织生活的网格党支部；不填时为所在网格。须与住址同属一个社区。"
            ),
            aliases=("活动所在网格党支部", "网格党支部", "活动网格"),
            width=22,
        ),
        Column(
            gettext_lazy("工作单位"),
            "unit",
            parse="parse_unit",
            help=gettext_lazy(
                "在职党员、新兴领域党员必填。与本区驻区单位名称一致时关联该单位，否则按名称登记。"
            ),
            aliases=("工作单位名称", "单位"),
            width=26,
        ),
        Column(
            gettext_lazy("党费计算类别"),
            "dues_class",
            parse=choice(DuesClass),
            help=gettext_lazy("不填时按党员类别确定（离退休党员按离退休费，其余按工资）。"),
            width=18,
        ),
        Column(
            gettext_lazy("月收入（税后）"),
            "monthly_income",
            parse=decimal(2),
            help=gettext_lazy("元，最多两位小数；用于计算党费标准，可不填。"),
            aliases=("月收入", "税后月收入"),
            default=None,
            width=14,
        ),
    )
    notes = (
        gettext_lazy(
            "导入的党员党籍状态均为“正常”；停止党籍、出党等请在党员页面办理（留有记录）。"
        ),
        gettext_lazy(
            "身份证号已登记为居民等、尚未登记为党员的人员，按身份证号关联到已有人员，"
            "其已登记的个人信息不变；已是党员或登记在您管辖范围以外的，整份文件不予导入。"
        ),
    )

    def prepare(self) -> None:
        super().prepare()
        self.places = services.PlaceCache()
        self.organizations: dict[str, list[PartyOrganization]] = {}
        for org in selectors.organization_choices(self.actor):
            self.organizations.setdefault(_norm(org.name), []).append(org)
        self.units: dict[str, list[ResidentUnit]] = {}
        for unit in selectors.unit_choices(self.actor):
            self.units.setdefault(_norm(unit.name), []).append(unit)

    def level_message(self) -> str:
        return _("党员应登记在社区或网格。")

    def parse_branch(self, raw: Any) -> OrgNode:
        node = self.find_place(raw)
        if node.level != Level.GRID:
            raise RowError(_("活动所在网格应为网格。"))
        return node

    def parse_organization(self, raw: Any) -> PartyOrganization | str:
        name = _norm(raw if isinstance(raw, str) else str(raw))
        found = self.organizations.get(name, [])
        if len(found) > 1:
            raise RowError(_("有多个党组织名为“%(name)s”，请联系管理员。") % {"name": name[:60]})
        if found:
            return found[0]
        if len(name) > 120:
            raise RowError(_("不能超过 %(n)d 个字。") % {"n": 120})
        return name

    def parse_unit(self, raw: Any) -> ResidentUnit | str:
        name = _norm(raw if isinstance(raw, str) else str(raw))
        found = self.units.get(name, [])
        if len(found) == 1:
            return found[0]
        if len(name) > 120:
            raise RowError(_("不能超过 %(n)d 个字。") % {"n": 120})
        return name  # not a registered unit (or several share the name): kept as its name

    def clean_row(self, values: dict[str, Any]) -> dict[str, Any]:
        data = _person_input(values)
        node: OrgNode = values["node"]
        data.update(
            category=values["category"],
            joined_on=values["joined_on"],
            membership_type=values.get("membership_type") or "",
            full_on=values.get("full_on"),
            dues_class=values.get("dues_class") or "",
            monthly_income=values.get("monthly_income"),
        )
        organization = values.get("organization")
        if isinstance(organization, PartyOrganization):
            data["organization"] = organization
        else:
            data["organization_name"] = organization or ""
        unit = values.get("unit")
        if isinstance(unit, ResidentUnit):
            data["unit"] = unit
        else:
            data["work_unit_name"] = unit or ""
        if values.get("branch") is not None and values.get("branch") != "":
            data["branch"] = values["branch"]
        try:
            person, membership = services.clean_member_row(data, today=self.today)
        except ValidationError as exc:
            raise ValidationError(_errors_by_column(exc, _MEMBER_KEYS)) from None
        try:
            services.check_member_links(node, membership, places=self.places)
        except ValidationError as exc:
            raise ValidationError(_errors_by_column(exc, _MEMBER_KEYS)) from None
        return {**person, **membership, "node": node}

    def existing_values(self, key: str, values: list[Hashable]) -> dict[Hashable, str]:
        """ID numbers that cannot become members here, each with its reason. (A registered
        person the actor sees who is not a member yet is no problem: they are reused.)"""
        return _conflicts(self.actor, values, taken="membership", message=_("该人员已登记为党员。"))

    def existing_message(self, key: str) -> str:
        return _("该身份证号已登记为党员，或已在您管辖范围以外登记。")

    def commit(self, rows: list[dict[str, Any]], actor: Any) -> int:
        members = services.members_bulk_create(actor=actor, rows=rows, batch_size=self.batch_size)
        return len(members)

    def reference_sheets(self) -> list[SheetSpec]:
        organizations = [
            [org.name, org.get_category_display(), org.node.name]
            for org in selectors.organization_choices(self.actor)[:REFERENCE_LIMIT]
        ]
        return [
            SheetSpec(
                title=_("可选社区网格"),
                headers=[_("所在网格"), _("编码"), _("层级")],
                rows=self.place_rows(),
                widths=[40, 16, 10],
            ),
            SheetSpec(
                title=_("可选党组织"),
                headers=[_("组织关系所在党组织"), _("设置方式"), _("所在组织")],
                rows=organizations,
                widths=[40, 14, 20],
            ),
        ]


def _conflicts(actor: Any, indexes: list[Hashable], *, taken: str, message: str) -> dict:
    """{blind index: reason} for registered persons a bulk service would refuse."""
    registered = registered_indexes(list(indexes))  # usually none: one plain query
    if not registered:
        return {}
    found = (
        Person.objects.filter(id_number_index__in=sorted(registered))
        .select_related("node")
        .annotate(has_role=Exists(_role_model(taken).objects.filter(person=OuterRef("pk"))))
    )
    conflicts: dict[Hashable, str] = {}
    for person in found:
        if not can(actor, "people.view_person", person):
            conflicts[person.id_number_index] = _("该身份证号已在其他社区登记，请联系其所在社区。")
        elif person.has_role:
            conflicts[person.id_number_index] = message
    return conflicts


def _role_model(taken: str) -> Any:
    return PartyMember if taken == "membership" else Resident


# ---------------------------------------------------------------------------------------------
# households and buildings: per grid, loaded the first time a file names the grid


@dataclass
class _GridHomes:
    buildings: dict[str, Building] = field(default_factory=dict)
    # (building name or "", door) → the households there (more than one only without building)
    households: dict[tuple[str, str], list[Household]] = field(default_factory=dict)
    with_head: set[int] = field(default_factory=set)  # households with a current head


class _Homes:
    """The buildings and households of the grids a file names (three queries per grid)."""

    def __init__(self) -> None:
        self._grids: dict[int, _GridHomes] = {}

    def grid(self, node: OrgNode) -> _GridHomes:
        found = self._grids.get(node.pk)
        if found is None:
            found = self._grids[node.pk] = _GridHomes()
            for building in Building.objects.filter(node=node):
                building.node = node  # cached: no query per building later
                found.buildings[building.name] = building
            for household in Household.objects.filter(node=node).select_related("building"):
                household.node = node
                key = (household.building.name if household.building_id else "", household.door)
                found.households.setdefault(key, []).append(household)
            found.with_head = set(
                Resident.objects.filter(
                    household__node=node, relation=Relation.HEAD, moved_out_on__isnull=True
                ).values_list("household_id", flat=True)
            )
        return found


def _home_columns(*, door_required: bool) -> tuple[Column, ...]:
    """楼栋, 门牌/房号, 户别: required and unique doors for the households import; optional
    (several residents per door) for the residents import."""
    return (
        Column(
            gettext_lazy("楼栋"),
            "building",
            parse=text(60),
            example="文献花园1号楼",
            help=gettext_lazy("楼栋名称（网格内唯一）；网格中还没有的楼栋会一并登记。可不填。"),
            aliases=("楼栋名称", "楼号"),
            width=18,
        ),
        Column(
            gettext_lazy("门牌/房号"),
            "door",
            required=door_required,
            parse=text(40),
            example="1单元101",
            help=gettext_lazy("同一楼栋内唯一，如 1单元101；无楼栋的平房写门牌号，如 文献路18号。")
            if door_required
            else gettext_lazy(
                "户号：同一网格、同一楼栋、同一门牌的各行为一户，系统中没有的住户会一并登记；"
                "不填则登记为未分户居民。"
            ),
            aliases=("户号", "门牌号", "房号", "门牌"),
            unique=door_required,
            width=14,
        ),
        Column(
            gettext_lazy("户别"),
            "household_type",
            parse=choice(HouseholdType),
            example=str(HouseholdType.REGISTERED.label),
            help=gettext_lazy("户籍户、常住户、租住户、空置户；不填按常住户。新登记住户时采用。"),
            width=10,
        ),
    )


class _HomeImporter(PeopleImporter):
    """Resolving 所在网格 + 楼栋 + 门牌/房号 to a household, existing or to be created."""

    def prepare(self) -> None:
        super().prepare()
        self.homes = _Homes()
        # Households the file will create: key → (first row's values)
        self.new_households: dict[tuple[int, str, str], dict[str, Any]] = {}

    def home(self, node: OrgNode, building: str, door: str) -> tuple[Household | None, tuple]:
        """(existing household or None, key of the household) — raises for an ambiguous door."""
        if node.level != Level.GRID:
            raise ValidationError({"node": [_("填写门牌/房号时，所在网格应为网格。")]})
        homes = self.homes.grid(node)
        found = homes.households.get((building, door), [])
        if len(found) > 1:
            raise ValidationError(
                {"door": [_("该网格有多户使用此门牌，请在“楼栋”列注明所在楼栋。")]}
            )
        return (found[0] if found else None), (node.pk, building, door)


@register
class ResidentImporter(_HomeImporter):
    kind = "residents"
    title = gettext_lazy("居民")
    policy = roles(PEOPLE_ROLES)
    list_url_name = "people:resident_list"
    add_perm = "people.add_resident"
    columns = (
        *_person_columns(
            address_help=gettext_lazy("不超过 200 个字；新登记住户时也作为住户地址。")
        ),
        Column(
            gettext_lazy("所在网格"),
            "node",
            required=True,
            parse="parse_node",
            example="镇海街道/文献社区/文献一网格",
            help=gettext_lazy(
                "居民所在的网格：名称路径，用“/”分隔，如 镇海街道/文献社区/文献一网格；"
                "不致混淆时可只写末尾几级，也可填写组织编码。未分户的居民也可填社区。"
                "须在您的管辖范围内，见“可选社区网格”工作表。"
            ),
            aliases=("所在社区/网格", "居住网格", "所在社区", "社区/网格", "网格"),
            width=30,
        ),
        *_home_columns(door_required=False),
        Column(
            gettext_lazy("与户主关系"),
            "relation",
            parse=choice(Relation),
            example=str(Relation.HEAD.label),
            help=gettext_lazy(
                "户主、配偶、子女、父母、孙辈、其他；不填按户主。每户只能有一名户主。"
            ),
            width=12,
        ),
        Column(
            gettext_lazy("人口类别"),
            "residence_type",
            parse=choice(ResidenceType),
            example=str(ResidenceType.REGISTERED.label),
            help=gettext_lazy("户籍人口、常住人口、流动人口；不填按常住人口。"),
            width=12,
        ),
        Column(gettext_lazy("入住日期"), "moved_in_on", parse=date(), default=None),
        Column(
            gettext_lazy("特殊人群"),
            "groups",
            parse=parse_groups,
            default=(),
            help=gettext_lazy(
                "可选：空巢独居老人、70岁以上老党员、残疾人、低保户、困难户、优抚对象、下岗职工、"
                "进城务工人员、困难学生、刑满释放人员；多个用“、”分隔。残疾、低保、困难等敏感"
                "类别仅服务社区（社区管理员、网格员）可以标记。"
            ),
            aliases=("特殊人群类别", "人群类别"),
            width=24,
        ),
    )
    notes = (
        gettext_lazy(
            "同一网格中楼栋和门牌/房号相同的各行为同一户；系统中还没有的楼栋、住户会随居民一并"
            "登记（户别、住户地址取该户第一行）。"
        ),
        gettext_lazy(
            "身份证号已登记为党员等、尚未登记为居民的人员，按身份证号关联到已有人员并迁入所填"
            "住户，其已登记的个人信息不变；已是居民或登记在您管辖范围以外的，整份文件不予导入。"
        ),
    )

    def prepare(self) -> None:
        super().prepare()
        self.heads: set[tuple] = set()  # households of the file that have their head

    def clean_row(self, values: dict[str, Any]) -> dict[str, Any]:
        node: OrgNode = values["node"]
        data = _person_input(values)
        data.update(
            relation=values.get("relation") or "",
            residence_type=values.get("residence_type") or "",
            moved_in_on=values.get("moved_in_on"),
        )
        errors: dict[str, list[str]] = {}
        person = resident = None
        try:
            person = clean_person_data(data, today=self.today)
        except ValidationError as exc:
            errors.update(_errors_by_column(exc, _PERSON_KEYS))
        try:
            resident = clean_resident_data(data)
        except ValidationError as exc:
            errors.update(_errors_by_column(exc, {}))
        groups = list(values.get("groups") or ())
        if set(groups) & SENSITIVE_GROUPS and not self.serves(node):
            errors["groups"] = [_("困难、残疾等敏感人群仅由服务社区标记。")]
        building, door = values.get("building") or "", values.get("door") or ""
        household: Household | None = None
        key: tuple | None = None
        if building and not door:
            errors["door"] = [_("填写楼栋时，请同时填写门牌/房号。")]
        elif door:
            try:
                household, key = self.home(node, building, door)
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        assert person is not None and resident is not None
        if key is not None and resident["relation"] == Relation.HEAD:
            if household is not None and household.pk in self.homes.grid(node).with_head:
                raise ValidationError({"relation": [_("该户在系统中已有户主。")]})
            if key in self.heads:
                raise ValidationError({"relation": [_("文件中该户已有户主，每户只能有一名户主。")]})
            self.heads.add(key)
        if key is not None and household is None and key not in self.new_households:
            self.new_households[key] = {
                "household_type": values.get("household_type") or HouseholdType.RESIDENT,
                "address": person.get("address", ""),
            }
        resident.pop("moved_out_on", None)
        return {
            **person,
            **resident,
            "node": node,
            "household": household,
            "household_key": key if household is None else None,
            "groups": groups,
        }

    def existing_values(self, key: str, values: list[Hashable]) -> dict[Hashable, str]:
        return _conflicts(self.actor, values, taken="resident", message=_("该人员已登记为居民。"))

    def existing_message(self, key: str) -> str:
        return _("该身份证号已登记为居民，或已在您管辖范围以外登记。")

    def commit(self, rows: list[dict[str, Any]], actor: Any) -> int:
        households = _create_homes(
            actor,
            self.homes,
            {row["household_key"]: row["node"] for row in rows if row["household_key"]},
            self.new_households,
            self.batch_size,
        )
        for row in rows:
            if row["household_key"] is not None:
                row["household"] = households[row["household_key"]]
        residents = services.residents_bulk_create(
            actor=actor, rows=rows, batch_size=self.batch_size
        )
        return len(residents)

    def reference_sheets(self) -> list[SheetSpec]:
        return [
            SheetSpec(
                title=_("可选社区网格"),
                headers=[_("所在网格"), _("编码"), _("层级")],
                rows=self.place_rows(),
                widths=[40, 16, 10],
            )
        ]


def _create_homes(
    actor: Any,
    homes: _Homes,
    nodes: dict[tuple, OrgNode],
    new_households: dict[tuple, dict[str, Any]],
    batch_size: int,
) -> dict[tuple, Household]:
    """Register the buildings and households a file names that its grids do not have yet."""
    new_buildings: dict[tuple[int, str], OrgNode] = {}
    for key, node in nodes.items():
        _node_id, building, _door = key
        if building and building not in homes.grid(node).buildings:
            new_buildings.setdefault((node.pk, building), node)
    created = services.buildings_bulk_create(
        actor=actor,
        rows=[{"node": node, "name": name} for (_pk, name), node in new_buildings.items()],
        batch_size=batch_size,
    )
    for building in created:
        homes.grid(building.node).buildings[building.name] = building
    keys = list(nodes)
    households = services.households_bulk_create(
        actor=actor,
        rows=[
            {
                "node": nodes[key],
                "building": homes.grid(nodes[key]).buildings.get(key[1]) if key[1] else None,
                "door": key[2],
                **new_households[key],
            }
            for key in keys
        ],
        batch_size=batch_size,
    )
    return dict(zip(keys, households, strict=True))


@register
class HouseholdImporter(_HomeImporter):
    kind = "households"
    title = gettext_lazy("住户")
    policy = roles(PEOPLE_ROLES)
    list_url_name = "people:household_list"
    add_perm = "people.add_household"
    place_levels = (Level.GRID,)
    columns = (
        Column(
            gettext_lazy("所在网格"),
            "node",
            required=True,
            parse="parse_node",
            example="镇海街道/文献社区/文献一网格",
            help=gettext_lazy(
                "住户所在的网格：名称路径，用“/”分隔，如 镇海街道/文献社区/文献一网格；"
                "不致混淆时可只写末尾几级，也可填写组织编码。见“可选网格”工作表。"
            ),
            aliases=("所在社区/网格", "网格"),
            width=30,
        ),
        *_home_columns(door_required=True),
        Column(
            gettext_lazy("地址"),
            "address",
            parse=text(200),
            example="荔城区文献路18号",
            aliases=("住户地址",),
            width=28,
        ),
        Column(gettext_lazy("备注"), "note", parse=text(200)),
    )
    notes = (
        gettext_lazy("同一网格、同一楼栋的门牌/房号不得重复，也不得与已登记的住户重复。"),
        gettext_lazy("网格中还没有的楼栋会一并登记。居民请用“居民”导入，可同时登记住户。"),
    )

    def level_message(self) -> str:
        return _("住户应登记在网格。")

    def unique_value(self, key: str, values: dict[str, Any]) -> Hashable | None:
        node = values.get("node")
        if not isinstance(node, OrgNode) or not values.get("door"):
            return None
        return (node.pk, values.get("building") or "", values["door"])

    def existing_values(self, key: str, values: list[Hashable]) -> set[Hashable]:
        wanted = set(values)
        found: set[Hashable] = set()
        node_ids = sorted({v[0] for v in wanted})  # type: ignore[index]
        doors = sorted({v[2] for v in wanted})  # type: ignore[index]
        for node_id, building, door in Household.objects.filter(
            node_id__in=node_ids, door__in=doors
        ).values_list("node_id", "building__name", "door"):
            candidate = (node_id, building or "", door)
            if candidate in wanted:
                found.add(candidate)
        return found

    def existing_message(self, key: str) -> str:
        return _("该住户已登记（同一网格、楼栋的门牌/房号已存在）。")

    def clean_row(self, values: dict[str, Any]) -> dict[str, Any]:
        node: OrgNode = values["node"]
        key = (node.pk, values.get("building") or "", values["door"])
        return {
            "key": key,
            "node": node,
            "household_type": values.get("household_type") or HouseholdType.RESIDENT,
            "address": values.get("address") or "",
            "note": values.get("note") or "",
        }

    def commit(self, rows: list[dict[str, Any]], actor: Any) -> int:
        nodes = {row["key"]: row["node"] for row in rows}
        extra = {
            row["key"]: {
                "household_type": row["household_type"],
                "address": row["address"],
                "note": row["note"],
            }
            for row in rows
        }
        return len(_create_homes(actor, self.homes, nodes, extra, self.batch_size))

    def reference_sheets(self) -> list[SheetSpec]:
        return [
            SheetSpec(
                title=_("可选网格"),
                headers=[_("所在网格"), _("编码"), _("层级")],
                rows=self.place_rows(),
                widths=[40, 16, 10],
            )
        ]

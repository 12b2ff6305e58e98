"""Row-level validation of people data, shared by services, forms, the API and bulk imports.

Everything here is pure (no database writes, no permission checks): it turns raw input into
clean values or raises django ValidationError with Chinese messages keyed by field name, so an
importer can validate every row of a file before anything is written and report row × column
errors, then hand the cleaned rows to `services.members_bulk_create` and friends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.cn import ric

from tongxin.people.models import (
    Category,
    DuesClass,
    Gender,
    MembershipType,
    MemberStatus,
    Person,
    Relation,
    ResidenceType,
    SpecialGroup,
)

CENT = Decimal("0.01")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
EARLIEST_BIRTH = date(1900, 1, 1)


def one_year_after(day: date) -> date:
    """The same date a year later (29 February → 1 March)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return date(day.year + 1, 3, 1)


def money(value: Any) -> Decimal:
    """A Decimal rounded to the cent, half up (the way a treasurer rounds)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- ID numbers (GB 11643) --------------------------------------------------------------------


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: date
    gender: str


# The province-level codes of GB/T 2260 (the first two digits of an ID number): the provinces,
# autonomous regions and municipalities, Taiwan, Hong Kong and Macao. The same set python-stdnum's
# `cn/loc` database marks as provinces (a test keeps the two in step); a constant because loading
# that database costs an import more than checking all its rows.
PROVINCE_CODES = frozenset(
    str(code)
    for code in (
        *range(11, 16),  # 北京 天津 河北 山西 内蒙古
        *range(21, 24),  # 辽宁 吉林 黑龙江
        *range(31, 38),  # 上海 江苏 浙江 安徽 福建 江西 山东
        *range(41, 47),  # 河南 湖北 湖南 广东 广西 海南
        *range(50, 55),  # 重庆 四川 贵州 云南 西藏
        *range(61, 66),  # 陕西 甘肃 青海 宁夏 新疆
        71,  # 台湾
        81,  # 香港
        82,  # 澳门
    )
)
_GENDERS = frozenset(Gender.values)


def _province_known(prefix: str) -> bool:
    """Is the two-digit province code known?"""
    return prefix in PROVINCE_CODES


_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def clean_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate a resident ID number; derive birth date and gender.

    Checks length (18), format (17 digits + digit or X), the MOD 11-2 check character, a real
    birth date (not in the future, not before 1900) and a known province code. We do not call
    `ric.validate()` as a whole: it also requires the county code to have existed in the birth
    year, which rejects real numbers (everyone born in 城厢区 before 1983, when the code was
    created, holds a 350302 number issued later).

    An import checks tens of thousands of numbers: a well-formed number (the common case) skips
    `ric.compact`'s Unicode clean-up and the date comes from plain slicing; the checks and their
    messages are the same either way.
    """
    number = raw.strip().upper() if isinstance(raw, str) else ""
    if not (len(number) == 18 and number.isascii() and _ID_SHAPE.fullmatch(number)):
        number = ric.compact(raw or "")
        if len(number) != 18:
            raise ValidationError(_("身份证号应为18位。"), code="length")
        if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
            raise ValidationError(_("身份证号前17位应为数字，最后一位为数字或X。"), code="format")
    if number[17] != ric.calc_check_digit(number):
        raise ValidationError(_("身份证号校验码不正确，请核对。"), code="checksum")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("身份证号中的出生日期不存在。"), code="birth_date") from None
    today = today or timezone.localdate()
    if born > today or born < EARLIEST_BIRTH:
        raise ValidationError(_("身份证号中的出生日期不合理。"), code="birth_date")
    if not _province_known(number[:2]):
        raise ValidationError(_("身份证号中的地区码不正确。"), code="region")
    gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    return IdNumber(number=number, birth_date=born, gender=gender)


# --- phones -----------------------------------------------------------------------------------


def clean_phone(raw: str) -> str:
    """A Chinese mobile (1[3-9] + 9 digits) or landline (area code 0xx/0xxx, 7–8 digits).

    Landlines are written `0594-2345678`: area codes 010 and 02x have three digits, all others
    four, so the dash can be put back when it was left out.
    """
    value = re.sub(r"[\s()（）]", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    if MOBILE_RE.match(value):
        return value
    if LANDLINE_RE.match(value):
        digits = value.replace("-", "")
        area = 3 if digits[:2] in ("01", "02") else 4
        number = digits[area:]
        if 7 <= len(number) <= 8:
            return f"{digits[:area]}-{number}"
    raise ValidationError(
        _("请输入有效的手机号（11位）或固定电话（如 0594-2345678）。"), code="phone"
    )


# --- persons ----------------------------------------------------------------------------------

PERSON_TEXT_LIMITS = {"name": 50, "ethnicity": 20, "address": 200, "note": 200}


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def clean_person_data(
    data: Mapping[str, Any], *, partial: bool = False, today: date | None = None
) -> dict[str, Any]:
    """Clean the person part of a row: name, gender, ethnicity, birth date, ID number, phone…

    With an ID number, birth date and gender come from it; a birth date or gender given as well
    must agree. Returns only the keys present (all of them unless `partial`). The ID number may
    come as the `IdNumber` a spreadsheet column already parsed with `clean_id_number`; `today`
    lets an import check a whole file against one date.
    """
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def present(name: str) -> bool:
        return not partial or name in data

    if present("name"):
        name = _text(data, "name")
        if not name:
            errors["name"] = [_("请填写姓名。")]
        out["name"] = name
    for field, limit in PERSON_TEXT_LIMITS.items():
        if field != "name" and present(field) and (field in data or not partial):
            out[field] = _text(data, field)
        if len(out.get(field, "")) > limit:
            errors[field] = [_("不能超过 %(n)d 个字符。") % {"n": limit}]
    if "ethnicity" in out and not out["ethnicity"] and not partial:
        out["ethnicity"] = "汉族"
    if present("gender"):
        gender = _text(data, "gender")
        gender = {"男": Gender.MALE, "女": Gender.FEMALE}.get(gender, gender)
        if gender and gender not in _GENDERS:
            errors["gender"] = [_("性别应为男或女。")]
        out["gender"] = gender
    if present("birth_date"):
        born = data.get("birth_date")
        if born and not isinstance(born, date):
            errors["birth_date"] = [_("出生日期格式不正确。")]
        elif born and born > (today or timezone.localdate()):
            errors["birth_date"] = [_("出生日期不能晚于今天。")]
        out["birth_date"] = born or None
    if present("id_number"):
        given = data.get("id_number")
        raw = "" if isinstance(given, IdNumber) else _text(data, "id_number")
        out["id_number"] = ""
        if isinstance(given, IdNumber) or raw:
            try:
                parsed = given if isinstance(given, IdNumber) else clean_id_number(raw, today=today)
            except ValidationError as exc:
                errors["id_number"] = exc.messages
            else:
                out["id_number"] = parsed.number
                given_birth = out.get("birth_date")
                given_gender = out.get("gender")
                if given_birth and given_birth != parsed.birth_date:
                    errors["birth_date"] = [_("出生日期与身份证号不一致。")]
                if given_gender and given_gender != parsed.gender:
                    errors["gender"] = [_("性别与身份证号不一致。")]
                out["birth_date"] = parsed.birth_date
                out["gender"] = parsed.gender
    if present("phone"):
        raw = _text(data, "phone")
        out["phone"] = ""
        if raw:
            try:
                out["phone"] = clean_phone(raw)
            except ValidationError as exc:
                errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return out


LOOKUP_CHUNK = 500  # keys per `IN (...)` query: SQLite allows 32,766 variables, PostgreSQL 65,535


def duplicate_id_numbers(numbers: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Rows whose ID number repeats an earlier row or one already registered.

    `numbers` are (row number, cleaned ID number) pairs; the answer maps a row number to a
    Chinese message. Looked up through the blind index, in chunks (one query per 500 numbers,
    whatever the length of the file): plain numbers never reach the database.
    """
    field = Person.id_number
    first_row: dict[str, int] = {}
    problems: dict[int, str] = {}
    by_index: dict[str, list[int]] = {}
    for row, number in numbers:
        if not number:
            continue
        index = field.index_of(number)
        if index in first_row:
            problems[row] = _("身份证号与第 %(row)d 行重复。") % {"row": first_row[index]}
            continue
        first_row[index] = row
        by_index.setdefault(index, []).append(row)
    for index in registered_indexes(by_index):
        for row in by_index[index]:
            problems[row] = _("该身份证号已登记。")
    return problems


def registered_indexes(indexes: Iterable[str]) -> set[str]:
    """Which of these ID-number blind indexes a registered person already has.

    One plain `IN` query per 500 indexes (PostgreSQL: `= ANY` of an array, 5,000 at a time):
    through the ORM each parameter would pass the field API (half a second for a 50,000-row
    file), for a column that only ever holds hex digests.
    """
    wanted = list(indexes)
    table = connection.ops.quote_name(Person._meta.db_table)
    column = connection.ops.quote_name(Person._meta.get_field("id_number_index").column)
    found: set[str] = set()
    postgres = connection.vendor == "postgresql"
    step = LOOKUP_CHUNK * 10 if postgres else LOOKUP_CHUNK  # an array is one parameter
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), step):
            chunk = wanted[start : start + step]
            # Identifiers from the model's metadata, quoted; the indexes are bound parameters.
            if postgres:  # one array parameter: psycopg parses placeholders in Python
                sql = f"SELECT {column} FROM {table} WHERE {column} = ANY(%s)"  # noqa: S608
                cursor.execute(sql, [chunk])
            else:
                marks = ", ".join(["%s"] * len(chunk))
                sql = f"SELECT {column} FROM {table} WHERE {column} IN ({marks})"  # noqa: S608
                cursor.execute(sql, chunk)
            found.update(row[0] for row in cursor.fetchall())
    return found


# --- party members ----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _labels(choices: type) -> dict[str, str]:
    """Label → code, so a spreadsheet may say 在职党员 where the API says in_service. Labels in
    every language the site offers (a file is read by a worker whatever its uploader's language),
    and the codes themselves."""
    lookup: dict[str, str] = {}
    for code, label in choices.choices:
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                lookup.setdefault(str(label), code)
        lookup[code] = code
    return lookup


def _choice(
    data: Mapping[str, Any], name: str, choices: type, errors: dict, message: str | Promise
) -> str | None:
    value = _text(data, name)
    found = _labels(choices).get(value)
    if found is None:
        errors[name] = [str(message)]
    return found


# Translated when a row is refused, not for every row checked.
CATEGORY_MESSAGE = gettext_lazy(
    "党员类别应为六类之一：在册、在职、新兴领域、离退休、下岗职工、流动。"
)
MEMBERSHIP_MESSAGE = gettext_lazy("党员身份应为正式党员或预备党员。")
STATUS_MESSAGE = gettext_lazy("党籍状态不正确。")
DUES_CLASS_MESSAGE = gettext_lazy("党费计算类别不正确。")
RELATION_MESSAGE = gettext_lazy("与户主关系不正确。")
RESIDENCE_MESSAGE = gettext_lazy("人口类别不正确。")


def clean_income(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = money(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(_("请输入金额，如 4500.00。"), code="income") from None
    if amount < 0:
        raise ValidationError(_("月收入不能为负数。"), code="income")
    if amount >= Decimal("100000000"):
        raise ValidationError(_("月收入超出范围。"), code="income")
    return amount


def clean_member_data(
    data: Mapping[str, Any], *, partial: bool = False, today: date | None = None
) -> dict[str, Any]:
    """Clean the membership part of a row (codes or Chinese labels accepted for choices).

    Foreign keys (organization, branch, unit) are resolved by the caller, who knows the scope.
    """
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def present(name: str) -> bool:
        return not partial or name in data

    if present("category"):
        out["category"] = _choice(
            data,
            "category",
            Category,
            errors,
            CATEGORY_MESSAGE,
        )
    if present("membership_type"):
        if not _text(data, "membership_type") and not partial:
            out["membership_type"] = MembershipType.FULL
        else:
            out["membership_type"] = _choice(
                data,
                "membership_type",
                MembershipType,
                errors,
                MEMBERSHIP_MESSAGE,
            )
    if present("status"):
        if not _text(data, "status") and not partial:
            out["status"] = MemberStatus.NORMAL
        else:
            out["status"] = _choice(data, "status", MemberStatus, errors, STATUS_MESSAGE)
    if present("dues_class"):
        if not _text(data, "dues_class"):
            out["dues_class"] = None  # default from the category, decided by the service
        else:
            out["dues_class"] = _choice(data, "dues_class", DuesClass, errors, DUES_CLASS_MESSAGE)
    for name in ("joined_on", "full_on"):
        if present(name):
            value = data.get(name) or None
            if value is not None and not isinstance(value, date):
                errors[name] = [_("日期格式不正确。")]
            out[name] = value
    if present("joined_on") and out.get("joined_on") is None and not errors.get("joined_on"):
        errors["joined_on"] = [_("请填写入党日期。")]
    joined = out.get("joined_on")
    if joined and joined > (today or timezone.localdate()):
        errors["joined_on"] = [_("入党日期不能晚于今天。")]
    if joined and out.get("full_on") and out["full_on"] < joined:
        errors["full_on"] = [_("转正日期不能早于入党日期。")]
    if (
        out.get("membership_type") == MembershipType.PROBATIONARY
        and present("full_on")
        and out.get("full_on") is None
        and joined
    ):
        # 预备期一年 (党章第七条): the date it becomes full unless the branch decides otherwise.
        out["full_on"] = one_year_after(joined)
    for name in ("organization_name", "work_unit_name"):
        if present(name):
            out[name] = _text(data, name)
            if len(out[name]) > 120:
                errors[name] = [_("不能超过 %(n)d 个字符。") % {"n": 120}]
    if present("monthly_income"):
        try:
            out["monthly_income"] = clean_income(data.get("monthly_income"))
        except ValidationError as exc:
            errors["monthly_income"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return out


def clean_groups(values: Iterable[str]) -> set[str]:
    by_label = _labels(SpecialGroup)
    cleaned = set()
    for value in values:
        value = by_label.get(value.strip(), value.strip())
        if value not in SpecialGroup.values:
            raise ValidationError({"groups": [_("人群类别“%(v)s”不正确。") % {"v": value}]})
        cleaned.add(value)
    return cleaned


def clean_resident_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if not partial or "relation" in data:
        out["relation"] = (
            _choice(data, "relation", Relation, errors, RELATION_MESSAGE)
            if _text(data, "relation")
            else Relation.HEAD
        )
    if not partial or "residence_type" in data:
        out["residence_type"] = (
            _choice(data, "residence_type", ResidenceType, errors, RESIDENCE_MESSAGE)
            if _text(data, "residence_type")
            else ResidenceType.PERMANENT
        )
    for name in ("moved_in_on", "moved_out_on"):
        if not partial or name in data:
            value = data.get(name) or None
            if value is not None and not isinstance(value, date):
                errors[name] = [_("日期格式不正确。")]
            out[name] = value
    if (
        out.get("moved_in_on")
        and out.get("moved_out_on")
        and out["moved_out_on"] < out["moved_in_on"]
    ):
        errors["moved_out_on"] = [_("迁出日期不能早于入住日期。")]
    if errors:
        raise ValidationError(errors)
    return out

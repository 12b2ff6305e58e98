"""Excel workbooks built from querysets, safe to open in Excel or WPS.

A cell whose text starts with = + - @ (or a tab / carriage return) is run as a formula by
spreadsheet programs; audit records carry text typed by anyone (a failed login's username), so
every string is neutralised with a leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tongxin.core.models import AuditOutcome, AuditRecord

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value openpyxl will store as inert data: no formula, no illegal control characters."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(_FORMULA_TRIGGERS):
        return "'" + value
    return value


def workbook_bytes(title: str, header: list[str], rows: Iterable[list[Any]]) -> bytes:
    """One sheet, streamed row by row (write-only mode keeps memory flat for large exports)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=safe_cell(title)[:31])
    sheet.append([safe_cell(h) for h in header])
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def audit_workbook(records: QuerySet[AuditRecord]) -> bytes:
    outcomes = dict(AuditOutcome.choices)
    header = [
        _("编号"),
        _("时间"),
        _("操作人"),
        _("操作人编号"),
        _("来源地址"),
        _("操作"),
        _("对象类型"),
        _("对象编号"),
        _("对象"),
        _("结果"),
        _("变更内容"),
        _("哈希"),
    ]
    rows = (
        [
            r.id,
            timezone.localtime(r.at).strftime("%Y-%m-%d %H:%M:%S"),
            r.actor_username,
            r.actor_id,
            r.ip,
            r.action,
            r.object_type,
            r.object_id,
            r.object_repr,
            str(outcomes.get(r.outcome, r.outcome)),
            json.dumps(r.changes, ensure_ascii=False, sort_keys=True),
            r.hash,
        ]
        for r in records.iterator(chunk_size=2000)
    )
    return workbook_bytes(_("审计日志"), [str(h) for h in header], rows)

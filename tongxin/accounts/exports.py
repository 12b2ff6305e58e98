"""The audit trail as an Excel workbook, on the shared writer (core/xlsx.py).

Audit records carry text typed by anyone (a failed login's username), so the shared writer's
formula neutralisation matters here most of all; times are written as real date-times in
Asia/Shanghai, so the auditor can sort and filter them in the spreadsheet.
"""

from __future__ import annotations

import json

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tongxin.core.models import AuditOutcome, AuditRecord
from tongxin.core.xlsx import workbook_bytes


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
    widths = [8, 20, 16, 10, 16, 28, 22, 10, 30, 8, 60, 20]
    rows = (
        [
            r.id,
            r.at,
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
    return workbook_bytes(_("审计日志"), header, rows, widths=widths)

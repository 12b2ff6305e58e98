"""The shared .xlsx writer, list exports and phone masking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import BytesIO
from urllib.parse import unquote

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from tongxin.core.audit import audit
from tongxin.core.exports import (
    ExportColumn,
    content_disposition,
    export_response,
    masked,
    stamped_filename,
)
from tongxin.core.masking import mask_phone
from tongxin.core.models import AuditOutcome, AuditRecord
from tongxin.core.tests.xlsx_helpers import response_bytes, sheet_rows
from tongxin.core.xlsx import SheetSpec, safe_cell, sheet_title, workbook_bytes, write_workbook


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+8613812345678", "'+8613812345678"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("bell\x07name", "bellname"),
        ("正常文本", "正常文本"),
        (12, 12),
        (-3, -3),  # numbers are data, not formulas
        (Decimal("1.50"), Decimal("1.50")),
        (None, None),
        (True, True),
    ],
)
def test_safe_cell_neutralises_formulas_and_keeps_data(value, expected):
    assert safe_cell(value) == expected


def test_safe_cell_turns_aware_times_into_shanghai_wall_time_and_keeps_dates():
    moment = dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)
    assert safe_cell(moment) == dt.datetime(2026, 1, 1, 8, 30)  # noqa: DTZ001 - Excel has no zones
    assert safe_cell(dt.date(2026, 1, 2)) == dt.date(2026, 1, 2)
    assert safe_cell(gettext_lazy("社区")) == "社区"
    assert safe_cell(AuditOutcome.DENIED) == "拒绝"


def test_the_writer_makes_a_bold_frozen_header_with_widths_and_real_dates():
    out = BytesIO()
    spec = SheetSpec(
        title="名单: 1/2",
        headers=["姓名", "日期", "时间"],
        rows=(
            [f"人员{n}", dt.date(2026, 1, n + 1), timezone.now()] for n in range(3)
        ),  # a generator: streamed
        widths=[12, None, None],
    )
    write_workbook(out, [spec, SheetSpec("说明", ["说明"], [["=cmd"]])])
    assert spec.rows_written == 3
    book = load_workbook(BytesIO(out.getvalue()))
    sheet = book.worksheets[0]
    assert sheet.title == "名单_ 1_2"
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet["A1"].value == "姓名"
    assert sheet.column_dimensions["A"].width == 12
    assert sheet.column_dimensions["B"].width >= 8
    assert sheet["B2"].is_date and sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet["C2"].is_date
    assert book.worksheets[1]["A2"].value == "'=cmd"


def test_sheet_titles_are_made_acceptable_to_excel():
    assert sheet_title("a" * 40) == "a" * 31
    assert sheet_title("x[1]:y*?") == "x_1__y__"
    assert sheet_title("") == "Sheet1"


def test_workbook_bytes_is_a_one_sheet_workbook():
    rows = sheet_rows(workbook_bytes("表", ["甲", "乙"], [[1, "=2"]]))
    assert rows == [("甲", "乙"), (1, "'=2")]


def test_content_disposition_carries_a_chinese_name_and_an_ascii_fallback():
    header = content_disposition("驻区单位-20261123.xlsx", "units-20261123.xlsx")
    assert header.startswith('attachment; filename="units-20261123.xlsx"; ')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == "驻区单位-20261123.xlsx"
    assert " " not in encoded and '"' not in encoded
    assert 'filename="export.xlsx"' in content_disposition("审计日志.xlsx")
    assert 'filename="a.xlsx"' in content_disposition('a".xlsx')
    assert stamped_filename("名单").startswith("名单-") and stamped_filename("名单").endswith(
        ".xlsx"
    )


@pytest.mark.parametrize(
    ("raw", "masked_value"),
    [
        ("13812345678", "138****5678"),
        (" 138 1234 5678 ", "138****5678"),
        ("0594-2345678", "0594-***5678"),
        ("05942345678", "0594-***5678"),
        ("010-12345678", "010-****5678"),
        ("0591-87654321", "0591-****4321"),
        ("12345", "*2345"),
        ("123", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(raw, masked_value):
    assert mask_phone(raw) == masked_value


# ---------------------------------------------------------------------------------------------
# export_response, on a model every installation has


@pytest.mark.django_db
def test_export_response_writes_columns_masks_and_audits(people):
    audit(actor=None, username="13812345678", action="demo.one", changes={"x": 1})
    audit(actor=None, username="=cmd|calc", action="demo.two")
    records = AuditRecord.objects.filter(action__startswith="demo.").order_by("id")
    columns = [
        ExportColumn("操作", "action"),
        ExportColumn("结果", "outcome"),  # a choice: its label
        ExportColumn("操作人（脱敏）", masked("actor_username")),
        ExportColumn("变更", lambda r: len(r.changes)),
        ExportColumn("时间", "at"),
    ]
    response = export_response(
        records,
        columns,
        filename="演示",
        actor=people.audit_admin,
        action="core.demo.export",
        filters={"action": "demo.", "empty": "", "flag": False},
    )
    rows = sheet_rows(response_bytes(response))
    assert rows[0] == ("操作", "结果", "操作人（脱敏）", "变更", "时间")
    assert rows[1][:4] == ("demo.one", "成功", "138****5678", 1)
    assert rows[2][2] == "*****calc" and isinstance(rows[2][4], dt.datetime)
    record = AuditRecord.objects.get(action="core.demo.export")
    assert record.actor_id == people.audit_admin.pk
    assert record.object_type == "core.auditrecord"
    assert record.changes == {"rows": 2, "filters": {"action": "demo."}}


@pytest.mark.django_db
def test_export_response_refuses_a_list_over_the_limit(people, settings):
    for n in range(3):
        audit(actor=None, username="x", action=f"demo.{n}")
    settings.EXPORT_MAX_ROWS = 2
    with pytest.raises(ValidationError, match="超过单次导出上限 2 条"):
        export_response(
            AuditRecord.objects.filter(action__startswith="demo."),
            [ExportColumn("操作", "action")],
            filename="演示",
            actor=people.audit_admin,
            action="core.demo.export",
        )
    assert not AuditRecord.objects.filter(action="core.demo.export").exists()

"""Writing Excel workbooks that are safe to open in Excel or WPS, fast enough for large lists.

Every workbook the platform hands out (list exports, the audit export, import templates, import
error reports) goes through `safe_cell`:

- a string starting with = + - @ (or a tab / carriage return) would be run as a formula by
  spreadsheet programs; the text comes from anyone (a failed login's username, a unit's name
  typed by a liaison), so it gets a leading apostrophe (OWASP "CSV injection");
- control characters the XML format forbids are dropped (openpyxl would refuse the cell);
- aware datetimes become Asia/Shanghai wall time (Excel has no time zones) and dates stay dates,
  so they sort and filter as dates in the spreadsheet.

`write_workbook` uses openpyxl's write-only mode: rows stream to a temporary file, memory stays
flat however long the list. The header row is bold and frozen, columns get widths.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from typing import IO, Any

from django.db.models import Choices
from django.utils import timezone
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE_MAX = 31
_FORBIDDEN_IN_TITLE = str.maketrans({c: "_" for c in "[]:*?/\\"})
MIN_WIDTH = 8
MAX_WIDTH = 60


def safe_cell(value: Any) -> Any:
    """A value openpyxl stores as inert data: no formula, no illegal character, no time zone."""
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.make_naive(value, timezone.get_default_timezone())
        return value
    if isinstance(value, (dt.date, dt.time)):
        return value
    if isinstance(value, Choices):
        value = value.label
    if not isinstance(value, str):
        value = str(value)  # lazy translations, UUIDs, model instances
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def display_width(text: str) -> int:
    """Columns a text occupies in a spreadsheet: CJK and other wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def width_for(header: str, sample: str = "") -> float:
    return float(
        max(MIN_WIDTH, min(MAX_WIDTH, max(display_width(header), display_width(sample)) + 4))
    )


def sheet_title(title: str | Promise) -> str:
    """Excel refuses some characters in sheet names and anything over 31 characters."""
    return str(title).translate(_FORBIDDEN_IN_TITLE)[:SHEET_TITLE_MAX] or "Sheet1"


@dataclass
class SheetSpec:
    """One sheet: headers, rows (any iterable: a generator streams), optional column widths."""

    title: str | Promise
    headers: Sequence[str | Promise]
    rows: Iterable[Sequence[Any]] = ()
    widths: Sequence[float | None] = field(default_factory=tuple)
    rows_written: int = 0


def _header_cells(sheet: Any, headers: Sequence[str | Promise]) -> list[WriteOnlyCell]:
    bold = Font(bold=True)
    cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=safe_cell(header))
        cell.font = bold
        cells.append(cell)
    return cells


def write_workbook(out: IO[bytes], sheets: Iterable[SheetSpec]) -> None:
    """Stream the sheets into `out` as one .xlsx workbook; each spec's `rows_written` is set."""
    book = Workbook(write_only=True)
    for spec in sheets:
        sheet = book.create_sheet(title=sheet_title(spec.title))
        # Write-only sheets take their view and column settings before the first row.
        sheet.freeze_panes = "A2"
        for index, header in enumerate(spec.headers, start=1):
            given = spec.widths[index - 1] if index - 1 < len(spec.widths) else None
            sheet.column_dimensions[get_column_letter(index)].width = given or width_for(
                str(header)
            )
        sheet.append(_header_cells(sheet, spec.headers))
        count = 0
        for row in spec.rows:
            sheet.append([safe_cell(v) for v in row])
            count += 1
        spec.rows_written = count
    book.save(out)


def workbook_bytes(
    title: str | Promise,
    headers: Sequence[str | Promise],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float | None] = (),
) -> bytes:
    """A one-sheet workbook in memory (small files: error reports, the audit export)."""
    out = BytesIO()
    write_workbook(out, [SheetSpec(title, headers, rows, widths)])
    return out.getvalue()

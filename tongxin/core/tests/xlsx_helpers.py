"""Helpers for tests of imports and exports: build .xlsx files, read workbooks back, upload.

Shared by every app's import tests (the people importers use them the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(rows: Sequence[Sequence[Any]], title: str = "Sheet1") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def upload(content: bytes, name: str = "data.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=XLSX)


def sheet_rows(content: bytes, sheet: int | str = 0) -> list[tuple]:
    book = load_workbook(BytesIO(content))
    chosen = book.worksheets[sheet] if isinstance(sheet, int) else book[sheet]
    return list(chosen.iter_rows(values_only=True))


def response_bytes(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def add_rows(content: bytes, rows: Sequence[Sequence[Any]], sheet: int = 0) -> bytes:
    """Append rows to an existing workbook (a downloaded template, say) and save it again."""
    book = load_workbook(BytesIO(content))
    chosen = book.worksheets[sheet]
    for row in rows:
        chosen.append(list(row))
    out = BytesIO()
    book.save(out)
    return out.getvalue()

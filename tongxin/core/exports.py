"""List exports to .xlsx: the rows a list shows (same scope, same filters), masked and audited.

A list view builds its queryset exactly as for the page (the scoped selector plus the filters
from the query string), declares its columns, and returns `export_response(...)`:

    columns = [
        ExportColumn(_("单位名称"), "name", width=30),
        ExportColumn(_("所在社区/网格"), "node.name"),
        ExportColumn(_("联系电话"), masked("contact_phone")),
    ]
    return export_response(
        queryset, columns, filename=_("驻区单位"), actor=request.user,
        action="orgs.residentunit.export", filters={"unit_type": "soe"},
    )

Personal data is masked by the columns that carry it (`masked()`): the caller decides, column by
column, and nothing reaches the file unmasked by default unless a column says so. Every export is
an audit record (SECURITY.md 9): who, which list, how many rows, which filters. The workbook is
written to a temporary file that is deleted as soon as the response has been sent
(SECURITY.md 15), so a large list never sits in memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.masking import mask_phone
from tongxin.core.xlsx import XLSX_CONTENT_TYPE, SheetSpec, write_workbook

DEFAULT_EXPORT_MAX_ROWS = 100_000
CHUNK_SIZE = 2000


def export_max_rows() -> int:
    return int(getattr(settings, "EXPORT_MAX_ROWS", DEFAULT_EXPORT_MAX_ROWS))


@dataclass(frozen=True)
class ExportColumn:
    """A header and how to get the cell from a row: an attribute path ("node.name") or a callable.

    An attribute path that ends on a choice field shows its label (`get_<field>_display`).
    """

    header: str | Promise
    value: str | Callable[[Any], Any]
    width: float | None = None

    def get(self, obj: Any) -> Any:
        if callable(self.value):
            return self.value(obj)
        return resolve(obj, self.value)


def resolve(obj: Any, dotted: str) -> Any:
    """`obj.a.b`, None-safe; a choice field's label rather than its stored code."""
    *parents, last = dotted.split(".")
    for name in parents:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    display = getattr(obj, f"get_{last}_display", None)
    if callable(display):
        return display()
    return getattr(obj, last, None)


def masked(dotted: str, mask: Callable[[str], str] = mask_phone) -> Callable[[Any], str]:
    """A column value that masks personal data (default: phone numbers)."""

    def get(obj: Any) -> str:
        value = resolve(obj, dotted)
        return mask(str(value)) if value not in (None, "") else ""

    return get


def content_disposition(filename: str, fallback: str = "") -> str:
    """An attachment header with a Chinese file name (RFC 6266 / RFC 5987).

    Browsers take the UTF-8 `filename*`; `filename` is an ASCII fallback for the rare client
    that does not understand it (`fallback`, else the ASCII part of the name).
    """
    plain = fallback or filename.encode("ascii", "ignore").decode()
    plain = plain.replace('"', "").replace("\\", "").strip()
    if not plain or plain.startswith("."):
        plain = "export" + (plain if plain.startswith(".") else ".xlsx")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def stamped_filename(stem: str | Promise, extension: str = "xlsx") -> str:
    """`驻区单位-20261123-101500.xlsx`: the time of the export, in local time."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return f"{stem}-{stamp}.{extension}"


def xlsx_download(content: bytes, filename: str, fallback: str = "") -> HttpResponse:
    """A small workbook already in memory (templates, error reports) as a download."""
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(filename, fallback)
    return response


def _rows(objects: Iterable[Any], columns: list[ExportColumn]) -> Iterator[list]:
    for obj in objects:
        yield [column.get(obj) for column in columns]


def _plain_filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for key, value in (filters or {}).items():
        if value in (None, "", [], False):
            continue
        plain[key] = value.pk if isinstance(value, Model) else value
    return plain


def export_response(
    queryset: QuerySet,
    columns: list[ExportColumn],
    *,
    filename: str | Promise,
    actor: Any,
    action: str,
    filters: Mapping[str, Any] | None = None,
    rows: Iterable[Any] | None = None,
    sheet_title: str | Promise | None = None,
    max_rows: int | None = None,
) -> FileResponse:
    """The queryset as an .xlsx download, audited as `action` with the row count and filters.

    `rows` may wrap the queryset's iteration (to batch look-ups per chunk); by default the
    queryset is iterated in chunks, which keeps memory flat and still honours its
    prefetch_related lookups. Raises ValidationError (in Chinese) when the list is longer than
    the export limit: the user should narrow the filters rather than pull everything at once.
    """
    limit = export_max_rows() if max_rows is None else max_rows
    count = queryset.count()
    if count > limit:
        raise ValidationError(
            _("符合条件的记录有 %(n)d 条，超过单次导出上限 %(max)d 条，请缩小筛选范围。")
            % {"n": count, "max": limit}
        )
    objects = rows if rows is not None else queryset.iterator(chunk_size=CHUNK_SIZE)
    spec = SheetSpec(
        title=sheet_title or filename,
        headers=[c.header for c in columns],
        rows=_rows(objects, columns),
        widths=[c.width for c in columns],
    )
    # A real temporary file (deleted when closed) rather than memory: exports can be large.
    out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    try:
        write_workbook(out, [spec])
    except BaseException:
        out.close()
        raise
    out.seek(0)
    audit(
        actor=actor,
        action=action,
        object_type=queryset.model._meta.label_lower,
        object_repr=_("导出：%(name)s") % {"name": filename},
        changes={"rows": spec.rows_written, "filters": _plain_filters(filters)},
    )
    response = FileResponse(out, content_type=XLSX_CONTENT_TYPE)
    model_name = queryset.model._meta.model_name
    response["Content-Disposition"] = content_disposition(
        stamped_filename(filename), stamped_filename(model_name)
    )
    return response

"""Spreadsheet (.xlsx) imports: one declarative class per kind, one engine for all of them.

An importer says what a file holds and how rows become records; the engine does the rest —
reading (python-calamine), matching headers by name, parsing and checking every row, duplicate
keys within the file and against the database, the template, the error report:

    @register
    class UnitImporter(Importer):
        kind = "units"                       # /api/v1/imports/units/
        title = _("驻区单位")
        policy = roles(MANAGING_ROLES)       # who may start this kind of import
        list_url_name = "orgs:unit_list"
        columns = (
            Column(_("单位名称"), "name", required=True, parse=text(120), example="某某公司"),
            Column(_("所在社区/网格"), "node", required=True, parse="parse_node"),
            Column(_("统一社会信用代码"), "credit_code", parse=normalize_uscc, unique=True),
        )

        def prepare(self): ...               # look-ups for the whole file, loaded once
        def parse_node(self, raw): ...       # a parser that needs the importer (its actor)
        def clean_row(self, values): ...     # cross-column rules; raise ValidationError
        def existing_values(self, key, values): ...   # which keys the database already has
        def commit(self, rows, actor): return len(unit_bulk_create(actor=actor, ...))

Guarantees, whatever the kind:
- every row is checked before anything is written; one bad row and nothing is committed, and
  the user gets every problem at once: Excel row number, column header, message in Chinese;
- `commit()` runs in ONE transaction (the engine opens it), together with its audit record;
- headers are matched by name (order free, full-width forms and a trailing * tolerated), blank
  rows are ignored, unknown or missing headers are reported as such;
- the template's example row (row 2, unchanged) is skipped, so a template filled in below
  the example imports cleanly.
Running an import as a background job with progress is core/import_jobs.py's business.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.utils import translation
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from tongxin.core.policy import SIGNED_IN, Policy
from tongxin.core.xlsx import SheetSpec, safe_cell, sheet_title, width_for, workbook_bytes

DEFAULT_MAX_ROWS = 100_000
DEFAULT_MAX_MB = 20
HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common in office sheets
EXISTING_CHUNK = 500  # keys per `IN (...)` query when looking for duplicates in the database
KIND_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
# Columns people add by habit that carry nothing to import.
IGNORED_HEADERS = frozenset({"序号", "编号（系统）"})


def max_rows() -> int:
    return int(getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# problems


class RowError(Exception):
    """A Chinese message about one cell, raised by a parser."""


class FileProblem(Exception):
    """The file as a whole cannot be imported (not a workbook, no header, too many rows)."""


@dataclass(frozen=True)
class Issue:
    """One problem: Excel row number (None for the file as a whole), column header, message."""

    row: int | None
    column: str
    message: str
    cell: str = ""
    order: int = 0  # the column's place in the file, to list a row's problems left to right

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "cell": self.cell, "message": self.message}


def _messages(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


# ---------------------------------------------------------------------------------------------
# parsers: raw cell → clean value, or RowError with a Chinese message


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def normalize_header(value: Any) -> str:
    """`单位名称*`, ` 单位名称（必填）`, full-width forms → `单位名称`."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"\((必填|选填)\)$", "", text)
    return text.rstrip("*")


def cell_text(value: Any) -> str:
    """A cell as text: a number Excel stored for a phone or code loses its `.0`."""
    if type(value) is str:  # the common case, first
        return value.strip()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value).strip()


def in_every_language(text: str | Promise) -> list[str]:
    """A (lazily translated) text in each configured language, the source language first.

    Files are read by a background worker whose language is not the uploader's: a header or a
    choice label is recognised in any language the site offers, whoever made the file.
    """
    found = [str(text)]
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            value = str(text)
        if value not in found:
            found.append(value)
    return found


class Parser(ABC):
    """A callable turning one raw cell into a value; `description` goes into the template."""

    description: str | Promise = ""
    options: tuple[str, ...] = ()  # a dropdown list in the template

    @abstractmethod
    def __call__(self, raw: Any) -> Any: ...


class text(Parser):
    def __init__(self, max_length: int | None = None, *, pattern: str | None = None) -> None:
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern else None

    @property
    def description(self) -> str:  # type: ignore[override]
        if not self.max_length:
            return ""
        return _("文本，不超过 %(n)d 个字") % {"n": self.max_length}

    def __call__(self, raw: Any) -> str:
        value = raw.strip() if type(raw) is str else cell_text(raw)
        if self.max_length is not None and len(value) > self.max_length:
            raise RowError(
                _("不能超过 %(max)d 个字（现有 %(n)d 个）。")
                % {"max": self.max_length, "n": len(value)}
            )
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise RowError(_("格式不正确。"))
        return value


class integer(Parser):
    def __init__(self, min_value: int | None = 0, max_value: int | None = None) -> None:
        self.min_value, self.max_value = min_value, max_value

    @property
    def description(self) -> str:  # type: ignore[override]
        low, high = self.min_value, self.max_value
        if low is not None and high is not None:
            return _("整数，%(min)d 至 %(max)d") % {"min": low, "max": high}
        if low is not None:
            return _("整数，不小于 %(min)d") % {"min": low}
        return _("整数")

    def __call__(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise RowError(_("应为整数。"))
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, float):
            if not raw.is_integer():
                raise RowError(_("应为整数。"))
            value = int(raw)
        else:
            digits = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "")
            if not re.fullmatch(r"[+-]?\d+(\.0+)?", digits):
                raise RowError(_("应为整数。"))
            value = int(Decimal(digits))
        if self.min_value is not None and value < self.min_value:
            raise RowError(_("不能小于 %(min)d。") % {"min": self.min_value})
        if self.max_value is not None and value > self.max_value:
            raise RowError(_("不能大于 %(max)d。") % {"max": self.max_value})
        return value


class decimal(Parser):
    def __init__(self, places: int = 2, min_value: Decimal | None = Decimal(0)) -> None:
        self.places, self.min_value = places, min_value

    @property
    def description(self) -> str:  # type: ignore[override]
        return _("数字，最多 %(n)d 位小数") % {"n": self.places}

    def __call__(self, raw: Any) -> Decimal:
        if isinstance(raw, bool):
            raise RowError(_("应为数字。"))
        source = repr(raw) if isinstance(raw, float) else str(raw).strip().replace(",", "")
        try:
            value = Decimal(unicodedata.normalize("NFKC", source))
        except InvalidOperation:
            raise RowError(_("应为数字。")) from None
        if not value.is_finite():
            raise RowError(_("应为数字。"))
        if -value.as_tuple().exponent > self.places and value != value.quantize(
            Decimal(1).scaleb(-self.places)
        ):
            raise RowError(_("最多 %(n)d 位小数。") % {"n": self.places})
        if self.min_value is not None and value < self.min_value:
            raise RowError(_("不能小于 %(min)s。") % {"min": self.min_value})
        return value.quantize(Decimal(1).scaleb(-self.places))


class choice(Parser):
    """One of a TextChoices' Chinese labels (the code is accepted too, for machine-made files)."""

    def __init__(self, choices: type[models.Choices] | Iterable[tuple[str, Any]]) -> None:
        pairs = choices.choices if isinstance(choices, type) else list(choices)
        self._pairs = [(value, label) for value, label in pairs]
        self._lookup: dict[str, str] | None = None

    def _labels(self) -> list[str]:
        return [str(label) for _value, label in self._pairs]

    @property
    def options(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self._labels())

    @property
    def description(self) -> str:  # type: ignore[override]
        return _("可选：%(options)s") % {"options": "、".join(self._labels())}

    def _build_lookup(self) -> dict[str, str]:
        # Built at first use (labels are lazy translations) with every language's label, so
        # the answer does not depend on which language happens to be active.
        lookup: dict[str, str] = {}
        for value, label in self._pairs:
            for name in (value, *in_every_language(label)):
                lookup[name] = value
                lookup[normalize_header(name)] = value
        return lookup

    def __call__(self, raw: Any) -> str:
        lookup = self._lookup
        if lookup is None:
            lookup = self._lookup = self._build_lookup()
        text_value = raw.strip() if type(raw) is str else cell_text(raw)
        found = lookup.get(text_value)  # exact first: no normalising for well-typed cells
        if found is None:
            found = lookup.get(normalize_header(text_value))
        if found is None:
            raise RowError(
                _("“%(value)s”不是可选值，应为：%(options)s。")
                % {"value": text_value[:30], "options": "、".join(self._labels())}
            )
        return found


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


class date(Parser):
    description = gettext_lazy("日期，如 2024-01-31")

    def __call__(self, raw: Any) -> dt.date:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        source = unicodedata.normalize("NFKC", cell_text(raw)).strip()
        source = source.split(" ", 1)[0]  # "2024-01-31 00:00:00" from a text cell
        for pattern in _DATE_PATTERNS:
            match = pattern.match(source)
            if match:
                try:
                    return dt.date(*(int(part) for part in match.groups()))
                except ValueError:
                    break
        raise RowError(_("不是有效的日期，请写成 2024-01-31 的形式。"))


class boolean(Parser):
    description = gettext_lazy("是 或 否")
    options = ("是", "否")
    _TRUE = frozenset({"是", "有", "y", "yes", "true", "1", "√"})
    _FALSE = frozenset({"否", "无", "n", "no", "false", "0", "×"})

    def __call__(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        source = cell_text(raw).lower()
        if source in self._TRUE:
            return True
        if source in self._FALSE:
            return False
        raise RowError(_("请填写“是”或“否”。"))


# ---------------------------------------------------------------------------------------------
# the declaration


@dataclass(frozen=True)
class Column:
    """One column of a kind of file.

    `parse` is a callable (raw cell → value; raise RowError or ValidationError) or the name of an
    importer method, for parsers that need the importer's look-ups or its actor. A blank cell
    never reaches the parser: it is an error when `required`, else the value is `default`.
    """

    header: str | Promise
    key: str
    required: bool = False
    parse: Callable[[Any], Any] | str | None = None
    example: Any = ""
    help: str | Promise = ""
    default: Any = ""
    aliases: tuple[str, ...] = ()
    unique: bool = False  # no two rows, and no existing record, may share the value
    text_format: bool = False  # the template formats the column as text (ID numbers, phones)
    width: float | None = None


@dataclass
class Validated:
    """The outcome of checking a file: clean rows to commit, or the problems found."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    total: int = 0
    skipped_example: bool = False


class Importer:
    """Subclass per kind; see the module docstring. One instance serves one job (one actor)."""

    kind: ClassVar[str]
    title: ClassVar[str | Promise]
    columns: ClassVar[tuple[Column, ...]]
    policy: ClassVar[Policy] = SIGNED_IN
    notes: ClassVar[tuple[str | Promise, ...]] = ()
    list_url_name: ClassVar[str] = ""
    model: ClassVar[type[models.Model] | None] = None
    batch_size: ClassVar[int] = 1000

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    # --- hooks --------------------------------------------------------------------------------

    def allowed(self) -> bool:
        """May the actor start this kind of import at all? (Row scope is checked per row.)"""
        return self.policy.allows(self.actor)

    def prepare(self) -> None:
        """Load what checking the rows needs (look-up tables), once per file."""

    def clean_row(self, values: dict[str, Any]) -> dict[str, Any]:
        """Cross-column rules, after every cell parsed. Raise ValidationError keyed by column key
        (or without keys, for the row as a whole); return the values, enriched as needed."""
        return values

    def unique_value(self, key: str, values: dict[str, Any]) -> Hashable | None:
        """The value compared for duplicates in a `unique` column (None: not compared)."""
        value = values.get(key)
        return None if value in (None, "") else value

    def existing_values(self, key: str, values: list[Hashable]) -> set[Hashable]:
        """Which of `values` the database already holds (called in chunks)."""
        return set()

    def existing_message(self, key: str) -> str:
        header = next(str(c.header) for c in self.columns if c.key == key)
        return _("系统中已有相同“%(header)s”的记录。") % {"header": header}

    def build(self, values: dict[str, Any]) -> models.Model:
        """An unsaved instance for a clean row (the default commit bulk-creates these)."""
        if self.model is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs `model` or its own commit()")
        names = {f.name for f in self.model._meta.concrete_fields}
        return self.model(**{k: v for k, v in values.items() if k in names})

    def commit(self, rows: list[dict[str, Any]], actor: Any) -> int:
        """Write every clean row; the engine has opened the transaction. Returns rows created.

        Override to call the app's bulk service (which checks permissions again and writes its
        own audit record); this default suits a model with no service rules of its own.
        """
        assert self.model is not None
        instances = [self.build(row) for row in rows]
        self.model._default_manager.bulk_create(instances, batch_size=self.batch_size)
        return len(instances)

    def reference_sheets(self) -> list[SheetSpec]:
        """Extra sheets for the template (e.g. the places this user may import into)."""
        return []

    # --- derived ------------------------------------------------------------------------------

    @classmethod
    def column_parser(cls, column: Column, instance: Importer) -> Callable[[Any], Any]:
        if column.parse is None:
            return _default_text
        if isinstance(column.parse, str):
            return getattr(instance, column.parse)
        return column.parse

    @classmethod
    def describe(cls, column: Column) -> str:
        """The rule for the template's notes: the column's own help, else the parser's."""
        if column.help:
            return str(column.help)
        parse = column.parse if not isinstance(column.parse, str) else None
        parts = [str(getattr(parse, "description", "") or "")] if parse is not None else []
        if column.unique:
            parts.append(_("不得重复"))
        return "；".join(p for p in parts if p)

    @classmethod
    def template_filename(cls) -> str:
        return _("%(title)s导入模板.xlsx") % {"title": cls.title}

    @classmethod
    def template_ascii_filename(cls) -> str:
        return f"{cls.kind}-template.xlsx"


_default_text = text()


# ---------------------------------------------------------------------------------------------
# the registry (each app's imports.py registers its kinds; found on first use)

_registry: dict[str, type[Importer]] = {}
_discovered = False


def register(cls: type[Importer]) -> type[Importer]:
    if not KIND_RE.match(getattr(cls, "kind", "")):
        raise ImproperlyConfigured(f"{cls.__name__}.kind must match {KIND_RE.pattern}")
    keys = [c.key for c in cls.columns]
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(f"{cls.__name__} declares a column key twice")
    existing = _registry.get(cls.kind)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ImproperlyConfigured(f"import kind {cls.kind!r} registered twice")
    _registry[cls.kind] = cls
    return cls


def importers() -> dict[str, type[Importer]]:
    global _discovered
    if not _discovered:
        autodiscover_modules("imports")
        _discovered = True
    return dict(_registry)


def get_importer(kind: str) -> type[Importer] | None:
    return importers().get(kind)


# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class Sheet:
    """The cells of the sheet, with absolute positions: `rows[i]` is Excel row i + 1."""

    rows: list[list[Any]]


def read_sheet(source: str | BytesIO, preferred: str = "") -> Sheet:
    """The sheet named `preferred` (the template's data sheet) or else the first worksheet."""
    try:
        book = (
            CalamineWorkbook.from_path(source)
            if isinstance(source, str)
            else CalamineWorkbook.from_filelike(source)
        )
    except PasswordError:
        raise FileProblem(_("文件设有密码，请取消密码后再上传。")) from None
    except (CalamineError, OSError, ValueError):
        raise FileProblem(_("无法读取该文件：文件已损坏或不是有效的 .xlsx 文件。")) from None
    try:
        names = book.sheet_names
        if not names:
            raise FileProblem(_("文件中没有工作表。"))
        wanted = sheet_title(preferred) if preferred else ""
        sheet = book.get_sheet_by_name(wanted) if wanted in names else book.get_sheet_by_index(0)
        # skip_empty_area=False keeps absolute positions, so row numbers match Excel's.
        rows = sheet.to_python(skip_empty_area=False)
    except FileProblem:
        raise
    except Exception:  # calamine raises assorted errors on malformed sheet XML
        raise FileProblem(_("无法读取该文件：文件已损坏或不是有效的 .xlsx 文件。")) from None
    finally:
        book.close()
    return Sheet(rows=rows)


# ---------------------------------------------------------------------------------------------
# checking


@dataclass
class HeaderMap:
    row: int  # Excel row number of the header
    columns: list[tuple[int, Column]]  # (0-based sheet column index, column)
    issues: list[Issue]


def _header_lookup(columns: Sequence[Column]) -> dict[str, Column]:
    lookup: dict[str, Column] = {}
    for column in columns:
        for name in (*in_every_language(column.header), *column.aliases):
            lookup[normalize_header(name)] = column
    return lookup


def map_headers(importer: Importer, sheet: Sheet) -> HeaderMap:
    """Find the header row (the first of the top rows naming a known column) and map it."""
    lookup = _header_lookup(importer.columns)
    header_index = None
    for index, cells in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        if any(normalize_header(c) in lookup for c in cells if not is_blank(c)):
            header_index = index
            break
    if header_index is None:
        expected = "、".join(str(c.header) for c in importer.columns if c.required)
        message = (
            _("文件中没有数据。")
            if not any(not is_blank(c) for row in sheet.rows for c in row)
            else _("找不到表头：第一行应为列名（必填列：%(columns)s），请使用导入模板。")
            % {"columns": expected}
        )
        return HeaderMap(1, [], [Issue(1, "", message)])
    row_number = header_index + 1
    mapped: list[tuple[int, Column]] = []
    seen: dict[str, int] = {}
    issues: list[Issue] = []
    for col_index, raw in enumerate(sheet.rows[header_index]):
        if is_blank(raw):
            continue
        name = normalize_header(raw)
        cell = f"{get_column_letter(col_index + 1)}{row_number}"
        column = lookup.get(name)
        if column is None:
            if name not in IGNORED_HEADERS:
                issues.append(
                    Issue(
                        row_number,
                        str(raw).strip()[:50],
                        _("无法识别的列“%(name)s”，请使用模板中的列名。") % {"name": name[:50]},
                        cell,
                        col_index,
                    )
                )
            continue
        if column.key in seen:
            issues.append(
                Issue(
                    row_number,
                    str(column.header),
                    _("“%(header)s”列出现了不止一次。") % {"header": column.header},
                    cell,
                    col_index,
                )
            )
            continue
        seen[column.key] = col_index
        mapped.append((col_index, column))
    for column in importer.columns:
        if column.required and column.key not in seen:
            issues.append(
                Issue(
                    row_number,
                    str(column.header),
                    _("缺少必填列“%(header)s”。") % {"header": column.header},
                    "",
                    10_000,
                )
            )
    return HeaderMap(row_number, mapped, issues)


def _is_example(importer: Importer, mapped: list[tuple[int, Column]], cells: list[Any]) -> bool:
    """Row 2 of an unchanged template: every mapped cell equals its column's example."""
    for col_index, column in mapped:
        raw = cells[col_index] if col_index < len(cells) else ""
        expected = "" if column.example in (None, "") else cell_text(column.example)
        if ("" if is_blank(raw) else cell_text(raw)) != expected:
            return False
    return True


def _parse_issue(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(_messages(exc))
    return str(exc)


def validate(
    importer: Importer,
    sheet: Sheet,
    *,
    progress: Callable[[int, int], None] | None = None,
    progress_every: int = 500,
    row_limit: int | None = None,
) -> Validated:
    """Check every row of the sheet. Nothing is written; `rows` are clean only if no issues."""
    headers = map_headers(importer, sheet)
    if headers.issues:
        return Validated(issues=sorted(headers.issues, key=lambda i: (i.row or 0, i.order)))
    limit = max_rows() if row_limit is None else row_limit
    data = [
        (index + 1, cells)
        for index, cells in enumerate(sheet.rows[headers.row :], start=headers.row)
        if any(not is_blank(c) for c in cells)
    ]
    outcome = Validated()
    if (
        data
        and data[0][0] == headers.row + 1
        and _is_example(importer, headers.columns, data[0][1])
    ):
        data = data[1:]
        outcome.skipped_example = True
    outcome.total = len(data)
    if not data:
        outcome.issues.append(Issue(None, "", _("文件中除表头外没有数据行。")))
        return outcome
    if len(data) > limit:
        outcome.issues.append(
            Issue(
                None,
                "",
                _("文件共有 %(n)d 行数据，超过单次导入上限 %(max)d 行，请拆分后分批导入。")
                % {"n": len(data), "max": limit},
            )
        )
        return outcome

    importer.prepare()
    by_key = {column.key: (col_index, column) for col_index, column in headers.columns}
    parsers = [
        (col_index, column, importer.column_parser(column, importer))
        for col_index, column in headers.columns
    ]
    absent = [c for c in importer.columns if c.key not in by_key]
    letters = {col_index: get_column_letter(col_index + 1) for col_index, _c in headers.columns}
    unique_keys = [c.key for c in importer.columns if c.unique and c.key in by_key]
    first_seen: dict[str, dict[Hashable, int]] = {key: {} for key in unique_keys}
    issues = outcome.issues
    clean: list[tuple[int, dict[str, Any]]] = []
    required_message = _("必填，不能为空。")

    def at(row_no: int, col_index: int, column: Column, message: str) -> Issue:
        cell = f"{letters[col_index]}{row_no}"
        return Issue(row_no, str(column.header), message, cell, col_index)

    def issue_for(row_no: int, key: str | None, message: str) -> Issue:
        if key is not None and key in by_key:
            return at(row_no, *by_key[key], message)
        header = next((str(c.header) for c in importer.columns if c.key == key), "")
        return Issue(row_no, header, message, "", 10_000)

    for done, (row_no, cells) in enumerate(data, start=1):
        values: dict[str, Any] = {}
        failed: set[str] = set()
        width = len(cells)
        for col_index, column, parse in parsers:
            raw = cells[col_index] if col_index < width else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if column.required:
                    issues.append(at(row_no, col_index, column, required_message))
                    failed.add(column.key)
                else:
                    values[column.key] = column.default
                continue
            try:
                values[column.key] = parse(raw)
            except (RowError, ValidationError) as exc:
                issues.append(at(row_no, col_index, column, _parse_issue(exc)))
                failed.add(column.key)
        for column in absent:
            values[column.key] = column.default
        for key in unique_keys:
            if key in failed:
                continue
            value = importer.unique_value(key, values)
            if value is None:
                continue
            earlier = first_seen[key].get(value)
            if earlier is not None:
                failed.add(key)
                duplicate = _("与第 %(row)d 行重复。") % {"row": earlier}
                issues.append(issue_for(row_no, key, duplicate))
            else:
                first_seen[key][value] = row_no
        if not failed:
            try:
                values = importer.clean_row(values)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for key, errors in exc.message_dict.items():
                        issues.append(
                            issue_for(row_no, key if key != "__all__" else None, " ".join(errors))
                        )
                else:
                    issues.append(issue_for(row_no, None, " ".join(_messages(exc))))
                failed.add("__row__")
            except RowError as exc:
                issues.append(issue_for(row_no, None, str(exc)))
                failed.add("__row__")
        if not failed:
            clean.append((row_no, values))
        if progress is not None and done % progress_every == 0:
            progress(done, len(data))

    # Against the database: one query per chunk of keys, whatever the number of rows.
    for key in unique_keys:
        seen = first_seen[key]
        if not seen:
            continue
        candidates = list(seen)
        message = importer.existing_message(key)
        for start in range(0, len(candidates), EXISTING_CHUNK):
            found = importer.existing_values(key, candidates[start : start + EXISTING_CHUNK])
            for value in found:
                # A mapping names each value's own problem (already a member, another community's…).
                text = found[value] if isinstance(found, dict) else message
                issues.append(issue_for(seen[value], key, text))
    if progress is not None:
        progress(len(data), len(data))
    if issues:
        issues.sort(key=lambda i: (i.row or 0, i.order))
        return outcome
    outcome.rows = [values for _row_no, values in clean]
    return outcome


def commit(importer: Importer, rows: list[dict[str, Any]], actor: Any) -> int:
    """All rows in one transaction (the caller may add its audit record inside it too)."""
    with transaction.atomic():
        return importer.commit(rows, actor)


# ---------------------------------------------------------------------------------------------
# the template and the error report


def general_rules(importer: Importer) -> list[str]:
    return [
        _("第 1 行是表头，请勿修改列名；列的先后顺序可以调整，不需要的选填列可以删除。"),
        _("第 2 行是填写示例：内容未修改时导入会自动跳过，也可以直接删除。"),
        _("从第 3 行起每行填写一条记录；空行会被忽略。带 * 的列为必填。"),
        _("只接受 .xlsx 格式；每个文件最多 %(rows)d 行数据，大小不超过 %(mb)d MB。")
        % {"rows": max_rows(), "mb": max_bytes() // (1024 * 1024)},
        _(
            "系统会先逐行校验全部数据：只要有一行有误，就不会导入任何数据，"
            "请按错误报告（行号、列名、错误说明）修改后重新上传。"
        ),
        *[str(note) for note in importer.notes],
    ]


def template_bytes(importer: Importer) -> bytes:
    """Headers, one example row, dropdowns for choice columns, a notes sheet with the rules."""
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title(importer.title)
    bold, required_font = Font(bold=True), Font(bold=True, color="C00000")
    example_font = Font(italic=True, color="808080")
    for index, column in enumerate(importer.columns, start=1):
        letter = get_column_letter(index)
        # "单位名称*": the star survives any viewer or printer; the importer strips it again.
        label = f"{column.header}*" if column.required else str(column.header)
        header = sheet.cell(row=1, column=index, value=safe_cell(label))
        header.font = required_font if column.required else bold
        example = sheet.cell(row=2, column=index, value=safe_cell(column.example))
        example.font = example_font
        if column.text_format:
            # Otherwise Excel turns an 18-digit ID number into 3.50302E+17 and loses digits.
            example.number_format = "@"
            sheet.column_dimensions[letter].number_format = "@"
        sheet.column_dimensions[letter].width = column.width or width_for(
            str(column.header), cell_text(column.example) if column.example else ""
        )
        options = getattr(column.parse, "options", ()) if not isinstance(column.parse, str) else ()
        joined = ",".join(options)
        if options and len(joined) < 250:  # Excel's limit for an inline list
            # A dropdown, not a lock: a typed value is let through and the importer judges it.
            validation = DataValidation(type="list", formula1=f'"{joined}"', allow_blank=True)
            validation.showErrorMessage = False
            sheet.add_data_validation(validation)
            validation.add(f"{letter}3:{letter}{max_rows() + 2}")
    sheet.freeze_panes = "A2"

    notes = book.create_sheet(_("填写说明"))
    notes.append([_("列名"), _("是否必填"), _("填写要求"), _("示例")])
    for cell in notes[1]:
        cell.font = bold
    for column in importer.columns:
        notes.append(
            [
                safe_cell(str(column.header)),
                _("必填") if column.required else _("选填"),
                safe_cell(importer.describe(column)),
                safe_cell(cell_text(column.example) if column.example not in (None, "") else ""),
            ]
        )
    notes.append([])
    notes.append([_("导入规则")])
    notes.cell(row=notes.max_row, column=1).font = bold
    for number, rule in enumerate(general_rules(importer), start=1):
        notes.append([f"{number}. {rule}"])
        notes.cell(row=notes.max_row, column=1).alignment = Alignment(wrap_text=False)
    for letter, width in zip("ABCD", (18, 10, 70, 30), strict=True):
        notes.column_dimensions[letter].width = width

    for spec in importer.reference_sheets():
        extra = book.create_sheet(sheet_title(spec.title))
        extra.append([safe_cell(str(h)) for h in spec.headers])
        for cell in extra[1]:
            cell.font = bold
        for row in spec.rows:
            extra.append([safe_cell(v) for v in row])
        for index, header in enumerate(spec.headers, start=1):
            given = spec.widths[index - 1] if index - 1 < len(spec.widths) else None
            extra.column_dimensions[get_column_letter(index)].width = given or width_for(
                str(header), "镇海街道/文献社区/文献一网格"
            )
        extra.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def error_report_bytes(issues: Iterable[Issue], title: str = "") -> bytes:
    """Every problem, one per line: row, column, cell, message (no cell values: no personal
    data ends up in a report file)."""
    rows = (
        [issue.row if issue.row is not None else "", issue.column, issue.cell, issue.message]
        for issue in issues
    )
    return workbook_bytes(
        title or _("错误报告"),
        [_("行号"), _("列名"), _("单元格"), _("错误说明")],
        rows,
        widths=[8, 20, 10, 80],
    )

"""The import framework on its own: parsers, header matching, row checks, the template, the
error report, upload checks and the job runner, with a small importer declared here."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from io import BytesIO
from typing import Any, ClassVar

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from openpyxl import load_workbook

from tongxin.core import import_jobs, imports
from tongxin.core.imports import (
    Column,
    Importer,
    RowError,
    boolean,
    choice,
    date,
    decimal,
    integer,
    text,
)
from tongxin.core.models import ImportJob, ImportStatus, JobFailure
from tongxin.core.tests.xlsx_helpers import sheet_rows, upload, xlsx_bytes


class ThingImporter(Importer):
    """A toy kind: what an app declares, minus the database."""

    kind = "things"
    title = "物品"
    columns = (
        Column("名称", "name", required=True, parse=text(10), example="示例物品", unique=True),
        Column("数量", "count", parse=integer(1, 100), example=2, default=1),
        Column("日期", "on", parse=date(), aliases=("登记日期",)),
        Column("金额", "amount", parse=decimal(2), default=Decimal(0)),
        Column("类别", "category", parse=choice([("a", "甲类"), ("b", "乙类")]), default="a"),
        Column("备注", "note", parse="parse_note"),
    )
    notes = ("物品的规则写在这里。",)
    committed: ClassVar[list[list[dict[str, Any]]]] = []
    existing: ClassVar[set[str]] = set()
    queried: ClassVar[list[int]] = []

    def parse_note(self, raw: Any) -> str:
        value = imports.cell_text(raw)
        if value == "禁止":
            raise RowError("备注不能写“禁止”。")
        return value

    def clean_row(self, values: dict[str, Any]) -> dict[str, Any]:
        if values["category"] == "b" and values["count"] > 10:
            raise ValidationError({"count": "乙类物品每次不超过 10 件。"})
        if values["note"] == "整行":
            raise ValidationError("这一行整体有问题。")
        return values

    def existing_values(self, key: str, values: list) -> set:
        type(self).queried.append(len(values))
        return {v for v in values if v in type(self).existing}

    def commit(self, rows: list[dict[str, Any]], actor: Any) -> int:
        type(self).committed.append(rows)
        return len(rows)


HEADERS = ["名称", "数量", "日期", "金额", "类别", "备注"]


@pytest.fixture(autouse=True)
def things(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setitem(imports._registry, "things", ThingImporter)
    monkeypatch.setattr(ThingImporter, "committed", [])
    monkeypatch.setattr(ThingImporter, "existing", set())
    monkeypatch.setattr(ThingImporter, "queried", [])
    return ThingImporter


def check(rows: list[list[Any]], **kwargs: Any) -> imports.Validated:
    sheet = imports.read_sheet(BytesIO(xlsx_bytes(rows)))
    return imports.validate(ThingImporter(None), sheet, **kwargs)


def problems(outcome: imports.Validated) -> list[tuple]:
    return [(i.row, i.column, i.message) for i in outcome.issues]


# ---------------------------------------------------------------------------------------------
# parsers


@pytest.mark.parametrize(
    ("parser", "raw", "expected"),
    [
        (text(), 13812345678.0, "13812345678"),
        (text(), 12.5, "12.5"),
        (text(), dt.date(2024, 1, 2), "2024-01-02"),
        (text(), "  有空格  ", "有空格"),
        (text(5), "五个字正好", "五个字正好"),
        (integer(), 3.0, 3),
        (integer(), "1,200", 1200),
        (integer(), "１２", 12),  # full-width digits
        (integer(), "12.0", 12),
        (integer(None), "-4", -4),
        (decimal(2), "12.5", Decimal("12.50")),
        (decimal(2), 0.1, Decimal("0.10")),
        (choice([("a", "甲类")]), "甲类", "a"),
        (choice([("a", "甲类")]), " a ", "a"),
        (date(), dt.datetime(2024, 3, 1, 0, 0), dt.date(2024, 3, 1)),  # noqa: DTZ001
        (date(), "2024-3-1", dt.date(2024, 3, 1)),
        (date(), "2024/03/01", dt.date(2024, 3, 1)),
        (date(), "2024.3.1", dt.date(2024, 3, 1)),
        (date(), "2024年3月1日", dt.date(2024, 3, 1)),
        (date(), "20240301", dt.date(2024, 3, 1)),
        (boolean(), "是", True),
        (boolean(), "否", False),
        (boolean(), True, True),
    ],
)
def test_parsers_accept_what_people_type(parser, raw, expected):
    assert parser(raw) == expected


@pytest.mark.parametrize(
    ("parser", "raw", "message"),
    [
        (text(5), "六个字不可以", "不能超过 5 个字（现有 6 个）。"),
        (text(pattern=r"\d+"), "abc", "格式不正确。"),
        (integer(), 1.5, "应为整数。"),
        (integer(), "三", "应为整数。"),
        (integer(), True, "应为整数。"),
        (integer(1), 0, "不能小于 1。"),
        (integer(1, 10), 11, "不能大于 10。"),
        (decimal(2), "1.234", "最多 2 位小数。"),
        (decimal(2), "-1", "不能小于 0。"),
        (decimal(2), "NaN", "应为数字。"),
        (decimal(2), "元", "应为数字。"),
        (choice([("a", "甲类"), ("b", "乙类")]), "丙类", "“丙类”不是可选值，应为：甲类、乙类。"),
        (date(), "2024-02-30", "不是有效的日期"),
        (date(), "明天", "不是有效的日期"),
        (boolean(), "也许", "请填写“是”或“否”。"),
    ],
)
def test_parsers_refuse_with_a_chinese_message(parser, raw, message):
    with pytest.raises(RowError) as caught:
        parser(raw)
    assert message in str(caught.value)


def test_choices_and_headers_are_recognised_whatever_language_is_active():
    from django.utils import translation

    from tongxin.orgs.models import UnitType

    with translation.override("en"):
        assert choice(UnitType)("机关") == "agency"
        assert choice(UnitType)("agency") == "agency"
        outcome = check([["名称"], ["甲"]])
    assert outcome.issues == []


def test_headers_are_normalised():
    assert imports.normalize_header(" 单位名称* ") == "单位名称"
    assert imports.normalize_header("单位名称（必填）") == "单位名称"
    assert imports.normalize_header("单位 名称") == "单位名称"
    assert imports.normalize_header("ＡＢＣ") == "ABC"


# ---------------------------------------------------------------------------------------------
# checking a sheet


def test_every_problem_of_every_row_is_reported_in_reading_order():
    outcome = check(
        [
            HEADERS,
            ["好的", 1, "2024-01-01", 1, "甲类", ""],
            ["", "x", "2024-13-01", 1, "甲类", "禁止"],
            ["乙类太多", 11, "", "", "乙类", ""],
            ["整行错", 1, "", "", "", "整行"],
            ["好的", 1, "", "", "", ""],
        ]
    )
    assert outcome.rows == []
    assert problems(outcome) == [
        (3, "名称", "必填，不能为空。"),
        (3, "数量", "应为整数。"),
        (3, "日期", "不是有效的日期，请写成 2024-01-31 的形式。"),
        (3, "备注", "备注不能写“禁止”。"),
        (4, "数量", "乙类物品每次不超过 10 件。"),
        (5, "", "这一行整体有问题。"),
        (6, "名称", "与第 2 行重复。"),
    ]
    assert outcome.issues[1].cell == "B3"


def test_clean_rows_come_back_with_defaults_for_blank_and_missing_columns():
    outcome = check([["名称", "登记日期"], ["甲", "2024-05-06"], ["乙", None]])
    assert outcome.issues == []
    assert outcome.rows == [
        {
            "name": "甲",
            "on": dt.date(2024, 5, 6),
            "count": 1,
            "amount": Decimal(0),
            "category": "a",
            "note": "",
        },
        {"name": "乙", "on": "", "count": 1, "amount": Decimal(0), "category": "a", "note": ""},
    ]


def test_blank_rows_anywhere_and_a_serial_number_column_are_ignored():
    outcome = check([["序号", "名称"], [1, "甲"], [None, None], ["", " "], [3, "丙"], [], []])
    assert outcome.issues == [] and outcome.total == 2


def test_the_unchanged_example_row_is_skipped_a_changed_one_is_not():
    example = ["示例物品", 2, None, None, None, None]
    outcome = check([HEADERS, example, ["甲"]])
    assert outcome.skipped_example and outcome.total == 1
    outcome = check([HEADERS, ["示例物品", 3], ["甲"]])
    assert not outcome.skipped_example and outcome.total == 2
    outcome = check([HEADERS, ["甲"], example])  # only right below the header
    assert outcome.total == 2


def test_duplicates_against_the_database_are_looked_up_in_chunks(things):
    things.existing = {"物品7", "物品1234"}
    rows = [["名称"], *([f"物品{n}"] for n in range(1300))]
    outcome = check(rows)
    assert things.queried == [500, 500, 300]
    assert problems(outcome) == [
        (9, "名称", "系统中已有相同“名称”的记录。"),
        (1236, "名称", "系统中已有相同“名称”的记录。"),
    ]


def test_header_problems_stop_before_the_rows():
    outcome = check([["名字", "数量", "数量"], ["甲", 1, 2]])
    assert problems(outcome) == [
        (1, "名字", "无法识别的列“名字”，请使用模板中的列名。"),
        (1, "数量", "“数量”列出现了不止一次。"),
        (1, "名称", "缺少必填列“名称”。"),
    ]
    assert problems(check([["甲", "乙"], [1, 2]]))[0][2].startswith("找不到表头")
    assert problems(check([[None]]))[0][2] == "文件中没有数据。"


def test_the_header_may_sit_below_a_title_and_cells_keep_their_excel_addresses():
    outcome = check([["物品登记表"], [], ["备注", "名称"], ["", "甲"], ["禁止", "乙"]])
    assert [(i.row, i.cell) for i in outcome.issues] == [(5, "A5")]


def test_the_row_limit_and_progress(settings):
    settings.IMPORT_MAX_ROWS = 4
    assert (
        "超过单次导入上限 4 行" in problems(check([["名称"], *([f"x{n}"] for n in range(5))]))[0][2]
    )
    seen: list[tuple[int, int]] = []
    check(
        [["名称"], *([f"x{n}"] for n in range(4))],
        progress=lambda done, total: seen.append((done, total)),
        progress_every=2,
    )
    assert seen == [(2, 4), (4, 4), (4, 4)]


def test_the_preferred_sheet_is_read_when_present():
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    book.active.append(["这不是数据"])
    data = book.create_sheet("物品")
    data.append(["名称"])
    data.append(["甲"])
    out = BytesIO()
    book.save(out)
    sheet = imports.read_sheet(BytesIO(out.getvalue()), preferred="物品")
    assert imports.validate(ThingImporter(None), sheet).rows[0]["name"] == "甲"


def test_unreadable_files_are_a_file_problem():
    with pytest.raises(imports.FileProblem, match=r"文件已损坏或不是有效的 \.xlsx 文件"):
        imports.read_sheet(BytesIO(b"PK\x03\x04rubbish"))


# ---------------------------------------------------------------------------------------------
# declaring kinds


def test_a_kind_must_be_a_slug_and_column_keys_unique():
    class Bad(Importer):
        kind = "Bad Kind"
        title = "x"
        columns = ()

    with pytest.raises(ImproperlyConfigured):
        imports.register(Bad)

    class Twice(Importer):
        kind = "twice"
        title = "x"
        columns = (Column("甲", "a"), Column("乙", "a"))

    with pytest.raises(ImproperlyConfigured):
        imports.register(Twice)


def test_apps_register_their_kinds_on_first_use():
    assert "units" in imports.importers()  # orgs/imports.py, found by autodiscovery


# ---------------------------------------------------------------------------------------------
# the template and the error report


def test_the_template_has_headers_an_example_dropdowns_and_the_rules():
    content = imports.template_bytes(ThingImporter(None))
    book = load_workbook(BytesIO(content))
    assert book.sheetnames == ["物品", "填写说明"]
    sheet = book["物品"]
    assert [c.value for c in sheet[1]] == ["名称*", "数量", "日期", "金额", "类别", "备注"]
    assert [c.value for c in sheet[2]][:2] == ["示例物品", 2]
    lists = [v.formula1 for v in sheet.data_validations.dataValidation]
    assert lists == ['"甲类,乙类"']
    notes = sheet_rows(content, "填写说明")
    assert notes[1] == ("名称", "必填", "文本，不超过 10 个字；不得重复", "示例物品")
    assert notes[2][2] == "整数，1 至 100"
    assert any(r[0] and "物品的规则写在这里" in r[0] for r in notes)
    # The unchanged template is an empty import, not an import of the example.
    outcome = imports.validate(ThingImporter(None), imports.read_sheet(BytesIO(content)))
    assert outcome.skipped_example and problems(outcome) == [
        (None, "", "文件中除表头外没有数据行。")
    ]


def test_the_error_report_lists_row_column_cell_and_message():
    issues = [
        imports.Issue(None, "", "文件级问题"),
        imports.Issue(3, "名称", "=HYPERLINK(1)", "A3"),
    ]
    rows = sheet_rows(imports.error_report_bytes(issues))
    assert rows == [
        ("行号", "列名", "单元格", "错误说明"),
        (None, None, None, "文件级问题"),
        (3, "名称", "A3", "'=HYPERLINK(1)"),
    ]


# ---------------------------------------------------------------------------------------------
# uploads and jobs


def _zip(files: dict[str, str]) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(imports, "max_bytes", lambda: 4000)
    bomb = _zip({"xl/workbook.xml": "<x/>", "xl/big.xml": "0" * 200_000})
    assert len(bomb) < 4000
    with pytest.raises(ValidationError, match="文件解压后过大"):
        import_jobs.check_upload(upload(bomb))
    with pytest.raises(ValidationError, match=r"不是有效的 \.xlsx"):
        import_jobs.check_upload(upload(_zip({"word/document.xml": "<w/>"})))
    with pytest.raises(ValidationError, match="请选择要上传的文件"):
        import_jobs.check_upload(None)


@pytest.mark.django_db
def test_a_job_runs_once_and_drops_its_upload(people, django_capture_on_commit_callbacks, things):
    with django_capture_on_commit_callbacks(execute=True):
        job = import_jobs.import_job_create(
            actor=people.member, kind="things", upload=upload(xlsx_bytes([["名称"], ["甲"]]))
        )
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED and job.result == {"created": 1}
    assert things.committed == [[{**things.committed[0][0], "name": "甲"}]]
    assert not job.file and job.file_name == "data.xlsx"
    assert import_jobs.run_import_job(job.pk) is None
    assert len(things.committed) == 1


@pytest.mark.django_db
def test_a_job_that_crashes_is_an_error_recorded_for_the_system_admin(
    people, django_capture_on_commit_callbacks, monkeypatch
):
    def boom(self, rows, actor):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(ThingImporter, "commit", boom)
    with django_capture_on_commit_callbacks(execute=True):
        job = import_jobs.import_job_create(
            actor=people.member, kind="things", upload=upload(xlsx_bytes([["名称"], ["甲"]]))
        )
    job.refresh_from_db()
    assert job.status == ImportStatus.ERROR
    assert job.message == "导入过程中发生系统错误，未导入任何数据。"
    assert not job.file
    assert "磁盘已满" in JobFailure.objects.get().error


@pytest.mark.django_db
def test_a_pending_job_is_claimed_by_one_runner_only(people):
    job = ImportJob.objects.create(kind="things", created_by=people.member)
    assert import_jobs._claim(job.pk) is True
    assert import_jobs._claim(job.pk) is False
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATING and job.started_at is not None

"""Importing resident units from Excel: every rule of the form, all or nothing, scoped, reported
row by row, as a background job only its creator sees."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient
from stdnum.cn import uscc

from tongxin.core import import_jobs
from tongxin.core.models import AuditRecord, ImportJob, ImportStatus
from tongxin.core.tests.xlsx_helpers import add_rows, sheet_rows, upload, xlsx_bytes
from tongxin.orgs import services
from tongxin.orgs.imports import UnitImporter
from tongxin.orgs.models import PartyStatus, ResidentUnit, UnitType
from tongxin.orgs.tests.factories import CREDIT_CODE, CREDIT_CODE_2, UnitFactory

pytestmark = pytest.mark.django_db

HEADERS = [
    "单位名称",
    "单位类型",
    "所在社区/网格",
    "统一社会信用代码",
    "地址",
    "从业人员数",
    "党员数",
    "党组织覆盖",
    "单位党组织名称",
    "联系人",
    "联系电话",
]
GRID_A = "镇海街道/文献社区/文献一网格"


def code(n: int) -> str:
    base = f"9135030400{n:07d}"
    return base + uscc.calc_check_digit(base)


def unit_row(n: int, **overrides: Any) -> list[Any]:
    values = {
        "单位名称": f"导入测试{n}有限公司",
        "单位类型": "非公有制企业",
        "所在社区/网格": GRID_A,
        "统一社会信用代码": code(n),
        "地址": f"文献路{n}号",
        "从业人员数": 30,
        "党员数": 3,
        "党组织覆盖": "未覆盖",
        "单位党组织名称": "",
        "联系人": "林晓",
        "联系电话": "13812345678",
    }
    values.update(overrides)
    return [values[h] for h in HEADERS]


def units_file(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    return xlsx_bytes([headers, *rows], title="驻区单位")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """Upload as `user` through the service and run the job (jobs run at once in tests)."""

    def run(user, content: bytes, name: str = "units.xlsx") -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            job = import_jobs.import_job_create(
                actor=user, kind="units", upload=upload(content, name)
            )
        job.refresh_from_db()
        return job

    return run


def only_error(job: ImportJob) -> dict[str, Any]:
    assert job.status == ImportStatus.FAILED_VALIDATION, (job.status, job.message)
    assert job.error_count == 1, job.errors
    return job.errors[0]


# ---------------------------------------------------------------------------------------------
# all or nothing


def test_one_bad_row_among_500_commits_nothing_and_names_that_cell(places, people, start):
    rows = [unit_row(n) for n in range(500)]
    rows[315] = unit_row(315, 单位类型="外资企业")  # Excel row 317: header is row 1
    before = ResidentUnit.objects.count()

    job = start(people.community_admin, units_file(rows))

    assert ResidentUnit.objects.count() == before
    assert job.total_rows == 500
    assert job.errors == [
        {
            "row": 317,
            "column": "单位类型",
            "cell": "B317",
            "message": "“外资企业”不是可选值，应为：机关、事业单位、国有企业、非公有制企业、"
            "社会组织、物业服务企业、业主委员会。",
        }
    ]
    assert job.error_count == 1 and job.finished_at is not None
    assert not job.file  # the upload is deleted once the job has finished
    record = AuditRecord.objects.get(action="core.import.failed_validation")
    assert record.outcome == "failure"
    assert record.changes == {"kind": "units", "rows": 500, "errors": 1}
    assert not AuditRecord.objects.filter(action="core.import.commit").exists()


def test_a_clean_file_creates_every_unit_in_one_commit(places, people, start):
    rows = [unit_row(n) for n in range(500)]
    job = start(people.community_admin, units_file(rows))

    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.result == {"created": 500}
    assert job.processed_rows == job.total_rows == 500 and job.percent == 100
    assert ResidentUnit.objects.filter(name__startswith="导入测试").count() == 500
    unit = ResidentUnit.objects.get(name="导入测试7有限公司")
    assert unit.node == places.grid_a
    assert unit.unit_type == UnitType.NON_PUBLIC and unit.party_status == PartyStatus.NONE
    assert unit.credit_code == code(7) and unit.employees == 30 and unit.party_members == 3
    assert unit.contact_phone == "13812345678"
    commit = AuditRecord.objects.get(action="core.import.commit")
    assert commit.actor_id == people.community_admin.pk
    assert commit.changes == {"kind": "units", "rows": 500, "created": 500}
    bulk = AuditRecord.objects.get(action="orgs.unit.bulk_create")
    assert bulk.changes == {"count": 500, "nodes": {"文献一网格": 500}}
    assert AuditRecord.objects.filter(action="core.import.upload").count() == 1
    assert not job.file


def test_progress_is_reported_every_n_rows_and_reaches_the_total(
    places, people, start, settings, monkeypatch
):
    settings.IMPORT_PROGRESS_EVERY = 100
    seen: list[tuple[int, int]] = []
    original = import_jobs._set

    def spy(job, **fields):
        if "processed_rows" in fields:
            seen.append((fields["processed_rows"], fields.get("total_rows", job.total_rows)))
        original(job, **fields)

    monkeypatch.setattr(import_jobs, "_set", spy)
    job = start(people.community_admin, units_file([unit_row(n) for n in range(450)]))
    assert job.status == ImportStatus.SUCCEEDED
    assert seen[:5] == [(100, 450), (200, 450), (300, 450), (400, 450), (450, 450)]
    assert job.processed_rows == job.total_rows == 450


# ---------------------------------------------------------------------------------------------
# every rule of the registration form


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"单位名称": ""}, "单位名称", "必填，不能为空。"),
        ({"单位名称": "名" * 121}, "单位名称", "不能超过 120 个字（现有 121 个）。"),
        ({"单位类型": ""}, "单位类型", "必填，不能为空。"),
        ({"单位类型": "个体户"}, "单位类型", "“个体户”不是可选值"),
        ({"所在社区/网格": ""}, "所在社区/网格", "必填，不能为空。"),
        ({"所在社区/网格": "镇海街道/文献社区/不存在的网格"}, "所在社区/网格", "找不到"),
        ({"所在社区/网格": "文献一网格一组"}, "所在社区/网格", "驻区单位应设在社区或网格。"),
        ({"统一社会信用代码": "91350304MA2Y0B1A3C"}, "统一社会信用代码", "校验位不正确"),
        ({"统一社会信用代码": "12345"}, "统一社会信用代码", "格式或校验位不正确"),
        ({"从业人员数": -1}, "从业人员数", "不能小于 0。"),
        ({"从业人员数": "三十"}, "从业人员数", "应为整数。"),
        ({"从业人员数": 12.5}, "从业人员数", "应为整数。"),
        ({"党员数": 40}, "党员数", "党员数不能多于从业人员数。"),
        ({"党组织覆盖": "已覆盖"}, "党组织覆盖", "不是可选值"),
        (
            {"党组织覆盖": "单独组建", "单位党组织名称": ""},
            "单位党组织名称",
            "单独组建党组织的单位须填写其党组织名称。",
        ),
        ({"单位党组织名称": "支" * 121}, "单位党组织名称", "不能超过 120 个字"),
        ({"地址": "路" * 201}, "地址", "不能超过 200 个字"),
        ({"联系人": "林" * 51}, "联系人", "不能超过 50 个字"),
        ({"联系电话": "1" * 41}, "联系电话", "不能超过 40 个字"),
    ],
)
def test_each_rule_of_the_form_applies_to_each_row(
    places, people, start, overrides, column, message
):
    rows = [unit_row(1), unit_row(2, **overrides), unit_row(3)]
    job = start(people.community_admin, units_file(rows))
    error = only_error(job)
    assert error["row"] == 3 and error["column"] == column
    assert message in error["message"]
    assert not ResidentUnit.objects.filter(name__startswith="导入测试").exists()


def test_the_rules_are_the_services_own(places, people):
    """Same function, same messages: the form and the import cannot drift apart."""
    unit = ResidentUnit(
        name="x", unit_type="soe", node=places.grid_a, party_status="own", party_org_name=""
    )
    errors = services.unit_rule_errors(unit, services.UNIT_FIELDS)
    assert errors == {"party_org_name": ["单独组建党组织的单位须填写其党组织名称。"]}
    assert UnitImporter.columns[3].parse is services.normalize_credit_code


def test_blank_optional_cells_take_the_forms_defaults(places, people, start):
    row = unit_row(1, 统一社会信用代码="", 从业人员数="", 党员数="", 党组织覆盖="", 联系电话="")
    job = start(people.community_admin, units_file([row]))
    assert job.status == ImportStatus.SUCCEEDED
    unit = ResidentUnit.objects.get(name="导入测试1有限公司")
    assert (unit.credit_code, unit.employees, unit.party_members) == ("", 0, 0)
    assert unit.party_status == PartyStatus.NONE and unit.contact_phone == ""


def test_cells_are_read_the_way_people_type_them(places, people, start):
    row = unit_row(
        1,
        单位类型=" 国有企业 ",
        统一社会信用代码=code(1).lower(),
        从业人员数="1,200",
        党员数=12.0,
        党组织覆盖="own",  # a code is accepted as well as the label
        单位党组织名称="某某党委",
        联系电话=13812345678,  # typed as a number: no ".0", no exponent
        所在社区="文献一网格",
    )
    headers = [h if h != "所在社区/网格" else "所在社区" for h in HEADERS]
    job = start(people.community_admin, units_file([row], headers=headers))
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    unit = ResidentUnit.objects.get(name="导入测试1有限公司")
    assert unit.unit_type == UnitType.SOE and unit.employees == 1200 and unit.party_members == 12
    assert unit.credit_code == code(1) and unit.contact_phone == "13812345678"
    assert unit.party_status == PartyStatus.OWN and unit.node == places.grid_a


def test_a_place_is_a_path_of_names_a_unique_tail_or_a_code(places, people, start):
    places.community_a.code = "WX-001"
    places.community_a.save(update_fields=["code"])
    rows = [
        unit_row(1, **{"所在社区/网格": "荔城区/镇海街道/文献社区/文献一网格"}),
        unit_row(2, **{"所在社区/网格": "文献社区 / 文献一网格"}),
        unit_row(3, **{"所在社区/网格": "文献社区"}),
        unit_row(4, **{"所在社区/网格": "wx-001"}),
    ]
    job = start(people.street_admin, units_file(rows))
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    nodes = dict(
        ResidentUnit.objects.filter(name__startswith="导入测试").values_list("name", "node")
    )
    assert nodes == {
        "导入测试1有限公司": places.grid_a.pk,
        "导入测试2有限公司": places.grid_a.pk,
        "导入测试3有限公司": places.community_a.pk,
        "导入测试4有限公司": places.community_a.pk,
    }


def test_an_ambiguous_place_asks_for_the_parent(places, people, start):
    services.node_create(actor=None, parent=places.community_b, name="一网格", level="grid")
    services.node_create(actor=None, parent=places.community_a, name="一网格", level="grid")
    job = start(people.street_admin, units_file([unit_row(1, **{"所在社区/网格": "一网格"})]))
    error = only_error(job)
    assert "对应多个组织，请写上上级名称加以区分" in error["message"]


# ---------------------------------------------------------------------------------------------
# duplicates


def test_a_credit_code_twice_in_the_file_is_reported_on_the_later_row(places, people, start):
    rows = [
        unit_row(1, 统一社会信用代码=CREDIT_CODE),
        unit_row(2),
        unit_row(3, 统一社会信用代码=CREDIT_CODE.lower()),
    ]
    job = start(people.community_admin, units_file(rows))
    assert only_error(job) == {
        "row": 4,
        "column": "统一社会信用代码",
        "cell": "D4",
        "message": "与第 2 行重复。",
    }


def test_a_credit_code_an_open_unit_has_is_refused_a_closed_ones_is_not(places, people, start):
    UnitFactory(node=places.community_b, credit_code=CREDIT_CODE)
    UnitFactory(node=places.community_b, credit_code=CREDIT_CODE_2, closed_at=timezone.now())
    rows = [unit_row(1, 统一社会信用代码=CREDIT_CODE), unit_row(2, 统一社会信用代码=CREDIT_CODE_2)]
    job = start(people.community_admin, units_file(rows))
    assert only_error(job) == {
        "row": 2,
        "column": "统一社会信用代码",
        "cell": "D2",
        "message": "已有使用该统一社会信用代码的驻区单位。",
    }
    job = start(people.community_admin, units_file([rows[1]]))
    assert job.status == ImportStatus.SUCCEEDED


def test_a_code_registered_between_check_and_commit_rolls_everything_back(
    places, people, start, monkeypatch
):
    UnitFactory(node=places.community_a, credit_code=CREDIT_CODE)
    # The check ran before the other registration landed: simulate it by not seeing it.
    monkeypatch.setattr(UnitImporter, "existing_values", lambda self, key, values: set())
    job = start(
        people.community_admin, units_file([unit_row(1), unit_row(2, 统一社会信用代码=CREDIT_CODE)])
    )
    assert job.status == ImportStatus.ERROR
    assert "未导入任何数据" in job.message
    assert not ResidentUnit.objects.filter(name__startswith="导入测试").exists()
    assert not AuditRecord.objects.filter(action="core.import.commit").exists()


# ---------------------------------------------------------------------------------------------
# the file itself


def test_headers_are_matched_by_name_in_any_order(places, people, start):
    order = [10, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9]
    headers = [HEADERS[i] for i in order]
    headers[2] = "单位名称*"  # as the template writes a required column
    headers[3] = "单位类型（必填）"
    row = unit_row(1)
    job = start(people.community_admin, units_file([[row[i] for i in order]], headers=headers))
    assert job.status == ImportStatus.SUCCEEDED, job.errors


def test_a_title_row_above_the_header_and_blank_rows_are_fine(places, people, start):
    content = xlsx_bytes(
        [["文献社区驻区单位名册"], HEADERS, unit_row(1), [], ["", "  "], unit_row(2), [], []],
        title="驻区单位",
    )
    job = start(people.community_admin, content)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.total_rows == 2


def test_wrong_and_missing_headers_are_reported_before_any_row(places, people, start):
    headers = ["单位名字", *HEADERS[1:], "单位类型"]
    job = start(people.community_admin, units_file([[*unit_row(1), "机关"]], headers=headers))
    assert job.status == ImportStatus.FAILED_VALIDATION
    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (1, "单位名字", "无法识别的列“单位名字”，请使用模板中的列名。"),
        (1, "单位类型", "“单位类型”列出现了不止一次。"),
        (1, "单位名称", "缺少必填列“单位名称”。"),
    ]


def test_a_file_without_a_header_or_without_rows_is_explained(places, people, start):
    job = start(people.community_admin, xlsx_bytes([["甲", "乙"], [1, 2]]))
    assert "找不到表头" in only_error(job)["message"]
    job = start(people.community_admin, units_file([]))
    assert only_error(job)["message"] == "文件中除表头外没有数据行。"


def test_too_many_rows_are_refused_with_the_limit(places, people, start, settings):
    settings.IMPORT_MAX_ROWS = 3
    job = start(people.community_admin, units_file([unit_row(n) for n in range(4)]))
    assert "超过单次导入上限 3 行" in only_error(job)["message"]


def test_a_corrupt_workbook_is_reported_not_crashed_on(places, people, start):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "not xml at all")
    job = start(people.community_admin, buffer.getvalue())
    error = only_error(job)
    assert error["row"] is None and "无法读取该文件" in error["message"]
    assert not job.file


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("units.xls", b"\xd0\xcf\x11\xe0 old excel", "请上传 .xlsx 格式的 Excel 文件"),
        ("units.csv", "单位名称,单位类型\n".encode(), "请上传 .xlsx 格式的 Excel 文件"),
        ("units.xlsx", b"PK\x03\x04 not really a zip", "不是有效的 .xlsx 文件"),
        ("units.xlsx", b"just text", "不是有效的 .xlsx 文件"),
    ],
)
def test_non_xlsx_files_are_refused_at_upload(client, places, people, name, content, message):
    client.force_login(people.community_admin)
    response = client.post(
        reverse("core:import_upload", args=["units"]), {"file": upload(content, name)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    api = APIClient()
    api.force_authenticate(people.community_admin)
    response = api.post(
        "/api/v1/imports/units/", {"file": upload(content, name)}, format="multipart"
    )
    assert response.status_code == 400
    assert message in response.json()["file"][0]


def test_a_file_over_the_size_limit_is_refused(client, places, people, settings):
    settings.IMPORT_MAX_MB = 0
    client.force_login(people.community_admin)
    response = client.post(
        reverse("core:import_upload", args=["units"]),
        {"file": upload(units_file([unit_row(1)]))},
    )
    assert response.status_code == 400
    assert "文件过大" in response.content.decode()


# ---------------------------------------------------------------------------------------------
# scope


def test_a_community_admin_cannot_import_into_the_sibling_community(places, people, start):
    rows = [unit_row(1), unit_row(2, **{"所在社区/网格": "镇海街道/东梅社区/东梅一网格"})]
    job = start(people.community_admin, units_file(rows))
    error = only_error(job)
    assert (error["row"], error["column"]) == (3, "所在社区/网格")
    assert "须在您的管辖范围内" in error["message"]
    assert not ResidentUnit.objects.filter(name__startswith="导入测试").exists()


def test_a_street_admin_imports_anywhere_in_the_street_but_not_the_next_one(places, people, start):
    rows = [
        unit_row(1, **{"所在社区/网格": "镇海街道/东梅社区"}),
        unit_row(2, **{"所在社区/网格": "拱辰街道/拱辰社区"}),
    ]
    job = start(people.street_admin, units_file(rows))
    assert only_error(job)["row"] == 3
    job = start(people.street_admin, units_file(rows[:1]))
    assert job.status == ImportStatus.SUCCEEDED


@pytest.mark.parametrize("who", ["grid_manager", "unit_liaison", "member", "sys_admin"])
def test_only_managing_roles_may_import_units(client, places, people, who):
    user = getattr(people, who)
    client.force_login(user)
    assert client.get(reverse("core:import_upload", args=["units"])).status_code == 403
    assert client.get(reverse("core:import_template", args=["units"])).status_code == 403
    api = APIClient()
    api.force_authenticate(user)
    response = api.post(
        "/api/v1/imports/units/", {"file": upload(units_file([unit_row(1)]))}, format="multipart"
    )
    assert response.status_code == 403
    assert not ImportJob.objects.exists()
    denied = AuditRecord.objects.get(action="core.import.upload")
    assert denied.outcome == "denied" and denied.changes == {"kind": "units"}


def test_an_unknown_kind_is_not_found(client, people):
    client.force_login(people.community_admin)
    assert client.get(reverse("core:import_upload", args=["nothing"])).status_code == 404
    api = APIClient()
    api.force_authenticate(people.community_admin)
    assert api.get("/api/v1/imports/nothing/template/").status_code == 404


# ---------------------------------------------------------------------------------------------
# jobs: pages, API, idempotency, visibility


def test_the_page_flow_uploads_shows_progress_then_the_outcome(
    client, places, people, django_capture_on_commit_callbacks
):
    client.force_login(people.community_admin)
    page = client.get(reverse("core:import_upload", args=["units"])).content.decode()
    assert "下载导入模板" in page and "单位党组织名称" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("core:import_upload", args=["units"]),
            {"file": upload(units_file([unit_row(1), unit_row(2)]))},
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("core:import_job", args=[job.pk])
    html = client.get(response["Location"]).content.decode()
    assert "导入成功：已新增 2 条驻区单位记录。" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: the page stops polling


def test_a_running_job_polls_every_second_with_a_progress_bar(client, people):
    job = ImportJob.objects.create(
        kind="units",
        created_by=people.community_admin,
        status=ImportStatus.VALIDATING,
        total_rows=200,
        processed_rows=50,
    )
    client.force_login(people.community_admin)
    html = client.get(reverse("core:import_job_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and 'hx-swap="outerHTML"' in html
    assert 'aria-valuenow="25"' in html and "50 / 200" in html


def test_failed_validation_shows_the_first_50_errors_and_the_full_report(
    client, places, people, start
):
    rows = [unit_row(n, 单位类型="不明") for n in range(60)]
    job = start(people.community_admin, units_file(rows))
    assert job.error_count == 60 and len(job.errors) == 60
    client.force_login(people.community_admin)
    html = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert "发现 60 处错误，未导入任何数据" in html
    assert html.count("不是可选值") == 50
    assert "另有 10 处错误" in html
    response = client.get(reverse("core:import_job_errors", args=[job.pk]))
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    report = sheet_rows(b"".join(response.streaming_content))
    assert report[0] == ("行号", "列名", "单元格", "错误说明")
    assert len(report) == 61
    assert report[1][:3] == (2, "单位类型", "B2") and "不是可选值" in report[1][3]
    assert report[60][0] == 61


def test_the_api_starts_a_job_and_reports_status_progress_errors_result(
    places, people, django_capture_on_commit_callbacks
):
    api = APIClient()
    api.force_authenticate(people.community_admin)
    content = units_file([unit_row(1), unit_row(2, 党员数=99)])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports/units/", {"file": upload(content)}, format="multipart")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["progress"]["percent"] == 0
    job_id = body["id"]
    detail = api.get(f"/api/v1/imports/{job_id}/").json()
    assert detail["kind"] == "units" and detail["title"] == "驻区单位"
    assert detail["status"] == "failed_validation"
    assert detail["progress"] == {"processed": 2, "total": 2, "percent": 100}
    assert detail["error_count"] == 1
    assert detail["errors"] == [
        {"row": 3, "column": "党员数", "cell": "G3", "message": "党员数不能多于从业人员数。"}
    ]
    assert detail["result"] is None
    report = api.get(f"/api/v1/imports/{job_id}/errors/")
    assert report.status_code == 200
    assert sheet_rows(b"".join(report.streaming_content))[1][0] == 3

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/imports/units/",
            {"file": upload(units_file([unit_row(1)]))},
            format="multipart",
        )
    detail = api.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert detail["status"] == "succeeded" and detail["result"] == {"created": 1}
    assert detail["errors"] == [] and detail["error_report_url"] is None
    listed = api.get("/api/v1/imports/").json()
    assert [j["id"] for j in listed["results"]] == [response.json()["id"], job_id]


def test_a_job_is_visible_to_its_creator_only(client, places, people, start):
    job = start(people.community_admin, units_file([unit_row(1, 单位类型="?")]))
    for other in (people.community_admin_b, people.street_admin, people.district_admin):
        client.force_login(other)
        for name in ("core:import_job", "core:import_job_progress", "core:import_job_errors"):
            assert client.get(reverse(name, args=[job.pk])).status_code == 404, (other, name)
        api = APIClient()
        api.force_authenticate(other)
        assert api.get(f"/api/v1/imports/{job.pk}/").status_code == 404
        assert api.get(f"/api/v1/imports/{job.pk}/errors/").status_code == 404
        assert api.get("/api/v1/imports/").json()["results"] == []
        assert job.file_name not in client.get(reverse("core:import_list")).content.decode()
    client.force_login(people.community_admin)
    assert client.get(reverse("core:import_job", args=[job.pk])).status_code == 200
    assert job.file_name in client.get(reverse("core:import_list")).content.decode()


def test_running_a_job_twice_imports_once(places, people, start):
    job = start(people.community_admin, units_file([unit_row(1)]))
    assert job.status == ImportStatus.SUCCEEDED
    assert import_jobs.run_import_job(job.pk) is None
    assert ResidentUnit.objects.filter(name="导入测试1有限公司").count() == 1
    assert AuditRecord.objects.filter(action="core.import.commit").count() == 1


def test_a_job_interrupted_long_ago_is_closed_by_housekeeping(people):
    job = ImportJob.objects.create(
        kind="units",
        created_by=people.community_admin,
        status=ImportStatus.VALIDATING,
        started_at=timezone.now() - timedelta(hours=import_jobs.DEFAULT_STALE_HOURS + 1),
    )
    assert import_jobs.import_housekeeping()["stale"] == 1
    job.refresh_from_db()
    assert job.status == ImportStatus.ERROR and "中断" in job.message


# ---------------------------------------------------------------------------------------------
# the template


def test_the_template_reimports_cleanly_once_filled_in(client, places, people, start):
    client.force_login(people.community_admin)
    response = client.get(reverse("core:import_template", args=["units"]))
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    template = response.content
    rows = sheet_rows(template)
    assert rows[0][0] == "单位名称*" and rows[0][3] == "统一社会信用代码"
    assert len(rows) == 2  # header and the example

    notes = sheet_rows(template, "填写说明")
    assert notes[0] == ("列名", "是否必填", "填写要求", "示例")
    assert notes[2][:2] == ("单位类型", "必填")
    assert "机关、事业单位" in notes[2][2]
    assert any("只要有一行有误，就不会导入任何数据" in (r[0] or "") for r in notes)
    places_sheet = [r[0] for r in sheet_rows(template, "可选社区网格")[1:]]
    assert places_sheet == ["镇海街道/文献社区", GRID_A]  # the user's own places, no sibling

    filled = add_rows(
        template, [unit_row(1), unit_row(2, 党组织覆盖="单独组建", 单位党组织名称="某党支部")]
    )
    job = start(people.community_admin, filled)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.result == {"created": 2}  # the unchanged example row was skipped
    assert not ResidentUnit.objects.filter(name="荔城示例科技有限公司").exists()


def test_the_template_downloads_from_the_api_and_the_list_page_links_it(client, places, people):
    api = APIClient()
    api.force_authenticate(people.street_admin)
    response = api.get("/api/v1/imports/units/template/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert sheet_rows(response.content)[0][2] == "所在社区/网格*"

    client.force_login(people.community_admin)
    html = client.get(reverse("orgs:unit_list")).content.decode()
    assert reverse("core:import_upload", args=["units"]) in html
    assert reverse("core:import_template", args=["units"]) in html
    client.force_login(people.grid_manager)
    html = client.get(reverse("orgs:unit_list")).content.decode()
    assert reverse("core:import_upload", args=["units"]) not in html


def test_a_changed_example_row_is_imported_like_any_other(places, people, start, client):
    client.force_login(people.community_admin)
    template = client.get(reverse("core:import_template", args=["units"])).content
    book = load_workbook(BytesIO(template))
    book.worksheets[0]["A2"] = "改过的示例单位"
    out = BytesIO()
    book.save(out)
    job = start(people.community_admin, out.getvalue())
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert ResidentUnit.objects.filter(name="改过的示例单位", node=places.grid_a).exists()

"""Importing party members, residents (with their households) and households from Excel: every
rule of the forms, ID numbers checked and unique through the blind index, all or nothing, scoped,
reported row by row in Chinese, and no plain personal data in jobs or audit records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from tongxin.core import import_jobs
from tongxin.core.models import AuditRecord, ImportJob, ImportStatus
from tongxin.core.tests.xlsx_helpers import add_rows, response_bytes, sheet_rows, upload, xlsx_bytes
from tongxin.people import services
from tongxin.people.imports import (
    EXAMPLE_ID,
    HouseholdImporter,
    MemberImporter,
    ResidentImporter,
    mask_personal,
)
from tongxin.people.models import (
    Building,
    Category,
    DuesClass,
    Household,
    HouseholdType,
    MembershipType,
    PartyMember,
    Person,
    PersonGroup,
    Relation,
    ResidenceType,
    Resident,
)
from tongxin.people.tests.factories import id_number, make_member, make_resident
from tongxin.people.validation import clean_id_number

pytestmark = pytest.mark.django_db

MEMBER_HEADERS = [
    "姓名",
    "性别",
    "民族",
    "公民身份号码",
    "手机号码",
    "住址",
    "所在网格",
    "党员类别",
    "入党日期",
    "正式/预备",
    "转正日期",
    "组织关系所在党组织",
    "活动所在网格",
    "工作单位",
    "党费计算类别",
    "月收入（税后）",
]
RESIDENT_HEADERS = [
    "姓名",
    "性别",
    "民族",
    "公民身份号码",
    "手机号码",
    "住址",
    "所在网格",
    "楼栋",
    "门牌/房号",
    "户别",
    "与户主关系",
    "人口类别",
    "入住日期",
    "特殊人群",
]
HOUSEHOLD_HEADERS = ["所在网格", "楼栋", "门牌/房号", "户别", "地址", "备注"]
GRID_A = "镇海街道/文献社区/文献一网格"
GRID_B = "镇海街道/东梅社区/东梅一网格"


def number(n: int, born: dt.date = dt.date(1975, 3, 9)) -> str:
    """A valid ID number per n (born on `born` + n days, sequence n % 1000)."""
    return id_number(born + dt.timedelta(days=n // 900), n % 900 + 100)


def member_row(n: int, **overrides: Any) -> list[Any]:
    values: dict[str, Any] = {
        "姓名": f"导入党员{n}",
        "性别": "",
        "民族": "汉族",
        "公民身份号码": number(n),
        "手机号码": f"139{n:08d}",
        "住址": f"文献路{n}号",
        "所在网格": GRID_A,
        "党员类别": "在册党员",
        "入党日期": dt.date(2001, 7, 1),
        "正式/预备": "正式党员",
        "转正日期": "",
        "组织关系所在党组织": "",
        "活动所在网格": "",
        "工作单位": "",
        "党费计算类别": "",
        "月收入（税后）": 4500,
    }
    values.update(overrides)
    return [values[h] for h in MEMBER_HEADERS]


def resident_row(n: int, **overrides: Any) -> list[Any]:
    values: dict[str, Any] = {
        "姓名": f"导入居民{n}",
        "性别": "",
        "民族": "",
        "公民身份号码": number(n, dt.date(1982, 6, 1)),
        "手机号码": f"137{n:08d}",
        "住址": "文献花园",
        "所在网格": GRID_A,
        "楼栋": "文献花园2号楼",
        "门牌/房号": f"{n}01",
        "户别": "",
        "与户主关系": "户主",
        "人口类别": "",
        "入住日期": "",
        "特殊人群": "",
    }
    values.update(overrides)
    return [values[h] for h in RESIDENT_HEADERS]


def household_row(n: int, **overrides: Any) -> list[Any]:
    values: dict[str, Any] = {
        "所在网格": GRID_A,
        "楼栋": "文献花园3号楼",
        "门牌/房号": f"{n}02",
        "户别": "",
        "地址": "文献路3号",
        "备注": "",
    }
    values.update(overrides)
    return [values[h] for h in HOUSEHOLD_HEADERS]


def members_file(rows: list[list[Any]], headers: list[str] = MEMBER_HEADERS) -> bytes:
    return xlsx_bytes([headers, *rows], title="党员")


def residents_file(rows: list[list[Any]], headers: list[str] = RESIDENT_HEADERS) -> bytes:
    return xlsx_bytes([headers, *rows], title="居民")


def households_file(rows: list[list[Any]]) -> bytes:
    return xlsx_bytes([HOUSEHOLD_HEADERS, *rows], title="住户")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """Upload as `user` through the service and run the job (jobs run at once in tests)."""

    def run(user, content: bytes, kind: str = "members") -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            job = import_jobs.import_job_create(
                actor=user, kind=kind, upload=upload(content, f"{kind}.xlsx")
            )
        job.refresh_from_db()
        return job

    return run


def only_error(job: ImportJob) -> dict[str, Any]:
    assert job.status == ImportStatus.FAILED_VALIDATION, (job.status, job.message)
    assert job.error_count == 1, job.errors
    return job.errors[0]


def imported_members() -> int:
    return PartyMember.objects.filter(person__name__startswith="导入党员").count()


# ---------------------------------------------------------------------------------------------
# members: all or nothing


def test_one_bad_check_digit_among_300_rows_commits_nothing(places, people, start):
    rows = [member_row(n) for n in range(300)]
    good = rows[209][3]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows[209] = member_row(209, 公民身份号码=bad)  # Excel row 211: the header is row 1
    persons_before = Person.objects.count()

    job = start(people.community_admin, members_file(rows))

    assert job.errors == [
        {
            "row": 211,
            "column": "公民身份号码",
            "cell": "D211",
            "message": "身份证号校验码不正确，请核对。",
        }
    ]
    assert job.total_rows == 300 and job.error_count == 1
    assert Person.objects.count() == persons_before and imported_members() == 0
    assert not AuditRecord.objects.filter(action="people.member.bulk_create").exists()
    assert not AuditRecord.objects.filter(action="core.import.commit").exists()
    failed = AuditRecord.objects.get(action="core.import.failed_validation")
    assert failed.changes == {"kind": "members", "rows": 300, "errors": 1}
    assert not job.file  # the upload is gone once the job has ended


def test_a_clean_file_creates_every_member_in_one_commit(places, people, start):
    rows = [member_row(n) for n in range(300)]
    job = start(people.community_admin, members_file(rows))

    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.result == {"created": 300} and job.processed_rows == 300
    assert imported_members() == 300
    member = PartyMember.objects.select_related("person", "organization").get(
        person__name="导入党员7"
    )
    person = member.person
    assert person.node == places.grid_a and person.address == "文献路7号"
    assert person.id_number.reveal() == number(7) and person.phone.reveal() == "13900000007"
    assert person.id_number_masked == number(7)[:4] + "*" * 10 + number(7)[-4:]
    parsed = clean_id_number(number(7))
    assert (person.birth_date, person.gender) == (parsed.birth_date, parsed.gender)
    assert member.category == Category.REGISTERED and member.management_mode == "direct"
    assert member.membership_type == MembershipType.FULL
    assert member.joined_on == dt.date(2001, 7, 1) and member.monthly_income == Decimal("4500.00")
    assert member.branch == places.grid_a  # the grid's branch, as the form defaults it
    assert member.organization.node == places.grid_a  # the grid's territorial organization
    assert member.dues_class == DuesClass.SALARIED
    bulk = AuditRecord.objects.get(action="people.member.bulk_create")
    assert bulk.changes["count"] == 300 and bulk.changes["nodes"] == ["文献一网格"]
    commit = AuditRecord.objects.get(action="core.import.commit")
    assert commit.changes == {"kind": "members", "rows": 300, "created": 300}


def test_all_six_categories_and_their_rules(places, people, start):
    rows = [
        member_row(1, 党员类别="在册党员"),
        member_row(2, 党员类别="in_service", 工作单位="文献供电所"),
        member_row(3, 党员类别="新兴领域", 工作单位="某某网络科技有限公司"),
        member_row(4, 党员类别="离退休党员", **{"月收入（税后）": "3200.50"}),
        member_row(5, 党员类别="下岗职工党员", **{"月收入（税后）": ""}),
        member_row(6, 党员类别="流动党员", 组织关系所在党组织="中共厦门市思明区某社区委员会"),
        member_row(
            7,
            **{"正式/预备": "预备", "入党日期": "2025年3月1日"},
            公民身份号码=id_number(dt.date(1990, 2, 2), 111),  # 111: odd, a man
            性别="男",
        ),
    ]
    job = start(people.community_admin, members_file(rows))
    assert job.status == ImportStatus.SUCCEEDED, job.errors

    by_name = {
        m.person.name: m
        for m in PartyMember.objects.select_related("person", "unit").filter(
            person__name__startswith="导入党员"
        )
    }
    assert [by_name[f"导入党员{n}"].category for n in range(1, 7)] == Category.values
    assert [by_name[f"导入党员{n}"].management_mode for n in range(1, 7)] == [
        "direct",
        "dual",
        "dual",
        "entrusted",
        "taken_over",
        "co_managed",
    ]
    assert by_name["导入党员2"].unit == places.unit_a  # a registered unit is linked by name
    assert by_name["导入党员3"].unit is None
    assert by_name["导入党员3"].work_unit_name == "某某网络科技有限公司"
    assert by_name["导入党员4"].dues_class == DuesClass.RETIRED
    assert by_name["导入党员4"].monthly_income == Decimal("3200.50")
    assert by_name["导入党员5"].dues_class == DuesClass.LAID_OFF
    assert by_name["导入党员6"].organization is None
    assert by_name["导入党员6"].organization_name == "中共厦门市思明区某社区委员会"
    probationary = by_name["导入党员7"]
    assert probationary.membership_type == MembershipType.PROBATIONARY
    assert probationary.full_on == dt.date(2026, 3, 1)  # 预备期一年


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"姓名": ""}, "姓名", "必填，不能为空。"),
        ({"姓名": "名" * 51}, "姓名", "不能超过 50 个字"),
        ({"公民身份号码": ""}, "公民身份号码", "必填，不能为空。"),
        ({"公民身份号码": "35030219600517"}, "公民身份号码", "身份证号应为18位。"),
        ({"公民身份号码": 350302196005171234}, "公民身份号码", "请将该列设为“文本”格式"),
        ({"公民身份号码": "35030219600517A234"}, "公民身份号码", "前17位应为数字"),
        ({"公民身份号码": "350302196002300011"}, "公民身份号码", "校验码不正确"),
        (
            {"公民身份号码": id_number(dt.date(1980, 1, 1), 101, area="990101")},
            "公民身份号码",
            "地区码不正确",
        ),
        ({"性别": "男"}, "性别", "性别与身份证号不一致。"),  # number(2): a woman
        ({"性别": "未知"}, "性别", "不是可选值"),
        ({"手机号码": "12345"}, "手机号码", "请输入有效的手机号"),
        ({"所在网格": ""}, "所在网格", "必填，不能为空。"),
        ({"所在网格": "镇海街道/文献社区/没有的网格"}, "所在网格", "找不到"),
        ({"所在网格": "文献一网格一组"}, "所在网格", "党员应登记在社区或网格。"),
        ({"党员类别": ""}, "党员类别", "必填，不能为空。"),
        ({"党员类别": "荣誉党员"}, "党员类别", "“荣誉党员”不是可选值"),
        ({"入党日期": ""}, "入党日期", "必填，不能为空。"),
        ({"入党日期": "去年"}, "入党日期", "不是有效的日期"),
        ({"入党日期": dt.date(2099, 1, 1)}, "入党日期", "入党日期不能晚于今天。"),
        ({"转正日期": dt.date(2000, 1, 1)}, "转正日期", "转正日期不能早于入党日期。"),
        ({"正式/预备": "候补"}, "正式/预备", "不是可选值"),
        ({"党员类别": "在职党员"}, "工作单位", "在职党员和新兴领域党员请填写工作单位。"),
        ({"工作单位": "单" * 121}, "工作单位", "不能超过 120 个字"),
        ({"组织关系所在党组织": "党" * 121}, "组织关系所在党组织", "不能超过 120 个字"),
        ({"活动所在网格": "文献社区"}, "活动所在网格", "活动所在网格应为网格。"),
        ({"活动所在网格": GRID_B}, "活动所在网格", "找不到"),
        ({"党费计算类别": "按月"}, "党费计算类别", "不是可选值"),
        ({"月收入（税后）": -5}, "月收入（税后）", "不能小于 0"),
        ({"月收入（税后）": "四千"}, "月收入（税后）", "应为数字"),
    ],
)
def test_each_rule_applies_to_each_row(places, people, start, overrides, column, message):
    rows = [member_row(1), member_row(2, **overrides), member_row(3)]
    job = start(people.community_admin, members_file(rows))
    error = only_error(job)
    assert error["row"] == 3 and error["column"] == column, error
    assert message in error["message"], error
    assert imported_members() == 0


def test_the_branch_must_be_in_the_members_community(places, people, start):
    job = start(people.street_admin, members_file([member_row(1, 活动所在网格=GRID_B)]))
    error = only_error(job)
    assert error["column"] == "活动所在网格"
    assert error["message"] == "活动所在网格应在党员居住的社区内。"


def test_cells_are_read_the_way_people_type_them(places, people, start):
    headers = [
        {"公民身份号码": "身份证号", "手机号码": "联系电话", "所在网格": "所在社区/网格"}.get(h, h)
        for h in MEMBER_HEADERS
    ]
    lower_x = id_number(dt.date(1966, 4, 4), 123)
    row = member_row(
        1,
        公民身份号码=f" {lower_x.lower()} ",
        手机号码=13912345678,  # typed as a number
        所在网格="文献一网格",
        党员类别="retired",  # the API's code is accepted too
        入党日期="1990/7/1",
        **{"月收入（税后）": "4,500.5"},
    )
    job = start(people.community_admin, members_file([row], headers))
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    person = Person.objects.get(name="导入党员1")
    assert person.id_number.reveal() == lower_x.upper()
    assert person.phone.reveal() == "13912345678"
    assert person.membership.joined_on == dt.date(1990, 7, 1)
    assert person.membership.category == Category.RETIRED
    assert person.membership.monthly_income == Decimal("4500.50")


def test_the_template_round_trips(places, people, start):
    importer = MemberImporter(people.community_admin)
    from tongxin.core.imports import template_bytes

    template = template_bytes(importer)
    header = sheet_rows(template)[0]
    assert [h.rstrip("*") for h in header] == MEMBER_HEADERS
    assert [h for h in header if h.endswith("*")] == [
        "姓名*",
        "公民身份号码*",
        "所在网格*",
        "党员类别*",
        "入党日期*",
    ]
    example = sheet_rows(template)[1]
    assert example[3] == EXAMPLE_ID and clean_id_number(EXAMPLE_ID)
    places_sheet = sheet_rows(template, "可选社区网格")
    assert "镇海街道/文献社区/文献一网格" in [r[0] for r in places_sheet]
    assert not any("东梅" in str(r[0]) for r in places_sheet)  # another community's grid
    # The unchanged example row is skipped; rows filled in below it are imported.
    filled = add_rows(template, [member_row(1), member_row(2)])
    job = start(people.community_admin, filled)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.result == {"created": 2} and imported_members() == 2


# ---------------------------------------------------------------------------------------------
# duplicates: within the file and against the database, through the blind index


def test_an_id_number_twice_in_the_file_is_reported_on_the_later_row(places, people, start):
    rows = [member_row(1), member_row(2), member_row(3, 公民身份号码=f" {number(1)} ")]
    job = start(people.community_admin, members_file(rows))
    assert only_error(job) == {
        "row": 4,
        "column": "公民身份号码",
        "cell": "D4",
        "message": "与第 2 行重复。",
    }


def test_an_id_number_of_a_registered_member_is_refused(places, people, start):
    existing = make_member(places.grid_a, id_number=number(2))
    other = make_member(places.grid_b, id_number=number(3))
    job = start(people.community_admin, members_file([member_row(n) for n in range(1, 5)]))
    assert job.status == ImportStatus.FAILED_VALIDATION
    by_row = {e["row"]: e["message"] for e in job.errors}
    generic = "该身份证号已登记为党员，或已在您管辖范围以外登记。"
    assert set(by_row) == {3, 4}
    assert by_row[3] in {"该人员已登记为党员。", generic}
    assert by_row[4] in {"该身份证号已在其他社区登记，请联系其所在社区。", generic}
    assert imported_members() == 0
    assert PartyMember.objects.filter(pk__in=[existing.pk, other.pk]).count() == 2


def test_a_registered_resident_becomes_the_member(places, people, start):
    resident = make_resident(places.grid_a, id_number=number(5), name="吴居民")
    job = start(people.community_admin, members_file([member_row(5), member_row(6)]))
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    resident.person.refresh_from_db()
    member = resident.person.membership
    assert member.category == Category.REGISTERED
    assert resident.person.name == "吴居民"  # the registered details stay as they were
    assert Person.objects.filter(Person.id_number.lookup(number(5))).count() == 1
    bulk = AuditRecord.objects.get(action="people.member.bulk_create")
    assert bulk.changes["existing_persons"] == 1 and bulk.changes["count"] == 2


# ---------------------------------------------------------------------------------------------
# scope


def test_another_communitys_place_is_not_found(places, people, start):
    job = start(people.community_admin, members_file([member_row(1, 所在网格=GRID_B)]))
    error = only_error(job)
    assert error["column"] == "所在网格" and "找不到" in error["message"]
    assert "须在您的管辖范围内" in error["message"]
    assert imported_members() == 0


def test_a_grid_manager_may_not_import_members_but_may_import_residents(places, people, start):
    with pytest.raises(Exception) as caught:
        start(people.grid_manager, members_file([member_row(1)]))
    assert type(caught.value).__name__ == "PermissionDenied"
    denied = AuditRecord.objects.get(action="core.import.upload", outcome="denied")
    assert denied.changes == {"kind": "members"}
    job = start(people.grid_manager, residents_file([resident_row(1)]), kind="residents")
    assert job.status == ImportStatus.SUCCEEDED, job.errors


def test_the_api_starts_a_job_and_reports_its_errors(
    places, people, django_capture_on_commit_callbacks
):
    client = APIClient()
    client.force_authenticate(people.community_admin_b)
    content = members_file([member_row(1, 所在网格=GRID_A)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports/members/",
            {"file": upload(content)},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job = client.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert job["status"] == "failed_validation" and job["error_count"] == 1
    assert job["errors"][0]["column"] == "所在网格"
    template = client.get("/api/v1/imports/members/template/")
    assert template.status_code == 200
    assert sheet_rows(response_bytes(template))[0][0] == "姓名*"


# ---------------------------------------------------------------------------------------------
# personal data stays out of jobs, reports and audit records


def test_no_plain_id_number_or_phone_in_a_failed_jobs_errors_or_audit(places, people, start):
    plain_id = number(11)
    plain_phone = "13955556666"
    rows = [
        member_row(11, 手机号码=plain_phone),
        member_row(12, 公民身份号码=plain_id),  # duplicate of row 2
        # typed into the wrong columns: the messages that repeat a cell must not repeat these
        member_row(13, 党员类别=plain_id, 性别=plain_phone, 所在网格=plain_id),
    ]
    job = start(people.community_admin, members_file(rows))
    assert job.status == ImportStatus.FAILED_VALIDATION
    stored = str(job.errors) + job.message
    report = job.error_report.open("rb").read()
    text = stored + str(sheet_rows(report))
    for value in (plain_id, plain_phone):
        assert value not in text
    assert "3503**********" in text  # the echoed cell, masked
    for record in AuditRecord.objects.all():
        for value in (plain_id, plain_phone):
            assert value not in str(record.changes) and value not in record.object_repr


def test_mask_personal_masks_id_numbers_and_phones_in_any_message():
    assert mask_personal("“350302196005171234”不是可选值") == "“3503**********1234”不是可选值"
    assert mask_personal("“13812345678”不是可选值") == "“138****5678”不是可选值"
    assert mask_personal("“0594-2345678”") == "“0594-***5678”"
    assert mask_personal("第 12 行，共 300 行") == "第 12 行，共 300 行"


def test_a_clean_import_audits_no_personal_data(places, people, start):
    rows = [member_row(n) for n in range(20)]
    job = start(people.community_admin, members_file(rows))
    assert job.status == ImportStatus.SUCCEEDED
    text = " ".join(str(r.changes) + r.object_repr for r in AuditRecord.objects.all())
    for n in range(20):
        assert number(n) not in text and f"139{n:08d}" not in text


# ---------------------------------------------------------------------------------------------
# residents with their households


def test_residents_fill_households_and_buildings_created_as_needed(places, people, start):
    building = Building.objects.create(node=places.grid_a, name="文献花园1号楼")
    existing = Household.objects.create(node=places.grid_a, building=building, door="101")
    rows = [
        # a new household in a new building: a head and two members
        resident_row(1, **{"门牌/房号": "501", "户别": "户籍户", "人口类别": "户籍人口"}),
        resident_row(2, **{"门牌/房号": "501", "与户主关系": "配偶"}),
        resident_row(3, **{"门牌/房号": "501", "与户主关系": "子女", "特殊人群": "困难学生"}),
        # the existing household 文献花园1号楼 101
        resident_row(4, 楼栋="文献花园1号楼", **{"门牌/房号": "101"}),
        # a bungalow without building
        resident_row(5, 楼栋="", **{"门牌/房号": "文献路18号", "特殊人群": "空巢独居老人、低保户"}),
        # not placed in a household yet, registered at the community
        resident_row(6, 楼栋="", 所在网格="镇海街道/文献社区", **{"门牌/房号": ""}),
    ]
    job = start(people.community_admin, residents_file(rows), kind="residents")
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.result == {"created": 6}

    residents = {
        r.person.name: r
        for r in Resident.objects.select_related("person", "household__building").filter(
            person__name__startswith="导入居民"
        )
    }
    new_home = residents["导入居民1"].household
    assert new_home.building.name == "文献花园2号楼" and new_home.door == "501"
    assert new_home.household_type == HouseholdType.REGISTERED and new_home.address == "文献花园"
    assert residents["导入居民2"].household == new_home
    assert residents["导入居民2"].relation == Relation.SPOUSE
    assert residents["导入居民1"].residence_type == ResidenceType.REGISTERED
    assert residents["导入居民2"].residence_type == ResidenceType.PERMANENT
    assert residents["导入居民4"].household == existing
    bungalow = residents["导入居民5"].household
    assert bungalow.building is None and bungalow.door == "文献路18号"
    assert residents["导入居民6"].household is None
    assert residents["导入居民6"].person.node == places.community_a
    groups = set(
        PersonGroup.objects.filter(person__name__startswith="导入居民").values_list(
            "person__name", "group"
        )
    )
    assert groups == {
        ("导入居民3", "student_hardship"),
        ("导入居民5", "elderly_alone"),
        ("导入居民5", "low_income"),
    }
    assert Building.objects.filter(node=places.grid_a, name="文献花园2号楼").count() == 1
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {
        "people.building.bulk_create",
        "people.household.bulk_create",
        "people.resident.bulk_create",
        "core.import.commit",
    } <= actions


def test_a_household_has_one_head(places, people, start):
    building = Building.objects.create(node=places.grid_a, name="文献花园1号楼")
    home = Household.objects.create(node=places.grid_a, building=building, door="101")
    make_resident(household=home, relation="head")
    rows = [
        resident_row(1, **{"门牌/房号": "601"}),
        resident_row(2, **{"门牌/房号": "601"}),  # a second head of 601
        resident_row(3, 楼栋="文献花园1号楼", **{"门牌/房号": "101"}),  # 101 has its head
    ]
    job = start(people.community_admin, residents_file(rows), kind="residents")
    assert job.status == ImportStatus.FAILED_VALIDATION
    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (3, "与户主关系", "文件中该户已有户主，每户只能有一名户主。"),
        (4, "与户主关系", "该户在系统中已有户主。"),
    ]
    assert not Household.objects.filter(door="601").exists()
    assert not Building.objects.filter(name="文献花园2号楼").exists()


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"楼栋": "1号楼", "门牌/房号": ""}, "门牌/房号", "请同时填写门牌/房号"),
        ({"所在网格": "镇海街道/文献社区"}, "所在网格", "所在网格应为网格"),
        ({"与户主关系": "邻居"}, "与户主关系", "不是可选值"),
        ({"人口类别": "外籍"}, "人口类别", "不是可选值"),
        ({"户别": "商户"}, "户别", "不是可选值"),
        ({"特殊人群": "独居"}, "特殊人群", "人群类别“独居”不正确。"),
        ({"入住日期": "昨天"}, "入住日期", "不是有效的日期"),
        ({"公民身份号码": "350302196002300011"}, "公民身份号码", "校验码不正确"),
        ({"所在网格": GRID_B}, "所在网格", "找不到"),
    ],
)
def test_each_resident_rule(places, people, start, overrides, column, message):
    rows = [resident_row(1), resident_row(2, **overrides)]
    job = start(people.community_admin, residents_file(rows), kind="residents")
    error = only_error(job)
    assert error["row"] == 3 and error["column"] == column, error
    assert message in error["message"], error
    assert not Resident.objects.filter(person__name__startswith="导入居民").exists()


def test_sensitive_groups_only_where_the_importer_serves(places, people, start):
    rows = [resident_row(1, 特殊人群="低保户"), resident_row(2, 特殊人群="空巢独居老人")]
    job = start(people.street_admin, residents_file(rows), kind="residents")
    error = only_error(job)
    assert error["row"] == 2 and error["column"] == "特殊人群"
    assert error["message"] == "困难、残疾等敏感人群仅由服务社区标记。"
    job = start(people.grid_manager, residents_file(rows), kind="residents")
    assert job.status == ImportStatus.SUCCEEDED, job.errors


def test_a_registered_member_becomes_a_resident_and_moves_to_the_household(places, people, start):
    member = make_member(places.community_a, id_number=number(1, dt.date(1982, 6, 1)))
    job = start(people.community_admin, residents_file([resident_row(1)]), kind="residents")
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    person = Person.objects.get(pk=member.person_id)
    assert person.resident.household.door == "101" and person.node == places.grid_a
    assert person.version == 2
    # …but a resident already registered is refused
    job = start(
        people.community_admin,
        residents_file([resident_row(1, **{"门牌/房号": "", "楼栋": ""})]),
        kind="residents",
    )
    error = only_error(job)
    assert error["column"] == "公民身份号码"
    assert error["message"] in {
        "该人员已登记为居民。",
        "该身份证号已登记为居民，或已在您管辖范围以外登记。",
    }


def test_residents_template_round_trips(places, people, start):
    from tongxin.core.imports import template_bytes

    template = template_bytes(ResidentImporter(people.grid_manager))
    assert [h.rstrip("*") for h in sheet_rows(template)[0]] == RESIDENT_HEADERS
    job = start(people.grid_manager, add_rows(template, [resident_row(1)]), kind="residents")
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.result == {"created": 1}


# ---------------------------------------------------------------------------------------------
# households alone


def test_households_with_their_buildings(places, people, start):
    Building.objects.create(node=places.grid_a, name="文献花园3号楼")
    rows = [
        household_row(1),
        household_row(2, 户别="空置户"),
        household_row(3, 楼栋="文献花园4号楼"),
        household_row(4, 楼栋="", **{"门牌/房号": "文献路20号"}),
    ]
    job = start(people.grid_manager, households_file(rows), kind="households")
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.result == {"created": 4}
    assert Household.objects.filter(building__name="文献花园3号楼").count() == 2
    assert Household.objects.get(door="202").household_type == HouseholdType.VACANT
    assert Building.objects.get(name="文献花园4号楼").node == places.grid_a
    assert Household.objects.get(door="文献路20号").building is None


def test_household_duplicates_within_the_file_and_against_the_database(places, people, start):
    building = Building.objects.create(node=places.grid_a, name="文献花园3号楼")
    Household.objects.create(node=places.grid_a, building=building, door="102")
    rows = [household_row(1), household_row(2), household_row(3, **{"门牌/房号": "202"})]
    job = start(people.grid_manager, households_file(rows), kind="households")
    assert [(e["row"], e["message"]) for e in job.errors] == [
        (2, "该住户已登记（同一网格、楼栋的门牌/房号已存在）。"),
        (4, "与第 3 行重复。"),
    ]
    assert Household.objects.count() == 1


def test_households_go_to_grids_in_scope_only(places, people, start):
    job = start(
        people.community_admin,
        households_file([household_row(1, 所在网格="文献社区")]),
        kind="households",
    )
    assert only_error(job)["message"] == "住户应登记在网格。"
    job = start(
        people.community_admin_b,
        households_file([household_row(1)]),
        kind="households",
    )
    assert "找不到" in only_error(job)["message"]


# ---------------------------------------------------------------------------------------------
# the bulk services the imports commit through


def test_bulk_create_looks_ids_up_in_chunks(places, people, django_assert_max_num_queries):
    rows = []
    for n in range(1200):
        person, membership = services.clean_member_row(
            {
                "name": f"批量{n}",
                "id_number": number(n),
                "category": "registered",
                "joined_on": dt.date(2000, 1, 1),
            }
        )
        rows.append({**person, **membership, "node": places.grid_a})
    # Constant in the number of rows: permission, places, ID chunks of 500, batches of 1,000.
    with django_assert_max_num_queries(30):
        members = services.members_bulk_create(actor=people.community_admin, rows=rows)
    assert len(members) == 1200 and members[-1].pk and members[-1].person.pk
    with pytest.raises(ValidationError) as caught:
        services.members_bulk_create(actor=people.community_admin, rows=rows[:2])
    assert caught.value.message_dict["id_number"] == [
        "第 1 行：该人员已登记为党员。",
        "第 2 行：该人员已登记为党员。",
    ]


def test_the_import_buttons_are_on_the_list_pages(places, people, client):
    client.force_login(people.community_admin)
    page = client.get(reverse("people:member_list")).content.decode()
    assert reverse("core:import_upload", args=["members"]) in page
    assert reverse("core:import_template", args=["members"]) in page
    page = client.get(reverse("people:resident_list")).content.decode()
    assert reverse("core:import_upload", args=["residents"]) in page
    page = client.get(reverse("people:household_list")).content.decode()
    assert reverse("core:import_upload", args=["households"]) in page
    client.force_login(people.grid_manager)
    page = client.get(reverse("people:member_list")).content.decode()
    assert reverse("core:import_upload", args=["members"]) not in page
    assert HouseholdImporter.kind == "households"


def test_the_province_codes_are_stdnums():
    """The constant the ID check uses is the province list of python-stdnum's database."""
    from stdnum import numdb

    from tongxin.people.validation import PROVINCE_CODES

    database = numdb.get("cn/loc")
    provinces = {
        f"{n:02d}"
        for n in range(100)
        if any("province" in props for _part, props in database.info(f"{n:02d}"))
    }
    assert provinces == PROVINCE_CODES


def _queries_to_import(importer, content: bytes) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tongxin.core import imports

    sheet = imports.read_sheet(__import__("io").BytesIO(content))
    with CaptureQueriesContext(connection) as captured:
        outcome = imports.validate(importer, sheet, progress_every=10**6)
        assert not outcome.issues, outcome.issues[:3]
        imports.commit(importer, outcome.rows, importer.actor)
    return len(captured)


def test_no_query_per_row(places, people):
    """Checking and committing cost the same number of queries for 30 rows as for 300."""
    building = Building.objects.create(node=places.grid_a, name="文献花园1号楼")
    for door in range(100, 400):
        Household.objects.create(node=places.grid_a, building=building, door=str(door))

    def members(first: int, count: int) -> bytes:
        return members_file([member_row(n) for n in range(first, first + count)])

    def residents(first: int, count: int) -> bytes:
        rows = [
            resident_row(n, 楼栋="文献花园1号楼", **{"门牌/房号": str(100 + n % 300)})
            for n in range(first, first + count)
        ]
        for row in rows:
            row[RESIDENT_HEADERS.index("与户主关系")] = "其他"
        return residents_file(rows)

    from tongxin.core.scoping import grants

    grants(people.community_admin), grants(people.grid_manager)  # the per-user cache, filled
    few = _queries_to_import(MemberImporter(people.community_admin), members(0, 30))
    many = _queries_to_import(MemberImporter(people.community_admin), members(1000, 300))
    assert many == few
    few = _queries_to_import(ResidentImporter(people.grid_manager), residents(2000, 30))
    many = _queries_to_import(ResidentImporter(people.grid_manager), residents(3000, 300))
    assert many == few

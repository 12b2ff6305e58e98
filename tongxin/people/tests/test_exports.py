"""Exports of the people lists: the list's rows (same scope, same filters), personal data masked,
sensitive groups only for the serving community, every export audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tongxin.core.models import AuditRecord
from tongxin.core.tests.xlsx_helpers import response_bytes, sheet_rows
from tongxin.people import services
from tongxin.people.tests.factories import id_number

pytestmark = pytest.mark.django_db


def export(client, user, name: str, query: str = "") -> list[tuple]:
    client.force_login(user)
    url = reverse(f"people:{name}") + (f"?{query}" if query else "")
    response = client.post(url)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    return sheet_rows(response_bytes(response))


def column(rows: list[tuple], header: str) -> list[Any]:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


def everything(rows: list[tuple]) -> str:
    return " ".join(str(cell) for row in rows for cell in row if cell is not None)


def assert_no_plain_values(text: str, plain: dict[str, str]) -> None:
    for name, value in plain.items():
        digits = value.replace("-", "")
        assert value not in text and digits not in text, f"{name} leaked into the export"


# ---------------------------------------------------------------------------------------------
# members


def test_member_export_is_masked_scoped_and_audited(places, people, roster, client):
    rows = export(client, people.community_admin, "member_export")

    assert rows[0][:8] == (
        "姓名",
        "性别",
        "民族",
        "出生年月",
        "公民身份号码",
        "手机号码",
        "住址",
        "所在网格",
    )
    assert sorted(column(rows, "姓名")) == sorted(["郭景国", "林志明"])  # not 东梅社区's 陈东梅
    member_a = roster.member_a.person
    by_name = dict(zip(column(rows, "姓名"), rows[1:], strict=True))
    row = dict(zip(rows[0], by_name["郭景国"], strict=True))
    assert row["公民身份号码"] == member_a.id_number_masked
    assert row["公民身份号码"].startswith("3503") and "*" in row["公民身份号码"]
    assert row["手机号码"] == "139****1234"
    assert row["出生年月"] == "1958-03"  # year and month only
    assert row["所在网格"] == "镇海街道/文献社区/文献一网格"
    assert row["党员类别"] == "离退休党员" and row["管理方式"] == "托管"
    assert "月收入（税后）" not in rows[0]  # income is for dues collectors, not lists
    assert_no_plain_values(everything(rows), roster.plain)

    record = AuditRecord.objects.get(action="people.partymember.export")
    assert record.actor_id == people.community_admin.pk
    assert record.changes == {"rows": 2, "filters": {}}


def test_member_export_follows_the_lists_filters(places, people, roster, client):
    rows = export(client, people.street_admin, "member_export", "category=in_service")
    assert column(rows, "姓名") == ["林志明"]
    assert column(rows, "工作单位") == ["文献供电所"]
    record = AuditRecord.objects.get(action="people.partymember.export")
    assert record.changes == {"rows": 1, "filters": {"category": "in_service"}}

    rows = export(client, people.street_admin, "member_export", f"node={places.community_b.pk}")
    assert column(rows, "姓名") == ["陈东梅"]
    latest = AuditRecord.objects.filter(action="people.partymember.export").order_by("-id")[0]
    assert latest.changes["filters"] == {"node": places.community_b.pk}


def test_sensitive_groups_only_in_the_serving_communitys_export(places, people, roster, client):
    rows = export(client, people.community_admin, "resident_export")
    groups = dict(zip(column(rows, "姓名"), column(rows, "特殊人群"), strict=True))
    assert set(groups["吴秀英"].split("、")) == {"低保户", "空巢独居老人"}

    rows = export(client, people.street_admin, "resident_export")
    groups = dict(zip(column(rows, "姓名"), column(rows, "特殊人群"), strict=True))
    assert groups["吴秀英"] == "空巢独居老人"  # low income is the community's business
    assert groups["黄东梅"] in ("", None)  # hardship, in another community
    assert "低保户" not in everything(rows) and "困难户" not in everything(rows)


def test_exports_are_for_staff_roles(places, people, roster, client):
    client.force_login(people.member)
    assert client.post(reverse("people:member_export")).status_code == 403
    client.force_login(people.resident)
    assert client.post(reverse("people:resident_export")).status_code == 403
    assert client.get(reverse("people:member_export")).status_code in (403, 405)
    assert not AuditRecord.objects.filter(action__endswith=".export").exists()


def test_a_list_longer_than_the_limit_is_refused_with_a_message(
    places, people, roster, client, settings
):
    settings.EXPORT_MAX_ROWS = 1
    client.force_login(people.community_admin)
    response = client.post(reverse("people:member_export") + "?status=normal", follow=True)
    assert response.redirect_chain[-1][0] == reverse("people:member_list") + "?status=normal"
    assert "超过单次导出上限" in response.content.decode()
    assert not AuditRecord.objects.filter(action="people.partymember.export").exists()


# ---------------------------------------------------------------------------------------------
# residents, households, buildings


def test_resident_export_has_the_household_and_is_masked(places, people, roster, client):
    rows = export(client, people.grid_manager, "resident_export")
    assert column(rows, "姓名") == ["吴秀英"]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["楼栋"] == "文献花园1号楼" and row["门牌/房号"] == "101"
    assert row["与户主关系"] == "户主" and row["党员"] == "否"
    assert row["手机号码"] == "0594-***1234"
    assert_no_plain_values(everything(rows), roster.plain)
    assert AuditRecord.objects.get(action="people.resident.export").changes["rows"] == 1


def test_household_and_building_exports(places, people, roster, client):
    rows = export(client, people.community_admin, "household_export")
    assert rows[0][:3] == ("所在网格", "楼栋", "门牌/房号")
    assert column(rows, "户主") == ["吴秀英"] and column(rows, "在住人数") == [1]
    rows = export(client, people.community_admin, "household_export", "q=不存在")
    assert rows[1:] == []
    record = AuditRecord.objects.filter(action="people.household.export").order_by("-id")[0]
    assert record.changes == {"rows": 0, "filters": {"q": "不存在"}}

    rows = export(client, people.community_admin, "building_export")
    assert column(rows, "楼栋名称") == ["文献花园1号楼"] and column(rows, "住户数") == [1]
    rows = export(client, people.community_admin_b, "building_export")
    assert rows[1:] == []  # 文献社区's building is not 东梅社区's


# ---------------------------------------------------------------------------------------------
# dues and reporting


def test_dues_exports(places, people, roster, client):
    month = timezone.localdate().replace(day=1)
    services.dues_generate(actor=None, month=month, node=places.community_a)
    services.dues_generate(actor=None, month=month, node=places.community_b)
    rows = export(client, people.community_admin, "dues_export", f"month={month:%Y-%m}")
    assert sorted(column(rows, "姓名")) == ["林志明", "郭景国"]
    assert set(column(rows, "月份")) == {f"{month:%Y-%m}"}
    record = AuditRecord.objects.get(action="people.duesledger.export")
    assert record.changes["rows"] == 2
    assert record.changes["filters"] == {"month": f"{month:%Y-%m}"}

    rows = export(client, people.community_admin, "dues_summary_export", f"month={month:%Y-%m}")
    assert rows[0][:3] == ("党支部", "党员数", "应交")
    assert column(rows, "党员数") == [2]
    assert AuditRecord.objects.get(action="people.duessummary.export").changes["rows"] == 1


def test_reporting_export_lists_who_has_and_has_not_reported(places, people, roster, client):
    other = services.member_create(
        actor=None,
        node=places.grid_a,
        data={
            "name": "郑未报",
            "id_number": id_number(dt.date(1985, 5, 5), 57),
            "category": "in_service",
            "joined_on": dt.date(2010, 7, 1),
            "unit": places.unit_a,
        },
    )
    services.registration_create(actor=None, member=roster.in_service_a)
    rows = export(client, people.community_admin, "reporting_export")
    state = dict(zip(column(rows, "姓名"), column(rows, "报到情况"), strict=True))
    assert state == {"林志明": "已报到", other.person.name: "未报到"}
    assert AuditRecord.objects.get(action="people.registration.export").changes["rows"] == 2

    # The unit's liaison exports the unit's in-service members.
    rows = export(client, people.unit_liaison, "reporting_export", f"unit={places.unit_a.pk}")
    assert set(column(rows, "姓名")) == {"林志明", "郑未报"}
    client.force_login(people.unit_liaison)
    assert client.post(reverse("people:reporting_export")).status_code == 404
    assert (
        client.post(reverse("people:reporting_export") + f"?unit={places.unit_b.pk}").status_code
        == 404
    )


# ---------------------------------------------------------------------------------------------
# API


def test_api_exports_follow_the_list_parameters(places, people, roster):
    client = APIClient()
    client.force_authenticate(people.street_admin)
    response = client.get("/api/v1/members/export/", {"category": "retired"})
    assert response.status_code == 200
    rows = sheet_rows(response_bytes(response))
    assert column(rows, "姓名") == ["郭景国"]
    assert_no_plain_values(everything(rows), roster.plain)
    record = AuditRecord.objects.get(action="people.partymember.export")
    assert record.changes == {"rows": 1, "filters": {"category": "retired"}}

    for path in ("residents", "households", "buildings", "dues"):
        assert client.get(f"/api/v1/{path}/export/").status_code == 200, path

    client.force_authenticate(people.member)
    assert client.get("/api/v1/members/export/").status_code == 403

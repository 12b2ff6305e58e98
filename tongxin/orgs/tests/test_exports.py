"""Exports of the organization network's lists: the rows the list shows, masked, audited."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from tongxin.core.models import AuditRecord
from tongxin.core.tests.xlsx_helpers import response_bytes, sheet_rows
from tongxin.orgs.models import PartyStatus, UnitType
from tongxin.orgs.tests.factories import (
    CommitteeMemberFactory,
    ContactPointFactory,
    ContactProjectFactory,
    InstructorFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def export(client: Client, name: str, **query) -> list[tuple]:
    url = reverse(name)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    response = client.post(url)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    return sheet_rows(response_bytes(response))


def column(rows: list[tuple], header: str) -> list:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


# ---------------------------------------------------------------------------------------------
# resident units


def test_unit_export_is_scoped_to_what_the_user_sees(places, people):
    rows = export(login(people.community_admin), "orgs:unit_export")
    assert column(rows, "单位名称") == ["文献供电所"]
    rows = export(login(people.street_admin), "orgs:unit_export")
    assert sorted(column(rows, "单位名称")) == ["东梅科技有限公司", "文献供电所"]
    rows = export(login(people.unit_liaison), "orgs:unit_export")
    assert column(rows, "单位名称") == ["文献供电所"]


def test_unit_export_applies_the_lists_filters(places, people):
    UnitFactory(node=places.grid_a, name="文献网格物业", unit_type=UnitType.PROPERTY)
    UnitFactory(
        node=places.grid_a,
        name="已注销的物业",
        unit_type=UnitType.PROPERTY,
        closed_at=timezone.now(),
    )
    client = login(people.street_admin)
    rows = export(client, "orgs:unit_export", unit_type="property")
    assert column(rows, "单位名称") == ["文献网格物业"]
    rows = export(client, "orgs:unit_export", unit_type="property", closed="on")
    assert sorted(column(rows, "单位名称")) == ["已注销的物业", "文献网格物业"]
    assert isinstance(column(rows, "注销时间")[0], dt.datetime)  # a date, not text
    rows = export(client, "orgs:unit_export", node=places.community_b.pk)
    assert column(rows, "单位名称") == ["东梅科技有限公司"]
    rows = export(client, "orgs:unit_export", q="供电")
    assert column(rows, "单位名称") == ["文献供电所"]
    rows = export(client, "orgs:unit_export", party_status="own")
    assert column(rows, "单位名称") == ["文献供电所"]


def test_unit_export_masks_phones_and_writes_places_as_the_import_reads_them(places, people):
    UnitFactory(
        node=places.grid_a,
        name="有电话的单位",
        contact_name="林晓",
        contact_phone="13812345678",
        party_status=PartyStatus.OWN,
        party_org_name="某党支部",
    )
    UnitFactory(node=places.grid_a, name="有座机的单位", contact_phone="0594-2345678")
    InstructorFactory(unit=places.unit_a, instructor_name="陈指导")
    rows = export(login(people.community_admin), "orgs:unit_export")
    by_name = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_name["有电话的单位"]["联系电话"] == "138****5678"
    assert by_name["有座机的单位"]["联系电话"] == "0594-***5678"
    assert by_name["有电话的单位"]["所在社区/网格"] == "镇海街道/文献社区/文献一网格"
    assert by_name["有电话的单位"]["党组织覆盖"] == "单独组建"
    assert by_name["有电话的单位"]["单位类型"] == "非公有制企业"
    assert by_name["文献供电所"]["党建指导员"] == "陈指导"
    assert rows[0][:3] == ("单位名称", "单位类型", "所在社区/网格")


def test_unit_export_neutralises_formulas(places, people):
    evil = '=HYPERLINK("http://evil.example/","点我")'
    UnitFactory(node=places.grid_a, name=evil, address="+1+1", contact_name="@SUM(A1)")
    client = login(people.community_admin)
    response = client.post(reverse("orgs:unit_export"))
    content = response_bytes(response)
    rows = sheet_rows(content)
    assert "'" + evil in column(rows, "单位名称")
    assert "'+1+1" in column(rows, "地址") and "'@SUM(A1)" in column(rows, "联系人")
    sheet = load_workbook(BytesIO(content)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b


def test_unit_export_is_audited_with_rows_and_filters(places, people):
    client = login(people.street_admin)
    response = client.post(reverse("orgs:unit_export") + f"?unit_type=soe&node={places.street.pk}")
    assert response.status_code == 200
    assert (
        "filename*=UTF-8''%E9%A9%BB%E5%8C%BA%E5%8D%95%E4%BD%8D-" in response["Content-Disposition"]
    )
    record = AuditRecord.objects.get(action="orgs.residentunit.export")
    assert record.actor_id == people.street_admin.pk
    assert record.object_type == "orgs.residentunit"
    assert record.changes == {"rows": 1, "filters": {"unit_type": "soe", "node": places.street.pk}}


def test_export_is_post_only_and_refuses_more_than_the_limit(places, people, settings):
    client = login(people.street_admin)
    assert client.get(reverse("orgs:unit_export")).status_code == 405
    settings.EXPORT_MAX_ROWS = 1
    response = client.post(reverse("orgs:unit_export") + "?q=", follow=True)
    assert "超过单次导出上限 1 条" in response.content.decode()
    assert not AuditRecord.objects.filter(action="orgs.residentunit.export").exists()


def test_unit_export_runs_a_fixed_number_of_queries(places, people):
    client = login(people.community_admin)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            client.post(reverse("orgs:unit_export"))
        return len(queries)

    UnitFactory.create_batch(5, node=places.grid_a)
    few = count()
    for unit in UnitFactory.create_batch(40, node=places.grid_a):
        InstructorFactory(unit=unit)
    assert count() == few


def test_the_unit_list_offers_the_export_with_its_filters(places, people):
    html = login(people.grid_manager).get(reverse("orgs:unit_list"), {"unit_type": "soe"})
    page = html.content.decode()
    assert f'action="{reverse("orgs:unit_export")}?unit_type=soe"' in page


# ---------------------------------------------------------------------------------------------
# nodes


def test_node_export_of_children_search_and_whole_scope(places, people):
    client = login(people.street_admin)
    url = reverse("orgs:node_export")
    rows = sheet_rows(response_bytes(client.post(f"{url}?node={places.street.pk}")))
    assert column(rows, "名称") == ["文献社区", "东梅社区"]
    assert column(rows, "属地党组织") == ["文献社区党组织", "东梅社区党组织"]
    assert column(rows, "完整路径") == ["镇海街道/文献社区", "镇海街道/东梅社区"]
    assert column(rows, "驻区单位数") == [1, 1]
    rows = sheet_rows(response_bytes(client.post(f"{url}?q=网格")))
    assert column(rows, "名称") == ["文献一网格", "文献一网格一组", "东梅一网格"]
    rows = sheet_rows(response_bytes(client.post(url)))
    assert column(rows, "名称")[0] == "镇海街道" and "拱辰社区" not in column(rows, "名称")
    assert AuditRecord.objects.filter(action="orgs.orgnode.export").count() == 3


def test_a_community_admins_node_export_has_no_sibling(places, people):
    client = login(people.community_admin)
    rows = sheet_rows(response_bytes(client.post(reverse("orgs:node_export"))))
    assert column(rows, "名称") == ["文献社区", "文献一网格", "文献一网格一组"]
    response = client.post(reverse("orgs:node_export") + f"?node={places.community_b.pk}")
    assert response.status_code == 404


# ---------------------------------------------------------------------------------------------
# committees and contact points


def test_committee_export_lists_members_of_the_bodies_shown(places, people):
    CommitteeMemberFactory(body=places.community_a, person_name="甲委员", unit=places.unit_a)
    CommitteeMemberFactory(
        body=places.community_b, person_name="乙委员", left_on=dt.date(2025, 1, 1)
    )
    CommitteeMemberFactory(body=places.community_c, person_name="丙委员")
    client = login(people.street_admin)
    rows = export(client, "orgs:committee_export")
    assert column(rows, "姓名") == ["甲委员", "乙委员"]
    assert column(rows, "状态") == ["在任", "已离任"]
    assert column(rows, "所在单位") == ["文献供电所", None]
    assert column(rows, "任期开始")[0].date() == dt.date(2024, 1, 1)  # a date cell
    rows = export(client, "orgs:committee_export", body=places.community_b.pk)
    assert column(rows, "姓名") == ["乙委员"]
    rows = export(login(people.community_admin), "orgs:committee_export")
    assert column(rows, "姓名") == ["甲委员"]
    record = AuditRecord.objects.filter(action="orgs.committeemember.export").first()
    assert record.changes["rows"] == 1


def test_contact_export_is_for_managers_and_follows_the_search(places, people):
    point = ContactPointFactory(community=places.community_a, leader_name="王领导")
    ContactProjectFactory(contact_point=point, name="红色物业")
    ContactPointFactory(community=places.community_b, leader_name="李领导")
    client = login(people.street_admin)
    rows = export(client, "orgs:contact_export")
    assert column(rows, "联系领导") == ["王领导", "李领导"]
    assert column(rows, "领办项目")[0] == "红色物业（谋划中）"
    rows = export(client, "orgs:contact_export", q="红色")
    assert column(rows, "联系领导") == ["王领导"]
    assert login(people.grid_manager).post(reverse("orgs:contact_export")).status_code == 403


# ---------------------------------------------------------------------------------------------
# the API


def test_api_exports_follow_the_lists_filters_and_scope(places, people, settings):
    UnitFactory(node=places.grid_a, name="有电话的单位", contact_phone="13812345678")
    api = APIClient()
    api.force_authenticate(people.community_admin)
    response = api.get("/api/v1/units/export/", {"unit_type": "non_public"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = sheet_rows(response_bytes(response))
    assert column(rows, "单位名称") == ["有电话的单位"]
    assert column(rows, "联系电话") == ["138****5678"]
    record = AuditRecord.objects.get(action="orgs.residentunit.export")
    assert record.changes == {"rows": 1, "filters": {"unit_type": "non_public"}}

    rows = sheet_rows(response_bytes(api.get("/api/v1/orgs/export/")))
    assert "东梅社区" not in column(rows, "名称")
    CommitteeMemberFactory(body=places.community_a, person_name="甲委员")
    rows = sheet_rows(response_bytes(api.get("/api/v1/committee-members/export/")))
    assert column(rows, "姓名") == ["甲委员"]
    ContactPointFactory(community=places.community_a, leader_name="王领导")
    api.force_authenticate(people.street_admin)
    rows = sheet_rows(response_bytes(api.get("/api/v1/contact-points/export/")))
    assert column(rows, "联系领导") == ["王领导"]

    settings.EXPORT_MAX_ROWS = 0
    response = api.get("/api/v1/units/export/")
    assert response.status_code == 400
    assert "超过单次导出上限" in str(response.json())

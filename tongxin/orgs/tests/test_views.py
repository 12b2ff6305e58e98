"""Pages: what each role sees, which buttons appear, and the forms round-trip through services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from tongxin.orgs import services
from tongxin.orgs.models import NodeChangeKind, OrgCategory, OrgNode, PartyStatus
from tongxin.orgs.tests.factories import (
    CommitteeMemberFactory,
    ContactPointFactory,
    ContactProjectFactory,
    InstructorFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def page(client: Client, name: str, *args, **query) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


# ---------------------------------------------------------------------------------------------
# tree


def test_tree_shows_the_scope_with_first_level_children(places, people, browser):
    html = page(browser(people.street_admin), "orgs:tree")
    assert "镇海街道" in html and "文献社区" in html and "东梅社区" in html
    assert "拱辰" not in html
    assert "hx-get" in html  # deeper levels load lazily


def test_tree_children_partial_and_closed_toggle(places, people, browser):
    services.node_close(actor=people.street_admin, node=places.group_a, version=1, reason="x")
    client = browser(people.community_admin)
    html = page(client, "orgs:node_children", places.grid_a.pk)
    assert "文献一网格一组" not in html
    html = page(client, "orgs:node_children", places.grid_a.pk, closed="1")
    assert "文献一网格一组" in html and "tx-closed" in html
    assert client.get(reverse("orgs:node_children", args=[places.grid_b.pk])).status_code == 404


def test_tree_search_shows_the_ancestor_chain(places, people, browser):
    html = page(browser(people.street_admin), "orgs:tree", q="一组")
    assert "文献一网格一组" in html and "镇海街道</a> ›" in html


# ---------------------------------------------------------------------------------------------
# node detail and its buttons


def test_node_detail_sections(places, people, browser):
    services.party_org_create(
        actor=None,
        node=places.community_a,
        category=OrgCategory.TEMPORARY,
        name="旧改临时党支部",
        project="文献片区改造",
        starts_on=dt.date(2025, 5, 1),
        ends_on=dt.date(2026, 4, 30),
    )
    CommitteeMemberFactory(body=places.community_a, person_name="郑委员", unit=places.unit_a)
    ContactPointFactory(community=places.community_a, leader_name="陈领导")
    html = page(browser(people.community_admin), "orgs:node_detail", places.community_a.pk)
    for text in ("旧改临时党支部", "文献片区改造", "文献一网格", "文献供电所", "郑委员", "陈领导"):
        assert text in html, text
    assert 'data-testid="size-warning"' in html  # one member, the norm is 3–5
    assert "设立" in html and 'data-testid="node-history"' in html


def test_buttons_follow_the_rules(places, people, browser):
    html = page(browser(people.community_admin), "orgs:node_detail", places.community_a.pk)
    assert 'data-testid="btn-edit"' in html and 'data-testid="btn-add-child"' in html
    for absent in ("btn-rename", "btn-move", "btn-close", "btn-reopen"):
        assert f'data-testid="{absent}"' not in html
    html = page(browser(people.street_admin), "orgs:node_detail", places.community_a.pk)
    for present in ("btn-edit", "btn-add-child", "btn-rename", "btn-move", "btn-close"):
        assert f'data-testid="{present}"' in html
    html = page(browser(people.grid_manager), "orgs:node_detail", places.grid_a.pk)
    actions = html.split('data-testid="node-actions"')[1].split("</div>")[0]
    assert "btn-" not in actions


def test_closed_node_offers_reopen_only(places, people, browser):
    services.node_close(actor=people.street_admin, node=places.group_a, version=1, reason="拆除")
    html = page(browser(people.community_admin), "orgs:node_detail", places.group_a.pk)
    assert 'data-testid="btn-reopen"' in html and 'data-testid="btn-edit"' not in html
    assert "拆除" in html


def test_create_child_form(places, people, browser):
    client = browser(people.community_admin)
    url = reverse("orgs:node_create", args=[places.community_a.pk])
    assert 'value="branch" selected' in client.get(url).content.decode()
    response = client.post(
        url,
        {"name": "文献二网格", "party_org_name": "文献二网格党支部", "party_org_kind": "branch"},
    )
    node = OrgNode.objects.get(name="文献二网格")
    assert response.status_code == 302 and response.url == reverse(
        "orgs:node_detail", args=[node.pk]
    )
    assert node.party_orgs.get().name == "文献二网格党支部"
    response = client.post(url, {"name": "文献二网格"})
    assert response.status_code == 400 and "同一上级下已有同名组织" in response.content.decode()
    assert client.get(reverse("orgs:node_create", args=[places.group_a.pk])).status_code == 404


def test_edit_form_reports_a_stale_version(places, people, browser):
    client = browser(people.community_admin)
    url = reverse("orgs:node_edit", args=[places.community_a.pk])
    assert "文献社区党组织" in client.get(url).content.decode()
    form = {
        "version": 1,
        "code": "A1",
        "address": "文献路",
        "party_org_name": "文献社区党委",
        "party_org_kind": "committee",
    }
    assert client.post(url, form).status_code == 302
    places.community_a.refresh_from_db()
    assert places.community_a.code == "A1" and places.community_a.version == 2
    response = client.post(url, {**form, "code": "A2"})
    assert response.status_code == 409 and "已被他人修改" in response.content.decode()


def test_rename_move_close_reopen_pages(places, people, browser):
    client = browser(people.street_admin)
    grid = places.grid_a
    response = client.post(
        reverse("orgs:node_rename", args=[grid.pk]), {"version": 1, "name": "文献新网格"}
    )
    assert response.status_code == 302
    move_url = reverse("orgs:node_move", args=[grid.pk])
    assert "东梅社区" in client.get(move_url).content.decode()
    response = client.post(move_url, {"version": 2, "parent": places.community_b.pk})
    assert response.status_code == 302
    grid.refresh_from_db()
    assert grid.parent == places.community_b
    assert grid.changes.filter(kind=NodeChangeKind.MOVED).exists()
    response = client.post(
        reverse("orgs:node_close", args=[grid.pk]), {"version": 3, "reason": "撤并"}
    )
    assert response.status_code == 400 and "下级组织" in response.content.decode()
    close_group = reverse("orgs:node_close", args=[places.group_a.pk])
    assert client.post(close_group, {"version": 1, "reason": "拆除"}).status_code == 302
    reopen = reverse("orgs:node_reopen", args=[places.group_a.pk])
    assert client.post(reopen, {"version": 2}).status_code == 302


def test_forbidden_pages(places, people, browser):
    community = browser(people.community_admin)
    assert (
        community.get(reverse("orgs:node_rename", args=[places.community_a.pk])).status_code == 403
    )
    assert (
        community.get(reverse("orgs:node_close", args=[places.community_a.pk])).status_code == 403
    )
    assert community.get(reverse("orgs:node_edit", args=[places.community_b.pk])).status_code == 404
    grid = browser(people.grid_manager)
    assert grid.get(reverse("orgs:node_edit", args=[places.grid_a.pk])).status_code == 403


def test_party_org_pages(places, people, browser):
    client = browser(people.community_admin)
    url = reverse("orgs:party_org_create", args=[places.community_a.pk])
    response = client.post(url, {"category": "temporary", "name": "临时支部", "kind": "branch"})
    assert response.status_code == 400 and "依托的项目" in response.content.decode()
    response = client.post(
        url,
        {
            "category": "temporary",
            "name": "临时支部",
            "kind": "branch",
            "project": "文献片区改造",
            "starts_on": "2025-05-01",
            "ends_on": "2026-04-30",
        },
    )
    assert response.status_code == 302
    org = places.community_a.party_orgs.get(category="temporary")
    edit = reverse("orgs:party_org_edit", args=[org.pk])
    response = client.post(
        edit,
        {
            "version": 1,
            "name": "临时支部",
            "kind": "branch",
            "secretary": "林",
            "project": "文献片区改造",
            "starts_on": "2025-05-01",
            "ends_on": "2026-04-30",
        },
    )
    assert response.status_code == 302
    close = reverse("orgs:party_org_close", args=[org.pk])
    assert client.post(close, {"version": 2, "reason": "完工"}).status_code == 302
    org.refresh_from_db()
    assert org.secretary == "林" and org.closed_at is not None
    territorial = places.community_a.party_orgs.get(category="territorial")
    response = client.get(reverse("orgs:party_org_edit", args=[territorial.pk]))
    assert response.status_code == 302


# ---------------------------------------------------------------------------------------------
# units


def test_unit_list_filters_and_paginates(places, people, browser):
    for i in range(25):
        UnitFactory(node=places.grid_a, name=f"文献企业{i:02d}")
    client = browser(people.community_admin)
    html = page(client, "orgs:unit_list")
    assert "共 26 家" in html and "下一页" in html
    html = page(client, "orgs:unit_list", page="2")
    assert "文献企业24" in html
    html = page(client, "orgs:unit_list", unit_type="soe")
    assert "文献供电所" in html and "文献企业00" not in html
    html = page(client, "orgs:unit_list", q="企业07")
    assert "文献企业07" in html and "文献企业08" not in html
    html = page(client, "orgs:unit_list", node=str(places.grid_a.pk))
    assert "共 25 家" in html
    assert client.get(reverse("orgs:unit_list"), {"node": places.community_b.pk}).status_code == 404


def test_unit_list_page_runs_a_constant_number_of_queries(
    places, people, browser, django_assert_max_num_queries
):
    client = browser(people.street_admin)
    client.get(reverse("orgs:unit_list"))
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("orgs:unit_list"))
    for _ in range(20):
        InstructorFactory(unit=UnitFactory(node=places.grid_a))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("orgs:unit_list"))


def test_unit_detail_create_edit_close(places, people, browser):
    client = browser(people.community_admin)
    html = page(client, "orgs:unit_detail", places.unit_a.pk)
    assert 'data-testid="btn-edit"' in html and 'data-testid="btn-assign"' in html
    response = client.post(
        reverse("orgs:unit_create"),
        {
            "name": "文献新公司",
            "unit_type": "non_public",
            "node": places.grid_a.pk,
            "credit_code": "123",
            "employees": 10,
            "party_members": 1,
            "party_status": "none",
        },
    )
    assert response.status_code == 400 and "校验位" in response.content.decode()
    response = client.post(
        reverse("orgs:unit_create"),
        {
            "name": "文献新公司",
            "unit_type": "non_public",
            "node": places.grid_a.pk,
            "employees": 10,
            "party_members": 1,
            "party_status": "none",
        },
    )
    assert response.status_code == 302
    unit = places.grid_a.units.get(name="文献新公司")
    response = client.post(
        reverse("orgs:instructor_assign", args=[unit.pk]),
        {"instructor_name": "林指导", "starts_on": "2025-03-01"},
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.party_status == PartyStatus.INSTRUCTOR
    assignment = unit.instructors.get()
    response = client.post(
        reverse("orgs:instructor_end", args=[assignment.pk]), {"ends_on": "2025-12-31"}
    )
    assert response.status_code == 302
    response = client.post(reverse("orgs:unit_close", args=[unit.pk]), {"version": 3})
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.closed_at is not None and unit.party_status == PartyStatus.NONE


def test_liaison_gets_the_contact_form_only(places, people, browser):
    client = browser(people.unit_liaison)
    html = page(client, "orgs:unit_detail", places.unit_a.pk)
    assert "修改联系方式" in html and 'data-testid="btn-close"' not in html
    url = reverse("orgs:unit_edit", args=[places.unit_a.pk])
    html = client.get(url).content.decode()
    assert 'name="contact_phone"' in html and 'name="unit_type"' not in html
    response = client.post(url, {"version": 1, "contact_name": "郑", "contact_phone": "0594-1"})
    assert response.status_code == 302
    places.unit_a.refresh_from_db()
    assert places.unit_a.contact_phone == "0594-1"
    assert client.get(reverse("orgs:unit_create")).status_code == 403


def test_coverage_page(places, people, browser):
    UnitFactory(node=places.grid_a, party_status=PartyStatus.OWN, party_org_name="x")
    html = page(browser(people.street_admin), "orgs:coverage", node=str(places.street.pk))
    assert 'data-testid="org-rate">50%' in html
    assert "文献社区" in html and "东梅社区" in html
    html = page(browser(people.community_admin), "orgs:coverage")
    assert 'data-testid="org-rate">100%' in html


# ---------------------------------------------------------------------------------------------
# committees


def test_committee_pages(places, people, browser):
    CommitteeMemberFactory.create_batch(4, body=places.community_a)
    client = browser(people.street_admin)
    html = page(client, "orgs:committee_list")
    assert "文献社区" in html and "东梅社区" in html and "少于常规规模" in html
    html = page(client, "orgs:committee_list", warnings="1")
    assert "东梅社区" in html and "文献社区" not in html
    client = browser(people.community_admin)
    add = reverse("orgs:committee_member_add", args=[places.community_a.pk])
    response = client.post(
        add,
        {
            "person_name": "新委员",
            "duty": "联系单位",
            "term_start": "2025-01-01",
            "unit": places.unit_a.pk,
        },
    )
    assert response.status_code == 302
    html = page(client, "orgs:committee_detail", places.community_a.pk)
    assert "新委员" in html and "多于" not in html and "size-warning" not in html
    member = places.community_a.committee_members.get(person_name="新委员")
    edit = reverse("orgs:committee_member_edit", args=[member.pk])
    response = client.post(
        edit, {"version": 1, "person_name": "新委员", "duty": "新职责", "term_start": "2025-01-01"}
    )
    assert response.status_code == 302
    leave = reverse("orgs:committee_member_leave", args=[member.pk])
    assert client.post(leave, {"version": 2, "left_on": "2025-06-30"}).status_code == 302
    assert "已离任" in page(client, "orgs:committee_member_detail", member.pk)
    assert client.get(reverse("orgs:committee_detail", args=[places.grid_a.pk])).status_code == 404


# ---------------------------------------------------------------------------------------------
# contact points


def test_contact_pages(places, people, browser):
    client = browser(people.street_admin)
    response = client.post(
        reverse("orgs:contact_create"),
        {
            "community": places.community_a.pk,
            "leader_name": "陈领导",
            "leader_title": "区委副书记",
            "starts_on": "2025-01-01",
        },
    )
    assert response.status_code == 302
    point = places.community_a.contact_points.get()
    add = reverse("orgs:contact_project_add", args=[point.pk])
    assert client.post(add, {"name": "红色物业", "status": "planned"}).status_code == 302
    project = point.projects.get()
    edit = reverse("orgs:contact_project_edit", args=[project.pk])
    assert (
        client.post(edit, {"version": 1, "name": "红色物业", "status": "done"}).status_code == 302
    )
    html = page(client, "orgs:contact_detail", point.pk)
    assert "红色物业" in html and "已完成" in html and 'data-testid="btn-edit"' in html
    html = page(client, "orgs:contact_list", q="红色")
    assert "陈领导" in html
    # The community admin reads, without buttons; the grid manager is not let in at all.
    html = page(browser(people.community_admin), "orgs:contact_detail", point.pk)
    assert 'data-testid="btn-edit"' not in html
    assert browser(people.grid_manager).get(reverse("orgs:contact_list")).status_code == 403


def test_contact_list_constant_queries(places, people, browser, django_assert_max_num_queries):
    client = browser(people.district_admin)
    ContactProjectFactory(contact_point=ContactPointFactory(community=places.community_b))
    client.get(reverse("orgs:contact_list"))
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("orgs:contact_list"))
    for _ in range(15):
        ContactProjectFactory.create_batch(
            2, contact_point=ContactPointFactory(community=places.community_a)
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("orgs:contact_list"))


# ---------------------------------------------------------------------------------------------
# home page


def test_home_page_shows_the_summary(places, people, browser):
    UnitFactory(node=places.grid_a, party_status=PartyStatus.OWN, party_org_name="x")
    html = page(browser(people.community_admin), "core:home")
    assert 'data-testid="org-summary"' in html and 'data-testid="summary-org-rate">100%' in html
    html = page(browser(people.sys_admin), "core:home")
    assert 'data-testid="org-summary"' not in html

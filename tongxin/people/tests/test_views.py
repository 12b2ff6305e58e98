"""People pages: masked everywhere, reveal by POST with a reason, forms through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.core.models import AuditRecord
from tongxin.people.models import DuesLedger, PartyMember
from tongxin.people.tests.factories import id_number

pytestmark = pytest.mark.django_db

LIST_PAGES = [
    "people:member_list",
    "people:resident_list",
    "people:household_list",
    "people:building_list",
    "people:group_counts",
    "people:dues_ledger",
    "people:dues_summary",
    "people:reporting",
    "people:volunteer_list",
    "people:team_list",
]


def _detail_pages(roster) -> list[str]:
    return [
        reverse("people:member_detail", args=[roster.member_a.pk]),
        reverse("people:member_detail", args=[roster.in_service_a.pk]),
        reverse("people:resident_detail", args=[roster.resident_a.pk]),
        reverse("people:household_detail", args=[roster.household_a.pk]),
        reverse("people:building_detail", args=[roster.building_a.pk]),
        reverse("people:member_edit", args=[roster.member_a.pk]),
        reverse("people:resident_edit", args=[roster.resident_a.pk]),
    ]


def _assert_no_plain(html: str, roster) -> None:
    for name, value in roster.plain.items():
        assert value not in html, name


@pytest.mark.parametrize(
    "who", ["district_admin", "street_admin", "community_admin", "grid_manager"]
)
def test_every_page_is_masked_by_default(client, people, roster, who):
    client.force_login(getattr(people, who))
    for name in LIST_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert response["Cache-Control"] == "no-store"
        _assert_no_plain(response.content.decode(), roster)
    for url in _detail_pages(roster):
        response = client.get(url)
        if who == "grid_manager" and "edit" in url and "members" in url:
            assert response.status_code == 403
            continue
        assert response.status_code == 200, url
        _assert_no_plain(response.content.decode(), roster)


def test_member_card_shows_the_masked_values_and_the_mode(client, people, roster):
    client.force_login(people.community_admin)
    html = client.get(reverse("people:member_detail", args=[roster.member_a.pk])).content.decode()
    assert "139****1234" in html and roster.plain["member_a_id"][:4] + "**********" in html
    assert "离退休党员 · 托管" in html
    assert 'data-testid="reveal-form"' in html


def test_the_reveal_form_is_not_offered_to_a_grid_manager(client, people, roster):
    client.force_login(people.grid_manager)
    html = client.get(reverse("people:member_detail", args=[roster.member_a.pk])).content.decode()
    assert 'data-testid="reveal-form"' not in html


def test_reveal_by_htmx_swaps_in_the_plain_values_and_audits(client, people, roster):
    client.force_login(people.community_admin)
    url = reverse("people:person_reveal", args=[roster.member_a.person_id])
    response = client.post(url, {"reason": "办理转接"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert roster.plain["member_a_id"] in html and roster.plain["member_a_phone"] in html
    assert "<html" not in html  # a fragment
    assert response["Cache-Control"] == "no-store"
    assert AuditRecord.objects.get(action="people.person.reveal").changes["reason"] == "办理转接"


def test_reveal_without_htmx_and_without_a_reason(client, people, roster):
    client.force_login(people.community_admin)
    url = reverse("people:person_reveal", args=[roster.resident_a.person_id])
    assert client.post(url, {"reason": ""}).status_code == 400
    assert not AuditRecord.objects.filter(action="people.person.reveal").exists()
    response = client.post(url, {"reason": "入户慰问"})
    assert (
        response.status_code == 200
        and roster.plain["resident_a_phone"] in response.content.decode()
    )
    assert client.get(url).status_code == 405


@pytest.mark.parametrize(("who", "status"), [("grid_manager", 403), ("community_admin_b", 404)])
def test_reveal_refused(client, people, roster, who, status):
    client.force_login(getattr(people, who))
    response = client.post(
        reverse("people:person_reveal", args=[roster.member_a.person_id]), {"reason": "看看"}
    )
    assert response.status_code == status
    assert roster.plain["member_a_id"] not in response.content.decode()


def test_sensitive_groups_on_pages(client, people, roster):
    client.force_login(people.grid_manager)
    html = client.get(
        reverse("people:resident_detail", args=[roster.resident_a.pk])
    ).content.decode()
    assert 'data-group="low_income"' in html
    client.force_login(people.street_admin)
    html = client.get(
        reverse("people:resident_detail", args=[roster.resident_a.pk])
    ).content.decode()
    assert 'data-group="low_income"' not in html and 'data-group="elderly_alone"' in html
    html = client.get(reverse("people:resident_list") + "?group=low_income").content.decode()
    assert "吴秀英" not in html
    counts = client.get(reverse("people:group_counts")).content.decode()
    assert "文献社区" in counts and "东梅社区" in counts


def test_register_a_member_through_the_page(client, people, places):
    client.force_login(people.community_admin)
    url = reverse("people:member_create")
    bad = client.post(
        url,
        {
            "node": places.grid_a.pk,
            "name": "李",
            "id_number": "123",
            "category": "registered",
            "joined_on": "2000-07-01",
            "membership_type": "full",
        },
    )
    assert bad.status_code == 400 and "身份证号应为18位。" in bad.content.decode()
    number = id_number(dt.date(1975, 4, 4), 417)
    response = client.post(
        url,
        {
            "node": places.grid_a.pk,
            "name": "李国强",
            "id_number": number,
            "phone": "13900001111",
            "category": "registered",
            "joined_on": "2000-07-01",
            "membership_type": "full",
            "monthly_income": "4800",
        },
    )
    member = PartyMember.objects.get(person__name="李国强")
    assert response.status_code == 302 and response["Location"] == reverse(
        "people:member_detail", args=[member.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert number not in page and "139****1111" in page


def test_editing_keeps_protected_values_when_left_blank(client, people, roster):
    client.force_login(people.community_admin)
    member = roster.member_a
    url = reverse("people:member_edit", args=[member.pk])
    form_html = client.get(url).content.decode()
    assert roster.plain["member_a_id"] not in form_html and "139****1234" in form_html
    response = client.post(
        url,
        {
            "version": member.version,
            "name": "郭景国",
            "ethnicity": "汉族",
            "address": "文献路 20 号",
            "node": member.person.node_id,
            "category": "retired",
            "joined_on": "1988-07-01",
            "monthly_income": "4300",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.person.address == "文献路 20 号" and member.person.phone_masked == "139****1234"
    assert member.person.id_number.reveal() == roster.plain["member_a_id"]


def test_dues_pages_generate_pay_on_behalf_and_override(client, people, places, roster):
    client.force_login(people.community_admin)
    month = timezone.localdate().replace(day=1)
    response = client.post(
        reverse("people:dues_generate"),
        {"month": month.strftime("%Y-%m"), "node": places.community_a.pk},
    )
    assert response.status_code == 302
    ledger = DuesLedger.objects.get(member=roster.member_a)
    client.force_login(people.grid_manager)
    form = client.get(reverse("people:dues_pay", args=[ledger.pk])).content.decode()
    assert "网格员上门代收" in form
    response = client.post(
        reverse("people:dues_pay", args=[ledger.pk]), {"method": "cash", "on_behalf": "on"}
    )
    assert response.status_code == 302
    ledger.refresh_from_db()
    assert ledger.is_paid and ledger.payments.get().collected_by == people.grid_manager
    assert client.get(reverse("people:dues_override", args=[ledger.pk])).status_code == 403
    client.force_login(people.community_admin)
    other = DuesLedger.objects.get(member=roster.in_service_a)
    response = client.post(
        reverse("people:dues_override", args=[other.pk]),
        {"version": 1, "amount": "60", "reason": ""},
    )
    assert response.status_code == 200  # the form comes back: the reason is required
    response = client.post(
        reverse("people:dues_override", args=[other.pk]),
        {"version": 1, "amount": "60", "reason": "自愿多交"},
    )
    assert response.status_code == 302
    summary = client.get(reverse("people:dues_summary") + f"?month={month:%Y-%m}").content.decode()
    assert "文献一网格" in summary


def test_a_member_sees_their_own_card_and_dues_only(client, people, roster):
    client.force_login(people.member)
    assert client.get(reverse("people:member_detail", args=[roster.member_a.pk])).status_code == 200
    assert (
        client.get(reverse("people:member_detail", args=[roster.in_service_a.pk])).status_code
        == 404
    )
    html = client.get(reverse("people:member_list")).content.decode()
    assert "郭景国" in html and "林志明" not in html
    assert client.get(reverse("people:household_list")).status_code == 403
    assert client.get(reverse("people:member_create")).status_code == 403


def test_a_unit_liaison_sees_the_unit_report_only(client, people, places, roster):
    from tongxin.people import services

    services.registration_create(actor=None, member=roster.in_service_a)
    client.force_login(people.unit_liaison)
    assert client.get(reverse("people:member_list")).status_code == 403
    html = client.get(reverse("people:unit_reporting", args=[places.unit_a.pk])).content.decode()
    assert "林志明" in html and "已报到" in html
    assert client.get(reverse("people:unit_reporting", args=[places.unit_b.pk])).status_code == 404


def test_phone_cards_are_on_the_list_pages(client, people, roster):
    client.force_login(people.community_admin)
    assert (
        'data-testid="member-cards"' in client.get(reverse("people:member_list")).content.decode()
    )
    assert (
        'data-testid="resident-cards"'
        in client.get(reverse("people:resident_list")).content.decode()
    )


def test_household_and_building_forms(client, people, places, roster):
    client.force_login(people.grid_manager)
    response = client.post(
        reverse("people:building_create"), {"node": places.grid_a.pk, "name": "5号楼", "floors": 6}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("people:household_create"),
        {"node": places.grid_a.pk, "door": "501", "household_type": "resident"},
    )
    assert response.status_code == 302
    household_url = response["Location"]
    household_id = int(household_url.rstrip("/").split("/")[-1])
    response = client.post(
        reverse("people:resident_create") + f"?household={household_id}",
        {
            "name": "方美玲",
            "household": household_id,
            "relation": "head",
            "residence_type": "permanent",
            "groups": ["disabled"],
        },
    )
    assert response.status_code == 302
    assert "方美玲" in client.get(household_url).content.decode()


def test_in_service_reporting_pages(client, people, places, roster):
    client.force_login(people.community_admin)
    response = client.post(reverse("people:service_posts"), {"name": "关爱老人"})
    assert response.status_code == 302
    response = client.post(
        reverse("people:registration_create", args=[roster.in_service_a.pk]),
        {"registered_on": str(timezone.localdate())},
    )
    assert response.status_code == 302
    detail = response["Location"]
    pk = int(detail.rstrip("/").split("/")[-1])
    response = client.post(
        reverse("people:service_record_add", args=[pk]),
        {"served_on": str(timezone.localdate()), "hours": "2", "description": "探望老人"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("people:registration_rate", args=[pk]),
        {"year": timezone.localdate().year, "rating": "qualified"},
    )
    assert response.status_code == 302
    html = client.get(reverse("people:reporting")).content.decode()
    assert "林志明" in html and "文献社区" in html


def test_junk_parameters_never_cause_a_500(client, people, roster):
    client.force_login(people.community_admin)
    junk = (
        "?community=abc&node=x&branch=%00&page=-1&month=2026-99&team=zz&household=1.5&building=a&q="
        + "长" * 80
    )
    for name in [
        *LIST_PAGES,
        "people:member_create",
        "people:resident_create",
        "people:household_create",
        "people:service_posts",
    ]:
        response = client.get(reverse(name) + junk)
        assert response.status_code in (200, 400, 404), (name, response.status_code)

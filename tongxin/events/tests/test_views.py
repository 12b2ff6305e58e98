"""The pages: phone report with photo and GPS fields, my events, detail with only the user's
buttons, one-tap moves, the whistle form, the department inbox, measures, configuration."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tongxin.events.models import Action, Category, Department, DepartmentStaff, Event, State
from tongxin.events.tests.conftest import A_LAT, A_LNG, report
from tongxin.events.tests.test_photos import jpeg
from tongxin.events.tests.test_workflow import at_level, bring

pytestmark = pytest.mark.django_db


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(world, **extra):
    data = {
        "category": world.category.pk,
        "description": "小区门口占道经营",
        "priority": "low",
        "source": "patrol",
        "lng": A_LNG,
        "lat": A_LAT,
        "address": "文献路 8 号",
        "idempotency_key": "a" * 32,
    }
    data.update(extra)
    return data


def test_the_report_form_is_made_for_phones(world):
    html = page(world.people.grid_manager).get(reverse("events:report")).content.decode()
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    assert 'id="locate-btn"' in html and "navigator.geolocation" in html
    assert 'name="idempotency_key"' in html
    assert 'hx-get="/events/report/similar/"' in html
    assert 'name="reporter_name"' in html  # staff may file for someone without an account


def test_residents_do_not_choose_the_source_or_file_for_others(world):
    html = page(world.people.resident).get(reverse("events:report")).content.decode()
    assert 'name="reporter_name"' not in html
    assert 'type="hidden" name="source" value="resident"' in html


def test_reporting_from_the_page_with_a_photo(world):
    client = page(world.people.grid_manager)
    response = client.post(reverse("events:report"), {**form_data(world), "photos": [jpeg()]})
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/events/{event.pk}/"
    assert event.photos.count() == 1 and event.source == "patrol"
    # a double tap, or a retry after a lost answer, sends the same form again
    again = client.post(reverse("events:report"), {**form_data(world), "photos": [jpeg()]})
    assert again["Location"] == f"/events/{event.pk}/" and Event.objects.count() == 1


def test_report_errors_show_on_the_form(world):
    response = page(world.people.grid_manager).post(
        reverse("events:report"), form_data(world, lng="", lat="", address="")
    )
    assert response.status_code == 400
    assert "请提供事件位置" in response.content.decode()


def test_similar_partial(world):
    report(world)
    client = page(world.people.grid_manager)
    html = client.get(
        reverse("events:similar"),
        {"lng": A_LNG, "lat": A_LAT, "category": world.category.pk},
    ).content.decode()
    assert "附近已有同类事件" in html
    empty = client.get(reverse("events:similar"), {"lng": "x", "lat": "", "category": ""})
    assert empty.status_code == 200 and "附近" not in empty.content.decode()


def test_my_events_for_a_grid_manager(world):
    event = report(world)
    html = page(world.people.grid_manager).get(reverse("events:mine")).content.decode()
    assert f"#{event.pk}" in html and "剩余" in html


def test_detail_shows_only_the_users_buttons(world):
    event = report(world)
    grid_html = page(world.people.grid_manager).get(reverse("events:detail", args=[event.pk]))
    html = grid_html.content.decode()
    for action in ("accept", "escalate", "return", "reject", "merge"):
        assert f'data-testid="move-{action}"' in html
    assert 'data-testid="move-whistle"' not in html
    resident_html = page(world.people.resident).get(reverse("events:detail", args=[event.pk]))
    assert 'data-testid="moves"' not in resident_html.content.decode()
    admin_html = page(world.people.community_admin).get(reverse("events:detail", args=[event.pk]))
    assert 'data-testid="moves"' not in admin_html.content.decode()
    assert "文献路路灯不亮" in admin_html.content.decode()


def test_one_tap_accept_then_resolve(world):
    event = report(world)
    client = page(world.people.grid_manager)
    url = reverse("events:move", args=[event.pk, "accept"])
    response = client.post(url, {"version": event.version})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.state == State.ACCEPTED
    # the same tap again (a stale page) is refused with the reason
    again = client.post(url, {"version": 1}, follow=True)
    assert "已被他人处理" in again.content.decode()


def test_an_illegal_tap_explains_itself(world):
    event = report(world)
    response = page(world.people.grid_manager).post(
        reverse("events:move", args=[event.pk, "rate"]), {"score": 5}, follow=True
    )
    assert "不能执行「评价」" in response.content.decode()


def test_the_whistle_form_lists_stationed_departments(world):
    event = at_level(world, "street")
    client = page(world.people.street_admin)
    url = reverse("events:move", args=[event.pk, "whistle"])
    html = client.get(url).content.decode()
    assert world.city.name in html and world.market.name in html
    empty = client.post(url, {"from": "form", "version": event.version})
    assert empty.status_code == 400
    done = client.post(
        url,
        {
            "from": "form",
            "departments": [world.city.pk],
            "note": "请报到",
            "version": event.version,
        },
    )
    assert done.status_code == 302
    event.refresh_from_db()
    assert event.state == State.WHISTLED


def test_the_department_acknowledges_and_handles_from_its_inbox(world):
    event = at_level(world, "street")
    page(world.people.street_admin).post(
        reverse("events:move", args=[event.pk, "whistle"]),
        {"from": "form", "departments": [world.city.pk], "note": "请报到"},
    )
    client = page(world.people.department)
    html = client.get(reverse("events:inbox")).content.decode()
    assert f"#{event.pk}" in html and "报到" in html
    client.post(
        reverse("events:move", args=[event.pk, "acknowledge"]), {"department": world.city.pk}
    )
    handle_url = reverse("events:move", args=[event.pk, "handle"])
    assert "处置结果" in client.get(handle_url).content.decode()
    client.post(handle_url, {"from": "form", "note": "已拆除违章搭建"})
    event.refresh_from_db()
    assert list(event.assignments.values_list("state", flat=True)) == ["handled"]
    detail = page(world.people.street_admin).get(reverse("events:detail", args=[event.pk]))
    assert 'data-testid="move-resolve"' in detail.content.decode()


def test_rating_from_the_page(world):
    event = bring(world, State.RESOLVED, "grid")
    client = page(world.people.resident)
    url = reverse("events:move", args=[event.pk, "rate"])
    assert "满意度" in client.get(url).content.decode()
    client.post(url, {"from": "form", "score": "5", "note": "很快就修好了"})
    event.refresh_from_db()
    assert (event.state, event.score) == (State.CLOSED, 5)


def test_merge_form_offers_nearby_open_events(world):
    original = report(world)
    duplicate = report(world, description="路灯又坏了")
    client = page(world.people.grid_manager)
    url = reverse("events:move", args=[duplicate.pk, "merge"])
    assert f"#{original.pk}" in client.get(url).content.decode()
    client.post(url, {"from": "form", "duplicate_of": original.pk, "note": "同一盏灯"})
    duplicate.refresh_from_db()
    assert duplicate.state == State.MERGED and duplicate.duplicate_of == original


def test_staff_list_filters_and_pages(world):
    report(world)
    client = page(world.people.street_admin)
    html = client.get(reverse("events:list")).content.decode()
    assert "共 1 件" in html
    html = client.get(reverse("events:list"), {"state": "closed"}).content.decode()
    assert "没有符合条件的事件" in html
    assert page(world.people.resident).get(reverse("events:list")).status_code == 403


def test_stats_page(world):
    bring(world, State.CLOSED, "grid")
    html = page(world.people.community_admin).get(reverse("events:stats")).content.decode()
    assert "按时办结率" in html and "100%" in html


def test_configuration_by_the_district(world):
    client = page(world.people.district_admin)
    assert "事件分类与办理时限" in client.get(reverse("events:config")).content.decode()
    created = client.post(
        reverse("events:config_category_new"),
        {
            "code": "city-lamps",
            "name": "路灯报修",
            "parent": world.category.parent_id,
            "sort": 5,
            "days_grid": 1,
            "days_community": 2,
            "days_street": 3,
            "days_department": 4,
            "is_active": "on",
        },
    )
    assert created.status_code == 302
    lamps = Category.objects.get(code="city-lamps")
    assert lamps.days_grid == 1 and lamps.parent_id == world.category.parent_id
    edit = reverse("events:config_category_edit", args=[lamps.pk])
    stale = client.post(
        edit,
        {
            "name": "路灯",
            "sort": 5,
            "days_grid": 2,
            "days_community": 2,
            "days_street": 3,
            "days_department": 4,
            "version": 99,
        },
    )
    assert stale.status_code == 400 and "已被他人修改" in stale.content.decode()
    department = client.post(reverse("events:config_department_new"), {"name": "区住建局"})
    assert department.status_code == 302
    housing = Department.objects.get(name="区住建局")
    url = reverse("events:config_department", args=[housing.pk])
    client.post(url, {"what": "station", "station-street": world.places.street.pk})
    client.post(url, {"what": "staff", "staff-user": world.people.department.pk})
    assert housing.stations.get().street == world.places.street
    assert DepartmentStaff.objects.filter(department=housing, user=world.people.department).exists()
    refused = client.post(url, {"what": "staff", "staff-user": world.people.grid_manager.pk})
    assert refused.status_code == 400
    assert page(world.people.street_admin).get(reverse("events:config")).status_code == 403


def test_navigation_entries(world):
    html = page(world.people.grid_manager).get(reverse("events:mine")).content.decode()
    assert 'href="/events/mine/"' in html and 'href="/events/"' in html
    html = page(world.people.department).get(reverse("events:inbox")).content.decode()
    assert 'href="/events/department/"' in html and 'href="/events/config/"' not in html
    html = page(world.people.district_admin).get(reverse("events:list")).content.decode()
    assert 'href="/events/config/"' in html


def test_moves_the_user_does_not_have_are_not_offered_as_forms(world):
    event = report(world)
    response = page(world.people.resident).get(reverse("events:move", args=[event.pk, "reject"]))
    assert response.status_code == 302


def test_an_unknown_action_is_404(world):
    event = report(world)
    client = page(world.people.grid_manager)
    assert client.get(reverse("events:move", args=[event.pk, "explode"])).status_code == 404
    assert Action.ACCEPT in Action.values


def test_list_pages_do_not_grow_with_the_page(world, django_assert_max_num_queries):
    for _ in range(2):
        report(world)
    client = page(world.people.street_admin)
    urls = [reverse("events:list"), reverse("events:mine")]
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(30) as few:
            client.get(url)
        counts[url] = len(few.captured_queries)
    for _ in range(15):
        report(world)
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            client.get(url)
    from tongxin.events import services

    def whistle() -> None:
        event = at_level(world, "street")
        services.event_transition(
            actor=world.people.street_admin, event=event, action="whistle", departments=[world.city]
        )

    whistle()
    dept = page(world.people.department)
    with django_assert_max_num_queries(30) as few:
        dept.get(reverse("events:inbox"))
    for _ in range(5):
        whistle()
    with django_assert_max_num_queries(len(few.captured_queries)):
        dept.get(reverse("events:inbox"))

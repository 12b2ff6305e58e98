"""The pages: each role reaches its pages, sibling communities stay apart, phone forms post once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongxin.outreach import services
from tongxin.outreach.models import Wish

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


PAGES = [
    "home",
    "wish_wall",
    "wish_mine",
    "order_list",
    "order_new",
    "activity_list",
    "hours_mine",
    "points",
]
MANAGER_PAGES = ["wish_manage", "activity_new", "hours_review", "point_new"]


@pytest.mark.parametrize("name", PAGES)
def test_resident_and_member_pages_render(world, name):
    for user in (world.people.resident, world.people.member):
        assert client_for(user).get(reverse(f"outreach:{name}")).status_code == 200


@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_manager_pages_render_for_admins_only(world, name):
    assert (
        client_for(world.people.community_admin).get(reverse(f"outreach:{name}")).status_code == 200
    )
    assert client_for(world.people.resident).get(reverse(f"outreach:{name}")).status_code == 403


def test_the_three_admins_have_no_outreach_pages(world):
    assert client_for(world.people.audit_admin).get(reverse("outreach:home")).status_code == 403


def test_posting_a_wish_from_the_page_once_per_key(world):
    client = client_for(world.people.resident)
    page = client.get(reverse("outreach:wish_new"))
    key = page.context["form"].initial["idempotency_key"]
    data = {"title": "一台助听器", "category": "health", "description": "", "idempotency_key": key}
    first = client.post(reverse("outreach:wish_new"), data)
    second = client.post(reverse("outreach:wish_new"), data)
    assert first.status_code == second.status_code == 302
    assert Wish.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_wish_pages_follow_the_workflow_and_scope(world):
    people = world.people
    wish = services.wish_post(actor=people.resident, title="一台助听器")
    detail = reverse("outreach:wish_detail", args=[wish.pk])
    assert client_for(people.community_admin_b).get(detail).status_code == 404
    admin = client_for(people.community_admin)
    assert 'data-testid="move-approve"' in admin.get(detail).content.decode()
    admin.post(reverse("outreach:wish_move", args=[wish.pk, "approve"]))
    member = client_for(people.member)
    assert "一台助听器" in member.get(reverse("outreach:wish_wall")).content.decode()
    member.post(reverse("outreach:wish_move", args=[wish.pk, "claim"]))
    member.post(reverse("outreach:wish_move", args=[wish.pk, "fulfil"]), {"evidence": "已经送到"})
    client_for(people.resident).post(reverse("outreach:wish_move", args=[wish.pk, "confirm"]))
    wish.refresh_from_db()
    assert wish.state == "confirmed"
    assert client_for(world.dm_member).get(detail).status_code == 404


def test_activity_page_shows_code_and_qr_to_organizers_only(world):
    people = world.people
    starts = timezone.now() - dt.timedelta(minutes=5)
    activity = services.activity_create(
        actor=people.community_admin,
        community=world.places.community_a,
        title="党员先锋日",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),
        capacity=5,
    )
    url = reverse("outreach:activity_detail", args=[activity.pk])
    organizer = client_for(people.community_admin).get(url).content.decode()
    assert activity.checkin_code in organizer and "<svg" in organizer
    member = client_for(people.member)
    assert activity.checkin_code not in member.get(url).content.decode()
    member.post(reverse("outreach:activity_sign_up", args=[activity.pk]))
    signup = activity.signups.get()
    member.post(
        reverse("outreach:signup_move", args=[signup.pk, "check_in"]),
        {"code": activity.checkin_code},
    )
    signup.refresh_from_db()
    assert signup.state == "checked_in"


def test_nearest_page_and_the_nav_group(world):
    services.service_point_create(
        actor=world.people.community_admin,
        name="文献便民服务站",
        kind="station",
        address="文献路9号",
        lng=119.006,
        lat=25.435,
        community=world.places.community_a,
    )
    page = client_for(world.people.resident).get(
        reverse("outreach:points") + "?lng=119.005&lat=25.435"
    )
    body = page.content.decode()
    assert "文献便民服务站" in body and "vendor/leaflet/leaflet.js" in body
    assert any(g["label"] == "服务群众" for g in page.context["nav_groups"])

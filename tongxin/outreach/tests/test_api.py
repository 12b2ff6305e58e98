"""The API: scoping against the sibling community (文献社区 vs 东梅社区), refusals as 409/403,
Idempotency-Key on phone submissions, and constant query counts on the list endpoints."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tongxin.outreach import services
from tongxin.outreach.models import ServiceOrder, Wish
from tongxin.outreach.tests.conftest import A_LAT, A_LNG

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def open_wish(world, title: str = "一台助听器", poster=None) -> Wish:
    wish = services.wish_post(actor=poster or world.people.resident, title=title)
    admin = world.people.community_admin if poster is None else world.people.community_admin_b
    return services.wish_transition(actor=admin, wish=wish, action="approve")


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_wish_journey_over_the_api(world):
    people = world.people
    response = api(people.resident).post(
        reverse("api-wishes"), {"title": "孩子的课外书", "category": "study"}, format="json"
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["moves"] == ["withdraw"]
    assert api(people.member).post(reverse("api-wish-claim", args=[pk])).status_code == 404
    vet = api(people.community_admin).post(
        reverse("api-wish-vet", args=[pk]), {"decision": "approve"}, format="json"
    )
    assert vet.json()["state"] == "open"
    claim = api(people.member).post(reverse("api-wish-claim", args=[pk]))
    assert claim.status_code == 200 and claim.json()["state"] == "claimed"
    again = api(people.unit_liaison).post(reverse("api-wish-claim", args=[pk]))
    assert again.status_code == 409 and "已被他人认领" in again.json()["detail"]
    fulfil = api(people.member).post(
        reverse("api-wish-fulfil", args=[pk]), {"evidence": "已送十本书"}, format="json"
    )
    assert fulfil.json()["state"] == "fulfilled"
    confirm = api(people.resident).post(reverse("api-wish-confirm", args=[pk]), {}, format="json")
    assert confirm.json()["state"] == "confirmed"
    stats = api(people.community_admin).get(reverse("api-wish-stats"))
    assert stats.json()[0]["confirmed"] == 1


def test_decline_without_a_reason_is_a_400_in_chinese(world):
    wish = services.wish_post(actor=world.people.resident, title="一台电视")
    response = api(world.people.community_admin).post(
        reverse("api-wish-vet", args=[wish.pk]), {"decision": "decline"}, format="json"
    )
    assert response.status_code == 400 and "原因" in response.json()["note"][0]


def test_the_wrong_actor_gets_403_and_an_illegal_move_409(world):
    pending = services.wish_post(actor=world.people.resident, title="一台电扇")
    assert (
        api(world.people.resident)
        .post(reverse("api-wish-vet", args=[pending.pk]), {"decision": "approve"}, format="json")
        .status_code
        == 403
    )
    wish = open_wish(world)
    response = api(world.people.community_admin).post(
        reverse("api-wish-vet", args=[wish.pk]), {"decision": "approve"}, format="json"
    )
    assert response.status_code == 409 and "待认领" in response.json()["detail"]


def test_sibling_community_scoping(world):
    people = world.people
    ours = open_wish(world)
    theirs = open_wish(world, "一副老花镜", poster=world.dm_resident)
    pending_theirs = services.wish_post(actor=world.dm_resident, title="一把轮椅")
    assert ids(api(people.member).get(reverse("api-wishes"))) == {ours.pk}
    assert ids(api(people.community_admin).get(reverse("api-wishes"))) == {ours.pk}
    assert ids(api(people.community_admin_b).get(reverse("api-wishes"))) == {
        theirs.pk,
        pending_theirs.pk,
    }
    assert ids(api(people.street_admin).get(reverse("api-wishes"))) == {
        ours.pk,
        theirs.pk,
        pending_theirs.pk,
    }
    assert ids(api(world.dm_resident).get(reverse("api-wishes") + "?wall=1")) == {theirs.pk}
    for url in ("api-wish-detail", "api-wish-claim"):
        method = "get" if url.endswith("detail") else "post"
        assert (
            getattr(api(people.member), method)(reverse(url, args=[theirs.pk])).status_code == 404
        )
    assert (
        api(people.community_admin)
        .post(
            reverse("api-wish-vet", args=[pending_theirs.pk]),
            {"decision": "approve"},
            format="json",
        )
        .status_code
        == 404
    )
    # the wall names nobody; the poster and the community see the name
    wall = api(world.dm_member).get(reverse("api-wish-detail", args=[theirs.pk])).json()
    assert wall["poster_name"] == "东***"
    own = api(world.dm_resident).get(reverse("api-wish-detail", args=[theirs.pk])).json()
    assert own["poster_name"] == "东梅居民"

    order = services.order_place(actor=people.resident, kind="errand", description="买米")
    assert ids(api(people.member).get(reverse("api-orders") + "?takeable=1")) == {order.pk}
    assert ids(api(world.dm_member).get(reverse("api-orders") + "?takeable=1")) == set()
    assert ids(api(people.community_admin_b).get(reverse("api-orders"))) == set()
    assert api(world.dm_member).post(reverse("api-order-take", args=[order.pk])).status_code == 404


def test_order_take_race_loser_and_rating_over_the_api(world):
    people = world.people
    order = services.order_place(actor=people.resident, kind="errand", description="买米")
    assert api(people.member).post(reverse("api-order-take", args=[order.pk])).status_code == 200
    from tongxin.outreach.tests.conftest import volunteer_user

    late = volunteer_user("late_volunteer", world.places.grid_a)
    response = api(late).post(reverse("api-order-take", args=[order.pk]))
    assert response.status_code == 409 and "已被接单" in response.json()["detail"]
    api(people.member).post(
        reverse("api-order-complete", args=[order.pk]), {"note": "已送达"}, format="json"
    )
    rated = api(people.resident).post(
        reverse("api-order-rate", args=[order.pk]), {"score": 5, "comment": "谢谢"}, format="json"
    )
    assert rated.json()["state"] == "rated" and rated.json()["score"] == 5


def test_on_behalf_order_over_the_api(world):
    response = api(world.people.community_admin).post(
        reverse("api-orders"),
        {"kind": "escort", "description": "陪同去医院复查", "recipient_person": world.elderly.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["on_behalf"] and response.json()["recipient_name"] == "林阿婆"
    refused = api(world.people.community_admin_b).post(
        reverse("api-orders"),
        {"kind": "escort", "description": "陪同", "recipient_person": world.elderly.pk},
        format="json",
    )
    assert refused.status_code == 400  # not a person the sibling community may choose


def test_phone_submissions_replay_with_an_idempotency_key(world):
    client = api(world.people.resident)
    headers = {"HTTP_IDEMPOTENCY_KEY": "wish-key-1"}
    first = client.post(reverse("api-wishes"), {"title": "一台收音机"}, format="json", **headers)
    second = client.post(reverse("api-wishes"), {"title": "一台收音机"}, format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true" and Wish.objects.count() == 1
    other = client.post(reverse("api-wishes"), {"title": "别的"}, format="json", **headers)
    assert other.status_code == 422
    order_headers = {"HTTP_IDEMPOTENCY_KEY": "order-key-1"}
    for _ in range(2):
        client.post(
            reverse("api-orders"),
            {"kind": "repair", "description": "修水龙头"},
            format="json",
            **order_headers,
        )
    assert ServiceOrder.objects.count() == 1


def test_activities_sign_up_check_in_and_hours_over_the_api(world):
    people = world.people
    starts = timezone.now() - dt.timedelta(minutes=30)
    created = api(people.community_admin).post(
        reverse("api-activities"),
        {
            "community": world.places.community_a.pk,
            "title": "治安巡逻",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + dt.timedelta(hours=2)).isoformat(),
            "capacity": 3,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk, code = created.json()["id"], created.json()["checkin_code"]
    listed = api(people.member).get(reverse("api-activities")).json()["results"]
    assert [a["checkin_code"] for a in listed] == [None]  # only organizers see the code
    assert api(world.dm_member).get(reverse("api-activity-detail", args=[pk])).status_code == 404
    assert api(people.member).post(reverse("api-activity-sign-up", args=[pk])).status_code == 201
    again = api(people.member).post(reverse("api-activity-sign-up", args=[pk]))
    assert again.status_code == 409 and "已报名" in again.json()["detail"]
    wrong = api(people.member).post(
        reverse("api-activity-check-in", args=[pk]), {"code": "ZZZZZZ"}, format="json"
    )
    assert wrong.status_code == 400
    ok = api(people.member).post(
        reverse("api-activity-check-in", args=[pk]), {"code": code}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["state"] == "checked_in"
    out = api(people.member).post(reverse("api-activity-check-out", args=[pk]), {}, format="json")
    assert out.status_code == 200 and out.json()["state"] == "completed"
    assert out.json()["hours"] is not None
    roster = api(people.community_admin).get(reverse("api-activity-signups", args=[pk])).json()
    assert [s["state"] for s in roster] == ["completed"]
    claim = api(people.member).post(
        reverse("api-hours-claims"),
        {"served_on": str(timezone.localdate()), "hours": "1.5", "description": "帮老人搬家"},
        format="json",
    )
    assert claim.status_code == 201, claim.content
    assert (
        api(people.community_admin_b)
        .post(
            reverse("api-hours-claim-review", args=[claim.json()["id"]]),
            {"approved": True},
            format="json",
        )
        .status_code
        == 404
    )
    reviewed = api(people.community_admin).post(
        reverse("api-hours-claim-review", args=[claim.json()["id"]]),
        {"approved": True},
        format="json",
    )
    assert reviewed.json()["state"] == "approved"
    hours = api(people.member).get(reverse("api-service-hours")).json()
    assert float(hours["claimed_hours"]) == 1.5 and hours["points"] >= 15


def test_nearest_service_points_endpoint(world):
    admin = world.people.community_admin
    for i, offset in enumerate((0.003, 0.001, 0.002)):
        services.service_point_create(
            actor=admin,
            name=f"服务点{i}",
            kind="station",
            address="文献路",
            lng=A_LNG + offset,
            lat=A_LAT,
            community=world.places.community_a,
        )
    response = api(world.people.resident).get(
        reverse("api-service-points-nearest") + f"?lng={A_LNG}&lat={A_LAT}&limit=2"
    )
    assert response.status_code == 200
    rows = response.json()
    assert [r["name"] for r in rows] == ["服务点1", "服务点2"]
    assert rows[0]["distance_m"] < rows[1]["distance_m"]
    assert (
        api(world.people.resident).get(reverse("api-service-points-nearest") + "?lng=x").status_code
        == 400
    )


def _count(client, url: str) -> int:
    client.get(url)  # the user's grants are cached on first use: measure a warm request
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "route",
    ["api-wishes", "api-orders", "api-activities", "api-hours-claims", "api-service-points"],
)
def test_list_endpoints_run_a_constant_number_of_queries(world, route):
    people = world.people
    admin = people.community_admin
    client = api(admin)

    def add(n: int) -> None:
        for i in range(n):
            wish = services.wish_post(actor=people.resident, title=f"心愿{i}")
            services.wish_transition(actor=admin, wish=wish, action="approve")
            services.order_place(actor=people.resident, kind="errand", description=f"代购{i}")
            starts = timezone.now() + dt.timedelta(days=1, hours=i)
            services.activity_create(
                actor=admin,
                community=world.places.community_a,
                title=f"活动{i}",
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=1),
                capacity=5,
            )
            services.hours_claim_log(
                actor=people.member, served_on=timezone.localdate(), hours=1, description=f"服务{i}"
            )
            services.service_point_create(
                actor=admin,
                name=f"点{i}",
                kind="station",
                address="文献路",
                lng=A_LNG,
                lat=A_LAT,
                community=world.places.community_a,
            )

    add(2)
    few = _count(client, reverse(route))
    add(8)
    many = _count(client, reverse(route))
    assert few == many, f"{route}: {few} queries for 2 rows, {many} for 10"

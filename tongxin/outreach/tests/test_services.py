"""Hours and points arithmetic, on-behalf orders and who hears of them, the nearest service
points, and wish counts per community and period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tongxin.notify.models import Notification
from tongxin.outreach import selectors, services
from tongxin.outreach.models import HoursEntry, HoursSource, ServicePoint, Signup
from tongxin.outreach.tests.conftest import (
    A_LAT,
    A_LNG,
    B_LAT,
    B_LNG,
    aware,
    draw,
    person_for,
    square,
    volunteer_user,
)
from tongxin.people.models import Registration, ServiceRecord, Volunteer

pytestmark = pytest.mark.django_db


# --- hours and points ---------------------------------------------------------------------------


class _Activity:
    def __init__(self, starts, ends, pph=10):
        self.starts_at, self.ends_at, self.points_per_hour = starts, ends, pph


@pytest.mark.parametrize(
    ("check_in", "check_out", "hours", "points"),
    [
        ((9, 0), (11, 30), "2.5", 25),  # the whole activity
        ((8, 0), (12, 0), "2.5", 25),  # early and late add nothing
        ((9, 40), (11, 30), "1.5", 15),  # 110 min → 1.5 h (whole half-hours, rounded down)
        ((9, 0), (9, 29), "0.0", 0),
        ((10, 0), (10, 30), "0.5", 5),
        ((11, 40), (12, 0), "0.0", 0),  # after the end: nothing, never negative
    ],
)
def test_credit_counts_the_overlap_in_half_hours(check_in, check_out, hours, points):
    activity = _Activity(aware(2026, 3, 27, 9, 0), aware(2026, 3, 27, 11, 30))
    credit = services.credit_for(
        activity, aware(2026, 3, 27, *check_in), aware(2026, 3, 27, *check_out)
    )
    assert credit.hours == Decimal(hours) and credit.points == points


def test_points_per_hour_rounds_down():
    activity = _Activity(aware(2026, 3, 27, 9, 0), aware(2026, 3, 27, 12, 0), pph=7)
    credit = services.credit_for(activity, aware(2026, 3, 27, 9, 0), aware(2026, 3, 27, 10, 30))
    assert credit == services.Credit(Decimal("1.5"), 10)  # 10.5 → 10


def test_check_in_with_the_code_and_check_out_credits_the_volunteer(world):
    people = world.people
    starts = timezone.now() - dt.timedelta(hours=3)
    activity = services.activity_create(
        actor=people.community_admin,
        community=world.places.community_a,
        title="助老助残",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=4),
        capacity=5,
        points_per_hour=12,
    )
    signup = services.activity_sign_up(actor=people.member, activity=activity, now=starts)
    with pytest.raises(ValidationError):
        services.signup_transition(actor=people.member, signup=signup, action="check_in", code="X")
    signup = services.signup_transition(
        actor=people.member,
        signup=signup,
        action="check_in",
        code=activity.checkin_code.lower(),
        now=starts + dt.timedelta(minutes=5),
    )
    signup = services.signup_transition(
        actor=people.member, signup=signup, action="check_out", now=starts + dt.timedelta(hours=2)
    )
    entry = HoursEntry.objects.get(signup=signup)
    assert (entry.hours, entry.points, entry.source) == (Decimal("1.5"), 18, HoursSource.ACTIVITY)
    world.member_volunteer.refresh_from_db()
    assert world.member_volunteer.service_hours == Decimal("1.5")


def test_check_in_is_refused_outside_its_window(world):
    people = world.people
    starts = timezone.now() + dt.timedelta(days=2)
    activity = services.activity_create(
        actor=people.community_admin,
        community=world.places.community_a,
        title="政策宣教",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        capacity=5,
    )
    signup = services.activity_sign_up(actor=people.member, activity=activity)
    with pytest.raises(services.ConflictError, match="签到时间"):
        services.signup_transition(
            actor=people.member, signup=signup, action="check_in", code=activity.checkin_code
        )


def test_cancelling_gives_the_place_back(world):
    people = world.people
    starts = timezone.now() + dt.timedelta(days=1)
    activity = services.activity_create(
        actor=people.community_admin,
        community=world.places.community_a,
        title="环境整治",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        capacity=1,
    )
    signup = services.activity_sign_up(actor=people.member, activity=activity)
    with pytest.raises(services.ConflictError, match="名额已满"):
        services.activity_sign_up(actor=people.resident, activity=activity)
    services.signup_transition(actor=people.member, signup=signup, action="cancel")
    activity.refresh_from_db()
    assert activity.signup_count == 0
    services.activity_sign_up(actor=people.resident, activity=activity)
    assert Signup.objects.filter(activity=activity).count() == 2
    with pytest.raises(PermissionDenied):
        services.activity_sign_up(actor=world.dm_resident, activity=activity)


def test_self_logged_hours_are_credited_when_approved_and_in_service_records_count(world):
    people = world.people
    claim = services.hours_claim_log(
        actor=people.member,
        served_on=timezone.localdate(),
        hours=Decimal("2.5"),
        description="陪独居老人就医",
    )
    with pytest.raises(ValidationError):
        services.hours_claim_log(
            actor=people.member,
            served_on=timezone.localdate(),
            hours=Decimal("0.3"),
            description="x" * 5,
        )
    services.hours_claim_transition(actor=people.community_admin, claim=claim, action="approve")
    from tongxin.people.models import Category, PartyMember

    member = PartyMember.objects.create(
        person=world.member_volunteer.person,
        category=Category.IN_SERVICE,
        joined_on=dt.date(2000, 7, 1),
    )
    registration = Registration.objects.create(
        member=member, community=world.places.community_a, registered_on=dt.date(2025, 1, 1)
    )
    ServiceRecord.objects.create(
        registration=registration,
        served_on=dt.date(2025, 3, 1),
        hours=Decimal("3.0"),
        description="义务服务周",
    )
    summary = selectors.hours_summary(people.member)
    assert summary.claimed_hours == Decimal("2.5")
    assert summary.in_service_hours == Decimal("3.0")
    assert summary.total_hours == Decimal("5.5")
    assert summary.points == 25
    assert Volunteer.objects.get(pk=world.member_volunteer.pk).service_hours == Decimal("2.5")


# --- orders ---------------------------------------------------------------------------------------


def test_matching_volunteers_of_the_community_hear_of_a_new_order(
    world, django_capture_on_commit_callbacks
):
    barber = volunteer_user("barber", world.places.grid_a, kinds=())
    Volunteer.objects.filter(person__user=barber).update(skills="理发、修剪")
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(actor=world.people.resident, kind="haircut", description="老人要理发")
    told = set(Notification.objects.values_list("recipient__username", flat=True))
    assert told == {"barber"}  # not the errand volunteer, not 东梅's volunteer
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(actor=world.people.resident, kind="errand", description="买米买油")
    told = set(Notification.objects.values_list("recipient__username", flat=True))
    assert "guo_member" in told and "dm_member" not in told


def test_the_community_orders_on_behalf_of_an_elderly_resident(world):
    people = world.people
    order = services.order_place(
        actor=people.community_admin,
        kind="errand",
        description="代购一周的菜",
        recipient_person=world.elderly,
    )
    assert order.on_behalf and order.placed_by == people.community_admin
    assert order.recipient_person == world.elderly and order.recipient_name == "林阿婆"
    assert order.recipient is None and order.address == world.elderly.address
    assert order.placing_org.name == "文献社区党组织"
    assert "代林阿婆下单" in order.transitions.get().note
    order = services.order_transition(actor=people.member, order=order, action="take")
    order = services.order_transition(actor=people.member, order=order, action="complete")
    with pytest.raises(PermissionDenied):
        services.order_transition(actor=people.resident, order=order, action="rate", score=5)
    order = services.order_transition(
        actor=people.community_admin, order=order, action="rate", score=4, note="老人很满意"
    )
    assert (order.score, order.rated_by) == (4, people.community_admin)


def test_on_behalf_is_refused_for_other_people_and_other_communities(world):
    ordinary = person_for(None, world.places.grid_a, "普通居民")
    with pytest.raises(ValidationError):
        services.order_place(
            actor=world.people.community_admin,
            kind="errand",
            description="代购",
            recipient_person=ordinary,
        )
    with pytest.raises(PermissionDenied):
        services.order_place(
            actor=world.people.community_admin_b,
            kind="errand",
            description="代购",
            recipient_person=world.elderly,
        )


def test_volunteers_cannot_take_their_own_order_nor_the_sibling_communitys(world):
    order = services.order_place(actor=world.people.member, kind="errand", description="买药")
    with pytest.raises(PermissionDenied):
        services.order_transition(actor=world.people.member, order=order, action="take")
    with pytest.raises(PermissionDenied):
        services.order_transition(actor=world.dm_member, order=order, action="take")
    with pytest.raises(ValidationError):
        services.order_transition(actor=world.people.member, order=order, action="rate", score=9)


# --- service points -------------------------------------------------------------------------------


def test_points_are_placed_in_their_grid_and_listed_nearest_first(world):
    p = world.places
    draw(p.grid_a, square(119.0, 25.43))
    draw(p.grid_b, square(119.0, 25.44))
    admin = world.people.community_admin
    far = services.service_point_create(
        actor=admin,
        name="文献党群服务中心",
        kind="party_center",
        address="文献路1号",
        lng=A_LNG + 0.004,
        lat=A_LAT,
    )
    near = services.service_point_create(
        actor=admin,
        name="文献便民服务站",
        kind="station",
        address="文献路9号",
        lng=A_LNG + 0.001,
        lat=A_LAT,
    )
    assert near.grid == p.grid_a and near.community == p.community_a
    with pytest.raises(PermissionDenied):  # a point in 东梅 is 东梅's to add
        services.service_point_create(
            actor=admin, name="东梅服务站", kind="station", address="东梅路", lng=B_LNG, lat=B_LAT
        )
    services.service_point_create(
        actor=world.people.community_admin_b,
        name="东梅服务站",
        kind="station",
        address="东梅路",
        lng=B_LNG,
        lat=B_LAT,
    )
    hits = selectors.nearest_points(world.people.resident, lng=A_LNG, lat=A_LAT, limit=10)
    assert [h.point.name for h in hits] == ["文献便民服务站", "文献党群服务中心", "东梅服务站"]
    assert 95 < hits[0].distance_m < 105  # 0.001° of longitude at 25.4°N ≈ 100 m
    assert hits[0].distance_m < hits[1].distance_m < hits[2].distance_m
    near_only = selectors.nearest_points(world.people.resident, lng=A_LNG, lat=A_LAT, radius_m=200)
    assert [h.point for h in near_only] == [near]
    services.service_point_set_active(actor=admin, point=far, active=False, version=far.version)
    assert far not in [
        h.point for h in selectors.nearest_points(world.people.resident, lng=A_LNG, lat=A_LAT)
    ]
    assert ServicePoint.objects.count() == 3


def test_a_point_outside_every_grid_needs_a_community(world):
    draw(world.places.grid_a, square(119.0, 25.43))
    admin = world.people.community_admin
    with pytest.raises(ValidationError):
        services.service_point_create(
            actor=admin, name="城外驿站", kind="other", address="郊外", lng=119.2, lat=25.6
        )
    point = services.service_point_create(
        actor=admin,
        name="城外驿站",
        kind="other",
        address="郊外",
        lng=119.2,
        lat=25.6,
        community=world.places.community_a,
    )
    assert point.grid is None and point.community == world.places.community_a


# --- counts ---------------------------------------------------------------------------------------


def test_wish_counts_per_community_and_period(world):
    people = world.people
    jan, feb = aware(2026, 1, 10, 9), aware(2026, 2, 10, 9)
    a = services.wish_post(actor=people.resident, title="一个书包", now=jan)
    services.wish_transition(actor=people.community_admin, wish=a, action="approve", now=jan)
    a.refresh_from_db()
    services.wish_transition(actor=people.member, wish=a, action="claim", now=feb)
    a.refresh_from_db()
    services.wish_transition(
        actor=people.member, wish=a, action="fulfil", evidence="送到了", now=feb
    )
    services.wish_post(actor=world.dm_resident, title="一副老花镜", now=jan)
    rows = selectors.wish_counts(
        people.street_admin, since=aware(2026, 1, 1), until=aware(2026, 2, 1)
    )
    assert {(r.community, r.posted, r.approved, r.claimed, r.fulfilled) for r in rows} == {
        ("文献社区", 1, 1, 0, 0),
        ("东梅社区", 1, 0, 0, 0),
    }
    rows = selectors.wish_counts(
        people.community_admin, since=aware(2026, 2, 1), until=aware(2026, 3, 1)
    )
    assert [(r.community, r.posted, r.claimed, r.fulfilled) for r in rows] == [
        ("文献社区", 0, 1, 1)
    ]

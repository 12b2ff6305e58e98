"""Each workflow's allowed and refused moves, walked over its one move table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tongxin.core.models import AuditRecord
from tongxin.outreach import services
from tongxin.outreach.models import (
    Activity,
    HoursClaim,
    HoursClaimAction,
    HoursClaimState,
    OrderAction,
    OrderState,
    ServiceOrder,
    Signup,
    SignupAction,
    SignupState,
    Wish,
    WishAction,
    WishState,
)
from tongxin.outreach.workflow import (
    HOURS_MOVES,
    HOURS_TABLE,
    ORDER_MOVES,
    ORDER_TABLE,
    SIGNUP_MOVES,
    SIGNUP_TABLE,
    WISH_MOVES,
    WISH_TABLE,
    Move,
    Who,
)

pytestmark = pytest.mark.django_db

CLAIMED_LIKE = {WishState.CLAIMED, WishState.FULFILLED, WishState.CONFIRMED}


def wish_in(world, state: str) -> Wish:
    people = world.people
    return Wish.objects.create(
        community=world.places.community_a,
        title="一台助听器",
        category="health",
        state=state,
        poster=people.resident,
        poster_name="吴秀英",
        claimed_by=people.member if state in CLAIMED_LIKE else None,
        created_at=timezone.now(),
    )


def order_in(world, state: str) -> ServiceOrder:
    people = world.people
    return ServiceOrder.objects.create(
        community=world.places.community_a,
        kind="errand",
        description="帮忙买米和油",
        state=state,
        placed_by=people.resident,
        recipient=people.resident,
        recipient_name="吴秀英",
        taken_by=people.member if state in {"taken", "done", "rated"} else None,
        created_at=timezone.now(),
    )


def activity(world, *, capacity: int = 10, starts: dt.datetime | None = None) -> Activity:
    starts = starts or timezone.now() - dt.timedelta(minutes=10)
    return services.activity_create(
        actor=world.people.community_admin,
        community=world.places.community_a,
        title="党员先锋日",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),
        capacity=capacity,
    )


def signup_in(world, state: str) -> Signup:
    act = activity(world)
    return Signup.objects.create(
        activity=act,
        user=world.people.member,
        name="郭党员",
        state=state,
        signed_up_at=timezone.now(),
        checked_in_at=timezone.now() if state in {"checked_in", "completed"} else None,
    )


def claim_in(world, state: str) -> HoursClaim:
    return HoursClaim.objects.create(
        community=world.places.community_a,
        user=world.people.member,
        name="郭党员",
        served_on=timezone.localdate(),
        hours=Decimal("2.0"),
        description="帮助孤寡老人打扫卫生",
        state=state,
        created_at=timezone.now(),
    )


def actor_for(world, who: Who) -> Any:
    people = world.people
    return {
        Who.POSTER: people.resident,
        Who.VETTER: people.community_admin,
        Who.CLAIMANT: people.member,
        Who.CLAIMER: people.member,
        Who.PLACER: people.resident,
        Who.RECIPIENT: people.resident,
        Who.VOLUNTEER: people.member,
        Who.TAKER: people.member,
        Who.MANAGER: people.community_admin,
        Who.SELF: people.member,
    }[who]


def _do(world, kind: str, obj: Any, action: str, actor: Any) -> Any:
    if kind == "wish":
        return services.wish_transition(
            actor=actor, wish=obj, action=action, note="原因说明", evidence="已送到老人家中"
        )
    if kind == "order":
        return services.order_transition(actor=actor, order=obj, action=action, note="好", score=5)
    if kind == "signup":
        return services.signup_transition(
            actor=actor, signup=obj, action=action, code=obj.activity.checkin_code
        )
    return services.hours_claim_transition(actor=actor, claim=obj, action=action, note="不符合")


MAKERS = {"wish": wish_in, "order": order_in, "signup": signup_in, "hours": claim_in}
ALL_MOVES = [
    *[("wish", m) for m in WISH_MOVES],
    *[("order", m) for m in ORDER_MOVES],
    *[("signup", m) for m in SIGNUP_MOVES],
    *[("hours", m) for m in HOURS_MOVES],
]


@pytest.mark.parametrize(
    ("kind", "move", "who"),
    [(k, m, w) for k, m in ALL_MOVES for w in sorted(m.who)],
    ids=lambda v: v.action if isinstance(v, Move) else str(v),
)
def test_every_move_in_the_table_is_allowed_to_its_actor(world, kind, move, who):
    obj = MAKERS[kind](world, move.source)
    moved = _do(world, kind, obj, move.action, actor_for(world, who))
    assert moved.state == move.target
    assert moved.version == obj.version + 1
    row = moved.transitions.last()
    assert (row.action, row.from_state, row.to_state) == (move.action, move.source, move.target)


STATES = {
    "wish": (WishState, WishAction, WISH_TABLE, {WishAction.POST}),
    "order": (OrderState, OrderAction, ORDER_TABLE, {OrderAction.PLACE}),
    "signup": (SignupState, SignupAction, SIGNUP_TABLE, {SignupAction.SIGN_UP}),
    "hours": (HoursClaimState, HoursClaimAction, HOURS_TABLE, {HoursClaimAction.LOG}),
}
REFUSED = [
    (kind, state, action)
    for kind, (states, actions, table, creating) in STATES.items()
    for state in states.values
    for action in actions.values
    if (state, action) not in table and action not in creating
]


@pytest.mark.parametrize(("kind", "state", "action"), REFUSED)
def test_every_move_not_in_the_table_is_refused_with_409(world, kind, state, action):
    obj = MAKERS[kind](world, state)
    for actor in {actor_for(world, w) for w in Who}:
        with pytest.raises(services.IllegalMove) as refused:
            _do(world, kind, obj, action, actor)
        assert refused.value.args[0]  # a Chinese reason
    obj.refresh_from_db()
    assert obj.state == state and obj.transitions.count() == 0


def test_the_wrong_actor_is_refused_and_the_refusal_audited(world):
    wish = wish_in(world, WishState.PENDING)
    with pytest.raises(PermissionDenied, match="社区管理员"):
        services.wish_transition(actor=world.people.resident, wish=wish, action=WishAction.APPROVE)
    assert AuditRecord.objects.filter(action="outreach.wish.approve", outcome="denied").exists()
    wish.refresh_from_db()
    assert wish.state == WishState.PENDING


def test_the_poster_cannot_claim_their_own_wish_nor_a_sibling_member(world):
    people = world.people
    people.resident.assignments.create(role="member", node=world.places.grid_a)
    wish = wish_in(world, WishState.OPEN)
    with pytest.raises(PermissionDenied):
        services.wish_transition(actor=people.resident, wish=wish, action=WishAction.CLAIM)
    with pytest.raises(PermissionDenied):
        services.wish_transition(actor=world.dm_member, wish=wish, action=WishAction.CLAIM)


def test_a_late_claim_is_told_the_wish_is_taken(world):
    wish = wish_in(world, WishState.CLAIMED)
    with pytest.raises(services.IllegalMove, match="已被他人认领"):
        services.wish_transition(actor=world.people.member, wish=wish, action=WishAction.CLAIM)


def test_a_stale_copy_loses_to_the_first_move(world):
    wish = wish_in(world, WishState.OPEN)
    stale = Wish.objects.get(pk=wish.pk)
    services.wish_transition(actor=world.people.member, wish=wish, action=WishAction.CLAIM)
    liaison = world.people.unit_liaison
    with pytest.raises(services.ConflictError, match="已被他人认领"):
        services.wish_transition(actor=liaison, wish=stale, action=WishAction.CLAIM)


def test_decline_and_dispute_need_a_reason(world):
    with pytest.raises(ValidationError):
        services.wish_transition(
            actor=world.people.community_admin,
            wish=wish_in(world, WishState.PENDING),
            action=WishAction.DECLINE,
        )
    with pytest.raises(ValidationError):
        services.wish_transition(
            actor=world.people.resident,
            wish=wish_in(world, WishState.FULFILLED),
            action=WishAction.DISPUTE,
        )


def test_the_whole_wish_journey(world):
    people = world.people
    wish = services.wish_post(actor=people.resident, title="孩子的课外书", category="study")
    assert wish.community == world.places.community_a and wish.state == WishState.PENDING
    wish = services.wish_transition(actor=people.community_admin, wish=wish, action="approve")
    wish = services.wish_transition(actor=people.unit_liaison, wish=wish, action="claim")
    assert wish.claimed_unit == world.places.unit_a and wish.claimant_name == "文献供电所"
    wish = services.wish_transition(
        actor=people.unit_liaison, wish=wish, action="fulfil", evidence="已送去十本书"
    )
    wish = services.wish_transition(actor=people.resident, wish=wish, action="dispute", note="少了")
    assert wish.state == WishState.CLAIMED and wish.fulfilled_at is None
    wish = services.wish_transition(
        actor=people.unit_liaison, wish=wish, action="fulfil", evidence="补齐了"
    )
    wish = services.wish_transition(actor=people.resident, wish=wish, action="confirm")
    assert wish.state == WishState.CONFIRMED
    assert [t.action for t in wish.transitions.all()] == [
        "post",
        "approve",
        "claim",
        "fulfil",
        "dispute",
        "fulfil",
        "confirm",
    ]


def test_history_rows_cannot_be_updated(world):
    from django.db import IntegrityError, transaction
    from django.db.utils import DatabaseError

    wish = services.wish_post(actor=world.people.resident, title="一把轮椅")
    row = wish.transitions.get()
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(note="改写")

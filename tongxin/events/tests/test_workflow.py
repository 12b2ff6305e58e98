"""The move table, move by move: every allowed move works for the actor the table names, at each
level it lists, writes its history row and audit record; every other action from each state is
refused with a Chinese reason (409 in the API), and the wrong person gets 403."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome, AuditRecord
from tongxin.events import services
from tongxin.events.models import (
    NEXT_LEVEL,
    Action,
    AssignmentState,
    Event,
    EventTransition,
    HandlingLevel,
    State,
)
from tongxin.events.services import IllegalMove
from tongxin.events.tests.conftest import World, report
from tongxin.events.workflow import MOVES, LevelChange, Move, Who

pytestmark = pytest.mark.django_db

G, C, S, D = (
    HandlingLevel.GRID,
    HandlingLevel.COMMUNITY,
    HandlingLevel.STREET,
    HandlingLevel.DEPARTMENT,
)


def handler(world: World, level: str) -> Any:
    p = world.people
    return {G: p.grid_manager, C: p.community_admin, S: p.street_admin, D: p.street_admin}[level]


def move(world: World, event: Event, action: str, actor: Any = "handler", **kwargs: Any) -> Event:
    if actor == "handler":
        actor = handler(world, event.level)
    if action in (Action.RETURN, Action.REJECT, Action.HANDLE) and "note" not in kwargs:
        kwargs["note"] = "需要说明"
    return services.event_transition(actor=actor, event=event, action=action, **kwargs)


def at_level(world: World, level: str) -> Event:
    """A freshly reported event that has been passed up to `level` (reported there)."""
    event = report(world)
    while event.level != level:
        if event.level == S:
            event = move(world, event, Action.WHISTLE, departments=[world.city])
        else:
            event = move(world, event, Action.ESCALATE)
    return event


def bring(world: World, state: str, level: str) -> Event:
    """An event in `state` at `level`, reached through the services only."""
    if state == State.WHISTLED:
        return at_level(world, D)
    event = at_level(world, level)
    if level == D and state in (State.RESOLVED, State.CLOSED):
        dept = world.people.department
        move(world, event, Action.ACKNOWLEDGE, actor=dept)
        move(world, event, Action.HANDLE, actor=dept, note="已修复")
        event = move(world, event, Action.RESOLVE)
        if state == State.CLOSED:
            event = move(world, event, Action.RATE, actor=world.people.resident, score=5)
        return event
    if state == State.REPORTED:
        return event
    if state == State.RETURNED:
        return move(world, event, Action.RETURN)
    if state == State.REJECTED:
        return move(world, event, Action.REJECT)
    if state == State.MERGED:
        return move(world, event, Action.MERGE, duplicate_of=report(world))
    event = move(world, event, Action.ACCEPT)
    if state == State.ACCEPTED:
        return event
    event = move(world, event, Action.RESOLVE)
    if state == State.RESOLVED:
        return event
    return move(world, event, Action.RATE, actor=world.people.resident, score=4)


def actor_for(world: World, who: Who, level: str) -> Any:
    if who == Who.HANDLER:
        return handler(world, level)
    if who == Who.REPORTER:
        return world.people.resident
    if who == Who.DEPARTMENT:
        return world.people.department
    return None


def extra_for(world: World, action: str, event: Event) -> dict[str, Any]:
    if action == Action.WHISTLE:
        return {"departments": [world.city, world.market]}
    if action == Action.MERGE:
        return {"duplicate_of": report(world, description="同一盏路灯不亮")}
    if action == Action.RATE:
        return {"score": 4, "note": "满意"}
    if action in (Action.RETURN, Action.REJECT, Action.HANDLE):
        return {"note": "说明原因"}
    return {}


CASES = [
    pytest.param(m, level, who, id=f"{m.source}-{m.action}-{level}-{who}")
    for m in MOVES
    for level in sorted(m.levels)
    for who in sorted(m.who)
]


@pytest.mark.parametrize(("m", "level", "who"), CASES)
def test_every_allowed_move(world, m: Move, level: str, who: Who):
    event = bring(world, m.source, level)
    if m.action == Action.HANDLE:
        move(world, event, Action.ACKNOWLEDGE, actor=world.people.department)
    if m.action == Action.RESOLVE and level == D:
        dept = world.people.department
        move(world, event, Action.ACKNOWLEDGE, actor=dept)
        move(world, event, Action.HANDLE, actor=dept, note="已处置")
    event.refresh_from_db()
    before = event.version
    actor = actor_for(world, who, level)

    moved = services.event_transition(
        actor=actor, event=event, action=m.action, **extra_for(world, m.action, event)
    )

    assert moved.state == m.target
    expected_level = {
        LevelChange.STAY: level,
        LevelChange.UP: NEXT_LEVEL[level],
        LevelChange.DEPARTMENT: D,
    }[m.level_change]
    assert moved.level == expected_level
    assert moved.version == before + 1
    row = EventTransition.objects.filter(event=moved).order_by("-id").first()
    assert (row.action, row.from_state, row.to_state) == (m.action, m.source, m.target)
    assert (row.from_level, row.to_level) == (level, expected_level)
    assert row.actor_id == (actor.pk if actor else None)
    assert row.actor_name == (str(actor) if actor else "系统")
    assert AuditRecord.objects.filter(
        action=f"events.{m.action}", object_id=str(moved.pk), outcome=AuditOutcome.SUCCESS
    ).exists()


STATES_AND_LEVELS = [
    (State.REPORTED, G),
    (State.ACCEPTED, C),
    (State.RETURNED, G),
    (State.WHISTLED, D),
    (State.RESOLVED, G),
    (State.CLOSED, G),
    (State.REJECTED, S),
    (State.MERGED, G),
]


@pytest.mark.parametrize(
    ("state", "level"), STATES_AND_LEVELS, ids=[s for s, _ in STATES_AND_LEVELS]
)
def test_actions_outside_the_table_are_refused_in_every_state(world, state, level):
    event = bring(world, state, level)
    legal = {m.action for m in MOVES if m.source == state}
    illegal = [a for a in Action.values if a not in legal and a != Action.REPORT]
    assert illegal, "every state refuses something"
    for action in illegal:
        with pytest.raises(IllegalMove) as refused:
            services.event_transition(
                actor=world.people.district_admin,
                event=event,
                action=action,
                note="试一下",
            )
        assert str(State(state).label) in str(refused.value)
        assert str(Action(action).label) in str(refused.value)
    event.refresh_from_db()
    assert event.state == state
    assert AuditRecord.objects.filter(
        object_id=str(event.pk), outcome=AuditOutcome.DENIED
    ).count() == len(illegal)


def test_a_move_at_the_wrong_level_names_the_level(world):
    event = at_level(world, S)
    with pytest.raises(IllegalMove, match="街道"):
        move(world, event, Action.ESCALATE)


@pytest.mark.parametrize(
    ("who", "action"),
    [
        ("resident", Action.ACCEPT),  # the reporter is not the handler
        ("community_admin_b", Action.ACCEPT),  # the sibling community
        ("community_admin", Action.ACCEPT),  # a level above: the grid handles it now
        ("department", Action.ACCEPT),
        ("district_admin", Action.REJECT),  # supervises, does not handle
    ],
)
def test_the_wrong_person_is_told_who_may(world, who, action):
    event = report(world)
    with pytest.raises(PermissionDenied, match="文献一网格的网格员"):
        services.event_transition(
            actor=getattr(world.people, who), event=event, action=action, note="原因"
        )
    event.refresh_from_db()
    assert event.state == State.REPORTED
    assert event.transitions.count() == 1


def test_only_the_reporter_rates(world):
    event = bring(world, State.RESOLVED, G)
    with pytest.raises(PermissionDenied, match="报告人"):
        move(world, event, Action.RATE, score=5)


def test_a_stale_version_is_a_conflict(world):
    event = report(world)
    stale = event.version
    move(world, event, Action.ACCEPT, version=stale)
    with pytest.raises(ConflictError, match="已被他人处理"):
        move(world, event, Action.RESOLVE, version=stale)


def test_first_level_and_deadline_follow_the_category(world):
    event = report(world)
    assert (event.level, event.handling_node, event.node) == (
        G,
        world.places.grid_a,
        world.places.grid_a,
    )
    assert event.deadline > event.created_at
    community = move(world, event, Action.ESCALATE)
    assert community.handling_node == world.places.community_a
    assert community.deadline > event.deadline or community.deadline >= event.deadline


def test_whistle_creates_one_assignment_per_department(world):
    event = at_level(world, S)
    moved = move(
        world, event, Action.WHISTLE, departments=[world.city, world.market], note="请联合处置"
    )
    rows = list(moved.assignments.order_by("department__name"))
    assert {a.department for a in rows} == {world.city, world.market}
    assert all(a.state == AssignmentState.WHISTLED and a.deadline for a in rows)
    transition = moved.transitions.order_by("-id").first()
    assert [d["name"] for d in transition.data["departments"]] == [
        world.city.name,
        world.market.name,
    ]


def test_whistle_needs_departments_stationed_at_the_street(world):
    from tongxin.events.models import Department

    elsewhere = Department.objects.create(name="拱辰派出所")
    event = at_level(world, S)
    with pytest.raises(ValidationError):
        move(world, event, Action.WHISTLE, departments=[])
    with pytest.raises(ValidationError, match="未派驻"):
        move(world, event, Action.WHISTLE, departments=[elsewhere])


def test_each_department_acknowledges_then_handles_before_the_street_resolves(world):
    event = at_level(world, S)
    event = move(world, event, Action.WHISTLE, departments=[world.city, world.market])
    city, market = world.people.department, world.market_staff
    with pytest.raises(IllegalMove, match="请先报到"):
        move(world, event, Action.HANDLE, actor=city, note="已处理")
    move(world, event, Action.ACKNOWLEDGE, actor=city)
    move(world, event, Action.HANDLE, actor=city, note="路灯已修")
    with pytest.raises(IllegalMove, match="市场监管局"):
        move(world, event, Action.RESOLVE)
    with pytest.raises(IllegalMove, match="没有需要本部门处理的派单"):
        move(world, event, Action.ACKNOWLEDGE, actor=city)
    with pytest.raises(PermissionDenied, match="职能部门"):  # a grid manager is no department
        move(world, event, Action.ACKNOWLEDGE, actor=world.people.grid_manager)
    move(world, event, Action.ACKNOWLEDGE, actor=market)
    move(world, event, Action.HANDLE, actor=market, note="已检查摊位")
    resolved = move(world, event, Action.RESOLVE, note="联合处置完毕")
    assert resolved.state == State.RESOLVED
    assert resolved.resolved_level == D


def test_merge_refuses_itself_and_finished_events(world):
    event = report(world)
    with pytest.raises(ValidationError, match="本身"):
        move(world, event, Action.MERGE, duplicate_of=event)
    finished = bring(world, State.CLOSED, G)
    with pytest.raises(ValidationError, match="已结束"):
        move(world, event, Action.MERGE, duplicate_of=finished)


def test_rate_needs_a_score_from_one_to_five(world):
    event = bring(world, State.RESOLVED, G)
    for bad in (None, 0, 6):
        with pytest.raises(ValidationError):
            move(world, event, Action.RATE, actor=world.people.resident, score=bad)
    closed = move(world, event, Action.RATE, actor=world.people.resident, score=3, note="一般")
    assert (closed.state, closed.score, closed.rating_comment) == (State.CLOSED, 3, "一般")


def test_return_and_reject_need_a_reason(world):
    event = report(world)
    for action in (Action.RETURN, Action.REJECT):
        with pytest.raises(ValidationError):
            services.event_transition(
                actor=world.people.grid_manager, event=event, action=action, note=""
            )


def test_resubmit_restarts_the_deadline(world):
    event = move(world, report(world), Action.RETURN, note="请补充具体位置")
    assert event.deadline is None
    back = move(world, event, Action.RESUBMIT, actor=world.people.resident, note="在 12 号门口")
    assert back.state == State.REPORTED and back.deadline is not None


def test_history_is_append_only(world):
    from django.db import DatabaseError, transaction

    row = report(world).transitions.get()
    row.note = "篡改"
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        EventTransition.objects.filter(pk=row.pk).update(note="篡改")


def test_notifications_go_out_after_commit(world, django_capture_on_commit_callbacks):
    from tongxin.notify.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        event = report(world)
    assert Notification.objects.filter(recipient=world.people.grid_manager).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        move(world, event, Action.ESCALATE)
    assert Notification.objects.filter(recipient=world.people.community_admin).count() == 1

"""The demo's events: a few hundred, every state, histories that follow the move table."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command

from tongxin.accounts.models import User
from tongxin.events.models import Event, EventTransition, State
from tongxin.events.rules import available_moves
from tongxin.events.selectors import get_event_for_user, visible_events
from tongxin.events.workflow import find_move

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", seed=2019)


@pytest.mark.usefixtures("seeded")
def test_demo_events_cover_every_state_and_follow_the_table():
    assert 250 <= Event.objects.count() <= 400
    assert set(Event.objects.values_list("state", flat=True)) == set(State.values)
    history: dict[int, list[EventTransition]] = {}
    for row in EventTransition.objects.order_by("event_id", "at", "id"):
        history.setdefault(row.event_id, []).append(row)
    for event in Event.objects.all():
        rows = history[event.pk]
        assert rows[0].action == "report" and rows[0].to_state == State.REPORTED
        for before, after in itertools.pairwise(rows):
            move = find_move(before.to_state, after.action)
            assert move is not None, (event.pk, before.to_state, after.action)
            assert after.from_state == before.to_state and after.to_state == move.target
            assert after.from_level in move.levels
        assert rows[-1].to_state == event.state and rows[-1].to_level == event.level
        if event.state == State.MERGED:
            assert event.duplicate_of_id


@pytest.mark.usefixtures("seeded")
def test_each_demo_account_finds_work():
    grid = User.objects.get(username="demo_grid")
    resident = User.objects.get(username="demo_resident")
    dept = User.objects.get(username="demo_dept")
    community_b = User.objects.get(username="demo_community_b")

    def actions_for(user):
        found = set()
        for pk in visible_events(user).values_list("pk", flat=True):
            event = get_event_for_user(user, pk)
            found |= {m.action for m in available_moves(user, event)}
        return found

    assert {"accept", "resolve"} <= actions_for(grid)
    assert {"rate", "resubmit"} <= actions_for(resident)
    assert {"acknowledge", "handle"} <= actions_for(dept)
    assert "resolve" in actions_for(User.objects.get(username="demo_street"))
    assert "accept" in actions_for(User.objects.get(username="demo_community"))
    mine = set(
        visible_events(User.objects.get(username="demo_community")).values_list("pk", flat=True)
    )
    theirs = set(visible_events(community_b).values_list("pk", flat=True))
    assert mine and theirs and not mine & theirs

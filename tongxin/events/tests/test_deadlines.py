"""The deadline job: overdue events go up one level by themselves, with a history row by the
system and a notice to the next level; the street and the departments, with nothing above them
in the table, are alerted once; resolved events nobody rated are closed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongxin.events import services
from tongxin.events.models import Action, HandlingLevel, State
from tongxin.events.services import events_enforce_deadlines
from tongxin.events.tasks import enforce_event_deadlines_job
from tongxin.events.tests.conftest import report
from tongxin.events.tests.test_workflow import at_level, bring, move
from tongxin.notify.models import Notification

pytestmark = pytest.mark.django_db


def later(event, days: int = 1) -> dt.datetime:
    return event.deadline + dt.timedelta(days=days)


def test_an_overdue_grid_event_goes_to_the_community(world, django_capture_on_commit_callbacks):
    event = report(world)
    with django_capture_on_commit_callbacks(execute=True):
        result = events_enforce_deadlines(now=later(event))
    assert result.escalated == 1
    event.refresh_from_db()
    assert (event.state, event.level) == (State.REPORTED, HandlingLevel.COMMUNITY)
    assert event.handling_node == world.places.community_a
    assert event.overdue is True
    assert event.deadline > later(event, 0) - dt.timedelta(days=1)
    row = event.transitions.order_by("-id").first()
    assert (row.action, row.actor_id, row.actor_name) == (Action.ESCALATE, None, "系统")
    assert "超过办理时限" in row.note
    notice = Notification.objects.get(recipient=world.people.community_admin)
    assert notice.link.endswith(f"/events/{event.pk}/")


def test_the_job_climbs_one_level_per_missed_deadline(world):
    event = move(world, report(world), Action.ACCEPT)
    events_enforce_deadlines(now=later(event))
    event.refresh_from_db()
    assert event.level == HandlingLevel.COMMUNITY
    # the community's own deadline has not passed at that moment: nothing more happens
    assert events_enforce_deadlines(now=later(event, 0) - dt.timedelta(hours=1)).escalated == 0
    events_enforce_deadlines(now=later(event))
    event.refresh_from_db()
    assert event.level == HandlingLevel.STREET
    assert [t.action for t in event.transitions.all()] == [
        "report",
        "accept",
        "escalate",
        "escalate",
    ]


def test_events_within_their_deadline_are_left_alone(world):
    event = report(world)
    assert events_enforce_deadlines(now=event.deadline - dt.timedelta(minutes=1)).escalated == 0
    event.refresh_from_db()
    assert event.level == HandlingLevel.GRID and not event.overdue


def test_the_street_is_alerted_once(world, django_capture_on_commit_callbacks):
    event = at_level(world, HandlingLevel.STREET)
    with django_capture_on_commit_callbacks(execute=True):
        first = events_enforce_deadlines(now=later(event))
        second = events_enforce_deadlines(now=later(event, 2))
    assert (first.alerted, second.alerted) == (1, 0)
    event.refresh_from_db()
    assert event.level == HandlingLevel.STREET and event.overdue and event.alerted_at
    assert (
        Notification.objects.filter(
            recipient=world.people.street_admin, title="事件已超过办理时限"
        ).count()
        == 1
    )
    assert Notification.objects.filter(recipient=world.people.district_admin).exists()


def test_overdue_departments_are_alerted(world, django_capture_on_commit_callbacks):
    event = at_level(world, HandlingLevel.DEPARTMENT)
    with django_capture_on_commit_callbacks(execute=True):
        assert events_enforce_deadlines(now=later(event)).alerted == 1
    assert Notification.objects.filter(
        recipient=world.people.department, title="事件已超过办理时限"
    ).exists()


def test_unrated_resolved_events_are_closed_by_the_system(world):
    event = bring(world, State.RESOLVED, HandlingLevel.GRID)
    assert events_enforce_deadlines(now=later(event)).closed == 1
    event.refresh_from_db()
    assert event.state == State.CLOSED and event.score is None
    assert event.transitions.order_by("-id").first().actor_id is None


def test_the_periodic_job_runs_the_same(world):
    event = report(world)
    services.Event.objects.filter(pk=event.pk).update(
        deadline=timezone.now() - dt.timedelta(minutes=5)
    )
    enforce_event_deadlines_job.call_local()
    event.refresh_from_db()
    assert event.level == HandlingLevel.COMMUNITY


def test_a_late_resolution_counts_as_not_on_time(world):
    event = move(world, report(world), Action.ACCEPT)
    late = services.event_transition(
        actor=world.people.grid_manager, event=event, action=Action.RESOLVE, now=later(event)
    )
    assert late.overdue is True

"""Periodic jobs of the event workflow (huey; immediate in tests)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from tongxin.events.services import events_enforce_deadlines


@db_periodic_task(crontab(minute="*/10"))
def enforce_event_deadlines_job() -> None:
    """Every ten minutes: overdue events go up one level (or raise an alert), unrated close."""
    events_enforce_deadlines()

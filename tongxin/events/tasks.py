"""Periodic jobs of the event workflow (huey; immediate in tests)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from tongxin.core.idempotency import purge_expired
from tongxin.events.services import events_enforce_deadlines


@db_periodic_task(crontab(minute="*/10"))
def enforce_event_deadlines_job() -> None:
    """Every ten minutes: overdue events go up one level (or raise an alert), unrated close."""
    events_enforce_deadlines()


@db_periodic_task(crontab(minute="7", hour="*"))
def purge_idempotency_keys_job() -> None:
    # Generic (core/idempotency.py) but scheduled here until core/tasks.py takes it over:
    # events are the first capability to store idempotency keys.
    purge_expired()

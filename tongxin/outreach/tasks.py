"""Periodic jobs of the services to residents (huey; immediate in tests)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from tongxin.outreach.services import activities_generate


@db_periodic_task(crontab(minute="20", hour="2"))
def generate_recurring_activities_job() -> None:
    """Nightly: the next two months of every recurring activity (idempotent, so a missed or
    repeated night neither loses nor duplicates an activity)."""
    activities_generate()

"""Periodic jobs of co-building (huey; immediate in tests)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from tongxin.cobuild.services import commitments_flag_overdue


@db_periodic_task(crontab(minute="15", hour="1"))
def flag_overdue_commitments_job() -> None:
    """Every night: commitments past their due date become overdue and their owners are told."""
    commitments_flag_overdue()

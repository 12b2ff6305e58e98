"""Generate the activities of the recurring rules (党员先锋日, 在职党员义务服务周 …).

    manage.py outreach_generate_activities [--from 2026-01-01] [--until 2026-12-31]

Idempotent: running it again (or while the nightly job runs) creates nothing twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tongxin.outreach.services import activities_generate


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from None


class Command(BaseCommand):
    help = "Create the activities of every active recurring rule in a period (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="start", default="", help="first day (default today)")
        parser.add_argument("--until", default="", help="last day (default 62 days on)")

    def handle(self, *args: Any, start: str, until: str, **options: Any) -> None:
        first = _date(start) if start else timezone.localdate()
        last = _date(until) if until else first + dt.timedelta(days=62)
        if last < first:
            raise CommandError("--until is before --from")
        created = activities_generate(start=first, until=last)
        self.stdout.write(f"created {created} activities from {first} to {last}")

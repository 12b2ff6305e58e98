"""Periodic housekeeping: expired sessions and API tokens do not linger in the database."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task
from rest_framework.authtoken.models import Token


def purge_expired_credentials() -> tuple[int, int]:
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    tokens, _ = Token.objects.filter(created__lt=now - settings.API_TOKEN_TTL).delete()
    return sessions, tokens


@db_periodic_task(crontab(minute="*/15"))
def purge_expired_credentials_job() -> None:
    purge_expired_credentials()

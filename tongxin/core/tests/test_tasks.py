"""Periodic housekeeping and the record of failed background jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from huey.contrib.djhuey import task
from rest_framework.authtoken.models import Token

from tongxin.core.models import JobFailure
from tongxin.core.tasks import purge_expired_credentials

pytestmark = pytest.mark.django_db


def test_expired_sessions_and_tokens_are_purged_and_live_ones_kept(people, settings):
    live = SessionStore()
    live.create()
    stale = SessionStore()
    stale.create()
    Session.objects.filter(session_key=stale.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    old = Token.objects.create(user=people.member)
    Token.objects.filter(pk=old.pk).update(
        created=timezone.now() - settings.API_TOKEN_TTL - timedelta(minutes=1)
    )
    fresh = Token.objects.create(user=people.resident)

    assert purge_expired_credentials() == (1, 1)
    assert Session.objects.filter(session_key=live.session_key).exists()
    assert not Session.objects.filter(session_key=stale.session_key).exists()
    assert list(Token.objects.values_list("key", flat=True)) == [fresh.key]


@task()
def _always_fails(reason: str) -> None:
    raise ValueError(reason)


def test_a_failing_job_is_recorded_for_the_system_admin():
    _always_fails("网关不可达")
    failure = JobFailure.objects.get()
    assert failure.task_name.endswith("_always_fails")
    assert "ValueError: 网关不可达" in failure.error
    assert "网关不可达" in failure.args_repr

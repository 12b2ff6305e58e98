"""Background jobs of the core app: housekeeping, and running spreadsheet imports."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task
from rest_framework.authtoken.models import Token

from tongxin.core.idempotency import purge_expired as purge_expired_idempotency_keys


def purge_expired_credentials() -> tuple[int, int]:
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    tokens, _ = Token.objects.filter(created__lt=now - settings.API_TOKEN_TTL).delete()
    return sessions, tokens


@db_periodic_task(crontab(minute="*/15"))
def purge_expired_credentials_job() -> None:
    purge_expired_credentials()


# No retries: a job that raised has been marked as an error and its upload deleted; running it
# again could not succeed, and `run_import_job` would refuse a job that is no longer pending.
@db_task(retries=0)
def import_job_task(job_id: int) -> None:
    from tongxin.core.import_jobs import run_import_job

    run_import_job(job_id)


@db_periodic_task(crontab(minute="7"))
def import_housekeeping_job() -> None:
    from tongxin.core.import_jobs import import_housekeeping

    import_housekeeping()


@db_periodic_task(crontab(minute="7", hour="*"))
def purge_idempotency_keys_job() -> None:
    purge_expired_idempotency_keys()


# Nightly, in the quiet hours: anonymize or delete personal data past its retention period.
@db_periodic_task(crontab(minute="30", hour="2"))
def apply_retention_job() -> None:
    from tongxin.core.retention import retention_apply

    retention_apply()

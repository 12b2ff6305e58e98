"""Settings for the gunicorn workers of bench/bench_events.py: Tongxin's, plus one bare view.

The bare view is the floor the event intake is measured against: the same server, middleware,
token authentication and database, and then exactly one INSERT of a row as wide as an event's
core columns into `bench_bare_event` (created by bench_events.py). Everything Tongxin does on
top of that — validation, placing the point in its grid, the idempotency key, the history row,
the audit chain, the notification and the detail answer — is what the ratio prices.

The events API also gets bench_events.install_intake_candidate(): a request carrying
`X-Bench-Candidate` is answered from the event the service returned instead of re-fetching it,
so the proposed fix is measured on the same server; requests without the header are unchanged.

Used only by the benchmark (DJANGO_SETTINGS_MODULE=bench.bench_settings); never in production.
"""

from __future__ import annotations

import json
from typing import Any

from tongxin.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.bench_settings"  # this module's `urlpatterns`, built on first use below

BARE_TABLE = "bench_bare_event"
BARE_COLUMNS = (
    "source",
    "category_id",
    "priority",
    "description",
    "address",
    "lng",
    "lat",
    "reporter_id",
    "state",
    "created_at",
)


def bare_insert(request: Any) -> Any:
    """POST the same JSON body as /api/v1/events/: authenticate the token, INSERT one row."""
    from django.db import connection
    from django.http import JsonResponse
    from django.utils import timezone

    from tongxin.accounts.authentication import ExpiringTokenAuthentication

    if request.method != "POST":
        return JsonResponse({"detail": "POST only"}, status=405)
    found = ExpiringTokenAuthentication().authenticate(request)
    if found is None:
        return JsonResponse({"detail": "token required"}, status=401)
    body = json.loads(request.body)
    row = (
        body.get("source", "resident"),
        int(body["category"]),
        body.get("priority", "low"),
        body["description"],
        body.get("address", ""),
        body.get("lng"),
        body.get("lat"),
        found[0].pk,
        "reported",
        connection.ops.adapt_datetimefield_value(timezone.now()),
    )
    columns = ", ".join(BARE_COLUMNS)
    marks = ", ".join(["%s"] * len(BARE_COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BARE_TABLE} ({columns}) VALUES ({marks}) RETURNING id",  # noqa: S608
            row,
        )
        (pk,) = cursor.fetchone()
    return JsonResponse({"id": pk}, status=201)


bare_insert.csrf_exempt = True  # a token-authenticated API call, like DRF's views


def __getattr__(name: str) -> Any:
    # The URLconf is this module; its patterns import Tongxin's views, which needs the apps
    # loaded, so they are built when Django first asks for them rather than at settings time.
    if name == "urlpatterns":
        from django.urls import include, path

        from bench.bench_events import install_intake_candidate

        install_intake_candidate()  # inert unless a request carries X-Bench-Candidate
        return [path("bench/bare/", bare_insert), path("", include("tongxin.urls"))]
    raise AttributeError(name)

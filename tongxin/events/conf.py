"""Tunable numbers of the event workflow, each overridable in settings (TONGXIN_EVENTS_* there).

Read at call time, not import time, so tests can change them with `settings` overrides.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Duplicate suggestions: open events of the same category family this close and this recent.
    "EVENTS_DUPLICATE_RADIUS_M": 200,
    "EVENTS_DUPLICATE_DAYS": 30,
    # After an event is resolved the reporter has this many working days to rate it; then the
    # deadline job closes it without a score.
    "EVENTS_RATING_WORKDAYS": 5,
    # Photos: at most this many per event, each at most this many bytes.
    "EVENTS_PHOTO_MAX_COUNT": 6,
    "EVENTS_PHOTO_MAX_BYTES": 8 * 1024 * 1024,
}


def get(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))

"""Template helpers of the event pages: time left before a deadline, state colours."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.events.models import OPEN_STATES, State

register = template.Library()

STATE_CLASS = {
    State.REPORTED: "text-bg-warning",
    State.ACCEPTED: "text-bg-primary",
    State.RETURNED: "text-bg-secondary",
    State.WHISTLED: "text-bg-danger",
    State.RESOLVED: "text-bg-success",
    State.CLOSED: "text-bg-light border",
    State.REJECTED: "text-bg-dark",
    State.MERGED: "text-bg-light border",
}


def _span(delta: dt.timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d 天 %(h)d 小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d 小时 %(m)d 分") % {"h": hours, "m": mins}
    return _("%(m)d 分钟") % {"m": mins}


@register.simple_tag
def time_left(event: Any, now: dt.datetime | None = None) -> dict[str, str]:
    """{'text', 'css'} for the event's deadline: time left, or how long overdue."""
    if event.deadline is None:
        return {"text": "", "css": ""}
    now = now or timezone.now()
    delta = event.deadline - now
    if event.state == State.RESOLVED:
        return {"text": _("评价期剩余 %(t)s") % {"t": _span(delta)}, "css": "text-secondary"}
    if event.state not in OPEN_STATES:
        return {"text": "", "css": ""}
    if delta.total_seconds() < 0:
        return {"text": _("已超时 %(t)s") % {"t": _span(delta)}, "css": "text-danger fw-bold"}
    css = "text-warning-emphasis" if delta < dt.timedelta(hours=24) else "text-success"
    return {"text": _("剩余 %(t)s") % {"t": _span(delta)}, "css": css}


@register.filter
def state_class(state: str) -> str:
    return STATE_CLASS.get(state, "text-bg-light")

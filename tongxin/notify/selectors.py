from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from tongxin.notify.models import Notification


def notifications_for(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def unread_count(user: Any) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def get_notification_for_user(user: Any, pk: int) -> Notification:
    """Only the recipient may see a notification; anyone else gets the same 404 as a missing one."""
    found = notifications_for(user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found

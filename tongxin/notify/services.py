"""The one way to tell users something: `notify()` writes inbox rows and queues external copies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongxin.notify.channels import enabled_channels
from tongxin.notify.models import Delivery, Notification


def notify(
    *,
    recipients: Iterable[Any],
    title: str,
    body: str = "",
    link: str = "",
    category: str = "system",
) -> list[Notification]:
    """Put a notification in each recipient's inbox; push copies through enabled channels.

    External pushes run as background jobs after the caller's transaction commits, so a
    rolled-back business write never sends an SMS about something that did not happen.
    """
    users = {user.pk: user for user in recipients if user is not None}.values()
    with transaction.atomic():
        notes = Notification.objects.bulk_create(
            Notification(recipient=u, title=title[:120], body=body, link=link, category=category)
            for u in users
        )
        channels = enabled_channels()
        deliveries = Delivery.objects.bulk_create(
            Delivery(notification=note, channel=channel.name)
            for note in notes
            for channel in channels
        )
    if deliveries:
        from tongxin.notify.tasks import deliver

        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: [deliver(pk) for pk in ids])
    return notes


def notification_mark_read(*, user: Any, notification: Notification) -> Notification:
    if notification.recipient_id != user.pk:
        raise PermissionError("not the recipient")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: Any) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )

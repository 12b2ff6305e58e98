"""Background delivery of external notification copies, retried on gateway failure."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from tongxin.notify.channels import channel_named
from tongxin.notify.models import Delivery, DeliveryStatus


@db_task(retries=3, retry_delay=60)
def deliver(delivery_id: int) -> None:
    delivery = Delivery.objects.select_related("notification__recipient").get(pk=delivery_id)
    if delivery.status == DeliveryStatus.SENT:
        return
    try:
        channel_named(delivery.channel).send(delivery.notification)
    except Exception as exc:
        delivery.status = DeliveryStatus.FAILED
        delivery.detail = str(exc)[:300]
        delivery.save(update_fields=["status", "detail", "updated_at"])
        raise
    delivery.status = DeliveryStatus.SENT
    delivery.detail = ""
    delivery.save(update_fields=["status", "detail", "updated_at"])

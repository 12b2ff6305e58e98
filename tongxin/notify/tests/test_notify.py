"""The inbox: notify() reaches only its recipients, external channels stay off unless configured."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import transaction
from django.urls import reverse

from tongxin.notify.models import Delivery, DeliveryStatus, Notification
from tongxin.notify.services import notify

pytestmark = pytest.mark.django_db


def test_notify_puts_one_row_in_each_recipients_inbox(people):
    notes = notify(
        recipients=[people.grid_manager, people.community_admin, people.grid_manager],
        title="网格事件即将超期",
        link="/",
    )
    assert len(notes) == 2
    assert Notification.objects.filter(recipient=people.grid_manager).count() == 1
    assert not Delivery.objects.exists(), "no external channel is configured by default"


def test_inbox_shows_own_notifications_only(client, people):
    notify(recipients=[people.grid_manager], title="给网格员的通知")
    notify(recipients=[people.community_admin_b], title="给东梅社区的通知")
    client.force_login(people.grid_manager)
    page = client.get(reverse("notify:inbox")).content.decode()
    assert "给网格员的通知" in page
    assert "给东梅社区的通知" not in page
    badge = client.get(reverse("notify:unread_badge")).content.decode()
    assert ">1<" in badge


def test_someone_elses_notification_is_not_found(client, people):
    (note,) = notify(recipients=[people.community_admin_b], title="东梅")
    client.force_login(people.community_admin)
    assert client.post(reverse("notify:mark_read", args=[note.pk])).status_code == 404
    assert client.post(f"/api/v1/notifications/{note.pk}/read/").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_read_and_all_read(client, people):
    first, *_ = notify(recipients=[people.member], title="一")
    notify(recipients=[people.member], title="二")
    client.force_login(people.member)
    assert client.post(f"/api/v1/notifications/{first.pk}/read/").json()["read_at"]
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 1}
    assert client.get("/api/v1/notifications/?unread=1").json()["count"] == 0


def test_a_link_to_another_site_is_not_followed(client, people):
    (note,) = notify(recipients=[people.member], title="外链", link="https://evil.example/")
    client.force_login(people.member)
    response = client.post(reverse("notify:mark_read", args=[note.pk]), {"open": "1"})
    assert response["Location"] == reverse("notify:inbox")


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    _Gateway.received = []
    _Gateway.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.NOTIFY_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/sms"
    yield _Gateway
    server.shutdown()


@pytest.mark.django_db(transaction=True)
def test_configured_sms_gateway_receives_the_notification_after_commit(people, gateway):
    with transaction.atomic():
        notify(recipients=[people.grid_manager], title="请于今日处理", body="文献一网格")
        assert gateway.received == [], "nothing leaves before the transaction commits"
    assert gateway.received == [
        {
            "channel": "sms",
            "username": "lin_grid",
            "title": "请于今日处理",
            "body": "文献一网格",
            "link": "",
        }
    ]
    assert Delivery.objects.get().status == DeliveryStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_rolled_back_write_sends_nothing(people, gateway):
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(recipients=[people.grid_manager], title="不会发送")
        raise RuntimeError
    assert gateway.received == []


@pytest.mark.django_db(transaction=True)
def test_gateway_failure_is_recorded_as_a_failed_delivery_and_job(people, gateway):
    from tongxin.core.models import JobFailure

    gateway.status = 500
    notify(recipients=[people.grid_manager], title="网关故障")
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "500" in delivery.detail
    assert JobFailure.objects.filter(task_name__endswith="deliver").exists()

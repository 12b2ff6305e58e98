"""External notification channels behind one interface.

SMS and WeChat reach users through the organization's own gateway (an intranet HTTP endpoint that
relays to the carrier or to the WeChat work platform). With no gateway URL configured, which is
the default, a channel is disabled and nothing leaves the machine.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

from django.conf import settings

from tongxin.notify.models import Notification


class ChannelError(Exception):
    pass


@dataclass(frozen=True)
class GatewayChannel:
    name: str
    setting: str

    @property
    def url(self) -> str:
        return getattr(settings, self.setting, "")

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def payload(self, note: Notification) -> dict[str, str]:
        return {
            "channel": self.name,
            "username": note.recipient.get_username(),
            "title": note.title,
            "body": note.body,
            "link": note.link,
        }

    def send(self, note: Notification) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ChannelError(f"{self.setting} is not an http(s) URL")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url,
            data=json.dumps(self.payload(note), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise ChannelError(f"gateway answered {response.status}")


CHANNELS = (
    GatewayChannel("sms", "NOTIFY_SMS_GATEWAY_URL"),
    GatewayChannel("wechat", "NOTIFY_WECHAT_GATEWAY_URL"),
)


def enabled_channels() -> list[GatewayChannel]:
    return [channel for channel in CHANNELS if channel.enabled]


def channel_named(name: str) -> GatewayChannel:
    return next(channel for channel in CHANNELS if channel.name == name)

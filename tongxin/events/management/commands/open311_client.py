"""Register an Open311 client and print its api_key (shown once; only its hash is stored)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongxin.accounts.models import User
from tongxin.events.models import Source
from tongxin.events.services import open311_client_create


class Command(BaseCommand):
    help = "创建 Open311 客户端（以指定用户身份提交事件），输出一次性显示的 api_key。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="客户端名称，例如 12345 热线")
        parser.add_argument("--user", required=True, help="代表的平台用户名")
        parser.add_argument("--source", default=Source.RESIDENT, choices=Source.values)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        try:
            client, key = open311_client_create(
                actor=None, name=options["name"], user=user, source=options["source"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"client {client.pk} {client.name} → {user.username}")
        self.stdout.write(f"api_key: {key}")

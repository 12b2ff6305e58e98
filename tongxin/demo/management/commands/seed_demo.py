"""Load the demo district (荔城区). Refused in production: it publishes known passwords."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongxin.demo.accounts import describe_accounts
from tongxin.demo.builder import build_demo
from tongxin.orgs.models import OrgNode


class Command(BaseCommand):
    help = "Build the demo district modelled on seed 004 (荔城区), deterministic from --seed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2019)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database has data"
        )

    def handle(self, *args: Any, seed: int, if_empty: bool, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo is refused in production: demo accounts share a password")
        if OrgNode.objects.exists():
            if if_empty:
                self.stdout.write("Database already has data; demo district not loaded.")
                return
            raise CommandError("The database already has organizations; use an empty database.")
        counts = build_demo(seed)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo district 荔城区 loaded: "
                + ", ".join(f"{value} {key}" for key, value in counts.items())
            )
        )
        self.stdout.write(f"Demo accounts (password {settings.DEMO_PASSWORD}):")
        self.stdout.write("\n".join(describe_accounts()))

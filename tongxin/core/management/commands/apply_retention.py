"""Apply the retention policy now (the nightly job does the same): `--dry-run` only counts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tongxin.core.retention import retention_apply


class Command(BaseCommand):
    help = "按保留期限匿名化或删除到期的个人信息（--dry-run 只统计不修改）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        report = retention_apply(dry_run=dry_run)
        verb = "将处理" if dry_run else "已处理"
        for part in report.categories:
            self.stdout.write(
                f"{part.label}（{part.period}，截止 {part.cutoff}）：到期 {part.matched}，"
                f"{verb} {part.matched if dry_run else part.changed}，保留 {part.skipped}"
            )
        self.stdout.write(self.style.SUCCESS("试运行，未修改任何数据。" if dry_run else "完成。"))

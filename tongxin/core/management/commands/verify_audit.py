"""Walk the SM3 hash chain of the audit trail (SECURITY.md 10); fail loudly on the first break.

Exit status 0 when every record fits the chain; otherwise the first record that does not is named
and the status is 2, so cron, monitoring or an assessor's script can act on it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tongxin.core.audit import verify_chain

_REASONS = {
    "prev_hash": "与上一条记录的哈希不衔接（之前的记录被删除、插入或改动）",
    "hash": "记录内容与其哈希不符（记录被改动）",
}


class Command(BaseCommand):
    help = "校验审计日志哈希链的完整性"

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(f"审计日志完整：已校验 {report.checked} 条记录，哈希链无断裂。")
            )
            return
        reason = _REASONS.get(report.reason, report.reason)
        raise CommandError(
            f"审计日志被篡改：第一条异常记录 id={report.first_bad_id}（{reason}）；"
            f"此前 {report.checked} 条记录校验通过。",
            returncode=2,
        )

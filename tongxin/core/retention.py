"""Retention of personal data (SECURITY.md 14; PIPL art. 19 and 47, GB/T 35273 §6.1).

Each category of personal data has a period counted from the event that ends its purpose;
`retention_apply()` anonymizes (or deletes) what is past it. It runs nightly as a huey periodic
job (`core.tasks.apply_retention_job`) and on demand as `manage.py apply_retention [--dry-run]`.

Anonymizing keeps the row, so counts and statistics (residents who moved out per year, events
per category, visits per grid) stay right; only what identifies a person is removed. Work goes
in batches, each batch one transaction; after a category, one audit record carries its counts
and never the data itself. A run that dies half-way is simply finished by the next one: every
category selects what is past its period and not yet anonymized.

Not handled here, on purpose:
- import uploads and error reports: the import housekeeping job (`core.import_jobs`) deletes them;
- sessions, API tokens and idempotency keys: their own purge jobs (`core.tasks`);
- the audit trail: never deleted by the application (the database refuses it); it is kept at
  least `RETENTION_AUDIT_MIN_DAYS` (180) days and archived by the DBA (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.db.models.functions import TruncYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.audit import audit

ANONYMIZED_NAME = "（已匿名）"
CLEARED_TEXT = "（已按保留期限清除）"
BATCH_SIZE = 500
AUDIT_ACTION = "core.retention.apply"

DEFAULTS = {
    "RETENTION_MOVED_OUT_YEARS": 3,
    "RETENTION_EVENT_REPORTER_YEARS": 2,
    "RETENTION_VISIT_TEXT_YEARS": 3,
    "RETENTION_LOGIN_LOG_DAYS": 180,
    "RETENTION_AUDIT_MIN_DAYS": 180,
}


def setting(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


def years_before(moment: Any, years: int) -> Any:
    """The same calendar day `years` earlier (a date or a datetime); 29 February → 28."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


@dataclass
class CategoryReport:
    code: str
    label: str
    period: str
    cutoff: str
    action: str
    matched: int = 0
    changed: int = 0
    skipped: int = 0
    note: str = ""


@dataclass
class RetentionReport:
    started_at: str
    finished_at: str = ""
    dry_run: bool = False
    categories: list[CategoryReport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def category(self, code: str) -> CategoryReport:
        return next(c for c in self.categories if c.code == code)


@dataclass(frozen=True)
class Category:
    """One line of the policy. `apply(now, dry_run, report)` fills the report's counts."""

    code: str
    label: Any
    period: Callable[[], str]
    action: Any
    apply: Callable[[datetime, bool, CategoryReport], None] | None = None
    note: Any = ""


def _pk_batches(queryset: models.QuerySet, size: int = BATCH_SIZE) -> Iterator[list[int]]:
    """Primary keys in ascending batches (the query is re-run, so rows already done drop out)."""
    last = 0
    while True:
        pks = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not pks:
            return
        yield pks
        last = pks[-1]


# --- residents who moved out ------------------------------------------------------------------


def _moved_out_persons(now: datetime) -> tuple[models.QuerySet, models.QuerySet, date]:
    from tongxin.people.models import Person

    cutoff = years_before(timezone.localdate(now), setting("RETENTION_MOVED_OUT_YEARS"))
    due = Person.objects.filter(
        resident__moved_out_on__isnull=False, resident__moved_out_on__lt=cutoff
    ).exclude(name=ANONYMIZED_NAME)
    # Kept: party members (their records follow the party's archive rules, not residence) and
    # people who still hold an active account on the platform.
    kept = due.filter(
        models.Q(membership__isnull=False) | models.Q(user__isnull=False, user__is_active=True)
    )
    return due, kept, cutoff


def _apply_moved_out(now: datetime, dry_run: bool, report: CategoryReport) -> None:
    from tongxin.people.models import Person, PersonGroup

    due, kept, cutoff = _moved_out_persons(now)
    report.cutoff = cutoff.isoformat()
    report.skipped = kept.count()
    todo = due.exclude(pk__in=kept.values("pk"))
    report.matched = todo.count()
    if dry_run:
        return
    for pks in _pk_batches(todo):
        with transaction.atomic():
            report.changed += Person.objects.filter(pk__in=pks).update(
                name=ANONYMIZED_NAME,
                id_number_cipher="",
                id_number_index="",
                id_number_masked="",
                phone_cipher="",
                phone_index="",
                phone_masked="",
                address="",
                note="",
                # The year of birth stays for age statistics; the day does not.
                birth_date=TruncYear("birth_date"),
                version=F("version") + 1,
            )
            PersonGroup.objects.filter(person_id__in=pks).exclude(note="").update(note="")


# --- closed events' reporter contact ----------------------------------------------------------


def _apply_event_reporters(now: datetime, dry_run: bool, report: CategoryReport) -> None:
    from tongxin.events.models import FINAL_STATES, Event

    cutoff = years_before(now, setting("RETENTION_EVENT_REPORTER_YEARS"))
    report.cutoff = timezone.localtime(cutoff).date().isoformat()
    todo = Event.objects.filter(
        state__in=FINAL_STATES, closed_at__isnull=False, closed_at__lt=cutoff
    ).exclude(reporter_name="", reporter_phone_cipher="")
    report.matched = todo.count()
    if dry_run:
        return
    for pks in _pk_batches(todo):
        with transaction.atomic():
            report.changed += Event.objects.filter(pk__in=pks).update(
                reporter_name="",
                reporter_phone_cipher="",
                reporter_phone_index="",
                reporter_phone_masked="",
                version=F("version") + 1,
            )


# --- visit diaries (民情日记) -------------------------------------------------------------------


def _apply_visit_text(now: datetime, dry_run: bool, report: CategoryReport) -> None:
    from tongxin.grids.models import Visit, VisitNeed

    cutoff = years_before(timezone.localdate(now), setting("RETENTION_VISIT_TEXT_YEARS"))
    report.cutoff = cutoff.isoformat()
    todo = Visit.objects.filter(visited_on__lt=cutoff).exclude(summary=CLEARED_TEXT)
    report.matched = todo.count()
    if dry_run:
        return
    for pks in _pk_batches(todo):
        with transaction.atomic():
            report.changed += Visit.objects.filter(pk__in=pks).update(
                summary=CLEARED_TEXT, companions="", version=F("version") + 1
            )
            # The needs' categories stay (statistics); their free text goes.
            VisitNeed.objects.filter(visit_id__in=pks).exclude(description=CLEARED_TEXT).update(
                description=CLEARED_TEXT
            )


# --- login failure logs (django-axes) ---------------------------------------------------------


def _apply_login_logs(now: datetime, dry_run: bool, report: CategoryReport) -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    cutoff = now - timedelta(days=setting("RETENTION_LOGIN_LOG_DAYS"))
    report.cutoff = timezone.localtime(cutoff).date().isoformat()
    sets = [
        AccessFailureLog.objects.filter(attempt_time__lt=cutoff),
        AccessLog.objects.filter(attempt_time__lt=cutoff),
        AccessAttempt.objects.filter(attempt_time__lt=cutoff),
    ]
    report.matched = sum(qs.count() for qs in sets)
    if dry_run:
        return
    for queryset in sets:
        for pks in _pk_batches(queryset):
            with transaction.atomic():
                deleted, _rows = queryset.model.objects.filter(pk__in=pks).delete()
                report.changed += deleted


def _years(name: str) -> Callable[[], str]:
    return lambda: str(_("%(n)d 年") % {"n": setting(name)})


def _days(name: str) -> Callable[[], str]:
    return lambda: str(_("%(n)d 天") % {"n": setting(name)})


POLICY: tuple[Category, ...] = (
    Category(
        "people.moved_out",
        _("已迁出居民的个人信息"),
        _years("RETENTION_MOVED_OUT_YEARS"),
        _("迁出日期起算，到期匿名化：姓名、身份证号、电话、住址、备注清除，出生日期仅保留年份"),
        _apply_moved_out,
        _("党员及仍在使用平台账号的人员不处理（党员档案按党内规定保管）"),
    ),
    Category(
        "events.reporter",
        _("已结束事件的报告人联系方式"),
        _years("RETENTION_EVENT_REPORTER_YEARS"),
        _("结案（或不予受理、合并）时间起算，到期清除报告人姓名和电话"),
        _apply_event_reporters,
    ),
    Category(
        "grids.visit_text",
        _("走访记录（民情日记）正文"),
        _years("RETENTION_VISIT_TEXT_YEARS"),
        _("走访日期起算，到期清除走访情况、同行人员和诉求内容；保留日期、网格和诉求类别"),
        _apply_visit_text,
    ),
    Category(
        "accounts.login_logs",
        _("登录失败与访问记录（用户名、来源地址）"),
        _days("RETENTION_LOGIN_LOG_DAYS"),
        _("到期删除；登录和失败事件仍保存在审计日志中"),
        _apply_login_logs,
    ),
    Category(
        "core.imports",
        _("导入上传文件与错误报告"),
        lambda: str(_("导入完成后即删除上传文件；错误报告按导入维护任务的期限")),
        _("由导入维护任务（每小时）删除，不在此处理"),
    ),
    Category(
        "core.audit",
        _("审计日志"),
        _days("RETENTION_AUDIT_MIN_DAYS"),
        _("应用不删除：数据库拒绝修改和删除；至少保存 6 个月，由数据库管理员归档（见运维手册）"),
    ),
)


def policy_rows() -> list[dict[str, str]]:
    """The policy as the security administrator's page shows it."""
    return [
        {
            "code": c.code,
            "label": str(c.label),
            "period": c.period(),
            "action": str(c.action),
            "note": str(c.note),
            "automatic": c.apply is not None,
        }
        for c in POLICY
    ]


def retention_apply(*, now: datetime | None = None, dry_run: bool = False) -> RetentionReport:
    """Anonymize or delete what is past its period; one audit record per category (counts only).

    `dry_run` counts what would change and writes nothing (no audit record either).
    """
    now = now or timezone.now()
    report = RetentionReport(started_at=now.isoformat(), dry_run=dry_run)
    for category in POLICY:
        if category.apply is None:
            continue
        part = CategoryReport(
            code=category.code,
            label=str(category.label),
            period=category.period(),
            cutoff="",
            action=str(category.action),
            note=str(category.note),
        )
        category.apply(now, dry_run, part)
        report.categories.append(part)
        if not dry_run:
            audit(
                actor=None,
                username="retention",
                action=AUDIT_ACTION,
                object_type=category.code,
                object_repr=str(category.label),
                changes={
                    "category": part.code,
                    "period": part.period,
                    "cutoff": part.cutoff,
                    "matched": part.matched,
                    "changed": part.changed,
                    "skipped": part.skipped,
                    "run_started_at": report.started_at,
                },
            )
    report.finished_at = timezone.now().isoformat()
    return report


def last_run() -> list[dict[str, Any]]:
    """The newest run's per-category counts, from its audit records (counts only, no data)."""
    from tongxin.core.models import AuditRecord

    newest = (
        AuditRecord.objects.filter(action=AUDIT_ACTION).order_by("-id").values("changes").first()
    )
    if newest is None:
        return []
    started = newest["changes"].get("run_started_at")
    rows = AuditRecord.objects.filter(
        action=AUDIT_ACTION, changes__run_started_at=started
    ).order_by("id")
    return [{"at": r.at, "label": r.object_repr, **r.changes} for r in rows]

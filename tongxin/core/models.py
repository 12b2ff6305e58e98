"""Tables every app relies on: the tamper-evident audit trail, the record of failed jobs and
spreadsheet import jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    DENIED = "denied", _("拒绝")


class AuditRecord(models.Model):
    """One append-only audit entry, chained to its predecessor by an SM3 hash.

    The actor is kept as id + username snapshot rather than a foreign key: a cascade or SET_NULL
    would have to UPDATE audit rows, which the database refuses (see migration 0002).
    """

    at = models.DateTimeField(_("时间"), db_index=True)
    actor_id = models.BigIntegerField(_("操作人编号"), null=True, blank=True, db_index=True)
    actor_username = models.CharField(_("操作人"), max_length=150, blank=True)
    ip = models.CharField(_("来源地址"), max_length=64, blank=True)
    action = models.CharField(_("操作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80, blank=True, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    outcome = models.CharField(
        _("结果"), max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS
    )
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"


class JobFailure(models.Model):
    """A background job that raised: kept for the system administrator to see and act on."""

    task_name = models.CharField(_("任务"), max_length=200)
    task_id = models.CharField(_("任务编号"), max_length=64)
    args_repr = models.TextField(_("参数"), blank=True)
    error = models.TextField(_("错误"))
    failed_at = models.DateTimeField(_("失败时间"), auto_now_add=True, db_index=True)
    retries_left = models.PositiveIntegerField(_("剩余重试"), default=0)

    class Meta:
        ordering = ["-failed_at"]
        verbose_name = _("失败任务")
        verbose_name_plural = _("失败任务")

    def __str__(self) -> str:
        return f"{self.task_name} {self.failed_at:%Y-%m-%d %H:%M}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    VALIDATING = "validating", _("正在校验")
    COMMITTING = "committing", _("正在写入")
    SUCCEEDED = "succeeded", _("导入成功")
    FAILED_VALIDATION = "failed_validation", _("校验未通过")
    ERROR = "error", _("导入出错")


IMPORT_FINISHED = frozenset(
    {ImportStatus.SUCCEEDED, ImportStatus.FAILED_VALIDATION, ImportStatus.ERROR}
)


class ImportJob(models.Model):
    """One uploaded spreadsheet and what became of it (core/imports.py runs it as a job).

    The uploaded file lives under MEDIA_ROOT only while the job runs; the full row-by-row error
    report, when there is one, stays as its own file. `errors` keeps the first ones for pages
    and the API.
    """

    kind = models.CharField(_("导入类型"), max_length=40, db_index=True)
    file = models.FileField(_("上传文件"), upload_to="imports/%Y/%m/", blank=True)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(_("文件大小"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="import_jobs",
        verbose_name=_("导入人"),
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("数据行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    errors = models.JSONField(_("错误（前若干条）"), default=list, blank=True)
    error_report = models.FileField(_("错误报告"), upload_to="imports/errors/", blank=True)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    result = models.JSONField(_("导入结果"), default=dict, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in ImportStatus]),
                name="import_job_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in IMPORT_FINISHED

    @property
    def percent(self) -> int:
        """Progress for the bar: rows validated so far; 100 once the job has finished."""
        if self.is_finished:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)


class IdempotencyKey(models.Model):
    """The remembered answer to a write sent with an `Idempotency-Key` header (SECURITY.md 18).

    The row is inserted in the same transaction as the write it guards and holds the answer
    when that transaction commits, so a retry finds either nothing (the first attempt rolled
    back: do it again) or the answer (replay it). The unique (user, key) constraint makes a
    concurrent duplicate wait for the first attempt and then find its answer.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("用户")
    )
    key = models.CharField(_("幂等键"), max_length=255)
    scope = models.CharField(_("接口"), max_length=80)
    fingerprint = models.CharField(_("请求摘要"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("响应状态"), null=True, blank=True)
    response_body = models.JSONField(_("响应内容"), null=True, blank=True)
    response_headers = models.JSONField(_("响应头"), default=dict, blank=True)
    created_at = models.DateTimeField(_("首次请求时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("幂等请求")
        verbose_name_plural = _("幂等请求")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="uniq_idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"

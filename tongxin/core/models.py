"""Tables every app relies on: the tamper-evident audit trail and the record of failed jobs."""

from __future__ import annotations

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

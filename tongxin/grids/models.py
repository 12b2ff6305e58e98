"""Grids (SPEC §3): a profile for each grid node of the organization tree, and visits.

The organization tree stays the one source of the hierarchy: a grid *is* an `OrgNode` of level
`grid` (its name, community, branch and party groups come from the tree), and `Grid` only adds
what the tree does not know: its code, boundary polygon and norms. A grid node without a profile
row is a grid whose boundary has not been drawn yet; the first write creates the row.

Boundaries are WGS-84 GeoJSON geometries (Polygon or MultiPolygon, RFC 7946: longitude first).
Centroid and bounding box are cached when the boundary is written, so lists and the map never
parse polygons.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Seed 004: "一般以300-500户划为一个网格，人数1000-2000".
DEFAULT_HOUSEHOLDS_MIN = 300
DEFAULT_HOUSEHOLDS_MAX = 500
DEFAULT_POPULATION_MIN = 1000
DEFAULT_POPULATION_MAX = 2000


class Grid(models.Model):
    node = models.OneToOneField(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="grid_profile",
        verbose_name=_("网格"),
    )
    code = models.CharField(_("网格编码"), max_length=40, blank=True)
    boundary = models.JSONField(
        _("边界"), null=True, blank=True, help_text=_("WGS-84 GeoJSON（Polygon 或 MultiPolygon）")
    )
    centroid_lng = models.FloatField(_("中心经度"), null=True, blank=True)
    centroid_lat = models.FloatField(_("中心纬度"), null=True, blank=True)
    min_lng = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lng = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    area_m2 = models.FloatField(_("面积（平方米）"), null=True, blank=True)
    households_min = models.PositiveIntegerField(_("户数下限"), default=DEFAULT_HOUSEHOLDS_MIN)
    households_max = models.PositiveIntegerField(_("户数上限"), default=DEFAULT_HOUSEHOLDS_MAX)
    population_min = models.PositiveIntegerField(_("人口下限"), default=DEFAULT_POPULATION_MIN)
    population_max = models.PositiveIntegerField(_("人口上限"), default=DEFAULT_POPULATION_MAX)
    boundary_updated_at = models.DateTimeField(_("边界更新时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["node__path"]
        verbose_name = _("网格档案")
        verbose_name_plural = _("网格档案")
        constraints = [
            # Imports match features to grids by code: two grids may not share one.
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="grid_code_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(households_min__lte=models.F("households_max")),
                name="grid_households_norm_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(population_min__lte=models.F("population_max")),
                name="grid_population_norm_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.code or str(self.node_id)

    @property
    def bbox(self) -> list[float] | None:
        if self.min_lng is None:
            return None
        return [self.min_lng, self.min_lat, self.max_lng, self.max_lat]


class BoundaryRevision(models.Model):
    """One row whose token changes with every boundary write, in the writer's transaction.

    Each process keeps its own in-memory index of the boundaries (geo.py) tagged with the token
    it was built from; comparing that with this row (one primary-key read) tells every worker,
    in every process, that it must rebuild. A random token rather than a counter: a rolled-back
    write must never leave a number that a later, different write reuses.
    """

    token = models.CharField(max_length=32)
    changes = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("边界版本")
        verbose_name_plural = _("边界版本")

    def __str__(self) -> str:
        return f"{self.changes}:{self.token}"


# ---------------------------------------------------------------------------------------------
# visits (走访 / 民情日记)


class NeedCategory(models.TextChoices):
    LIVELIHOOD = "livelihood", _("生活困难")
    HEALTH = "health", _("医疗健康")
    ELDERLY = "elderly", _("养老照护")
    EMPLOYMENT = "employment", _("就业创业")
    EDUCATION = "education", _("教育助学")
    HOUSING = "housing", _("住房物业")
    ENVIRONMENT = "environment", _("环境卫生")
    SAFETY = "safety", _("安全隐患")
    DISPUTE = "dispute", _("矛盾纠纷")
    POLICY = "policy", _("政策咨询")
    SUGGESTION = "suggestion", _("意见建议")
    OTHER = "other", _("其他")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("待办")
    DONE = "done", _("已办结")


class Visit(models.Model):
    """A household visit (入户走访) recorded by a grid manager or a member: one 民情日记 entry."""

    node = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("网格"),
        help_text=_("住户所在网格，登记时确定，用于权限范围"),
    )
    household = models.ForeignKey(
        "people.Household", on_delete=models.PROTECT, related_name="visits", verbose_name=_("住户")
    )
    visited_on = models.DateField(_("走访日期"))
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="grid_visits",
        verbose_name=_("走访人"),
    )
    companions = models.CharField(_("同行人员"), max_length=100, blank=True)
    summary = models.TextField(_("走访情况"), max_length=2000)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-visited_on", "-id"]
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        indexes = [models.Index(fields=["visitor", "visited_on"], name="visit_visitor_date")]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.household_id}"


class VisitNeed(models.Model):
    """A need the household raised during the visit (诉求), with its category."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="needs")
    category = models.CharField(_("诉求类别"), max_length=12, choices=NeedCategory.choices)
    description = models.CharField(_("诉求内容"), max_length=500)

    class Meta:
        ordering = ["id"]
        verbose_name = _("走访诉求")
        verbose_name_plural = _("走访诉求")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=NeedCategory.values), name="visit_need_category"
            )
        ]

    def __str__(self) -> str:
        return self.description[:40]


class FollowUp(models.Model):
    """Something to do after a visit (跟进事项), open until someone records it as done."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="follow_ups")
    need = models.ForeignKey(
        VisitNeed,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("对应诉求"),
    )
    action = models.CharField(_("跟进事项"), max_length=300)
    due_on = models.DateField(_("办理期限"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=6, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    result = models.CharField(_("办理结果"), max_length=500, blank=True)
    done_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("办结人"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["status", "due_on", "id"]
        verbose_name = _("跟进事项")
        verbose_name_plural = _("跟进事项")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=FollowUpStatus.values), name="follow_up_status"
            ),
            models.CheckConstraint(
                condition=models.Q(status="open", done_at__isnull=True)
                | models.Q(status="done", done_at__isnull=False),
                name="follow_up_done_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="follow_up_status_due")]

    def __str__(self) -> str:
        return self.action[:40]

"""共驻共建 — the "七双" two-way mechanisms between streets/communities and resident units.

SPEC §5, seeds 000 and 003: 双向承诺 (agreements and commitments), 双向挂职 (secondments),
双向服务 (resources ⇄ needs → service projects, venues open to the public), 双向联系 (大工委 /
大党委 joint meetings), 双向评议 (evaluation rounds) and 双向约束 (annual reports, consultations).

Every row reaches an org node (the organization side, or the unit's node) so it can be scoped by
path prefix; workflows keep their state on the row and an append-only transition table beside it.
Choice sets are named after what they describe (AgreementStatus, CommitmentState…) because other
apps already have fields called status / state / kind / category.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL

# ---------------------------------------------------------------------------------------------
# 双向承诺 agreements and commitments


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("草拟")
    SIGNED = "signed", _("已签订")
    CLOSED = "closed", _("已结束")


class AgreementAction(models.TextChoices):
    CREATE = "create", _("起草")
    SIGN = "sign", _("签订")
    CLOSE = "close", _("结束")


class CommitmentSide(models.TextChoices):
    ORGANIZATION = "organization", _("街道/社区党组织")
    UNIT = "unit", _("驻区单位")


class CommitmentArea(models.TextChoices):
    PARTY_BUILDING = "party_building", _("党的建设")
    GOVERNANCE = "governance", _("城市治理")
    POVERTY = "poverty", _("扶贫帮困")
    CIVILIZATION = "civilization", _("文明创建")
    SERVICE = "service", _("便民服务")
    OTHER = "other", _("其他")


class CommitmentState(models.TextChoices):
    PLANNED = "planned", _("计划")
    IN_PROGRESS = "in_progress", _("推进中")
    FULFILLED = "fulfilled", _("已履行")
    CONFIRMED = "confirmed", _("对方已确认")
    OVERDUE = "overdue", _("已逾期")
    CANCELLED = "cancelled", _("已取消")


class CommitmentAction(models.TextChoices):
    CREATE = "create", _("登记")
    START = "start", _("开始推进")
    FULFIL = "fulfil", _("报告履行")
    CONFIRM = "confirm", _("确认履行")
    RETURN = "return", _("退回补充")
    MARK_OVERDUE = "mark_overdue", _("标记逾期")
    CANCEL = "cancel", _("取消")


class Agreement(models.Model):
    """A yearly co-building agreement (共驻共建协议) between a street or community party
    organization (its node) and one resident unit."""

    node = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="cobuild_agreements",
        verbose_name=_("街道/社区"),
    )
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        related_name="cobuild_agreements",
        verbose_name=_("驻区单位"),
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("协议名称"), max_length=120)
    status = models.CharField(
        _("协议状态"),
        max_length=10,
        choices=AgreementStatus.choices,
        default=AgreementStatus.DRAFT,
    )
    signed_on = models.DateField(_("签订日期"), null=True, blank=True)
    closed_on = models.DateField(_("结束日期"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
        verbose_name=_("复制自"),
    )
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-year", "node__path", "unit__name", "id"]
        verbose_name = _("共建协议")
        verbose_name_plural = _("共建协议")
        constraints = [
            models.UniqueConstraint(
                fields=["node", "unit", "year"], name="cobuild_one_agreement_per_year"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=AgreementStatus.values),
                name="cobuild_agreement_status_known",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AgreementTransition(models.Model):
    """Append-only history of an agreement's status (the database refuses UPDATE)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("操作"), max_length=12, choices=AgreementAction.choices)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.agreement_id} {self.action} → {self.to_status}"


class Commitment(models.Model):
    """One side's promise in an agreement, with its own workflow (workflow.COMMITMENT_MOVES)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="commitments")
    side = models.CharField(_("承诺方"), max_length=12, choices=CommitmentSide.choices)
    area = models.CharField(_("共建领域"), max_length=16, choices=CommitmentArea.choices)
    content = models.CharField(_("承诺内容"), max_length=300)
    due_on = models.DateField(_("完成时限"))
    owner_name = models.CharField(_("责任人"), max_length=50)
    owner = models.ForeignKey(
        USER,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cobuild_commitments",
        verbose_name=_("责任人账号"),
    )
    state = models.CharField(
        _("履行状态"),
        max_length=12,
        choices=CommitmentState.choices,
        default=CommitmentState.PLANNED,
    )
    evidence_text = models.TextField(_("履行情况"), blank=True)
    fulfilled_at = models.DateTimeField(_("报告履行时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    cancel_reason = models.CharField(_("取消原因"), max_length=300, blank=True)
    overdue_notified_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["agreement_id", "side", "due_on", "id"]
        verbose_name = _("承诺事项")
        verbose_name_plural = _("承诺事项")
        indexes = [models.Index(fields=["state", "due_on"], name="cobuild_commit_state_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=CommitmentState.values),
                name="cobuild_commitment_state_known",
            ),
            models.CheckConstraint(
                condition=models.Q(side__in=CommitmentSide.values),
                name="cobuild_commitment_side_known",
            ),
        ]

    def __str__(self) -> str:
        return self.content


class CommitmentTransition(models.Model):
    """Append-only history of a commitment's moves (the database refuses UPDATE)."""

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("操作"), max_length=14, choices=CommitmentAction.choices)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.commitment_id} {self.action} → {self.to_state}"


class CommitmentEvidence(models.Model):
    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(_("佐证材料"), upload_to="cobuild/evidence/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    uploaded_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------------------------------------
# 双向挂职 secondments


class SecondmentDirection(models.TextChoices):
    UNIT_TO_COMMUNITY = "unit_to_community", _("单位负责人到社区兼职")
    COMMUNITY_TO_UNIT = "community_to_unit", _("社区干部到单位挂职")


class SecondmentRole(models.TextChoices):
    FIRST_SECRETARY = "first_secretary", _("第一书记")
    DEPUTY_SECRETARY = "deputy_secretary", _("副书记")
    CADRE = "cadre", _("挂职干部")


class Secondment(models.Model):
    person_name = models.CharField(_("姓名"), max_length=50)
    direction = models.CharField(_("挂职方向"), max_length=20, choices=SecondmentDirection.choices)
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        related_name="secondments",
        verbose_name=_("驻区单位"),
    )
    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="secondments",
        verbose_name=_("社区"),
    )
    role = models.CharField(_("挂职职务"), max_length=20, choices=SecondmentRole.choices)
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["community__path", "-starts_on", "id"]
        verbose_name = _("双向挂职")
        verbose_name_plural = _("双向挂职")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="cobuild_secondment_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.person_name


# ---------------------------------------------------------------------------------------------
# 双向服务 resources, needs, service projects


class ResourceKind(models.TextChoices):
    VENUE = "venue", _("场地")
    FUNDS = "funds", _("资金")
    EXPERTISE = "expertise", _("人才技术")
    EQUIPMENT = "equipment", _("设施设备")
    POLICY = "policy", _("政策")
    VOLUNTEERS = "volunteers", _("志愿者")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("待对接")
    MATCHED = "matched", _("已对接")
    CLOSED = "closed", _("已关闭")


class ResourceItem(models.Model):
    """An item of a unit's resource list (资源清单)."""

    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        related_name="cobuild_resources",
        verbose_name=_("驻区单位"),
    )
    kind = models.CharField(_("资源类别"), max_length=12, choices=ResourceKind.choices)
    title = models.CharField(_("资源名称"), max_length=120)
    description = models.TextField(_("资源说明"), blank=True)
    quantity = models.CharField(_("数量/规模"), max_length=60, blank=True)
    available_from = models.DateField(_("可提供起"), null=True, blank=True)
    available_until = models.DateField(_("可提供至"), null=True, blank=True)
    active = models.BooleanField(_("发布中"), default=True)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["unit__name", "kind", "id"]
        verbose_name = _("资源清单")
        verbose_name_plural = _("资源清单")

    def __str__(self) -> str:
        return self.title


class NeedItem(models.Model):
    """An item of a community's need list (需求清单)."""

    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="cobuild_needs",
        verbose_name=_("社区"),
    )
    kind = models.CharField(_("需求类别"), max_length=12, choices=ResourceKind.choices)
    title = models.CharField(_("需求名称"), max_length=120)
    description = models.TextField(_("需求说明"), blank=True)
    needed_by = models.DateField(_("期望时间"), null=True, blank=True)
    status = models.CharField(
        _("对接状态"), max_length=10, choices=NeedStatus.choices, default=NeedStatus.OPEN
    )
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["community__path", "-created_at", "id"]
        verbose_name = _("需求清单")
        verbose_name_plural = _("需求清单")

    def __str__(self) -> str:
        return self.title


class ProjectState(models.TextChoices):
    PLANNED = "planned", _("筹备中")
    ONGOING = "ongoing", _("实施中")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class ProjectAction(models.TextChoices):
    CREATE = "create", _("立项")
    START = "start", _("启动")
    COMPLETE = "complete", _("完成")
    CANCEL = "cancel", _("取消")


class ServiceProject(models.Model):
    """A service project (服务项目) from a matched need and resource, published to residents."""

    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="cobuild_projects",
        verbose_name=_("服务社区"),
    )
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cobuild_projects",
        verbose_name=_("共建单位"),
    )
    need = models.ForeignKey(
        NeedItem, on_delete=models.PROTECT, null=True, blank=True, related_name="projects"
    )
    resource = models.ForeignKey(
        ResourceItem, on_delete=models.PROTECT, null=True, blank=True, related_name="projects"
    )
    title = models.CharField(_("项目名称"), max_length=120)
    description = models.TextField(_("项目内容"), blank=True)
    owner_name = models.CharField(_("负责人"), max_length=50)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    beneficiaries = models.CharField(_("受益对象"), max_length=200, blank=True)
    beneficiary_count = models.PositiveIntegerField(_("受益人数"), default=0)
    outcome = models.TextField(_("成效"), blank=True)
    state = models.CharField(
        _("项目状态"), max_length=10, choices=ProjectState.choices, default=ProjectState.PLANNED
    )
    published = models.BooleanField(_("向居民公开"), default=True)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-starts_on", "id"]
        verbose_name = _("服务项目")
        verbose_name_plural = _("服务项目")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="cobuild_project_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.title


class ProjectTransition(models.Model):
    project = models.ForeignKey(
        ServiceProject, on_delete=models.CASCADE, related_name="transitions"
    )
    action = models.CharField(max_length=10, choices=ProjectAction.choices)
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.project_id} {self.action} → {self.to_state}"


# ---------------------------------------------------------------------------------------------
# venues open to the public


class Venue(models.Model):
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        related_name="cobuild_venues",
        verbose_name=_("驻区单位"),
    )
    name = models.CharField(_("场地名称"), max_length=120)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("容纳人数"), validators=[MinValueValidator(1)])
    description = models.TextField(_("说明"), blank=True)
    active = models.BooleanField(_("开放中"), default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["unit__name", "name", "id"]
        verbose_name = _("开放场地")
        verbose_name_plural = _("开放场地")

    def __str__(self) -> str:
        return self.name


class VenueOpening(models.Model):
    """Opening hours: one row per weekday (0 = Monday) and period."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="openings")
    weekday = models.PositiveSmallIntegerField(
        _("星期"), validators=[MinValueValidator(0), MaxValueValidator(6)]
    )
    opens = models.TimeField(_("开放时间"))
    closes = models.TimeField(_("关闭时间"))

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="cobuild_opening_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6), name="cobuild_weekday_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens}–{self.closes}"


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("已预约")
    CANCELLED = "cancelled", _("已取消")


class VenueBooking(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="bookings")
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    booked_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="venue_bookings")
    organization = models.CharField(_("预约单位/组织"), max_length=120, blank=True)
    purpose = models.CharField(_("用途"), max_length=200)
    attendees = models.PositiveIntegerField(_("人数"), default=1)
    status = models.CharField(
        _("预约状态"),
        max_length=10,
        choices=BookingStatus.choices,
        default=BookingStatus.CONFIRMED,
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("场地预约")
        verbose_name_plural = _("场地预约")
        indexes = [
            models.Index(fields=["venue", "status", "starts_at"], name="cobuild_booking_slot")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="cobuild_booking_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.starts_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------------------------------------
# 双向联系 joint meetings of a 大工委 / 大党委


class ResolutionStatus(models.TextChoices):
    OPEN = "open", _("待落实")
    IN_PROGRESS = "in_progress", _("落实中")
    DONE = "done", _("已落实")
    DROPPED = "dropped", _("不再落实")


class JointMeeting(models.Model):
    body = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="joint_meetings",
        verbose_name=_("大工委/大党委"),
    )
    held_on = models.DateField(_("会议日期"))
    title = models.CharField(_("会议名称"), max_length=120)
    location = models.CharField(_("地点"), max_length=120, blank=True)
    agenda = models.TextField(_("议程"))
    minutes = models.TextField(_("会议纪要"), blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-held_on", "id"]
        verbose_name = _("联席会议")
        verbose_name_plural = _("联席会议")
        indexes = [models.Index(fields=["body", "held_on"], name="cobuild_meeting_body_date")]

    def __str__(self) -> str:
        return self.title


class MeetingAttendance(models.Model):
    meeting = models.ForeignKey(JointMeeting, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(
        "orgs.CommitteeMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meeting_attendance",
        verbose_name=_("兼职委员"),
    )
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meeting_attendance",
        verbose_name=_("成员单位"),
    )
    person_name = models.CharField(_("姓名"), max_length=50, blank=True)
    present = models.BooleanField(_("出席"), default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "unit"],
                condition=models.Q(unit__isnull=False),
                name="cobuild_one_attendance_per_unit",
            )
        ]

    def __str__(self) -> str:
        return self.person_name or str(self.unit_id or "")


class Resolution(models.Model):
    meeting = models.ForeignKey(JointMeeting, on_delete=models.CASCADE, related_name="resolutions")
    content = models.CharField(_("议定事项"), max_length=300)
    owner_name = models.CharField(_("责任人"), max_length=50)
    owner_unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("责任单位"),
    )
    due_on = models.DateField(_("落实时限"), null=True, blank=True)
    status = models.CharField(
        _("落实状态"),
        max_length=12,
        choices=ResolutionStatus.choices,
        default=ResolutionStatus.OPEN,
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["meeting_id", "id"]

    def __str__(self) -> str:
        return self.content


class ResolutionUpdate(models.Model):
    """Append-only follow-up log of a resolution."""

    resolution = models.ForeignKey(Resolution, on_delete=models.CASCADE, related_name="updates")
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    note = models.CharField(_("跟进情况"), max_length=500, blank=True)
    actor = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.resolution_id} → {self.to_status}"


# ---------------------------------------------------------------------------------------------
# 双向评议 evaluation rounds


class RoundStatus(models.TextChoices):
    SETUP = "setup", _("设置评分表")
    SCORING = "scoring", _("评分中")
    CLOSED = "closed", _("已结束")


class RoundAction(models.TextChoices):
    OPEN_SCORING = "open_scoring", _("开始评分")
    CLOSE = "close", _("结束评议")


class EvaluationDirection(models.TextChoices):
    UNIT_RATES_COMMUNITY = "unit_rates_community", _("单位评社区")
    COMMUNITY_RATES_UNIT = "community_rates_unit", _("社区评单位")


class AwardKind(models.TextChoices):
    ADVANCED_UNIT = "advanced_unit", _("先进单位")
    ADVANCED_INDIVIDUAL = "advanced_individual", _("先进个人")
    EXCELLENT_VOLUNTEER = "excellent_volunteer", _("优秀志愿者")


class EvaluationRound(models.Model):
    """A year's two-way evaluation organized by a street (or one community) for its subtree."""

    node = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="evaluation_rounds",
        verbose_name=_("组织单位"),
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("评议名称"), max_length=120)
    status = models.CharField(
        _("评议状态"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.SETUP
    )
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-year", "node__path", "id"]
        verbose_name = _("双向评议")
        verbose_name_plural = _("双向评议")
        constraints = [
            models.UniqueConstraint(fields=["node", "year"], name="cobuild_one_round_per_year")
        ]

    def __str__(self) -> str:
        return self.title


class EvaluationItem(models.Model):
    """A line of the scoring sheet; per direction the weights add up to 100."""

    round = models.ForeignKey(EvaluationRound, on_delete=models.CASCADE, related_name="items")
    direction = models.CharField(_("评议方向"), max_length=24, choices=EvaluationDirection.choices)
    name = models.CharField(_("评分项目"), max_length=100)
    weight = models.DecimalField(
        _("权重"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["direction", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight__gt=0) & models.Q(weight__lte=100),
                name="cobuild_item_weight_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class EvaluationSheet(models.Model):
    """One rater's filled sheet about one subject: a unit about its community, or a community
    about one unit. Scores are per item, 0–100."""

    round = models.ForeignKey(EvaluationRound, on_delete=models.CASCADE, related_name="sheets")
    direction = models.CharField(_("评议方向"), max_length=24, choices=EvaluationDirection.choices)
    unit = models.ForeignKey(
        "orgs.ResidentUnit", on_delete=models.PROTECT, related_name="evaluation_sheets"
    )
    community = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, related_name="evaluation_sheets"
    )
    comment = models.TextField(_("评语"), blank=True)
    submitted_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    submitted_at = models.DateTimeField()
    total = models.DecimalField(_("加权得分"), max_digits=6, decimal_places=2)

    class Meta:
        ordering = ["round_id", "direction", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "direction", "unit", "community"],
                name="cobuild_one_sheet_per_pair",
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.unit_id}/{self.community_id}: {self.total}"


class EvaluationScore(models.Model):
    sheet = models.ForeignKey(EvaluationSheet, on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey(EvaluationItem, on_delete=models.PROTECT, related_name="scores")
    score = models.DecimalField(
        _("得分"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sheet", "item"], name="cobuild_one_score_per_item"),
            models.CheckConstraint(
                condition=models.Q(score__gte=0) & models.Q(score__lte=100),
                name="cobuild_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.score}"


class EvaluationReport(models.Model):
    """A written report (述职) by a unit or a community, attached to the round."""

    round = models.ForeignKey(EvaluationRound, on_delete=models.CASCADE, related_name="reports")
    unit = models.ForeignKey(
        "orgs.ResidentUnit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    community = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("述职标题"), max_length=120)
    text = models.TextField(_("述职内容"), blank=True)
    file = models.FileField(_("述职材料"), upload_to="cobuild/reports/%Y/", blank=True)
    submitted_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unit__isnull=False) | models.Q(community__isnull=False),
                name="cobuild_report_has_author",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Award(models.Model):
    round = models.ForeignKey(EvaluationRound, on_delete=models.CASCADE, related_name="awards")
    kind = models.CharField(_("表彰类别"), max_length=20, choices=AwardKind.choices)
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cobuild_awards",
        verbose_name=_("单位"),
    )
    person_name = models.CharField(_("个人姓名"), max_length=50, blank=True)
    reason = models.CharField(_("事迹摘要"), max_length=300, blank=True)
    awarded_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    awarded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unit__isnull=False) | ~models.Q(person_name=""),
                name="cobuild_award_has_recipient",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.person_name or self.unit_id}"


# ---------------------------------------------------------------------------------------------
# 双向约束 consultations before promotions and honours


class ConsultationSubject(models.TextChoices):
    PROMOTION = "promotion", _("干部提拔任用")
    AWARD = "award", _("评先评优")


class ConsultationOpinion(models.TextChoices):
    AGREE = "agree", _("同意")
    RESERVED = "reserved", _("保留意见")
    DISAGREE = "disagree", _("不同意")


class Consultation(models.Model):
    """The community was asked before a unit promoted a cadre or received an honour."""

    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        related_name="consultations",
        verbose_name=_("驻区单位"),
    )
    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="consultations",
        verbose_name=_("征求意见社区"),
    )
    subject = models.CharField(_("事项"), max_length=10, choices=ConsultationSubject.choices)
    about_person = models.CharField(_("涉及人员"), max_length=50)
    consulted_person = models.CharField(_("社区意见人"), max_length=50)
    opinion = models.CharField(_("意见"), max_length=10, choices=ConsultationOpinion.choices)
    opinion_text = models.TextField(_("意见说明"), blank=True)
    consulted_on = models.DateField(_("征求日期"))
    recorded_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-consulted_on", "id"]
        verbose_name = _("征求意见记录")
        verbose_name_plural = _("征求意见记录")

    def __str__(self) -> str:
        return f"{self.unit_id} {self.about_person} {self.get_subject_display()}"

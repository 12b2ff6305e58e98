"""Events and requests (SPEC §4): "小事不出网格，大事不出社区，街道吹哨、部门报到".

An event belongs to the grid its point lies in (or, outside every grid, to the reporter's
community) and is handled at one level at a time: grid → community → street → the departments the
street whistles to. Its `state` only ever changes through `services.event_transition`, which looks
the move up in `workflow.MOVES` and appends an `EventTransition` row in the same transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.core.fields import SealedField, mask_phone


class Source(models.TextChoices):
    PATROL = "patrol", _("网格巡查")
    RESIDENT = "resident", _("居民上报")
    VISIT = "visit", _("走访发现")
    HOTLINE = "hotline", _("热线来电")


class Priority(models.TextChoices):
    LOW = "low", _("一般")
    NORMAL = "normal", _("较急")
    HIGH = "high", _("紧急")
    URGENT = "urgent", _("特急")


class HandlingLevel(models.TextChoices):
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DEPARTMENT = "department", _("职能部门")


# The level above each level, for escalation ("上报"); the street whistles instead.
NEXT_LEVEL: dict[str, str | None] = {
    HandlingLevel.GRID: HandlingLevel.COMMUNITY,
    HandlingLevel.COMMUNITY: HandlingLevel.STREET,
    HandlingLevel.STREET: None,
    HandlingLevel.DEPARTMENT: None,
}


class State(models.TextChoices):
    REPORTED = "reported", _("待受理")
    ACCEPTED = "accepted", _("处置中")
    RETURNED = "returned", _("退回补充")
    WHISTLED = "whistled", _("已吹哨")
    RESOLVED = "resolved", _("已办结")
    CLOSED = "closed", _("已结案")
    REJECTED = "rejected", _("不予受理")
    MERGED = "merged", _("已合并")


# States in which someone still owes work on the event; deadlines only run in these.
OPEN_STATES = frozenset({State.REPORTED, State.ACCEPTED, State.WHISTLED})
# Nothing more can happen to an event in these.
FINAL_STATES = frozenset({State.CLOSED, State.REJECTED, State.MERGED})


class Action(models.TextChoices):
    REPORT = "report", _("上报事件")
    ACCEPT = "accept", _("受理")
    ESCALATE = "escalate", _("上报上级")
    WHISTLE = "whistle", _("吹哨")
    ACKNOWLEDGE = "acknowledge", _("报到")
    HANDLE = "handle", _("部门处置完毕")
    RESOLVE = "resolve", _("办结")
    RETURN = "return", _("退回补充")
    RESUBMIT = "resubmit", _("补充后重新提交")
    REJECT = "reject", _("不予受理")
    MERGE = "merge", _("合并为重复事件")
    RATE = "rate", _("评价")
    CLOSE = "close", _("结案")


class AssignmentState(models.TextChoices):
    WHISTLED = "whistled", _("待报到")
    ACKNOWLEDGED = "acknowledged", _("已报到")
    HANDLED = "handled", _("已处置")


# ---------------------------------------------------------------------------------------------
# configuration: categories and departments


class Category(models.Model):
    """An event category (top level) or sub-category, with its deadlines in working days."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级分类"),
    )
    code = models.SlugField(
        _("分类编码"), max_length=40, unique=True, help_text=_("也是 Open311 的 service_code")
    )
    name = models.CharField(_("名称"), max_length=50)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    sort = models.PositiveSmallIntegerField(_("排序"), default=100)
    is_active = models.BooleanField(_("启用"), default=True)
    is_public = models.BooleanField(
        _("公开"),
        default=True,
        help_text=_("在 Open311 公开接口中列出此类事件（纠纷、治安等涉及个人的类别应关闭）"),
    )
    days_grid = models.PositiveSmallIntegerField(_("网格办理时限（工作日）"), default=2)
    days_community = models.PositiveSmallIntegerField(_("社区办理时限（工作日）"), default=3)
    days_street = models.PositiveSmallIntegerField(_("街道办理时限（工作日）"), default=5)
    days_department = models.PositiveSmallIntegerField(_("部门办理时限（工作日）"), default=5)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["sort", "code"]
        verbose_name = _("事件分类")
        verbose_name_plural = _("事件分类")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(days_grid__gte=1)
                & models.Q(days_community__gte=1)
                & models.Q(days_street__gte=1)
                & models.Q(days_department__gte=1),
                name="event_category_days_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def family(self) -> Category:
        """The top-level category: duplicates are looked for within one family."""
        return self.parent if self.parent_id else self

    @property
    def full_name(self) -> str:
        return f"{self.parent.name} · {self.name}" if self.parent_id else self.name

    def days_for(self, level: str) -> int:
        return {
            HandlingLevel.GRID: self.days_grid,
            HandlingLevel.COMMUNITY: self.days_community,
            HandlingLevel.STREET: self.days_street,
            HandlingLevel.DEPARTMENT: self.days_department,
        }[level]


class Department(models.Model):
    """A functional department (职能部门) that streets whistle to."""

    name = models.CharField(_("部门名称"), max_length=80, unique=True)
    short_name = models.CharField(_("简称"), max_length=20, blank=True)
    duties = models.CharField(_("职责"), max_length=200, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")

    def __str__(self) -> str:
        return self.short_name or self.name


class DepartmentStation(models.Model):
    """A department's presence at a street (派驻): only stationed departments can be whistled."""

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="stations", verbose_name=_("部门")
    )
    street = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="department_stations",
        verbose_name=_("街道"),
    )
    address = models.CharField(_("办公地点"), max_length=200, blank=True)
    phone = models.CharField(_("值班电话"), max_length=40, blank=True)

    class Meta:
        ordering = ["street__path", "department__name"]
        verbose_name = _("部门派驻")
        verbose_name_plural = _("部门派驻")
        constraints = [
            models.UniqueConstraint(fields=["department", "street"], name="one_station_per_street")
        ]

    def __str__(self) -> str:
        return f"{self.department} @ {self.street}"


class DepartmentStaff(models.Model):
    """A user holding the department role who works for this department.

    Where they work is their role assignment's node: staff assigned at a street see the whistles
    of that street, staff assigned at the district those of every street.
    """

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="staff", verbose_name=_("部门")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="department_memberships",
        verbose_name=_("人员"),
    )
    added_at = models.DateTimeField(_("加入时间"), auto_now_add=True)

    class Meta:
        ordering = ["department__name", "user__username"]
        verbose_name = _("部门人员")
        verbose_name_plural = _("部门人员")
        constraints = [
            models.UniqueConstraint(fields=["department", "user"], name="uniq_department_staff")
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.user}"


# ---------------------------------------------------------------------------------------------
# events


class Event(models.Model):
    """One reported problem or request, in the spirit of an Open311 GeoReport v2 request."""

    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="events", verbose_name=_("分类")
    )
    priority = models.CharField(
        _("紧急程度"), max_length=10, choices=Priority.choices, default=Priority.LOW
    )
    description = models.TextField(_("事件描述"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    # WGS-84 degrees, as phones report them; GCJ-02 input is converted before it gets here.
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_events",
        verbose_name=_("报告人账号"),
    )
    reporter_name = models.CharField(_("报告人"), max_length=50, blank=True)
    reporter_phone = SealedField(
        purpose="events.event.reporter_phone",
        mask=mask_phone,
        verbose_name="联系电话",
        masked_length=20,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登记人"),
    )
    node = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("所属网格"),
        help_text=_("点位所在网格；不在任何网格内时为报告人所在社区"),
    )
    outside_grid = models.BooleanField(_("网格外"), default=False)
    level = models.CharField(_("当前处置层级"), max_length=12, choices=HandlingLevel.choices)
    handling_node = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="handled_events",
        verbose_name=_("当前处置单位"),
    )
    state = models.CharField(
        _("状态"), max_length=10, choices=State.choices, default=State.REPORTED
    )
    deadline = models.DateTimeField(_("办理时限"), null=True, blank=True)
    level_entered_at = models.DateTimeField(_("进入本层级时间"))
    overdue = models.BooleanField(_("曾超时"), default=False)
    alerted_at = models.DateTimeField(_("超时提醒时间"), null=True, blank=True)
    resolved_level = models.CharField(
        _("办结层级"), max_length=12, choices=HandlingLevel.choices, blank=True
    )
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("满意度评分"), null=True, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=300, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("合并至"),
    )
    created_at = models.DateTimeField(_("上报时间"), db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        indexes = [
            models.Index(fields=["state", "deadline"], name="event_state_deadline"),
            # The list filtered by state, newest first: one index range, no sort.
            models.Index(fields=["state", "-created_at"], name="event_state_created"),
            models.Index(fields=["node", "-created_at"], name="event_node_created"),
            models.Index(fields=["lat", "lng"], name="event_point"),
            models.Index(fields=["reporter", "-created_at"], name="event_reporter_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=State.values), name="event_state_known"
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=HandlingLevel.values), name="event_level_known"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=Source.values), name="event_source_known"
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=1, score__lte=5),
                name="event_score_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(duplicate_of__isnull=True) | models.Q(state="merged"),
                name="event_only_merged_has_original",
            ),
            models.CheckConstraint(
                condition=(models.Q(lng__isnull=True) & models.Q(lat__isnull=True))
                | (models.Q(lng__gte=-180, lng__lte=180) & models.Q(lat__gte=-90, lat__lte=90)),
                name="event_point_complete_and_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category.name if self.category_id else ''}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def has_point(self) -> bool:
        return self.lng is not None and self.lat is not None


class EventPhoto(models.Model):
    """A photo attached to an event; served only through the scoped photo view."""

    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="photos", verbose_name=_("事件")
    )
    file = models.FileField(_("照片"), upload_to="events/%Y/%m/")
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("事件照片")
        verbose_name_plural = _("事件照片")

    def __str__(self) -> str:
        return f"{self.event_id}/{self.pk}"


class EventTransition(models.Model):
    """One move of an event: who, when, from, to, what, why. Append-only.

    The database refuses UPDATE on this table (migration 0002); rows are only ever inserted, by
    `services.event_transition` in the transaction that changes the event.
    """

    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="transitions", verbose_name=_("事件")
    )
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人"), max_length=80)
    action = models.CharField(_("操作"), max_length=12, choices=Action.choices)
    from_state = models.CharField(_("原状态"), max_length=10, choices=State.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=10, choices=State.choices)
    from_level = models.CharField(
        _("原层级"), max_length=12, choices=HandlingLevel.choices, blank=True
    )
    to_level = models.CharField(_("新层级"), max_length=12, choices=HandlingLevel.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    data = models.JSONField(_("附加信息"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("事件流转记录")
        verbose_name_plural = _("事件流转记录")
        indexes = [models.Index(fields=["event", "at"], name="event_transition_event_at")]

    def __str__(self) -> str:
        return f"#{self.event_id} {self.action} {self.from_state}→{self.to_state}"

    def save(self, *args, **kwargs) -> None:
        # History is never rewritten; the database trigger is the real guard, this a clear error.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("event transitions are append-only")
        super().save(*args, **kwargs)


class DepartmentAssignment(models.Model):
    """One department's part in a whistled event: it must acknowledge (报到), then handle."""

    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("事件")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("部门")
    )
    street = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, related_name="+", verbose_name=_("吹哨街道")
    )
    state = models.CharField(
        _("状态"), max_length=12, choices=AssignmentState.choices, default=AssignmentState.WHISTLED
    )
    deadline = models.DateTimeField(_("办理时限"), null=True, blank=True)
    whistled_at = models.DateTimeField(_("吹哨时间"))
    whistled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("报到时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result = models.CharField(_("处置结果"), max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("吹哨派单")
        verbose_name_plural = _("吹哨派单")
        constraints = [
            models.UniqueConstraint(fields=["event", "department"], name="one_whistle_per_dept"),
            models.CheckConstraint(
                condition=models.Q(state__in=AssignmentState.values),
                name="assignment_state_known",
            ),
        ]
        indexes = [models.Index(fields=["department", "state"], name="assignment_dept_state")]

    def __str__(self) -> str:
        return f"#{self.event_id} → {self.department}"


class Open311Client(models.Model):
    """An Open311 client (a civic app, the 12345 hotline system) acting as a platform user.

    The `api_key` parameter of a GeoReport v2 POST is looked up here by its SHA-256; the key
    itself is shown once when created (`manage.py open311_client`) and never stored.
    """

    name = models.CharField(_("客户端名称"), max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="open311_clients",
        verbose_name=_("代表的用户"),
    )
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(_("密钥前缀"), max_length=8)
    source = models.CharField(
        _("事件来源"), max_length=10, choices=Source.choices, default=Source.RESIDENT
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Open311 客户端")
        verbose_name_plural = _("Open311 客户端")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

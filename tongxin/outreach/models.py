"""Services to residents (SPEC §6): micro-wishes, service orders, volunteer activities, hours,
service points.

Every scoped row carries the community node it belongs to (`community`) and is seen through that
node's path. Each workflow's state changes only in `services.py`, through the one move table of
its kind in `workflow.py`, with an append-only transition row written in the same transaction.
Volunteers, teams, service posts and in-service service records are the people app's
(`people.Volunteer`, `VolunteerTeam`, `ServicePost`, `ServiceRecord`): reused, not copied.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# ---------------------------------------------------------------------------------------------
# enums (named after their model: several apps have a `state` or `kind` with other choices)


class WishState(models.TextChoices):
    PENDING = "pending", _("待审核")
    DECLINED = "declined", _("未通过")
    OPEN = "open", _("待认领")
    CLAIMED = "claimed", _("已认领")
    FULFILLED = "fulfilled", _("待确认")
    CONFIRMED = "confirmed", _("已圆梦")
    WITHDRAWN = "withdrawn", _("已撤回")


class WishAction(models.TextChoices):
    POST = "post", _("发布心愿")
    APPROVE = "approve", _("审核通过")
    DECLINE = "decline", _("审核不通过")
    CLAIM = "claim", _("认领")
    FULFIL = "fulfil", _("兑现")
    CONFIRM = "confirm", _("确认圆梦")
    DISPUTE = "dispute", _("反馈未兑现")
    WITHDRAW = "withdraw", _("撤回")


class WishCategory(models.TextChoices):
    DAILY = "daily", _("生活用品")
    STUDY = "study", _("学习用品")
    HEALTH = "health", _("医疗健康")
    REPAIR = "repair", _("维修帮扶")
    CARE = "care", _("关爱陪伴")
    OTHER = "other", _("其他")


class OrderState(models.TextChoices):
    PLACED = "placed", _("待接单")
    TAKEN = "taken", _("已接单")
    DONE = "done", _("待回单")
    RATED = "rated", _("已回单")
    CANCELLED = "cancelled", _("已取消")


class OrderAction(models.TextChoices):
    PLACE = "place", _("下单")
    TAKE = "take", _("接单")
    RELEASE = "release", _("退单")
    COMPLETE = "complete", _("完成服务")
    RATE = "rate", _("回单评价")
    CANCEL = "cancel", _("取消")


class OrderKind(models.TextChoices):
    """Kinds of door-to-door service (seed 001: 代购、代办、维修、陪护、理发 …)."""

    ERRAND = "errand", _("代购")
    PAPERWORK = "paperwork", _("代办")
    REPAIR = "repair", _("维修")
    ESCORT = "escort", _("陪护")
    HAIRCUT = "haircut", _("理发")
    CLEANING = "cleaning", _("保洁")
    OTHER = "other", _("其他")


class ActivityState(models.TextChoices):
    PUBLISHED = "published", _("报名中")
    CANCELLED = "cancelled", _("已取消")


class SignupState(models.TextChoices):
    SIGNED_UP = "signed_up", _("已报名")
    CHECKED_IN = "checked_in", _("已签到")
    COMPLETED = "completed", _("已签退")
    CANCELLED = "cancelled", _("已取消")


class SignupAction(models.TextChoices):
    SIGN_UP = "sign_up", _("报名")
    CHECK_IN = "check_in", _("签到")
    CHECK_OUT = "check_out", _("签退")
    CANCEL = "cancel", _("取消报名")


class HoursClaimState(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已认定")
    REJECTED = "rejected", _("未认定")


class HoursClaimAction(models.TextChoices):
    LOG = "log", _("申报时长")
    APPROVE = "approve", _("认定")
    REJECT = "reject", _("不予认定")


class HoursSource(models.TextChoices):
    ACTIVITY = "activity", _("志愿活动")
    CLAIM = "claim", _("个人申报")
    IN_SERVICE = "in_service", _("在职党员服务")


class Recurrence(models.TextChoices):
    LAST_FRIDAY = "last_friday", _("每月最后一个星期五")
    WEEKLY = "weekly", _("每周")
    YEARLY_WEEK = "yearly_week", _("每年服务周（连续七天）")


class ServicePointKind(models.TextChoices):
    PARTY_CENTER = "party_center", _("党群服务中心")
    SERVICE_STATION = "station", _("便民服务站")
    VOLUNTEER = "volunteer", _("志愿服务站")
    MEDICAL = "medical", _("卫生服务站")
    ELDERLY = "elderly", _("居家养老服务点")
    OTHER = "other", _("其他")


# ---------------------------------------------------------------------------------------------
# transitions: one append-only history table per workflow, the same columns for each


class TransitionBase(models.Model):
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
    action = models.CharField(_("操作"), max_length=12)
    from_state = models.CharField(_("原状态"), max_length=12, blank=True)
    to_state = models.CharField(_("新状态"), max_length=12)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def save(self, *args, **kwargs) -> None:
        # History is never rewritten; the database trigger (migration 0002) is the real guard.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("transitions are append-only")
        super().save(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# micro-wishes 微心愿


class Wish(models.Model):
    community = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, related_name="wishes", verbose_name=_("社区")
    )
    title = models.CharField(_("心愿"), max_length=60)
    description = models.TextField(_("心愿说明"), max_length=1000, blank=True)
    category = models.CharField(_("类别"), max_length=10, choices=WishCategory.choices)
    photo = models.FileField(_("照片"), upload_to="outreach/wishes/%Y/%m/", blank=True)
    state = models.CharField(
        _("状态"), max_length=12, choices=WishState.choices, default=WishState.PENDING
    )
    poster = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="posted_wishes",
        verbose_name=_("心愿人"),
    )
    poster_name = models.CharField(_("心愿人"), max_length=50)
    decline_reason = models.CharField(_("不通过原因"), max_length=300, blank=True)
    vetted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claimed_wishes",
        verbose_name=_("认领人"),
    )
    claimed_unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claimed_wishes",
        verbose_name=_("认领单位"),
    )
    claimant_name = models.CharField(_("认领人"), max_length=120, blank=True)
    claimed_at = models.DateTimeField(_("认领时间"), null=True, blank=True)
    evidence = models.CharField(_("兑现说明"), max_length=500, blank=True)
    evidence_photo = models.FileField(_("兑现照片"), upload_to="outreach/wishes/%Y/%m/", blank=True)
    fulfilled_at = models.DateTimeField(_("兑现时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("发布时间"), db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("微心愿")
        verbose_name_plural = _("微心愿")
        indexes = [
            models.Index(fields=["community", "state"], name="wish_community_state"),
            models.Index(fields=["poster", "-created_at"], name="wish_poster_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=WishState.values), name="wish_state_known"
            ),
            models.CheckConstraint(
                condition=models.Q(category__in=WishCategory.values), name="wish_category_known"
            ),
            # Claimed and later states always say who claimed it.
            models.CheckConstraint(
                condition=~models.Q(state__in=["claimed", "fulfilled", "confirmed"])
                | models.Q(claimed_by__isnull=False),
                name="wish_claimed_has_claimant",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class WishTransition(TransitionBase):
    wish = models.ForeignKey(Wish, on_delete=models.PROTECT, related_name="transitions")

    class Meta(TransitionBase.Meta):
        verbose_name = _("心愿流转记录")
        verbose_name_plural = _("心愿流转记录")

    def __str__(self) -> str:
        return f"{self.wish_id} {self.action} {self.from_state}→{self.to_state}"


# ---------------------------------------------------------------------------------------------
# service orders 一呼百应


class VolunteerOffer(models.Model):
    """Which kinds of order a volunteer (people.Volunteer) offers: who hears of a new order."""

    volunteer = models.ForeignKey(
        "people.Volunteer", on_delete=models.CASCADE, related_name="offers"
    )
    kind = models.CharField(_("服务类别"), max_length=10, choices=OrderKind.choices)

    class Meta:
        ordering = ["volunteer_id", "kind"]
        verbose_name = _("志愿者服务类别")
        verbose_name_plural = _("志愿者服务类别")
        constraints = [
            models.UniqueConstraint(fields=["volunteer", "kind"], name="offer_once_per_kind"),
            models.CheckConstraint(
                condition=models.Q(kind__in=OrderKind.values), name="offer_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class ServiceOrder(models.Model):
    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="service_orders",
        verbose_name=_("社区"),
    )
    kind = models.CharField(_("服务类别"), max_length=10, choices=OrderKind.choices)
    description = models.CharField(_("服务需求"), max_length=500)
    address = models.CharField(_("服务地址"), max_length=200, blank=True)
    wanted_at = models.DateTimeField(_("期望时间"), null=True, blank=True)
    state = models.CharField(
        _("状态"), max_length=12, choices=OrderState.choices, default=OrderState.PLACED
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="placed_orders",
        verbose_name=_("下单人"),
    )
    placing_org = models.ForeignKey(
        "orgs.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("下单党组织"),
    )
    # The recipient: an account (a resident ordering for themself) or a person the community
    # orders for (代下单 for a special-group resident, who may have no account at all).
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="received_orders",
        verbose_name=_("服务对象账号"),
    )
    recipient_person = models.ForeignKey(
        "people.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_orders",
        verbose_name=_("服务对象"),
    )
    recipient_name = models.CharField(_("服务对象"), max_length=50)
    on_behalf = models.BooleanField(_("社区代下单"), default=False)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="taken_orders",
        verbose_name=_("接单人"),
    )
    taken_volunteer = models.ForeignKey(
        "people.Volunteer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="taken_orders",
        verbose_name=_("接单志愿者"),
    )
    taken_at = models.DateTimeField(_("接单时间"), null=True, blank=True)
    result = models.CharField(_("服务情况"), max_length=500, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    rating_comment = models.CharField(_("回单意见"), max_length=300, blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("回单人"),
    )
    rated_at = models.DateTimeField(_("回单时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("下单时间"), db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("服务订单")
        verbose_name_plural = _("服务订单")
        indexes = [models.Index(fields=["community", "state"], name="order_community_state")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=OrderState.values), name="order_state_known"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=OrderKind.values), name="order_kind_known"
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=1, score__lte=5),
                name="order_score_1_to_5",
            ),
            models.CheckConstraint(
                condition=~models.Q(state__in=["taken", "done", "rated"])
                | models.Q(taken_by__isnull=False),
                name="order_taken_has_taker",
            ),
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False)
                | models.Q(recipient_person__isnull=False),
                name="order_has_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"


class OrderTransition(TransitionBase):
    order = models.ForeignKey(ServiceOrder, on_delete=models.PROTECT, related_name="transitions")

    class Meta(TransitionBase.Meta):
        verbose_name = _("订单流转记录")
        verbose_name_plural = _("订单流转记录")

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {self.from_state}→{self.to_state}"


# ---------------------------------------------------------------------------------------------
# volunteer activities


class ActivityRule(models.Model):
    """A recurring activity (党员先锋日 on the last Friday, 在职党员义务服务周 …)."""

    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="activity_rules",
        verbose_name=_("社区"),
    )
    team = models.ForeignKey(
        "people.VolunteerTeam",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activity_rules",
        verbose_name=_("志愿服务队"),
    )
    post = models.ForeignKey(
        "people.ServicePost",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activity_rules",
        verbose_name=_("服务岗位"),
    )
    title = models.CharField(_("活动名称"), max_length=80)
    description = models.CharField(_("活动内容"), max_length=500, blank=True)
    place = models.CharField(_("活动地点"), max_length=120, blank=True)
    recurrence = models.CharField(_("重复规则"), max_length=12, choices=Recurrence.choices)
    weekday = models.PositiveSmallIntegerField(
        _("星期"), null=True, blank=True, help_text=_("每周规则：0 为星期一，6 为星期日")
    )
    month = models.PositiveSmallIntegerField(_("月"), null=True, blank=True)
    day = models.PositiveSmallIntegerField(_("日"), null=True, blank=True)
    start_time = models.TimeField(_("开始时间"))
    end_time = models.TimeField(_("结束时间"))
    capacity = models.PositiveIntegerField(_("名额"))
    points_per_hour = models.PositiveSmallIntegerField(_("每小时积分"), default=10)
    starts_on = models.DateField(_("生效日期"))
    ends_on = models.DateField(_("截止日期"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["community__path", "title"]
        verbose_name = _("周期活动规则")
        verbose_name_plural = _("周期活动规则")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recurrence__in=Recurrence.values), name="rule_recurrence_known"
            ),
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="rule_times_ordered"
            ),
            models.CheckConstraint(condition=models.Q(capacity__gt=0), name="rule_capacity_pos"),
        ]

    def __str__(self) -> str:
        return self.title


class Activity(models.Model):
    community = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, related_name="activities", verbose_name=_("社区")
    )
    team = models.ForeignKey(
        "people.VolunteerTeam",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("志愿服务队"),
    )
    post = models.ForeignKey(
        "people.ServicePost",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("服务岗位"),
    )
    rule = models.ForeignKey(
        ActivityRule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("周期规则"),
    )
    occurs_on = models.DateField(_("活动日期"))
    title = models.CharField(_("活动名称"), max_length=80)
    description = models.CharField(_("活动内容"), max_length=500, blank=True)
    place = models.CharField(_("活动地点"), max_length=120, blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    capacity = models.PositiveIntegerField(_("名额"))
    # Kept by the conditional UPDATE that admits a sign-up (never above capacity; SECURITY 19).
    signup_count = models.PositiveIntegerField(_("已报名"), default=0)
    points_per_hour = models.PositiveSmallIntegerField(_("每小时积分"), default=10)
    checkin_code = models.CharField(_("签到码"), max_length=8)
    state = models.CharField(
        _("状态"), max_length=12, choices=ActivityState.choices, default=ActivityState.PUBLISHED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("志愿活动")
        verbose_name_plural = _("志愿活动")
        indexes = [models.Index(fields=["community", "starts_at"], name="activity_comm_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ActivityState.values), name="activity_state_known"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="activity_times_ordered",
            ),
            models.CheckConstraint(condition=models.Q(capacity__gt=0), name="activity_cap_pos"),
            models.CheckConstraint(
                condition=models.Q(signup_count__lte=models.F("capacity")),
                name="activity_never_overbooked",
            ),
            # Generation by rule is idempotent: one activity per rule and day.
            models.UniqueConstraint(
                fields=["rule", "occurs_on"],
                condition=models.Q(rule__isnull=False),
                name="activity_once_per_rule_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.occurs_on:%Y-%m-%d}"

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.signup_count)


class Signup(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="signups")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activity_signups"
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("姓名"), max_length=50)
    state = models.CharField(
        _("状态"), max_length=12, choices=SignupState.choices, default=SignupState.SIGNED_UP
    )
    signed_up_at = models.DateTimeField(_("报名时间"))
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["signed_up_at", "id"]
        verbose_name = _("活动报名")
        verbose_name_plural = _("活动报名")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=SignupState.values), name="signup_state_known"
            ),
            models.UniqueConstraint(
                fields=["activity", "user"],
                condition=~models.Q(state="cancelled"),
                name="signup_once_per_activity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.activity}"


class SignupTransition(TransitionBase):
    signup = models.ForeignKey(Signup, on_delete=models.PROTECT, related_name="transitions")

    class Meta(TransitionBase.Meta):
        verbose_name = _("报名流转记录")
        verbose_name_plural = _("报名流转记录")

    def __str__(self) -> str:
        return f"{self.signup_id} {self.action} {self.from_state}→{self.to_state}"


class HoursClaim(models.Model):
    """Hours a volunteer logs themself (服务时长申报), credited once the community approves."""

    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="hours_claims",
        verbose_name=_("社区"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hours_claims"
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("姓名"), max_length=50)
    served_on = models.DateField(_("服务日期"))
    hours = models.DecimalField(_("服务时长（小时）"), max_digits=4, decimal_places=1)
    description = models.CharField(_("服务内容"), max_length=300)
    state = models.CharField(
        _("状态"), max_length=12, choices=HoursClaimState.choices, default=HoursClaimState.PENDING
    )
    review_note = models.CharField(_("审核意见"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("申报时间"))
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("服务时长申报")
        verbose_name_plural = _("服务时长申报")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=HoursClaimState.values), name="hours_claim_state_known"
            ),
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) & models.Q(hours__lte=24),
                name="hours_claim_in_a_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.served_on} {self.hours}h"


class HoursClaimTransition(TransitionBase):
    claim = models.ForeignKey(HoursClaim, on_delete=models.PROTECT, related_name="transitions")

    class Meta(TransitionBase.Meta):
        verbose_name = _("时长申报流转记录")
        verbose_name_plural = _("时长申报流转记录")

    def __str__(self) -> str:
        return f"{self.claim_id} {self.action} {self.from_state}→{self.to_state}"


class HoursEntry(models.Model):
    """The hours-and-points ledger: one row per credit, never edited (activity or approved claim).

    In-service members' service records stay in people.ServiceRecord and are added in by the
    selectors (`hours_summary`), so they are never counted twice.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hours_entries"
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    community = models.ForeignKey("orgs.OrgNode", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("来源"), max_length=12, choices=HoursSource.choices)
    signup = models.OneToOneField(
        Signup, on_delete=models.PROTECT, null=True, blank=True, related_name="credit"
    )
    claim = models.OneToOneField(
        HoursClaim, on_delete=models.PROTECT, null=True, blank=True, related_name="credit"
    )
    served_on = models.DateField(_("服务日期"))
    hours = models.DecimalField(_("时长（小时）"), max_digits=5, decimal_places=1)
    points = models.PositiveIntegerField(_("积分"), default=0)
    description = models.CharField(_("内容"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-served_on", "-id"]
        verbose_name = _("服务时长积分")
        verbose_name_plural = _("服务时长积分")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=HoursSource.values), name="hours_source_known"
            ),
            models.CheckConstraint(
                condition=models.Q(hours__gte=Decimal("0")), name="hours_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.served_on} {self.hours}h {self.points}"


# ---------------------------------------------------------------------------------------------
# service points 百米服务圈


class ServicePoint(models.Model):
    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="service_points",
        verbose_name=_("社区"),
    )
    grid = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grid_service_points",
        verbose_name=_("所在网格"),
    )
    name = models.CharField(_("名称"), max_length=80)
    kind = models.CharField(_("类别"), max_length=14, choices=ServicePointKind.choices)
    address = models.CharField(_("地址"), max_length=200)
    # WGS-84 degrees (GCJ-02 / BD-09 input is converted before it gets here).
    lng = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    opening_hours = models.CharField(_("服务时间"), max_length=100, blank=True)
    contact = models.CharField(_("联系方式"), max_length=60, blank=True)
    services = models.CharField(_("服务内容"), max_length=300, blank=True)
    team = models.ForeignKey(
        "people.VolunteerTeam",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="service_points",
        verbose_name=_("驻点志愿服务队"),
    )
    active = models.BooleanField(_("启用"), default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["community__path", "name"]
        verbose_name = _("服务点")
        verbose_name_plural = _("服务点")
        indexes = [models.Index(fields=["lat", "lng"], name="service_point_latlng")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ServicePointKind.values), name="point_kind_known"
            ),
            models.CheckConstraint(
                condition=models.Q(lng__gte=-180, lng__lte=180, lat__gte=-90, lat__lte=90),
                name="point_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

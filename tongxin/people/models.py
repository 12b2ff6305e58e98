"""People (SPEC §2): persons with protected personal data, party members in six categories,
in-service reporting, floating members, transfers, dues, buildings, households, residents,
special groups, volunteers.

Scope is data: every row reaches an org node (a person's community or grid; a building's or
household's grid; a registration's community) and is seen through that node's path.
ID numbers and phones are `SealedField`s: ciphertext, blind index and masked copy, never plain.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.core.fields import SealedField, mask_id_number, mask_phone

# ---------------------------------------------------------------------------------------------
# persons


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


def normalize_phone(value: str) -> str:
    # 0594-2345678 and 05942345678 are one number: index the digits only.
    return "".join(ch for ch in value if ch.isdigit())


class Person(models.Model):
    """One human being. Unique by ID number (through the blind index); never deleted."""

    node = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, related_name="persons", verbose_name=_("所属网格")
    )
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=6, choices=Gender.choices, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=20, default="汉族", blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    id_number = SealedField(
        purpose="people.person.id_number",
        mask=mask_id_number,
        verbose_name="身份证号",
        masked_length=18,
    )
    phone = SealedField(
        purpose="people.person.phone",
        mask=mask_phone,
        normalize=normalize_phone,
        verbose_name="联系电话",
        masked_length=20,
    )
    address = models.CharField(_("住址"), max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
        verbose_name=_("平台账号"),
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["node__path", "name", "id"]
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        constraints = [
            # Duplicate detection by ID number works on the blind index (SECURITY.md 11).
            models.UniqueConstraint(
                fields=["id_number_index"],
                condition=~models.Q(id_number_index=""),
                name="person_id_number_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(gender__in=["", *Gender.values]), name="person_gender_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def age_on(self, on: date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class SpecialGroup(models.TextChoices):
    """Groups a community serves (SPEC §2, seed 002 "五助二扶一带")."""

    ELDERLY_ALONE = "elderly_alone", _("空巢独居老人")
    SENIOR_MEMBER = "senior_member", _("70岁以上老党员")
    DISABLED = "disabled", _("残疾人")
    LOW_INCOME = "low_income", _("低保户")
    HARDSHIP = "hardship", _("困难户")
    VETERAN_FAMILY = "veteran_family", _("优抚对象")
    LAID_OFF = "laid_off", _("下岗职工")
    MIGRANT_WORKER = "migrant_worker", _("进城务工人员")
    STUDENT_HARDSHIP = "student_hardship", _("困难学生")
    RELEASED = "released", _("刑满释放人员")


# Health, financial hardship and criminal records are sensitive personal information (PIPL §28):
# only the community that serves the person sees who is in these groups (SECURITY.md 13).
SENSITIVE_GROUPS = frozenset(
    {
        SpecialGroup.DISABLED,
        SpecialGroup.LOW_INCOME,
        SpecialGroup.HARDSHIP,
        SpecialGroup.STUDENT_HARDSHIP,
        SpecialGroup.RELEASED,
    }
)
OPEN_GROUPS = frozenset(set(SpecialGroup) - SENSITIVE_GROUPS)


class PersonGroup(models.Model):
    """A person's membership of a special group (a tag with since/until and a note)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="groups")
    group = models.CharField(_("人群类别"), max_length=20, choices=SpecialGroup.choices)
    since = models.DateField(_("认定日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group"]
        verbose_name = _("特殊人群标记")
        verbose_name_plural = _("特殊人群标记")
        constraints = [
            models.UniqueConstraint(fields=["person", "group"], name="person_group_once"),
            models.CheckConstraint(
                condition=models.Q(group__in=SpecialGroup.values), name="person_group_known"
            ),
        ]

    def __str__(self) -> str:
        return self.get_group_display()

    @property
    def sensitive(self) -> bool:
        return self.group in SENSITIVE_GROUPS


# ---------------------------------------------------------------------------------------------
# buildings, households, residents (基础信息采集)


class Building(models.Model):
    node = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, related_name="buildings", verbose_name=_("网格")
    )
    name = models.CharField(_("楼栋名称"), max_length=60)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    floors = models.PositiveSmallIntegerField(_("层数"), default=0)
    entrances = models.PositiveSmallIntegerField(_("单元数"), default=1)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["node__path", "name", "id"]
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        constraints = [
            models.UniqueConstraint(fields=["node", "name"], name="building_name_per_grid")
        ]

    def __str__(self) -> str:
        return self.name


class HouseholdType(models.TextChoices):
    REGISTERED = "registered", _("户籍户")
    RESIDENT = "resident", _("常住户")
    RENTING = "renting", _("租住户")
    VACANT = "vacant", _("空置户")


class Household(models.Model):
    node = models.ForeignKey(
        "orgs.OrgNode", on_delete=models.PROTECT, related_name="households", verbose_name=_("网格")
    )
    building = models.ForeignKey(
        Building,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="households",
        verbose_name=_("楼栋"),
    )
    door = models.CharField(_("门牌/房号"), max_length=40)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    household_type = models.CharField(
        _("户别"), max_length=12, choices=HouseholdType.choices, default=HouseholdType.RESIDENT
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["node__path", "building__name", "door", "id"]
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        constraints = [
            models.UniqueConstraint(
                fields=["building", "door"],
                condition=models.Q(building__isnull=False),
                name="household_door_per_building",
            ),
            models.CheckConstraint(
                condition=models.Q(household_type__in=HouseholdType.values),
                name="household_type_known",
            ),
        ]

    def __str__(self) -> str:
        if self.building_id:
            return f"{self.building.name} {self.door}"
        return self.door


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙辈")
    OTHER = "other", _("其他")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    PERMANENT = "permanent", _("常住人口")
    FLOATING = "floating", _("流动人口")


class Resident(models.Model):
    """A person living in a household of a grid (their role as a resident of the community)."""

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="resident")
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name=_("住户"),
    )
    relation = models.CharField(
        _("与户主关系"), max_length=12, choices=Relation.choices, default=Relation.HEAD
    )
    residence_type = models.CharField(
        _("人口类别"), max_length=12, choices=ResidenceType.choices, default=ResidenceType.PERMANENT
    )
    moved_in_on = models.DateField(_("入住日期"), null=True, blank=True)
    moved_out_on = models.DateField(_("迁出日期"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["person__node__path", "person__name", "id"]
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(relation__in=Relation.values), name="resident_relation_known"
            ),
            models.CheckConstraint(
                condition=models.Q(residence_type__in=ResidenceType.values),
                name="resident_type_known",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=models.Q(relation="head", moved_out_on__isnull=True),
                name="one_head_per_household",
            ),
        ]

    def __str__(self) -> str:
        return str(self.person)


# ---------------------------------------------------------------------------------------------
# party members


class Category(models.TextChoices):
    """The six categories of seed 000 (SPEC §2 table); the API codes are these values."""

    REGISTERED = "registered", _("在册党员")
    IN_SERVICE = "in_service", _("在职党员")
    NEW_SECTOR = "new_sector", _("新兴领域党员")
    RETIRED = "retired", _("离退休党员")
    LAID_OFF = "laid_off", _("下岗职工党员")
    FLOATING = "floating", _("流动党员")


class ManagementMode(models.TextChoices):
    DIRECT = "direct", _("直管")
    DUAL = "dual", _("双管")
    ENTRUSTED = "entrusted", _("托管")
    TAKEN_OVER = "taken_over", _("接管")
    CO_MANAGED = "co_managed", _("协管")


# Seed 000: 在册党员"直管"、在职党员和新兴领域党员"双管"、离退休党员"托管"、下岗职工党员"接管"、
# 流动党员"协管".
MANAGEMENT_MODE: dict[str, str] = {
    Category.REGISTERED: ManagementMode.DIRECT,
    Category.IN_SERVICE: ManagementMode.DUAL,
    Category.NEW_SECTOR: ManagementMode.DUAL,
    Category.RETIRED: ManagementMode.ENTRUSTED,
    Category.LAID_OFF: ManagementMode.TAKEN_OVER,
    Category.FLOATING: ManagementMode.CO_MANAGED,
}
# Categories whose members work in a unit (the unit is the other half of 双管).
UNIT_CATEGORIES = frozenset({Category.IN_SERVICE, Category.NEW_SECTOR})


class MembershipType(models.TextChoices):
    FULL = "full", _("正式党员")
    PROBATIONARY = "probationary", _("预备党员")


class MemberStatus(models.TextChoices):
    NORMAL = "normal", _("正常")
    SUSPENDED = "suspended", _("停止党籍")
    EXPELLED = "expelled", _("出党")
    DECEASED = "deceased", _("死亡")
    TRANSFERRED_OUT = "transferred_out", _("已转出")


# Members who take part in branch life and pay dues.
ACTIVE_STATUSES = frozenset({MemberStatus.NORMAL})


class DuesClass(models.TextChoices):
    """Which rule of the dues standard applies (SPEC §2; 中共中央组织部《关于中国共产党党费收缴、
    使用和管理的规定》2008)."""

    SALARIED = "salaried", _("在职（按税后工资）")
    RETIRED = "retired", _("离退休（按离退休费）")
    STUDENT = "student", _("学生")
    LAID_OFF = "laid_off", _("下岗失业")
    LOW_INCOME = "low_income", _("领取最低生活保障金")


FIXED_DUES_CLASSES = frozenset({DuesClass.STUDENT, DuesClass.LAID_OFF, DuesClass.LOW_INCOME})


class PartyMember(models.Model):
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="membership")
    category = models.CharField(_("党员类别"), max_length=12, choices=Category.choices)
    joined_on = models.DateField(_("入党日期"))
    membership_type = models.CharField(
        _("党员身份"), max_length=12, choices=MembershipType.choices, default=MembershipType.FULL
    )
    full_on = models.DateField(
        _("转正日期"), null=True, blank=True, help_text=_("预备党员为预备期满日期")
    )
    status = models.CharField(
        _("党籍状态"), max_length=16, choices=MemberStatus.choices, default=MemberStatus.NORMAL
    )
    status_since = models.DateField(_("状态起始"), null=True, blank=True)
    status_note = models.CharField(_("状态说明"), max_length=200, blank=True)
    organization = models.ForeignKey(
        "orgs.PartyOrganization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("组织关系所在党组织"),
    )
    organization_name = models.CharField(
        _("组织关系所在"), max_length=120, blank=True, help_text=_("本系统以外的党组织填写名称")
    )
    branch = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="active_members",
        verbose_name=_("活动所在网格党支部"),
    )
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="party_members_list",
        verbose_name=_("工作单位"),
    )
    work_unit_name = models.CharField(_("工作单位名称"), max_length=120, blank=True)
    dues_class = models.CharField(
        _("党费计算类别"), max_length=12, choices=DuesClass.choices, default=DuesClass.SALARIED
    )
    monthly_income = models.DecimalField(
        _("月收入（税后）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["person__node__path", "person__name", "id"]
        verbose_name = _("党员")
        verbose_name_plural = _("党员")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=Category.values), name="member_category_known"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=MemberStatus.values), name="member_status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(membership_type__in=MembershipType.values),
                name="member_type_known",
            ),
            models.CheckConstraint(
                condition=models.Q(dues_class__in=DuesClass.values), name="member_dues_class_known"
            ),
            models.CheckConstraint(
                condition=models.Q(full_on__isnull=True)
                | models.Q(full_on__gte=models.F("joined_on")),
                name="member_full_after_join",
            ),
            models.CheckConstraint(
                condition=models.Q(monthly_income__isnull=True) | models.Q(monthly_income__gte=0),
                name="member_income_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["category", "status"], name="member_category_status")]

    def __str__(self) -> str:
        return str(self.person)

    @property
    def management_mode(self) -> str:
        return MANAGEMENT_MODE[self.category]

    def get_management_mode_display(self) -> str:
        return str(ManagementMode(self.management_mode).label)

    @property
    def organization_label(self) -> str:
        return self.organization.name if self.organization_id else self.organization_name

    @property
    def unit_label(self) -> str:
        return self.unit.name if self.unit_id else self.work_unit_name


class TransferKind(models.TextChoices):
    INTERNAL = "internal", _("系统内转接")
    OUT = "out", _("转出本系统")
    IN = "in", _("从系统外转入")


class MemberTransfer(models.Model):
    """组织关系转接: one row per move, append-only. The member row stays, whatever happens."""

    member = models.ForeignKey(PartyMember, on_delete=models.PROTECT, related_name="transfers")
    kind = models.CharField(_("转接类型"), max_length=10, choices=TransferKind.choices)
    from_organization = models.ForeignKey(
        "orgs.PartyOrganization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_name = models.CharField(_("转出党组织"), max_length=120, blank=True)
    to_organization = models.ForeignKey(
        "orgs.PartyOrganization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_name = models.CharField(_("转入党组织"), max_length=120, blank=True)
    transferred_on = models.DateField(_("转接日期"))
    letter_no = models.CharField(_("介绍信编号"), max_length=40, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-transferred_on", "-id"]
        verbose_name = _("组织关系转接")
        verbose_name_plural = _("组织关系转接")

    def __str__(self) -> str:
        return f"{self.member} {self.from_name} → {self.to_name}"


class FloatDirection(models.TextChoices):
    OUT = "out", _("流出")
    IN = "in", _("流入")


class FloatingRecord(models.Model):
    """A floating member's out-flow or in-flow: where, since when, whom to contact there."""

    member = models.ForeignKey(PartyMember, on_delete=models.PROTECT, related_name="floating")
    direction = models.CharField(_("流向"), max_length=4, choices=FloatDirection.choices)
    place = models.CharField(_("流入/流出地"), max_length=120)
    org_name = models.CharField(_("对方党组织"), max_length=120, blank=True)
    reason = models.CharField(_("外出/流入原因"), max_length=60, blank=True)
    since = models.DateField(_("起始日期"))
    until = models.DateField(_("结束日期"), null=True, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = SealedField(
        purpose="people.floating.contact_phone",
        mask=mask_phone,
        normalize=normalize_phone,
        verbose_name="联系电话",
        masked_length=20,
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-since", "-id"]
        verbose_name = _("流动党员记录")
        verbose_name_plural = _("流动党员记录")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(until__isnull=True) | models.Q(until__gte=models.F("since")),
                name="floating_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.get_direction_display()} {self.place}"


# ---------------------------------------------------------------------------------------------
# in-service members reporting to their residence community (在职党员到社区报到)


class ServicePost(models.Model):
    """A service post a community offers (seed 000: 15 kinds: 政策宣教, 治安巡逻, …)."""

    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="service_posts",
        verbose_name=_("社区"),
    )
    name = models.CharField(_("岗位名称"), max_length=60)
    description = models.CharField(_("岗位职责"), max_length=200, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["community__path", "name"]
        verbose_name = _("服务岗位")
        verbose_name_plural = _("服务岗位")
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="post_name_per_community")
        ]

    def __str__(self) -> str:
        return self.name


class Registration(models.Model):
    """An in-service member's registration (报到) with their residence community."""

    member = models.ForeignKey(PartyMember, on_delete=models.PROTECT, related_name="registrations")
    community = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="registrations",
        verbose_name=_("报到社区"),
    )
    unit = models.ForeignKey(
        "orgs.ResidentUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registrations",
        verbose_name=_("工作单位"),
    )
    unit_name = models.CharField(_("工作单位名称"), max_length=120, blank=True)
    registered_on = models.DateField(_("报到日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    posts = models.ManyToManyField(
        ServicePost, blank=True, related_name="registrations", verbose_name=_("认领岗位")
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["community__path", "-registered_on", "id"]
        verbose_name = _("在职党员报到")
        verbose_name_plural = _("在职党员报到")
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=models.Q(ended_on__isnull=True),
                name="one_open_registration_per_member",
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.community}"

    @property
    def unit_label(self) -> str:
        return self.unit.name if self.unit_id else self.unit_name


class ServiceRecord(models.Model):
    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="records")
    post = models.ForeignKey(
        ServicePost, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("服务岗位")
    )
    served_on = models.DateField(_("服务日期"))
    hours = models.DecimalField(_("服务时长（小时）"), max_digits=5, decimal_places=1)
    description = models.CharField(_("服务内容"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-served_on", "-id"]
        verbose_name = _("服务记录")
        verbose_name_plural = _("服务记录")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) & models.Q(hours__lte=24),
                name="service_hours_in_a_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.served_on} {self.hours}h"


class Rating(models.TextChoices):
    EXCELLENT = "excellent", _("优秀")
    QUALIFIED = "qualified", _("合格")
    BASIC = "basic", _("基本合格")
    UNQUALIFIED = "unqualified", _("不合格")


class YearRating(models.Model):
    """The community's year-end rating of a reporting member, sent back to the unit (双向约束)."""

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="ratings")
    year = models.PositiveSmallIntegerField(_("年度"))
    rating = models.CharField(_("评价等次"), max_length=12, choices=Rating.choices)
    comment = models.CharField(_("评语"), max_length=300, blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    rated_at = models.DateTimeField(auto_now_add=True)
    notified_liaisons = models.PositiveSmallIntegerField(_("已通知单位联络员"), default=0)

    class Meta:
        ordering = ["-year", "id"]
        verbose_name = _("年度评价")
        verbose_name_plural = _("年度评价")
        constraints = [
            models.UniqueConstraint(fields=["registration", "year"], name="one_rating_per_year"),
            models.CheckConstraint(
                condition=models.Q(rating__in=Rating.values), name="rating_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.get_rating_display()}"


# ---------------------------------------------------------------------------------------------
# party dues


class DuesLedger(models.Model):
    """One member's dues for one month: the standard, what is due, what was paid."""

    member = models.ForeignKey(PartyMember, on_delete=models.PROTECT, related_name="dues")
    month = models.DateField(_("月份"), help_text=_("该月第一天"))
    branch = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("所在党支部"),
    )
    dues_class = models.CharField(_("计算类别"), max_length=12, choices=DuesClass.choices)
    income = models.DecimalField(
        _("计算基数"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    rate = models.DecimalField(_("比例"), max_digits=5, decimal_places=4, null=True, blank=True)
    standard = models.DecimalField(_("标准"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("应交"), max_digits=10, decimal_places=2)
    override_reason = models.CharField(_("调整原因"), max_length=200, blank=True)
    paid = models.DecimalField(_("已交"), max_digits=10, decimal_places=2, default=Decimal("0"))
    paid_on = models.DateField(_("交清日期"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-month", "member_id"]
        verbose_name = _("党费台账")
        verbose_name_plural = _("党费台账")
        constraints = [
            models.UniqueConstraint(fields=["member", "month"], name="dues_once_per_month"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0) & models.Q(paid__gte=0),
                name="dues_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(paid__lte=models.F("amount")), name="dues_not_overpaid"
            ),
        ]
        indexes = [models.Index(fields=["month", "branch"], name="dues_month_branch")]

    def __str__(self) -> str:
        return f"{self.member} {self.month:%Y-%m}"

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid

    @property
    def is_paid(self) -> bool:
        return self.paid >= self.amount


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("现金")
    TRANSFER = "transfer", _("银行转账")
    MOBILE = "mobile", _("移动支付")


class DuesPayment(models.Model):
    ledger = models.ForeignKey(DuesLedger, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("金额"), max_digits=10, decimal_places=2)
    paid_on = models.DateField(_("交纳日期"))
    method = models.CharField(
        _("方式"), max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.CASH
    )
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("代收人"),
        help_text=_("网格员上门代收党费时记录代收人"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        verbose_name = _("党费交纳")
        verbose_name_plural = _("党费交纳")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_positive")
        ]

    def __str__(self) -> str:
        return f"{self.ledger} {self.amount}"


# ---------------------------------------------------------------------------------------------
# volunteers


class VolunteerTeam(models.Model):
    node = models.ForeignKey(
        "orgs.OrgNode",
        on_delete=models.PROTECT,
        related_name="volunteer_teams",
        verbose_name=_("所属组织"),
    )
    name = models.CharField(_("队伍名称"), max_length=80)
    service_area = models.CharField(_("服务领域"), max_length=60, blank=True)
    leader = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("队长"),
    )
    founded_on = models.DateField(_("成立日期"), null=True, blank=True)
    description = models.CharField(_("简介"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["node__path", "name"]
        verbose_name = _("志愿服务队")
        verbose_name_plural = _("志愿服务队")
        constraints = [
            models.UniqueConstraint(
                fields=["node", "name"],
                condition=models.Q(closed_at__isnull=True),
                name="team_name_per_node",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Volunteer(models.Model):
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="volunteer")
    teams = models.ManyToManyField(VolunteerTeam, blank=True, related_name="volunteers")
    skills = models.CharField(_("特长"), max_length=200, blank=True)
    registered_on = models.DateField(_("注册日期"))
    service_hours = models.DecimalField(
        _("累计服务时长"), max_digits=8, decimal_places=1, default=Decimal("0")
    )
    active = models.BooleanField(_("在册"), default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["person__node__path", "person__name"]
        verbose_name = _("志愿者")
        verbose_name_plural = _("志愿者")

    def __str__(self) -> str:
        return str(self.person)

"""The organization network: territorial tree, party organizations, resident units, committees."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

PATH_SEGMENT_LENGTH = 4  # base-36 characters per level: 1.6 million siblings under one parent


class Level(models.TextChoices):
    DISTRICT = "district", _("区（县级市）")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")
    GRID = "grid", _("网格")
    GROUP = "group", _("楼栋（党小组）")


# The only parent level each level may hang under (SPEC §1): the tree is strictly layered.
PARENT_LEVEL: dict[str, str | None] = {
    Level.DISTRICT: None,
    Level.STREET: Level.DISTRICT,
    Level.COMMUNITY: Level.STREET,
    Level.GRID: Level.COMMUNITY,
    Level.GROUP: Level.GRID,
}
CHILD_LEVEL: dict[str, str | None] = {
    Level.DISTRICT: Level.STREET,
    Level.STREET: Level.COMMUNITY,
    Level.COMMUNITY: Level.GRID,
    Level.GRID: Level.GROUP,
    Level.GROUP: None,
}


class OrgNode(models.Model):
    """A territorial node. `path` is materialized (`0001.000A.`) so a subtree is one prefix scan."""

    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=40, blank=True, db_index=True)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级"),
    )
    path = models.CharField(max_length=255, unique=True)
    depth = models.PositiveSmallIntegerField(default=1)
    child_seq = models.PositiveIntegerField(default=0, help_text="last path segment handed out")
    address = models.CharField(_("地址"), max_length=200, blank=True)
    closed_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    closed_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["path"]
        verbose_name = _("组织节点")
        verbose_name_plural = _("组织节点")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=[lv.value for lv in Level]), name="node_level_known"
            ),
            models.CheckConstraint(
                condition=models.Q(parent__isnull=True, level=Level.DISTRICT)
                | (models.Q(parent__isnull=False) & ~models.Q(level=Level.DISTRICT)),
                name="node_only_districts_are_roots",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def ancestor_paths(self) -> list[str]:
        step = PATH_SEGMENT_LENGTH + 1
        return [self.path[:end] for end in range(step, len(self.path) + 1, step)]


class NodeChangeKind(models.TextChoices):
    CREATED = "created", _("设立")
    RENAMED = "renamed", _("更名")
    EDITED = "edited", _("修改")
    MOVED = "moved", _("调整隶属")
    CLOSED = "closed", _("撤销")
    REOPENED = "reopened", _("恢复")


class NodeChange(models.Model):
    """History of a node: what changed, from what to what, by whom. Append-only."""

    node = models.ForeignKey(OrgNode, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(_("变更类型"), max_length=10, choices=NodeChangeKind.choices)
    before = models.JSONField(_("变更前"), default=dict, blank=True)
    after = models.JSONField(_("变更后"), default=dict, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("组织沿革")
        verbose_name_plural = _("组织沿革")

    def __str__(self) -> str:
        return f"{self.node} {self.get_kind_display()}"


class OrgKind(models.TextChoices):
    PARTY_COMMITTEE = "committee", _("党委")
    WORKING_COMMITTEE = "working_committee", _("党工委")
    GENERAL_BRANCH = "general_branch", _("党总支")
    BRANCH = "branch", _("党支部")
    GROUP = "group", _("党小组")


class OrgCategory(models.TextChoices):
    TERRITORIAL = "territorial", _("属地党组织")
    TEMPORARY = "temporary", _("临时党支部")
    JOINT = "joint", _("联合党支部")
    BUILDING = "building", _("楼宇党组织")
    BUSINESS_DISTRICT = "business_district", _("商圈党组织")


class PartyOrganization(models.Model):
    node = models.ForeignKey(
        OrgNode, on_delete=models.PROTECT, related_name="party_orgs", verbose_name=_("所在节点")
    )
    name = models.CharField(_("党组织名称"), max_length=120)
    kind = models.CharField(_("组织类别"), max_length=20, choices=OrgKind.choices)
    category = models.CharField(
        _("设置方式"), max_length=20, choices=OrgCategory.choices, default=OrgCategory.TERRITORIAL
    )
    secretary = models.CharField(_("书记"), max_length=50, blank=True)
    contact = models.CharField(_("办公电话"), max_length=40, blank=True)
    founded_on = models.DateField(_("成立日期"), null=True, blank=True)
    project = models.CharField(
        _("依托项目"), max_length=120, blank=True, help_text=_("临时党支部依托的项目或工地")
    )
    starts_on = models.DateField(_("起始日期"), null=True, blank=True)
    ends_on = models.DateField(_("终止日期"), null=True, blank=True)
    covered_units = models.ManyToManyField(
        "ResidentUnit", blank=True, related_name="joint_orgs", verbose_name=_("覆盖单位")
    )
    closed_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["node__path", "id"]
        verbose_name = _("党组织")
        verbose_name_plural = _("党组织")
        constraints = [
            models.UniqueConstraint(
                fields=["node"],
                condition=models.Q(category="territorial", closed_at__isnull=True),
                name="one_territorial_org_per_node",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(starts_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="party_org_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class UnitType(models.TextChoices):
    AGENCY = "agency", _("机关")
    INSTITUTION = "institution", _("事业单位")
    SOE = "soe", _("国有企业")
    NON_PUBLIC = "non_public", _("非公有制企业")
    SOCIAL_ORG = "social_org", _("社会组织")
    PROPERTY = "property", _("物业服务企业")
    OWNERS_COMMITTEE = "owners_committee", _("业主委员会")


# "两新"组织: the units whose party-organization coverage the district reports on (SPEC §1).
NEW_SECTOR_TYPES = (UnitType.NON_PUBLIC, UnitType.SOCIAL_ORG)


class PartyStatus(models.TextChoices):
    OWN = "own", _("单独组建")
    JOINT = "joint", _("联合组建")
    INSTRUCTOR = "instructor", _("仅选派党建指导员")
    NONE = "none", _("未覆盖")


class ResidentUnit(models.Model):
    """A unit located in the territory; its own party organization sits outside the tree."""

    name = models.CharField(_("单位名称"), max_length=120)
    unit_type = models.CharField(_("单位类型"), max_length=20, choices=UnitType.choices)
    node = models.ForeignKey(
        OrgNode, on_delete=models.PROTECT, related_name="units", verbose_name=_("所在社区/网格")
    )
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    employees = models.PositiveIntegerField(_("从业人员数"), default=0)
    party_members = models.PositiveIntegerField(_("党员数"), default=0)
    party_status = models.CharField(
        _("党组织覆盖"), max_length=12, choices=PartyStatus.choices, default=PartyStatus.NONE
    )
    party_org_name = models.CharField(_("单位党组织名称"), max_length=120, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    closed_at = models.DateTimeField(_("注销时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["node__path", "name"]
        verbose_name = _("驻区单位")
        verbose_name_plural = _("驻区单位")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unit_type__in=[t.value for t in UnitType]),
                name="unit_type_known",
            ),
            models.CheckConstraint(
                condition=models.Q(party_status__in=[s.value for s in PartyStatus]),
                name="unit_party_status_known",
            ),
            # A credit code identifies one legal entity: two open units may not share it, but a
            # closed unit's code may come back (re-registration after a move).
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=models.Q(closed_at__isnull=True) & ~models.Q(credit_code=""),
                name="unit_credit_code_unique_open",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class InstructorAssignment(models.Model):
    """A party-building instructor (党建指导员) sent to a unit without its own organization."""

    unit = models.ForeignKey(
        ResidentUnit, on_delete=models.PROTECT, related_name="instructors", verbose_name=_("单位")
    )
    instructor_name = models.CharField(_("指导员姓名"), max_length=50)
    instructor_post = models.CharField(_("指导员职务"), max_length=100, blank=True)
    starts_on = models.DateField(_("选派日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("党建指导员")
        verbose_name_plural = _("党建指导员")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="instructor_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.instructor_name} → {self.unit}"

    @property
    def is_active(self) -> bool:
        return self.ends_on is None


# Part-time committee size norms (SPEC §1, seed 003): street 大工委 8–10, community 大党委 3–5.
COMMITTEE_SIZE_NORMS: dict[str, tuple[int, int]] = {
    Level.STREET: (8, 10),
    Level.COMMUNITY: (3, 5),
}


class CommitteeMember(models.Model):
    """A part-time member (兼职委员) of a street 大工委 or community 大党委."""

    body = models.ForeignKey(
        OrgNode,
        on_delete=models.PROTECT,
        related_name="committee_members",
        verbose_name=_("所属大工委/大党委"),
    )
    person_name = models.CharField(_("姓名"), max_length=50)
    unit = models.ForeignKey(
        ResidentUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="committee_seats",
        verbose_name=_("所在单位"),
    )
    unit_post = models.CharField(_("单位职务"), max_length=100, blank=True)
    duty = models.CharField(_("委员职责（设岗定责）"), max_length=200)
    public_commitment = models.TextField(_("公开承诺"), blank=True)
    term_start = models.DateField(_("任期开始"))
    term_end = models.DateField(_("任期结束"), null=True, blank=True)
    left_on = models.DateField(_("离任日期"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["body__path", "term_start", "id"]
        verbose_name = _("兼职委员")
        verbose_name_plural = _("兼职委员")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__isnull=True)
                | models.Q(term_end__gte=models.F("term_start")),
                name="committee_term_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(left_on__isnull=True)
                | models.Q(left_on__gte=models.F("term_start")),
                name="committee_left_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.person_name

    @property
    def has_left(self) -> bool:
        return self.left_on is not None


class ContactPoint(models.Model):
    """A leader's contact point (领导联系点): a leader linked to a community."""

    leader_name = models.CharField(_("联系领导"), max_length=50)
    leader_title = models.CharField(_("职务"), max_length=100)
    community = models.ForeignKey(
        OrgNode, on_delete=models.PROTECT, related_name="contact_points", verbose_name=_("联系社区")
    )
    starts_on = models.DateField(_("联系起始"))
    ends_on = models.DateField(_("联系结束"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["community__path", "leader_name"]
        verbose_name = _("领导联系点")
        verbose_name_plural = _("领导联系点")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="contact_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.leader_name} · {self.community}"


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("谋划中")
    ONGOING = "ongoing", _("推进中")
    DONE = "done", _("已完成")


class ContactProject(models.Model):
    """A party-building project a leader leads at their contact point (领办项目)."""

    contact_point = models.ForeignKey(
        ContactPoint, on_delete=models.CASCADE, related_name="projects", verbose_name=_("联系点")
    )
    name = models.CharField(_("项目名称"), max_length=120)
    goal = models.TextField(_("目标任务"), blank=True)
    status = models.CharField(
        _("进度"), max_length=10, choices=ProjectStatus.choices, default=ProjectStatus.PLANNED
    )
    due_on = models.DateField(_("计划完成"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        verbose_name = _("领办项目")
        verbose_name_plural = _("领办项目")

    def __str__(self) -> str:
        return self.name

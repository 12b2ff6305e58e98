"""Page forms for people. They parse input; the services validate and write.

Protected values are never put back into a form: on edit, the ID number and phone fields start
empty (the masked value is shown as help text) and an empty field means "unchanged".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.orgs.models import OrgNode, PartyOrganization, ResidentUnit
from tongxin.people.models import (
    Building,
    Category,
    DuesClass,
    FloatDirection,
    Gender,
    Household,
    HouseholdType,
    MembershipType,
    MemberStatus,
    PaymentMethod,
    Person,
    Rating,
    Relation,
    ResidenceType,
    ServicePost,
    SpecialGroup,
    VolunteerTeam,
)

BLANK = [("", "---------")]


def _style(form: forms.BaseForm) -> None:
    """Bootstrap classes, native date pickers and phone keyboards."""
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(field, forms.DateField):
            widget.input_type = "date"
            widget.format = "%Y-%m-%d"
        if name in ("phone", "contact_phone"):
            widget.input_type = "tel"
        if isinstance(widget, (forms.CheckboxSelectMultiple, forms.HiddenInput)):
            continue
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class StyledForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class VersionForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


def apply_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names, else on top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = name if name in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class NodeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: OrgNode) -> str:
        return (
            f"{obj.parent.name} · {obj.name}" if obj.level == "grid" and obj.parent_id else obj.name
        )


# ---------------------------------------------------------------------------------------------
# filters


class MemberFilterForm(StyledForm):
    q = forms.CharField(
        label=_("查找"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("姓名、完整身份证号、手机号或手机尾号")}),
    )
    category = forms.ChoiceField(
        label=_("党员类别"), choices=BLANK + Category.choices, required=False
    )
    status = forms.ChoiceField(
        label=_("党籍状态"), choices=BLANK + MemberStatus.choices, required=False
    )
    node = NodeChoiceField(label=_("社区/网格"), queryset=OrgNode.objects.none(), required=False)
    branch = NodeChoiceField(label=_("网格党支部"), queryset=OrgNode.objects.none(), required=False)
    group = forms.ChoiceField(
        label=_("特殊人群"), choices=BLANK + SpecialGroup.choices, required=False
    )

    def __init__(
        self, *args: Any, places: QuerySet[OrgNode], branches: QuerySet[OrgNode], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = places.select_related("parent")
        self.fields["branch"].queryset = branches.select_related("parent")


class ResidentFilterForm(StyledForm):
    q = forms.CharField(
        label=_("查找"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("姓名、完整身份证号、手机号或手机尾号")}),
    )
    node = NodeChoiceField(label=_("社区/网格"), queryset=OrgNode.objects.none(), required=False)
    group = forms.ChoiceField(
        label=_("特殊人群"), choices=BLANK + SpecialGroup.choices, required=False
    )
    residence_type = forms.ChoiceField(
        label=_("人口类别"), choices=BLANK + ResidenceType.choices, required=False
    )
    moved_out = forms.BooleanField(label=_("含已迁出"), required=False)

    def __init__(self, *args: Any, places: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = places.select_related("parent")


class PlaceFilterForm(StyledForm):
    q = forms.CharField(label=_("查找"), required=False, max_length=50)
    node = NodeChoiceField(label=_("社区/网格"), queryset=OrgNode.objects.none(), required=False)

    def __init__(self, *args: Any, places: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = places.select_related("parent")


class LedgerFilterForm(StyledForm):
    month = forms.DateField(
        label=_("月份"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    q = forms.CharField(label=_("姓名"), required=False, max_length=50)
    branch = NodeChoiceField(label=_("网格党支部"), queryset=OrgNode.objects.none(), required=False)
    arrears = forms.BooleanField(label=_("只看欠交"), required=False)

    def __init__(self, *args: Any, branches: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches.select_related("parent")
        self.fields["month"].widget.input_type = "month"


# ---------------------------------------------------------------------------------------------
# persons, members, residents


class PersonFields(StyledForm):
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=30,
        required=False,
        help_text=_("18位；出生日期和性别将自动生成"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    gender = forms.ChoiceField(label=_("性别"), choices=BLANK + Gender.choices, required=False)
    birth_date = forms.DateField(
        label=_("出生日期"), required=False, help_text=_("无身份证号时填写")
    )
    ethnicity = forms.CharField(label=_("民族"), max_length=20, required=False, initial="汉族")
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=30,
        required=False,
        help_text=_("手机号或固定电话（如 0594-2345678）"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    address = forms.CharField(label=_("住址"), max_length=200, required=False)

    PERSON_KEYS = ("name", "id_number", "gender", "birth_date", "ethnicity", "phone", "address")

    def person_data(self, *, edit: bool = False) -> dict[str, Any]:
        data = {k: self.cleaned_data.get(k) for k in self.PERSON_KEYS if k in self.cleaned_data}
        if edit:
            # Blank protected fields mean "keep": the form never holds the stored values.
            for name in ("id_number", "phone"):
                if not data.get(name):
                    data.pop(name, None)
        return data

    def masked_help(self, person: Person) -> None:
        if person.id_number_masked:
            self.fields["id_number"].help_text = _("当前：%(v)s；留空不修改") % {
                "v": person.id_number_masked
            }
            self.fields["gender"].disabled = True
            self.fields["birth_date"].disabled = True
        if person.phone_masked:
            self.fields["phone"].help_text = _("当前：%(v)s；留空不修改") % {
                "v": person.phone_masked
            }


class MemberForm(PersonFields):
    node = NodeChoiceField(label=_("居住网格/社区"), queryset=OrgNode.objects.none())
    category = forms.ChoiceField(label=_("党员类别"), choices=Category.choices)
    joined_on = forms.DateField(label=_("入党日期"))
    membership_type = forms.ChoiceField(
        label=_("党员身份"), choices=MembershipType.choices, initial=MembershipType.FULL
    )
    full_on = forms.DateField(
        label=_("转正日期"), required=False, help_text=_("预备党员缺省为入党满一年")
    )
    organization = forms.ModelChoiceField(
        label=_("组织关系所在党组织"),
        queryset=PartyOrganization.objects.none(),
        required=False,
        help_text=_("缺省为活动所在网格党支部"),
    )
    organization_name = forms.CharField(
        label=_("系统外党组织名称"),
        max_length=120,
        required=False,
        help_text=_("组织关系不在本系统时填写"),
    )
    branch = NodeChoiceField(
        label=_("活动所在网格党支部"), queryset=OrgNode.objects.none(), required=False
    )
    unit = forms.ModelChoiceField(
        label=_("工作单位"), queryset=ResidentUnit.objects.none(), required=False
    )
    work_unit_name = forms.CharField(
        label=_("工作单位名称"), max_length=120, required=False, help_text=_("单位不在名录中时填写")
    )
    dues_class = forms.ChoiceField(
        label=_("党费计算类别"),
        choices=BLANK + DuesClass.choices,
        required=False,
        help_text=_("缺省按党员类别"),
    )
    monthly_income = forms.DecimalField(
        label=_("月收入（税后，元）"), max_digits=10, decimal_places=2, required=False, min_value=0
    )

    MEMBER_KEYS = (
        "category",
        "joined_on",
        "membership_type",
        "full_on",
        "organization",
        "organization_name",
        "branch",
        "unit",
        "work_unit_name",
        "dues_class",
        "monthly_income",
    )

    def __init__(
        self,
        *args: Any,
        places: QuerySet[OrgNode],
        branches: QuerySet[OrgNode],
        organizations: QuerySet[PartyOrganization],
        units: QuerySet[ResidentUnit],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = places.select_related("parent")
        self.fields["branch"].queryset = branches.select_related("parent")
        self.fields["organization"].queryset = organizations
        self.fields["unit"].queryset = units

    def member_data(self) -> dict[str, Any]:
        data = {k: self.cleaned_data.get(k) for k in self.MEMBER_KEYS}
        for name in ("organization", "branch", "unit"):
            if data.get(name) is None:
                data.pop(name)
        if not data.get("dues_class"):
            data.pop("dues_class")
        return data


class MemberEditForm(MemberForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The organization moves only by transfer, the membership type only by 转正.
        for name in ("organization", "organization_name", "membership_type"):
            del self.fields[name]
        self.masked_help(person)

    MEMBER_KEYS = (
        "category",
        "joined_on",
        "full_on",
        "branch",
        "unit",
        "work_unit_name",
        "dues_class",
        "monthly_income",
    )

    def member_data(self) -> dict[str, Any]:
        data = {k: self.cleaned_data.get(k) for k in self.MEMBER_KEYS}
        if not data.get("dues_class"):
            data.pop("dues_class")
        return data


class TransferForm(VersionForm):
    on = forms.DateField(label=_("转接日期"))
    to_organization = forms.ModelChoiceField(
        label=_("转入本区党组织"), queryset=PartyOrganization.objects.none(), required=False
    )
    to_name = forms.CharField(
        label=_("或：转往系统外党组织"),
        max_length=120,
        required=False,
        help_text=_("转出本系统时填写对方党组织名称，党员记录保留，状态为“已转出”"),
    )
    letter_no = forms.CharField(label=_("介绍信编号"), max_length=40, required=False)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(
        self, *args: Any, destinations: QuerySet[PartyOrganization], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_organization"].queryset = destinations


class StatusForm(VersionForm):
    status = forms.ChoiceField(label=_("党籍状态"), choices=MemberStatus.choices)
    since = forms.DateField(label=_("起始日期"), required=False)
    note = forms.CharField(label=_("依据/说明"), max_length=200, required=False)

    def __init__(self, *args: Any, allowed: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [c for c in MemberStatus.choices if c[0] in allowed]


class MakeFullForm(VersionForm):
    on = forms.DateField(label=_("转正日期"))


class FloatingForm(StyledForm):
    direction = forms.ChoiceField(label=_("流向"), choices=FloatDirection.choices)
    place = forms.CharField(label=_("流入/流出地"), max_length=120)
    since = forms.DateField(label=_("起始日期"))
    org_name = forms.CharField(label=_("对方党组织"), max_length=120, required=False)
    reason = forms.CharField(label=_("原因"), max_length=60, required=False)
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class DateForm(StyledForm):
    on = forms.DateField(label=_("日期"))


class VersionDateForm(VersionForm):
    on = forms.DateField(label=_("日期"))


class RevealForm(StyledForm):
    reason = forms.CharField(
        label=_("查看原因"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如：办理组织关系转接，核对身份")}),
    )


class GroupsForm(StyledForm):
    groups = forms.MultipleChoiceField(
        label=_("特殊人群"),
        choices=SpecialGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, allowed: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = [c for c in SpecialGroup.choices if c[0] in allowed]


class ResidentForm(PersonFields):
    household = forms.ModelChoiceField(
        label=_("住户"), queryset=Household.objects.none(), required=False
    )
    node = NodeChoiceField(
        label=_("所属网格（未分户时）"), queryset=OrgNode.objects.none(), required=False
    )
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    residence_type = forms.ChoiceField(
        label=_("人口类别"), choices=ResidenceType.choices, initial=ResidenceType.PERMANENT
    )
    moved_in_on = forms.DateField(label=_("入住日期"), required=False)
    groups = forms.MultipleChoiceField(
        label=_("特殊人群"),
        choices=SpecialGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        households: QuerySet[Household],
        places: QuerySet[OrgNode],
        allowed_groups: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["household"].queryset = households.select_related("building")
        self.fields["node"].queryset = places.select_related("parent")
        self.fields["groups"].choices = [c for c in SpecialGroup.choices if c[0] in allowed_groups]

    def resident_data(self) -> dict[str, Any]:
        data = self.person_data()
        data.update(
            household=self.cleaned_data.get("household"),
            node=self.cleaned_data.get("node"),
            relation=self.cleaned_data["relation"],
            residence_type=self.cleaned_data["residence_type"],
            moved_in_on=self.cleaned_data.get("moved_in_on"),
            groups=self.cleaned_data.get("groups") or [],
        )
        return data


class ResidentEditForm(PersonFields):
    version = forms.IntegerField(widget=forms.HiddenInput)
    household = forms.ModelChoiceField(
        label=_("住户"), queryset=Household.objects.none(), required=False
    )
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    residence_type = forms.ChoiceField(label=_("人口类别"), choices=ResidenceType.choices)
    moved_in_on = forms.DateField(label=_("入住日期"), required=False)

    def __init__(
        self, *args: Any, households: QuerySet[Household], person: Person, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["household"].queryset = households.select_related("building")
        self.masked_help(person)

    def changes(self) -> dict[str, Any]:
        data = self.person_data(edit=True)
        for name in ("relation", "residence_type", "moved_in_on"):
            data[name] = self.cleaned_data.get(name)
        if self.cleaned_data.get("household") is not None:
            data["household"] = self.cleaned_data["household"]
        for name in ("gender", "birth_date"):
            if self.fields[name].disabled:
                data.pop(name, None)
        return data


class BuildingForm(StyledForm):
    node = NodeChoiceField(label=_("网格"), queryset=OrgNode.objects.none())
    name = forms.CharField(label=_("楼栋名称"), max_length=60)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    floors = forms.IntegerField(label=_("层数"), min_value=0, max_value=200, required=False)
    entrances = forms.IntegerField(label=_("单元数"), min_value=0, max_value=50, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, grids: QuerySet[OrgNode] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if grids is None:
            del self.fields["node"]
        else:
            self.fields["node"].queryset = grids.select_related("parent")


class BuildingEditForm(BuildingForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class HouseholdForm(StyledForm):
    node = NodeChoiceField(label=_("网格"), queryset=OrgNode.objects.none())
    building = forms.ModelChoiceField(
        label=_("楼栋"), queryset=Building.objects.none(), required=False
    )
    door = forms.CharField(label=_("门牌/房号"), max_length=40)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    household_type = forms.ChoiceField(
        label=_("户别"), choices=HouseholdType.choices, initial=HouseholdType.RESIDENT
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(
        self,
        *args: Any,
        grids: QuerySet[OrgNode] | None,
        buildings: QuerySet[Building],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if grids is None:
            del self.fields["node"]
        else:
            self.fields["node"].queryset = grids.select_related("parent")
        self.fields["building"].queryset = buildings


class HouseholdEditForm(HouseholdForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


# ---------------------------------------------------------------------------------------------
# dues, reporting, volunteers


class GenerateForm(StyledForm):
    month = forms.DateField(
        label=_("月份"), input_formats=["%Y-%m"], widget=forms.DateInput(format="%Y-%m")
    )
    node = NodeChoiceField(label=_("社区/网格"), queryset=OrgNode.objects.none())

    def __init__(self, *args: Any, places: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = places.select_related("parent")
        self.fields["month"].widget.input_type = "month"


class PayForm(StyledForm):
    amount = forms.DecimalField(
        label=_("金额（元）"),
        max_digits=10,
        decimal_places=2,
        required=False,
        help_text=_("留空为交清本月"),
    )
    paid_on = forms.DateField(label=_("交纳日期"), required=False)
    method = forms.ChoiceField(label=_("方式"), choices=PaymentMethod.choices)
    on_behalf = forms.BooleanField(label=_("网格员上门代收"), required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, may_collect_on_behalf: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_collect_on_behalf:
            del self.fields["on_behalf"]


class OverrideForm(VersionForm):
    amount = forms.DecimalField(
        label=_("应交金额（元）"), max_digits=10, decimal_places=2, min_value=0
    )
    reason = forms.CharField(label=_("调整原因"), max_length=200)


class RegistrationForm(StyledForm):
    registered_on = forms.DateField(label=_("报到日期"), required=False)
    unit_name = forms.CharField(label=_("工作单位名称"), max_length=120, required=False)
    posts = forms.ModelMultipleChoiceField(
        label=_("认领服务岗位"),
        queryset=ServicePost.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, posts: QuerySet[ServicePost], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["posts"].queryset = posts


class ServiceRecordForm(StyledForm):
    served_on = forms.DateField(label=_("服务日期"))
    hours = forms.DecimalField(label=_("服务时长（小时）"), max_digits=4, decimal_places=1)
    post = forms.ModelChoiceField(
        label=_("服务岗位"), queryset=ServicePost.objects.none(), required=False
    )
    description = forms.CharField(label=_("服务内容"), max_length=200)

    def __init__(self, *args: Any, posts: QuerySet[ServicePost], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["post"].queryset = posts


class RateForm(StyledForm):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    rating = forms.ChoiceField(label=_("评价等次"), choices=Rating.choices)
    comment = forms.CharField(label=_("评语"), max_length=300, required=False)


class ServicePostForm(StyledForm):
    name = forms.CharField(label=_("岗位名称"), max_length=60)
    description = forms.CharField(label=_("岗位职责"), max_length=200, required=False)


class TeamForm(StyledForm):
    node = NodeChoiceField(label=_("所属组织"), queryset=OrgNode.objects.none())
    name = forms.CharField(label=_("队伍名称"), max_length=80)
    service_area = forms.CharField(label=_("服务领域"), max_length=60, required=False)
    founded_on = forms.DateField(label=_("成立日期"), required=False)
    description = forms.CharField(label=_("简介"), max_length=300, required=False)

    def __init__(self, *args: Any, places: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = places


class VolunteerForm(StyledForm):
    skills = forms.CharField(label=_("特长"), max_length=200, required=False)
    registered_on = forms.DateField(label=_("注册日期"), required=False)
    teams = forms.ModelMultipleChoiceField(
        label=_("加入志愿服务队"),
        queryset=VolunteerTeam.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, teams: QuerySet[VolunteerTeam], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = teams

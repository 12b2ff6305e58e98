"""Page forms of the organization network. They parse input; the services validate and write.

Fields and labels come from the models, but no form saves anything or runs model validation:
`ServiceModelForm` switches that off, so every rule lives once, in services.py, and a page shows
exactly the errors the API would answer.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.orgs.models import (
    CommitteeMember,
    ContactPoint,
    ContactProject,
    OrgCategory,
    OrgKind,
    OrgNode,
    PartyOrganization,
    PartyStatus,
    ResidentUnit,
    UnitType,
)

FUNCTIONAL_CATEGORY_CHOICES = [c for c in OrgCategory.choices if c[0] != OrgCategory.TERRITORIAL]
FUNCTIONAL_KIND_CHOICES = [
    c
    for c in OrgKind.choices
    if c[0] in (OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH)
]
# The party organization a new node of each level usually has (SPEC §1 table).
DEFAULT_KIND = {
    "district": OrgKind.PARTY_COMMITTEE,
    "street": OrgKind.WORKING_COMMITTEE,
    "community": OrgKind.PARTY_COMMITTEE,
    "grid": OrgKind.BRANCH,
    "group": OrgKind.GROUP,
}


def node_choice_label(node: OrgNode) -> str:
    """Grids are often named alike in different communities: show the parent too."""
    return f"{node.parent.name} › {node.name}" if node.parent_id else node.name


def _style(form: forms.BaseForm) -> None:
    """Bootstrap classes and native date pickers (phones get their own date wheel)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(field, forms.DateField):
            widget.input_type = "date"
            widget.format = "%Y-%m-%d"
        if isinstance(widget, forms.CheckboxSelectMultiple):
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


class ServiceModelForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self)

    def _post_clean(self) -> None:
        # No construct_instance/full_clean: the instance stays untouched and the service decides.
        pass

    def changes(self, *, exclude: tuple[str, ...] = ("version",)) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k not in exclude}


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


# ---------------------------------------------------------------------------------------------
# nodes


class _PartyOrgFields(forms.Form):
    party_org_name = forms.CharField(label=_("党组织名称"), max_length=120, required=False)
    party_org_kind = forms.ChoiceField(
        label=_("党组织类别"), choices=[("", "---------"), *OrgKind.choices], required=False
    )
    secretary = forms.CharField(label=_("书记"), max_length=50, required=False)
    contact = forms.CharField(label=_("办公电话"), max_length=40, required=False)
    founded_on = forms.DateField(label=_("成立日期"), required=False)

    def party_org(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data.get("party_org_name", ""),
            "kind": data.get("party_org_kind", ""),
            "secretary": data.get("secretary", ""),
            "contact": data.get("contact", ""),
            "founded_on": data.get("founded_on"),
        }


class NodeCreateForm(_PartyOrgFields, StyledForm):
    name = forms.CharField(label=_("名称"), max_length=100)
    code = forms.CharField(label=_("编码"), max_length=40, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    field_order = ["name", "code", "address", "party_org_name", "party_org_kind"]

    def __init__(self, *args: Any, level: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["party_org_kind"].initial = DEFAULT_KIND.get(level, "")


class NodeEditForm(_PartyOrgFields, VersionForm):
    code = forms.CharField(label=_("编码"), max_length=40, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    field_order = ["code", "address", "party_org_name", "party_org_kind"]

    @classmethod
    def initial_for(cls, node: OrgNode, org: PartyOrganization | None) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "version": node.version,
            "code": node.code,
            "address": node.address,
            "party_org_kind": DEFAULT_KIND.get(node.level, ""),
        }
        if org is not None:
            initial.update(
                party_org_name=org.name,
                party_org_kind=org.kind,
                secretary=org.secretary,
                contact=org.contact,
                founded_on=org.founded_on,
            )
        return initial

    def party_org(self) -> dict[str, Any]:
        data = super().party_org()
        # An empty form section on a node without an organization means "no organization".
        return data if data["name"] or data["secretary"] or data["contact"] else {}


class NodeRenameForm(VersionForm):
    name = forms.CharField(label=_("新名称"), max_length=100)


class NodeMoveForm(VersionForm):
    parent = forms.ModelChoiceField(label=_("调整到"), queryset=OrgNode.objects.none())

    def __init__(self, *args: Any, destinations: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = destinations.select_related("parent")
        self.fields["parent"].label_from_instance = node_choice_label


class NodeCloseForm(VersionForm):
    reason = forms.CharField(label=_("撤销原因"), max_length=200)


# ---------------------------------------------------------------------------------------------
# party organizations


class PartyOrgForm(ServiceModelForm):
    category = forms.ChoiceField(label=_("设置方式"), choices=FUNCTIONAL_CATEGORY_CHOICES)
    kind = forms.ChoiceField(
        label=_("组织类别"), choices=FUNCTIONAL_KIND_CHOICES, initial=OrgKind.BRANCH
    )
    covered_units = forms.ModelMultipleChoiceField(
        label=_("覆盖单位（联合党支部）"),
        queryset=ResidentUnit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = PartyOrganization
        fields = [
            "category",
            "name",
            "kind",
            "secretary",
            "contact",
            "founded_on",
            "project",
            "starts_on",
            "ends_on",
            "covered_units",
        ]

    def __init__(self, *args: Any, units: QuerySet[ResidentUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["covered_units"].queryset = units


class PartyOrgEditForm(PartyOrgForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta(PartyOrgForm.Meta):
        fields = [f for f in PartyOrgForm.Meta.fields if f != "category"] + ["version"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("category", None)
        if self.instance.category != OrgCategory.JOINT:
            self.fields.pop("covered_units")


class CloseConfirmForm(VersionForm):
    reason = forms.CharField(label=_("说明"), max_length=100, required=False)


# ---------------------------------------------------------------------------------------------
# resident units


class UnitFilterForm(StyledForm):
    q = forms.CharField(label=_("搜索"), required=False, max_length=100)
    unit_type = forms.ChoiceField(
        label=_("单位类型"), choices=[("", _("全部类型")), *UnitType.choices], required=False
    )
    party_status = forms.ChoiceField(
        label=_("党组织覆盖"),
        choices=[("", _("全部覆盖情况")), *PartyStatus.choices],
        required=False,
    )
    node = forms.IntegerField(required=False, widget=forms.HiddenInput)
    closed = forms.BooleanField(label=_("含已注销"), required=False)


class UnitForm(ServiceModelForm):
    class Meta:
        model = ResidentUnit
        fields = [
            "name",
            "unit_type",
            "node",
            "credit_code",
            "address",
            "employees",
            "party_members",
            "party_status",
            "party_org_name",
            "contact_name",
            "contact_phone",
        ]

    def __init__(self, *args: Any, nodes: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes.select_related("parent")
        self.fields["node"].label_from_instance = node_choice_label
        self.fields["credit_code"].help_text = _("18 位，选填；填写时校验其校验位。")


class UnitEditForm(UnitForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta(UnitForm.Meta):
        fields = [*UnitForm.Meta.fields, "version"]


class UnitContactForm(ServiceModelForm):
    """What a unit's own liaison may change."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = ResidentUnit
        fields = ["contact_name", "contact_phone", "version"]


class InstructorForm(StyledForm):
    instructor_name = forms.CharField(label=_("指导员姓名"), max_length=50)
    instructor_post = forms.CharField(label=_("指导员职务"), max_length=100, required=False)
    starts_on = forms.DateField(label=_("选派日期"))


class InstructorEndForm(StyledForm):
    ends_on = forms.DateField(label=_("结束日期"))


# ---------------------------------------------------------------------------------------------
# committees


class CommitteeMemberForm(ServiceModelForm):
    class Meta:
        model = CommitteeMember
        fields = [
            "person_name",
            "unit",
            "unit_post",
            "duty",
            "public_commitment",
            "term_start",
            "term_end",
        ]
        widgets = {"public_commitment": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, units: QuerySet[ResidentUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class CommitteeMemberEditForm(CommitteeMemberForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta(CommitteeMemberForm.Meta):
        fields = [*CommitteeMemberForm.Meta.fields, "version"]


class CommitteeLeaveForm(VersionForm):
    left_on = forms.DateField(label=_("离任日期"))


# ---------------------------------------------------------------------------------------------
# contact points


class ContactPointForm(ServiceModelForm):
    class Meta:
        model = ContactPoint
        fields = ["community", "leader_name", "leader_title", "starts_on", "ends_on", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, communities: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities


class ContactPointEditForm(ContactPointForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta(ContactPointForm.Meta):
        fields = [*ContactPointForm.Meta.fields, "version"]


class ContactProjectForm(ServiceModelForm):
    class Meta:
        model = ContactProject
        fields = ["name", "goal", "status", "due_on"]
        widgets = {"goal": forms.Textarea(attrs={"rows": 3})}


class ContactProjectEditForm(ContactProjectForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta(ContactProjectForm.Meta):
        fields = [*ContactProjectForm.Meta.fields, "version"]

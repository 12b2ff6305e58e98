"""Page forms of grids and visits. They parse input; the services validate and write."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.grids import geo
from tongxin.grids.measures import measures
from tongxin.grids.models import NeedCategory
from tongxin.orgs.forms import StyledForm, VersionForm, node_choice_label
from tongxin.orgs.models import OrgNode

CRS_CHOICES = [
    (geo.WGS84, _("WGS-84（GPS、天地图）")),
    (geo.GCJ02, _("GCJ-02（高德、腾讯地图）")),
    (geo.BD09, _("BD-09（百度地图）")),
]
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class ScopeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: OrgNode) -> str:
        return node_choice_label(obj)


class GridFilterForm(StyledForm):
    q = forms.CharField(label=_("名称或编码"), required=False, max_length=50)
    within = ScopeChoiceField(
        label=_("范围"), queryset=OrgNode.objects.none(), required=False, empty_label=_("全部")
    )
    warnings = forms.BooleanField(label=_("只看有预警的网格"), required=False)

    def __init__(self, *args: Any, scopes: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["within"].queryset = scopes


class MapForm(StyledForm):
    within = ScopeChoiceField(
        label=_("范围"), queryset=OrgNode.objects.none(), required=False, empty_label=_("全部")
    )
    measure = forms.ChoiceField(label=_("着色指标"), choices=())

    def __init__(self, *args: Any, scopes: QuerySet[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["within"].queryset = scopes
        self.fields["measure"].choices = [(m.key, m.label) for m in measures()]


class GridEditForm(VersionForm):
    code = forms.CharField(label=_("网格编码"), max_length=40, required=False)
    households_min = forms.IntegerField(label=_("户数下限"), min_value=0)
    households_max = forms.IntegerField(label=_("户数上限"), min_value=0)
    population_min = forms.IntegerField(label=_("人口下限"), min_value=0)
    population_max = forms.IntegerField(label=_("人口上限"), min_value=0)

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class BoundaryUploadForm(StyledForm):
    file = forms.FileField(
        label=_("GeoJSON 文件"),
        help_text=_(
            "FeatureCollection，每个要素的属性中注明 node_id（网格编号）或 code（网格编码）；"
            "为单个网格上传时也可以是一个 Polygon / MultiPolygon。"
        ),
    )
    crs = forms.ChoiceField(label=_("文件坐标系"), choices=CRS_CHOICES, initial=geo.WGS84)
    allow_overlaps = forms.BooleanField(
        label=_("允许与相邻网格重叠（仍会列出重叠情况）"), required=False
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件不能超过 10 MB。"))
        try:
            return json.loads(upload.read().decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise forms.ValidationError(_("文件不是有效的 GeoJSON（JSON）文本。")) from None


# ---------------------------------------------------------------------------------------------
# visits


def _today() -> Any:
    return timezone.localdate()


class HouseholdSearchForm(StyledForm):
    q = forms.CharField(
        label=_("楼栋、门牌或地址"),
        required=False,
        max_length=50,
        widget=forms.SearchInput(
            attrs={"placeholder": _("楼栋、门牌或地址"), "aria-label": _("楼栋、门牌或地址")}
        ),
    )


class VisitForm(StyledForm):
    visited_on = forms.DateField(label=_("走访日期"), initial=_today)
    summary = forms.CharField(
        label=_("走访情况"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("家庭情况、群众反映、宣传了什么……"),
    )
    companions = forms.CharField(label=_("同行人员"), max_length=100, required=False)


class NeedForm(StyledForm):
    category = forms.ChoiceField(
        label=_("诉求类别"),
        choices=[("", _("诉求类别…")), *NeedCategory.choices],
        required=False,
        widget=forms.Select(attrs={"aria-label": _("诉求类别")}),
    )
    description = forms.CharField(
        label=_("诉求内容"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("诉求内容"), "aria-label": _("诉求内容")}),
    )

    def as_data(self) -> dict[str, Any] | None:
        data = getattr(self, "cleaned_data", {}) or {}
        if not data.get("category") and not (data.get("description") or "").strip():
            return None
        return {"category": data.get("category"), "description": data.get("description", "")}


class FollowUpForm(StyledForm):
    action = forms.CharField(
        label=_("跟进事项"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("跟进事项"), "aria-label": _("跟进事项")}),
    )
    due_on = forms.DateField(
        label=_("办理期限"),
        required=False,
        widget=forms.DateInput(attrs={"aria-label": _("办理期限"), "title": _("办理期限")}),
    )

    def as_data(self) -> dict[str, Any] | None:
        data = getattr(self, "cleaned_data", {}) or {}
        if not (data.get("action") or "").strip() and not data.get("due_on"):
            return None
        return {"action": data.get("action", ""), "due_on": data.get("due_on")}


NeedFormSet = formset_factory(NeedForm, extra=2, max_num=20)
FollowUpFormSet = formset_factory(FollowUpForm, extra=2, max_num=20)


class VisitEditForm(VersionForm):
    visited_on = forms.DateField(label=_("走访日期"))
    summary = forms.CharField(
        label=_("走访情况"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5})
    )
    companions = forms.CharField(label=_("同行人员"), max_length=100, required=False)

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class FollowUpAddForm(StyledForm):
    action = forms.CharField(
        label=_("跟进事项"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("跟进事项"), "aria-label": _("跟进事项")}),
    )
    due_on = forms.DateField(
        label=_("办理期限"),
        required=False,
        widget=forms.DateInput(attrs={"aria-label": _("办理期限"), "title": _("办理期限")}),
    )


class FollowUpDoneForm(VersionForm):
    result = forms.CharField(label=_("办理结果"), max_length=500, required=False)

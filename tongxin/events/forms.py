"""Page forms of the event workflow. They parse input; the services validate and write."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.accounts.models import Role, User
from tongxin.events.models import (
    Category,
    Department,
    Event,
    HandlingLevel,
    Priority,
    Source,
    State,
)
from tongxin.orgs.models import Level, OrgNode


def _style(form: forms.BaseForm) -> None:
    """Bootstrap classes, native date pickers and big touch targets on phones."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(field, forms.DateField):
            widget.input_type = "date"
            widget.format = "%Y-%m-%d"
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


def apply_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's field errors on the matching form fields, the rest on the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return obj.full_name


def node_label(node: OrgNode) -> str:
    return f"{node.parent.name} › {node.name}" if node.parent_id else node.name


class NodeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: OrgNode) -> str:
        return node_label(obj)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; type and size are checked by the service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class ReportForm(StyledForm):
    """The phone report form: category, what, where (GPS or by hand), photos."""

    category = CategoryChoiceField(label=_("事件分类"), queryset=Category.objects.none())
    description = forms.CharField(
        label=_("事件描述"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("发生了什么？在哪里？")}),
    )
    priority = forms.ChoiceField(label=_("紧急程度"), choices=Priority.choices, initial="low")
    source = forms.ChoiceField(label=_("来源"), choices=Source.choices, initial=Source.PATROL)
    lng = forms.FloatField(
        label=_("经度"),
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    lat = forms.FloatField(
        label=_("纬度"),
        required=False,
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    node = NodeChoiceField(
        label=_("所属网格"),
        queryset=OrgNode.objects.none(),
        required=False,
        help_text=_("无法定位或不在网格内时选择"),
    )
    reporter_name = forms.CharField(
        label=_("代为登记：群众姓名"),
        max_length=50,
        required=False,
        help_text=_("为无账号的群众登记时填写"),
    )
    reporter_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    photos = MultipleFileField(label=_("现场照片"), required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(
        self, *args: Any, categories: QuerySet, nodes: QuerySet, staff: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories
        self.fields["node"].queryset = nodes
        if not self.is_bound:
            self.initial["idempotency_key"] = uuid.uuid4().hex
        photos = self.fields["photos"].widget
        # Phones open the camera directly; desktop browsers show the file picker.
        photos.attrs.update({"accept": "image/*", "capture": "environment"})
        if not staff:
            del self.fields["reporter_name"]
            self.fields["source"].choices = [(Source.RESIDENT, Source.RESIDENT.label)]
            self.fields["source"].initial = Source.RESIDENT
            self.fields["source"].widget = forms.HiddenInput()


class DepartmentChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return obj.name


class DepartmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return obj.name


class MoveForm(StyledForm):
    """One move; which fields show depends on the action (see views.move)."""

    note = forms.CharField(
        label=_("说明"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    departments = DepartmentChoices(
        label=_("吹哨部门"),
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    department = DepartmentChoice(
        label=_("以哪个部门办理"), queryset=Department.objects.none(), required=False
    )
    duplicate_of = forms.ModelChoiceField(
        label=_("合并到事件"), queryset=Event.objects.none(), required=False
    )
    score = forms.TypedChoiceField(
        label=_("满意度"),
        coerce=int,
        required=False,
        choices=[
            (5, _("5 分 非常满意")),
            (4, _("4 分 满意")),
            (3, _("3 分 基本满意")),
            (2, _("2 分 不满意")),
            (1, _("1 分 非常不满意")),
        ],
        empty_value=None,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    FIELDS_FOR = {
        "whistle": ("note", "departments"),
        "merge": ("note", "duplicate_of"),
        "rate": ("score", "note"),
        "acknowledge": ("department", "note"),
        "handle": ("department", "note"),
    }

    def __init__(
        self,
        *args: Any,
        action: str,
        departments: QuerySet | None = None,
        own_departments: QuerySet | None = None,
        candidates: list[Event] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        keep = {"version", *self.FIELDS_FOR.get(action, ("note",))}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "departments" in self.fields:
            self.fields["departments"].queryset = (
                departments if departments is not None else (Department.objects.none())
            )
            self.fields["departments"].required = True
        if "department" in self.fields:
            own = own_departments if own_departments is not None else Department.objects.none()
            self.fields["department"].queryset = own
            if own.count() <= 1:
                self.fields["department"].widget = forms.HiddenInput()
        if "duplicate_of" in self.fields:
            ids = [e.pk for e in candidates or []]
            self.fields["duplicate_of"].queryset = Event.objects.filter(pk__in=ids)
            self.fields["duplicate_of"].label_from_instance = lambda e: (
                f"#{e.pk} {e.category.full_name} · {e.address or e.node.name} · "
                f"{e.description[:30]}"
            )
            self.fields["duplicate_of"].required = True
        if "score" in self.fields:
            self.fields["score"].required = True
            self.fields["note"].label = _("评价意见")
        if action in ("return", "reject"):
            self.fields["note"].required = True
            self.fields["note"].label = _("原因（报告人将看到）")
        if action == "handle":
            self.fields["note"].required = True
            self.fields["note"].label = _("处置结果")
        _style(self)


class EventFilterForm(StyledForm):
    q = forms.CharField(label=_("关键词"), max_length=50, required=False)
    category = CategoryChoiceField(
        label=_("分类"), queryset=Category.objects.none(), required=False, empty_label=_("全部")
    )
    state = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部")), *State.choices], required=False
    )
    level = forms.ChoiceField(
        label=_("处置层级"), choices=[("", _("全部")), *HandlingLevel.choices], required=False
    )
    source = forms.ChoiceField(
        label=_("来源"), choices=[("", _("全部")), *Source.choices], required=False
    )
    node = NodeChoiceField(
        label=_("范围"), queryset=OrgNode.objects.none(), required=False, empty_label=_("全部")
    )
    since = forms.DateField(label=_("上报起"), required=False)
    until = forms.DateField(label=_("上报止"), required=False)
    overdue = forms.BooleanField(label=_("仅超时"), required=False)

    def __init__(self, *args: Any, categories: QuerySet, nodes: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories
        self.fields["node"].queryset = nodes


class StatsForm(StyledForm):
    node = NodeChoiceField(
        label=_("范围"), queryset=OrgNode.objects.none(), required=False, empty_label=_("全部")
    )
    since = forms.DateField(label=_("上报起"), required=False)
    until = forms.DateField(label=_("上报止"), required=False)

    def __init__(self, *args: Any, nodes: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", _("截止日期不能早于起始日期。"))
        return data


# ---------------------------------------------------------------------------------------------
# configuration


class CategoryForm(StyledForm):
    code = forms.SlugField(label=_("分类编码"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=50)
    parent = CategoryChoiceField(
        label=_("上级分类"), queryset=Category.objects.none(), required=False
    )
    description = forms.CharField(label=_("说明"), max_length=200, required=False)
    sort = forms.IntegerField(label=_("排序"), min_value=0, max_value=32767, initial=100)
    days_grid = forms.IntegerField(
        label=_("网格办理时限（工作日）"), min_value=1, max_value=60, initial=2
    )
    days_community = forms.IntegerField(
        label=_("社区办理时限（工作日）"), min_value=1, max_value=60, initial=3
    )
    days_street = forms.IntegerField(
        label=_("街道办理时限（工作日）"), min_value=1, max_value=60, initial=5
    )
    days_department = forms.IntegerField(
        label=_("部门办理时限（工作日）"), min_value=1, max_value=60, initial=5
    )
    is_public = forms.BooleanField(label=_("在 Open311 公开"), required=False, initial=True)
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Category.objects.filter(parent__isnull=True)
        if editing:
            del self.fields["code"]
            del self.fields["parent"]
        else:
            del self.fields["version"]


class DepartmentForm(StyledForm):
    name = forms.CharField(label=_("部门名称"), max_length=80)
    short_name = forms.CharField(label=_("简称"), max_length=20, required=False)
    duties = forms.CharField(label=_("职责"), max_length=200, required=False)


class StationForm(StyledForm):
    street = NodeChoiceField(label=_("派驻街道"), queryset=OrgNode.objects.none())
    address = forms.CharField(label=_("办公地点"), max_length=200, required=False)
    phone = forms.CharField(label=_("值班电话"), max_length=40, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = OrgNode.objects.filter(
            level=Level.STREET, closed_at__isnull=True
        ).select_related("parent")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj} ({obj.username})"


class StaffForm(StyledForm):
    user = StaffChoiceField(label=_("人员（持有“职能部门”角色）"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            User.objects.filter(is_active=True, assignments__role=Role.DEPARTMENT)
            .distinct()
            .order_by("username")
        )

"""Forms of the co-building pages: parse and validate input, then the view calls one service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tongxin.cobuild.models import (
    AwardKind,
    CommitmentArea,
    CommitmentSide,
    ConsultationOpinion,
    ConsultationSubject,
    EvaluationDirection,
    ResolutionStatus,
    ResourceKind,
    SecondmentDirection,
    SecondmentRole,
)

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"})
WEEKDAYS = [(0, "一"), (1, "二"), (2, "三"), (3, "四"), (4, "五"), (5, "六"), (6, "日")]


def apply_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's field errors on the matching form fields, the rest on the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class StyledForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class NodeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.parent.name} › {obj.name}" if obj.parent_id else obj.name


class AgreementForm(StyledForm):
    node = NodeChoiceField(label=_("街道/社区党组织"), queryset=None)
    unit = forms.ModelChoiceField(label=_("驻区单位"), queryset=None)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    title = forms.CharField(
        label=_("协议名称"), max_length=120, required=False, help_text=_("留空则自动生成")
    )
    note = forms.CharField(
        label=_("备注"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args: Any, nodes: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes.select_related("parent")
        self.fields["unit"].queryset = units


class CommitmentForm(StyledForm):
    side = forms.ChoiceField(label=_("承诺方"), choices=CommitmentSide.choices)
    area = forms.ChoiceField(label=_("共建领域"), choices=CommitmentArea.choices)
    content = forms.CharField(label=_("承诺内容"), max_length=300)
    due_on = forms.DateField(label=_("完成时限"), widget=DATE)
    owner_name = forms.CharField(label=_("责任人"), max_length=50)


class CommitmentMoveForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(label=_("说明/原因"), max_length=500, required=False)
    evidence_text = forms.CharField(
        label=_("履行情况"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    files = forms.FileField(label=_("佐证材料"), required=False)


class CopyForm(StyledForm):
    year = forms.IntegerField(label=_("复制到年度"), min_value=2000, max_value=2100)


class SecondmentForm(StyledForm):
    person_name = forms.CharField(label=_("姓名"), max_length=50)
    direction = forms.ChoiceField(label=_("挂职方向"), choices=SecondmentDirection.choices)
    role = forms.ChoiceField(label=_("挂职职务"), choices=SecondmentRole.choices)
    unit = forms.ModelChoiceField(label=_("驻区单位"), queryset=None)
    community = NodeChoiceField(label=_("社区"), queryset=None)
    starts_on = forms.DateField(label=_("起始日期"), widget=DATE)
    ends_on = forms.DateField(label=_("结束日期"), widget=DATE, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, units: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["community"].queryset = communities.select_related("parent")


class ResourceForm(StyledForm):
    unit = forms.ModelChoiceField(label=_("驻区单位"), queryset=None)
    kind = forms.ChoiceField(label=_("资源类别"), choices=ResourceKind.choices)
    title = forms.CharField(label=_("资源名称"), max_length=120)
    description = forms.CharField(
        label=_("资源说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    quantity = forms.CharField(label=_("数量/规模"), max_length=60, required=False)
    available_from = forms.DateField(label=_("可提供起"), widget=DATE, required=False)
    available_until = forms.DateField(label=_("可提供至"), widget=DATE, required=False)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class NeedForm(StyledForm):
    community = NodeChoiceField(label=_("社区"), queryset=None)
    kind = forms.ChoiceField(label=_("需求类别"), choices=ResourceKind.choices)
    title = forms.CharField(label=_("需求名称"), max_length=120)
    description = forms.CharField(
        label=_("需求说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    needed_by = forms.DateField(label=_("期望时间"), widget=DATE, required=False)

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities.select_related("parent")


class ProjectForm(StyledForm):
    community = NodeChoiceField(label=_("服务社区"), queryset=None, required=False)
    title = forms.CharField(label=_("项目名称"), max_length=120)
    description = forms.CharField(
        label=_("项目内容"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    owner_name = forms.CharField(label=_("负责人"), max_length=50)
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE)
    ends_on = forms.DateField(label=_("结束日期"), widget=DATE, required=False)
    beneficiaries = forms.CharField(label=_("受益对象"), max_length=200, required=False)
    beneficiary_count = forms.IntegerField(label=_("受益人数"), min_value=0, initial=0)
    published = forms.BooleanField(label=_("向居民公开"), required=False, initial=True)

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities.select_related("parent")


class ProjectMoveForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(label=_("说明/原因"), max_length=500, required=False)
    outcome = forms.CharField(
        label=_("项目成效"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    beneficiary_count = forms.IntegerField(label=_("受益人数"), min_value=0, required=False)


class VenueForm(StyledForm):
    unit = forms.ModelChoiceField(label=_("驻区单位"), queryset=None)
    name = forms.CharField(label=_("场地名称"), max_length=120)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    capacity = forms.IntegerField(label=_("容纳人数"), min_value=1)
    description = forms.CharField(
        label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("开放日（星期）"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    opens = forms.TimeField(label=_("开放时间"), widget=forms.TimeInput(attrs={"type": "time"}))
    closes = forms.TimeField(label=_("关闭时间"), widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["weekdays"].widget.attrs = {}


class BookingForm(StyledForm):
    day = forms.DateField(label=_("日期"), widget=DATE)
    starts = forms.TimeField(label=_("开始"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(label=_("结束"), widget=forms.TimeInput(attrs={"type": "time"}))
    purpose = forms.CharField(label=_("用途"), max_length=200)
    organization = forms.CharField(label=_("预约单位/组织"), max_length=120, required=False)
    attendees = forms.IntegerField(label=_("人数"), min_value=1, initial=10)


class MeetingForm(StyledForm):
    body = NodeChoiceField(label=_("大工委/大党委"), queryset=None)
    held_on = forms.DateField(label=_("会议日期"), widget=DATE)
    title = forms.CharField(label=_("会议名称"), max_length=120)
    location = forms.CharField(label=_("地点"), max_length=120, required=False)
    agenda = forms.CharField(label=_("议程"), widget=forms.Textarea(attrs={"rows": 3}))
    minutes = forms.CharField(
        label=_("会议纪要"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    members = forms.ModelMultipleChoiceField(
        label=_("出席的兼职委员"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    resolutions = forms.CharField(
        label=_("议定事项"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("每行一项：事项｜责任人｜落实时限（YYYY-MM-DD，可省略）"),
    )

    def __init__(self, *args: Any, bodies: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].queryset = bodies.select_related("parent")
        self.fields["members"].queryset = members
        self.fields["members"].widget.attrs = {}
        self.fields["members"].label_from_instance = lambda m: (
            f"{m.person_name}（{m.unit.name if m.unit_id else m.unit_post}）"
        )

    def clean_resolutions(self) -> list[dict[str, Any]]:
        import datetime as dt

        rows = []
        for line in (self.cleaned_data.get("resolutions") or "").splitlines():
            parts = [p.strip() for p in line.replace("|", "｜").split("｜")]
            if not parts[0]:
                continue
            if len(parts) < 2 or not parts[1]:
                raise ValidationError(_("每项议定事项须写明责任人：事项｜责任人｜时限"))
            due = None
            if len(parts) > 2 and parts[2]:
                try:
                    due = dt.date.fromisoformat(parts[2])
                except ValueError as exc:
                    raise ValidationError(_("落实时限格式应为 YYYY-MM-DD。")) from exc
            rows.append({"content": parts[0], "owner_name": parts[1], "due_on": due})
        return rows


class FollowUpForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    status = forms.ChoiceField(label=_("落实状态"), choices=ResolutionStatus.choices)
    note = forms.CharField(label=_("跟进情况"), max_length=500, required=False)


class RoundForm(StyledForm):
    node = NodeChoiceField(label=_("组织单位"), queryset=None)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    title = forms.CharField(label=_("评议名称"), max_length=120, required=False)

    def __init__(self, *args: Any, nodes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes.select_related("parent")


class ItemsForm(StyledForm):
    direction = forms.ChoiceField(
        label=_("评议方向"), choices=EvaluationDirection.choices, widget=forms.HiddenInput
    )
    lines = forms.CharField(
        label=_("评分项目"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("每行一项：项目名称｜权重；权重之和须为 100"),
    )

    def clean_lines(self) -> list[tuple[str, str]]:
        items = []
        for line in self.cleaned_data["lines"].splitlines():
            parts = [p.strip() for p in line.replace("|", "｜").split("｜")]
            if not parts[0]:
                continue
            if len(parts) != 2:
                raise ValidationError(_("每行应为「项目名称｜权重」。"))
            items.append((parts[0], parts[1]))
        return items


class AwardForm(StyledForm):
    kind = forms.ChoiceField(label=_("表彰类别"), choices=AwardKind.choices)
    unit = forms.ModelChoiceField(label=_("单位"), queryset=None, required=False)
    person_name = forms.CharField(label=_("个人姓名"), max_length=50, required=False)
    reason = forms.CharField(label=_("事迹摘要"), max_length=300, required=False)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class ReportForm(StyledForm):
    title = forms.CharField(label=_("述职标题"), max_length=120)
    text = forms.CharField(
        label=_("述职内容"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    file = forms.FileField(label=_("述职材料"), required=False)


class ConsultationForm(StyledForm):
    unit = forms.ModelChoiceField(label=_("驻区单位"), queryset=None)
    subject = forms.ChoiceField(label=_("事项"), choices=ConsultationSubject.choices)
    about_person = forms.CharField(label=_("涉及人员"), max_length=50)
    consulted_person = forms.CharField(label=_("社区意见人"), max_length=50)
    opinion = forms.ChoiceField(label=_("意见"), choices=ConsultationOpinion.choices)
    opinion_text = forms.CharField(
        label=_("意见说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    consulted_on = forms.DateField(label=_("征求日期"), widget=DATE)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units

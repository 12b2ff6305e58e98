"""Page forms of the services to residents. They parse input; the services validate and write."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.events.forms import StyledForm, apply_service_errors
from tongxin.outreach.models import OrderKind, ServicePointKind, WishCategory

__all__ = [
    "ActivityForm",
    "HoursClaimForm",
    "OrderForm",
    "ServicePointForm",
    "WishForm",
    "apply_service_errors",
]


def _phone_camera(field: forms.Field) -> None:
    # Phones open the camera directly; desktop browsers show the file picker.
    field.widget.attrs.update({"accept": "image/*", "capture": "environment"})


class _KeyedForm(StyledForm):
    """A phone form carrying an Idempotency-Key in a hidden field: a double tap or a retry on a
    weak signal posts the same key, and the second post replays the first answer."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["idempotency_key"] = uuid.uuid4().hex


class WishForm(_KeyedForm):
    title = forms.CharField(
        label=_("我的心愿"), max_length=60, help_text=_("例如：一台助听器、孩子的课外书")
    )
    category = forms.ChoiceField(label=_("类别"), choices=WishCategory.choices)
    description = forms.CharField(
        label=_("心愿说明"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo = forms.FileField(label=_("照片（可选）"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _phone_camera(self.fields["photo"])


class OrderForm(_KeyedForm):
    kind = forms.ChoiceField(label=_("服务类别"), choices=OrderKind.choices)
    description = forms.CharField(
        label=_("服务需求"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    address = forms.CharField(label=_("服务地址"), max_length=200, required=False)
    wanted_at = forms.DateTimeField(
        label=_("期望时间"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    recipient_person = forms.ModelChoiceField(
        label=_("代为下单的服务对象"),
        queryset=None,
        required=False,
        help_text=_(
            "为空巢独居老人、残疾人、70岁以上老党员代为下单；为空则以本社区党组织名义下单。"
        ),
    )

    def __init__(self, *args: Any, candidates: QuerySet | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if candidates is None:
            del self.fields["recipient_person"]
        else:
            self.fields["recipient_person"].queryset = candidates


class ActivityForm(StyledForm):
    community = forms.ModelChoiceField(label=_("社区"), queryset=None)
    title = forms.CharField(label=_("活动名称"), max_length=80)
    description = forms.CharField(
        label=_("活动内容"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    place = forms.CharField(label=_("活动地点"), max_length=120, required=False)
    starts_at = forms.DateTimeField(
        label=_("开始时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=_("结束时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    capacity = forms.IntegerField(label=_("名额"), min_value=1, max_value=10000, initial=20)
    points_per_hour = forms.IntegerField(
        label=_("每小时积分"), min_value=0, max_value=100, initial=10
    )
    team = forms.ModelChoiceField(label=_("志愿服务队"), queryset=None, required=False)
    post = forms.ModelChoiceField(label=_("服务岗位"), queryset=None, required=False)

    def __init__(
        self, *args: Any, communities: QuerySet, teams: QuerySet, posts: QuerySet, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        self.fields["team"].queryset = teams
        self.fields["post"].queryset = posts


class HoursClaimForm(_KeyedForm):
    served_on = forms.DateField(label=_("服务日期"))
    hours = forms.DecimalField(
        label=_("时长（小时）"), min_value=0.5, max_value=24, decimal_places=1, initial=1
    )
    description = forms.CharField(label=_("服务内容"), max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["served_on"].widget.input_type = "date"


class ServicePointForm(StyledForm):
    name = forms.CharField(label=_("名称"), max_length=80)
    kind = forms.ChoiceField(label=_("类别"), choices=ServicePointKind.choices)
    address = forms.CharField(label=_("地址"), max_length=200)
    lng = forms.FloatField(label=_("经度（WGS-84）"), min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度（WGS-84）"), min_value=-90, max_value=90)
    community = forms.ModelChoiceField(
        label=_("所属社区"),
        queryset=None,
        required=False,
        help_text=_("坐标不在任何网格内时必填"),
    )
    opening_hours = forms.CharField(label=_("服务时间"), max_length=100, required=False)
    contact = forms.CharField(label=_("联系方式"), max_length=60, required=False)
    services = forms.CharField(label=_("服务内容"), max_length=300, required=False)

    def __init__(self, *args: Any, communities: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities

"""Query filters shared by the pages and the API, so both accept exactly the same parameters."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.accounts.forms import NodeChoiceField, bootstrap
from tongxin.accounts.models import Role
from tongxin.accounts.selectors import grantable_nodes
from tongxin.core.models import AuditOutcome
from tongxin.orgs.models import OrgNode


class BootstrapFilterForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


_EARLIEST = date(1900, 1, 1)
_LATEST = date(9999, 1, 1)


def _day_start(day: date) -> datetime:
    """Local midnight (Asia/Shanghai) as an aware datetime: staff think in local calendar days."""
    return timezone.make_aware(datetime.combine(day, time.min))


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("搜索"), method="search", max_length=100)
    is_active = django_filters.BooleanFilter(
        label=_("状态"),
        widget=forms.Select(choices=[("", _("全部")), ("true", _("启用")), ("false", _("停用"))]),
    )

    class Meta:
        form = BootstrapFilterForm
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(username__icontains=value)
            | Q(display_name__icontains=value)
            | Q(email__icontains=value)
        )


class NodeFilter(django_filters.ModelChoiceFilter):
    field_class = NodeChoiceField


def _grantable_nodes(request: HttpRequest | None) -> QuerySet[OrgNode]:
    if request is None:  # schema generation
        return OrgNode.objects.none()
    return grantable_nodes(request.user)


class AssignmentFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(label=_("角色"), choices=Role.choices, empty_label=_("全部"))
    node = NodeFilter(
        label=_("组织"), method="in_subtree", queryset=_grantable_nodes, empty_label=_("全部")
    )
    username = django_filters.CharFilter(
        label=_("用户名"), field_name="user__username", lookup_expr="icontains", max_length=150
    )

    class Meta:
        form = BootstrapFilterForm
        fields: list[str] = []

    def in_subtree(self, queryset: QuerySet, name: str, value: OrgNode) -> QuerySet:
        """Assignments at the chosen node and everywhere below it."""
        return queryset.filter(node__path__startswith=value.path)


class AuditRecordFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(
        label=_("操作人"), field_name="actor_username", lookup_expr="iexact", max_length=150
    )
    action = django_filters.CharFilter(
        label=_("操作"),
        field_name="action",
        lookup_expr="startswith",
        max_length=80,
        help_text=_("按前缀匹配，如 accounts. 匹配全部账号类操作"),
    )
    object_type = django_filters.CharFilter(
        label=_("对象类型"), field_name="object_type", max_length=80
    )
    outcome = django_filters.ChoiceFilter(
        label=_("结果"), choices=AuditOutcome.choices, empty_label=_("全部")
    )
    date_from = django_filters.DateFilter(
        label=_("起始日期"),
        method="since",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label=_("截止日期"),
        method="until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        form = BootstrapFilterForm
        fields: list[str] = []

    # Compare with instants rather than `at__date`, which would defeat the index on `at`.
    # Dates at the ends of the calendar would overflow once shifted to UTC: they bound nothing.
    def since(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value <= _EARLIEST:
            return queryset
        return queryset.filter(at__gte=_day_start(value))

    def until(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value >= _LATEST:
            return queryset
        return queryset.filter(at__lt=_day_start(value + timedelta(days=1)))

    def applied(self) -> dict[str, str]:
        """The filters in force, for the export's own audit record."""
        return {k: str(v) for k, v in self.form.cleaned_data.items() if v not in (None, "")}

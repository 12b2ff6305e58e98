"""REST API of people (/api/v1/members/, residents/, households/, buildings/, dues/,
volunteers/, volunteer-teams/, service-posts/, registrations/, reporting/).

Same shape as the pages: lists come from the scoped selectors, single objects from the
`get_*_for_user` helpers (404 outside scope, 403 without the right), each write calls one service.
ID numbers and phones are always masked (`3501**********1234`, `138****5678`); the plain values
come only from `POST …/{id}/reveal/` with a reason, which is audited. Updates are PATCH with the
`version` the client saw (409 when stale); nothing is deleted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from tongxin.accounts.models import Role
from tongxin.core.exports import export_response
from tongxin.core.policy import roles
from tongxin.core.scoping import subtree_q
from tongxin.core.xlsx import XLSX_CONTENT_TYPE
from tongxin.orgs.exports import PlaceLabels
from tongxin.orgs.models import OrgNode, PartyOrganization, ResidentUnit
from tongxin.people import exports, selectors, services
from tongxin.people.models import (
    Building,
    Category,
    DuesClass,
    DuesLedger,
    DuesPayment,
    FloatDirection,
    FloatingRecord,
    Gender,
    Household,
    HouseholdType,
    ManagementMode,
    MembershipType,
    MemberStatus,
    MemberTransfer,
    PartyMember,
    PaymentMethod,
    Person,
    Rating,
    Registration,
    Relation,
    ResidenceType,
    Resident,
    ServicePost,
    ServiceRecord,
    SpecialGroup,
    TransferKind,
    Volunteer,
    VolunteerTeam,
)
from tongxin.people.rules import COMMUNITY_PATH_LENGTH, PEOPLE_ROLES, SELF_ROLES, can

PEOPLE = roles(PEOPLE_ROLES | SELF_ROLES)
STAFF = roles(PEOPLE_ROLES)
DUES = roles(PEOPLE_ROLES | {Role.MEMBER})
REPORTING = roles(PEOPLE_ROLES | {Role.MEMBER, Role.UNIT_LIAISON})
METHODS = ["get", "post", "patch", "head", "options"]


def _user(field: serializers.Field) -> Any:
    return field.context["request"].user


def _fake(view: Any) -> bool:
    return getattr(view, "swagger_fake_view", False)


XLSX_RESPONSE = {(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}
EXPORT_DESCRIPTION = (
    "与列表相同的筛选条件；身份证号、手机号脱敏，敏感人群仅服务社区可见；导出行为记入审计日志。"
    "超过导出上限时返回 400。"
)


def _export(
    view: viewsets.GenericViewSet,
    columns: Any,
    rows: Any,
    *,
    filename: str,
    action_name: str,
) -> Any:
    """The list the same query parameters select, as .xlsx (masked, audited; 400 if too long).
    Exports are for the staff roles: a member or resident sees only their own row anyway."""
    if not STAFF.allows(view.request.user):
        raise PermissionDenied
    queryset = view.filter_queryset(view.get_queryset())
    labels = PlaceLabels()
    filters = {k: v for k, v in view.request.query_params.items() if k != "format"}
    return export_response(
        queryset,
        columns(labels),
        rows=rows(queryset, labels),
        filename=filename,
        actor=view.request.user,
        action=action_name,
        filters=filters,
    )


# ---------------------------------------------------------------------------------------------
# choice fields scoped to the user


@extend_schema_field(OpenApiTypes.INT)
class PlaceField(serializers.PrimaryKeyRelatedField):
    """A community or grid the user may register people at; any other id "does not exist"."""

    def get_queryset(self) -> QuerySet[OrgNode]:
        return selectors.grid_choices(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class BranchField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[OrgNode]:
        return selectors.branch_choices(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class OrganizationField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[PartyOrganization]:
        return selectors.organization_choices(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class DestinationField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[PartyOrganization]:
        return selectors.transfer_destinations(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class UnitField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[ResidentUnit]:
        return selectors.unit_choices(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class HouseholdField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Household]:
        return selectors.visible_households(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class BuildingField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Building]:
        return selectors.visible_buildings(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class PersonField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Person]:
        return selectors.visible_persons(_user(self)).select_related("node")


@extend_schema_field(OpenApiTypes.INT)
class TeamField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[VolunteerTeam]:
        return selectors.visible_teams(_user(self)).filter(closed_at__isnull=True)


@extend_schema_field(OpenApiTypes.INT)
class PostField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[ServicePost]:
        return ServicePost.objects.filter(active=True)


class CodeField(serializers.CharField):
    """A code from a fixed set, documented in the description rather than as an OpenAPI enum.

    Used for the field names other apps already give another choice set (`category`,
    `status`, `kind`): one name with two enums makes the schema ambiguous for client generators.
    """

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        self.codes = [str(code) for code, _label in choices]
        listing = "、".join(f"{code} {label}" for code, label in choices)
        kwargs.setdefault("help_text", listing)
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and value not in self.codes:
            raise serializers.ValidationError(_("“%(v)s”不是有效的选项。") % {"v": value})
        return value


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(label=_("版本号"), min_value=1)


class PeopleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class ChoiceOutSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)


def _brief(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def _today() -> dt.date:
    return timezone.localdate()


# ---------------------------------------------------------------------------------------------
# persons (shared by members and residents)


class PersonOutSerializer(serializers.Serializer):
    """A person as every list shows them: protected values masked, birth date to the month."""

    person_id = serializers.IntegerField(source="person.pk", read_only=True)
    name = serializers.CharField(source="person.name", read_only=True, label=_("姓名"))
    gender = serializers.ChoiceField(
        source="person.gender", choices=Gender.choices, read_only=True, label=_("性别")
    )
    ethnicity = serializers.CharField(source="person.ethnicity", read_only=True, label=_("民族"))
    birth_month = serializers.SerializerMethodField(label=_("出生年月"))
    age = serializers.SerializerMethodField(label=_("年龄"))
    id_number = serializers.CharField(
        source="person.id_number_masked", read_only=True, label=_("身份证号（脱敏）")
    )
    phone = serializers.CharField(
        source="person.phone_masked", read_only=True, label=_("联系电话（脱敏）")
    )
    address = serializers.CharField(source="person.address", read_only=True, label=_("住址"))
    node = serializers.SerializerMethodField(label=_("所属网格/社区"))
    special_groups = serializers.SerializerMethodField(label=_("特殊人群"))

    @extend_schema_field(OpenApiTypes.STR)
    def get_birth_month(self, obj: Any) -> str:
        born = obj.person.birth_date
        return f"{born:%Y-%m}" if born else ""

    @extend_schema_field(OpenApiTypes.INT)
    def get_age(self, obj: Any) -> int | None:
        return obj.person.age_on(_today())

    @extend_schema_field(PeopleRefSerializer)
    def get_node(self, obj: Any) -> dict[str, Any] | None:
        return _brief(obj.person.node)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_special_groups(self, obj: Any) -> list[str]:
        # Only tags the viewer may see were prefetched (sensitive ones for the serving community).
        return [g.group for g in getattr(obj.person, "visible_groups", [])]


class PersonInSerializer(serializers.Serializer):
    name = serializers.CharField(label=_("姓名"), max_length=50)
    gender = serializers.ChoiceField(
        label=_("性别"), choices=Gender.choices, required=False, allow_blank=True
    )
    ethnicity = serializers.CharField(
        label=_("民族"), max_length=20, required=False, allow_blank=True
    )
    birth_date = serializers.DateField(
        label=_("出生日期"), required=False, allow_null=True, help_text=_("有身份证号时自动生成")
    )
    id_number = serializers.CharField(
        label=_("身份证号"), max_length=30, required=False, allow_blank=True
    )
    phone = serializers.CharField(
        label=_("联系电话"), max_length=30, required=False, allow_blank=True
    )
    address = serializers.CharField(
        label=_("住址"), max_length=200, required=False, allow_blank=True
    )


class PersonPatchSerializer(VersionSerializer):
    name = serializers.CharField(label=_("姓名"), max_length=50, required=False)
    gender = serializers.ChoiceField(
        label=_("性别"), choices=Gender.choices, required=False, allow_blank=True
    )
    ethnicity = serializers.CharField(max_length=20, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    id_number = serializers.CharField(
        label=_("身份证号"),
        max_length=30,
        required=False,
        allow_blank=True,
        help_text=_("给出即替换；空字符串为清除"),
    )
    phone = serializers.CharField(
        label=_("联系电话"), max_length=30, required=False, allow_blank=True
    )
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    node = PlaceField(label=_("所属网格/社区"), required=False)


class RevealSerializer(serializers.Serializer):
    reason = serializers.CharField(label=_("查看原因"), max_length=200)


class RevealedSerializer(serializers.Serializer):
    id_number = serializers.CharField(label=_("身份证号"))
    phone = serializers.CharField(label=_("联系电话"))
    birth_date = serializers.DateField(label=_("出生日期"), allow_null=True)


class GroupsSerializer(serializers.Serializer):
    groups = serializers.ListField(
        child=serializers.ChoiceField(choices=SpecialGroup.choices), label=_("特殊人群")
    )


def _reveal(request: Request, person: Person) -> Response:
    serializer = RevealSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    values = services.person_reveal(
        actor=request.user, person=person, reason=serializer.validated_data["reason"]
    )
    return Response(RevealedSerializer(values).data)


def _set_groups(request: Request, person: Person) -> Response:
    serializer = GroupsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    groups = services.person_set_groups(
        actor=request.user, person=person, groups=serializer.validated_data["groups"]
    )
    return Response({"groups": groups})


def _changes(data: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in {"version", *drop}}


def _node_or_none(pk: Any) -> OrgNode | None:
    # Scope comes from the visible_* queryset; a node outside it simply matches nothing.
    return OrgNode.objects.filter(pk=pk).first() if pk is not None else None


# ---------------------------------------------------------------------------------------------
# members


class MemberSerializer(PersonOutSerializer, serializers.ModelSerializer):
    category = CodeField(Category.choices, read_only=True, label=_("党员类别"))
    status = CodeField(MemberStatus.choices, read_only=True, label=_("党籍状态"))
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    management_mode = serializers.ChoiceField(
        choices=ManagementMode.choices, read_only=True, label=_("管理方式")
    )
    management_mode_display = serializers.CharField(
        source="get_management_mode_display", read_only=True
    )
    organization = serializers.SerializerMethodField(label=_("组织关系所在"))
    organization_name = serializers.CharField(
        source="organization_label", read_only=True, label=_("组织关系所在（名称）")
    )
    branch = serializers.SerializerMethodField(label=_("活动所在网格党支部"))
    unit = serializers.SerializerMethodField(label=_("工作单位"))
    work_unit_name = serializers.CharField(source="unit_label", read_only=True)

    class Meta:
        model = PartyMember
        fields = [
            "id",
            "person_id",
            "name",
            "gender",
            "ethnicity",
            "birth_month",
            "age",
            "id_number",
            "phone",
            "address",
            "node",
            "special_groups",
            "category",
            "category_display",
            "management_mode",
            "management_mode_display",
            "membership_type",
            "joined_on",
            "full_on",
            "status",
            "status_since",
            "organization",
            "organization_name",
            "branch",
            "unit",
            "work_unit_name",
            "dues_class",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(PeopleRefSerializer(allow_null=True))
    def get_organization(self, member: PartyMember) -> dict[str, Any] | None:
        return _brief(member.organization)

    @extend_schema_field(PeopleRefSerializer(allow_null=True))
    def get_branch(self, member: PartyMember) -> dict[str, Any] | None:
        return _brief(member.branch)

    @extend_schema_field(PeopleRefSerializer(allow_null=True))
    def get_unit(self, member: PartyMember) -> dict[str, Any] | None:
        return _brief(member.unit)


class TransferOutSerializer(serializers.ModelSerializer):
    kind = CodeField(TransferKind.choices, read_only=True, label=_("转接类型"))

    class Meta:
        model = MemberTransfer
        fields = [
            "id",
            "kind",
            "from_organization",
            "from_name",
            "to_organization",
            "to_name",
            "transferred_on",
            "letter_no",
            "note",
        ]
        read_only_fields = fields


class FloatingOutSerializer(serializers.ModelSerializer):
    contact_phone = serializers.CharField(
        source="contact_phone_masked", read_only=True, label=_("联系电话（脱敏）")
    )

    class Meta:
        model = FloatingRecord
        fields = [
            "id",
            "direction",
            "place",
            "org_name",
            "reason",
            "since",
            "until",
            "contact_name",
            "contact_phone",
            "note",
        ]
        read_only_fields = fields


class MemberDetailSerializer(MemberSerializer):
    monthly_income = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True, allow_null=True, label=_("月收入（税后）")
    )
    transfers = TransferOutSerializer(many=True, read_only=True, label=_("组织关系转接"))
    floating = FloatingOutSerializer(many=True, read_only=True, label=_("流动记录"))

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "monthly_income", "transfers", "floating"]
        read_only_fields = fields


class MemberInSerializer(PersonInSerializer):
    node = PlaceField(label=_("所属网格/社区"))
    category = CodeField(Category.choices, label=_("党员类别"))
    joined_on = serializers.DateField(label=_("入党日期"))
    membership_type = serializers.ChoiceField(
        label=_("党员身份"), choices=MembershipType.choices, default=MembershipType.FULL
    )
    full_on = serializers.DateField(label=_("转正日期"), required=False, allow_null=True)
    status = CodeField(MemberStatus.choices, label=_("党籍状态"), default=MemberStatus.NORMAL)
    organization = OrganizationField(label=_("组织关系所在党组织"), required=False, allow_null=True)
    organization_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    branch = BranchField(label=_("活动所在网格党支部"), required=False, allow_null=True)
    unit = UnitField(label=_("工作单位"), required=False, allow_null=True)
    work_unit_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    dues_class = serializers.ChoiceField(
        label=_("党费计算类别"), choices=DuesClass.choices, required=False
    )
    monthly_income = serializers.DecimalField(
        label=_("月收入（税后）"), max_digits=10, decimal_places=2, required=False, allow_null=True
    )
    transferred_from = serializers.CharField(
        label=_("从系统外转入（原党组织）"), max_length=120, required=False, allow_blank=True
    )


class MemberPatchSerializer(PersonPatchSerializer):
    category = CodeField(Category.choices, label=_("党员类别"), required=False)
    joined_on = serializers.DateField(required=False)
    full_on = serializers.DateField(required=False, allow_null=True)
    branch = BranchField(required=False, allow_null=True)
    unit = UnitField(required=False, allow_null=True)
    work_unit_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    dues_class = serializers.ChoiceField(choices=DuesClass.choices, required=False)
    monthly_income = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True
    )


class TransferInSerializer(VersionSerializer):
    on = serializers.DateField(label=_("转接日期"))
    to_organization = DestinationField(
        label=_("转入党组织（本区）"), required=False, allow_null=True
    )
    to_name = serializers.CharField(
        label=_("系统外党组织名称"), max_length=120, required=False, allow_blank=True
    )
    letter_no = serializers.CharField(max_length=40, required=False, allow_blank=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class StatusInSerializer(VersionSerializer):
    status = CodeField(MemberStatus.choices, label=_("党籍状态"))
    since = serializers.DateField(label=_("起始日期"), required=False, allow_null=True)
    note = serializers.CharField(
        label=_("依据/说明"), max_length=200, required=False, allow_blank=True
    )


class MakeFullInSerializer(VersionSerializer):
    on = serializers.DateField(label=_("转正日期"))


class FloatingInSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(label=_("流向"), choices=FloatDirection.choices)
    place = serializers.CharField(label=_("流入/流出地"), max_length=120)
    since = serializers.DateField(label=_("起始日期"))
    org_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=60, required=False, allow_blank=True)
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class MemberFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(label=_("姓名，或完整身份证号/手机号，或手机尾号4位"))
    category = django_filters.ChoiceFilter(choices=Category.choices, label=_("党员类别"))
    status = django_filters.ChoiceFilter(choices=MemberStatus.choices, label=_("党籍状态"))
    membership_type = django_filters.ChoiceFilter(
        choices=MembershipType.choices, label=_("党员身份")
    )
    node = django_filters.NumberFilter(label=_("网格/社区编号（含下级）"))
    branch = django_filters.NumberFilter(label=_("网格党支部编号"))
    organization = django_filters.NumberFilter(label=_("党组织编号"))
    unit = django_filters.NumberFilter(label=_("单位编号"))
    group = django_filters.ChoiceFilter(choices=SpecialGroup.choices, label=_("特殊人群"))
    age_min = django_filters.NumberFilter(label=_("年龄不小于"))

    class Meta:
        model = PartyMember
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        filters = selectors.MemberFilters(
            search=data.get("search") or "",
            category=data.get("category") or "",
            status=data.get("status") or "",
            membership_type=data.get("membership_type") or "",
            node=_node_or_none(data.get("node")),
            branch=_node_or_none(data.get("branch")),
            organization=PartyOrganization.objects.filter(pk=data["organization"]).first()
            if data.get("organization") is not None
            else None,
            unit=ResidentUnit.objects.filter(pk=data["unit"]).first()
            if data.get("unit") is not None
            else None,
            group=data.get("group") or "",
            age_min=int(data["age_min"]) if data.get("age_min") is not None else None,
        )
        return selectors.member_list(self.request.user, filters)


@extend_schema_view(
    list=extend_schema(summary="党员列表（身份证号、手机号脱敏）"),
    retrieve=extend_schema(summary="党员详情", responses=MemberDetailSerializer),
)
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = PEOPLE
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    queryset = PartyMember.objects.none()
    http_method_names = METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[PartyMember]:
        if _fake(self):
            return PartyMember.objects.none()
        return selectors.member_list(self.request.user)

    @extend_schema(
        summary="导出党员（Excel）",
        description=EXPORT_DESCRIPTION,
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.member_columns,
            exports.member_rows,
            filename=_("党员"),
            action_name="people.partymember.export",
        )

    def _present(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        member = selectors.get_member_for_user(self.request.user, pk)
        data = MemberDetailSerializer(member, context=self.get_serializer_context()).data
        return Response(data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_member_for_user(request.user, pk).pk)

    @extend_schema(
        request=MemberInSerializer, responses={201: MemberDetailSerializer}, summary="登记党员"
    )
    def create(self, request: Request) -> Response:
        serializer = MemberInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        node = data.pop("node")
        for name in ("organization", "branch", "unit"):
            if data.get(name) is None:
                data.pop(name, None)
        member = services.member_create(actor=request.user, node=node, data=data)
        return self._present(member.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=MemberPatchSerializer, responses=MemberDetailSerializer, summary="修改党员信息"
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        member = selectors.get_member_for_user(request.user, pk, write=True)
        serializer = MemberPatchSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.member_update(
            actor=request.user, member=member, version=data["version"], changes=_changes(data)
        )
        return self._present(member.pk)

    @extend_schema(
        request=RevealSerializer,
        responses=RevealedSerializer,
        summary="查看完整身份证号和手机号（须说明原因，记入审计）",
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk: str) -> Response:
        member = selectors.get_member_for_user(request.user, pk)
        return _reveal(request, member.person)

    @extend_schema(
        request=TransferInSerializer, responses=TransferOutSerializer, summary="组织关系转接"
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: str) -> Response:
        member = selectors.get_member_for_user(
            request.user, pk, write=True, perm="people.transfer_member"
        )
        serializer = TransferInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record = services.member_transfer(
            actor=request.user,
            member=member,
            version=data["version"],
            on=data["on"],
            to_organization=data.get("to_organization"),
            to_name=data.get("to_name", ""),
            letter_no=data.get("letter_no", ""),
            note=data.get("note", ""),
        )
        return Response(TransferOutSerializer(record).data, status.HTTP_201_CREATED)

    @extend_schema(
        request=StatusInSerializer, responses=MemberDetailSerializer, summary="变更党籍状态"
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str) -> Response:
        member = selectors.get_member_for_user(
            request.user, pk, write=True, perm="people.change_member_status"
        )
        serializer = StatusInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.member_change_status(
            actor=request.user,
            member=member,
            version=data["version"],
            status=data["status"],
            since=data.get("since"),
            note=data.get("note", ""),
        )
        return self._present(member.pk)

    @extend_schema(
        request=MakeFullInSerializer, responses=MemberDetailSerializer, summary="预备党员转正"
    )
    @action(detail=True, methods=["post"], url_path="make-full")
    def make_full(self, request: Request, pk: str) -> Response:
        member = selectors.get_member_for_user(request.user, pk, write=True)
        serializer = MakeFullInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.member_make_full(
            actor=request.user, member=member, version=data["version"], on=data["on"]
        )
        return self._present(member.pk)

    @extend_schema(
        request=FloatingInSerializer,
        responses={201: FloatingOutSerializer},
        summary="登记流出/流入",
    )
    @action(detail=True, methods=["post"])
    def floating(self, request: Request, pk: str) -> Response:
        member = selectors.get_member_for_user(
            request.user, pk, write=True, perm="people.manage_floating"
        )
        serializer = FloatingInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.floating_record_add(
            actor=request.user, member=member, **serializer.validated_data
        )
        return Response(FloatingOutSerializer(record).data, status.HTTP_201_CREATED)

    @extend_schema(request=GroupsSerializer, responses=GroupsSerializer, summary="设置特殊人群标记")
    @action(detail=True, methods=["post"])
    def groups(self, request: Request, pk: str) -> Response:
        member = selectors.get_member_for_user(
            request.user, pk, write=True, perm="people.change_person"
        )
        return _set_groups(request, member.person)


# ---------------------------------------------------------------------------------------------
# residents


class ResidentSerializer(PersonOutSerializer, serializers.ModelSerializer):
    household = serializers.SerializerMethodField(label=_("住户"))
    is_member = serializers.SerializerMethodField(label=_("党员"))

    class Meta:
        model = Resident
        fields = [
            "id",
            "person_id",
            "name",
            "gender",
            "ethnicity",
            "birth_month",
            "age",
            "id_number",
            "phone",
            "address",
            "node",
            "special_groups",
            "household",
            "relation",
            "residence_type",
            "moved_in_on",
            "moved_out_on",
            "is_member",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(PeopleRefSerializer(allow_null=True))
    def get_household(self, resident: Resident) -> dict[str, Any] | None:
        household = resident.household
        return {"id": household.pk, "name": str(household)} if household else None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_member(self, resident: Resident) -> bool:
        return hasattr(resident.person, "membership")


class ResidentInSerializer(PersonInSerializer):
    household = HouseholdField(label=_("住户"), required=False, allow_null=True)
    node = PlaceField(label=_("所属网格（未分户时）"), required=False, allow_null=True)
    relation = serializers.ChoiceField(
        label=_("与户主关系"), choices=Relation.choices, default=Relation.HEAD
    )
    residence_type = serializers.ChoiceField(
        label=_("人口类别"), choices=ResidenceType.choices, default=ResidenceType.PERMANENT
    )
    moved_in_on = serializers.DateField(required=False, allow_null=True)
    groups = serializers.ListField(
        child=serializers.ChoiceField(choices=SpecialGroup.choices), required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("household") is None and attrs.get("node") is None:
            raise DRFValidationError({"household": [_("请选择住户或所属网格。")]})
        return attrs


class ResidentPatchSerializer(PersonPatchSerializer):
    household = HouseholdField(required=False, allow_null=True)
    relation = serializers.ChoiceField(choices=Relation.choices, required=False)
    residence_type = serializers.ChoiceField(choices=ResidenceType.choices, required=False)
    moved_in_on = serializers.DateField(required=False, allow_null=True)


class MoveOutSerializer(VersionSerializer):
    on = serializers.DateField(label=_("迁出日期"))
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ResidentFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(label=_("姓名，或完整身份证号/手机号，或手机尾号4位"))
    node = django_filters.NumberFilter(label=_("网格/社区编号（含下级）"))
    household = django_filters.NumberFilter(label=_("住户编号"))
    group = django_filters.ChoiceFilter(choices=SpecialGroup.choices, label=_("特殊人群"))
    residence_type = django_filters.ChoiceFilter(choices=ResidenceType.choices, label=_("人口类别"))
    include_moved_out = django_filters.BooleanFilter(label=_("含已迁出"))

    class Meta:
        model = Resident
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        household = (
            Household.objects.filter(pk=data["household"]).first()
            if data.get("household") is not None
            else None
        )
        filters = selectors.ResidentFilters(
            search=data.get("search") or "",
            node=_node_or_none(data.get("node")),
            group=data.get("group") or "",
            residence_type=data.get("residence_type") or "",
            household=household,
            include_moved_out=bool(data.get("include_moved_out")),
        )
        if data.get("household") is not None and household is None:
            return Resident.objects.none()
        return selectors.resident_list(self.request.user, filters)


@extend_schema_view(
    list=extend_schema(summary="居民列表（身份证号、手机号脱敏）"),
    retrieve=extend_schema(summary="居民详情"),
)
class ResidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = PEOPLE
    serializer_class = ResidentSerializer
    filterset_class = ResidentFilter
    queryset = Resident.objects.none()
    http_method_names = METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Resident]:
        if _fake(self):
            return Resident.objects.none()
        return selectors.resident_list(self.request.user)

    @extend_schema(
        summary="导出居民（Excel）",
        description=EXPORT_DESCRIPTION,
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.resident_columns,
            exports.resident_rows,
            filename=_("居民"),
            action_name="people.resident.export",
        )

    def _present(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        resident = selectors.get_resident_for_user(self.request.user, pk)
        return Response(
            ResidentSerializer(resident, context=self.get_serializer_context()).data, code
        )

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_resident_for_user(request.user, pk).pk)

    @extend_schema(
        request=ResidentInSerializer, responses={201: ResidentSerializer}, summary="登记居民"
    )
    def create(self, request: Request) -> Response:
        serializer = ResidentInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        resident = services.resident_create(actor=request.user, data=serializer.validated_data)
        return self._present(resident.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=ResidentPatchSerializer, responses=ResidentSerializer, summary="修改居民信息"
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        resident = selectors.get_resident_for_user(request.user, pk, write=True)
        serializer = ResidentPatchSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.resident_update(
            actor=request.user, resident=resident, version=data["version"], changes=_changes(data)
        )
        return self._present(resident.pk)

    @extend_schema(
        request=RevealSerializer,
        responses=RevealedSerializer,
        summary="查看完整身份证号和手机号（须说明原因，记入审计）",
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk: str) -> Response:
        resident = selectors.get_resident_for_user(request.user, pk)
        return _reveal(request, resident.person)

    @extend_schema(request=GroupsSerializer, responses=GroupsSerializer, summary="设置特殊人群标记")
    @action(detail=True, methods=["post"])
    def groups(self, request: Request, pk: str) -> Response:
        resident = selectors.get_resident_for_user(request.user, pk, write=True)
        return _set_groups(request, resident.person)

    @extend_schema(request=MoveOutSerializer, responses=ResidentSerializer, summary="居民迁出")
    @action(detail=True, methods=["post"], url_path="move-out")
    def move_out(self, request: Request, pk: str) -> Response:
        resident = selectors.get_resident_for_user(request.user, pk, write=True)
        serializer = MoveOutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.resident_move_out(
            actor=request.user,
            resident=resident,
            version=data["version"],
            on=data["on"],
            note=data.get("note", ""),
        )
        return self._present(resident.pk)


# ---------------------------------------------------------------------------------------------
# households and buildings


class HouseholdSerializer(serializers.ModelSerializer):
    node = serializers.SerializerMethodField(label=_("网格"))
    building_name = serializers.CharField(source="building.name", read_only=True, default="")
    resident_count = serializers.IntegerField(read_only=True, label=_("在住人数"))
    head_name = serializers.CharField(read_only=True, allow_null=True, label=_("户主"))

    class Meta:
        model = Household
        fields = [
            "id",
            "node",
            "building",
            "building_name",
            "door",
            "address",
            "household_type",
            "note",
            "resident_count",
            "head_name",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(PeopleRefSerializer)
    def get_node(self, household: Household) -> dict[str, Any] | None:
        return _brief(household.node)


class HouseholdInSerializer(serializers.Serializer):
    node = PlaceField(label=_("网格"))
    building = BuildingField(label=_("楼栋"), required=False, allow_null=True)
    door = serializers.CharField(label=_("门牌/房号"), max_length=40)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    household_type = serializers.ChoiceField(
        choices=HouseholdType.choices, default=HouseholdType.RESIDENT
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class HouseholdPatchSerializer(VersionSerializer):
    building = BuildingField(required=False, allow_null=True)
    door = serializers.CharField(max_length=40, required=False)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    household_type = serializers.ChoiceField(choices=HouseholdType.choices, required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class HouseholdFilter(django_filters.FilterSet):
    node = django_filters.NumberFilter(label=_("网格/社区编号（含下级）"))
    building = django_filters.NumberFilter(label=_("楼栋编号"))
    search = django_filters.CharFilter(label=_("门牌、地址或楼栋"))

    class Meta:
        model = Household
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        building = None
        if data.get("building") is not None:
            building = Building.objects.filter(pk=data["building"]).first()
            if building is None:
                return Household.objects.none()
        return selectors.household_list(
            self.request.user,
            node=_node_or_none(data.get("node")),
            building=building,
            search=data.get("search") or "",
        )


@extend_schema_view(
    list=extend_schema(summary="住户列表"), retrieve=extend_schema(summary="住户详情")
)
class HouseholdViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = STAFF
    serializer_class = HouseholdSerializer
    filterset_class = HouseholdFilter
    queryset = Household.objects.none()
    http_method_names = METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Household]:
        if _fake(self):
            return Household.objects.none()
        return selectors.household_list(self.request.user)

    @extend_schema(
        summary="导出住户（Excel）",
        description=EXPORT_DESCRIPTION,
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.household_columns,
            exports.node_rows,
            filename=_("住户"),
            action_name="people.household.export",
        )

    def _present(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        household = self.get_queryset().get(pk=pk)
        return Response(HouseholdSerializer(household).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_household_for_user(request.user, pk).pk)

    @extend_schema(
        request=HouseholdInSerializer, responses={201: HouseholdSerializer}, summary="登记住户"
    )
    def create(self, request: Request) -> Response:
        serializer = HouseholdInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        household = services.household_create(actor=request.user, node=data.pop("node"), data=data)
        return self._present(household.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=HouseholdPatchSerializer, responses=HouseholdSerializer, summary="修改住户"
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        household = selectors.get_household_for_user(request.user, pk, write=True)
        serializer = HouseholdPatchSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.household_update(
            actor=request.user, household=household, version=data["version"], changes=_changes(data)
        )
        return self._present(household.pk)


class BuildingSerializer(serializers.ModelSerializer):
    node = serializers.SerializerMethodField(label=_("网格"))
    household_count = serializers.IntegerField(read_only=True, label=_("住户数"))

    class Meta:
        model = Building
        fields = [
            "id",
            "node",
            "name",
            "address",
            "floors",
            "entrances",
            "note",
            "household_count",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(PeopleRefSerializer)
    def get_node(self, building: Building) -> dict[str, Any] | None:
        return _brief(building.node)


class BuildingInSerializer(serializers.Serializer):
    node = PlaceField(label=_("网格"))
    name = serializers.CharField(label=_("楼栋名称"), max_length=60)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    floors = serializers.IntegerField(min_value=0, max_value=200, required=False)
    entrances = serializers.IntegerField(min_value=0, max_value=50, required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class BuildingPatchSerializer(VersionSerializer):
    name = serializers.CharField(max_length=60, required=False)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    floors = serializers.IntegerField(min_value=0, max_value=200, required=False)
    entrances = serializers.IntegerField(min_value=0, max_value=50, required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class BuildingFilter(django_filters.FilterSet):
    node = django_filters.NumberFilter(label=_("网格/社区编号（含下级）"))
    search = django_filters.CharFilter(label=_("楼栋名称或地址"))

    class Meta:
        model = Building
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        return selectors.building_list(
            self.request.user, node=_node_or_none(data.get("node")), search=data.get("search") or ""
        )


@extend_schema_view(
    list=extend_schema(summary="楼栋列表"), retrieve=extend_schema(summary="楼栋详情")
)
class BuildingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = STAFF
    serializer_class = BuildingSerializer
    filterset_class = BuildingFilter
    queryset = Building.objects.none()
    http_method_names = METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Building]:
        if _fake(self):
            return Building.objects.none()
        return selectors.building_list(self.request.user)

    @extend_schema(
        summary="导出楼栋（Excel）",
        description=EXPORT_DESCRIPTION,
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.building_columns,
            exports.node_rows,
            filename=_("楼栋"),
            action_name="people.building.export",
        )

    def _present(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(BuildingSerializer(self.get_queryset().get(pk=pk)).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_building_for_user(request.user, pk).pk)

    @extend_schema(
        request=BuildingInSerializer, responses={201: BuildingSerializer}, summary="登记楼栋"
    )
    def create(self, request: Request) -> Response:
        serializer = BuildingInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        building = services.building_create(actor=request.user, node=data.pop("node"), data=data)
        return self._present(building.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=BuildingPatchSerializer, responses=BuildingSerializer, summary="修改楼栋"
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        building = selectors.get_building_for_user(request.user, pk, write=True)
        serializer = BuildingPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.building_update(
            actor=request.user, building=building, version=data["version"], changes=_changes(data)
        )
        return self._present(building.pk)


# ---------------------------------------------------------------------------------------------
# dues


class PaymentSerializer(serializers.ModelSerializer):
    collected_by = serializers.CharField(
        source="collected_by.display_name", read_only=True, default="", label=_("代收人")
    )

    class Meta:
        model = DuesPayment
        fields = ["id", "amount", "paid_on", "method", "collected_by", "note"]
        read_only_fields = fields


class LedgerSerializer(serializers.ModelSerializer):
    member = serializers.IntegerField(source="member_id", read_only=True)
    name = serializers.CharField(source="member.person.name", read_only=True, label=_("姓名"))
    month = serializers.SerializerMethodField(label=_("月份"))
    branch = serializers.SerializerMethodField(label=_("党支部"))
    outstanding = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)

    class Meta:
        model = DuesLedger
        fields = [
            "id",
            "member",
            "name",
            "month",
            "branch",
            "dues_class",
            "income",
            "rate",
            "standard",
            "amount",
            "override_reason",
            "paid",
            "outstanding",
            "paid_on",
            "payments",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_month(self, ledger: DuesLedger) -> str:
        return f"{ledger.month:%Y-%m}"

    @extend_schema_field(PeopleRefSerializer(allow_null=True))
    def get_branch(self, ledger: DuesLedger) -> dict[str, Any] | None:
        return _brief(ledger.branch)


class MonthField(serializers.CharField):
    """`YYYY-MM` → the first day of that month."""

    def to_internal_value(self, data: Any) -> dt.date:
        text = super().to_internal_value(data)
        try:
            return dt.datetime.strptime(text, "%Y-%m").date()  # noqa: DTZ007 - a calendar month
        except ValueError:
            raise serializers.ValidationError(_("月份格式应为 YYYY-MM。")) from None


class PayInSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        required=False,
        allow_null=True,
        label=_("金额（缺省为应交未交）"),
    )
    paid_on = serializers.DateField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.CASH)
    on_behalf = serializers.BooleanField(default=False, label=_("网格员代收"))
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class OverrideInSerializer(VersionSerializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, label=_("应交金额"))
    reason = serializers.CharField(max_length=200, label=_("调整原因"))


class GenerateInSerializer(serializers.Serializer):
    month = MonthField(label=_("月份 YYYY-MM"))
    node = PlaceField(label=_("社区/网格"))


class GenerateOutSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    already = serializers.IntegerField()
    missing_income = serializers.ListField(child=serializers.IntegerField())


class SummarySerializer(serializers.Serializer):
    branch = PeopleRefSerializer(allow_null=True)
    members = serializers.IntegerField()
    due = serializers.DecimalField(max_digits=12, decimal_places=2)
    paid = serializers.DecimalField(max_digits=12, decimal_places=2)
    outstanding = serializers.DecimalField(max_digits=12, decimal_places=2)
    paid_members = serializers.IntegerField()
    collected_on_behalf = serializers.IntegerField()


class LedgerFilter(django_filters.FilterSet):
    month = django_filters.CharFilter(label=_("月份 YYYY-MM"))
    node = django_filters.NumberFilter(label=_("网格/社区编号（含下级）"))
    branch = django_filters.NumberFilter(label=_("党支部（网格）编号"))
    member = django_filters.NumberFilter(label=_("党员编号"))
    arrears = django_filters.BooleanFilter(label=_("只看欠交"))
    search = django_filters.CharFilter(label=_("姓名"))

    class Meta:
        model = DuesLedger
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        month = None
        if data.get("month"):
            try:
                month = dt.datetime.strptime(data["month"], "%Y-%m").date()  # noqa: DTZ007
            except ValueError:
                raise DRFValidationError({"month": [_("月份格式应为 YYYY-MM。")]}) from None
        member = (
            PartyMember.objects.filter(pk=data["member"]).first()
            if data.get("member") is not None
            else None
        )
        if data.get("member") is not None and member is None:
            return DuesLedger.objects.none()
        return selectors.ledger_list(
            self.request.user,
            selectors.LedgerFilters(
                month=month,
                node=_node_or_none(data.get("node")),
                branch=_node_or_none(data.get("branch")),
                member=member,
                arrears_only=bool(data.get("arrears")),
                search=data.get("search") or "",
            ),
        )


@extend_schema_view(list=extend_schema(summary="党费台账（按月，含交纳记录）"))
class DuesViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = DUES
    serializer_class = LedgerSerializer
    filterset_class = LedgerFilter
    queryset = DuesLedger.objects.none()
    http_method_names = ["get", "post", "head", "options"]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[DuesLedger]:
        if _fake(self):
            return DuesLedger.objects.none()
        return selectors.ledger_list(self.request.user)

    @extend_schema(
        summary="导出党费台账（Excel）",
        description=EXPORT_DESCRIPTION,
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.ledger_columns,
            exports.ledger_rows,
            filename=_("党费台账"),
            action_name="people.duesledger.export",
        )

    def _present(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(LedgerSerializer(self.get_queryset().get(pk=pk)).data, code)

    @extend_schema(summary="党费台账明细")
    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_ledger_for_user(request.user, pk).pk)

    @extend_schema(
        request=PayInSerializer,
        responses={201: LedgerSerializer},
        summary="登记交纳（可网格员代收）",
    )
    @action(detail=True, methods=["post"])
    def pay(self, request: Request, pk: str) -> Response:
        ledger = selectors.get_ledger_for_user(request.user, pk, write=True)
        serializer = PayInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.dues_pay(
            actor=request.user,
            ledger=ledger,
            amount=data.get("amount"),
            paid_on=data.get("paid_on"),
            method=data["method"],
            on_behalf=data["on_behalf"],
            note=data.get("note", ""),
        )
        return self._present(ledger.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=OverrideInSerializer,
        responses=LedgerSerializer,
        summary="调整应交金额（须说明原因）",
    )
    @action(detail=True, methods=["post"])
    def override(self, request: Request, pk: str) -> Response:
        ledger = selectors.get_ledger_for_user(
            request.user, pk, write=True, perm="people.override_dues"
        )
        serializer = OverrideInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.dues_override(
            actor=request.user,
            ledger=ledger,
            version=data["version"],
            amount=data["amount"],
            reason=data["reason"],
        )
        return self._present(ledger.pk)

    @extend_schema(
        request=GenerateInSerializer,
        responses={201: GenerateOutSerializer},
        summary="生成某月党费台账",
    )
    @action(detail=False, methods=["post"])
    def generate(self, request: Request) -> Response:
        serializer = GenerateInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.dues_generate(actor=request.user, month=data["month"], node=data["node"])
        return Response(
            {
                "created": result.created,
                "already": result.already,
                "missing_income": [m.pk for m in result.missing_income],
            },
            status.HTTP_201_CREATED,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM，缺省为本月"),
            OpenApiParameter("node", OpenApiTypes.INT, description="网格/社区编号（含下级）"),
        ],
        responses=SummarySerializer(many=True),
        summary="某月党费按党支部汇总",
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def summary(self, request: Request) -> Response:
        month = _today()
        if request.query_params.get("month"):
            month = MonthField().run_validation(request.query_params["month"])
        node = None
        if request.query_params.get("node"):
            try:
                node = _node_or_none(int(request.query_params["node"]))
            except ValueError:
                raise DRFValidationError({"node": [_("请输入编号。")]}) from None
        rows = selectors.dues_summary(request.user, month, node)
        data = [
            {
                "branch": _brief(r.branch),
                "members": r.members,
                "due": r.due,
                "paid": r.paid,
                "outstanding": r.outstanding,
                "paid_members": r.paid_members,
                "collected_on_behalf": r.collected_on_behalf,
            }
            for r in rows
        ]
        return Response(SummarySerializer(data, many=True).data)


# ---------------------------------------------------------------------------------------------
# in-service reporting


class ServicePostSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServicePost
        fields = ["id", "community", "name", "description", "active"]
        read_only_fields = fields


class ServicePostInSerializer(serializers.Serializer):
    community = PlaceField(label=_("社区"))
    name = serializers.CharField(max_length=60, label=_("岗位名称"))
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ServicePostFilter(django_filters.FilterSet):
    community = django_filters.NumberFilter(label=_("社区编号"))

    class Meta:
        model = ServicePost
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        community = self.form.cleaned_data.get("community")
        return queryset.filter(community_id=community) if community is not None else queryset


@extend_schema_view(list=extend_schema(summary="社区服务岗位"))
class ServicePostViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    tongxin_policy = REPORTING
    serializer_class = ServicePostSerializer
    filterset_class = ServicePostFilter
    queryset = ServicePost.objects.none()
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[ServicePost]:
        if _fake(self):
            return ServicePost.objects.none()
        user = self.request.user
        paths = selectors.people_paths(user)
        own = selectors.visible_members(user).filter(person__user=user)
        communities = {
            m.person.node.path[:COMMUNITY_PATH_LENGTH] for m in own.select_related("person__node")
        }
        scope = subtree_q([*paths, *sorted(communities)], "community__path")
        return ServicePost.objects.filter(scope, active=True).order_by("community__path", "name")

    @extend_schema(
        request=ServicePostInSerializer,
        responses={201: ServicePostSerializer},
        summary="设置服务岗位",
    )
    def create(self, request: Request) -> Response:
        serializer = ServicePostInSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        post = services.service_post_create(actor=request.user, **serializer.validated_data)
        return Response(ServicePostSerializer(post).data, status.HTTP_201_CREATED)


class ServiceRecordSerializer(serializers.ModelSerializer):
    post_name = serializers.CharField(source="post.name", read_only=True, default="")

    class Meta:
        model = ServiceRecord
        fields = ["id", "served_on", "hours", "description", "post", "post_name"]
        read_only_fields = fields


class RegistrationSerializer(serializers.ModelSerializer):
    member = serializers.IntegerField(source="member_id", read_only=True)
    name = serializers.CharField(source="member.person.name", read_only=True, label=_("姓名"))
    community = serializers.SerializerMethodField(label=_("报到社区"))
    unit = serializers.SerializerMethodField(label=_("工作单位"))
    unit_name = serializers.CharField(source="unit_label", read_only=True)
    posts = ServicePostSerializer(many=True, read_only=True)
    year_hours = serializers.DecimalField(max_digits=8, decimal_places=1, read_only=True)
    year_rating = CodeField(
        Rating.choices, read_only=True, allow_null=True, label=_("本年度评价（rating 代码）")
    )

    class Meta:
        model = Registration
        fields = [
            "id",
            "member",
            "name",
            "community",
            "unit",
            "unit_name",
            "registered_on",
            "ended_on",
            "posts",
            "year_hours",
            "year_rating",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(PeopleRefSerializer)
    def get_community(self, registration: Registration) -> dict[str, Any] | None:
        return _brief(registration.community)

    @extend_schema_field(PeopleRefSerializer(allow_null=True))
    def get_unit(self, registration: Registration) -> dict[str, Any] | None:
        return _brief(registration.unit)


@extend_schema_field(OpenApiTypes.INT)
class ReportingMemberField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[PartyMember]:
        return selectors.visible_members(_user(self)).select_related("person__node", "unit")


class RegistrationInSerializer(serializers.Serializer):
    member = ReportingMemberField(label=_("党员"))
    registered_on = serializers.DateField(required=False, allow_null=True)
    unit_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    posts = PostField(many=True, required=False)


class ServiceRecordInSerializer(serializers.Serializer):
    served_on = serializers.DateField(label=_("服务日期"))
    hours = serializers.DecimalField(max_digits=4, decimal_places=1, label=_("时长（小时）"))
    description = serializers.CharField(max_length=200, label=_("服务内容"))
    post = PostField(required=False, allow_null=True)


class RateInSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, label=_("年度"))
    rating = serializers.ChoiceField(choices=Rating.choices, label=_("评价等次"))
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True)


class RatingOutSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    rating = serializers.ChoiceField(choices=Rating.choices)
    comment = serializers.CharField()
    notified_liaisons = serializers.IntegerField()


class RegistrationFilter(django_filters.FilterSet):
    community = django_filters.NumberFilter(label=_("社区编号"))
    unit = django_filters.NumberFilter(label=_("单位编号"))
    year = django_filters.NumberFilter(label=_("统计年度（服务时长、评价）"))
    include_ended = django_filters.BooleanFilter(label=_("含已结束"))

    class Meta:
        model = Registration
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        unit = None
        if data.get("unit") is not None:
            unit = ResidentUnit.objects.filter(pk=data["unit"]).first()
            if unit is None:
                return Registration.objects.none()
        return selectors.registration_list(
            self.request.user,
            community=_node_or_none(data.get("community")),
            unit=unit,
            open_only=not data.get("include_ended"),
            year=int(data["year"]) if data.get("year") else None,
        )


@extend_schema_view(
    list=extend_schema(summary="在职党员报到名单"), retrieve=extend_schema(summary="报到详情")
)
class RegistrationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    tongxin_policy = REPORTING
    serializer_class = RegistrationSerializer
    filterset_class = RegistrationFilter
    queryset = Registration.objects.none()
    http_method_names = ["get", "post", "head", "options"]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Registration]:
        if _fake(self):
            return Registration.objects.none()
        return selectors.registration_list(self.request.user, open_only=False)

    def _present(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(RegistrationSerializer(self.get_queryset().get(pk=pk)).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_registration_for_user(request.user, pk).pk)

    @extend_schema(
        request=RegistrationInSerializer,
        responses={201: RegistrationSerializer},
        summary="到社区报到",
    )
    def create(self, request: Request) -> Response:
        serializer = RegistrationInSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        registration = services.registration_create(
            actor=request.user,
            member=data["member"],
            registered_on=data.get("registered_on"),
            unit_name=data.get("unit_name", ""),
            posts=data.get("posts", []),
        )
        return self._present(registration.pk, status.HTTP_201_CREATED)

    @extend_schema(
        methods=["get"], responses=ServiceRecordSerializer(many=True), summary="服务记录"
    )
    @extend_schema(
        methods=["post"],
        request=ServiceRecordInSerializer,
        responses={201: ServiceRecordSerializer},
        summary="登记服务记录",
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def records(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            registration = selectors.get_registration_for_user(request.user, pk)
            rows = selectors.registration_records(registration)
            return Response(ServiceRecordSerializer(rows, many=True).data)
        registration = selectors.get_registration_for_user(request.user, pk, write=True)
        serializer = ServiceRecordInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.service_record_add(
            actor=request.user, registration=registration, **serializer.validated_data
        )
        return Response(ServiceRecordSerializer(record).data, status.HTTP_201_CREATED)

    @extend_schema(
        request=RateInSerializer,
        responses={201: RatingOutSerializer},
        summary="年度评价（反馈单位）",
    )
    @action(detail=True, methods=["post"])
    def rate(self, request: Request, pk: str) -> Response:
        registration = selectors.get_registration_for_user(
            request.user, pk, write=True, perm="people.rate_service"
        )
        serializer = RateInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.registration_rate(
            actor=request.user, registration=registration, **serializer.validated_data
        )
        return Response(RatingOutSerializer(record).data, status.HTTP_201_CREATED)


class ReportingRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    total = serializers.IntegerField(label=_("在职党员"))
    reported = serializers.IntegerField(label=_("已报到"))
    not_reported = serializers.IntegerField(label=_("未报到"))


class ReportingMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="person.name")
    node = serializers.CharField(source="person.node.name", label=_("居住网格"))
    unit_name = serializers.CharField(source="unit_label")
    reported = serializers.BooleanField()


class ReportingByUnitView(APIView):
    tongxin_policy = STAFF

    @extend_schema(
        responses=ReportingRowSerializer(many=True), summary="在职党员报到情况（按单位）"
    )
    def get(self, request: Request) -> Response:
        rows = selectors.reporting_by_unit(request.user)
        data = [
            {
                "id": r.key if isinstance(r.key, int) else None,
                "name": r.label,
                "total": r.total,
                "reported": r.reported,
                "not_reported": r.not_reported,
            }
            for r in rows
        ]
        return Response(ReportingRowSerializer(data, many=True).data)


class ReportingByCommunityView(APIView):
    tongxin_policy = STAFF

    @extend_schema(
        responses=ReportingRowSerializer(many=True), summary="在职党员报到情况（按社区）"
    )
    def get(self, request: Request) -> Response:
        rows = selectors.reporting_by_community(request.user)
        data = [
            {
                "id": r.key.pk,
                "name": r.label,
                "total": r.total,
                "reported": r.reported,
                "not_reported": r.not_reported,
            }
            for r in rows
        ]
        return Response(ReportingRowSerializer(data, many=True).data)


class ReportingMembersView(APIView):
    """Who has and has not reported, for a unit (its liaison sees all its in-service members) or a
    community."""

    tongxin_policy = roles(PEOPLE_ROLES | {Role.UNIT_LIAISON})

    @extend_schema(
        parameters=[
            OpenApiParameter("unit", OpenApiTypes.INT, description="单位编号"),
            OpenApiParameter("community", OpenApiTypes.INT, description="社区编号"),
            OpenApiParameter(
                "reported", OpenApiTypes.BOOL, description="true 已报到 / false 未报到"
            ),
        ],
        responses=ReportingMemberSerializer(many=True),
        summary="在职党员报到名单（已报到 / 未报到）",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        unit = community = None
        try:
            if params.get("unit"):
                unit = (
                    ResidentUnit.objects.select_related("node")
                    .filter(pk=int(params["unit"]))
                    .first()
                )
                if unit is None or not can(request.user, "people.view_unit_report", unit):
                    raise Http404
            if params.get("community"):
                community = _node_or_none(int(params["community"]))
        except ValueError:
            raise DRFValidationError({"unit": [_("请输入编号。")]}) from None
        if unit is None and not selectors.people_paths(request.user):
            raise Http404
        rows = selectors.reporting_members(request.user, community=community, unit=unit)
        if params.get("reported") in ("true", "1"):
            rows = rows.filter(reported=True)
        elif params.get("reported") in ("false", "0"):
            rows = rows.filter(reported=False)
        return Response(ReportingMemberSerializer(rows[:1000], many=True).data)


# ---------------------------------------------------------------------------------------------
# volunteers


class TeamSerializer(serializers.ModelSerializer):
    node = serializers.SerializerMethodField(label=_("所属组织"))
    leader_name = serializers.CharField(source="leader.name", read_only=True, default="")
    volunteer_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = VolunteerTeam
        fields = [
            "id",
            "node",
            "name",
            "service_area",
            "leader",
            "leader_name",
            "founded_on",
            "description",
            "volunteer_count",
            "closed_at",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(PeopleRefSerializer)
    def get_node(self, team: VolunteerTeam) -> dict[str, Any] | None:
        return _brief(team.node)


@extend_schema_field(OpenApiTypes.INT)
class TeamNodeField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[OrgNode]:
        return OrgNode.objects.filter(
            subtree_q(selectors.people_paths(_user(self))), closed_at__isnull=True
        )


class TeamInSerializer(serializers.Serializer):
    node = TeamNodeField(label=_("所属组织"))
    name = serializers.CharField(max_length=80)
    service_area = serializers.CharField(max_length=60, required=False, allow_blank=True)
    leader = PersonField(required=False, allow_null=True)
    founded_on = serializers.DateField(required=False, allow_null=True)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


class TeamPatchSerializer(VersionSerializer):
    name = serializers.CharField(max_length=80, required=False)
    service_area = serializers.CharField(max_length=60, required=False, allow_blank=True)
    leader = PersonField(required=False, allow_null=True)
    founded_on = serializers.DateField(required=False, allow_null=True)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(summary="志愿服务队"), retrieve=extend_schema(summary="志愿服务队详情")
)
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = STAFF
    serializer_class = TeamSerializer
    queryset = VolunteerTeam.objects.none()
    http_method_names = METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[VolunteerTeam]:
        if _fake(self):
            return VolunteerTeam.objects.none()
        return selectors.team_list(self.request.user)

    def _present(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        team = selectors.team_list(self.request.user, include_closed=True).get(pk=pk)
        return Response(TeamSerializer(team).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_team_for_user(request.user, pk).pk)

    @extend_schema(
        request=TeamInSerializer, responses={201: TeamSerializer}, summary="组建志愿服务队"
    )
    def create(self, request: Request) -> Response:
        serializer = TeamInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        team = services.team_create(actor=request.user, node=data.pop("node"), data=data)
        return self._present(team.pk, status.HTTP_201_CREATED)

    @extend_schema(request=TeamPatchSerializer, responses=TeamSerializer, summary="修改志愿服务队")
    def partial_update(self, request: Request, pk: str) -> Response:
        team = selectors.get_team_for_user(request.user, pk, write=True)
        serializer = TeamPatchSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.team_update(
            actor=request.user, team=team, version=data["version"], changes=_changes(data)
        )
        return self._present(team.pk)


class VolunteerSerializer(serializers.ModelSerializer):
    person_id = serializers.IntegerField(source="person.pk", read_only=True)
    name = serializers.CharField(source="person.name", read_only=True)
    phone = serializers.CharField(
        source="person.phone_masked", read_only=True, label=_("联系电话（脱敏）")
    )
    node = serializers.SerializerMethodField()
    teams = serializers.SerializerMethodField()

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "person_id",
            "name",
            "phone",
            "node",
            "teams",
            "skills",
            "registered_on",
            "service_hours",
            "active",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(PeopleRefSerializer)
    def get_node(self, volunteer: Volunteer) -> dict[str, Any] | None:
        return _brief(volunteer.person.node)

    @extend_schema_field(PeopleRefSerializer(many=True))
    def get_teams(self, volunteer: Volunteer) -> list[dict[str, Any]]:
        return [{"id": t.pk, "name": t.name} for t in volunteer.teams.all()]


class VolunteerInSerializer(serializers.Serializer):
    person = PersonField(label=_("人员"))
    registered_on = serializers.DateField(required=False, allow_null=True)
    skills = serializers.CharField(max_length=200, required=False, allow_blank=True)
    teams = TeamField(many=True, required=False)


class VolunteerFilter(django_filters.FilterSet):
    team = django_filters.NumberFilter(label=_("志愿服务队编号"))
    node = django_filters.NumberFilter(label=_("网格/社区编号（含下级）"))
    search = django_filters.CharFilter(label=_("姓名"))

    class Meta:
        model = Volunteer
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        team = None
        if data.get("team") is not None:
            team = VolunteerTeam.objects.filter(pk=data["team"]).first()
            if team is None:
                return Volunteer.objects.none()
        return selectors.volunteer_list(
            self.request.user,
            team=team,
            node=_node_or_none(data.get("node")),
            search=data.get("search") or "",
        )


@extend_schema_view(
    list=extend_schema(summary="志愿者"), retrieve=extend_schema(summary="志愿者详情")
)
class VolunteerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = PEOPLE
    serializer_class = VolunteerSerializer
    filterset_class = VolunteerFilter
    queryset = Volunteer.objects.none()
    http_method_names = ["get", "post", "head", "options"]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Volunteer]:
        if _fake(self):
            return Volunteer.objects.none()
        return selectors.volunteer_list(self.request.user)

    def retrieve(self, request: Request, pk: str) -> Response:
        volunteer = selectors.get_volunteer_for_user(request.user, pk)
        return Response(VolunteerSerializer(self.get_queryset().get(pk=volunteer.pk)).data)

    @extend_schema(
        request=VolunteerInSerializer, responses={201: VolunteerSerializer}, summary="登记志愿者"
    )
    def create(self, request: Request) -> Response:
        serializer = VolunteerInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        volunteer = services.volunteer_register(actor=request.user, **serializer.validated_data)
        return Response(
            VolunteerSerializer(self.get_queryset().get(pk=volunteer.pk)).data,
            status.HTTP_201_CREATED,
        )


router = SimpleRouter()
router.register("members", MemberViewSet, basename="member")
router.register("residents", ResidentViewSet, basename="resident")
router.register("households", HouseholdViewSet, basename="household")
router.register("buildings", BuildingViewSet, basename="building")
router.register("dues", DuesViewSet, basename="dues")
router.register("service-posts", ServicePostViewSet, basename="service-post")
router.register("registrations", RegistrationViewSet, basename="registration")
router.register("volunteer-teams", TeamViewSet, basename="volunteer-team")
router.register("volunteers", VolunteerViewSet, basename="volunteer")


urlpatterns = [
    *router.urls,
    path("reporting/by-unit/", ReportingByUnitView.as_view(), name="reporting-by-unit"),
    path(
        "reporting/by-community/",
        ReportingByCommunityView.as_view(),
        name="reporting-by-community",
    ),
    path("reporting/members/", ReportingMembersView.as_view(), name="reporting-members"),
]

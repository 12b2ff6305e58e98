"""REST API of the organization network (/api/v1/orgs/, party-orgs/, units/, committee-members/,
contact-points/).

Same shape as the pages: querysets come from the scoped selectors, single objects from the
`get_*_for_user` helpers (404 outside scope, 403 without the right), each write calls one
service. Updates are PATCH with the `version` the client saw (409 when stale); there is no
DELETE: the network keeps its history, things are closed instead.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.http import Http404
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
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES
from tongxin.core.exports import ExportColumn, export_response
from tongxin.core.policy import roles
from tongxin.core.xlsx import XLSX_CONTENT_TYPE
from tongxin.orgs import exports, selectors, services
from tongxin.orgs.models import (
    CHILD_LEVEL,
    COMMITTEE_SIZE_NORMS,
    CommitteeMember,
    ContactPoint,
    ContactProject,
    InstructorAssignment,
    Level,
    OrgCategory,
    OrgKind,
    OrgNode,
    PartyOrganization,
    PartyStatus,
    ProjectStatus,
    ResidentUnit,
    UnitType,
)

ORG = roles(BUSINESS_ROLES)
MANAGE = roles(MANAGING_ROLES)
WRITE_METHODS = ["get", "post", "patch", "head", "options"]


def _user(serializer: serializers.Field) -> Any:
    return serializer.context["request"].user


@extend_schema_field(OpenApiTypes.INT)
class VisibleNodeField(serializers.PrimaryKeyRelatedField):
    """A node id the user can see; any other id is "does not exist", never "forbidden"."""

    def get_queryset(self) -> QuerySet[OrgNode]:
        return selectors.visible_nodes(_user(self), include_closed=False)


@extend_schema_field(OpenApiTypes.INT)
class VisibleUnitField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[ResidentUnit]:
        return selectors.visible_units(_user(self))


XLSX_RESPONSE = {(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}


def _export(
    view: viewsets.GenericViewSet,
    columns: Any,
    path_of: Any,
    *,
    filename: str,
    action_name: str,
) -> Any:
    """The list the same query parameters select, as .xlsx (masked, audited; 400 if too long)."""
    queryset = view.filter_queryset(view.get_queryset())
    labels = exports.PlaceLabels()
    column_list: list[ExportColumn] = columns(labels)
    filters = {k: v for k, v in view.request.query_params.items() if k != "format"}
    return export_response(
        queryset,
        column_list,
        rows=exports.primed(queryset, labels, path_of),
        filename=filename,
        actor=view.request.user,
        action=action_name,
        filters=filters,
    )


def _changes(data: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in {"version", *drop}}


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(label=_("版本号"), min_value=1)


# ---------------------------------------------------------------------------------------------
# nodes


class PartyOrgBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartyOrganization
        fields = ["id", "name", "kind", "category", "secretary", "contact", "founded_on", "version"]


class NodeSerializer(serializers.ModelSerializer):
    party_org = serializers.SerializerMethodField(label=_("属地党组织"))
    open_children = serializers.IntegerField(read_only=True, label=_("下级组织数"))
    open_units = serializers.IntegerField(read_only=True, label=_("驻区单位数"))

    class Meta:
        model = OrgNode
        fields = [
            "id",
            "name",
            "code",
            "level",
            "parent",
            "path",
            "depth",
            "address",
            "party_org",
            "open_children",
            "open_units",
            "closed_at",
            "closed_reason",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(PartyOrgBriefSerializer(allow_null=True))
    def get_party_org(self, node: OrgNode) -> dict[str, Any] | None:
        org = selectors.territorial_org(node)
        return PartyOrgBriefSerializer(org).data if org else None


class TerritorialOrgInputSerializer(serializers.Serializer):
    name = serializers.CharField(label=_("党组织名称"), max_length=120, required=False)
    kind = serializers.ChoiceField(label=_("组织类别"), choices=OrgKind.choices, required=False)
    secretary = serializers.CharField(
        label=_("书记"), max_length=50, required=False, allow_blank=True
    )
    contact = serializers.CharField(
        label=_("办公电话"), max_length=40, required=False, allow_blank=True
    )
    founded_on = serializers.DateField(label=_("成立日期"), required=False, allow_null=True)


class NodeCreateSerializer(serializers.Serializer):
    parent = VisibleNodeField(label=_("上级"))
    name = serializers.CharField(label=_("名称"), max_length=100)
    level = serializers.ChoiceField(
        label=_("层级"), choices=Level.choices, required=False, help_text=_("缺省为上级的下一层级")
    )
    code = serializers.CharField(label=_("编码"), max_length=40, required=False, allow_blank=True)
    address = serializers.CharField(
        label=_("地址"), max_length=200, required=False, allow_blank=True
    )
    party_org = TerritorialOrgInputSerializer(label=_("属地党组织"), required=False)


class NodeUpdateSerializer(VersionSerializer):
    code = serializers.CharField(label=_("编码"), max_length=40, required=False, allow_blank=True)
    address = serializers.CharField(
        label=_("地址"), max_length=200, required=False, allow_blank=True
    )
    party_org = TerritorialOrgInputSerializer(label=_("属地党组织"), required=False)


class NodeRenameSerializer(VersionSerializer):
    name = serializers.CharField(label=_("新名称"), max_length=100)


class NodeMoveSerializer(VersionSerializer):
    parent = VisibleNodeField(label=_("新的上级"))


class NodeCloseSerializer(VersionSerializer):
    reason = serializers.CharField(label=_("撤销原因"), max_length=200)


class NodeFilter(django_filters.FilterSet):
    """Query parameters of the node list; the selector does the scoped filtering."""

    level = django_filters.ChoiceFilter(choices=Level.choices, label=_("层级"))
    parent = django_filters.NumberFilter(label=_("上级编号"))
    search = django_filters.CharFilter(label=_("按名称或编码查找"))
    include_closed = django_filters.BooleanFilter(label=_("含已撤销"))

    class Meta:
        model = OrgNode
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[OrgNode]) -> QuerySet[OrgNode]:
        data = self.form.cleaned_data
        if not data.get("include_closed"):
            queryset = queryset.filter(closed_at__isnull=True)
        if data.get("level"):
            queryset = queryset.filter(level=data["level"])
        if data.get("parent") is not None:
            queryset = queryset.filter(parent_id=data["parent"])
        term = (data.get("search") or "").strip()
        if term:
            queryset = queryset.filter(Q(name__icontains=term) | Q(code__iexact=term))
        return queryset


@extend_schema_view(
    list=extend_schema(summary="组织节点列表"),
    retrieve=extend_schema(summary="组织节点详情"),
)
class NodeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = ORG
    serializer_class = NodeSerializer
    filterset_class = NodeFilter
    queryset = OrgNode.objects.none()
    http_method_names = WRITE_METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[OrgNode]:
        queryset = selectors.visible_nodes(self.request.user)
        return selectors.with_territorial_org(selectors.with_counts(queryset)).order_by("path")

    def _present(self, node: OrgNode, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=node.pk)
        return Response(NodeSerializer(fresh, context=self.get_serializer_context()).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_node_for_user(request.user, pk))

    @extend_schema(
        summary="导出组织节点（Excel）",
        description="与列表相同的筛选条件；导出行为记入审计日志。",
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.node_columns,
            lambda n: n.path,
            filename=_("组织体系"),
            action_name="orgs.orgnode.export",
        )

    @extend_schema(
        request=NodeCreateSerializer, responses={201: NodeSerializer}, summary="新增组织"
    )
    def create(self, request: Request) -> Response:
        serializer = NodeCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        parent: OrgNode = data["parent"]
        node = services.node_create(
            actor=request.user,
            parent=parent,
            name=data["name"],
            level=data.get("level") or CHILD_LEVEL.get(parent.level) or "",
            code=data.get("code", ""),
            address=data.get("address", ""),
            party_org=data.get("party_org"),
        )
        return self._present(node, status.HTTP_201_CREATED)

    @extend_schema(request=NodeUpdateSerializer, responses=NodeSerializer, summary="修改组织信息")
    def partial_update(self, request: Request, pk: str) -> Response:
        node = selectors.get_node_for_user(request.user, pk, write=True)
        serializer = NodeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        node = services.node_update(
            actor=request.user,
            node=node,
            version=data["version"],
            changes=_changes(data, "party_org"),
            party_org=data.get("party_org"),
        )
        return self._present(node)

    @extend_schema(request=NodeRenameSerializer, responses=NodeSerializer, summary="组织更名")
    @action(detail=True, methods=["post"])
    def rename(self, request: Request, pk: str) -> Response:
        node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.rename_node")
        serializer = NodeRenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        node = services.node_rename(
            actor=request.user, node=node, version=data["version"], name=data["name"]
        )
        return self._present(node)

    @extend_schema(request=NodeMoveSerializer, responses=NodeSerializer, summary="调整隶属关系")
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.move_node")
        serializer = NodeMoveSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        node = services.node_move(
            actor=request.user, node=node, version=data["version"], new_parent=data["parent"]
        )
        return self._present(node)

    @extend_schema(request=NodeCloseSerializer, responses=NodeSerializer, summary="撤销组织")
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.close_node")
        serializer = NodeCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        node = services.node_close(
            actor=request.user, node=node, version=data["version"], reason=data["reason"]
        )
        return self._present(node)

    @extend_schema(request=VersionSerializer, responses=NodeSerializer, summary="恢复组织")
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.reopen_node")
        serializer = VersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        node = services.node_reopen(
            actor=request.user, node=node, version=serializer.validated_data["version"]
        )
        return self._present(node)


# ---------------------------------------------------------------------------------------------
# party organizations


class PartyOrgSerializer(serializers.ModelSerializer):
    node_name = serializers.CharField(source="node.name", read_only=True, label=_("所在节点"))

    class Meta:
        model = PartyOrganization
        fields = [
            "id",
            "node",
            "node_name",
            "name",
            "kind",
            "category",
            "secretary",
            "contact",
            "founded_on",
            "project",
            "starts_on",
            "ends_on",
            "covered_units",
            "closed_at",
            "version",
        ]
        read_only_fields = fields


class PartyOrgUpdateSerializer(VersionSerializer):
    name = serializers.CharField(label=_("党组织名称"), max_length=120, required=False)
    kind = serializers.ChoiceField(label=_("组织类别"), choices=OrgKind.choices, required=False)
    secretary = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact = serializers.CharField(max_length=40, required=False, allow_blank=True)
    founded_on = serializers.DateField(required=False, allow_null=True)
    project = serializers.CharField(max_length=120, required=False, allow_blank=True)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    covered_units = VisibleUnitField(many=True, required=False, label=_("覆盖单位"))


class PartyOrgCreateSerializer(serializers.Serializer):
    node = VisibleNodeField(label=_("所在节点"))
    # Full choice sets (one enum per field in the OpenAPI document); the service refuses
    # "territorial" and the kinds a functional organization cannot have, with a field error.
    category = serializers.ChoiceField(label=_("设置方式"), choices=OrgCategory.choices)
    name = serializers.CharField(label=_("党组织名称"), max_length=120)
    kind = serializers.ChoiceField(
        label=_("组织类别"), choices=OrgKind.choices, default=OrgKind.BRANCH
    )
    secretary = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact = serializers.CharField(max_length=40, required=False, allow_blank=True)
    founded_on = serializers.DateField(required=False, allow_null=True)
    project = serializers.CharField(max_length=120, required=False, allow_blank=True)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    covered_units = VisibleUnitField(many=True, required=False, label=_("覆盖单位"))


class CloseSerializer(VersionSerializer):
    reason = serializers.CharField(label=_("说明"), max_length=100, required=False, default="")


class PartyOrgFilter(django_filters.FilterSet):
    node = django_filters.NumberFilter(label=_("所在节点编号"))
    category = django_filters.ChoiceFilter(choices=OrgCategory.choices, label=_("设置方式"))
    kind = django_filters.ChoiceFilter(choices=OrgKind.choices, label=_("组织类别"))
    include_closed = django_filters.BooleanFilter(label=_("含已撤销"))

    class Meta:
        model = PartyOrganization
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        if not data.get("include_closed"):
            queryset = queryset.filter(closed_at__isnull=True)
        if data.get("node") is not None:
            queryset = queryset.filter(node_id=data["node"])
        if data.get("category"):
            queryset = queryset.filter(category=data["category"])
        if data.get("kind"):
            queryset = queryset.filter(kind=data["kind"])
        return queryset


@extend_schema_view(
    list=extend_schema(summary="党组织列表"),
    retrieve=extend_schema(summary="党组织详情"),
)
class PartyOrgViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = ORG
    serializer_class = PartyOrgSerializer
    filterset_class = PartyOrgFilter
    queryset = PartyOrganization.objects.none()
    http_method_names = WRITE_METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[PartyOrganization]:
        return (
            selectors.visible_party_orgs(self.request.user)
            .select_related("node")
            .prefetch_related("covered_units")
            .order_by("node__path", "id")
        )

    def _present(self, org: PartyOrganization, code: int = status.HTTP_200_OK) -> Response:
        return Response(PartyOrgSerializer(self.get_queryset().get(pk=org.pk)).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_party_org_for_user(request.user, pk))

    @extend_schema(
        request=PartyOrgCreateSerializer,
        responses={201: PartyOrgSerializer},
        summary="设立临时、联合、楼宇或商圈党组织",
    )
    def create(self, request: Request) -> Response:
        serializer = PartyOrgCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        org = services.party_org_create(actor=request.user, **serializer.validated_data)
        return self._present(org, status.HTTP_201_CREATED)

    @extend_schema(
        request=PartyOrgUpdateSerializer, responses=PartyOrgSerializer, summary="修改党组织"
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        org = selectors.get_party_org_for_user(request.user, pk, write=True)
        serializer = PartyOrgUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org = services.party_org_update(
            actor=request.user,
            org=org,
            version=data["version"],
            changes=_changes(data, "covered_units"),
            covered_units=data.get("covered_units"),
        )
        return self._present(org)

    @extend_schema(request=CloseSerializer, responses=PartyOrgSerializer, summary="撤销党组织")
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        org = selectors.get_party_org_for_user(request.user, pk, write=True)
        serializer = CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org = services.party_org_close(
            actor=request.user, org=org, version=data["version"], reason=data["reason"]
        )
        return self._present(org)


# ---------------------------------------------------------------------------------------------
# resident units


class InstructorSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstructorAssignment
        fields = ["id", "instructor_name", "instructor_post", "starts_on", "ends_on"]
        read_only_fields = fields


class UnitSerializer(serializers.ModelSerializer):
    node_name = serializers.CharField(source="node.name", read_only=True, label=_("所在社区/网格"))
    instructors = InstructorSerializer(
        source="active_instructors", many=True, read_only=True, label=_("在岗党建指导员")
    )

    class Meta:
        model = ResidentUnit
        fields = [
            "id",
            "name",
            "unit_type",
            "node",
            "node_name",
            "credit_code",
            "address",
            "employees",
            "party_members",
            "party_status",
            "party_org_name",
            "contact_name",
            "contact_phone",
            "instructors",
            "closed_at",
            "version",
        ]
        read_only_fields = fields


class UnitCreateSerializer(serializers.Serializer):
    name = serializers.CharField(label=_("单位名称"), max_length=120)
    unit_type = serializers.ChoiceField(label=_("单位类型"), choices=UnitType.choices)
    node = VisibleNodeField(label=_("所在社区/网格"))
    credit_code = serializers.CharField(
        label=_("统一社会信用代码"), max_length=30, required=False, allow_blank=True
    )
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    employees = serializers.IntegerField(min_value=0, required=False, default=0)
    party_members = serializers.IntegerField(min_value=0, required=False, default=0)
    party_status = serializers.ChoiceField(
        choices=PartyStatus.choices, required=False, default=PartyStatus.NONE
    )
    party_org_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class UnitUpdateSerializer(VersionSerializer):
    name = serializers.CharField(label=_("单位名称"), max_length=120, required=False)
    unit_type = serializers.ChoiceField(choices=UnitType.choices, required=False)
    node = VisibleNodeField(label=_("所在社区/网格"), required=False)
    credit_code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    employees = serializers.IntegerField(min_value=0, required=False)
    party_members = serializers.IntegerField(min_value=0, required=False)
    party_status = serializers.ChoiceField(choices=PartyStatus.choices, required=False)
    party_org_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class InstructorAssignSerializer(serializers.Serializer):
    instructor_name = serializers.CharField(label=_("指导员姓名"), max_length=50)
    instructor_post = serializers.CharField(max_length=100, required=False, allow_blank=True)
    starts_on = serializers.DateField(label=_("选派日期"))


class InstructorEndSerializer(serializers.Serializer):
    ends_on = serializers.DateField(label=_("结束日期"))


class CoverageFiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField(label=_("两新组织总数"))
    own = serializers.IntegerField(label=_("单独组建"))
    joint = serializers.IntegerField(label=_("联合组建"))
    instructor = serializers.IntegerField(label=_("仅选派党建指导员"))
    none = serializers.IntegerField(label=_("未覆盖"))
    organization_rate = serializers.FloatField(allow_null=True, label=_("组织覆盖率"))
    work_rate = serializers.FloatField(allow_null=True, label=_("工作覆盖率"))


class UnitTypeCountSerializer(serializers.Serializer):
    unit_type = serializers.ChoiceField(choices=UnitType.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()


class ChildCoverageSerializer(CoverageFiguresSerializer):
    node = serializers.IntegerField()
    name = serializers.CharField()


class CoverageSerializer(CoverageFiguresSerializer):
    node = serializers.IntegerField(allow_null=True)
    units_total = serializers.IntegerField(label=_("驻区单位总数"))
    by_type = UnitTypeCountSerializer(many=True)
    children = ChildCoverageSerializer(many=True)


def _figures(cover: selectors.Coverage) -> dict[str, Any]:
    return {
        "total": cover.total,
        "own": cover.own,
        "joint": cover.joint,
        "instructor": cover.instructor,
        "none": cover.none,
        "organization_rate": cover.organization_rate,
        "work_rate": cover.work_rate,
    }


class UnitFilter(django_filters.FilterSet):
    unit_type = django_filters.ChoiceFilter(choices=UnitType.choices, label=_("单位类型"))
    party_status = django_filters.ChoiceFilter(choices=PartyStatus.choices, label=_("党组织覆盖"))
    node = django_filters.NumberFilter(label=_("组织节点编号（含下级）"))
    search = django_filters.CharFilter(label=_("按名称、信用代码或党组织名称查找"))
    include_closed = django_filters.BooleanFilter(label=_("含已注销"))

    class Meta:
        model = ResidentUnit
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[ResidentUnit]) -> QuerySet[ResidentUnit]:
        data = self.form.cleaned_data
        user = self.request.user
        node = None
        if data.get("node") is not None:
            node = selectors.get_node_for_user(user, data["node"])
        return selectors.unit_list(
            user,
            unit_type=data.get("unit_type") or None,
            party_status=data.get("party_status") or None,
            node=node,
            search=data.get("search"),
            include_closed=bool(data.get("include_closed")),
        )


@extend_schema_view(
    list=extend_schema(summary="驻区单位列表"),
    retrieve=extend_schema(summary="驻区单位详情"),
)
class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = ORG
    serializer_class = UnitSerializer
    filterset_class = UnitFilter
    queryset = ResidentUnit.objects.none()
    http_method_names = WRITE_METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[ResidentUnit]:
        return selectors.unit_list(self.request.user, include_closed=True)

    def _present(self, unit: ResidentUnit, code: int = status.HTTP_200_OK) -> Response:
        return Response(UnitSerializer(self.get_queryset().get(pk=unit.pk)).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_unit_for_user(request.user, pk))

    @extend_schema(
        summary="导出驻区单位（Excel）",
        description="与列表相同的筛选条件；联系电话脱敏；导出行为记入审计日志。",
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.unit_columns,
            lambda u: u.node.path,
            filename=_("驻区单位"),
            action_name="orgs.residentunit.export",
        )

    @extend_schema(
        request=UnitCreateSerializer, responses={201: UnitSerializer}, summary="登记驻区单位"
    )
    def create(self, request: Request) -> Response:
        serializer = UnitCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        unit = services.unit_create(actor=request.user, **serializer.validated_data)
        return self._present(unit, status.HTTP_201_CREATED)

    @extend_schema(
        request=UnitUpdateSerializer,
        responses=UnitSerializer,
        summary="修改驻区单位",
        description="单位联络员只能修改本单位的联系人和联系电话。",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        unit = selectors.get_unit_for_user(
            request.user, pk, write=True, perm="orgs.change_unit_contact"
        )
        serializer = UnitUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        unit = services.unit_update(
            actor=request.user, unit=unit, version=data["version"], changes=_changes(data)
        )
        return self._present(unit)

    @extend_schema(request=VersionSerializer, responses=UnitSerializer, summary="注销驻区单位")
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        unit = selectors.get_unit_for_user(request.user, pk, write=True)
        serializer = VersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unit = services.unit_close(
            actor=request.user, unit=unit, version=serializer.validated_data["version"]
        )
        return self._present(unit)

    @extend_schema(
        request=InstructorAssignSerializer,
        responses={201: InstructorSerializer},
        summary="选派党建指导员",
    )
    @action(detail=True, methods=["post"])
    def instructors(self, request: Request, pk: str) -> Response:
        unit = selectors.get_unit_for_user(
            request.user, pk, write=True, perm="orgs.manage_instructors"
        )
        serializer = InstructorAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = services.instructor_assign(
            actor=request.user, unit=unit, **serializer.validated_data
        )
        return Response(InstructorSerializer(assignment).data, status.HTTP_201_CREATED)

    @extend_schema(
        request=InstructorEndSerializer,
        responses=InstructorSerializer,
        summary="结束党建指导员选派",
        parameters=[OpenApiParameter("instructor_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"instructors/(?P<instructor_id>[0-9]+)/end",
        url_name="instructor-end",
    )
    def instructor_end(self, request: Request, pk: str, instructor_id: str) -> Response:
        unit = selectors.get_unit_for_user(request.user, pk)
        assignment = selectors.get_instructor_for_user(request.user, instructor_id, write=True)
        if assignment.unit_id != unit.pk:
            raise Http404
        serializer = InstructorEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = services.instructor_end(
            actor=request.user, assignment=assignment, **serializer.validated_data
        )
        return Response(InstructorSerializer(assignment).data)

    @extend_schema(
        responses=CoverageSerializer,
        summary="两新组织党组织覆盖情况",
        parameters=[
            OpenApiParameter(
                "node", OpenApiTypes.INT, description="组织节点编号；缺省为本人可见的全部范围"
            )
        ],
        filters=False,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def coverage(self, request: Request) -> Response:
        raw = request.query_params.get("node")
        node = selectors.get_node_for_user(request.user, raw) if raw else None
        cover = selectors.coverage(request.user, node)
        children = selectors.coverage_by_child(request.user, node) if node else []
        payload = {
            "node": node.pk if node else None,
            **_figures(cover),
            "units_total": cover.units_total,
            "by_type": [
                {"unit_type": value, "label": label, "count": n}
                for value, label, n in cover.by_type
            ],
            "children": [
                {"node": row.node.pk, "name": row.node.name, **_figures(row.coverage)}
                for row in children
            ],
        }
        return Response(CoverageSerializer(payload).data)


# ---------------------------------------------------------------------------------------------
# committee members


class CommitteeMemberSerializer(serializers.ModelSerializer):
    body_name = serializers.CharField(source="body.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True, allow_null=True)
    is_current = serializers.SerializerMethodField(label=_("在任"))

    class Meta:
        model = CommitteeMember
        fields = [
            "id",
            "body",
            "body_name",
            "person_name",
            "unit",
            "unit_name",
            "unit_post",
            "duty",
            "public_commitment",
            "term_start",
            "term_end",
            "left_on",
            "is_current",
            "version",
        ]
        read_only_fields = fields

    def get_is_current(self, member: CommitteeMember) -> bool:
        today = selectors.today()
        return member.left_on is None and (member.term_end is None or member.term_end >= today)


class CommitteeMemberCreateSerializer(serializers.Serializer):
    body = VisibleNodeField(label=_("所属大工委/大党委（街道或社区节点）"))
    person_name = serializers.CharField(label=_("姓名"), max_length=50)
    unit = VisibleUnitField(label=_("所在单位"), required=False, allow_null=True)
    unit_post = serializers.CharField(max_length=100, required=False, allow_blank=True)
    duty = serializers.CharField(label=_("委员职责（设岗定责）"), max_length=200)
    public_commitment = serializers.CharField(required=False, allow_blank=True)
    term_start = serializers.DateField(label=_("任期开始"))
    term_end = serializers.DateField(required=False, allow_null=True)


class CommitteeMemberUpdateSerializer(VersionSerializer):
    person_name = serializers.CharField(max_length=50, required=False)
    unit = VisibleUnitField(required=False, allow_null=True)
    unit_post = serializers.CharField(max_length=100, required=False, allow_blank=True)
    duty = serializers.CharField(max_length=200, required=False)
    public_commitment = serializers.CharField(required=False, allow_blank=True)
    term_start = serializers.DateField(required=False)
    term_end = serializers.DateField(required=False, allow_null=True)


class CommitteeLeaveSerializer(VersionSerializer):
    left_on = serializers.DateField(label=_("离任日期"))


class RosterSerializer(serializers.Serializer):
    body = serializers.IntegerField()
    body_name = serializers.CharField()
    size = serializers.IntegerField(label=_("在任兼职委员数"))
    norm_min = serializers.IntegerField(allow_null=True)
    norm_max = serializers.IntegerField(allow_null=True)
    warning = serializers.CharField(label=_("规模提示"), allow_blank=True)
    current = CommitteeMemberSerializer(many=True)
    former = CommitteeMemberSerializer(many=True)


class CommitteeMemberFilter(django_filters.FilterSet):
    body = django_filters.NumberFilter(label=_("所属组织编号"))
    current = django_filters.BooleanFilter(label=_("只看在任"))

    class Meta:
        model = CommitteeMember
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        if data.get("body") is not None:
            queryset = queryset.filter(body_id=data["body"])
        if data.get("current"):
            queryset = queryset.filter(selectors.current_members_q())
        return queryset


@extend_schema_view(
    list=extend_schema(summary="兼职委员列表"),
    retrieve=extend_schema(summary="兼职委员详情"),
)
class CommitteeMemberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    tongxin_policy = ORG
    serializer_class = CommitteeMemberSerializer
    filterset_class = CommitteeMemberFilter
    queryset = CommitteeMember.objects.none()
    http_method_names = WRITE_METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[CommitteeMember]:
        return selectors.committee_member_list(self.request.user)

    def _present(self, member: CommitteeMember, code: int = status.HTTP_200_OK) -> Response:
        return Response(CommitteeMemberSerializer(self.get_queryset().get(pk=member.pk)).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_committee_member_for_user(request.user, pk))

    @extend_schema(
        summary="导出兼职委员（Excel）",
        description="与列表相同的筛选条件；导出行为记入审计日志。",
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.committee_columns,
            lambda m: m.body.path,
            filename=_("兼职委员"),
            action_name="orgs.committeemember.export",
        )

    @extend_schema(
        request=CommitteeMemberCreateSerializer,
        responses={201: CommitteeMemberSerializer},
        summary="增补兼职委员",
    )
    def create(self, request: Request) -> Response:
        serializer = CommitteeMemberCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        member = services.committee_member_add(actor=request.user, **serializer.validated_data)
        return self._present(member, status.HTTP_201_CREATED)

    @extend_schema(
        request=CommitteeMemberUpdateSerializer,
        responses=CommitteeMemberSerializer,
        summary="修改兼职委员",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        member = selectors.get_committee_member_for_user(request.user, pk, write=True)
        serializer = CommitteeMemberUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = services.committee_member_update(
            actor=request.user, member=member, version=data["version"], changes=_changes(data)
        )
        return self._present(member)

    @extend_schema(
        request=CommitteeLeaveSerializer, responses=CommitteeMemberSerializer, summary="登记离任"
    )
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, pk: str) -> Response:
        member = selectors.get_committee_member_for_user(request.user, pk, write=True)
        serializer = CommitteeLeaveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = services.committee_member_leave(
            actor=request.user, member=member, version=data["version"], left_on=data["left_on"]
        )
        return self._present(member)

    @extend_schema(
        responses=RosterSerializer,
        summary="大工委/大党委名册及规模提示",
        parameters=[
            OpenApiParameter(
                "body", OpenApiTypes.INT, required=True, description="街道或社区节点编号"
            )
        ],
        filters=False,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def roster(self, request: Request) -> Response:
        raw = request.query_params.get("body")
        if not raw:
            raise serializers.ValidationError({"body": [_("该字段是必填项。")]})
        body = selectors.get_node_for_user(request.user, raw)
        if body.level not in COMMITTEE_SIZE_NORMS:
            raise serializers.ValidationError({"body": [_("兼职委员只设在街道和社区。")]})
        roster = selectors.committee_roster(body)
        payload = {
            "body": body.pk,
            "body_name": body.name,
            "size": roster.size,
            "norm_min": roster.norm[0] if roster.norm else None,
            "norm_max": roster.norm[1] if roster.norm else None,
            "warning": roster.warning,
            "current": CommitteeMemberSerializer(roster.current, many=True).data,
            "former": CommitteeMemberSerializer(roster.former, many=True).data,
        }
        return Response(payload)


# ---------------------------------------------------------------------------------------------
# leader contact points


class ContactProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactProject
        fields = ["id", "name", "goal", "status", "due_on", "version"]
        read_only_fields = fields


class ContactPointSerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True)
    projects = ContactProjectSerializer(many=True, read_only=True, label=_("领办项目"))

    class Meta:
        model = ContactPoint
        fields = [
            "id",
            "community",
            "community_name",
            "leader_name",
            "leader_title",
            "starts_on",
            "ends_on",
            "note",
            "projects",
            "version",
        ]
        read_only_fields = fields


class ContactPointCreateSerializer(serializers.Serializer):
    community = VisibleNodeField(label=_("联系社区"))
    leader_name = serializers.CharField(label=_("联系领导"), max_length=50)
    leader_title = serializers.CharField(label=_("职务"), max_length=100)
    starts_on = serializers.DateField(label=_("联系起始"))
    ends_on = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)


class ContactPointUpdateSerializer(VersionSerializer):
    community = VisibleNodeField(required=False)
    leader_name = serializers.CharField(max_length=50, required=False)
    leader_title = serializers.CharField(max_length=100, required=False)
    starts_on = serializers.DateField(required=False)
    ends_on = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)


class ContactProjectCreateSerializer(serializers.Serializer):
    name = serializers.CharField(label=_("项目名称"), max_length=120)
    goal = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=ProjectStatus.choices, required=False, default=ProjectStatus.PLANNED
    )
    due_on = serializers.DateField(required=False, allow_null=True)


class ContactProjectUpdateSerializer(VersionSerializer):
    name = serializers.CharField(max_length=120, required=False)
    goal = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=ProjectStatus.choices, required=False)
    due_on = serializers.DateField(required=False, allow_null=True)


class ContactPointFilter(django_filters.FilterSet):
    community = django_filters.NumberFilter(label=_("社区（或其上级）节点编号"))
    search = django_filters.CharFilter(label=_("按领导姓名或项目名称查找"))

    class Meta:
        model = ContactPoint
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        user = self.request.user
        community = None
        if data.get("community") is not None:
            community = selectors.get_node_for_user(user, data["community"])
        return selectors.contact_point_list(user, community=community, search=data.get("search"))


@extend_schema_view(
    list=extend_schema(summary="领导联系点列表"),
    retrieve=extend_schema(summary="领导联系点详情"),
)
class ContactPointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    tongxin_policy = MANAGE
    serializer_class = ContactPointSerializer
    filterset_class = ContactPointFilter
    queryset = ContactPoint.objects.none()
    http_method_names = WRITE_METHODS
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[ContactPoint]:
        return selectors.contact_point_list(self.request.user)

    def _present(self, point: ContactPoint, code: int = status.HTTP_200_OK) -> Response:
        return Response(ContactPointSerializer(self.get_queryset().get(pk=point.pk)).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_contact_point_for_user(request.user, pk))

    @extend_schema(
        summary="导出领导联系点（Excel）",
        description="与列表相同的筛选条件；导出行为记入审计日志。",
        responses=XLSX_RESPONSE,
        filters=True,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> Any:
        return _export(
            self,
            exports.contact_columns,
            lambda p: p.community.path,
            filename=_("领导联系点"),
            action_name="orgs.contactpoint.export",
        )

    @extend_schema(
        request=ContactPointCreateSerializer,
        responses={201: ContactPointSerializer},
        summary="设立领导联系点",
    )
    def create(self, request: Request) -> Response:
        serializer = ContactPointCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        point = services.contact_point_create(actor=request.user, **serializer.validated_data)
        return self._present(point, status.HTTP_201_CREATED)

    @extend_schema(
        request=ContactPointUpdateSerializer,
        responses=ContactPointSerializer,
        summary="修改领导联系点",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        point = selectors.get_contact_point_for_user(request.user, pk, write=True)
        serializer = ContactPointUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        point = services.contact_point_update(
            actor=request.user, contact_point=point, version=data["version"], changes=_changes(data)
        )
        return self._present(point)

    @extend_schema(
        request=ContactProjectCreateSerializer,
        responses={201: ContactProjectSerializer},
        summary="添加领办项目",
    )
    @action(detail=True, methods=["post"])
    def projects(self, request: Request, pk: str) -> Response:
        point = selectors.get_contact_point_for_user(request.user, pk, write=True)
        serializer = ContactProjectCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.contact_project_add(
            actor=request.user, contact_point=point, **serializer.validated_data
        )
        return Response(ContactProjectSerializer(project).data, status.HTTP_201_CREATED)

    @extend_schema(
        request=ContactProjectUpdateSerializer,
        responses=ContactProjectSerializer,
        summary="修改领办项目",
        parameters=[OpenApiParameter("project_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"projects/(?P<project_id>[0-9]+)",
        url_name="project-detail",
    )
    def project_update(self, request: Request, pk: str, project_id: str) -> Response:
        point = selectors.get_contact_point_for_user(request.user, pk)
        project = selectors.get_contact_project_for_user(request.user, project_id, write=True)
        if project.contact_point_id != point.pk:
            raise Http404
        serializer = ContactProjectUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = services.contact_project_update(
            actor=request.user, project=project, version=data["version"], changes=_changes(data)
        )
        return Response(ContactProjectSerializer(project).data)


router = SimpleRouter()
router.register("orgs", NodeViewSet, basename="org-node")
router.register("party-orgs", PartyOrgViewSet, basename="party-org")
router.register("units", UnitViewSet, basename="unit")
router.register("committee-members", CommitteeMemberViewSet, basename="committee-member")
router.register("contact-points", ContactPointViewSet, basename="contact-point")

urlpatterns = router.urls

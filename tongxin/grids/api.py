"""REST API of grids and visits (/api/v1/grids/, /api/v1/visits/, /api/v1/follow-ups/).

Same shape as the pages: scoped selectors for lists, `get_*_for_user` for single objects (404
outside scope, 403 without the right), one service per write, `version` on every update (409
when stale). A grid's id is its OrgNode id; its `version` is its profile's (0 before the first
edit). Coordinates are WGS-84 unless `crs=gcj02` (or `bd09`) is asked for.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES
from tongxin.core.policy import roles
from tongxin.grids import geo, selectors, services
from tongxin.grids.models import FollowUp, FollowUpStatus, NeedCategory, Visit, VisitNeed
from tongxin.grids.rules import VISIT_PAGE_ROLES, can
from tongxin.orgs.models import OrgNode
from tongxin.orgs.selectors import territorial_org
from tongxin.people.models import Household

ORG = roles(BUSINESS_ROLES)
MANAGE = roles(MANAGING_ROLES)
VISITS = roles(VISIT_PAGE_ROLES)
METHODS = ["get", "post", "patch", "head", "options"]
CRS_FIELD_CHOICES = geo.CRS_ENUM


def _fake(view: Any) -> bool:
    return getattr(view, "swagger_fake_view", False)


def _user(field: serializers.Field) -> Any:
    return field.context["request"].user


def _crs(request: Request) -> str:
    serializer = GridCrsQuerySerializer(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("crs") or geo.WGS84


class GridCrsQuerySerializer(serializers.Serializer):
    crs = serializers.ChoiceField(
        label=_("坐标系"), choices=CRS_FIELD_CHOICES, required=False, default=geo.WGS84
    )


CRS_PARAMETER = OpenApiParameter(
    "crs",
    str,
    enum=list(geo.CRS_CHOICES),
    description="坐标系：wgs84（默认）、gcj02（高德/腾讯）、bd09（百度）",
)

# ---------------------------------------------------------------------------------------------
# grids


class GridNodeBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(label=_("编号"))
    name = serializers.CharField(label=_("名称"))


class GridPersonBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(label=_("编号"))
    name = serializers.CharField(label=_("姓名"))


class GridBranchSerializer(serializers.Serializer):
    id = serializers.IntegerField(label=_("编号"))
    name = serializers.CharField(label=_("党组织名称"))
    secretary = serializers.CharField(label=_("书记"))


GEOMETRY_SCHEMA = {
    "type": "object",
    "description": "GeoJSON Polygon 或 MultiPolygon（RFC 7946，经度在前）",
    "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "items": {}},
    },
    "required": ["type", "coordinates"],
}


class GridSerializer(serializers.Serializer):
    """A grid node as annotated by `selectors.with_figures` (+ managers and branch prefetched)."""

    id = serializers.IntegerField(source="pk", label=_("网格编号"))
    name = serializers.CharField(label=_("网格名称"))
    code = serializers.SerializerMethodField(label=_("网格编码"))
    community = serializers.SerializerMethodField(label=_("所属社区"))
    is_open = serializers.SerializerMethodField(label=_("是否在用"))
    boundary = serializers.SerializerMethodField(label=_("边界"))
    centroid = serializers.SerializerMethodField(label=_("中心点 [经度, 纬度]"))
    bbox = serializers.SerializerMethodField(label=_("范围 [西, 南, 东, 北]"))
    area_m2 = serializers.SerializerMethodField(label=_("面积（平方米）"))
    households_min = serializers.IntegerField(source="hh_min", label=_("户数下限"))
    households_max = serializers.IntegerField(source="hh_max", label=_("户数上限"))
    population_min = serializers.IntegerField(source="pop_min", label=_("人口下限"))
    population_max = serializers.IntegerField(source="pop_max", label=_("人口上限"))
    households = serializers.IntegerField(source="n_households", label=_("住户数"))
    population = serializers.IntegerField(source="n_population", label=_("人口数"))
    members = serializers.IntegerField(source="n_members", label=_("党员数"))
    buildings = serializers.IntegerField(source="n_buildings", label=_("楼栋数"))
    groups = serializers.IntegerField(source="n_groups", label=_("党小组数"))
    managers = serializers.SerializerMethodField(label=_("网格员"))
    branch = serializers.SerializerMethodField(label=_("网格党支部"))
    warnings = serializers.SerializerMethodField(label=_("预警"))
    version = serializers.SerializerMethodField(label=_("版本号"))

    def _crs(self) -> str:
        return self.context.get("crs", geo.WGS84)

    def _point(self, lng: float | None, lat: float | None) -> list[float] | None:
        if lng is None or lat is None:
            return None
        lng, lat = geo.from_wgs84(lng, lat, self._crs())
        return [round(lng, 7), round(lat, 7)]

    def get_code(self, node: OrgNode) -> str:
        return selectors.profile_of(node).code

    @extend_schema_field(GridNodeBriefSerializer(allow_null=True))
    def get_community(self, node: OrgNode) -> dict[str, Any] | None:
        parent = node.parent
        return {"id": parent.pk, "name": parent.name} if parent else None

    def get_is_open(self, node: OrgNode) -> bool:
        return node.closed_at is None

    @extend_schema_field({**GEOMETRY_SCHEMA, "nullable": True})
    def get_boundary(self, node: OrgNode) -> dict[str, Any] | None:
        boundary = selectors.profile_of(node).boundary
        if boundary is None or not self.context.get("include_boundary", True):
            return None
        geom = geo.convert_geometry(geo.from_stored(boundary), geo.WGS84, self._crs())
        return geo.to_geojson(geom, digits=7)

    @extend_schema_field(serializers.ListField(child=serializers.FloatField(), allow_null=True))
    def get_centroid(self, node: OrgNode) -> list[float] | None:
        profile = selectors.profile_of(node)
        return self._point(profile.centroid_lng, profile.centroid_lat)

    @extend_schema_field(serializers.ListField(child=serializers.FloatField(), allow_null=True))
    def get_bbox(self, node: OrgNode) -> list[float] | None:
        profile = selectors.profile_of(node)
        if profile.min_lng is None:
            return None
        south_west = self._point(profile.min_lng, profile.min_lat) or []
        north_east = self._point(profile.max_lng, profile.max_lat) or []
        return south_west + north_east

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_area_m2(self, node: OrgNode) -> float | None:
        area = selectors.profile_of(node).area_m2
        return round(area) if area is not None else None

    @extend_schema_field(GridPersonBriefSerializer(many=True))
    def get_managers(self, node: OrgNode) -> list[dict[str, Any]]:
        return [{"id": u.pk, "name": str(u)} for u in selectors.managers_of(node)]

    @extend_schema_field(GridBranchSerializer(allow_null=True))
    def get_branch(self, node: OrgNode) -> dict[str, Any] | None:
        org = territorial_org(node)
        return {"id": org.pk, "name": org.name, "secretary": org.secretary} if org else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, node: OrgNode) -> list[str]:
        return selectors.grid_warnings(node)

    def get_version(self, node: OrgNode) -> int:
        return selectors.profile_of(node).version


class GridDetailSerializer(GridSerializer):
    party_groups = serializers.SerializerMethodField(label=_("党小组"))
    overlaps = serializers.SerializerMethodField(label=_("与相邻网格的重叠"))

    @extend_schema_field(GridNodeBriefSerializer(many=True))
    def get_party_groups(self, node: OrgNode) -> list[dict[str, Any]]:
        return [{"id": g.pk, "name": g.name} for g in selectors.party_groups(node)]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_overlaps(self, node: OrgNode) -> list[str]:
        return [o.message for o in selectors.sibling_overlaps(node)]


class GridUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        label=_("版本号"), min_value=0, help_text=_("网格档案的版本号；尚无档案时为 0")
    )
    code = serializers.CharField(
        label=_("网格编码"), max_length=40, required=False, allow_blank=True
    )
    households_min = serializers.IntegerField(label=_("户数下限"), min_value=0, required=False)
    households_max = serializers.IntegerField(label=_("户数上限"), min_value=0, required=False)
    population_min = serializers.IntegerField(label=_("人口下限"), min_value=0, required=False)
    population_max = serializers.IntegerField(label=_("人口上限"), min_value=0, required=False)
    boundary = serializers.JSONField(
        label=_("边界"),
        required=False,
        allow_null=True,
        help_text=_("GeoJSON Polygon 或 MultiPolygon；null 表示清除边界"),
    )
    crs = serializers.ChoiceField(
        label=_("边界坐标系"), choices=CRS_FIELD_CHOICES, required=False, default=geo.WGS84
    )
    allow_overlaps = serializers.BooleanField(
        label=_("允许与相邻网格重叠"), required=False, default=False
    )


class GridFilterSerializer(serializers.Serializer):
    node = serializers.IntegerField(label=_("范围（组织编号）"), required=False)
    search = serializers.CharField(label=_("按名称或编码查找"), required=False, allow_blank=True)
    warnings = serializers.BooleanField(label=_("只看有预警的网格"), required=False, default=False)
    boundary = serializers.BooleanField(label=_("返回边界"), required=False, default=True)
    crs = serializers.ChoiceField(choices=CRS_FIELD_CHOICES, required=False, default=geo.WGS84)


class GridLocateQuerySerializer(serializers.Serializer):
    lng = serializers.FloatField(label=_("经度"), min_value=-180, max_value=180)
    lat = serializers.FloatField(label=_("纬度"), min_value=-90, max_value=90)
    crs = serializers.ChoiceField(
        label=_("坐标系"), choices=CRS_FIELD_CHOICES, required=False, default=geo.WGS84
    )


class LocatedGridSerializer(serializers.Serializer):
    id = serializers.IntegerField(label=_("网格编号"))
    name = serializers.CharField(label=_("网格名称"))
    code = serializers.CharField(label=_("网格编码"))
    community = GridNodeBriefSerializer(label=_("所属社区"), allow_null=True)


class GridLocateResultSerializer(serializers.Serializer):
    grid = LocatedGridSerializer(label=_("所在网格"), allow_null=True)
    outside = serializers.BooleanField(label=_("不在任何网格内"))
    on_boundary = serializers.BooleanField(label=_("位于网格边界上"))
    in_scope = serializers.BooleanField(label=_("所在网格在本人权限范围内"))
    candidates = serializers.ListField(
        child=serializers.IntegerField(), label=_("覆盖该点的全部网格")
    )
    lng = serializers.FloatField(label=_("经度（WGS-84）"))
    lat = serializers.FloatField(label=_("纬度（WGS-84）"))


class GridExportQuerySerializer(serializers.Serializer):
    node = serializers.IntegerField(label=_("范围（组织编号）"), required=False)
    crs = serializers.ChoiceField(choices=CRS_FIELD_CHOICES, required=False, default=geo.WGS84)


class GridImportQuerySerializer(serializers.Serializer):
    crs = serializers.ChoiceField(choices=CRS_FIELD_CHOICES, required=False)
    allow_overlaps = serializers.BooleanField(required=False, default=False)


class GridFeatureCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[("FeatureCollection", "FeatureCollection")])
    features = serializers.ListField(
        child=serializers.DictField(),
        help_text=_("每个要素的 properties 须有 node_id（网格编号）或 code（网格编码）"),
    )
    coordinate_system = serializers.ChoiceField(
        choices=CRS_FIELD_CHOICES,
        required=False,
        help_text=_("非 WGS-84 时注明坐标系（本系统 GCJ-02 导出时写入）；crs 查询参数优先"),
    )


class GridImportProblemSerializer(serializers.Serializer):
    feature = serializers.IntegerField(label=_("要素序号（从 1 起）"))
    ref = serializers.CharField(label=_("要素标识"))
    message = serializers.CharField(label=_("问题"))


ImportResultSerializer = inline_serializer(
    "GridBoundaryImportResult",
    {
        "updated": serializers.IntegerField(label=_("已更新网格数")),
        "grids": serializers.ListField(child=serializers.IntegerField()),
        "warnings": serializers.ListField(child=serializers.CharField()),
    },
)
ImportErrorSerializer = inline_serializer(
    "GridBoundaryImportError",
    {
        "detail": serializers.CharField(),
        "errors": GridImportProblemSerializer(many=True),
    },
)
GridWriteResultSerializer = inline_serializer(
    "GridWriteResult",
    {
        "grid": GridDetailSerializer(),
        "overlap_warnings": serializers.ListField(child=serializers.CharField()),
    },
)


@extend_schema_view(
    list=extend_schema(
        summary="网格列表（含 GeoJSON 边界、户数人口与常规规模、网格员）",
        parameters=[GridFilterSerializer],
    ),
    retrieve=extend_schema(summary="网格详情", parameters=[CRS_PARAMETER]),
)
class GridViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = ORG
    serializer_class = GridSerializer
    queryset = OrgNode.objects.none()
    http_method_names = METHODS
    lookup_value_regex = "[0-9]+"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[OrgNode]:
        if _fake(self):
            return OrgNode.objects.none()
        filters = GridFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        within = (
            selectors.get_scope_node_for_user(self.request.user, data["node"])
            if data.get("node") is not None
            else None
        )
        return selectors.grid_list(
            self.request.user,
            within=within,
            search=data.get("search", ""),
            warnings_only=data.get("warnings", False),
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not _fake(self):
            params = self.request.query_params
            context["crs"] = params.get("crs") if params.get("crs") in geo.CRS_CHOICES else "wgs84"
            context["include_boundary"] = params.get("boundary", "true").lower() not in (
                "0",
                "false",
                "no",
            )
        return context

    def _detail(self, node: OrgNode, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.grid_with_details(node)
        return Response(
            GridDetailSerializer(fresh, context=self.get_serializer_context()).data, code
        )

    def retrieve(self, request: Request, pk: str) -> Response:
        _crs(request)
        return self._detail(selectors.get_grid_for_user(request.user, pk))

    @extend_schema(
        request=GridUpdateSerializer,
        responses=GridWriteResultSerializer,
        summary="修改网格编码、常规规模或边界",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        node = selectors.get_grid_for_user(request.user, pk, write=True)
        serializer = GridUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changes = {k: data[k] for k in services.GRID_FIELDS if k in data}
        has_boundary = "boundary" in data
        result = services.grid_update(
            actor=request.user,
            node=node,
            version=data["version"],
            changes=changes,
            boundary=data["boundary"] if has_boundary and data["boundary"] is not None else None,
            clear_boundary=has_boundary and data["boundary"] is None,
            crs=data.get("crs") or geo.WGS84,
            allow_overlaps=data.get("allow_overlaps", False),
        )
        fresh = selectors.grid_with_details(node)
        return Response(
            {
                "grid": GridDetailSerializer(fresh, context=self.get_serializer_context()).data,
                "overlap_warnings": result.warnings,
            }
        )

    @extend_schema(
        parameters=[GridLocateQuerySerializer],
        responses=GridLocateResultSerializer,
        summary="点位落格：经纬度所在的网格",
        description="共享边界上的点归编号最小的网格（on_boundary 为 true）；不在任何网格内时 "
        "grid 为 null、outside 为 true。",
    )
    @action(detail=False, methods=["get"])
    def locate(self, request: Request) -> Response:
        query = GridLocateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        found = geo.locate(data["lng"], data["lat"], crs=data.get("crs") or geo.WGS84)
        grid = None
        if found.grid is not None:
            node = found.grid
            community = node.parent
            grid = {
                "id": node.pk,
                "name": node.name,
                "code": selectors.profile_of(node).code,
                "community": {"id": community.pk, "name": community.name} if community else None,
            }
        return Response(
            {
                "grid": grid,
                "outside": found.outside,
                "on_boundary": found.on_boundary,
                "in_scope": found.grid is not None
                and can(request.user, "grids.view_grid", found.grid),
                "candidates": list(found.candidates),
                "lng": found.lng,
                "lat": found.lat,
            }
        )

    @extend_schema(
        parameters=[GridExportQuerySerializer],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT},
        summary="导出网格边界（GeoJSON FeatureCollection）",
    )
    @action(detail=False, methods=["get"])
    def geojson(self, request: Request) -> Response:
        query = GridExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        within = (
            selectors.get_scope_node_for_user(request.user, data["node"])
            if data.get("node") is not None
            else None
        )
        collection = selectors.boundaries_geojson(
            request.user, within=within, crs=data.get("crs") or geo.WGS84
        )
        return Response(collection)

    @extend_schema(
        parameters=[GridImportQuerySerializer],
        request=GridFeatureCollectionSerializer,
        responses={200: ImportResultSerializer, 400: ImportErrorSerializer},
        summary="导入网格边界（GeoJSON，全部成功或全部不导入）",
    )
    @action(detail=False, methods=["post"], url_path="boundaries")
    def boundaries(self, request: Request) -> Response:
        if not MANAGE.allows(request.user):
            self.permission_denied(request)
        query = GridImportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        try:
            result = services.grid_boundaries_import(
                actor=request.user,
                collection=request.data,
                crs=options.get("crs"),
                allow_overlaps=options.get("allow_overlaps", False),
            )
        except services.BoundaryImportError as exc:
            return Response(
                {
                    "detail": str(_("边界导入未通过校验，未做任何修改。")),
                    "errors": [
                        {"feature": p.feature, "ref": p.ref, "message": p.message}
                        for p in exc.problems
                    ],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "updated": len(result.grids),
                "grids": [n.pk for n in result.grids],
                "warnings": result.warnings,
            }
        )


# ---------------------------------------------------------------------------------------------
# visits and follow-ups


@extend_schema_field(OpenApiTypes.INT)
class VisitHouseholdField(serializers.PrimaryKeyRelatedField):
    """A household the user may visit; any other id "does not exist"."""

    def get_queryset(self) -> QuerySet[Household]:
        return selectors.visit_households(_user(self))


class VisitNeedSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitNeed
        fields = ["id", "category", "description"]


class FollowUpSerializer(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField(label=_("已逾期"))

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "visit",
            "need",
            "action",
            "due_on",
            "status",
            "result",
            "done_at",
            "done_by",
            "overdue",
            "version",
        ]
        read_only_fields = fields

    def get_overdue(self, follow_up: FollowUp) -> bool:
        from django.utils import timezone

        return (
            follow_up.status == FollowUpStatus.OPEN
            and follow_up.due_on is not None
            and follow_up.due_on < timezone.localdate()
        )


class VisitSerializer(serializers.ModelSerializer):
    grid = serializers.SerializerMethodField(label=_("网格"))
    household_label = serializers.CharField(source="household.__str__", read_only=True)
    visitor_name = serializers.CharField(source="visitor.__str__", read_only=True)
    needs = VisitNeedSerializer(many=True, read_only=True)
    follow_ups = FollowUpSerializer(many=True, read_only=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "grid",
            "household",
            "household_label",
            "visited_on",
            "visitor",
            "visitor_name",
            "companions",
            "summary",
            "needs",
            "follow_ups",
            "created_at",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(GridNodeBriefSerializer)
    def get_grid(self, visit: Visit) -> dict[str, Any]:
        return {"id": visit.node_id, "name": visit.node.name}


class VisitNeedInputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(label=_("诉求类别"), choices=NeedCategory.choices)
    description = serializers.CharField(label=_("诉求内容"), max_length=500)


class VisitFollowUpInputSerializer(serializers.Serializer):
    action = serializers.CharField(label=_("跟进事项"), max_length=300)
    due_on = serializers.DateField(label=_("办理期限"), required=False, allow_null=True)
    need = serializers.IntegerField(
        label=_("对应诉求序号"),
        required=False,
        allow_null=True,
        min_value=0,
        help_text=_("needs 数组中的位置（从 0 起）"),
    )


class VisitCreateSerializer(serializers.Serializer):
    household = VisitHouseholdField(label=_("住户"))
    visited_on = serializers.DateField(label=_("走访日期"))
    companions = serializers.CharField(
        label=_("同行人员"), max_length=100, required=False, allow_blank=True
    )
    summary = serializers.CharField(label=_("走访情况"), max_length=2000)
    needs = VisitNeedInputSerializer(label=_("诉求"), many=True, required=False)
    follow_ups = VisitFollowUpInputSerializer(label=_("跟进事项"), many=True, required=False)


class VisitUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(label=_("版本号"), min_value=1)
    visited_on = serializers.DateField(label=_("走访日期"), required=False)
    companions = serializers.CharField(
        label=_("同行人员"), max_length=100, required=False, allow_blank=True
    )
    summary = serializers.CharField(label=_("走访情况"), max_length=2000, required=False)


class FollowUpCreateSerializer(serializers.Serializer):
    action = serializers.CharField(label=_("跟进事项"), max_length=300)
    due_on = serializers.DateField(label=_("办理期限"), required=False, allow_null=True)
    need = serializers.IntegerField(label=_("对应诉求编号"), required=False, allow_null=True)


class FollowUpUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(label=_("版本号"), min_value=1)
    status = serializers.ChoiceField(
        label=_("状态"), choices=FollowUpStatus.choices, required=False
    )
    result = serializers.CharField(
        label=_("办理结果"), max_length=500, required=False, allow_blank=True
    )
    due_on = serializers.DateField(label=_("办理期限"), required=False, allow_null=True)


class VisitFilterSerializer(serializers.Serializer):
    mine = serializers.BooleanField(label=_("只看本人的走访"), required=False, default=False)
    grid = serializers.IntegerField(label=_("网格（或上级组织）编号"), required=False)
    household = serializers.IntegerField(label=_("住户编号"), required=False)
    search = serializers.CharField(label=_("查找"), required=False, allow_blank=True)


class FollowUpFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        label=_("状态"), choices=FollowUpStatus.choices, required=False, allow_blank=True
    )
    mine = serializers.BooleanField(label=_("只看本人走访的"), required=False, default=False)


def _visit_queryset(queryset: QuerySet[Visit]) -> QuerySet[Visit]:
    return queryset.prefetch_related(
        Prefetch("needs", queryset=VisitNeed.objects.order_by("id")),
        Prefetch("follow_ups", queryset=FollowUp.objects.order_by("status", "due_on", "id")),
    )


@extend_schema_view(
    list=extend_schema(summary="走访记录（民情日记）列表", parameters=[VisitFilterSerializer]),
    retrieve=extend_schema(summary="走访记录详情"),
)
class VisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = VISITS
    serializer_class = VisitSerializer
    queryset = Visit.objects.none()
    http_method_names = METHODS
    lookup_value_regex = "[0-9]+"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Visit]:
        if _fake(self):
            return Visit.objects.none()
        filters = VisitFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        user = self.request.user
        grid = (
            selectors.get_scope_node_for_user(user, data["grid"])
            if data.get("grid") is not None
            else None
        )
        queryset = selectors.visit_list(
            user, mine=data.get("mine", False), grid=grid, search=data.get("search", "")
        )
        if data.get("household") is not None:
            queryset = queryset.filter(household_id=data["household"])
        return _visit_queryset(queryset)

    def _present(self, visit: Visit, code: int = status.HTTP_200_OK) -> Response:
        fresh = _visit_queryset(selectors.visible_visits(self.request.user)).select_related(
            "node", "household__building", "visitor"
        )
        return Response(VisitSerializer(fresh.get(pk=visit.pk)).data, code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._present(selectors.get_visit_for_user(request.user, pk))

    @extend_schema(
        request=VisitCreateSerializer, responses={201: VisitSerializer}, summary="登记走访"
    )
    def create(self, request: Request) -> Response:
        serializer = VisitCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        visit = services.visit_create(
            actor=request.user,
            household=data["household"],
            visited_on=data["visited_on"],
            summary=data["summary"],
            companions=data.get("companions", ""),
            needs=data.get("needs", []),
            follow_ups=data.get("follow_ups", []),
        )
        return self._present(visit, status.HTTP_201_CREATED)

    @extend_schema(request=VisitUpdateSerializer, responses=VisitSerializer, summary="修改走访记录")
    def partial_update(self, request: Request, pk: str) -> Response:
        visit = selectors.get_visit_for_user(request.user, pk, write=True)
        serializer = VisitUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        visit = services.visit_update(
            actor=request.user, visit=visit, version=version, changes=data
        )
        return self._present(visit)

    @extend_schema(
        request=FollowUpCreateSerializer,
        responses={201: FollowUpSerializer},
        summary="为走访新增跟进事项",
    )
    @action(detail=True, methods=["post"], url_path="follow-ups")
    def follow_ups(self, request: Request, pk: str) -> Response:
        visit = selectors.get_visit_for_user(
            request.user, pk, write=True, perm="grids.add_followup"
        )
        serializer = FollowUpCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        need = None
        if data.get("need") is not None:
            need = visit.needs.filter(pk=data["need"]).first()
            if need is None:
                raise serializers.ValidationError({"need": [_("对应的诉求不属于这次走访。")]})
        follow_up = services.follow_up_add(
            actor=request.user,
            visit=visit,
            action=data["action"],
            due_on=data.get("due_on"),
            need=need,
        )
        return Response(FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="跟进事项列表", parameters=[FollowUpFilterSerializer]),
    retrieve=extend_schema(summary="跟进事项详情"),
)
class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    tongxin_policy = VISITS
    serializer_class = FollowUpSerializer
    queryset = FollowUp.objects.none()
    http_method_names = ["get", "patch", "head", "options"]
    lookup_value_regex = "[0-9]+"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[FollowUp]:
        if _fake(self):
            return FollowUp.objects.none()
        filters = FollowUpFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return selectors.follow_up_list(
            self.request.user, status=data.get("status") or None, mine=data.get("mine", False)
        )

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(FollowUpSerializer(selectors.get_follow_up_for_user(request.user, pk)).data)

    @extend_schema(
        request=FollowUpUpdateSerializer,
        responses=FollowUpSerializer,
        summary="办结、重新打开或调整跟进事项",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        follow_up = selectors.get_follow_up_for_user(request.user, pk, write=True)
        serializer = FollowUpUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        follow_up = services.follow_up_update(
            actor=request.user,
            follow_up=follow_up,
            version=data["version"],
            status=data.get("status"),
            result=data.get("result"),
            due_on=data.get("due_on", services.KEEP),
        )
        return Response(FollowUpSerializer(follow_up).data)


router = SimpleRouter()
router.register("grids", GridViewSet, basename="grid")
router.register("visits", VisitViewSet, basename="visit")
router.register("follow-ups", FollowUpViewSet, basename="follow-up")

urlpatterns = router.urls

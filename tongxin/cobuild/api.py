"""REST API of co-building (/api/v1/agreements/, commitments/, secondments/, resources/, needs/,
projects/, venues/, bookings/, meetings/, resolutions/, evaluations/, consultations/ and
units/{id}/annual-report/).

Same shape as the pages: lists from the scoped selectors, one object through its
`get_<x>_for_user` (404 outside scope), each write one service call. Moves answer 409 with the
Chinese reason when the table does not allow them or the `version` is stale, 403 with who may
make them when the user is not that actor, 400 with field errors for bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongxin.cobuild import selectors, services
from tongxin.cobuild.models import (
    Agreement,
    AgreementAction,
    AgreementStatus,
    AgreementTransition,
    Award,
    AwardKind,
    BookingStatus,
    Commitment,
    CommitmentAction,
    CommitmentArea,
    CommitmentSide,
    CommitmentState,
    Consultation,
    ConsultationOpinion,
    ConsultationSubject,
    EvaluationDirection,
    EvaluationItem,
    EvaluationRound,
    EvaluationSheet,
    JointMeeting,
    MeetingAttendance,
    NeedItem,
    NeedStatus,
    ProjectAction,
    ProjectState,
    Resolution,
    ResolutionStatus,
    ResourceItem,
    ResourceKind,
    RoundAction,
    RoundStatus,
    Secondment,
    SecondmentDirection,
    SecondmentRole,
    ServiceProject,
    Venue,
    VenueBooking,
)
from tongxin.cobuild.rules import COBUILD_ROLES, VENUE_ROLES
from tongxin.core.policy import roles
from tongxin.orgs.models import CommitteeMember, OrgNode, ResidentUnit

COBUILD = roles(COBUILD_ROLES)
VENUES = roles(VENUE_ROLES)


def _fake(view: Any) -> bool:
    return getattr(view, "swagger_fake_view", False)


def _choice(choices: Any, **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class ScopedField(serializers.PrimaryKeyRelatedField):
    """A related id that only resolves inside what the user may use: anything else "does not
    exist" (400), so ids outside the scope leak nothing."""

    def __init__(self, scope: Callable[[Any], QuerySet], **kwargs: Any) -> None:
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        return self.scope(self.context["request"].user)


def _nodes(user: Any) -> QuerySet[OrgNode]:
    return selectors.agreement_nodes(user)


def _communities(user: Any) -> QuerySet[OrgNode]:
    return selectors.agreement_nodes(user).filter(level="community")


def _units(user: Any) -> QuerySet[ResidentUnit]:
    return selectors.units_in_scope(user).select_related("node")


class CobuildNodeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CobuildUnitRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CobuildVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)


def _created(data: Any) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------
# agreements and commitments


class CommitmentTransitionRowSerializer(serializers.Serializer):
    action = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor_name = serializers.CharField()
    note = serializers.CharField()
    at = serializers.DateTimeField()


class CommitmentEvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    uploaded_at = serializers.DateTimeField()


class CommitmentSerializer(serializers.ModelSerializer):
    side = _choice(CommitmentSide.choices, read_only=True)
    area = _choice(CommitmentArea.choices, read_only=True)
    state = _choice(CommitmentState.choices, read_only=True)
    files = CommitmentEvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = Commitment
        fields = [
            "id",
            "agreement",
            "side",
            "area",
            "content",
            "due_on",
            "owner_name",
            "state",
            "evidence_text",
            "fulfilled_at",
            "confirmed_at",
            "cancel_reason",
            "files",
            "version",
        ]
        read_only_fields = fields


class CommitmentDetailSerializer(CommitmentSerializer):
    transitions = CommitmentTransitionRowSerializer(many=True, read_only=True)

    class Meta(CommitmentSerializer.Meta):
        fields = [*CommitmentSerializer.Meta.fields, "transitions"]
        read_only_fields = fields


class AgreementTransitionRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgreementTransition
        fields = ["action", "from_status", "to_status", "actor_name", "note", "at"]
        read_only_fields = fields


class AgreementListSerializer(serializers.ModelSerializer):
    node = CobuildNodeRefSerializer(read_only=True)
    unit = CobuildUnitRefSerializer(read_only=True)
    status = _choice(AgreementStatus.choices, read_only=True)
    commitments_total = serializers.IntegerField(read_only=True)
    commitments_done = serializers.IntegerField(read_only=True)
    commitments_overdue = serializers.IntegerField(read_only=True)

    class Meta:
        model = Agreement
        fields = [
            "id",
            "node",
            "unit",
            "year",
            "title",
            "status",
            "signed_on",
            "closed_on",
            "commitments_total",
            "commitments_done",
            "commitments_overdue",
            "version",
        ]
        read_only_fields = fields


class AgreementDetailSerializer(serializers.ModelSerializer):
    node = CobuildNodeRefSerializer(read_only=True)
    unit = CobuildUnitRefSerializer(read_only=True)
    status = _choice(AgreementStatus.choices, read_only=True)
    commitments = CommitmentSerializer(many=True, read_only=True)
    transitions = AgreementTransitionRowSerializer(many=True, read_only=True)
    fulfilment_rate = serializers.SerializerMethodField(label=_("履行率（%）"))

    class Meta:
        model = Agreement
        fields = [
            "id",
            "node",
            "unit",
            "year",
            "title",
            "note",
            "status",
            "signed_on",
            "closed_on",
            "copied_from",
            "fulfilment_rate",
            "commitments",
            "transitions",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True))
    def get_fulfilment_rate(self, agreement: Agreement) -> Any:
        rate = selectors.agreement_rate(agreement).rate
        return None if rate is None else str(rate)


class AgreementCreateSerializer(serializers.Serializer):
    node = ScopedField(_nodes, label=_("街道/社区"))
    unit = ScopedField(_units, label=_("驻区单位"))
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)


class AgreementMoveSerializer(CobuildVersionSerializer):
    action = _choice([(a.value, a.label) for a in (AgreementAction.SIGN, AgreementAction.CLOSE)])
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class AgreementCopySerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)


class CommitmentCreateSerializer(serializers.Serializer):
    side = _choice(CommitmentSide.choices)
    area = _choice(CommitmentArea.choices)
    content = serializers.CharField(max_length=300)
    due_on = serializers.DateField()
    owner_name = serializers.CharField(max_length=50)


class CommitmentMoveSerializer(CobuildVersionSerializer):
    action = _choice(
        [
            (a.value, a.label)
            for a in CommitmentAction
            if a not in (CommitmentAction.CREATE, CommitmentAction.MARK_OVERDUE)
        ]
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    evidence_text = serializers.CharField(required=False, allow_blank=True)
    files = serializers.ListField(child=serializers.FileField(), required=False)


class FulfilmentRateSerializer(serializers.Serializer):
    label = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    overdue = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)


class FulfilmentRatesSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    overall = FulfilmentRateSerializer()
    by_agreement = FulfilmentRateSerializer(many=True)
    by_unit = FulfilmentRateSerializer(many=True)
    by_community = FulfilmentRateSerializer(many=True)
    by_street = FulfilmentRateSerializer(many=True)


YEAR_PARAMETER = OpenApiParameter("year", OpenApiTypes.INT, required=False, description="年度")


def _year(request: Request) -> int:
    raw = request.query_params.get("year", "")
    try:
        year = int(raw) if raw else selectors.today().year
    except ValueError as exc:
        raise serializers.ValidationError({"year": [_("请填写正确的年度。")]}) from exc
    if not 2000 <= year <= 2100:
        raise serializers.ValidationError({"year": [_("请填写正确的年度。")]})
    return year


def _agreement(request: Request, pk: int, status_code: int = 200) -> Response:
    agreement = selectors.get_agreement_for_user(request.user, pk)
    return Response(AgreementDetailSerializer(agreement).data, status=status_code)


class AgreementListView(generics.ListAPIView):
    """GET: the agreements the user sees (filter by year, status). POST: a draft."""

    tongxin_policy = COBUILD
    serializer_class = AgreementListSerializer

    def get_queryset(self) -> QuerySet[Agreement]:
        if _fake(self):
            return Agreement.objects.none()
        params = self.request.query_params
        year = params.get("year")
        return selectors.agreement_list(
            self.request.user,
            year=int(year) if year and year.isdigit() else None,
            status=params.get("status") or None,
        )

    @extend_schema(
        summary="共建协议列表（按权限范围）",
        parameters=[
            YEAR_PARAMETER,
            OpenApiParameter("status", OpenApiTypes.STR, enum=AgreementStatus.values),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="起草共建协议",
        request=AgreementCreateSerializer,
        responses={201: AgreementDetailSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = AgreementCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        agreement = services.agreement_create(actor=request.user, **serializer.validated_data)
        return _agreement(request, agreement.pk, status.HTTP_201_CREATED)


class AgreementDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="共建协议详情（含双方承诺事项）", responses=AgreementDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _agreement(request, pk)


class AgreementMoveView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="协议流转（签订、结束）",
        request=AgreementMoveSerializer,
        responses={
            200: AgreementDetailSerializer,
            409: OpenApiResponse(description="当前状态不允许该操作，或版本已过期"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        agreement = selectors.get_agreement_for_user(request.user, pk)
        serializer = AgreementMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.agreement_transition(
            actor=request.user, agreement=agreement, **serializer.validated_data
        )
        return _agreement(request, pk)


class AgreementCopyView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="复制为下一年度协议草稿",
        request=AgreementCopySerializer,
        responses={201: AgreementDetailSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        source = selectors.get_agreement_for_user(request.user, pk)
        serializer = AgreementCopySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        copy = services.agreement_copy(
            actor=request.user, source=source, year=serializer.validated_data.get("year")
        )
        return _agreement(request, copy.pk, status.HTTP_201_CREATED)


class AgreementCommitmentsView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="为协议草稿添加承诺事项",
        request=CommitmentCreateSerializer,
        responses={201: CommitmentSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        agreement = selectors.get_agreement_for_user(request.user, pk)
        serializer = CommitmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        commitment = services.commitment_add(
            actor=request.user, agreement=agreement, **serializer.validated_data
        )
        return _created(CommitmentSerializer(commitment).data)


class AgreementRatesView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="承诺履行率：按协议、单位、社区、街道",
        parameters=[YEAR_PARAMETER],
        responses=FulfilmentRatesSerializer,
    )
    def get(self, request: Request) -> Response:
        rates = selectors.fulfilment_rates(request.user, year=_year(request))
        return Response(FulfilmentRatesSerializer(rates).data)


class CommitmentDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="承诺事项详情（含流转记录）", responses=CommitmentDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        commitment = selectors.get_commitment_for_user(request.user, pk)
        return Response(CommitmentDetailSerializer(commitment).data)


class CommitmentMoveView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="承诺事项流转（开始推进、报告履行、确认、退回、取消）",
        request={
            "application/json": CommitmentMoveSerializer,
            "multipart/form-data": CommitmentMoveSerializer,
        },
        responses={
            200: CommitmentDetailSerializer,
            403: OpenApiResponse(description="不是该操作的执行方"),
            409: OpenApiResponse(description="当前状态不允许该操作，或版本已过期"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        commitment = selectors.get_commitment_for_user(request.user, pk)
        serializer = CommitmentMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.commitment_transition(
            actor=request.user, commitment=commitment, **serializer.validated_data
        )
        fresh = selectors.get_commitment_for_user(request.user, pk)
        return Response(CommitmentDetailSerializer(fresh).data)


# ---------------------------------------------------------------------------------------------
# secondments


class CobuildSecondmentSerializer(serializers.ModelSerializer):
    direction = _choice(SecondmentDirection.choices)
    role = _choice(SecondmentRole.choices)
    unit = ScopedField(_units)
    community = ScopedField(_communities)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)

    class Meta:
        model = Secondment
        fields = [
            "id",
            "person_name",
            "direction",
            "unit",
            "unit_name",
            "community",
            "community_name",
            "role",
            "starts_on",
            "ends_on",
            "note",
            "version",
        ]
        read_only_fields = ["id", "version"]


class SecondmentListView(generics.ListAPIView):
    """GET ?current=true|false: who serves where now, and before. POST: record one."""

    tongxin_policy = COBUILD
    serializer_class = CobuildSecondmentSerializer

    def get_queryset(self) -> QuerySet[Secondment]:
        if _fake(self):
            return Secondment.objects.none()
        current = self.request.query_params.get("current")
        flag = {"true": True, "false": False}.get((current or "").lower())
        return selectors.secondment_list(self.request.user, current=flag)

    @extend_schema(
        summary="双向挂职列表",
        parameters=[OpenApiParameter("current", OpenApiTypes.BOOL, required=False)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="登记双向挂职",
        request=CobuildSecondmentSerializer,
        responses={201: CobuildSecondmentSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = CobuildSecondmentSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        secondment = services.secondment_create(actor=request.user, **serializer.validated_data)
        return _created(CobuildSecondmentSerializer(secondment, context={"request": request}).data)


class SecondmentDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="双向挂职详情", responses=CobuildSecondmentSerializer)
    def get(self, request: Request, pk: int) -> Response:
        secondment = selectors.get_secondment_for_user(request.user, pk)
        return Response(CobuildSecondmentSerializer(secondment, context={"request": request}).data)


# ---------------------------------------------------------------------------------------------
# resources, needs, matches, projects


class CobuildResourceSerializer(serializers.ModelSerializer):
    kind = _choice(ResourceKind.choices)
    unit = ScopedField(_units)
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = ResourceItem
        fields = [
            "id",
            "unit",
            "unit_name",
            "kind",
            "title",
            "description",
            "quantity",
            "available_from",
            "available_until",
            "active",
            "version",
        ]
        read_only_fields = ["id", "active", "version"]


class CobuildResourceUpdateSerializer(CobuildVersionSerializer):
    active = serializers.BooleanField()


class ResourceListView(generics.ListAPIView):
    tongxin_policy = COBUILD
    serializer_class = CobuildResourceSerializer

    def get_queryset(self) -> QuerySet[ResourceItem]:
        if _fake(self):
            return ResourceItem.objects.none()
        kind = self.request.query_params.get("kind")
        return selectors.resource_list(self.request.user, kind=kind or None)

    @extend_schema(
        summary="资源清单（驻区单位）",
        parameters=[OpenApiParameter("kind", OpenApiTypes.STR, enum=ResourceKind.values)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="发布资源",
        request=CobuildResourceSerializer,
        responses={201: CobuildResourceSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = CobuildResourceSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        item = services.resource_create(actor=request.user, **serializer.validated_data)
        return _created(CobuildResourceSerializer(item, context={"request": request}).data)


class ResourceDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="资源详情", responses=CobuildResourceSerializer)
    def get(self, request: Request, pk: int) -> Response:
        item = selectors.get_resource_for_user(request.user, pk)
        return Response(CobuildResourceSerializer(item, context={"request": request}).data)

    @extend_schema(
        summary="发布或撤下资源",
        request=CobuildResourceUpdateSerializer,
        responses=CobuildResourceSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        item = selectors.get_resource_for_user(request.user, pk, write=True)
        serializer = CobuildResourceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.resource_set_active(
            actor=request.user, item=item, **serializer.validated_data
        )
        return Response(CobuildResourceSerializer(item, context={"request": request}).data)


class CobuildNeedSerializer(serializers.ModelSerializer):
    kind = _choice(ResourceKind.choices)
    status = _choice(NeedStatus.choices, read_only=True)
    community = ScopedField(_communities)
    community_name = serializers.CharField(source="community.name", read_only=True)

    class Meta:
        model = NeedItem
        fields = [
            "id",
            "community",
            "community_name",
            "kind",
            "title",
            "description",
            "needed_by",
            "status",
            "version",
        ]
        read_only_fields = ["id", "status", "version"]


class NeedListView(generics.ListAPIView):
    tongxin_policy = COBUILD
    serializer_class = CobuildNeedSerializer

    def get_queryset(self) -> QuerySet[NeedItem]:
        if _fake(self):
            return NeedItem.objects.none()
        params = self.request.query_params
        return selectors.need_list(
            self.request.user, kind=params.get("kind") or None, status=params.get("status") or None
        )

    @extend_schema(
        summary="需求清单（社区）",
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=ResourceKind.values),
            OpenApiParameter("status", OpenApiTypes.STR, enum=NeedStatus.values),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="发布需求", request=CobuildNeedSerializer, responses={201: CobuildNeedSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = CobuildNeedSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        need = services.need_create(actor=request.user, **serializer.validated_data)
        return _created(CobuildNeedSerializer(need, context={"request": request}).data)


class NeedDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="需求详情", responses=CobuildNeedSerializer)
    def get(self, request: Request, pk: int) -> Response:
        need = selectors.get_need_for_user(request.user, pk)
        return Response(CobuildNeedSerializer(need, context={"request": request}).data)


class NeedMatchSerializer(serializers.Serializer):
    resource = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    kind = _choice(ResourceKind.choices)
    unit = CobuildUnitRefSerializer()
    place = serializers.IntegerField(help_text="0 同一社区，1 同一街道，2 本区其他街道")
    place_label = serializers.CharField()
    running = serializers.IntegerField(help_text="正在使用该资源的项目数")
    available_until = serializers.DateField(allow_null=True)


class NeedMatchesView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="为需求推荐可对接的资源", responses=NeedMatchSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        need = selectors.get_need_for_user(request.user, pk)
        return Response(NeedMatchSerializer(selectors.need_matches(need), many=True).data)


class ServiceProjectSerializer(serializers.ModelSerializer):
    state = _choice(ProjectState.choices, read_only=True)
    community = ScopedField(_communities, required=False)
    need = ScopedField(lambda user: selectors.open_needs_for(user), required=False, allow_null=True)
    resource = serializers.PrimaryKeyRelatedField(
        queryset=ResourceItem.objects.filter(active=True), required=False, allow_null=True
    )
    community_name = serializers.CharField(source="community.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True, default="")

    class Meta:
        model = ServiceProject
        fields = [
            "id",
            "community",
            "community_name",
            "unit",
            "unit_name",
            "need",
            "resource",
            "title",
            "description",
            "owner_name",
            "starts_on",
            "ends_on",
            "beneficiaries",
            "beneficiary_count",
            "outcome",
            "state",
            "published",
            "version",
        ]
        read_only_fields = ["id", "unit", "outcome", "state", "version"]


class ServiceProjectMoveSerializer(CobuildVersionSerializer):
    action = _choice([(a.value, a.label) for a in ProjectAction if a != ProjectAction.CREATE])
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    outcome = serializers.CharField(required=False, allow_blank=True)
    beneficiary_count = serializers.IntegerField(required=False, min_value=0)


class ProjectListView(generics.ListAPIView):
    tongxin_policy = COBUILD
    serializer_class = ServiceProjectSerializer

    def get_queryset(self) -> QuerySet[ServiceProject]:
        if _fake(self):
            return ServiceProject.objects.none()
        return selectors.project_list(
            self.request.user, state=self.request.query_params.get("state") or None
        )

    @extend_schema(
        summary="服务项目列表",
        parameters=[OpenApiParameter("state", OpenApiTypes.STR, enum=ProjectState.values)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="立项（可由需求与资源的对接生成）",
        request=ServiceProjectSerializer,
        responses={201: ServiceProjectSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ServiceProjectSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        project = services.project_create(actor=request.user, **serializer.validated_data)
        return _created(ServiceProjectSerializer(project, context={"request": request}).data)


class ProjectDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="服务项目详情", responses=ServiceProjectSerializer)
    def get(self, request: Request, pk: int) -> Response:
        project = selectors.get_project_for_user(request.user, pk)
        return Response(ServiceProjectSerializer(project, context={"request": request}).data)


class ProjectMoveView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="服务项目流转（启动、完成、取消）",
        request=ServiceProjectMoveSerializer,
        responses={
            200: ServiceProjectSerializer,
            409: OpenApiResponse(description="当前状态不允许"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        project = selectors.get_project_for_user(request.user, pk)
        serializer = ServiceProjectMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_transition(
            actor=request.user, project=project, **serializer.validated_data
        )
        return Response(ServiceProjectSerializer(project, context={"request": request}).data)


# ---------------------------------------------------------------------------------------------
# venues and bookings


class VenueOpeningSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = 星期一")
    opens = serializers.TimeField()
    closes = serializers.TimeField()


class CobuildVenueSerializer(serializers.ModelSerializer):
    unit = ScopedField(_units)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    openings = VenueOpeningSerializer(many=True)

    class Meta:
        model = Venue
        fields = [
            "id",
            "unit",
            "unit_name",
            "name",
            "address",
            "capacity",
            "description",
            "active",
            "openings",
            "version",
        ]
        read_only_fields = ["id", "active", "version"]


class VenueBookingSerializer(serializers.ModelSerializer):
    status = _choice(BookingStatus.choices, read_only=True)
    booked_by_name = serializers.CharField(source="booked_by.__str__", read_only=True)

    class Meta:
        model = VenueBooking
        fields = [
            "id",
            "venue",
            "starts_at",
            "ends_at",
            "organization",
            "purpose",
            "attendees",
            "status",
            "booked_by_name",
            "created_at",
        ]
        read_only_fields = ["id", "venue", "status", "booked_by_name", "created_at"]


class VenueListView(generics.ListAPIView):
    """GET: venues open to the public in the user's district (?mine=true: those I manage)."""

    tongxin_policy = VENUES
    serializer_class = CobuildVenueSerializer

    def get_queryset(self) -> QuerySet[Venue]:
        if _fake(self):
            return Venue.objects.none()
        mine = self.request.query_params.get("mine", "").lower() == "true"
        return selectors.venue_list(self.request.user, mine=mine)

    @extend_schema(
        summary="开放场地列表",
        parameters=[OpenApiParameter("mine", OpenApiTypes.BOOL, required=False)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="开放场地（驻区单位）",
        request=CobuildVenueSerializer,
        responses={201: CobuildVenueSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = CobuildVenueSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        openings = [(o["weekday"], o["opens"], o["closes"]) for o in data.pop("openings")]
        venue = services.venue_create(actor=request.user, openings=openings, **data)
        return _created(CobuildVenueSerializer(venue, context={"request": request}).data)


class VenueDetailView(APIView):
    tongxin_policy = VENUES

    @extend_schema(summary="场地详情", responses=CobuildVenueSerializer)
    def get(self, request: Request, pk: int) -> Response:
        venue = selectors.get_venue_for_user(request.user, pk)
        return Response(CobuildVenueSerializer(venue, context={"request": request}).data)


class VenueBookingsView(generics.ListAPIView):
    """GET: the venue's bookings (all for its managers, one's own otherwise). POST: book a slot;
    an overlapping confirmed booking answers 409."""

    tongxin_policy = VENUES
    serializer_class = VenueBookingSerializer

    def get_queryset(self) -> QuerySet[VenueBooking]:
        if _fake(self):
            return VenueBooking.objects.none()
        venue = selectors.get_venue_for_user(self.request.user, self.kwargs["pk"])
        return selectors.venue_bookings(self.request.user, venue)

    @extend_schema(summary="场地预约列表")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="预约场地",
        request=VenueBookingSerializer,
        responses={201: VenueBookingSerializer, 409: OpenApiResponse(description="该时段已被预约")},
    )
    def post(self, request: Request, pk: int) -> Response:
        venue = selectors.get_venue_for_user(request.user, pk)
        serializer = VenueBookingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        booking = services.booking_create(
            actor=request.user, venue=venue, **serializer.validated_data
        )
        return _created(VenueBookingSerializer(booking).data)


class BookingCancelView(APIView):
    tongxin_policy = VENUES

    @extend_schema(summary="取消预约", request=None, responses=VenueBookingSerializer)
    def post(self, request: Request, pk: int) -> Response:
        booking = selectors.get_booking_for_user(request.user, pk)
        booking = services.booking_cancel(actor=request.user, booking=booking)
        return Response(VenueBookingSerializer(booking).data)


# ---------------------------------------------------------------------------------------------
# joint meetings


class MeetingAttendanceInputSerializer(serializers.Serializer):
    member = serializers.PrimaryKeyRelatedField(
        queryset=CommitteeMember.objects.all(), required=False, allow_null=True
    )
    unit = serializers.PrimaryKeyRelatedField(
        queryset=ResidentUnit.objects.all(), required=False, allow_null=True
    )
    person_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    present = serializers.BooleanField(default=True)


class MeetingResolutionInputSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=300)
    owner_name = serializers.CharField(max_length=50)
    owner_unit = serializers.PrimaryKeyRelatedField(
        queryset=ResidentUnit.objects.all(), required=False, allow_null=True
    )
    due_on = serializers.DateField(required=False, allow_null=True)


class ResolutionSerializer(serializers.ModelSerializer):
    status = _choice(ResolutionStatus.choices, read_only=True)

    class Meta:
        model = Resolution
        fields = ["id", "content", "owner_name", "owner_unit", "due_on", "status", "version"]
        read_only_fields = fields


class MeetingAttendanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = MeetingAttendance
        fields = ["id", "member", "unit", "person_name", "present"]
        read_only_fields = fields


class MeetingListSerializer(serializers.ModelSerializer):
    body = CobuildNodeRefSerializer(read_only=True)
    attended = serializers.IntegerField(read_only=True)
    resolutions_total = serializers.IntegerField(read_only=True)

    class Meta:
        model = JointMeeting
        fields = ["id", "body", "held_on", "title", "location", "attended", "resolutions_total"]
        read_only_fields = fields


class MeetingDetailSerializer(serializers.ModelSerializer):
    body = CobuildNodeRefSerializer(read_only=True)
    attendance = MeetingAttendanceSerializer(many=True, read_only=True)
    resolutions = ResolutionSerializer(many=True, read_only=True)

    class Meta:
        model = JointMeeting
        fields = [
            "id",
            "body",
            "held_on",
            "title",
            "location",
            "agenda",
            "minutes",
            "attendance",
            "resolutions",
            "version",
        ]
        read_only_fields = fields


class MeetingCreateSerializer(serializers.Serializer):
    body = ScopedField(_nodes, label=_("大工委/大党委"))
    held_on = serializers.DateField()
    title = serializers.CharField(max_length=120)
    location = serializers.CharField(max_length=120, required=False, allow_blank=True)
    agenda = serializers.CharField()
    minutes = serializers.CharField(required=False, allow_blank=True)
    attendance = MeetingAttendanceInputSerializer(many=True, required=False)
    resolutions = MeetingResolutionInputSerializer(many=True, required=False)


class ResolutionFollowUpSerializer(CobuildVersionSerializer):
    status = _choice(ResolutionStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class MeetingQuarterSerializer(serializers.Serializer):
    body = CobuildNodeRefSerializer()
    year = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    missed = serializers.ListField(child=serializers.IntegerField())


class MeetingListView(generics.ListAPIView):
    tongxin_policy = COBUILD
    serializer_class = MeetingListSerializer

    def get_queryset(self) -> QuerySet[JointMeeting]:
        if _fake(self):
            return JointMeeting.objects.none()
        year = self.request.query_params.get("year")
        return selectors.meeting_list(
            self.request.user, year=int(year) if year and year.isdigit() else None
        )

    @extend_schema(summary="联席会议列表", parameters=[YEAR_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="登记联席会议",
        request=MeetingCreateSerializer,
        responses={201: MeetingDetailSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = MeetingCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        meeting = services.meeting_create(actor=request.user, **serializer.validated_data)
        fresh = selectors.get_meeting_for_user(request.user, meeting.pk)
        return _created(MeetingDetailSerializer(fresh).data)


class MeetingDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="联席会议详情（出席、纪要、议定事项）", responses=MeetingDetailSerializer
    )
    def get(self, request: Request, pk: int) -> Response:
        meeting = selectors.get_meeting_for_user(request.user, pk)
        return Response(MeetingDetailSerializer(meeting).data)


class MissedQuartersView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="各大工委/大党委每季度联席会议次数与缺开季度",
        parameters=[YEAR_PARAMETER],
        responses=MeetingQuarterSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        rows = selectors.missed_quarters(request.user, year=_year(request))
        return Response(MeetingQuarterSerializer(rows, many=True).data)


class ResolutionFollowUpView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="议定事项跟进落实",
        request=ResolutionFollowUpSerializer,
        responses={200: ResolutionSerializer, 409: OpenApiResponse(description="当前状态不允许")},
    )
    def post(self, request: Request, pk: int) -> Response:
        resolution = selectors.get_resolution_for_user(request.user, pk)
        serializer = ResolutionFollowUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resolution = services.resolution_follow_up(
            actor=request.user, resolution=resolution, **serializer.validated_data
        )
        return Response(ResolutionSerializer(resolution).data)


# ---------------------------------------------------------------------------------------------
# evaluation rounds


class EvaluationItemSerializer(serializers.ModelSerializer):
    direction = _choice(EvaluationDirection.choices, read_only=True)

    class Meta:
        model = EvaluationItem
        fields = ["id", "direction", "name", "weight", "order"]
        read_only_fields = fields


class EvaluationRoundSerializer(serializers.ModelSerializer):
    node = CobuildNodeRefSerializer(read_only=True)
    status = _choice(RoundStatus.choices, read_only=True)
    items = EvaluationItemSerializer(many=True, read_only=True)

    class Meta:
        model = EvaluationRound
        fields = ["id", "node", "year", "title", "status", "items", "version"]
        read_only_fields = fields


class EvaluationRoundCreateSerializer(serializers.Serializer):
    node = ScopedField(_nodes)
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)


class EvaluationItemInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    weight = serializers.DecimalField(max_digits=5, decimal_places=2)


class EvaluationItemsInputSerializer(serializers.Serializer):
    direction = _choice(EvaluationDirection.choices)
    items = EvaluationItemInputSerializer(many=True)


class EvaluationRoundMoveSerializer(CobuildVersionSerializer):
    action = _choice(RoundAction.choices)


class EvaluationScoreSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    score = serializers.DecimalField(max_digits=5, decimal_places=2)


class EvaluationSheetSerializer(serializers.ModelSerializer):
    direction = _choice(EvaluationDirection.choices, read_only=True)
    scores = EvaluationScoreSerializer(many=True, read_only=True)

    class Meta:
        model = EvaluationSheet
        fields = [
            "id",
            "direction",
            "unit",
            "community",
            "comment",
            "total",
            "submitted_at",
            "scores",
        ]
        read_only_fields = fields


class EvaluationSheetInputSerializer(serializers.Serializer):
    direction = _choice(EvaluationDirection.choices)
    unit = serializers.PrimaryKeyRelatedField(queryset=ResidentUnit.objects.select_related("node"))
    scores = serializers.DictField(
        child=serializers.DecimalField(max_digits=5, decimal_places=2),
        help_text="评分项目编号 → 得分（0–100）",
    )
    comment = serializers.CharField(required=False, allow_blank=True)


class EvaluationResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="subject.pk")
    name = serializers.CharField(source="subject.name")
    score = serializers.DecimalField(max_digits=6, decimal_places=2)
    sheets = serializers.IntegerField()
    rank = serializers.IntegerField()


class EvaluationResultsSerializer(serializers.Serializer):
    units = EvaluationResultSerializer(many=True)
    communities = EvaluationResultSerializer(many=True)


class EvaluationAwardSerializer(serializers.ModelSerializer):
    kind = _choice(AwardKind.choices)
    unit = serializers.PrimaryKeyRelatedField(
        queryset=ResidentUnit.objects.select_related("node"), required=False, allow_null=True
    )

    class Meta:
        model = Award
        fields = ["id", "kind", "unit", "person_name", "reason"]
        read_only_fields = ["id"]


def _round(request: Request, pk: int) -> Response:
    return Response(EvaluationRoundSerializer(selectors.get_round_for_user(request.user, pk)).data)


class RoundListView(generics.ListAPIView):
    tongxin_policy = COBUILD
    serializer_class = EvaluationRoundSerializer

    def get_queryset(self) -> QuerySet[EvaluationRound]:
        if _fake(self):
            return EvaluationRound.objects.none()
        return selectors.round_list(self.request.user).prefetch_related("items")

    @extend_schema(summary="双向评议列表")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="发起年度双向评议",
        request=EvaluationRoundCreateSerializer,
        responses={201: EvaluationRoundSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = EvaluationRoundCreateSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        evaluation = services.round_create(actor=request.user, **serializer.validated_data)
        response = _round(request, evaluation.pk)
        response.status_code = status.HTTP_201_CREATED
        return response


class RoundDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="双向评议详情（评分表）", responses=EvaluationRoundSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _round(request, pk)


class RoundItemsView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="设置一个方向的评分表（权重之和须为 100）",
        request=EvaluationItemsInputSerializer,
        responses=EvaluationRoundSerializer,
    )
    def put(self, request: Request, pk: int) -> Response:
        evaluation = selectors.get_round_for_user(request.user, pk, write=True)
        serializer = EvaluationItemsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.round_set_items(
            actor=request.user,
            evaluation=evaluation,
            direction=data["direction"],
            items=[(i["name"], i["weight"]) for i in data["items"]],
        )
        return _round(request, pk)


class RoundMoveView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="评议流转（开始评分、结束评议）",
        request=EvaluationRoundMoveSerializer,
        responses={
            200: EvaluationRoundSerializer,
            409: OpenApiResponse(description="当前状态不允许"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        evaluation = selectors.get_round_for_user(request.user, pk)
        serializer = EvaluationRoundMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.round_transition(
            actor=request.user, evaluation=evaluation, **serializer.validated_data
        )
        return _round(request, pk)


class RoundSheetsView(generics.ListAPIView):
    tongxin_policy = COBUILD
    serializer_class = EvaluationSheetSerializer

    def get_queryset(self) -> QuerySet[EvaluationSheet]:
        if _fake(self):
            return EvaluationSheet.objects.none()
        evaluation = selectors.get_round_for_user(self.request.user, self.kwargs["pk"])
        return selectors.visible_sheets(self.request.user, evaluation)

    @extend_schema(summary="评分表（按权限范围）")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="提交评分",
        request=EvaluationSheetInputSerializer,
        responses={201: EvaluationSheetSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        evaluation = selectors.get_round_for_user(request.user, pk)
        serializer = EvaluationSheetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sheet = services.sheet_submit(
            actor=request.user,
            evaluation=evaluation,
            direction=data["direction"],
            unit=data["unit"],
            scores=data["scores"],
            comment=data.get("comment", ""),
        )
        return _created(EvaluationSheetSerializer(sheet).data)


class RoundResultsView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="评议结果（加权平均、排名）", responses=EvaluationResultsSerializer)
    def get(self, request: Request, pk: int) -> Response:
        evaluation = selectors.get_round_for_user(request.user, pk)
        return Response(EvaluationResultsSerializer(selectors.round_results(evaluation)).data)


class RoundAwardsView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="评选表彰结果", responses=EvaluationAwardSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        evaluation = selectors.get_round_for_user(request.user, pk)
        return Response(
            EvaluationAwardSerializer(selectors.round_awards(evaluation), many=True).data
        )

    @extend_schema(
        summary="记录表彰",
        request=EvaluationAwardSerializer,
        responses={201: EvaluationAwardSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        evaluation = selectors.get_round_for_user(request.user, pk)
        serializer = EvaluationAwardSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        award = services.award_record(
            actor=request.user, evaluation=evaluation, **serializer.validated_data
        )
        return _created(EvaluationAwardSerializer(award).data)


# ---------------------------------------------------------------------------------------------
# constraints: consultations and the unit's annual report


class CobuildConsultationSerializer(serializers.ModelSerializer):
    subject = _choice(ConsultationSubject.choices)
    opinion = _choice(ConsultationOpinion.choices)
    unit = ScopedField(_units)
    community = ScopedField(_communities, required=False)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)

    class Meta:
        model = Consultation
        fields = [
            "id",
            "unit",
            "unit_name",
            "community",
            "community_name",
            "subject",
            "about_person",
            "consulted_person",
            "opinion",
            "opinion_text",
            "consulted_on",
        ]
        read_only_fields = ["id"]


class ConsultationListView(generics.ListAPIView):
    tongxin_policy = COBUILD
    serializer_class = CobuildConsultationSerializer

    def get_queryset(self) -> QuerySet[Consultation]:
        if _fake(self):
            return Consultation.objects.none()
        return selectors.consultation_list(self.request.user)

    @extend_schema(summary="提拔/评优前征求社区意见记录")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="登记征求意见",
        request=CobuildConsultationSerializer,
        responses={201: CobuildConsultationSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = CobuildConsultationSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        record = services.consultation_record(actor=request.user, **serializer.validated_data)
        return _created(CobuildConsultationSerializer(record, context={"request": request}).data)


class ConsultationDetailView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(summary="征求意见记录详情", responses=CobuildConsultationSerializer)
    def get(self, request: Request, pk: int) -> Response:
        record = selectors.get_consultation_for_user(request.user, pk)
        return Response(CobuildConsultationSerializer(record, context={"request": request}).data)


class UnitAnnualReportSerializer(serializers.Serializer):
    unit = CobuildUnitRefSerializer()
    year = serializers.IntegerField()
    meetings_attended = serializers.IntegerField()
    meetings_invited = serializers.IntegerField()
    commitments_total = serializers.IntegerField()
    commitments_kept = serializers.IntegerField()
    commitments_confirmed = serializers.IntegerField()
    commitments_overdue = serializers.IntegerField()
    unit_commitments_total = serializers.IntegerField()
    unit_commitments_kept = serializers.IntegerField()
    kept_rate = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    members_reported = serializers.IntegerField()
    ratings = serializers.DictField(child=serializers.IntegerField())
    evaluation_score = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    evaluation_rank = serializers.IntegerField(allow_null=True)
    evaluation_of = serializers.IntegerField()
    awards = serializers.ListField(child=serializers.CharField())
    consultations = serializers.IntegerField()


class AnnualReportView(APIView):
    tongxin_policy = COBUILD

    @extend_schema(
        summary="驻区单位年度共建报告（双向约束，供单位绩效考核）",
        parameters=[YEAR_PARAMETER],
        responses=UnitAnnualReportSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        unit = selectors.get_report_unit_for_user(request.user, pk)
        report = selectors.annual_report(unit, _year(request))
        return Response(UnitAnnualReportSerializer(report).data)


urlpatterns = [
    path("agreements/", AgreementListView.as_view(), name="api-agreements"),
    path("agreements/rates/", AgreementRatesView.as_view(), name="api-agreement-rates"),
    path("agreements/<int:pk>/", AgreementDetailView.as_view(), name="api-agreement-detail"),
    path(
        "agreements/<int:pk>/transitions/",
        AgreementMoveView.as_view(),
        name="api-agreement-transitions",
    ),
    path("agreements/<int:pk>/copy/", AgreementCopyView.as_view(), name="api-agreement-copy"),
    path(
        "agreements/<int:pk>/commitments/",
        AgreementCommitmentsView.as_view(),
        name="api-agreement-commitments",
    ),
    path("commitments/<int:pk>/", CommitmentDetailView.as_view(), name="api-commitment-detail"),
    path(
        "commitments/<int:pk>/transitions/",
        CommitmentMoveView.as_view(),
        name="api-commitment-transitions",
    ),
    path("secondments/", SecondmentListView.as_view(), name="api-secondments"),
    path("secondments/<int:pk>/", SecondmentDetailView.as_view(), name="api-secondment-detail"),
    path("resources/", ResourceListView.as_view(), name="api-resources"),
    path("resources/<int:pk>/", ResourceDetailView.as_view(), name="api-resource-detail"),
    path("needs/", NeedListView.as_view(), name="api-needs"),
    path("needs/<int:pk>/", NeedDetailView.as_view(), name="api-need-detail"),
    path("needs/<int:pk>/matches/", NeedMatchesView.as_view(), name="api-need-matches"),
    path("projects/", ProjectListView.as_view(), name="api-projects"),
    path("projects/<int:pk>/", ProjectDetailView.as_view(), name="api-project-detail"),
    path(
        "projects/<int:pk>/transitions/", ProjectMoveView.as_view(), name="api-project-transitions"
    ),
    path("venues/", VenueListView.as_view(), name="api-venues"),
    path("venues/<int:pk>/", VenueDetailView.as_view(), name="api-venue-detail"),
    path("venues/<int:pk>/bookings/", VenueBookingsView.as_view(), name="api-venue-bookings"),
    path("bookings/<int:pk>/cancel/", BookingCancelView.as_view(), name="api-booking-cancel"),
    path("meetings/", MeetingListView.as_view(), name="api-meetings"),
    path("meetings/missed-quarters/", MissedQuartersView.as_view(), name="api-meeting-quarters"),
    path("meetings/<int:pk>/", MeetingDetailView.as_view(), name="api-meeting-detail"),
    path(
        "resolutions/<int:pk>/follow-up/",
        ResolutionFollowUpView.as_view(),
        name="api-resolution-follow-up",
    ),
    path("evaluations/", RoundListView.as_view(), name="api-evaluations"),
    path("evaluations/<int:pk>/", RoundDetailView.as_view(), name="api-evaluation-detail"),
    path("evaluations/<int:pk>/items/", RoundItemsView.as_view(), name="api-evaluation-items"),
    path(
        "evaluations/<int:pk>/transitions/",
        RoundMoveView.as_view(),
        name="api-evaluation-transitions",
    ),
    path("evaluations/<int:pk>/sheets/", RoundSheetsView.as_view(), name="api-evaluation-sheets"),
    path(
        "evaluations/<int:pk>/results/", RoundResultsView.as_view(), name="api-evaluation-results"
    ),
    path("evaluations/<int:pk>/awards/", RoundAwardsView.as_view(), name="api-evaluation-awards"),
    path("consultations/", ConsultationListView.as_view(), name="api-consultations"),
    path(
        "consultations/<int:pk>/",
        ConsultationDetailView.as_view(),
        name="api-consultation-detail",
    ),
    path(
        "units/<int:pk>/annual-report/", AnnualReportView.as_view(), name="api-unit-annual-report"
    ),
]

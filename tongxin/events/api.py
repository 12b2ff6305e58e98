"""REST API of events (/api/v1/events/…, /api/v1/event-categories/, /api/v1/event-departments/).

Same shape as the pages: lists from the scoped selectors, one event through
`get_event_for_user` (404 outside scope), each write one service call. Writes may carry an
`Idempotency-Key` header (core/idempotency.py): a phone retrying after a lost answer gets the
first answer back instead of a second event; moves are guarded by the `version` the client saw.
Moves are `POST /events/{id}/transitions/`; a move
the table does not allow answers 409 with the reason, a move by the wrong person 403 with who
may make it, and a stale `version` 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.db.models import QuerySet, prefetch_related_objects
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongxin.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from tongxin.core.idempotency import idempotent
from tongxin.core.policy import roles
from tongxin.events import selectors, services
from tongxin.events.models import (
    OPEN_STATES,
    Action,
    AssignmentState,
    Category,
    Department,
    DepartmentAssignment,
    Event,
    EventPhoto,
    EventTransition,
    HandlingLevel,
    Priority,
    Source,
    State,
)
from tongxin.events.rules import REPORTING_ROLES, STAFF_ROLES, available_moves
from tongxin.events.workflow import ACTIONS_NEEDING_INPUT
from tongxin.orgs.models import OrgNode

EVENTS = roles(REPORTING_ROLES)
STAFF = roles(STAFF_ROLES)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="可选。同一幂等键的重试返回首次的响应；同键不同请求体返回 422。",
)


def _choice(choices: Any, **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices, **kwargs)


def _user(field: serializers.Field) -> Any:
    return field.context["request"].user


def _fake(view: Any) -> bool:
    return getattr(view, "swagger_fake_view", False)


# ---------------------------------------------------------------------------------------------
# fields scoped to the user


@extend_schema_field(OpenApiTypes.INT)
class ActiveCategoryField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Category]:
        return Category.objects.filter(is_active=True).select_related("parent")


@extend_schema_field(OpenApiTypes.INT)
class ReportingNodeField(serializers.PrimaryKeyRelatedField):
    """A grid or community the user may file at; any other id "does not exist"."""

    def get_queryset(self) -> QuerySet[OrgNode]:
        return selectors.reporting_nodes(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class DepartmentField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Department]:
        return Department.objects.filter(is_active=True)


@extend_schema_field(OpenApiTypes.INT)
class VisibleEventField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Event]:
        return selectors.visible_events(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class FilterNodeField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[OrgNode]:
        return selectors.filter_nodes(_user(self))


# ---------------------------------------------------------------------------------------------
# output


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = [
            "id",
            "code",
            "name",
            "parent",
            "description",
            "days_grid",
            "days_community",
            "days_street",
            "days_department",
        ]
        read_only_fields = fields


class DepartmentSerializer(serializers.ModelSerializer):
    streets = serializers.SerializerMethodField(label=_("派驻街道"))

    class Meta:
        model = Department
        fields = ["id", "name", "short_name", "duties", "streets"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_streets(self, department: Department) -> list[int]:
        return [s.street_id for s in department.stations.all()]


class EventNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField()


class EventListSerializer(serializers.ModelSerializer):
    source = _choice(Source.choices, read_only=True)
    priority = _choice(Priority.choices, read_only=True)
    state = _choice(State.choices, read_only=True)
    level = _choice(HandlingLevel.choices, read_only=True)
    category_name = serializers.CharField(source="category.full_name", read_only=True)
    node = EventNodeSerializer(read_only=True)
    handling_node = EventNodeSerializer(read_only=True)
    is_overdue = serializers.SerializerMethodField(label=_("已超时"))
    seconds_left = serializers.SerializerMethodField(label=_("剩余秒数"))

    class Meta:
        model = Event
        fields = [
            "id",
            "source",
            "category",
            "category_name",
            "priority",
            "state",
            "level",
            "node",
            "handling_node",
            "outside_grid",
            "description",
            "address",
            "lng",
            "lat",
            "deadline",
            "is_overdue",
            "seconds_left",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields

    def get_is_overdue(self, event: Event) -> bool:
        return bool(event.state in OPEN_STATES and event.deadline and event.deadline < _now(self))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_seconds_left(self, event: Event) -> int | None:
        if event.deadline is None:
            return None
        return int((event.deadline - _now(self)).total_seconds())


def _now(field: serializers.Field) -> dt.datetime:
    context = field.context
    if "now" not in context:
        context["now"] = timezone.now()
    return context["now"]


class TransitionSerializer(serializers.ModelSerializer):
    action = _choice(Action.choices, read_only=True)
    from_state = _choice([("", "—"), *State.choices], read_only=True)
    to_state = _choice(State.choices, read_only=True)
    from_level = _choice([("", "—"), *HandlingLevel.choices], read_only=True)
    to_level = _choice(HandlingLevel.choices, read_only=True)
    action_label = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = EventTransition
        fields = [
            "at",
            "actor_name",
            "action",
            "action_label",
            "from_state",
            "to_state",
            "from_level",
            "to_level",
            "note",
            "data",
        ]
        read_only_fields = fields


class AssignmentSerializer(serializers.ModelSerializer):
    state = _choice(AssignmentState.choices, read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)

    class Meta:
        model = DepartmentAssignment
        fields = [
            "department",
            "department_name",
            "state",
            "deadline",
            "whistled_at",
            "acknowledged_at",
            "handled_at",
            "result",
        ]
        read_only_fields = fields


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = EventPhoto
        fields = ["id", "url", "content_type", "size", "uploaded_at"]
        read_only_fields = fields

    def get_url(self, photo: EventPhoto) -> str:
        return reverse("events:photo", args=[photo.pk])


class AllowedActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    needs_input = serializers.BooleanField()


class EventDetailSerializer(EventListSerializer):
    reporter_name = serializers.CharField(read_only=True)
    resolved_level = _choice([("", "—"), *HandlingLevel.choices], read_only=True)
    reporter_phone = serializers.SerializerMethodField(label=_("联系电话（脱敏）"))
    history = TransitionSerializer(source="transitions", many=True, read_only=True)
    assignments = AssignmentSerializer(many=True, read_only=True)
    photos = PhotoSerializer(many=True, read_only=True)
    allowed_actions = serializers.SerializerMethodField(label=_("当前用户可执行的操作"))

    class Meta(EventListSerializer.Meta):
        fields = [
            *EventListSerializer.Meta.fields,
            "reporter_name",
            "reporter_phone",
            "resolved_level",
            "resolved_at",
            "closed_at",
            "score",
            "rating_comment",
            "duplicate_of",
            "history",
            "assignments",
            "photos",
            "allowed_actions",
        ]
        read_only_fields = fields

    def get_reporter_phone(self, event: Event) -> str:
        return str(event.reporter_phone)

    @extend_schema_field(AllowedActionSerializer(many=True))
    def get_allowed_actions(self, event: Event) -> list[dict[str, Any]]:
        user = self.context["request"].user
        return [
            {
                "action": m.action,
                "label": str(Action(m.action).label),
                "needs_input": m.action in ACTIONS_NEEDING_INPUT,
            }
            for m in available_moves(user, event)
        ]


# ---------------------------------------------------------------------------------------------
# input


class EventCreateSerializer(serializers.Serializer):
    category = ActiveCategoryField(label=_("分类"))
    description = serializers.CharField(label=_("事件描述"), max_length=2000)
    source = _choice(Source.choices, label=_("来源"), default=Source.RESIDENT)
    priority = _choice(Priority.choices, label=_("紧急程度"), default=Priority.LOW)
    lng = serializers.FloatField(
        label=_("经度（WGS-84）"), required=False, allow_null=True, min_value=-180, max_value=180
    )
    lat = serializers.FloatField(
        label=_("纬度（WGS-84）"), required=False, allow_null=True, min_value=-90, max_value=90
    )
    crs = serializers.ChoiceField(
        label=_("坐标系"),
        choices=[("wgs84", "WGS-84"), ("gcj02", "GCJ-02"), ("bd09", "BD-09")],
        default="wgs84",
        help_text=_("手机定位为 WGS-84；高德、腾讯地图为 GCJ-02；百度地图为 BD-09"),
    )
    address = serializers.CharField(
        label=_("地址"), max_length=200, required=False, allow_blank=True
    )
    node = ReportingNodeField(
        label=_("网格或社区"),
        required=False,
        allow_null=True,
        help_text=_("点位不在任何网格内或没有点位时使用"),
    )
    reporter_name = serializers.CharField(
        label=_("报告人姓名"),
        max_length=50,
        required=False,
        allow_blank=True,
        help_text=_("工作人员代无账号的群众登记时填写"),
    )
    reporter_phone = serializers.CharField(
        label=_("报告人电话"), max_length=20, required=False, allow_blank=True
    )
    photos = serializers.ListField(
        label=_("照片"), child=serializers.FileField(), required=False, max_length=20
    )


class TransitionInputSerializer(serializers.Serializer):
    action = _choice([c for c in Action.choices if c[0] != Action.REPORT], label=_("操作"))
    note = serializers.CharField(label=_("说明"), max_length=500, required=False, allow_blank=True)
    departments = serializers.ListField(
        label=_("吹哨部门"), child=DepartmentField(), required=False, max_length=20
    )
    department = DepartmentField(
        label=_("以哪个部门办理"), required=False, allow_null=True, help_text=_("报到/处置时")
    )
    score = serializers.IntegerField(label=_("评分"), min_value=1, max_value=5, required=False)
    duplicate_of = VisibleEventField(label=_("合并至事件"), required=False, allow_null=True)
    version = serializers.IntegerField(label=_("版本号"), min_value=1, required=False)


class SimilarQuerySerializer(serializers.Serializer):
    lng = serializers.FloatField(label=_("经度"), min_value=-180, max_value=180)
    lat = serializers.FloatField(label=_("纬度"), min_value=-90, max_value=90)
    category = ActiveCategoryField(label=_("分类"))
    exclude = serializers.IntegerField(label=_("排除的事件"), required=False)


class SimilarEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text=_("仅当可以查看该事件时提供"))
    category_name = serializers.CharField()
    state = _choice(State.choices)
    distance_m = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    description = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)


class StatsQuerySerializer(serializers.Serializer):
    node = FilterNodeField(label=_("范围"), required=False, allow_null=True)
    since = serializers.DateField(label=_("起始日期"), required=False)
    until = serializers.DateField(label=_("截止日期"), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and until < since:
            raise serializers.ValidationError({"until": _("截止日期不能早于起始日期。")})
        return attrs


class CategoryCountSerializer(serializers.Serializer):
    category = serializers.CharField()
    name = serializers.CharField()
    total = serializers.IntegerField()
    states = serializers.DictField(child=serializers.IntegerField())


class StateCountSerializer(serializers.Serializer):
    state = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class LevelShareSerializer(serializers.Serializer):
    level = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)


class MeasuresSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_category = CategoryCountSerializer(many=True)
    by_state = StateCountSerializer(many=True)
    resolved = serializers.IntegerField()
    resolved_by_level = LevelShareSerializer(many=True)
    on_time = serializers.IntegerField()
    on_time_rate = serializers.FloatField(allow_null=True)
    rated = serializers.IntegerField()
    average_score = serializers.FloatField(allow_null=True)
    open_now = serializers.IntegerField()
    overdue_now = serializers.IntegerField()


# ---------------------------------------------------------------------------------------------
# list filters


class EventFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label=_("状态"), choices=State.choices)
    level = django_filters.ChoiceFilter(label=_("处置层级"), choices=HandlingLevel.choices)
    source = django_filters.ChoiceFilter(label=_("来源"), choices=Source.choices)
    category = django_filters.ModelChoiceFilter(
        label=_("分类（含子类）"), queryset=Category.objects.all(), method="filter_category"
    )
    overdue = django_filters.BooleanFilter(label=_("仅超时"), method="filter_overdue")
    node = django_filters.NumberFilter(label=_("范围（节点编号，含下级）"), method="filter_node")
    q = django_filters.CharFilter(label=_("关键词"), method="filter_q")
    since = django_filters.DateFilter(label=_("上报起始日期"), method="filter_since")
    until = django_filters.DateFilter(label=_("上报截止日期"), method="filter_until")

    class Meta:
        model = Event
        fields: list[str] = []

    def _narrow(self, queryset: QuerySet[Event], **kwargs: Any) -> QuerySet[Event]:
        return selectors.apply_filters(queryset, selectors.EventFilters(**kwargs))

    def filter_category(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet:
        return self._narrow(queryset, category=value) if value else queryset

    def filter_overdue(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        return (
            queryset.filter(selectors.overdue_q())
            if value
            else queryset.exclude(selectors.overdue_q())
        )

    def filter_node(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        node = selectors.filter_nodes(self.request.user).filter(pk=value).first()
        # A node outside the user's scope narrows to nothing rather than revealing it exists.
        return self._narrow(queryset, node=node) if node else queryset.none()

    def filter_q(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet:
        return self._narrow(queryset, query=value) if value else queryset

    def filter_since(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet:
        return self._narrow(queryset, since=value) if value else queryset

    def filter_until(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet:
        return self._narrow(queryset, until=value) if value else queryset


# ---------------------------------------------------------------------------------------------
# views


def _detail(request: Request, event: Event, *, status_code: int = 200) -> Response:
    fresh = selectors.get_event_for_user(request.user, event.pk)
    data = EventDetailSerializer(fresh, context={"request": request}).data
    headers = {"Location": reverse("api-event-detail", args=[fresh.pk])}
    return Response(data, status=status_code, headers=headers if status_code == 201 else None)


def _created(request: Request, event: Event) -> Response:
    """The new event's detail, from the instance `event_report` returned.

    Its category (with parent), grid, handling node and reporter are loaded already; only its
    history, photos and (no) assignments are read, instead of fetching the event again through
    the scoped selector — the largest single cost of a report (bench/bench_events.py).
    """
    prefetch_related_objects([event], *selectors.DETAIL_PREFETCH)
    data = EventDetailSerializer(event, context={"request": request}).data
    headers = {"Location": reverse("api-event-detail", args=[event.pk])}
    return Response(data, status=status.HTTP_201_CREATED, headers=headers)


class EventCursorPagination(CursorPagination):
    """Newest first by (created_at, id), page after page from an opaque cursor.

    Each page is one range of the created_at index however deep it is, and there is no
    COUNT(*) over the user's scope: at a million events that count alone costs more than the
    50 ms a list may take (bench/bench_events.py). Answers {next, previous, results}.
    """

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200


class EventListCreateView(generics.ListAPIView):
    """GET: the events the user may see, newest first. POST: report an event."""

    tongxin_policy = EVENTS
    serializer_class = EventListSerializer
    filterset_class = EventFilter
    pagination_class = EventCursorPagination

    def get_queryset(self) -> QuerySet[Event]:
        if _fake(self):
            return Event.objects.none()
        return selectors.event_list(self.request.user)

    @extend_schema(summary="事件列表（按权限范围）")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="上报事件",
        request={
            "application/json": EventCreateSerializer,
            "multipart/form-data": EventCreateSerializer,
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: EventDetailSerializer,
            422: OpenApiResponse(description="幂等键已用于不同请求"),
        },
    )
    def post(self, request: Request) -> Response:
        def produce() -> Response:
            serializer = EventCreateSerializer(data=request.data, context={"request": request})
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            event = services.event_report(
                actor=request.user,
                category=data["category"],
                description=data["description"],
                source=data["source"],
                priority=data["priority"],
                lng=data.get("lng"),
                lat=data.get("lat"),
                address=data.get("address", ""),
                node=data.get("node"),
                reporter_name=data.get("reporter_name", ""),
                reporter_phone=data.get("reporter_phone", ""),
                photos=data.get("photos", []),
                crs=data["crs"],
            )
            return _created(request, event)

        return idempotent(request, scope="events.create", produce=produce)


class EventDetailView(APIView):
    tongxin_policy = EVENTS

    @extend_schema(summary="事件详情（含流转记录）", responses=EventDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        event = selectors.get_event_for_user(request.user, pk)
        return Response(EventDetailSerializer(event, context={"request": request}).data)


class EventTransitionView(APIView):
    """One move. Retries are guarded by `version`, not by an Idempotency-Key: a repeated move
    finds the event moved on (409), and a refused move must leave its audit record, which a
    rolled-back idempotency transaction would take with it."""

    tongxin_policy = EVENTS

    @extend_schema(
        summary="事件流转（受理、上报、吹哨、报到、处置、办结、退回、不予受理、合并、评价、结案）",
        request=TransitionInputSerializer,
        responses={
            200: EventDetailSerializer,
            403: OpenApiResponse(description="不是该操作的执行人"),
            409: OpenApiResponse(description="当前状态不允许该操作，或版本已过期"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        event = selectors.get_event_for_user(request.user, pk)
        serializer = TransitionInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        moved = services.event_transition(
            actor=request.user,
            event=event,
            action=data["action"],
            note=data.get("note", ""),
            departments=data.get("departments"),
            department=data.get("department"),
            score=data.get("score"),
            version=data.get("version"),
            duplicate_of=data.get("duplicate_of"),
        )
        return _detail(request, moved)


class SimilarEventsView(APIView):
    tongxin_policy = EVENTS

    @extend_schema(
        summary="附近的同类未办结事件（疑似重复）",
        parameters=[SimilarQuerySerializer],
        responses=SimilarEventSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = SimilarQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        hits = selectors.similar_events(
            request.user,
            lng=data["lng"],
            lat=data["lat"],
            category=data["category"],
            exclude=data.get("exclude"),
        )
        rows = [
            {
                "id": hit.event.pk if hit.visible else None,
                "category_name": hit.event.category.full_name,
                "state": hit.event.state,
                "distance_m": hit.distance_m,
                "created_at": hit.event.created_at,
                "description": hit.event.description if hit.visible else "",
                "address": hit.event.address if hit.visible else "",
            }
            for hit in hits
        ]
        return Response(SimilarEventSerializer(rows, many=True).data)


class EventStatsView(APIView):
    tongxin_policy = STAFF

    @extend_schema(
        summary="事件统计：分类与状态、各层级办结占比、按时办结率、满意度",
        parameters=[StatsQuerySerializer],
        responses=MeasuresSerializer,
    )
    def get(self, request: Request) -> Response:
        query = StatsQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        measures = selectors.event_measures(
            request.user, node=data.get("node"), since=data.get("since"), until=data.get("until")
        )
        return Response(MeasuresSerializer(measures).data)


class CategoryListView(generics.ListAPIView):
    tongxin_policy = EVENTS
    serializer_class = CategorySerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Category]:
        return selectors.active_categories()

    @extend_schema(summary="事件分类（含子类与办理时限）")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DepartmentListView(generics.ListAPIView):
    tongxin_policy = EVENTS
    serializer_class = DepartmentSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Department]:
        return Department.objects.filter(is_active=True).prefetch_related("stations")

    @extend_schema(summary="职能部门及其派驻街道")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("events/", EventListCreateView.as_view(), name="api-events"),
    path("events/similar/", SimilarEventsView.as_view(), name="api-event-similar"),
    path("events/stats/", EventStatsView.as_view(), name="api-event-stats"),
    path("events/<int:pk>/", EventDetailView.as_view(), name="api-event-detail"),
    path(
        "events/<int:pk>/transitions/", EventTransitionView.as_view(), name="api-event-transitions"
    ),
    path("event-categories/", CategoryListView.as_view(), name="api-event-categories"),
    path("event-departments/", DepartmentListView.as_view(), name="api-event-departments"),
]

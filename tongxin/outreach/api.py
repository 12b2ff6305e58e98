"""REST API of the services to residents (/api/v1/wishes/, orders/, activities/, hours-claims/,
service-hours/, service-points/).

Same shape as the pages: lists from the scoped selectors, one object through
`get_<x>_for_user` (404 outside scope), each write one service call. A move the table does not
allow answers 409 with the reason; the losers of a claim or take race answer 409 "该心愿已被他人
认领" / "该服务单已被接单"; a move by the wrong person 403. Creations from a phone (a wish, an
order, a sign-up, an hours claim) accept an `Idempotency-Key`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
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
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongxin.accounts.models import MANAGING_ROLES
from tongxin.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from tongxin.core.idempotency import idempotent
from tongxin.core.policy import roles
from tongxin.grids.geo import CRS_ENUM
from tongxin.orgs.models import Level, OrgNode
from tongxin.outreach import selectors, services
from tongxin.outreach.models import (
    Activity,
    HoursClaim,
    HoursClaimAction,
    HoursClaimState,
    HoursEntry,
    HoursSource,
    OrderAction,
    OrderKind,
    OrderState,
    ServiceOrder,
    ServicePoint,
    ServicePointKind,
    Signup,
    SignupAction,
    SignupState,
    Wish,
    WishAction,
    WishCategory,
    WishState,
)
from tongxin.outreach.rules import OUTREACH_ROLES, available_moves, manages

OUTREACH = roles(OUTREACH_ROLES)
MANAGERS = roles(MANAGING_ROLES)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="可选。同一幂等键的重试返回首次的响应；同键不同请求体返回 422。",
)
MOVE_RESPONSES = {
    403: OpenApiResponse(description="不是该操作的执行人"),
    404: OpenApiResponse(description="不存在或不在权限范围内"),
    409: OpenApiResponse(description="当前状态不允许该操作，或已被他人认领/接单"),
}


def _fake(view: Any) -> bool:
    return getattr(view, "swagger_fake_view", False)


def _user(field: serializers.Field) -> Any:
    return field.context["request"].user


def _moves(serializer: serializers.Serializer, obj: Any) -> list[str]:
    request = serializer.context.get("request")
    return [m.action for m in available_moves(request.user, obj)] if request else []


# ---------------------------------------------------------------------------------------------
# wishes


class WishSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=WishState.choices, read_only=True)
    category = serializers.ChoiceField(choices=WishCategory.choices, read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    poster_name = serializers.SerializerMethodField(label=_("心愿人"))
    has_photo = serializers.SerializerMethodField(label=_("有照片"))
    moves = serializers.SerializerMethodField(label=_("可执行的操作"))

    class Meta:
        model = Wish
        fields = [
            "id",
            "community",
            "community_name",
            "title",
            "description",
            "category",
            "state",
            "poster_name",
            "has_photo",
            "decline_reason",
            "claimant_name",
            "claimed_at",
            "evidence",
            "fulfilled_at",
            "confirmed_at",
            "created_at",
            "version",
            "moves",
        ]
        read_only_fields = fields

    def get_poster_name(self, wish: Wish) -> str:
        user = self.context["request"].user
        if wish.poster_id == user.pk or manages(user, wish.community.path):
            return wish.poster_name
        return selectors.mask_name(wish.poster_name)

    def get_has_photo(self, wish: Wish) -> bool:
        return bool(wish.photo)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_moves(self, wish: Wish) -> list[str]:
        return _moves(self, wish)


class WishCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=60, label=_("心愿"))
    description = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )
    category = serializers.ChoiceField(choices=WishCategory.choices, default=WishCategory.DAILY)
    photo = serializers.FileField(required=False, allow_null=True, label=_("照片"))


class VetSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[("approve", _("通过")), ("decline", _("不通过"))], label=_("审核结果")
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class FulfilSerializer(serializers.Serializer):
    evidence = serializers.CharField(max_length=500, label=_("兑现说明"))
    photo = serializers.FileField(required=False, allow_null=True, label=_("兑现照片"))


class ConfirmSerializer(serializers.Serializer):
    fulfilled = serializers.BooleanField(default=True, label=_("已兑现"))
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class WishListCreateView(generics.ListAPIView):
    """GET: the wishes the user may see (`?wall=1`: the community's public wall). POST: post one."""

    tongxin_policy = OUTREACH
    serializer_class = WishSerializer

    def get_queryset(self) -> QuerySet[Wish]:
        if _fake(self):
            return Wish.objects.none()
        user = self.request.user
        if self.request.query_params.get("wall"):
            queryset = selectors.wish_wall(user)
        else:
            queryset = selectors.visible_wishes(user).order_by("-created_at", "-id")
        state = self.request.query_params.get("state")
        if state:
            queryset = queryset.filter(state=state)
        return queryset

    @extend_schema(
        summary="心愿列表（按权限范围）",
        parameters=[
            OpenApiParameter("wall", OpenApiTypes.BOOL, description="只看本社区心愿墙"),
            OpenApiParameter("state", OpenApiTypes.STR, enum=WishState.values),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="发布微心愿",
        request={
            "application/json": WishCreateSerializer,
            "multipart/form-data": WishCreateSerializer,
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: WishSerializer, 422: OpenApiResponse(description="幂等键已用于不同请求")},
    )
    def post(self, request: Request) -> Response:
        def produce() -> Response:
            serializer = WishCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            wish = services.wish_post(
                actor=request.user,
                title=data["title"],
                description=data.get("description", ""),
                category=data["category"],
                photo=data.get("photo"),
            )
            return _wish_answer(request, wish, status.HTTP_201_CREATED)

        return idempotent(request, scope="outreach.wish.post", produce=produce)


def _wish_answer(request: Request, wish: Wish, code: int = 200) -> Response:
    fresh = selectors.get_wish_for_user(request.user, wish.pk)
    headers = {"Location": reverse("api-wish-detail", args=[fresh.pk])} if code == 201 else None
    return Response(WishSerializer(fresh, context={"request": request}).data, code, headers=headers)


class WishDetailView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(summary="心愿详情", responses=WishSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _wish_answer(request, selectors.get_wish_for_user(request.user, pk))


class WishVetView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(
        summary="审核心愿（通过 / 不通过并说明原因）",
        request=VetSerializer,
        responses={200: WishSerializer, **MOVE_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        wish = selectors.get_wish_for_user(request.user, pk)
        serializer = VetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        action = WishAction.APPROVE if data["decision"] == "approve" else WishAction.DECLINE
        moved = services.wish_transition(
            actor=request.user, wish=wish, action=action, note=data["reason"]
        )
        return _wish_answer(request, moved)


class WishClaimView(APIView):
    """认领. Many members claiming at once: exactly one 200, the rest 409 "该心愿已被他人认领"."""

    tongxin_policy = OUTREACH

    @extend_schema(
        summary="认领心愿", request=None, responses={200: WishSerializer, **MOVE_RESPONSES}
    )
    def post(self, request: Request, pk: int) -> Response:
        wish = selectors.get_wish_for_user(request.user, pk)
        moved = services.wish_transition(actor=request.user, wish=wish, action=WishAction.CLAIM)
        return _wish_answer(request, moved)


class WishFulfilView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(
        summary="兑现心愿（说明与照片）",
        request={"application/json": FulfilSerializer, "multipart/form-data": FulfilSerializer},
        responses={200: WishSerializer, **MOVE_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        wish = selectors.get_wish_for_user(request.user, pk)
        serializer = FulfilSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        moved = services.wish_transition(
            actor=request.user,
            wish=wish,
            action=WishAction.FULFIL,
            evidence=data["evidence"],
            evidence_photo=data.get("photo"),
        )
        return _wish_answer(request, moved)


class WishConfirmView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(
        summary="心愿人确认圆梦（fulfilled=false：反馈未兑现，退回认领人）",
        request=ConfirmSerializer,
        responses={200: WishSerializer, **MOVE_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        wish = selectors.get_wish_for_user(request.user, pk)
        serializer = ConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        action = WishAction.CONFIRM if data["fulfilled"] else WishAction.DISPUTE
        moved = services.wish_transition(
            actor=request.user, wish=wish, action=action, note=data["note"]
        )
        return _wish_answer(request, moved)


class WishWithdrawView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(
        summary="撤回心愿", request=None, responses={200: WishSerializer, **MOVE_RESPONSES}
    )
    def post(self, request: Request, pk: int) -> Response:
        wish = selectors.get_wish_for_user(request.user, pk)
        moved = services.wish_transition(actor=request.user, wish=wish, action=WishAction.WITHDRAW)
        return _wish_answer(request, moved)


class WishCountsSerializer(serializers.Serializer):
    community_id = serializers.IntegerField()
    community = serializers.CharField()
    posted = serializers.IntegerField()
    approved = serializers.IntegerField()
    claimed = serializers.IntegerField()
    fulfilled = serializers.IntegerField()
    confirmed = serializers.IntegerField()


class WishStatsView(APIView):
    tongxin_policy = MANAGERS

    @extend_schema(
        summary="心愿统计（按社区与时段：发布、认领、兑现、圆梦）",
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="起始日期（含），默认本年初"),
            OpenApiParameter("until", OpenApiTypes.DATE, description="截止日期（含），默认今天"),
        ],
        responses=WishCountsSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        since, until = _period(request)
        rows = selectors.wish_counts(request.user, since=since, until=until)
        return Response(WishCountsSerializer([r.__dict__ for r in rows], many=True).data)


def _period(request: Request) -> tuple[Any, Any]:
    import datetime as dt

    field = serializers.DateField()
    today = timezone.localdate()
    try:
        since = field.to_internal_value(request.query_params.get("since") or f"{today.year}-01-01")
        until = field.to_internal_value(request.query_params.get("until") or str(today))
    except serializers.ValidationError as exc:
        raise DRFValidationError({"since": exc.detail}) from None
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(dt.datetime.combine(since, dt.time()), tz)
    end = timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()), tz)
    return start, end


# ---------------------------------------------------------------------------------------------
# orders


class OrderSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=OrderKind.choices, read_only=True)
    state = serializers.ChoiceField(choices=OrderState.choices, read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    taken_by_name = serializers.SerializerMethodField(label=_("接单人"))
    moves = serializers.SerializerMethodField(label=_("可执行的操作"))

    class Meta:
        model = ServiceOrder
        fields = [
            "id",
            "community",
            "community_name",
            "kind",
            "description",
            "address",
            "wanted_at",
            "state",
            "recipient_name",
            "on_behalf",
            "taken_by_name",
            "taken_at",
            "result",
            "completed_at",
            "score",
            "rating_comment",
            "rated_at",
            "created_at",
            "version",
            "moves",
        ]
        read_only_fields = fields

    def get_taken_by_name(self, order: ServiceOrder) -> str:
        return str(order.taken_by) if order.taken_by_id else ""

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_moves(self, order: ServiceOrder) -> list[str]:
        return _moves(self, order)


@extend_schema_field(OpenApiTypes.INT)
class OnBehalfPersonField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Any]:
        return selectors.on_behalf_candidates(_user(self))


class OrderCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=OrderKind.choices, label=_("服务类别"))
    description = serializers.CharField(max_length=500, label=_("服务需求"))
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    wanted_at = serializers.DateTimeField(required=False, allow_null=True)
    recipient_person = OnBehalfPersonField(
        required=False, allow_null=True, label=_("代为下单的服务对象（社区）")
    )


class RateSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5, label=_("满意度"))
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class OrderListCreateView(generics.ListAPIView):
    """GET: orders the user may see (`?takeable=1`: waiting for the user to take). POST: 下单."""

    tongxin_policy = OUTREACH
    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[ServiceOrder]:
        if _fake(self):
            return ServiceOrder.objects.none()
        user = self.request.user
        if self.request.query_params.get("takeable"):
            return selectors.takeable_orders(user).select_related("placed_by", "taken_by")
        return (
            selectors.visible_orders(user)
            .select_related("placed_by", "taken_by", "recipient")
            .order_by("-created_at", "-id")
        )

    @extend_schema(
        summary="服务订单列表（按权限范围）",
        parameters=[OpenApiParameter("takeable", OpenApiTypes.BOOL, description="只看可接的单")],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="下单（居民为自己；社区为党组织或为特殊群体代下单）",
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: OrderSerializer, 422: OpenApiResponse(description="幂等键已用于不同请求")},
    )
    def post(self, request: Request) -> Response:
        def produce() -> Response:
            serializer = OrderCreateSerializer(data=request.data, context={"request": request})
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            order = services.order_place(
                actor=request.user,
                kind=data["kind"],
                description=data["description"],
                address=data.get("address", ""),
                wanted_at=data.get("wanted_at"),
                recipient_person=data.get("recipient_person"),
            )
            return _order_answer(request, order, status.HTTP_201_CREATED)

        return idempotent(request, scope="outreach.order.place", produce=produce)


def _order_answer(request: Request, order: ServiceOrder, code: int = 200) -> Response:
    fresh = selectors.get_order_for_user(request.user, order.pk)
    headers = {"Location": reverse("api-order-detail", args=[fresh.pk])} if code == 201 else None
    return Response(
        OrderSerializer(fresh, context={"request": request}).data, code, headers=headers
    )


class OrderDetailView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(summary="服务订单详情", responses=OrderSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _order_answer(request, selectors.get_order_for_user(request.user, pk))


def _order_move_view(action: str, summary: str, body: type[serializers.Serializer] | None):
    class View(APIView):
        tongxin_policy = OUTREACH

        @extend_schema(
            summary=summary, request=body, responses={200: OrderSerializer, **MOVE_RESPONSES}
        )
        def post(self, request: Request, pk: int) -> Response:
            if action == OrderAction.TAKE:
                order = selectors.get_order_to_take(request.user, pk)
            else:
                order = selectors.get_order_for_user(request.user, pk)
            data: dict[str, Any] = {}
            if body is not None:
                serializer = body(data=request.data)
                serializer.is_valid(raise_exception=True)
                data = dict(serializer.validated_data)
            moved = services.order_transition(
                actor=request.user,
                order=order,
                action=action,
                note=data.get("note", data.get("comment", "")),
                score=data.get("score"),
            )
            return _order_answer(request, moved)

    View.__name__ = View.__qualname__ = f"Order{action.title()}View"
    return View


OrderTakeView = _order_move_view(
    OrderAction.TAKE, "接单（同时接单时只有一人成功，其余 409「已被接单」）", None
)
OrderReleaseView = _order_move_view(OrderAction.RELEASE, "退单（重新待接单）", None)
OrderCompleteView = _order_move_view(OrderAction.COMPLETE, "完成服务", NoteSerializer)
OrderRateView = _order_move_view(OrderAction.RATE, "回单评价（1–5 分）", RateSerializer)
OrderCancelView = _order_move_view(OrderAction.CANCEL, "取消订单", NoteSerializer)


# ---------------------------------------------------------------------------------------------
# activities


class SignupSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=SignupState.choices, read_only=True)
    hours = serializers.SerializerMethodField(label=_("认定时长"))
    points = serializers.SerializerMethodField(label=_("积分"))

    class Meta:
        model = Signup
        fields = [
            "id",
            "activity",
            "name",
            "state",
            "signed_up_at",
            "checked_in_at",
            "checked_out_at",
            "hours",
            "points",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True))
    def get_hours(self, signup: Signup) -> Any:
        credit = getattr(signup, "credit", None)
        return credit.hours if credit is not None else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_points(self, signup: Signup) -> int | None:
        credit = getattr(signup, "credit", None)
        return credit.points if credit is not None else None


class ActivitySerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True, default="")
    post_name = serializers.CharField(source="post.name", read_only=True, default="")
    places_left = serializers.IntegerField(read_only=True)
    checkin_code = serializers.SerializerMethodField(label=_("签到码（组织者可见）"))

    class Meta:
        model = Activity
        fields = [
            "id",
            "community",
            "community_name",
            "team",
            "team_name",
            "post",
            "post_name",
            "rule",
            "title",
            "description",
            "place",
            "occurs_on",
            "starts_at",
            "ends_at",
            "capacity",
            "signup_count",
            "places_left",
            "points_per_hour",
            "state",
            "checkin_code",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_checkin_code(self, activity: Activity) -> str | None:
        # The code proves presence: only the organizers see it (they show it in the hall).
        user = self.context["request"].user
        return activity.checkin_code if manages(user, activity.community.path) else None


@extend_schema_field(OpenApiTypes.INT)
class ManagedCommunityField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[OrgNode]:
        from tongxin.core.scoping import subtree_q

        return OrgNode.objects.filter(
            subtree_q(selectors.managed_paths(_user(self))),
            level=Level.COMMUNITY,
            closed_at__isnull=True,
        )


class ActivityCreateSerializer(serializers.Serializer):
    community = ManagedCommunityField(label=_("社区"))
    title = serializers.CharField(max_length=80)
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    place = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(min_value=1, max_value=10000)
    points_per_hour = serializers.IntegerField(min_value=0, max_value=100, default=10)


class ActivityListCreateView(generics.ListAPIView):
    """GET: upcoming activities of the user's communities (`?all=1`: past ones too).
    POST: publish one (community admins)."""

    tongxin_policy = OUTREACH
    serializer_class = ActivitySerializer

    def get_queryset(self) -> QuerySet[Activity]:
        if _fake(self):
            return Activity.objects.none()
        if self.request.query_params.get("all"):
            return selectors.visible_activities(self.request.user).order_by("-starts_at", "-id")
        return selectors.upcoming_activities(self.request.user, timezone.now())

    @extend_schema(
        summary="志愿活动列表",
        parameters=[OpenApiParameter("all", OpenApiTypes.BOOL, description="含已结束的活动")],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="发布志愿活动（社区管理员）",
        request=ActivityCreateSerializer,
        responses={201: ActivitySerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ActivityCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        activity = services.activity_create(actor=request.user, **serializer.validated_data)
        data = ActivitySerializer(activity, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ActivityDetailView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(summary="志愿活动详情", responses=ActivitySerializer)
    def get(self, request: Request, pk: int) -> Response:
        activity = selectors.get_activity_for_user(request.user, pk)
        return Response(ActivitySerializer(activity, context={"request": request}).data)


class ActivitySignUpView(APIView):
    """报名. Never more sign-ups than places: the losers of the last place get 409 "名额已满"."""

    tongxin_policy = OUTREACH

    @extend_schema(
        summary="报名志愿活动",
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: SignupSerializer, **MOVE_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        activity = selectors.get_activity_for_user(request.user, pk)

        def produce() -> Response:
            signup = services.activity_sign_up(actor=request.user, activity=activity)
            return Response(SignupSerializer(signup).data, status=status.HTTP_201_CREATED)

        return idempotent(
            request,
            scope="outreach.activity.sign_up",
            produce=produce,
            fingerprint_parts=[activity.pk],
        )


class SignupRef(serializers.Serializer):
    signup = serializers.IntegerField(
        required=False, allow_null=True, label=_("报名编号（组织者代为操作时填写）")
    )


class CheckInSerializer(SignupRef):
    code = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")


def _signup_for(request: Request, activity: Activity, signup_id: int | None) -> Signup:
    from django.http import Http404

    if signup_id:
        signup = selectors.get_signup_for_user(request.user, signup_id)
        if signup.activity_id != activity.pk:
            raise Http404
        return signup
    signup = selectors.my_signup(request.user, activity)
    if signup is None:
        raise DRFValidationError({"signup": [_("您尚未报名该活动。")]})
    return signup


def _signup_move_view(action: str, summary: str, body: type[serializers.Serializer]):
    class View(APIView):
        tongxin_policy = OUTREACH

        @extend_schema(
            summary=summary, request=body, responses={200: SignupSerializer, **MOVE_RESPONSES}
        )
        def post(self, request: Request, pk: int) -> Response:
            activity = selectors.get_activity_for_user(request.user, pk)
            serializer = body(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            signup = _signup_for(request, activity, data.get("signup"))
            moved = services.signup_transition(
                actor=request.user, signup=signup, action=action, code=data.get("code", "")
            )
            return Response(SignupSerializer(moved).data)

    View.__name__ = View.__qualname__ = f"Signup{action.title().replace('_', '')}View"
    return View


ActivityCheckInView = _signup_move_view(
    SignupAction.CHECK_IN, "签到（本人凭签到码；组织者可代签）", CheckInSerializer
)
ActivityCheckOutView = _signup_move_view(
    SignupAction.CHECK_OUT, "签退（计入服务时长与积分）", SignupRef
)
ActivityCancelSignUpView = _signup_move_view(SignupAction.CANCEL, "取消报名", SignupRef)


class ActivitySignupsView(generics.ListAPIView):
    """The sign-ups of one activity: for its organizers."""

    tongxin_policy = MANAGERS
    serializer_class = SignupSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Signup]:
        if _fake(self):
            return Signup.objects.none()
        activity = selectors.get_activity_for_user(self.request.user, self.kwargs["pk"])
        if not manages(self.request.user, activity.community.path):
            return Signup.objects.none()
        return selectors.activity_signups(activity).select_related("credit")

    @extend_schema(summary="活动报名名单（组织者）")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# ---------------------------------------------------------------------------------------------
# hours


class HoursClaimSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=HoursClaimState.choices, read_only=True)

    class Meta:
        model = HoursClaim
        fields = [
            "id",
            "community",
            "name",
            "served_on",
            "hours",
            "description",
            "state",
            "review_note",
            "created_at",
            "version",
        ]
        read_only_fields = fields


class HoursClaimCreateSerializer(serializers.Serializer):
    served_on = serializers.DateField(label=_("服务日期"))
    hours = serializers.DecimalField(max_digits=4, decimal_places=1, label=_("时长（小时）"))
    description = serializers.CharField(max_length=300, label=_("服务内容"))


class ReviewSerializer(serializers.Serializer):
    approved = serializers.BooleanField(label=_("认定"))
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class HoursClaimListCreateView(generics.ListAPIView):
    """GET: my claims, and for admins those of their communities (`?pending=1`). POST: log."""

    tongxin_policy = OUTREACH
    serializer_class = HoursClaimSerializer

    def get_queryset(self) -> QuerySet[HoursClaim]:
        if _fake(self):
            return HoursClaim.objects.none()
        if self.request.query_params.get("pending"):
            return selectors.claims_to_review(self.request.user)
        return selectors.visible_claims(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        summary="服务时长申报列表",
        parameters=[OpenApiParameter("pending", OpenApiTypes.BOOL, description="待我审核")],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="申报服务时长",
        request=HoursClaimCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: HoursClaimSerializer},
    )
    def post(self, request: Request) -> Response:
        def produce() -> Response:
            serializer = HoursClaimCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            claim = services.hours_claim_log(actor=request.user, **serializer.validated_data)
            return Response(HoursClaimSerializer(claim).data, status=status.HTTP_201_CREATED)

        return idempotent(request, scope="outreach.hours.log", produce=produce)


class HoursClaimReviewView(APIView):
    tongxin_policy = MANAGERS

    @extend_schema(
        summary="审核服务时长申报（认定 / 不予认定）",
        request=ReviewSerializer,
        responses={200: HoursClaimSerializer, **MOVE_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim = selectors.get_claim_for_user(request.user, pk)
        serializer = ReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        action = HoursClaimAction.APPROVE if data["approved"] else HoursClaimAction.REJECT
        moved = services.hours_claim_transition(
            actor=request.user, claim=claim, action=action, note=data["note"]
        )
        return Response(HoursClaimSerializer(moved).data)


class HoursEntrySerializer(serializers.ModelSerializer):
    source = serializers.ChoiceField(choices=HoursSource.choices, read_only=True)

    class Meta:
        model = HoursEntry
        fields = ["id", "source", "served_on", "hours", "points", "description"]
        read_only_fields = fields


class HoursSummarySerializer(serializers.Serializer):
    activity_hours = serializers.DecimalField(max_digits=8, decimal_places=1)
    claimed_hours = serializers.DecimalField(max_digits=8, decimal_places=1)
    in_service_hours = serializers.DecimalField(max_digits=8, decimal_places=1)
    total_hours = serializers.DecimalField(max_digits=8, decimal_places=1)
    points = serializers.IntegerField()
    entries = HoursEntrySerializer(many=True)


class ServiceHoursView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(
        summary="我的服务时长与积分（含在职党员服务记录）", responses=HoursSummarySerializer
    )
    def get(self, request: Request) -> Response:
        summary = selectors.hours_summary(request.user)
        entries = selectors.my_hours_entries(request.user)[:100]
        return Response(
            HoursSummarySerializer(
                {
                    "activity_hours": summary.activity_hours,
                    "claimed_hours": summary.claimed_hours,
                    "in_service_hours": summary.in_service_hours,
                    "total_hours": summary.total_hours,
                    "points": summary.points,
                    "entries": entries,
                }
            ).data
        )


# ---------------------------------------------------------------------------------------------
# service points


class ServicePointSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ServicePointKind.choices, read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True, default="")
    team_name = serializers.CharField(source="team.name", read_only=True, default="")

    class Meta:
        model = ServicePoint
        fields = [
            "id",
            "name",
            "kind",
            "community",
            "community_name",
            "grid",
            "grid_name",
            "address",
            "lng",
            "lat",
            "opening_hours",
            "contact",
            "services",
            "team",
            "team_name",
            "active",
        ]
        read_only_fields = fields


class NearPointSerializer(ServicePointSerializer):
    distance_m = serializers.FloatField(read_only=True, label=_("距离（米）"))

    class Meta(ServicePointSerializer.Meta):
        fields = [*ServicePointSerializer.Meta.fields, "distance_m"]
        read_only_fields = fields


class ServicePointCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    kind = serializers.ChoiceField(choices=ServicePointKind.choices)
    address = serializers.CharField(max_length=200)
    lng = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    crs = serializers.ChoiceField(choices=CRS_ENUM, default="wgs84")
    community = ManagedCommunityField(required=False, allow_null=True)
    opening_hours = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    contact = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    services = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ServicePointListCreateView(generics.ListAPIView):
    tongxin_policy = OUTREACH
    serializer_class = ServicePointSerializer

    def get_queryset(self) -> QuerySet[ServicePoint]:
        if _fake(self):
            return ServicePoint.objects.none()
        return selectors.visible_points(self.request.user)

    @extend_schema(summary="服务点列表（百米服务圈）")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="新增服务点（社区管理员；按坐标落入网格）",
        request=ServicePointCreateSerializer,
        responses={201: ServicePointSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ServicePointCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        point = services.service_point_create(actor=request.user, **serializer.validated_data)
        return Response(ServicePointSerializer(point).data, status=status.HTTP_201_CREATED)


class NearestQuerySerializer(serializers.Serializer):
    lng = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    radius = serializers.IntegerField(min_value=50, max_value=50000, default=5000)


class NearestPointsView(APIView):
    tongxin_policy = OUTREACH

    @extend_schema(
        summary="离我最近的服务点（WGS-84，按距离排序）",
        parameters=[NearestQuerySerializer],
        responses=NearPointSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = NearestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        hits = selectors.nearest_points(
            request.user,
            lng=data["lng"],
            lat=data["lat"],
            limit=data["limit"],
            radius_m=data["radius"],
        )
        rows = []
        for hit in hits:
            row = dict(ServicePointSerializer(hit.point).data)
            row["distance_m"] = round(hit.distance_m, 1)
            rows.append(row)
        return Response(rows)


urlpatterns = [
    path("wishes/", WishListCreateView.as_view(), name="api-wishes"),
    path("wishes/stats/", WishStatsView.as_view(), name="api-wish-stats"),
    path("wishes/<int:pk>/", WishDetailView.as_view(), name="api-wish-detail"),
    path("wishes/<int:pk>/vet/", WishVetView.as_view(), name="api-wish-vet"),
    path("wishes/<int:pk>/claim/", WishClaimView.as_view(), name="api-wish-claim"),
    path("wishes/<int:pk>/fulfil/", WishFulfilView.as_view(), name="api-wish-fulfil"),
    path("wishes/<int:pk>/confirm/", WishConfirmView.as_view(), name="api-wish-confirm"),
    path("wishes/<int:pk>/withdraw/", WishWithdrawView.as_view(), name="api-wish-withdraw"),
    path("orders/", OrderListCreateView.as_view(), name="api-orders"),
    path("orders/<int:pk>/", OrderDetailView.as_view(), name="api-order-detail"),
    path("orders/<int:pk>/take/", OrderTakeView.as_view(), name="api-order-take"),
    path("orders/<int:pk>/release/", OrderReleaseView.as_view(), name="api-order-release"),
    path("orders/<int:pk>/complete/", OrderCompleteView.as_view(), name="api-order-complete"),
    path("orders/<int:pk>/rate/", OrderRateView.as_view(), name="api-order-rate"),
    path("orders/<int:pk>/cancel/", OrderCancelView.as_view(), name="api-order-cancel"),
    path("activities/", ActivityListCreateView.as_view(), name="api-activities"),
    path("activities/<int:pk>/", ActivityDetailView.as_view(), name="api-activity-detail"),
    path("activities/<int:pk>/sign-up/", ActivitySignUpView.as_view(), name="api-activity-sign-up"),
    path(
        "activities/<int:pk>/cancel-sign-up/",
        ActivityCancelSignUpView.as_view(),
        name="api-activity-cancel-sign-up",
    ),
    path(
        "activities/<int:pk>/check-in/", ActivityCheckInView.as_view(), name="api-activity-check-in"
    ),
    path(
        "activities/<int:pk>/check-out/",
        ActivityCheckOutView.as_view(),
        name="api-activity-check-out",
    ),
    path(
        "activities/<int:pk>/signups/", ActivitySignupsView.as_view(), name="api-activity-signups"
    ),
    path("hours-claims/", HoursClaimListCreateView.as_view(), name="api-hours-claims"),
    path(
        "hours-claims/<int:pk>/review/",
        HoursClaimReviewView.as_view(),
        name="api-hours-claim-review",
    ),
    path("service-hours/", ServiceHoursView.as_view(), name="api-service-hours"),
    path("service-points/", ServicePointListCreateView.as_view(), name="api-service-points"),
    path("service-points/nearest/", NearestPointsView.as_view(), name="api-service-points-nearest"),
]

"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over the event workflow.

Mounted at /open311/v2/. JSON only (the `.xml` format is not offered). Decisions:

- `services.json`: every active category; a sub-category's `group` is its parent's name.
- `requests.json` GET and `requests/{id}.json` are public and carry **no personal data**: only
  categories marked public (not disputes, public security, opinions, agency services), no
  description, no address, no reporter, no photos, and the point rounded to 0.001° (about 100 m).
  `status_notes` is the state's name, never a handler's note. Default window: the last 90 days,
  at most 1000 requests, as the specification suggests.
- `requests.json` POST files an event as a platform user. Authentication: either the platform's
  API token (`Authorization: Token …`, as everywhere in /api/v1/) or the GeoReport `api_key`
  parameter, which names an Open311Client registered with `manage.py open311_client` and acts as
  that client's user (its key is stored as a SHA-256 only). `Idempotency-Key` works as in the
  platform API. `first_name`/`last_name`/`phone` are kept as the reporter's name and (sealed)
  phone when a staff account files on behalf of a caller; `email`, `device_id`, `account_id` and
  `media_url` are ignored. Photos may be sent as multipart `media` files.
- Errors use GeoReport's shape: `[{"code": 400, "description": "…"}]`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongxin.accounts.authentication import ExpiringTokenAuthentication
from tongxin.core.idempotency import idempotent
from tongxin.core.policy import PUBLIC
from tongxin.core.scoping import has_role
from tongxin.events import services
from tongxin.events.models import (
    OPEN_STATES,
    Category,
    Event,
    Open311Client,
    Source,
    State,
)
from tongxin.events.rules import REPORTING_ROLES

DEFAULT_WINDOW = dt.timedelta(days=90)
MAX_RESULTS = 1000
OPEN_STATUSES = frozenset({*OPEN_STATES, State.RETURNED})
COORDINATE_DECIMALS = 3
STATUS_CHOICES = [("open", "open"), ("closed", "closed")]

TAG = ["open311"]


class ApiKeyAuthentication(BaseAuthentication):
    """GeoReport's `api_key` parameter, looked up by its SHA-256 among active clients."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        key = request.query_params.get("api_key")
        if key is None and request.method == "POST":
            key = request.data.get("api_key")
        if not key:
            return None
        digest = hashlib.sha256(str(key).encode()).hexdigest()
        client = (
            Open311Client.objects.filter(key_hash=digest, is_active=True)
            .select_related("user")
            .first()
        )
        if client is None or not client.user.is_active:
            raise exceptions.AuthenticationFailed(_("api_key 无效或已停用。"))
        Open311Client.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
        return client.user, client

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "open311ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "query", "name": "api_key"}


def _error(code: int, description: str) -> Response:
    return Response([{"code": code, "description": description}], status=code)


class Open311View(APIView):
    tongxin_policy = PUBLIC
    authentication_classes = [ExpiringTokenAuthentication, ApiKeyAuthentication]
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DjangoValidationError):
            messages = (
                [m for ms in exc.message_dict.values() for m in ms]
                if hasattr(exc, "error_dict")
                else exc.messages
            )
            return _error(400, " ".join(messages))
        response = super().handle_exception(exc)
        detail = response.data
        if isinstance(detail, dict) and "detail" in detail:
            text = str(detail["detail"])
        elif isinstance(detail, dict):
            text = " ".join(f"{k}: {' '.join(map(str, v))}" for k, v in detail.items())
        else:
            text = str(detail)
        response.data = [{"code": response.status_code, "description": text}]
        return response


# ---------------------------------------------------------------------------------------------
# services


ServiceSerializer = inline_serializer(
    "Open311Service",
    many=True,
    fields={
        "service_code": serializers.CharField(),
        "service_name": serializers.CharField(),
        "description": serializers.CharField(),
        "metadata": serializers.BooleanField(),
        "type": serializers.CharField(),
        "keywords": serializers.CharField(),
        "group": serializers.CharField(),
    },
)


class ServiceListView(Open311View):
    @extend_schema(tags=TAG, summary="Open311：服务（事件分类）列表", responses=ServiceSerializer)
    def get(self, request: Request) -> Response:
        categories = Category.objects.filter(is_active=True).select_related("parent")
        return Response(
            [
                {
                    "service_code": c.code,
                    "service_name": c.name,
                    "description": c.description,
                    "metadata": False,
                    "type": "realtime",
                    "keywords": "",
                    "group": c.parent.name if c.parent_id else c.name,
                }
                for c in categories.order_by("sort", "code")
                if c.parent is None or c.parent.is_active
            ]
        )


# ---------------------------------------------------------------------------------------------
# requests

RequestSerializer = inline_serializer(
    "Open311Request",
    many=True,
    fields={
        "service_request_id": serializers.CharField(),
        "status": serializers.ChoiceField(choices=STATUS_CHOICES),
        "status_notes": serializers.CharField(),
        "service_name": serializers.CharField(),
        "service_code": serializers.CharField(),
        "agency_responsible": serializers.CharField(),
        "service_notice": serializers.CharField(),
        "requested_datetime": serializers.DateTimeField(),
        "updated_datetime": serializers.DateTimeField(),
        "expected_datetime": serializers.DateTimeField(allow_null=True),
        "lat": serializers.FloatField(allow_null=True),
        "long": serializers.FloatField(allow_null=True),
    },
)
CreatedSerializer = inline_serializer(
    "Open311Created",
    many=True,
    fields={
        "service_request_id": serializers.CharField(),
        "service_notice": serializers.CharField(),
        "account_id": serializers.CharField(allow_null=True),
    },
)
ErrorSerializer = inline_serializer(
    "Open311Error",
    many=True,
    fields={"code": serializers.IntegerField(), "description": serializers.CharField()},
)


class RequestQuerySerializer(serializers.Serializer):
    service_request_id = serializers.CharField(required=False, help_text="逗号分隔")
    service_code = serializers.CharField(required=False, help_text="逗号分隔")
    start_date = serializers.DateTimeField(required=False)
    end_date = serializers.DateTimeField(required=False)
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False)
    jurisdiction_id = serializers.CharField(required=False)


class RequestCreateSerializer(serializers.Serializer):
    service_code = serializers.SlugField()
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    long = serializers.FloatField(required=False, min_value=-180, max_value=180)
    address_string = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(max_length=2000)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=25)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=25)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    email = serializers.CharField(required=False, allow_blank=True)
    device_id = serializers.CharField(required=False, allow_blank=True)
    account_id = serializers.CharField(required=False, allow_blank=True)
    media_url = serializers.CharField(required=False, allow_blank=True)
    media = serializers.ListField(child=serializers.FileField(), required=False, max_length=20)
    api_key = serializers.CharField(required=False)
    jurisdiction_id = serializers.CharField(required=False)


def _public_requests() -> QuerySet[Event]:
    return Event.objects.filter(category__is_public=True).select_related(
        "category", "handling_node"
    )


def _round(value: float | None) -> float | None:
    return round(value, COORDINATE_DECIMALS) if value is not None else None


def _as_request(event: Event) -> dict[str, Any]:
    return {
        "service_request_id": str(event.pk),
        "status": "open" if event.state in OPEN_STATUSES else "closed",
        "status_notes": str(State(event.state).label),
        "service_name": event.category.name,
        "service_code": event.category.code,
        "agency_responsible": event.handling_node.name,
        "service_notice": "",
        "requested_datetime": event.created_at.isoformat(),
        "updated_datetime": event.updated_at.isoformat(),
        "expected_datetime": event.deadline.isoformat() if event.deadline else None,
        "lat": _round(event.lat),
        "long": _round(event.lng),
    }


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class RequestListCreateView(Open311View):
    @extend_schema(
        tags=TAG,
        summary="Open311：查询请求（公开字段，不含个人信息）",
        parameters=[RequestQuerySerializer],
        responses={200: RequestSerializer, 400: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        query = RequestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        events = _public_requests()
        ids = _csv(data.get("service_request_id"))
        if ids:
            if not all(i.isdigit() for i in ids):
                return _error(400, _("service_request_id 须为数字。"))
            events = events.filter(pk__in=[int(i) for i in ids[:MAX_RESULTS]])
        else:
            end = data.get("end_date") or timezone.now()
            start = data.get("start_date") or end - DEFAULT_WINDOW
            events = events.filter(created_at__gte=start, created_at__lte=end)
        codes = _csv(data.get("service_code"))
        if codes:
            events = events.filter(category__code__in=codes)
        if data.get("status") == "open":
            events = events.filter(state__in=list(OPEN_STATUSES))
        elif data.get("status") == "closed":
            events = events.exclude(state__in=list(OPEN_STATUSES))
        rows = events.order_by("-created_at", "-id")[:MAX_RESULTS]
        return Response([_as_request(e) for e in rows])

    @extend_schema(
        tags=TAG,
        summary="Open311：提交请求（需令牌或 api_key）",
        request={
            "application/x-www-form-urlencoded": RequestCreateSerializer,
            "multipart/form-data": RequestCreateSerializer,
            "application/json": RequestCreateSerializer,
        },
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
        responses={201: CreatedSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        user = request.user
        if not user.is_authenticated:
            raise exceptions.NotAuthenticated(_("提交请求需要令牌或 api_key。"))
        if not has_role(user, REPORTING_ROLES):
            raise exceptions.PermissionDenied(_("该账号不能上报事件。"))
        client = request.auth if isinstance(request.auth, Open311Client) else None

        def produce() -> Response:
            form = RequestCreateSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            data = form.validated_data
            category = Category.objects.filter(code=data["service_code"], is_active=True).first()
            if category is None:
                return _error(400, _("未知的 service_code。"))
            if ("lat" in data) != ("long" in data):
                return _error(400, _("lat 与 long 须同时提供。"))
            name = " ".join(
                part for part in (data.get("last_name", ""), data.get("first_name", "")) if part
            ).replace(" ", "")
            event = services.event_report(
                actor=user,
                category=category,
                description=data["description"],
                source=client.source if client else Source.RESIDENT,
                lng=data.get("long"),
                lat=data.get("lat"),
                address=data.get("address_string", ""),
                reporter_name=name,
                reporter_phone=data.get("phone", ""),
                photos=data.get("media", []),
            )
            notice = _("已受理，请在 %(when)s 前留意处理结果。") % {
                "when": timezone.localtime(event.deadline).strftime("%Y-%m-%d %H:%M")
            }
            return Response(
                [
                    {
                        "service_request_id": str(event.pk),
                        "service_notice": notice,
                        "account_id": None,
                    }
                ],
                status=status.HTTP_201_CREATED,
            )

        return idempotent(request, scope="open311.requests.create", produce=produce)


class RequestDetailView(Open311View):
    @extend_schema(
        tags=TAG,
        summary="Open311：单个请求",
        responses={200: RequestSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, pk: int) -> Response:
        event = _public_requests().filter(pk=pk).first()
        if event is None:
            return _error(404, _("没有该请求，或该请求不公开。"))
        return Response([_as_request(event)])


urlpatterns = [
    path("services.json", ServiceListView.as_view(), name="open311-services"),
    path("requests.json", RequestListCreateView.as_view(), name="open311-requests"),
    path("requests/<int:pk>.json", RequestDetailView.as_view(), name="open311-request"),
]

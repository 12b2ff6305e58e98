"""Inbox API: the signed-in user's own notifications only."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongxin.core.policy import SIGNED_IN
from tongxin.notify.models import Notification
from tongxin.notify.selectors import get_notification_for_user, notifications_for, unread_count
from tongxin.notify.services import notification_mark_read, notifications_mark_all_read


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "category", "title", "body", "link", "created_at", "read_at"]
        read_only_fields = fields


class NotificationListView(generics.ListAPIView):
    tongxin_policy = SIGNED_IN
    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation has no real user
            return Notification.objects.none()
        queryset = notifications_for(self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            queryset = queryset.filter(read_at__isnull=True)
        return queryset


class NotificationReadView(APIView):
    tongxin_policy = SIGNED_IN

    @extend_schema(request=None, responses=NotificationSerializer, summary="标为已读")
    def post(self, request: Request, pk: int) -> Response:
        note = get_notification_for_user(request.user, pk)
        note = notification_mark_read(user=request.user, notification=note)
        return Response(NotificationSerializer(note).data)


class NotificationReadAllView(APIView):
    tongxin_policy = SIGNED_IN

    @extend_schema(
        request=None,
        responses=inline_serializer("ReadAllResult", {"marked": serializers.IntegerField()}),
        summary="全部标为已读",
    )
    def post(self, request: Request) -> Response:
        return Response({"marked": notifications_mark_all_read(user=request.user)})


class UnreadCountView(APIView):
    tongxin_policy = SIGNED_IN

    @extend_schema(
        responses=inline_serializer("UnreadCount", {"unread": serializers.IntegerField()}),
        summary="未读数量",
    )
    def get(self, request: Request) -> Response:
        return Response({"unread": unread_count(request.user)})


urlpatterns = [
    path("notifications/", NotificationListView.as_view(), name="api-notifications"),
    path("notifications/unread-count/", UnreadCountView.as_view(), name="api-unread-count"),
    path("notifications/read-all/", NotificationReadAllView.as_view(), name="api-read-all"),
    path("notifications/<int:pk>/read/", NotificationReadView.as_view(), name="api-read"),
]

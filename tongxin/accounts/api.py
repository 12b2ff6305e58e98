"""API sign-in: username + password → an expiring token."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from tongxin.accounts.authentication import token_is_expired
from tongxin.core.audit import audit
from tongxin.core.policy import PUBLIC


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("用户名"), max_length=150)
    password = serializers.CharField(
        label=_("密码"), max_length=128, style={"input_type": "password"}
    )


class LoginThrottle(AnonRateThrottle):
    scope = "login"


class ObtainTokenView(APIView):
    tongxin_policy = PUBLIC
    authentication_classes: list = []
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        summary="获取接口令牌",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            return Response(
                {"detail": _("用户名或密码不正确。")}, status=status.HTTP_400_BAD_REQUEST
            )
        token, created = Token.objects.get_or_create(user=user)
        if not created and token_is_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
        audit(actor=user, action="accounts.token_issued", obj=user)
        return Response({"token": token.key})


urlpatterns = [path("auth/token/", ObtainTokenView.as_view(), name="api-token")]

"""API tokens that expire (SECURITY.md 4): a token past API_TOKEN_TTL is refused and deleted."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_is_expired(token: Token) -> bool:
    return token.created < timezone.now() - settings.API_TOKEN_TTL


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str):
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            token.delete()
            raise exceptions.AuthenticationFailed(_("令牌已过期，请重新登录获取。"))
        return user, token

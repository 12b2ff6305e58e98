"""API tokens that expire (SECURITY.md 4), and that wait for a password change (SECURITY.md 2).

A token past API_TOKEN_TTL is refused (401) and deleted. A token of a user who must change their
password (an official's expired password, or one an administrator set) is refused with 403 and
the code `password_change_required` until the password is changed on the web page, as the
account middleware does for a session; the token itself is kept (a password change drops it).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from tongxin.accounts.middleware import must_change_password, password_change_refusal


def token_is_expired(token: Token) -> bool:
    return token.created < timezone.now() - settings.API_TOKEN_TTL


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str):
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            token.delete()
            raise exceptions.AuthenticationFailed(_("令牌已过期，请重新登录获取。"))
        if must_change_password(user):
            # DRF answers an APIException raised while authenticating as is: 403, this body.
            raise exceptions.PermissionDenied(password_change_refusal())
        return user, token

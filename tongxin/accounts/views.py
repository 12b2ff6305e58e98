"""Sign-in, sign-out and password pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tongxin.accounts.forms import LoginForm, TongxinPasswordChangeForm
from tongxin.accounts.services import user_change_password
from tongxin.core.policy import PUBLIC, SIGNED_IN, PolicyMixin, policy


def lockout_response(request: HttpRequest, credentials: dict[str, Any], *a: Any, **kw: Any):
    """What a locked-out username sees, on the page or through the API (django-axes callable)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    text = _("登录失败次数过多，该账号已被锁定 %(m)d 分钟。如需提前解锁，请联系安全管理员。") % {
        "m": minutes
    }
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"detail": text}, status=429)
    return render(request, "accounts/locked.html", {"message": text}, status=429)


class TongxinLoginView(PolicyMixin, LoginView):
    tongxin_policy = PUBLIC
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class TongxinLogoutView(PolicyMixin, LogoutView):
    """POST only; Django's logout() flushes the server-side session row."""

    tongxin_policy = SIGNED_IN


@policy(SIGNED_IN)
def password_change(request: HttpRequest) -> HttpResponse:
    form = TongxinPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user_change_password(
            actor=request.user, user=request.user, new_password=form.cleaned_data["new_password1"]
        )
        update_session_auth_hash(request, request.user)
        messages.success(request, _("密码已修改。"))
        return redirect("core:home")
    expired = request.GET.get("expired") == "1"
    return render(request, "accounts/password_change.html", {"form": form, "expired": expired})

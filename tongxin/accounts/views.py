"""Sign-in, sign-out and password pages; the system and security administrators' pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.accounts import totp, two_factor
from tongxin.accounts.filters import AssignmentFilter, UserFilter
from tongxin.accounts.forms import (
    LoginForm,
    OtpForm,
    PasswordResetForm,
    RoleGrantForm,
    TongxinPasswordChangeForm,
    UserCreateForm,
    UserEditForm,
    add_service_errors,
)
from tongxin.accounts.models import Role
from tongxin.accounts.selectors import (
    assignments_visible_to,
    current_lockouts,
    get_assignment_for_user,
    get_user_for_admin,
    get_user_with_device_for,
    totp_devices_visible_to,
    users_for_admin,
)
from tongxin.accounts.services import (
    account_unlock,
    role_grant,
    role_revoke,
    totp_enrol_begin,
    totp_enrol_confirm,
    totp_reset,
    totp_verify,
    user_change_password,
    user_create,
    user_reset_password,
    user_update,
)
from tongxin.core.policy import PUBLIC, SIGNED_IN, PolicyMixin, policy, roles

PAGE_SIZE = 30


def lockout_response(request: HttpRequest, credentials: dict[str, Any], *a: Any, **kw: Any):
    """What a locked-out username sees, on the page or through the API (django-axes callable)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    text = _("登录失败次数过多，该账号已被锁定 %(m)d 分钟。如需提前解锁，请联系安全管理员。") % {
        "m": minutes
    }
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": text}, status=429)
    return render(request, "accounts/locked.html", {"message": text}, status=429)


class TongxinLoginView(PolicyMixin, LoginView):
    tongxin_policy = PUBLIC
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:
        """A right password; users with a two-factor device give their code before login()."""
        user = form.get_user()
        if two_factor.confirmed_device(user) is not None:
            two_factor.begin_pending(self.request, user, self.get_success_url())
            return redirect("accounts:login_otp")
        return super().form_valid(form)


@policy(PUBLIC)
def login_otp(request: HttpRequest) -> HttpResponse:
    """Sign-in step 2: the code from the authenticator app. The session is logged in only here."""
    pending = two_factor.pending_user(request)
    if pending is None:
        messages.info(request, _("请重新输入用户名和密码。"))
        return redirect("accounts:login")
    user, data = pending
    if two_factor.is_locked(request, user):
        two_factor.clear_pending(request)
        return lockout_response(request, {"username": user.get_username()})
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = totp_verify(user=user, code=form.cleaned_data["otp"], channel="web")
        if device is not None:
            two_factor.clear_pending(request)
            auth_login(request, user)
            two_factor.mark_verified(request, device)
            return redirect(data.get("next") or settings.LOGIN_REDIRECT_URL)
        two_factor.count_failure(request, user)
        if getattr(request, "axes_locked_out", False):
            # This failure reached the limit: django-axes turns the answer into its lockout page.
            two_factor.clear_pending(request)
        form.add_error(
            "otp",
            _("验证码不正确或已使用过。连续失败 %(n)d 次，该账号将被锁定。")
            % {"n": settings.AXES_FAILURE_LIMIT},
        )
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request, "accounts/login_otp.html", {"form": form, "username": user.username}, status=status
    )


@policy(SIGNED_IN)
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: QR code and secret, confirmed by a first code."""
    device = two_factor.confirmed_device(request.user)
    if device is not None:
        return render(request, "accounts/otp_setup.html", {"device": device, "required": False})
    device = totp_enrol_begin(actor=request.user, user=request.user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = totp_enrol_confirm(
                actor=request.user, user=request.user, code=form.cleaned_data["otp"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc, {"code": "otp"})
        else:
            two_factor.mark_verified(request, device)
            messages.success(request, _("已绑定动态口令。今后登录时，输入密码后还须输入验证码。"))
            return redirect("core:home")
    secret = device.secret.reveal()
    uri = totp.provisioning_uri(secret, request.user.get_username())
    context = {
        "form": form,
        "qr_svg": totp.qr_svg(uri),
        "secret": totp.grouped(secret),
        "required": two_factor.must_enrol(request.user),
    }
    return render(
        request,
        "accounts/otp_setup.html",
        context,
        status=400 if form.is_bound and form.errors else 200,
    )


class TongxinLogoutView(PolicyMixin, LogoutView):
    """POST only; Django's logout() flushes the server-side session row."""

    tongxin_policy = SIGNED_IN


@policy(SIGNED_IN)
def password_change(request: HttpRequest) -> HttpResponse:
    form = TongxinPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_change_password(
                actor=request.user,
                user=request.user,
                new_password=form.cleaned_data["new_password1"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc, {"password": "new_password1"})
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改。"))
            return redirect("core:home")
    context = {
        "form": form,
        "expired": request.GET.get("expired") == "1",
        "initial": request.user.must_change_password,
    }
    return render(request, "accounts/password_change.html", context)


# --- system administrator: accounts -----------------------------------------------------------

SYS_ADMIN = roles(Role.SYS_ADMIN)
SEC_ADMIN = roles(Role.SEC_ADMIN)


@policy(SYS_ADMIN)
def user_list(request: HttpRequest) -> HttpResponse:
    filterset = UserFilter(request.GET or None, queryset=users_for_admin(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/user_list.html",
        {"filter": filterset, "page": page, "query": query.urlencode()},
    )


@policy(SYS_ADMIN)
def user_create_view(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                actor=request.user,
                username=data["username"],
                password=data["password"],
                display_name=data["display_name"],
                email=data["email"],
                node=data["node"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("已创建用户 %(u)s。请安全管理员为其授予角色；首次登录须修改初始密码。")
                % {"u": user.username},
            )
            return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form, "creating": True})


@policy(SYS_ADMIN)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_user_for_admin(request.user, pk)
    initial = {"display_name": user.display_name, "email": user.email, "is_active": user.is_active}
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            user_update(actor=request.user, user=user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            # A refusal of a legitimate-looking edit (an administrator's account): explain it.
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已保存用户 %(u)s。") % {"u": user.username})
            return redirect("accounts:user_list")
    return render(
        request, "accounts/user_form.html", {"form": form, "target": user, "creating": False}
    )


@policy(SYS_ADMIN)
def user_reset_password_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_user_for_admin(request.user, pk)
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_reset_password(
                actor=request.user, user=user, new_password=form.cleaned_data["password"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("已重置 %(u)s 的密码，该用户下次登录须修改密码。") % {"u": user.username},
            )
            return redirect("accounts:user_list")
    return render(request, "accounts/user_reset_password.html", {"form": form, "target": user})


@policy(SYS_ADMIN)
@require_POST
def user_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_user_for_admin(request.user, pk)
    active = request.POST.get("active") == "1"
    try:
        user_update(actor=request.user, user=user, is_active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        text = _("已启用用户 %(u)s。") if active else _("已停用用户 %(u)s。")
        messages.success(request, text % {"u": user.username})
    return redirect("accounts:user_list")


# --- security administrator: roles and lockouts -----------------------------------------------


@policy(SEC_ADMIN)
def assignment_list(request: HttpRequest) -> HttpResponse:
    """The assignments in the administrator's subtree, and (POST) the form granting a new one."""
    form = RoleGrantForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assignment = role_grant(
                actor=request.user,
                user=data["username"],
                role=data["role"],
                node=data["node"],
                unit=data["unit"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc, {"user": "username"})
        else:
            messages.success(request, _("已授权：%(a)s。") % {"a": assignment})
            return redirect("accounts:assignment_list")
    filterset = AssignmentFilter(
        request.GET or None, queryset=assignments_visible_to(request.user), request=request
    )
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/assignment_list.html",
        {"filter": filterset, "page": page, "form": form, "query": query.urlencode()},
        status=400 if form.is_bound else 200,
    )


@policy(SEC_ADMIN)
@require_POST
def assignment_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_assignment_for_user(request.user, pk)
    text = str(assignment)
    role_revoke(actor=request.user, assignment=assignment)
    messages.success(request, _("已撤销授权：%(a)s。") % {"a": text})
    return redirect("accounts:assignment_list")


@policy(SEC_ADMIN)
def lockout_list(request: HttpRequest) -> HttpResponse:
    context = {
        "lockouts": current_lockouts(request.user),
        "limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "accounts/lockout_list.html", context)


@policy(SEC_ADMIN)
@require_POST
def lockout_unlock(request: HttpRequest) -> HttpResponse:
    username = request.POST.get("username", "")
    try:
        cleared = account_unlock(actor=request.user, username=username)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        if cleared:
            messages.success(request, _("已解除 %(u)s 的登录锁定。") % {"u": username})
        else:
            messages.info(request, _("%(u)s 当前没有登录失败记录。") % {"u": username})
    return redirect("accounts:lockout_list")


@policy(SEC_ADMIN)
def otp_device_list(request: HttpRequest) -> HttpResponse:
    devices = totp_devices_visible_to(request.user)
    page = Paginator(devices, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "policy": two_factor.policy()}
    return render(request, "accounts/otp_device_list.html", context)


@policy(SEC_ADMIN)
@require_POST
def otp_device_reset(request: HttpRequest, user_pk: int) -> HttpResponse:
    user = get_user_with_device_for(request.user, user_pk)
    try:
        totp_reset(actor=request.user, user=user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("已重置 %(u)s 的动态口令；其已登录的会话随即失效，须重新绑定。")
            % {"u": user.username},
        )
    return redirect("accounts:otp_device_list")


@policy(SEC_ADMIN)
def retention_overview(request: HttpRequest) -> HttpResponse:
    """The retention policy in force and the last nightly run's counts (安全管理员).

    The counts come from the run's own audit records (`core.retention.apply`), which hold numbers
    only; the audit trail itself stays the audit administrator's to read.
    """
    from tongxin.core.retention import last_run, policy_rows

    context = {"policy": policy_rows(), "last_run": last_run()}
    return render(request, "accounts/retention.html", context)

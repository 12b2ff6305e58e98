"""Accounts API: sign-in tokens, and the three separated administrators' endpoints (三员分立).

/users/ is the system administrator's, /role-assignments/ and /lockouts/ the security
administrator's, /audit-records/ the audit administrator's. The services behind them check the
same duties again, so a mistake in a policy here cannot hand one administrator another's power.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, generics, mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from tongxin.accounts import two_factor
from tongxin.accounts.authentication import token_is_expired
from tongxin.accounts.filters import AssignmentFilter, AuditRecordFilter, UserFilter
from tongxin.accounts.middleware import (
    PASSWORD_CHANGE_REQUIRED,
    must_change_password,
    password_change_refusal,
)
from tongxin.accounts.models import Role, RoleAssignment, User
from tongxin.accounts.selectors import (
    assignments_visible_to,
    audit_records_for,
    current_lockouts,
    job_failures_for,
    users_for_admin,
)
from tongxin.accounts.services import (
    account_unlock,
    role_grant,
    role_revoke,
    totp_verify,
    user_create,
    user_reset_password,
    user_update,
)
from tongxin.accounts.totp import normalize_code
from tongxin.core.audit import audit
from tongxin.core.models import AuditOutcome, AuditRecord, JobFailure
from tongxin.core.policy import PUBLIC, roles
from tongxin.orgs.models import OrgNode, ResidentUnit

# --- sign-in ----------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("用户名"), max_length=150)
    password = serializers.CharField(
        label=_("密码"), max_length=128, style={"input_type": "password"}
    )
    otp = serializers.CharField(
        label=_("动态验证码"),
        max_length=12,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("已绑定动态口令的账号必填：验证器应用中当前显示的 6 位数字"),
    )


class LoginThrottle(AnonRateThrottle):
    scope = "login"


class ObtainTokenView(APIView):
    tongxin_policy = PUBLIC
    authentication_classes: list = []
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            403: inline_serializer(
                "TokenRefusal",
                {
                    "detail": serializers.CharField(),
                    "code": serializers.ChoiceField(
                        choices=[PASSWORD_CHANGE_REQUIRED, "otp_enrolment_required"]
                    ),
                },
            ),
        },
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
        refusal = (
            self._second_factor(request, user, serializer.validated_data["otp"])
            or self._password_change(user)
            or self._enrolment(user)
        )
        if refusal is not None:
            return refusal
        token, created = Token.objects.get_or_create(user=user)
        if not created and token_is_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
        audit(actor=user, action="accounts.token_issued", obj=user)
        return Response({"token": token.key})

    @staticmethod
    def _refuse(user: User, reason: str, body: dict[str, Any]) -> Response:
        audit(
            actor=None,
            username=user.get_username(),
            action="accounts.token_refused",
            obj=user,
            outcome=AuditOutcome.DENIED,
            changes={"reason": reason},
        )
        return Response(body, status=status.HTTP_403_FORBIDDEN)

    def _password_change(self, user: User) -> Response | None:
        """A password that must be changed (expired, or set by an administrator): no token.

        Checked after the code, as the web asks for the change only once signed in; the same
        answer as every API call of such a user (`ExpiringTokenAuthentication`).
        """
        if not must_change_password(user):
            return None
        return self._refuse(user, PASSWORD_CHANGE_REQUIRED, password_change_refusal())

    def _enrolment(self, user: User) -> Response | None:
        """Officials who must enrol an authenticator app first get no token."""
        if not two_factor.must_enrol(user):
            return None
        body = {
            "detail": _("请先在网页上绑定动态口令，再获取接口令牌。"),
            "code": "otp_enrolment_required",
        }
        return self._refuse(user, "otp_enrolment_required", body)

    @staticmethod
    def _second_factor(request: Request, user: User, code: str) -> Response | None:
        """Users with a device give its code (a wrong one counts toward the lockout)."""
        if two_factor.confirmed_device(user) is None:
            return None
        if not normalize_code(code):
            return Response(
                {"otp": [_("该账号已开启双因素登录，请填写 6 位动态验证码。")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if totp_verify(user=user, code=code, channel="api") is None:
            two_factor.count_failure(request._request, user)
            return Response(
                {"otp": [_("动态验证码不正确或已使用过。")]}, status=status.HTTP_400_BAD_REQUEST
            )
        return None


# --- shared -----------------------------------------------------------------------------------


class ServiceErrorsMixin:
    """Keep the service's reason on a refusal: DRF would replace it with a generic 403 text."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DjangoPermissionDenied) and str(exc):
            exc = exceptions.PermissionDenied(detail=str(exc))
        return super().handle_exception(exc)  # type: ignore[misc]


def _schema_only(view: Any) -> bool:
    # drf-spectacular builds views without a real user while generating the OpenAPI document.
    return getattr(view, "swagger_fake_view", False)


class RoleBriefSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    node_name = serializers.CharField(source="node.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True, allow_null=True)

    class Meta:
        model = RoleAssignment
        fields = ["id", "role", "role_display", "node", "node_name", "unit", "unit_name"]
        read_only_fields = fields


# --- users (system administrator) -------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    roles = RoleBriefSerializer(source="assignments", many=True, read_only=True)
    created_in_name = serializers.CharField(
        source="created_in.name", read_only=True, allow_null=True
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "email",
            "is_active",
            "must_change_password",
            "date_joined",
            "last_login",
            "password_changed_at",
            "created_in",
            "created_in_name",
            "roles",
        ]
        read_only_fields = fields


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("用户名"), max_length=150)
    display_name = serializers.CharField(
        label=_("姓名"), max_length=50, required=False, allow_blank=True, default=""
    )
    email = serializers.EmailField(
        label=_("电子邮箱"), required=False, allow_blank=True, default=""
    )
    password = serializers.CharField(
        label=_("初始密码"),
        max_length=128,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
    )
    node = serializers.PrimaryKeyRelatedField(
        label=_("所属组织"),
        queryset=OrgNode.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("在哪个组织下创建，须在本人管理范围内；默认为本人所在组织"),
    )


class UserUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(label=_("姓名"), max_length=50, allow_blank=True)
    email = serializers.EmailField(label=_("电子邮箱"), allow_blank=True)
    is_active = serializers.BooleanField(label=_("启用"))


class PasswordResetSerializer(serializers.Serializer):
    password = serializers.CharField(
        label=_("新密码"),
        max_length=128,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
    )


class UserViewSet(
    ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Accounts (系统管理员). Roles are granted through /role-assignments/, not here."""

    tongxin_policy = roles(Role.SYS_ADMIN)
    serializer_class = UserSerializer
    filterset_class = UserFilter

    def get_queryset(self) -> QuerySet[User]:
        if _schema_only(self):
            return User.objects.none()
        return users_for_admin(self.request.user)

    def _answer(self, user: User, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=user.pk)
        return Response(UserSerializer(fresh).data, status=code)

    @extend_schema(
        request=UserCreateSerializer, responses={201: UserSerializer}, summary="创建用户"
    )
    def create(self, request: Request) -> Response:
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_create(actor=request.user, **serializer.validated_data)
        return self._answer(user, status.HTTP_201_CREATED)

    def _update(self, request: Request, *, partial: bool) -> Response:
        user = self.get_object()
        serializer = UserUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        user_update(actor=request.user, user=user, **serializer.validated_data)
        return self._answer(user)

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer, summary="修改用户")
    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer, summary="修改用户")
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=True)

    @extend_schema(request=PasswordResetSerializer, responses=UserSerializer, summary="重置密码")
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request: Request, pk: str | None = None) -> Response:
        user = self.get_object()
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_reset_password(
            actor=request.user, user=user, new_password=serializer.validated_data["password"]
        )
        return self._answer(user)


# --- role assignments and lockouts (security administrator) -----------------------------------


class RoleAssignmentSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(label=_("用户"), queryset=User.objects.all())
    username = serializers.CharField(source="user.username", read_only=True)
    role = serializers.ChoiceField(label=_("角色"), choices=Role.choices)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    node = serializers.PrimaryKeyRelatedField(label=_("组织"), queryset=OrgNode.objects.all())
    node_name = serializers.CharField(source="node.name", read_only=True)
    unit = serializers.PrimaryKeyRelatedField(
        label=_("驻区单位"),
        queryset=ResidentUnit.objects.select_related("node"),
        required=False,
        allow_null=True,
        default=None,
    )
    unit_name = serializers.CharField(source="unit.name", read_only=True, allow_null=True)
    granted_by = serializers.CharField(
        source="granted_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = RoleAssignment
        fields = [
            "id",
            "user",
            "username",
            "role",
            "role_display",
            "node",
            "node_name",
            "unit",
            "unit_name",
            "granted_by",
            "granted_at",
        ]
        read_only_fields = ["granted_at"]
        # The unique (user, role, node) rule is the service's, with its own Chinese message.
        validators: list = []


class RoleAssignmentViewSet(
    ServiceErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Role assignments inside the security administrator's subtree (安全管理员)."""

    tongxin_policy = roles(Role.SEC_ADMIN)
    serializer_class = RoleAssignmentSerializer
    filterset_class = AssignmentFilter

    def get_queryset(self) -> QuerySet[RoleAssignment]:
        if _schema_only(self):
            return RoleAssignment.objects.none()
        return assignments_visible_to(self.request.user)

    @extend_schema(summary="授予角色", responses={201: RoleAssignmentSerializer})
    def create(self, request: Request) -> Response:
        serializer = RoleAssignmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = role_grant(actor=request.user, **serializer.validated_data)
        fresh = self.get_queryset().get(pk=assignment.pk)
        return Response(RoleAssignmentSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="撤销角色", responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        role_revoke(actor=request.user, assignment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LockoutSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    failures = serializers.IntegerField(read_only=True)
    last_attempt = serializers.DateTimeField(read_only=True)
    locked_until = serializers.DateTimeField(read_only=True)
    last_ip = serializers.CharField(read_only=True, allow_null=True)
    addresses = serializers.IntegerField(read_only=True)


class UnlockSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("用户名"), max_length=255)


class LockoutListView(ServiceErrorsMixin, APIView):
    tongxin_policy = roles(Role.SEC_ADMIN)

    @extend_schema(responses=LockoutSerializer(many=True), summary="当前被锁定的账号")
    def get(self, request: Request) -> Response:
        return Response(LockoutSerializer(current_lockouts(request.user), many=True).data)


class UnlockView(ServiceErrorsMixin, APIView):
    tongxin_policy = roles(Role.SEC_ADMIN)

    @extend_schema(
        request=UnlockSerializer,
        responses=inline_serializer("UnlockResult", {"cleared": serializers.IntegerField()}),
        summary="解除登录锁定",
    )
    def post(self, request: Request) -> Response:
        serializer = UnlockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cleared = account_unlock(actor=request.user, username=serializer.validated_data["username"])
        return Response({"cleared": cleared})


# --- audit trail (audit administrator) and failed jobs (system administrator) -----------------


class AuditRecordSerializer(serializers.ModelSerializer):
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)

    class Meta:
        model = AuditRecord
        fields = [
            "id",
            "at",
            "actor_id",
            "actor_username",
            "ip",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "outcome",
            "outcome_display",
            "changes",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields


class AuditRecordViewSet(
    ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The audit trail, read-only (审计管理员)."""

    tongxin_policy = roles(Role.AUDIT_ADMIN)
    serializer_class = AuditRecordSerializer
    filterset_class = AuditRecordFilter

    def get_queryset(self) -> QuerySet[AuditRecord]:
        if _schema_only(self):
            return AuditRecord.objects.none()
        return audit_records_for(self.request.user)


class JobFailureSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobFailure
        fields = ["id", "task_name", "task_id", "args_repr", "error", "failed_at", "retries_left"]
        read_only_fields = fields


class JobFailureListView(ServiceErrorsMixin, generics.ListAPIView):
    tongxin_policy = roles(Role.SYS_ADMIN)
    serializer_class = JobFailureSerializer

    def get_queryset(self) -> QuerySet[JobFailure]:
        if _schema_only(self):
            return JobFailure.objects.none()
        return job_failures_for(self.request.user)


router = SimpleRouter(use_regex_path=False)
router.register("users", UserViewSet, basename="api-user")
router.register("role-assignments", RoleAssignmentViewSet, basename="api-role-assignment")
router.register("audit-records", AuditRecordViewSet, basename="api-audit-record")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("lockouts/", LockoutListView.as_view(), name="api-lockouts"),
    path("lockouts/unlock/", UnlockView.as_view(), name="api-unlock"),
    path("job-failures/", JobFailureListView.as_view(), name="api-job-failures"),
    *router.urls,
]

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tongxin.accounts.models import Role, User
from tongxin.accounts.selectors import (
    creation_nodes,
    grantable_nodes,
    grantable_units,
    user_by_username,
)
from tongxin.orgs.models import OrgNode

_WIDGET_CLASS = {
    forms.Select: "form-select",
    forms.SelectMultiple: "form-select",
    forms.CheckboxInput: "form-check-input",
}


def bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    """Give every widget its Bootstrap 5 class (the templates render fields one by one)."""
    for field in form.fields.values():
        widget = field.widget
        css = next(
            (c for kind, c in _WIDGET_CLASS.items() if isinstance(widget, kind)), "form-control"
        )
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
    return form


def mark_invalid(form: forms.BaseForm) -> None:
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class BootstrapForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def full_clean(self) -> None:
        super().full_clean()
        mark_invalid(self)


def add_service_errors(
    form: forms.BaseForm, exc: ValidationError, rename: dict[str, str] | None = None
) -> None:
    """Show a service's ValidationError on the form: on the matching field, else at the top."""
    rename = rename or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, messages in exc.message_dict.items():
        field = rename.get(key, key)
        form.add_error(field if field in form.fields else None, messages)
    mark_invalid(form)


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": _("用户名或密码不正确。连续失败 5 次，该账号将被锁定 30 分钟。"),
        "inactive": _("该账号已停用，请联系系统管理员。"),
    }


class TongxinPasswordChangeForm(PasswordChangeForm):
    pass


_PASSWORD_HELP = _("至少 8 位，包含大写字母、小写字母、数字、特殊符号中的至少 3 类。")


class _NewPasswordForm(BootstrapForm):
    password = forms.CharField(
        label=_("初始密码"),
        strip=False,
        max_length=128,
        help_text=_PASSWORD_HELP,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("确认密码"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, second = data.get("password"), data.get("password_confirm")
        if first and second and first != second:
            self.add_error("password_confirm", _("两次输入的密码不一致。"))
        return data


class NodeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: OrgNode) -> str:
        # Indent by depth so the select reads like the tree.
        return "\u3000" * (obj.depth - 1) + obj.name


class UserCreateForm(_NewPasswordForm):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        help_text=_("登录用，字母、数字及 @ . + - _，创建后不可修改"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    display_name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    node = NodeChoiceField(
        label=_("所属组织"),
        queryset=OrgNode.objects.none(),
        required=False,
        empty_label=_("本人所在组织"),
        help_text=_("用户在授予角色前，由该组织及其上级的系统管理员管理"),
    )

    field_order = ["username", "display_name", "email", "node", "password", "password_confirm"]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = creation_nodes(actor)


class UserEditForm(BootstrapForm):
    display_name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    is_active = forms.BooleanField(label=_("启用"), required=False)


class PasswordResetForm(_NewPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].label = _("新密码")


class RoleGrantForm(BootstrapForm):
    username = forms.CharField(label=_("用户名"), max_length=150)
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)
    node = NodeChoiceField(
        label=_("组织"), queryset=OrgNode.objects.none(), empty_label=_("请选择组织")
    )
    unit = forms.ModelChoiceField(
        label=_("驻区单位"),
        queryset=OrgNode.objects.none(),
        required=False,
        empty_label=_("无"),
        help_text=_("仅驻区单位联络员需要"),
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = grantable_nodes(actor)
        self.fields["unit"].queryset = grantable_units(actor)

    def clean_username(self) -> User:
        user = user_by_username(self.cleaned_data["username"])
        if user is None:
            raise ValidationError(_("没有这个用户名。"))
        return user


class OtpForm(BootstrapForm):
    """A 6-digit code from the authenticator app (sign-in step 2 and enrolment)."""

    otp = forms.CharField(
        label=_("动态验证码"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": r"[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_otp(self) -> str:
        from tongxin.accounts.totp import normalize_code

        code = normalize_code(self.cleaned_data["otp"])
        if not code:
            raise ValidationError(_("请输入应用中显示的 6 位数字。"))
        return code

from django.urls import path

from tongxin.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.TongxinLoginView.as_view(), name="login"),
    path("login/code/", views.login_otp, name="login_otp"),
    path("otp/", views.otp_setup, name="otp_setup"),
    path("logout/", views.TongxinLogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
    # System administrator: accounts.
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create_view, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/password/", views.user_reset_password_view, name="user_reset_password"),
    path("users/<int:pk>/active/", views.user_set_active, name="user_set_active"),
    # Security administrator: role assignments and login lockouts.
    path("assignments/", views.assignment_list, name="assignment_list"),
    path("assignments/<int:pk>/revoke/", views.assignment_revoke, name="assignment_revoke"),
    path("lockouts/", views.lockout_list, name="lockout_list"),
    path("lockouts/unlock/", views.lockout_unlock, name="lockout_unlock"),
    # Security administrator: retention policy and its last run.
    path("retention/", views.retention_overview, name="retention"),
    # Security administrator: two-factor devices.
    path("otp/devices/", views.otp_device_list, name="otp_device_list"),
    path("otp/devices/<int:user_pk>/reset/", views.otp_device_reset, name="otp_device_reset"),
]

from django.urls import path

from tongxin.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.TongxinLoginView.as_view(), name="login"),
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
]

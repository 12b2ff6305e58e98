from django.urls import path

from tongxin.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.TongxinLoginView.as_view(), name="login"),
    path("logout/", views.TongxinLogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
]

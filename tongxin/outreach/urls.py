from django.urls import path

from tongxin.outreach import views

app_name = "outreach"

urlpatterns = [
    path("", views.home, name="home"),
    path("wishes/", views.wish_wall, name="wish_wall"),
    path("wishes/mine/", views.wish_mine, name="wish_mine"),
    path("wishes/manage/", views.wish_manage, name="wish_manage"),
    path("wishes/new/", views.wish_new, name="wish_new"),
    path("wishes/<int:pk>/", views.wish_detail, name="wish_detail"),
    path("wishes/<int:pk>/photo/<slug:which>/", views.wish_photo, name="wish_photo"),
    path("wishes/<int:pk>/<slug:action>/", views.wish_move, name="wish_move"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_new, name="order_new"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/<slug:action>/", views.order_move, name="order_move"),
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/new/", views.activity_new, name="activity_new"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/sign-up/", views.activity_sign_up, name="activity_sign_up"),
    path("signups/<int:pk>/<slug:action>/", views.signup_move, name="signup_move"),
    path("hours/", views.hours_mine, name="hours_mine"),
    path("hours/review/", views.hours_review, name="hours_review"),
    path("hours/<int:pk>/<slug:action>/", views.hours_move, name="hours_move"),
    path("points/", views.points, name="points"),
    path("points/new/", views.point_new, name="point_new"),
]

from django.urls import path

from tongxin.events import views

app_name = "events"

urlpatterns = [
    path("", views.event_list, name="list"),
    path("mine/", views.my_events, name="mine"),
    path("report/", views.report, name="report"),
    path("report/similar/", views.similar, name="similar"),
    path("department/", views.inbox, name="inbox"),
    path("stats/", views.stats, name="stats"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/move/<slug:action>/", views.move, name="move"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("config/", views.config, name="config"),
    path("config/categories/new/", views.config_category_new, name="config_category_new"),
    path("config/categories/<int:pk>/", views.config_category_edit, name="config_category_edit"),
    path("config/departments/new/", views.config_department_new, name="config_department_new"),
    path("config/departments/<int:pk>/", views.config_department, name="config_department"),
]

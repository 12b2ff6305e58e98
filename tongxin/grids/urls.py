from django.urls import path

from tongxin.grids import views

app_name = "grids"

urlpatterns = [
    path("", views.grid_list, name="list"),
    path("map/", views.grid_map, name="map"),
    path("map/values/", views.map_values, name="map_values"),
    path("<int:pk>/", views.grid_detail, name="detail"),
    path("<int:pk>/card/", views.grid_card, name="card"),
    path("<int:pk>/edit/", views.grid_edit, name="edit"),
    path("boundaries/upload/", views.boundary_upload, name="boundary_upload"),
    path("boundaries/export/", views.boundary_export, name="boundary_export"),
    path("visits/", views.visit_list, name="visit_list"),
    path("visits/new/", views.visit_choose_household, name="visit_choose"),
    path("visits/new/<int:household_pk>/", views.visit_create, name="visit_create"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<int:pk>/follow-ups/new/", views.follow_up_add, name="visit_follow_up_add"),
    path("follow-ups/", views.follow_up_list, name="follow_up_list"),
    path("follow-ups/<int:pk>/status/", views.follow_up_status, name="follow_up_status"),
]

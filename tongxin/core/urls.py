from django.urls import path

from tongxin.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    # Audit administrator: the trail and its export.
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export/", views.audit_export, name="audit_export"),
    # System administrator: background jobs that failed.
    path("jobs/failures/", views.job_failures, name="job_failures"),
]

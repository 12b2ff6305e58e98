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
    # Spreadsheet imports: each kind's upload page and template, then the job's own pages.
    path("imports/", views.import_list, name="import_list"),
    path("imports/jobs/<int:pk>/", views.import_job, name="import_job"),
    path("imports/jobs/<int:pk>/progress/", views.import_job_progress, name="import_job_progress"),
    path("imports/jobs/<int:pk>/errors/", views.import_job_errors, name="import_job_errors"),
    path("imports/<slug:kind>/", views.import_upload, name="import_upload"),
    path("imports/<slug:kind>/template/", views.import_template, name="import_template"),
]

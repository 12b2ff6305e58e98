"""The signed-in landing page, the health check, the audit trail, failed background jobs and
the spreadsheet import pages (upload, template, job progress and outcome, error report)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.accounts.filters import AuditRecordFilter
from tongxin.accounts.models import BUSINESS_ROLES, Role
from tongxin.accounts.selectors import audit_records_for, job_failures_for
from tongxin.accounts.services import audit_records_export
from tongxin.core import import_jobs, imports
from tongxin.core.exports import content_disposition, stamped_filename, xlsx_download
from tongxin.core.models import ImportJob
from tongxin.core.policy import PUBLIC, SIGNED_IN, policy, roles
from tongxin.core.scoping import has_role
from tongxin.core.xlsx import XLSX_CONTENT_TYPE

AUDIT_PAGE_SIZE = 50
IMPORT_ERRORS_SHOWN = 50


@policy(SIGNED_IN)
def home(request: HttpRequest) -> HttpResponse:
    from tongxin.orgs.selectors import subtree_summary

    assignments = request.user.assignments.select_related("node", "unit").order_by("node__path")
    summary = subtree_summary(request.user) if has_role(request.user, BUSINESS_ROLES) else None
    return render(request, "core/home.html", {"assignments": assignments, "summary": summary})


@policy(PUBLIC)
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@policy(roles(Role.AUDIT_ADMIN))
def audit_list(request: HttpRequest) -> HttpResponse:
    filterset = AuditRecordFilter(request.GET or None, queryset=audit_records_for(request.user))
    page = Paginator(filterset.qs, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for record in page:
        record.changes_text = json.dumps(record.changes, ensure_ascii=False, sort_keys=True)
    return render(
        request,
        "core/audit_list.html",
        {"filter": filterset, "page": page, "query": _query_without_page(request)},
    )


@policy(roles(Role.AUDIT_ADMIN))
@require_POST
def audit_export(request: HttpRequest) -> HttpResponse:
    """The records the list shows (same query string), as .xlsx; the export is itself audited."""
    filterset = AuditRecordFilter(request.GET or None, queryset=audit_records_for(request.user))
    back = f"{reverse('core:audit_list')}?{_query_without_page(request)}"
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, " ".join(e for errs in filterset.errors.values() for e in errs))
        return redirect(back)
    try:
        content = audit_records_export(
            actor=request.user,
            records=filterset.qs,
            filters=filterset.applied() if filterset.is_bound else {},
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(
        stamped_filename(_("审计日志")), stamped_filename("audit")
    )
    return response


@policy(roles(Role.SYS_ADMIN))
def job_failures(request: HttpRequest) -> HttpResponse:
    page = Paginator(job_failures_for(request.user), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "core/job_failures.html", {"page": page, "query": ""})


# ---------------------------------------------------------------------------------------------
# spreadsheet imports (core/imports.py, core/import_jobs.py). The URL policy is "signed in";
# each kind's own policy is checked by `get_importer_for_user` (403), and a job is only ever
# shown to its creator (404 for anyone else).


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Excel 文件（.xlsx）"),
        widget=forms.ClearableFileInput(
            attrs={
                "class": "form-control",
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            }
        ),
    )


def _list_url(importer: imports.Importer | type[imports.Importer] | None) -> str:
    if importer is None or not importer.list_url_name:
        return reverse("core:import_list")
    try:
        return reverse(importer.list_url_name)
    except NoReverseMatch:
        return reverse("core:import_list")


@policy(SIGNED_IN)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest, kind: str) -> HttpResponse:
    importer = import_jobs.get_importer_for_user(request.user, kind)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                job = import_jobs.import_job_create(
                    actor=request.user, kind=kind, upload=form.cleaned_data["file"]
                )
            except ValidationError as exc:
                for message in exc.message_dict.get("file", exc.messages):
                    form.add_error("file", message)
            else:
                return redirect("core:import_job", pk=job.pk)
    columns = [
        {"header": c.header, "required": c.required, "rule": importer.describe(c)}
        for c in importer.columns
    ]
    return render(
        request,
        "core/import_upload.html",
        {
            "importer": importer,
            "form": form,
            "columns": columns,
            "rules": imports.general_rules(importer),
            "back": _list_url(importer),
        },
        status=status,
    )


@policy(SIGNED_IN)
@require_GET
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    importer = import_jobs.get_importer_for_user(request.user, kind)
    return xlsx_download(
        imports.template_bytes(importer),
        importer.template_filename(),
        importer.template_ascii_filename(),
    )


def _job_context(job: ImportJob) -> dict:
    importer = imports.get_importer(job.kind)
    return {
        "job": job,
        "title": importer.title if importer else job.kind,
        "back": _list_url(importer),
        "errors": job.errors[:IMPORT_ERRORS_SHOWN],
        "more_errors": max(job.error_count - IMPORT_ERRORS_SHOWN, 0),
    }


@policy(SIGNED_IN)
@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_jobs.get_import_job_for_user(request.user, pk)
    return render(request, "core/import_job.html", _job_context(job))


@policy(SIGNED_IN)
@require_GET
def import_job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the progress card, polled every second until the job has finished."""
    job = import_jobs.get_import_job_for_user(request.user, pk)
    return render(request, "core/_import_progress.html", _job_context(job))


@policy(SIGNED_IN)
@require_GET
def import_job_errors(request: HttpRequest, pk: int) -> FileResponse:
    job = import_jobs.get_import_job_for_user(request.user, pk)
    if not job.error_report:
        raise Http404
    try:
        handle = job.error_report.open("rb")
    except OSError:
        raise Http404 from None
    stem = _("%(title)s导入错误报告-%(id)d") % {"title": _job_context(job)["title"], "id": job.pk}
    response = FileResponse(handle, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(
        f"{stem}.xlsx", f"import-errors-{job.pk}.xlsx"
    )
    return response


@policy(SIGNED_IN)
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = import_jobs.import_jobs_for(request.user)
    page = Paginator(jobs, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    titles = {kind: cls.title for kind, cls in imports.importers().items()}
    for job in page:
        job.title = titles.get(job.kind, job.kind)
    return render(request, "core/import_list.html", {"page": page, "query": ""})

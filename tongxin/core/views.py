"""The signed-in landing page, the health check, the audit trail and failed background jobs."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tongxin.accounts.filters import AuditRecordFilter
from tongxin.accounts.models import BUSINESS_ROLES, Role
from tongxin.accounts.selectors import audit_records_for, job_failures_for
from tongxin.accounts.services import audit_records_export
from tongxin.core.policy import PUBLIC, SIGNED_IN, policy, roles
from tongxin.core.scoping import has_role

AUDIT_PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.xlsx"'
    return response


@policy(roles(Role.SYS_ADMIN))
def job_failures(request: HttpRequest) -> HttpResponse:
    page = Paginator(job_failures_for(request.user), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "core/job_failures.html", {"page": page, "query": ""})

"""The signed-in landing page and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from tongxin.accounts.models import BUSINESS_ROLES
from tongxin.core.policy import PUBLIC, SIGNED_IN, policy
from tongxin.core.scoping import has_role


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

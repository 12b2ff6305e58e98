"""The inbox page and the unread badge in the header."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tongxin.core.policy import SIGNED_IN, policy
from tongxin.notify.selectors import get_notification_for_user, notifications_for, unread_count
from tongxin.notify.services import notification_mark_read, notifications_mark_all_read


@policy(SIGNED_IN)
def inbox(request: HttpRequest) -> HttpResponse:
    queryset = notifications_for(request.user)
    if request.GET.get("unread") == "1":
        queryset = queryset.filter(read_at__isnull=True)
    page = Paginator(queryset, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/inbox.html",
        {
            "page": page,
            "unread": unread_count(request.user),
            "only_unread": "unread" in request.GET,
        },
    )


@policy(SIGNED_IN)
def unread_badge(request: HttpRequest) -> HttpResponse:
    return render(request, "notify/badge.html", {"unread": unread_count(request.user)})


@policy(SIGNED_IN)
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    note = notification_mark_read(
        user=request.user, notification=get_notification_for_user(request.user, pk)
    )
    safe = note.link and url_has_allowed_host_and_scheme(note.link, allowed_hosts=None)
    return redirect(note.link if safe and request.POST.get("open") else "notify:inbox")


@policy(SIGNED_IN)
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_all_read(user=request.user)
    return redirect("notify:inbox")

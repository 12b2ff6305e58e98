"""Pages of the event workflow: phone pages for grid managers and residents (report, my events,
one-tap moves), staff pages (list with filters, detail, whistle), the department inbox, measures
and the district's configuration of categories and departments.

Thin by design: fetch with `get_event_for_user` (404 outside scope), parse with a form, call one
service, redirect. Only the moves the user may make are shown; the service checks again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tongxin.accounts.models import Role
from tongxin.core.errors import ConflictError
from tongxin.core.idempotency import (
    Answer,
    IdempotencyKeyReused,
    request_fingerprint,
    run_once,
    valid_key,
)
from tongxin.core.policy import policy, roles
from tongxin.core.scoping import has_role
from tongxin.events import selectors, services
from tongxin.events.forms import (
    CategoryForm,
    DepartmentForm,
    EventFilterForm,
    MoveForm,
    ReportForm,
    StaffForm,
    StationForm,
    StatsForm,
    apply_service_errors,
)
from tongxin.events.models import (
    Action,
    Category,
    Department,
    DepartmentStaff,
    EventPhoto,
    Source,
)
from tongxin.events.rules import (
    CONFIG_ROLES,
    REPORTING_ROLES,
    STAFF_ROLES,
    SUPERVISING_ROLES,
    available_moves,
    department_ids,
    my_assignments,
)
from tongxin.events.workflow import ACTIONS_NEEDING_INPUT, find_move

EVENTS = roles(REPORTING_ROLES)
STAFF = roles(STAFF_ROLES)
DEPARTMENT = roles(Role.DEPARTMENT)
CONFIG = roles(CONFIG_ROLES)
PAGE_SIZE = 20


def _page(request: HttpRequest, queryset: Any, size: int = PAGE_SIZE) -> Any:
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# ---------------------------------------------------------------------------------------------
# lists


@policy(STAFF)
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(
        request.GET or None,
        categories=Category.objects.filter(parent__isnull=True),
        nodes=selectors.filter_nodes(request.user).select_related("parent"),
    )
    filters = selectors.EventFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.EventFilters(
            category=data["category"],
            state=data["state"] or None,
            level=data["level"] or None,
            source=data["source"] or None,
            overdue=data["overdue"],
            node=data["node"],
            query=data["q"],
            since=data["since"],
            until=data["until"],
        )
    page = _page(request, selectors.event_list(request.user, filters))
    return render(
        request,
        "events/list.html",
        {"form": form, "page": page, "query": _query_without_page(request), "now": timezone.now()},
    )


@policy(EVENTS)
@require_GET
def my_events(request: HttpRequest) -> HttpResponse:
    events = list(selectors.my_grid_events(request.user)[:100])
    return render(request, "events/mine.html", {"events": events, "now": timezone.now()})


@policy(DEPARTMENT)
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    include_handled = request.GET.get("all") == "1"
    page = _page(request, selectors.department_inbox(request.user, include_handled=include_handled))
    return render(
        request,
        "events/inbox.html",
        {
            "page": page,
            "include_handled": include_handled,
            "query": _query_without_page(request),
            "now": timezone.now(),
            "linked": bool(department_ids(request.user)),
        },
    )


# ---------------------------------------------------------------------------------------------
# reporting


def _report_form(request: HttpRequest, data: Any = None, files: Any = None) -> ReportForm:
    return ReportForm(
        data,
        files,
        categories=selectors.active_categories(),
        nodes=selectors.reporting_nodes(request.user),
        staff=has_role(request.user, SUPERVISING_ROLES),
    )


@policy(EVENTS)
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "events/report.html", {"form": _report_form(request)})
    form = _report_form(request, request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "events/report.html", {"form": form}, status=400)
    data = form.cleaned_data
    key = data["idempotency_key"]
    scope = "events.report.page"
    posted = request.POST.copy()
    posted.pop("csrfmiddlewaretoken", None)

    def produce() -> Answer:
        event = services.event_report(
            actor=request.user,
            category=data["category"],
            description=data["description"],
            source=data.get("source") or Source.RESIDENT,
            priority=data["priority"],
            lng=data.get("lng"),
            lat=data.get("lat"),
            address=data.get("address", ""),
            node=data.get("node"),
            reporter_name=data.get("reporter_name", ""),
            reporter_phone=data.get("reporter_phone", ""),
            photos=data.get("photos") or [],
        )
        return Answer(201, {"event": event.pk})

    try:
        if valid_key(key):
            answer = run_once(
                user=request.user,
                key=key,
                scope=scope,
                fingerprint=request_fingerprint(request, scope, data=posted),
                produce=produce,
            )
        else:
            answer = produce()
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return render(request, "events/report.html", {"form": form}, status=400)
    except IdempotencyKeyReused:
        form.add_error(None, _("该表单已提交过不同的内容，请刷新页面后重新填写。"))
        return render(request, "events/report.html", {"form": form}, status=422)
    if answer.replayed:
        messages.info(request, _("该事件已提交，未重复登记。"))
    else:
        messages.success(request, _("事件已上报。"))
    return redirect("events:detail", pk=answer.body["event"])


@policy(EVENTS)
@require_GET
def similar(request: HttpRequest) -> HttpResponse:
    """htmx: possible duplicates near the point being reported."""
    hits: list[Any] = []
    try:
        lng = float(request.GET.get("lng", ""))
        lat = float(request.GET.get("lat", ""))
        category = Category.objects.filter(
            pk=int(request.GET.get("category", "")), is_active=True
        ).first()
    except ValueError:
        category = None
    if category is not None and -180 <= lng <= 180 and -90 <= lat <= 90:
        hits = selectors.similar_events(request.user, lng=lng, lat=lat, category=category)
    return render(request, "events/_similar.html", {"hits": hits})


# ---------------------------------------------------------------------------------------------
# one event


def _move_buttons(user: Any, event: Any) -> list[dict[str, Any]]:
    return [
        {
            "action": m.action,
            "label": Action(m.action).label,
            "form": m.action in ACTIONS_NEEDING_INPUT,
            "url": reverse("events:move", args=[event.pk, m.action]),
            "danger": m.action in (Action.REJECT, Action.RETURN, Action.MERGE),
            "confirm": m.action in (Action.ESCALATE, Action.CLOSE, Action.RESOLVE),
            # the move that finishes the step is the green one; passing it on is secondary
            "primary": m.action in (Action.ACCEPT, Action.RESOLVE, Action.ACKNOWLEDGE),
        }
        for m in available_moves(user, event)
    ]


@policy(EVENTS)
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.get_event_for_user(request.user, pk)
    return render(
        request,
        "events/detail.html",
        {
            "event": event,
            "moves": _move_buttons(request.user, event),
            "now": timezone.now(),
            "staff": has_role(request.user, SUPERVISING_ROLES),
            "mine": my_assignments(request.user, event),
        },
    )


def _move_form(request: HttpRequest, event: Any, action: str, data: Any = None) -> MoveForm:
    own = Department.objects.filter(
        pk__in=[a.department_id for a in my_assignments(request.user, event)]
    )
    return MoveForm(
        data,
        action=action,
        departments=selectors.whistle_departments(event) if action == Action.WHISTLE else None,
        own_departments=own,
        candidates=selectors.merge_candidates(request.user, event)
        if action == Action.MERGE
        else None,
        initial={"version": event.version},
    )


@policy(EVENTS)
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    event = selectors.get_event_for_user(request.user, pk)
    if action not in Action.values or action == Action.REPORT:
        raise Http404
    if request.method == "GET":
        if find_move(event.state, action) is None or not any(
            m.action == action for m in available_moves(request.user, event)
        ):
            messages.error(request, _("当前不能对该事件执行此操作。"))
            return redirect("events:detail", pk=event.pk)
        form = _move_form(request, event, action)
        return render(
            request, "events/move.html", {"event": event, "form": form, "action": Action(action)}
        )
    form = _move_form(request, event, action, request.POST)
    from_form_page = request.POST.get("from") == "form"
    if not form.is_valid():
        if from_form_page or action in ACTIONS_NEEDING_INPUT:
            return render(
                request,
                "events/move.html",
                {"event": event, "form": form, "action": Action(action)},
                status=400,
            )
        messages.error(request, _("提交的内容有误，请重试。"))
        return redirect("events:detail", pk=event.pk)
    data = form.cleaned_data
    try:
        services.event_transition(
            actor=request.user,
            event=event,
            action=action,
            note=data.get("note", ""),
            departments=list(data.get("departments") or []),
            department=data.get("department"),
            score=data.get("score"),
            duplicate_of=data.get("duplicate_of"),
            version=data.get("version"),
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return render(
            request,
            "events/move.html",
            {"event": event, "form": form, "action": Action(action)},
            status=400,
        )
    except (ConflictError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("您不能执行此操作。"))
        return redirect("events:detail", pk=event.pk)
    messages.success(request, _("已%(action)s。") % {"action": Action(action).label})
    return redirect("events:detail", pk=event.pk)


@policy(EVENTS)
@require_GET
def photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A photo, only to those who may see its event (uploads are never served directly)."""
    found = get_object_or_404(EventPhoto.objects.only("event_id", "file", "content_type"), pk=pk)
    selectors.get_event_for_user(request.user, found.event_id)
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    response["Content-Disposition"] = "inline"
    return response


# ---------------------------------------------------------------------------------------------
# measures


@policy(STAFF)
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    form = StatsForm(
        request.GET or None, nodes=selectors.filter_nodes(request.user).select_related("parent")
    )
    node = since = until = None
    if form.is_bound and form.is_valid():
        node, since, until = (form.cleaned_data[k] for k in ("node", "since", "until"))
    measures = selectors.event_measures(request.user, node=node, since=since, until=until)
    return render(request, "events/stats.html", {"form": form, "m": measures})


# ---------------------------------------------------------------------------------------------
# configuration (district admins)


@policy(CONFIG)
@require_GET
def config(request: HttpRequest) -> HttpResponse:
    categories = Category.objects.select_related("parent").order_by("sort", "code")
    tops = [c for c in categories if c.parent_id is None]
    children: dict[int, list[Category]] = {}
    for c in categories:
        if c.parent_id:
            children.setdefault(c.parent_id, []).append(c)
    for top in tops:
        top.subs = sorted(children.get(top.pk, []), key=lambda c: (c.sort, c.code))
    departments = Department.objects.prefetch_related("stations__street", "staff__user")
    return render(request, "events/config.html", {"tops": tops, "departments": departments})


def _config_form_page(
    request: HttpRequest, form: Any, title: str, back: str, status: int = 200
) -> HttpResponse:
    return render(
        request, "events/form.html", {"form": form, "title": title, "back": back}, status=status
    )


@policy(CONFIG)
@require_http_methods(["GET", "POST"])
def config_category_new(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.category_create(
                actor=request.user,
                code=data.pop("code"),
                name=data.pop("name"),
                parent=data.pop("parent"),
                **data,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("分类已添加。"))
            return redirect("events:config")
    status = 400 if request.method == "POST" else 200
    return _config_form_page(request, form, _("新增事件分类"), reverse("events:config"), status)


@policy(CONFIG)
@require_http_methods(["GET", "POST"])
def config_category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(Category, pk=pk)
    fields = (
        "name",
        "description",
        "sort",
        "days_grid",
        "days_community",
        "days_street",
        "days_department",
        "is_public",
        "is_active",
    )
    initial = {f: getattr(category, f) for f in fields} | {"version": category.version}
    form = CategoryForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version") or 0
        try:
            services.category_update(actor=request.user, category=category, version=version, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("分类已保存。"))
            return redirect("events:config")
    status = 400 if request.method == "POST" else 200
    title = _("编辑事件分类：%(name)s") % {"name": category.full_name}
    return _config_form_page(request, form, title, reverse("events:config"), status)


@policy(CONFIG)
@require_http_methods(["GET", "POST"])
def config_department_new(request: HttpRequest) -> HttpResponse:
    form = DepartmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            department = services.department_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("部门已添加。"))
            return redirect("events:config_department", pk=department.pk)
    status = 400 if request.method == "POST" else 200
    return _config_form_page(request, form, _("新增职能部门"), reverse("events:config"), status)


@policy(CONFIG)
@require_http_methods(["GET", "POST"])
def config_department(request: HttpRequest, pk: int) -> HttpResponse:
    department = get_object_or_404(Department, pk=pk)
    station_form = StationForm(prefix="station")
    staff_form = StaffForm(prefix="staff")
    status = 200
    if request.method == "POST":
        what = request.POST.get("what")
        try:
            if what == "station":
                station_form = StationForm(request.POST, prefix="station")
                if station_form.is_valid():
                    services.department_station_add(
                        actor=request.user, department=department, **station_form.cleaned_data
                    )
                    messages.success(request, _("已添加派驻街道。"))
                    return redirect("events:config_department", pk=pk)
            elif what == "staff":
                staff_form = StaffForm(request.POST, prefix="staff")
                if staff_form.is_valid():
                    services.department_staff_add(
                        actor=request.user,
                        department=department,
                        user=staff_form.cleaned_data["user"],
                    )
                    messages.success(request, _("已添加部门人员。"))
                    return redirect("events:config_department", pk=pk)
            elif what == "remove_staff":
                staff = get_object_or_404(
                    DepartmentStaff, pk=request.POST.get("staff"), department=department
                )
                services.department_staff_remove(actor=request.user, staff=staff)
                messages.success(request, _("已移出部门人员。"))
                return redirect("events:config_department", pk=pk)
        except ValidationError as exc:
            apply_service_errors(station_form if what == "station" else staff_form, exc)
        status = 400
    return render(
        request,
        "events/department.html",
        {
            "department": department,
            "stations": department.stations.select_related("street"),
            "staff": department.staff.select_related("user"),
            "station_form": station_form,
            "staff_form": staff_form,
        },
        status=status,
    )

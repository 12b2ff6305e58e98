"""Pages of co-building (共驻共建). Thin: fetch through the scoped selectors (404 outside scope),
parse with a form, call one service, redirect; refusals come back as messages or form errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.cobuild import forms, selectors, services
from tongxin.cobuild.models import (
    AgreementStatus,
    CommitmentAction,
    CommitmentEvidence,
    EvaluationDirection,
    NeedStatus,
    ProjectAction,
    ResolutionStatus,
    ResourceKind,
    RoundAction,
    RoundStatus,
)
from tongxin.cobuild.rules import COBUILD_ROLES, VENUE_ROLES, can, commitment_qualifies
from tongxin.cobuild.workflow import (
    AGREEMENT_MOVES,
    COMMITMENT_MOVES,
    PROJECT_MOVES,
    ROUND_MOVES,
    Who,
    actions_from,
)
from tongxin.core.errors import ConflictError
from tongxin.core.exports import ExportColumn, export_response
from tongxin.core.policy import PUBLIC, policy, roles
from tongxin.core.scoping import subtree_q
from tongxin.orgs.models import Level, OrgNode, ResidentUnit

COBUILD = roles(COBUILD_ROLES)
VENUES = roles(VENUE_ROLES)
PAGE_SIZE = 30


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year") or selectors.today().year)
    except ValueError:
        year = selectors.today().year
    return year if 2000 <= year <= 2100 else selectors.today().year


def _form_page(
    request: HttpRequest, form: Any, title: str, back: str, **extra: Any
) -> HttpResponse:
    return render(
        request, "cobuild/form.html", {"form": form, "title": title, "back": back, **extra}
    )


def _submit(request: HttpRequest, form: Any, call: Callable[[dict[str, Any]], Any]) -> Any | None:
    """Run the service with the form's data; service refusals land on the form."""
    if not form.is_valid():
        return None
    try:
        return call(form.cleaned_data)
    except ValidationError as exc:
        forms.apply_service_errors(form, exc)
    except (ConflictError, PermissionDenied) as exc:
        form.add_error(None, str(exc) or _("您无权执行此操作。"))
    return None


def _act(request: HttpRequest, call: Callable[[], Any], done: str) -> None:
    """A one-button action: the outcome or the refusal as a message."""
    try:
        call()
        messages.success(request, done)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except (ConflictError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("您无权执行此操作。"))


# ---------------------------------------------------------------------------------------------
# overview


@policy(COBUILD)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    year = _year(request)
    rates = selectors.fulfilment_rates(request.user, year=year)
    quarters = selectors.missed_quarters(request.user, year=year)
    return render(
        request,
        "cobuild/index.html",
        {
            "year": year,
            "rates": rates,
            "quarters": quarters,
            "missed_total": sum(len(q.missed) for q in quarters),
        },
    )


# ---------------------------------------------------------------------------------------------
# agreements


@policy(COBUILD)
@require_GET
def agreement_list(request: HttpRequest) -> HttpResponse:
    year = request.GET.get("year")
    status = request.GET.get("status") or None
    queryset = selectors.agreement_list(
        request.user, year=int(year) if year and year.isdigit() else None, status=status
    )
    return render(
        request,
        "cobuild/agreement_list.html",
        {
            "page": _page(request, queryset),
            "query": _query_without_page(request),
            "statuses": AgreementStatus.choices,
            "year": year or "",
            "status": status or "",
            "can_add": selectors.agreement_nodes(request.user).exists(),
        },
    )


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def agreement_new(request: HttpRequest) -> HttpResponse:
    form = forms.AgreementForm(
        request.POST or None,
        initial={"year": selectors.today().year},
        nodes=selectors.agreement_nodes(request.user),
        units=selectors.units_in_scope(request.user),
    )
    if request.method == "POST":
        agreement = _submit(
            request, form, lambda d: services.agreement_create(actor=request.user, **d)
        )
        if agreement:
            messages.success(request, _("协议草稿已创建，请添加双方承诺事项。"))
            return redirect("cobuild:agreement_detail", agreement.pk)
    return _form_page(request, form, _("起草共建协议"), reverse("cobuild:agreement_list"))


def _commitment_actions(user: Any, agreement: Any) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    if agreement.status != AgreementStatus.SIGNED:
        return out
    for commitment in agreement.commitments.all():
        commitment.agreement = agreement  # already fetched: no query per row
        out[commitment.pk] = [
            m
            for m in actions_from(COMMITMENT_MOVES, commitment.state)
            if Who.SYSTEM not in m.who and commitment_qualifies(user, m, commitment)
        ]
    return out


@policy(COBUILD)
@require_GET
def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = selectors.get_agreement_for_user(request.user, pk)
    manage = can(request.user, "cobuild.change_agreement", agreement)
    actions = _commitment_actions(request.user, agreement)
    commitments = list(agreement.commitments.all())
    for c in commitments:
        c.moves = [(m.action, CommitmentAction(m.action).label) for m in actions.get(c.pk, [])]
    return render(
        request,
        "cobuild/agreement_detail.html",
        {
            "agreement": agreement,
            "commitments": commitments,
            "rate": selectors.agreement_rate(agreement),
            "manage": manage,
            "acts": can(request.user, "cobuild.act_on_agreement", agreement),
            "moves": actions_from(AGREEMENT_MOVES, agreement.status) if manage else [],
            "commitment_form": forms.CommitmentForm() if agreement.status == "draft" else None,
            "copy_form": forms.CopyForm(initial={"year": agreement.year + 1}),
            "transitions": agreement.transitions.all(),
        },
    )


@policy(COBUILD)
@require_POST
def agreement_move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    agreement = selectors.get_agreement_for_user(request.user, pk)
    _act(
        request,
        lambda: services.agreement_transition(
            actor=request.user,
            agreement=agreement,
            action=action,
            version=request.POST.get("version") or None,
        ),
        _("协议状态已更新。"),
    )
    return redirect("cobuild:agreement_detail", pk)


@policy(COBUILD)
@require_POST
def agreement_copy(request: HttpRequest, pk: int) -> HttpResponse:
    source = selectors.get_agreement_for_user(request.user, pk, write=True)
    form = forms.CopyForm(request.POST)
    copy = _submit(
        request,
        form,
        lambda d: services.agreement_copy(actor=request.user, source=source, year=d["year"]),
    )
    if copy:
        messages.success(request, _("已复制为%(y)d年度协议草稿。") % {"y": copy.year})
        return redirect("cobuild:agreement_detail", copy.pk)
    messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("cobuild:agreement_detail", pk)


@policy(COBUILD)
@require_POST
def commitment_new(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = selectors.get_agreement_for_user(request.user, pk)
    form = forms.CommitmentForm(request.POST)
    done = _submit(
        request,
        form,
        lambda d: services.commitment_add(actor=request.user, agreement=agreement, **d),
    )
    if done:
        messages.success(request, _("承诺事项已添加。"))
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("cobuild:agreement_detail", pk)


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def commitment_move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    commitment = selectors.get_commitment_for_user(request.user, pk)
    if action not in CommitmentAction.values:
        raise Http404
    form = forms.CommitmentMoveForm(
        request.POST or None, request.FILES or None, initial={"version": commitment.version}
    )
    back = reverse("cobuild:agreement_detail", args=[commitment.agreement_id])
    if request.method == "POST":
        moved = _submit(
            request,
            form,
            lambda d: services.commitment_transition(
                actor=request.user,
                commitment=commitment,
                action=action,
                version=d.get("version"),
                note=d.get("note", ""),
                evidence_text=d.get("evidence_text", ""),
                files=request.FILES.getlist("files"),
            ),
        )
        if moved:
            messages.success(request, _("承诺事项已更新。"))
            return redirect(back)
    title = f"{CommitmentAction(action).label}：{commitment.content}"
    return _form_page(request, form, title, back, multipart=True, commitment=commitment)


@policy(COBUILD)
@require_GET
def evidence(request: HttpRequest, pk: int) -> FileResponse:
    row = CommitmentEvidence.objects.filter(
        pk=pk, commitment__in=selectors.visible_commitments(request.user)
    ).first()
    if row is None:
        raise Http404
    return FileResponse(row.file.open("rb"), as_attachment=True, filename=row.name)


@policy(COBUILD)
@require_GET
def rates(request: HttpRequest) -> HttpResponse:
    year = _year(request)
    return render(
        request,
        "cobuild/rates.html",
        {"year": year, "rates": selectors.fulfilment_rates(request.user, year=year)},
    )


# ---------------------------------------------------------------------------------------------
# secondments


@policy(COBUILD)
@require_GET
def secondment_list(request: HttpRequest) -> HttpResponse:
    past = request.GET.get("past") == "1"
    rows = selectors.secondment_list(request.user, current=not past)
    return render(
        request,
        "cobuild/secondment_list.html",
        {"page": _page(request, rows), "past": past, "query": _query_without_page(request)},
    )


def _communities(user: Any) -> Any:
    return selectors.agreement_nodes(user).filter(level=Level.COMMUNITY)


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def secondment_new(request: HttpRequest) -> HttpResponse:
    form = forms.SecondmentForm(
        request.POST or None,
        units=selectors.units_in_scope(request.user),
        communities=_communities(request.user),
    )
    if request.method == "POST" and _submit(
        request, form, lambda d: services.secondment_create(actor=request.user, **d)
    ):
        messages.success(request, _("挂职信息已登记。"))
        return redirect("cobuild:secondment_list")
    return _form_page(request, form, _("登记双向挂职"), reverse("cobuild:secondment_list"))


# ---------------------------------------------------------------------------------------------
# resources, needs, projects


@policy(COBUILD)
@require_GET
def resource_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or None
    return render(
        request,
        "cobuild/resource_list.html",
        {
            "page": _page(request, selectors.resource_list(request.user, kind=kind)),
            "kinds": ResourceKind.choices,
            "kind": kind or "",
            "query": _query_without_page(request),
        },
    )


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def resource_new(request: HttpRequest) -> HttpResponse:
    form = forms.ResourceForm(request.POST or None, units=selectors.units_in_scope(request.user))
    if request.method == "POST" and _submit(
        request, form, lambda d: services.resource_create(actor=request.user, **d)
    ):
        messages.success(request, _("资源已发布。"))
        return redirect("cobuild:resource_list")
    return _form_page(request, form, _("发布资源"), reverse("cobuild:resource_list"))


@policy(COBUILD)
@require_POST
def resource_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.get_resource_for_user(request.user, pk, write=True)
    _act(
        request,
        lambda: services.resource_set_active(actor=request.user, item=item, active=not item.active),
        _("资源状态已更新。"),
    )
    return redirect("cobuild:resource_list")


@policy(COBUILD)
@require_GET
def need_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    return render(
        request,
        "cobuild/need_list.html",
        {
            "page": _page(request, selectors.need_list(request.user, status=status)),
            "statuses": NeedStatus.choices,
            "status": status or "",
            "query": _query_without_page(request),
            "can_add": _communities(request.user).exists(),
        },
    )


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def need_new(request: HttpRequest) -> HttpResponse:
    form = forms.NeedForm(request.POST or None, communities=_communities(request.user))
    if request.method == "POST" and _submit(
        request, form, lambda d: services.need_create(actor=request.user, **d)
    ):
        messages.success(request, _("需求已发布。"))
        return redirect("cobuild:need_list")
    return _form_page(request, form, _("发布需求"), reverse("cobuild:need_list"))


@policy(COBUILD)
@require_GET
def need_detail(request: HttpRequest, pk: int) -> HttpResponse:
    need = selectors.get_need_for_user(request.user, pk)
    manage = can(request.user, "cobuild.add_need", need.community)
    return render(
        request,
        "cobuild/need_detail.html",
        {
            "need": need,
            "manage": manage,
            "matches": selectors.need_matches(need) if need.status == NeedStatus.OPEN else [],
            "projects": need.projects.select_related("unit"),
        },
    )


@policy(COBUILD)
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cobuild/project_list.html",
        {
            "page": _page(request, selectors.project_list(request.user)),
            "query": _query_without_page(request),
            "can_add": _communities(request.user).exists(),
        },
    )


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def project_new(request: HttpRequest) -> HttpResponse:
    """A project, from scratch or from a match (?need=&resource=)."""
    need = resource = None
    if request.GET.get("need"):
        need = selectors.get_need_for_user(request.user, request.GET["need"], write=True)
    if request.GET.get("resource") and need is not None:
        resource = next(
            (r for r in selectors.need_matches(need) if str(r.pk) == request.GET["resource"]),
            None,
        )
        if resource is None:
            raise Http404
    initial = {"starts_on": selectors.today(), "published": True, "beneficiary_count": 0}
    if need is not None:
        initial.update(title=need.title, description=need.description, community=need.community)
    form = forms.ProjectForm(
        request.POST or None, initial=initial, communities=_communities(request.user)
    )
    if need is not None:
        form.fields["community"].disabled = True
    if request.method == "POST":
        project = _submit(
            request,
            form,
            lambda d: services.project_create(
                actor=request.user,
                need=need,
                resource=resource,
                **{k: v for k, v in d.items() if not (k == "community" and need is not None)},
            ),
        )
        if project:
            messages.success(request, _("服务项目已立项。"))
            return redirect("cobuild:project_detail", project.pk)
    title = _("对接立项：%(n)s") % {"n": need.title} if need else _("新建服务项目")
    return _form_page(
        request, form, title, reverse("cobuild:project_list"), need=need, resource=resource
    )


@policy(COBUILD)
@require_GET
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.get_project_for_user(request.user, pk)
    manage = can(request.user, "cobuild.change_project", project)
    return render(
        request,
        "cobuild/project_detail.html",
        {
            "project": project,
            "moves": [
                (m.action, ProjectAction(m.action).label)
                for m in actions_from(PROJECT_MOVES, project.state)
            ]
            if manage
            else [],
            "form": forms.ProjectMoveForm(initial={"version": project.version}),
        },
    )


@policy(COBUILD)
@require_POST
def project_move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    project = selectors.get_project_for_user(request.user, pk)
    if action not in ProjectAction.values:
        raise Http404
    form = forms.ProjectMoveForm(request.POST)
    if _submit(
        request,
        form,
        lambda d: services.project_transition(
            actor=request.user,
            project=project,
            action=action,
            version=d.get("version"),
            note=d.get("note", ""),
            outcome=d.get("outcome", ""),
            beneficiary_count=d.get("beneficiary_count"),
        ),
    ):
        messages.success(request, _("项目状态已更新。"))
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("cobuild:project_detail", pk)


@policy(PUBLIC)
@require_GET
def public_projects(request: HttpRequest, community_id: int) -> HttpResponse:
    """What residents of a community see (no personal data: titles, units, dates, outcomes)."""
    community = OrgNode.objects.filter(
        pk=community_id, level=Level.COMMUNITY, closed_at__isnull=True
    ).first()
    if community is None:
        raise Http404
    return render(
        request,
        "cobuild/public_projects.html",
        {"community": community, "projects": selectors.public_projects(community)[:100]},
    )


# ---------------------------------------------------------------------------------------------
# venues


@policy(VENUES)
@require_GET
def venue_list(request: HttpRequest) -> HttpResponse:
    mine = request.GET.get("mine") == "1"
    return render(
        request,
        "cobuild/venue_list.html",
        {
            "page": _page(request, selectors.venue_list(request.user, mine=mine)),
            "mine": mine,
            "query": _query_without_page(request),
            "can_add": selectors.units_in_scope(request.user).exists(),
        },
    )


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def venue_new(request: HttpRequest) -> HttpResponse:
    form = forms.VenueForm(request.POST or None, units=selectors.units_in_scope(request.user))
    if request.method == "POST":
        venue = _submit(
            request,
            form,
            lambda d: services.venue_create(
                actor=request.user,
                unit=d["unit"],
                name=d["name"],
                address=d["address"],
                capacity=d["capacity"],
                description=d["description"],
                openings=[(w, d["opens"], d["closes"]) for w in d["weekdays"]],
            ),
        )
        if venue:
            messages.success(request, _("场地已开放。"))
            return redirect("cobuild:venue_detail", venue.pk)
    return _form_page(request, form, _("开放场地"), reverse("cobuild:venue_list"))


@policy(VENUES)
@require_http_methods(["GET", "POST"])
def venue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    venue = selectors.get_venue_for_user(request.user, pk)
    form = forms.BookingForm(request.POST or None)
    if request.method == "POST":
        tz = timezone.get_current_timezone()

        def book(d: dict[str, Any]) -> Any:
            return services.booking_create(
                actor=request.user,
                venue=venue,
                starts_at=dt.datetime.combine(d["day"], d["starts"], tzinfo=tz),
                ends_at=dt.datetime.combine(d["day"], d["ends"], tzinfo=tz),
                purpose=d["purpose"],
                organization=d["organization"],
                attendees=d["attendees"],
            )

        if _submit(request, form, book):
            messages.success(request, _("预约成功。"))
            return redirect("cobuild:venue_detail", pk)
    now = timezone.now()
    return render(
        request,
        "cobuild/venue_detail.html",
        {
            "venue": venue,
            "form": form,
            "manage": can(request.user, "cobuild.change_venue", venue),
            "bookings": selectors.venue_bookings(request.user, venue, since=now),
            "busy": selectors.busy_slots(venue, since=now, until=now + dt.timedelta(days=30)),
            "openings": venue.openings.all(),
        },
    )


@policy(VENUES)
@require_POST
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking = selectors.get_booking_for_user(request.user, pk)
    _act(
        request,
        lambda: services.booking_cancel(actor=request.user, booking=booking),
        _("预约已取消。"),
    )
    return redirect("cobuild:venue_detail", booking.venue_id)


# ---------------------------------------------------------------------------------------------
# joint meetings


@policy(COBUILD)
@require_GET
def meeting_list(request: HttpRequest) -> HttpResponse:
    year = _year(request)
    return render(
        request,
        "cobuild/meeting_list.html",
        {
            "year": year,
            "page": _page(request, selectors.meeting_list(request.user, year=year)),
            "query": _query_without_page(request),
            "quarters": selectors.missed_quarters(request.user, year=year),
            "can_add": selectors.body_nodes(request.user).exists(),
        },
    )


@policy(COBUILD)
@require_GET
def body_detail(request: HttpRequest, pk: int) -> HttpResponse:
    body = selectors.body_nodes(request.user).filter(pk=pk).first()
    if body is None:
        raise Http404
    year = _year(request)
    return render(
        request,
        "cobuild/body_detail.html",
        {
            "body": body,
            "year": year,
            "quarters": selectors.meeting_quarters([body], year=year)[0],
            "meetings": selectors.meeting_list(request.user, body=body, year=year),
            "members": selectors.committee_choices(body),
        },
    )


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def meeting_new(request: HttpRequest) -> HttpResponse:
    bodies = selectors.body_nodes(request.user)
    body = bodies.filter(pk=request.GET.get("body") or 0).first() or bodies.first()
    from tongxin.orgs.models import CommitteeMember

    members = selectors.committee_choices(body) if body else CommitteeMember.objects.none()
    form = forms.MeetingForm(
        request.POST or None,
        initial={"body": body, "held_on": selectors.today()},
        bodies=bodies,
        members=members,
    )
    if request.method == "POST":
        meeting = _submit(
            request,
            form,
            lambda d: services.meeting_create(
                actor=request.user,
                body=d["body"],
                held_on=d["held_on"],
                title=d["title"],
                location=d["location"],
                agenda=d["agenda"],
                minutes=d["minutes"],
                attendance=[{"member": m, "present": True} for m in d["members"]],
                resolutions=d["resolutions"],
            ),
        )
        if meeting:
            messages.success(request, _("联席会议已登记。"))
            return redirect("cobuild:meeting_detail", meeting.pk)
    return _form_page(
        request, form, _("登记联席会议"), reverse("cobuild:meeting_list"), bodies=bodies, body=body
    )


@policy(COBUILD)
@require_GET
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.get_meeting_for_user(request.user, pk)
    resolutions = list(meeting.resolutions.all())
    for r in resolutions:
        r.meeting = meeting
        r.can_follow = can(request.user, "cobuild.follow_up_resolution", r)
    return render(
        request,
        "cobuild/meeting_detail.html",
        {
            "meeting": meeting,
            "resolutions": resolutions,
            "statuses": ResolutionStatus.choices,
        },
    )


@policy(COBUILD)
@require_POST
def resolution_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    resolution = selectors.get_resolution_for_user(request.user, pk)
    form = forms.FollowUpForm(request.POST)
    if _submit(
        request,
        form,
        lambda d: services.resolution_follow_up(
            actor=request.user,
            resolution=resolution,
            status=d["status"],
            note=d["note"],
            version=d.get("version"),
        ),
    ):
        messages.success(request, _("跟进情况已记录。"))
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("cobuild:meeting_detail", resolution.meeting_id)


# ---------------------------------------------------------------------------------------------
# evaluation rounds


@policy(COBUILD)
@require_GET
def round_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cobuild/round_list.html",
        {
            "rounds": selectors.round_list(request.user)[:100],
            "can_add": selectors.agreement_nodes(request.user).exists(),
        },
    )


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def round_new(request: HttpRequest) -> HttpResponse:
    form = forms.RoundForm(
        request.POST or None,
        initial={"year": selectors.today().year},
        nodes=selectors.agreement_nodes(request.user),
    )
    if request.method == "POST":
        evaluation = _submit(
            request, form, lambda d: services.round_create(actor=request.user, **d)
        )
        if evaluation:
            return redirect("cobuild:round_detail", evaluation.pk)
    return _form_page(request, form, _("发起双向评议"), reverse("cobuild:round_list"))


@policy(COBUILD)
@require_GET
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = selectors.get_round_for_user(request.user, pk)
    manage = can(request.user, "cobuild.change_round", evaluation)
    items = list(evaluation.items.all())
    sheets_forms = []
    for value, label in EvaluationDirection.choices:
        lines = "\n".join(f"{i.name}｜{i.weight}" for i in items if i.direction == value)
        sheets_forms.append(
            (
                label,
                [i for i in items if i.direction == value],
                forms.ItemsForm(initial={"direction": value, "lines": lines}),
            )
        )
    units = selectors.round_units(evaluation)
    return render(
        request,
        "cobuild/round_detail.html",
        {
            "round": evaluation,
            "manage": manage,
            "directions": sheets_forms,
            "moves": [
                (m.action, RoundAction(m.action).label)
                for m in actions_from(ROUND_MOVES, evaluation.status)
            ]
            if manage
            else [],
            "sheets": selectors.visible_sheets(request.user, evaluation),
            "results": selectors.round_results(evaluation)
            if evaluation.status != RoundStatus.SETUP
            else None,
            "awards": selectors.round_awards(evaluation),
            "award_form": forms.AwardForm(units=units) if manage else None,
            "report_form": forms.ReportForm(),
            "reports": evaluation.reports.select_related("unit", "community"),
            "my_units": units.filter(pk__in=selectors.own_unit_ids(request.user)),
            # the community scores each unit: units located where the user is an admin
            "scorable_units": units.filter(
                subtree_q(selectors.staff_paths(request.user), "node__path")
            ),
        },
    )


@policy(COBUILD)
@require_POST
def round_items(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = selectors.get_round_for_user(request.user, pk, write=True)
    form = forms.ItemsForm(request.POST)
    if _submit(
        request,
        form,
        lambda d: services.round_set_items(
            actor=request.user, evaluation=evaluation, direction=d["direction"], items=d["lines"]
        ),
    ):
        messages.success(request, _("评分表已保存。"))
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("cobuild:round_detail", pk)


@policy(COBUILD)
@require_POST
def round_move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    evaluation = selectors.get_round_for_user(request.user, pk)
    _act(
        request,
        lambda: services.round_transition(actor=request.user, evaluation=evaluation, action=action),
        _("评议状态已更新。"),
    )
    return redirect("cobuild:round_detail", pk)


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def sheet_new(request: HttpRequest, pk: int, direction: str, unit_id: int) -> HttpResponse:
    evaluation = selectors.get_round_for_user(request.user, pk)
    if direction not in EvaluationDirection.values:
        raise Http404
    unit = selectors.round_units(evaluation).filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    items = [i for i in evaluation.items.all() if i.direction == direction]
    errors: list[str] = []
    if request.method == "POST":
        scores = {i.pk: request.POST.get(f"item_{i.pk}", "") for i in items}
        try:
            services.sheet_submit(
                actor=request.user,
                evaluation=evaluation,
                direction=direction,
                unit=unit,
                scores=scores,
                comment=request.POST.get("comment", ""),
            )
            messages.success(request, _("评分已提交。"))
            return redirect("cobuild:round_detail", pk)
        except ValidationError as exc:
            errors = exc.messages
        except (ConflictError, PermissionDenied) as exc:
            errors = [str(exc) or _("您无权执行此操作。")]
    return render(
        request,
        "cobuild/sheet_form.html",
        {
            "round": evaluation,
            "unit": unit,
            "direction": EvaluationDirection(direction),
            "items": items,
            "errors": errors,
            "values": request.POST,
        },
    )


@policy(COBUILD)
@require_POST
def award_new(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = selectors.get_round_for_user(request.user, pk, write=True)
    form = forms.AwardForm(request.POST, units=selectors.round_units(evaluation))
    if _submit(
        request,
        form,
        lambda d: services.award_record(actor=request.user, evaluation=evaluation, **d),
    ):
        messages.success(request, _("表彰已记录。"))
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("cobuild:round_detail", pk)


@policy(COBUILD)
@require_POST
def report_new(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = selectors.get_round_for_user(request.user, pk)
    form = forms.ReportForm(request.POST, request.FILES)
    unit = community = None
    unit_id = request.POST.get("unit")
    if unit_id:
        unit = selectors.round_units(evaluation).filter(pk=unit_id).first()
    else:
        community = (
            selectors.round_communities(evaluation)
            .filter(pk=request.POST.get("community") or 0)
            .first()
        )
    if _submit(
        request,
        form,
        lambda d: services.report_submit(
            actor=request.user, evaluation=evaluation, unit=unit, community=community, **d
        ),
    ):
        messages.success(request, _("述职材料已提交。"))
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("cobuild:round_detail", pk)


# ---------------------------------------------------------------------------------------------
# consultations and annual reports


@policy(COBUILD)
@require_GET
def consultation_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cobuild/consultation_list.html",
        {
            "page": _page(request, selectors.consultation_list(request.user)),
            "query": _query_without_page(request),
        },
    )


@policy(COBUILD)
@require_http_methods(["GET", "POST"])
def consultation_new(request: HttpRequest) -> HttpResponse:
    form = forms.ConsultationForm(
        request.POST or None,
        initial={"consulted_on": selectors.today()},
        units=selectors.units_in_scope(request.user),
    )
    if request.method == "POST" and _submit(
        request, form, lambda d: services.consultation_record(actor=request.user, **d)
    ):
        messages.success(request, _("征求意见记录已登记。"))
        return redirect("cobuild:consultation_list")
    return _form_page(request, form, _("登记征求社区意见"), reverse("cobuild:consultation_list"))


@policy(COBUILD)
@require_GET
def unit_reports(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cobuild/unit_reports.html",
        {
            "units": selectors.units_in_scope(request.user).select_related("node")[:300],
            "year": _year(request),
        },
    )


@policy(COBUILD)
@require_GET
def unit_report(request: HttpRequest, pk: int) -> HttpResponse:
    unit = selectors.get_report_unit_for_user(request.user, pk)
    year = _year(request)
    report = selectors.annual_report(unit, year)
    return render(
        request, "cobuild/unit_report.html", {"unit": unit, "report": report, "year": year}
    )


@policy(COBUILD)
@require_POST
def unit_report_export(request: HttpRequest, pk: int) -> FileResponse:
    unit = selectors.get_report_unit_for_user(request.user, pk)
    year = _year(request)
    lines = selectors.annual_report(unit, year).lines()
    return export_response(
        ResidentUnit.objects.filter(pk=unit.pk),
        [
            ExportColumn(_("项目"), lambda row: row[0], width=40),
            ExportColumn(_("数值"), lambda row: row[1], width=30),
        ],
        filename=_("%(unit)s%(year)d年度共驻共建报告") % {"unit": unit.name, "year": year},
        actor=request.user,
        action="cobuild.annual_report.export",
        filters={"unit": unit.pk, "year": year},
        rows=lines,
        sheet_title=_("年度共建报告"),
    )

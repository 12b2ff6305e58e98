"""Pages of the services to residents: phone pages for residents and members (post a wish, the
wall, claim and fulfil, order a service, take orders, sign up and check in, my hours, the nearest
service points on a map) and the community's pages (vet wishes, counts, publish activities with
their check-in code and QR, review hours, place orders for special-group residents, add points).

Thin by design: fetch with `get_<x>_for_user` (404 outside scope), parse, call one service,
redirect. Only the moves the user may make are shown; the service checks again.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.accounts.models import MANAGING_ROLES
from tongxin.core.errors import ConflictError
from tongxin.core.idempotency import (
    Answer,
    IdempotencyKeyReused,
    request_fingerprint,
    run_once,
    valid_key,
)
from tongxin.core.policy import policy, roles
from tongxin.core.scoping import has_role, subtree_q
from tongxin.orgs.models import Level, OrgNode
from tongxin.outreach import selectors, services
from tongxin.outreach.forms import (
    ActivityForm,
    HoursClaimForm,
    OrderForm,
    ServicePointForm,
    WishForm,
    apply_service_errors,
)
from tongxin.outreach.models import (
    HoursClaimAction,
    OrderAction,
    OrderState,
    ServicePoint,
    SignupAction,
    WishAction,
    WishState,
)
from tongxin.outreach.rules import (
    OUTREACH_ROLES,
    WISH_POSTING_ROLES,
    available_moves,
    manages,
    volunteer_info,
)
from tongxin.people.models import ServicePost, VolunteerTeam

OUTREACH = roles(OUTREACH_ROLES)
MANAGERS = roles(MANAGING_ROLES)
PAGE_SIZE = 20


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _managed_communities(user: Any) -> QuerySet[OrgNode]:
    return OrgNode.objects.filter(
        subtree_q(selectors.managed_paths(user)), level=Level.COMMUNITY, closed_at__isnull=True
    ).order_by("path")


def _keyed(request: HttpRequest, form: Any, scope: str, produce: Any) -> tuple[Answer | None, int]:
    """Run a phone form's write once per its hidden Idempotency-Key (core.idempotency)."""
    key = form.cleaned_data.get("idempotency_key", "")
    posted = request.POST.copy()
    posted.pop("csrfmiddlewaretoken", None)
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
        return None, 400
    except IdempotencyKeyReused:
        form.add_error(None, _("该表单已提交过不同的内容，请刷新页面后重新填写。"))
        return None, 422
    return answer, 200


# ---------------------------------------------------------------------------------------------
# home


@policy(OUTREACH)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    context = {
        "can_post": has_role(user, WISH_POSTING_ROLES),
        "manager": has_role(user, MANAGING_ROLES),
        "volunteer": volunteer_info(user).volunteer,
        "wall": selectors.wish_wall(user).filter(state=WishState.OPEN)[:5],
        "takeable": selectors.takeable_orders(user)[:5],
        "activities": selectors.upcoming_activities(user, now)[:5],
        "hours": selectors.hours_summary(user),
    }
    return render(request, "outreach/home.html", context)


# ---------------------------------------------------------------------------------------------
# wishes


@policy(OUTREACH)
@require_GET
def wish_wall(request: HttpRequest) -> HttpResponse:
    wishes = _page(request, selectors.wish_wall(request.user))
    return render(request, "outreach/wish_wall.html", {"page": wishes, "now": timezone.now()})


@policy(OUTREACH)
@require_GET
def wish_mine(request: HttpRequest) -> HttpResponse:
    wishes = _page(request, selectors.my_wishes(request.user))
    return render(request, "outreach/wish_mine.html", {"page": wishes})


@policy(MANAGERS)
@require_GET
def wish_manage(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "pending")
    if state not in WishState.values and state != "all":
        state = "pending"
    wishes = _page(request, selectors.managed_wishes(request.user, "" if state == "all" else state))
    today = timezone.localdate()
    tz = timezone.get_default_timezone()
    since = dt.datetime(today.year, 1, 1, tzinfo=tz)
    until = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time()), tz)
    return render(
        request,
        "outreach/wish_manage.html",
        {
            "page": wishes,
            "state": state,
            "states": [("all", _("全部")), *WishState.choices],
            "counts": selectors.wish_counts(request.user, since=since, until=until),
            "year": today.year,
            "query": f"state={state}",
        },
    )


@policy(roles(WISH_POSTING_ROLES))
@require_http_methods(["GET", "POST"])
def wish_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "outreach/wish_form.html", {"form": WishForm()})
    form = WishForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "outreach/wish_form.html", {"form": form}, status=400)
    data = form.cleaned_data

    def produce() -> Answer:
        wish = services.wish_post(
            actor=request.user,
            title=data["title"],
            description=data.get("description", ""),
            category=data["category"],
            photo=data.get("photo"),
        )
        return Answer(201, {"wish": wish.pk})

    answer, code = _keyed(request, form, "outreach.wish.page", produce)
    if answer is None:
        return render(request, "outreach/wish_form.html", {"form": form}, status=code)
    if answer.replayed:
        messages.info(request, _("该心愿已提交，未重复发布。"))
    else:
        messages.success(request, _("心愿已提交，等待社区审核。"))
    return redirect("outreach:wish_detail", pk=answer.body["wish"])


WISH_BUTTONS = {
    WishAction.APPROVE: ("success", "check-circle"),
    WishAction.CLAIM: ("primary", "hand-thumbs-up"),
    WishAction.CONFIRM: ("success", "emoji-smile"),
    WishAction.WITHDRAW: ("outline-secondary", "x-circle"),
}


@policy(OUTREACH)
@require_GET
def wish_detail(request: HttpRequest, pk: int) -> HttpResponse:
    wish = selectors.get_wish_for_user(request.user, pk)
    moves = [m.action for m in available_moves(request.user, wish)]
    see_names = wish.poster_id == request.user.pk or manages(request.user, wish.community.path)
    return render(
        request,
        "outreach/wish_detail.html",
        {
            "wish": wish,
            "moves": moves,
            "buttons": [
                {"action": a, "label": WishAction(a).label, "style": WISH_BUTTONS[a]}
                for a in moves
                if a in WISH_BUTTONS
            ],
            "poster_name": wish.poster_name if see_names else selectors.mask_name(wish.poster_name),
            "history": wish.transitions.all()
            if see_names or wish.claimed_by_id == request.user.pk
            else [],
        },
    )


@policy(OUTREACH)
@require_POST
def wish_move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    wish = selectors.get_wish_for_user(request.user, pk)
    if action not in WishAction.values or action == WishAction.POST:
        raise Http404
    try:
        services.wish_transition(
            actor=request.user,
            wish=wish,
            action=action,
            note=request.POST.get("note", ""),
            evidence=request.POST.get("evidence", ""),
            evidence_photo=request.FILES.get("photo"),
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except (ConflictError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("您不能执行此操作。"))
    else:
        messages.success(request, _("已%(action)s。") % {"action": WishAction(action).label})
    return redirect("outreach:wish_detail", pk=wish.pk)


@policy(OUTREACH)
@require_GET
def wish_photo(request: HttpRequest, pk: int, which: str) -> HttpResponse:
    """A wish's photo, only to those who may see the wish (uploads are never served directly)."""
    wish = selectors.get_wish_for_user(request.user, pk)
    stored = {"wish": wish.photo, "evidence": wish.evidence_photo}.get(which)
    if not stored:
        raise Http404
    return FileResponse(stored.open("rb"))


# ---------------------------------------------------------------------------------------------
# orders


@policy(OUTREACH)
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    manager = has_role(user, MANAGING_ROLES)
    state = request.GET.get("state", "")
    return render(
        request,
        "outreach/order_list.html",
        {
            "takeable": selectors.takeable_orders(user)[:50],
            "mine": selectors.my_orders(user)[:50],
            "managed": _page(request, selectors.managed_orders(user, state)) if manager else None,
            "manager": manager,
            "state": state,
            "states": OrderState.choices,
            "volunteer": volunteer_info(user).volunteer,
            "query": f"state={state}",
        },
    )


@policy(OUTREACH)
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    manager = has_role(request.user, MANAGING_ROLES)
    candidates = selectors.on_behalf_candidates(request.user) if manager else None
    if request.method == "GET":
        initial = {"recipient_person": request.GET.get("for")} if manager else {}
        form = OrderForm(candidates=candidates, initial=initial)
        return render(request, "outreach/order_form.html", {"form": form})
    form = OrderForm(request.POST, candidates=candidates)
    if not form.is_valid():
        return render(request, "outreach/order_form.html", {"form": form}, status=400)
    data = form.cleaned_data

    def produce() -> Answer:
        order = services.order_place(
            actor=request.user,
            kind=data["kind"],
            description=data["description"],
            address=data.get("address", ""),
            wanted_at=data.get("wanted_at"),
            recipient_person=data.get("recipient_person"),
        )
        return Answer(201, {"order": order.pk})

    try:
        answer, code = _keyed(request, form, "outreach.order.page", produce)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("您不能下单。"))
        answer, code = None, 403
    if answer is None:
        return render(request, "outreach/order_form.html", {"form": form}, status=code)
    messages.success(request, _("已下单，已通知本社区相关志愿者。"))
    return redirect("outreach:order_detail", pk=answer.body["order"])


@policy(OUTREACH)
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.get_order_for_user(request.user, pk)
    manager = manages(request.user, order.community.path)
    return render(
        request,
        "outreach/order_detail.html",
        {
            "order": order,
            "moves": [m.action for m in available_moves(request.user, order)],
            "history": order.transitions.all(),
            "manager": manager,
        },
    )


@policy(OUTREACH)
@require_POST
def order_move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action == OrderAction.TAKE:
        order = selectors.get_order_to_take(request.user, pk)
    else:
        order = selectors.get_order_for_user(request.user, pk)
    if action not in OrderAction.values or action == OrderAction.PLACE:
        raise Http404
    try:
        services.order_transition(
            actor=request.user,
            order=order,
            action=action,
            note=request.POST.get("note", ""),
            score=request.POST.get("score") or None,
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except (ConflictError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("您不能执行此操作。"))
    else:
        messages.success(request, _("已%(action)s。") % {"action": OrderAction(action).label})
    if not selectors.visible_orders(request.user).filter(pk=order.pk).exists():
        return redirect("outreach:order_list")  # taken by someone else: no longer theirs to see
    return redirect("outreach:order_detail", pk=order.pk)


# ---------------------------------------------------------------------------------------------
# activities


@policy(OUTREACH)
@require_GET
def activity_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "outreach/activity_list.html",
        {
            "activities": selectors.upcoming_activities(request.user, now)[:60],
            "manager": has_role(request.user, MANAGING_ROLES),
        },
    )


@policy(MANAGERS)
@require_http_methods(["GET", "POST"])
def activity_new(request: HttpRequest) -> HttpResponse:
    communities = _managed_communities(request.user)
    paths = selectors.managed_paths(request.user)
    teams = VolunteerTeam.objects.filter(subtree_q(paths, "node__path"), closed_at__isnull=True)
    posts = ServicePost.objects.filter(subtree_q(paths, "community__path"), active=True)
    kwargs = {"communities": communities, "teams": teams, "posts": posts}
    if request.method == "GET":
        return render(request, "outreach/activity_form.html", {"form": ActivityForm(**kwargs)})
    form = ActivityForm(request.POST, **kwargs)
    if form.is_valid():
        try:
            activity = services.activity_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("活动已发布。"))
            return redirect("outreach:activity_detail", pk=activity.pk)
    return render(request, "outreach/activity_form.html", {"form": form}, status=400)


def qr_svg(data: str) -> str:
    """The QR code of `data` as inline SVG, rendered on the server (segno, pure Python);
    '' when segno is not installed: the page then shows the code only."""
    try:
        import segno
    except ImportError:
        return ""
    return segno.make(data, error="m").svg_inline(scale=5, border=2, dark="#212529")


@policy(OUTREACH)
@require_GET
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.get_activity_for_user(request.user, pk)
    organizer = manages(request.user, activity.community.path)
    signup = selectors.my_signup(request.user, activity)
    context: dict[str, Any] = {
        "activity": activity,
        "organizer": organizer,
        "signup": signup,
        "signup_moves": [m.action for m in available_moves(request.user, signup)] if signup else [],
        "may_sign_up": signup is None and services.may_sign_up(request.user, activity),
        "code": request.GET.get("code", "")[:8],
        "now": timezone.now(),
    }
    if organizer:
        link = request.build_absolute_uri(
            reverse("outreach:activity_detail", args=[activity.pk])
            + f"?code={activity.checkin_code}"
        )
        context["qr"] = qr_svg(link)
        context["signups"] = selectors.activity_signups(activity).select_related("credit")
    return render(request, "outreach/activity_detail.html", context)


@policy(OUTREACH)
@require_POST
def activity_sign_up(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.get_activity_for_user(request.user, pk)
    try:
        services.activity_sign_up(actor=request.user, activity=activity)
    except (ConflictError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("您不能报名该活动。"))
    else:
        messages.success(request, _("报名成功。"))
    return redirect("outreach:activity_detail", pk=activity.pk)


@policy(OUTREACH)
@require_POST
def signup_move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    signup = selectors.get_signup_for_user(request.user, pk)
    if action not in SignupAction.values or action == SignupAction.SIGN_UP:
        raise Http404
    try:
        moved = services.signup_transition(
            actor=request.user, signup=signup, action=action, code=request.POST.get("code", "")
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except (ConflictError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("您不能执行此操作。"))
    else:
        if action == SignupAction.CHECK_OUT and hasattr(moved, "credit"):
            messages.success(
                request,
                _("已签退，计入服务时长 %(h)s 小时、积分 %(p)d。")
                % {"h": moved.credit.hours, "p": moved.credit.points},
            )
        else:
            messages.success(request, _("已%(action)s。") % {"action": SignupAction(action).label})
    return redirect("outreach:activity_detail", pk=signup.activity_id)


# ---------------------------------------------------------------------------------------------
# hours


@policy(OUTREACH)
@require_http_methods(["GET", "POST"])
def hours_mine(request: HttpRequest) -> HttpResponse:
    form = HoursClaimForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def produce() -> Answer:
            claim = services.hours_claim_log(
                actor=request.user,
                served_on=data["served_on"],
                hours=data["hours"],
                description=data["description"],
            )
            return Answer(201, {"claim": claim.pk})

        answer, status = _keyed(request, form, "outreach.hours.page", produce)
        if answer is not None:
            messages.success(request, _("已申报，等待社区认定。"))
            return redirect("outreach:hours_mine")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "outreach/hours.html",
        {
            "form": form,
            "summary": selectors.hours_summary(request.user),
            "entries": selectors.my_hours_entries(request.user)[:50],
            "claims": selectors.visible_claims(request.user).filter(user=request.user)[:20],
        },
        status=status,
    )


@policy(MANAGERS)
@require_GET
def hours_review(request: HttpRequest) -> HttpResponse:
    claims = _page(request, selectors.claims_to_review(request.user))
    return render(request, "outreach/hours_review.html", {"page": claims})


@policy(MANAGERS)
@require_POST
def hours_move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    claim = selectors.get_claim_for_user(request.user, pk)
    if action not in (HoursClaimAction.APPROVE, HoursClaimAction.REJECT):
        raise Http404
    try:
        services.hours_claim_transition(
            actor=request.user, claim=claim, action=action, note=request.POST.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except (ConflictError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("您不能执行此操作。"))
    else:
        messages.success(request, _("已%(action)s。") % {"action": HoursClaimAction(action).label})
    return redirect("outreach:hours_review")


# ---------------------------------------------------------------------------------------------
# service points


def _float(value: str | None) -> float | None:
    try:
        number = float(value or "")
    except ValueError:
        return None
    return number if number == number and abs(number) <= 180 else None


@policy(OUTREACH)
@require_GET
def points(request: HttpRequest) -> HttpResponse:
    """Nearest service points: around the phone's position (?lng=&lat=, WGS-84, set by the
    page's geolocation) or, without one, around the centre of the user's grid."""
    lng, lat = _float(request.GET.get("lng")), _float(request.GET.get("lat"))
    located = lng is not None and lat is not None and abs(lat) <= 90
    if not located:
        anchor = selectors.user_anchor(request.user)
        lng, lat = anchor if anchor else (None, None)
    hits = (
        selectors.nearest_points(request.user, lng=lng, lat=lat, limit=20)
        if lng is not None and lat is not None
        else []
    )
    markers = [
        {
            "name": h.point.name,
            "kind": h.point.get_kind_display(),
            "lng": h.point.lng,
            "lat": h.point.lat,
            "distance": round(h.distance_m),
            "hours": h.point.opening_hours,
        }
        for h in hits
    ]
    return render(
        request,
        "outreach/points.html",
        {
            "hits": hits,
            "located": located,
            "centre": json.dumps({"lng": lng, "lat": lat}) if lng is not None else "null",
            "markers": markers,
            "manager": has_role(request.user, MANAGING_ROLES),
        },
    )


@policy(MANAGERS)
@require_http_methods(["GET", "POST"])
def point_new(request: HttpRequest) -> HttpResponse:
    communities = _managed_communities(request.user)
    form = ServicePointForm(request.POST or None, communities=communities)
    if request.method == "POST" and form.is_valid():
        try:
            point: ServicePoint = services.service_point_create(
                actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("服务点已添加（%(grid)s）。")
                % {"grid": point.grid.name if point.grid else _("不在网格内")},
            )
            return redirect("outreach:points")
    status = 400 if request.method == "POST" else 200
    return render(request, "outreach/point_form.html", {"form": form}, status=status)

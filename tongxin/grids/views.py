"""Pages of grids and visits: list, detail, edit, map (网格分布图), boundary upload and export,
and the grid manager's visit diary (民情日记) with its follow-ups.

Thin by design: fetch with a `get_*_for_user` selector (404 outside scope, 403 without the
right), parse with a form, call one service, redirect. Buttons show only when the matching rule
allows them, and the service checks the same rule again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES
from tongxin.core.errors import ConflictError
from tongxin.core.policy import policy, roles
from tongxin.grids import geo, selectors, services
from tongxin.grids.forms import (
    BoundaryUploadForm,
    FollowUpAddForm,
    FollowUpDoneForm,
    FollowUpFormSet,
    GridEditForm,
    GridFilterForm,
    HouseholdSearchForm,
    MapForm,
    NeedFormSet,
    VisitEditForm,
    VisitForm,
)
from tongxin.grids.measures import DEFAULT_MEASURE, get_measure, measure_values, measures
from tongxin.grids.models import FollowUpStatus
from tongxin.grids.rules import VISIT_PAGE_ROLES, can, serves_node, serving_paths
from tongxin.orgs.forms import apply_service_errors
from tongxin.orgs.models import OrgNode

ORG = roles(BUSINESS_ROLES)
MANAGE = roles(MANAGING_ROLES)
VISITS = roles(VISIT_PAGE_ROLES)
PAGE_SIZE = 30

# ---------------------------------------------------------------------------------------------
# helpers


def tile_settings() -> dict[str, Any]:
    """The base map, from settings (TONGXIN_MAP_TILE_*); no URL means no tiles at all."""
    crs = getattr(settings, "MAP_TILE_CRS", geo.WGS84)
    return {
        "url": getattr(settings, "MAP_TILE_URL", ""),
        "attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
        "subdomains": getattr(settings, "MAP_TILE_SUBDOMAINS", "") or "abc",
        "crs": crs if crs in geo.CRS_CHOICES else geo.WGS84,
    }


def _run(form: Any, action: Callable[[], Any]) -> tuple[Any, int]:
    """Call a service; on refusal put its errors on the form. Returns (result, http status)."""
    try:
        return action(), 200
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None, 400
    except ConflictError as exc:
        form.add_error(None, str(exc))
        return None, 409


def _page(request: HttpRequest, queryset: Any, size: int = PAGE_SIZE) -> Any:
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _scope_node(request: HttpRequest, name: str = "within") -> OrgNode | None:
    raw = request.GET.get(name) or request.GET.get("node")
    if not raw:
        return None
    return selectors.get_scope_node_for_user(request.user, raw)


# ---------------------------------------------------------------------------------------------
# grids


@policy(ORG)
def grid_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = GridFilterForm(request.GET or None, scopes=selectors.community_choices(user))
    data = form.cleaned_data if form.is_valid() else {}
    grids = selectors.grid_list(
        user,
        within=data.get("within"),
        search=data.get("q", ""),
        warnings_only=bool(data.get("warnings")),
    )
    page = _page(request, grids)
    for node in page:
        node.warnings = selectors.grid_warnings(node)
        node.profile = selectors.profile_of(node)
        node.manager_users = selectors.managers_of(node)
    return render(
        request,
        "grids/grid_list.html",
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "can_upload": selectors.editable_scope_nodes(user).exists(),
            "within": data.get("within"),
        },
    )


@policy(ORG)
def grid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    node = selectors.get_grid_for_user(user, pk)
    card = selectors.grid_card(node)
    siblings = [
        f for f in selectors.map_data(user, within=node.parent, crs=tile_settings()["crs"]).features
    ]
    map_config = {
        "features": siblings,
        "values": {},
        "selected": node.pk,
        "tiles": tile_settings(),
        "detailUrl": reverse("grids:detail", args=[0]),
        "bounds": None,
        "mode": "detail",
    }
    return render(
        request,
        "grids/grid_detail.html",
        {
            "card": card,
            "node": card.node,
            "profile": card.profile,
            "groups": selectors.party_groups(node),
            "buildings": selectors.grid_buildings(node)[:50],
            "overlaps": selectors.sibling_overlaps(node),
            "can_edit": node.closed_at is None and can(user, "grids.change_grid", node),
            "can_visit": can(user, "grids.add_visit", node),
            "can_see_visits": serves_node(user, node),
            "map_config": map_config,
        },
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def grid_edit(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.get_grid_for_user(request.user, pk, write=True)
    profile = selectors.profile_of(node)
    back = reverse("grids:detail", args=[node.pk])
    status = 200
    if request.method == "POST":
        status = 400
        form = GridEditForm(request.POST)
        if form.is_valid():
            _result, status = _run(
                form,
                lambda: services.grid_update(
                    actor=request.user,
                    node=node,
                    version=form.cleaned_data["version"],
                    changes=form.changes(),
                ),
            )
            if status == 200:
                messages.success(request, _("网格信息已保存。"))
                return redirect(back)
    else:
        form = GridEditForm(
            initial={
                "version": profile.version,
                "code": profile.code,
                "households_min": profile.households_min,
                "households_max": profile.households_max,
                "population_min": profile.population_min,
                "population_max": profile.population_max,
            }
        )
    return render(
        request,
        "grids/form.html",
        {
            "form": form,
            "title": _("编辑网格：%(name)s") % {"name": node.name},
            "back": back,
            "intro": _("常规规模默认按 300–500 户、1000–2000 人划分网格，可按实际调整。"),
        },
        status=status,
    )


def _single_geometry(data: Any) -> dict[str, Any] | None:
    """For a one-grid upload: the one geometry in a geometry, Feature or one-feature collection."""
    if not isinstance(data, dict):
        return None
    if data.get("type") in ("Polygon", "MultiPolygon"):
        return data
    if data.get("type") == "Feature":
        return data.get("geometry")
    features = data.get("features")
    if (
        data.get("type") == "FeatureCollection"
        and isinstance(features, list)
        and len(features) == 1
    ):
        feature = features[0]
        return feature.get("geometry") if isinstance(feature, dict) else None
    return None


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def boundary_upload(request: HttpRequest) -> HttpResponse:
    """Upload a GeoJSON file: a FeatureCollection for many grids, or one grid's polygon."""
    user = request.user
    grid = None
    if request.GET.get("grid"):
        grid = selectors.get_grid_for_user(user, request.GET["grid"], write=True)
    elif not selectors.editable_scope_nodes(user).exists():
        raise PermissionDenied
    problems: list[Any] = []
    warnings: list[str] = []
    form = BoundaryUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"]
        crs = form.cleaned_data["crs"]
        allow = form.cleaned_data["allow_overlaps"]
        try:
            if grid is not None:
                geometry = _single_geometry(data)
                if geometry is None:
                    raise ValidationError({"file": _("文件中须只有一个网格的边界。")})
                profile = selectors.profile_of(grid)
                result = services.grid_update(
                    actor=user,
                    node=grid,
                    version=profile.version,
                    boundary=geometry,
                    crs=crs,
                    allow_overlaps=allow,
                )
                for warning in result.warnings:
                    messages.warning(request, warning)
                messages.success(request, _("网格边界已更新。"))
                return redirect("grids:detail", grid.pk)
            imported = services.grid_boundaries_import(
                actor=user, collection=data, crs=crs, allow_overlaps=allow
            )
            for warning in imported.warnings:
                messages.warning(request, warning)
            messages.success(request, _("已导入 %(n)d 个网格的边界。") % {"n": len(imported.grids)})
            return redirect("grids:map")
        except services.BoundaryImportError as exc:
            problems = exc.problems
            status = 400
        except ValidationError as exc:
            apply_service_errors(form, exc)
            status = 400
        except ConflictError as exc:
            form.add_error(None, str(exc))
            status = 409
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "grids/boundary_upload.html",
        {"form": form, "grid": grid, "problems": problems, "warnings": warnings},
        status=status,
    )


@policy(ORG)
def boundary_export(request: HttpRequest) -> HttpResponse:
    within = _scope_node(request)
    crs = request.GET.get("crs", geo.WGS84)
    if crs not in geo.CRS_CHOICES:
        crs = geo.WGS84
    collection = selectors.boundaries_geojson(request.user, within=within, crs=crs)
    body = json.dumps(collection, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/geo+json; charset=utf-8")
    stamp = timezone.localdate().strftime("%Y%m%d")
    name = f"grids-{within.pk if within else 'all'}-{crs}-{stamp}.geojson"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------------------------------------
# the map


def _measure_key(raw: str | None) -> str:
    if raw and get_measure(raw) is not None:
        return raw
    return DEFAULT_MEASURE if get_measure(DEFAULT_MEASURE) else measures()[0].key


def _values_payload(user: Any, within: OrgNode | None, key: str) -> dict[str, Any]:
    measure = get_measure(key)
    values = measure_values(key, selectors.map_grid_ids(user, within))
    return {
        "measure": key,
        "label": str(measure.label),
        "unit": str(measure.unit),
        "values": {str(k): v for k, v in values.items()},
    }


@policy(ORG)
def grid_map(request: HttpRequest) -> HttpResponse:
    user = request.user
    within = _scope_node(request)
    key = _measure_key(request.GET.get("measure"))
    form = MapForm(
        initial={"within": within, "measure": key}, scopes=selectors.community_choices(user)
    )
    tiles = tile_settings()
    data = selectors.map_data(user, within=within, crs=tiles["crs"])
    config = {
        "features": data.features,
        "bounds": data.bounds,
        "tiles": tiles,
        "mode": "map",
        "cardUrl": reverse("grids:card", args=[0]),
        "valuesUrl": reverse("grids:map_values"),
        "within": within.pk if within else None,
        **_values_payload(user, within, key),
    }
    return render(
        request,
        "grids/map.html",
        {
            "form": form,
            "config": config,
            "undrawn": data.undrawn,
            "drawn": len(data.features),
            "within": within,
        },
    )


@policy(ORG)
def map_values(request: HttpRequest) -> JsonResponse:
    within = _scope_node(request)
    key = _measure_key(request.GET.get("measure"))
    return JsonResponse(_values_payload(request.user, within, key))


@policy(ORG)
def grid_card(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.get_grid_for_user(request.user, pk)
    return render(request, "grids/_card.html", {"card": selectors.grid_card(node)})


# ---------------------------------------------------------------------------------------------
# visits (走访 / 民情日记)


@policy(VISITS)
def visit_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    serving = bool(serving_paths(user))
    mine = not serving or request.GET.get("mine") == "1"
    search = request.GET.get("q", "").strip()[:50]
    visits = selectors.visit_list(user, mine=mine, search=search)
    return render(
        request,
        "grids/visit_list.html",
        {
            "page": _page(request, visits, 20),
            "query": _query_without_page(request),
            "mine": mine,
            "serving": serving,
            "search": search,
            "counts": selectors.visit_counts(user),
            "can_record": selectors.visit_households(user).exists(),
        },
    )


@policy(VISITS)
def visit_choose_household(request: HttpRequest) -> HttpResponse:
    """Step one of recording a visit: find the household (no JavaScript, thumb-friendly)."""
    form = HouseholdSearchForm(request.GET or None)
    search = form.cleaned_data.get("q", "") if form.is_valid() else ""
    households = selectors.visit_households(request.user, search=search)
    return render(
        request,
        "grids/visit_household.html",
        {
            "form": form,
            "page": _page(request, households, 30),
            "query": _query_without_page(request),
        },
    )


@policy(VISITS)
@require_http_methods(["GET", "POST"])
def visit_create(request: HttpRequest, household_pk: int) -> HttpResponse:
    user = request.user
    household = selectors.get_household_for_visit(user, household_pk)
    if not can(user, "grids.add_visit", household):
        raise PermissionDenied
    form = VisitForm(request.POST or None)
    needs = NeedFormSet(request.POST or None, prefix="need")
    follow_ups = FollowUpFormSet(request.POST or None, prefix="follow")
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and needs.is_valid() and follow_ups.is_valid():
            data = form.cleaned_data
            visit, status = _run(
                form,
                lambda: services.visit_create(
                    actor=user,
                    household=household,
                    visited_on=data["visited_on"],
                    summary=data["summary"],
                    companions=data["companions"],
                    needs=[d for f in needs for d in [f.as_data()] if d],
                    follow_ups=[d for f in follow_ups for d in [f.as_data()] if d],
                ),
            )
            if visit is not None:
                messages.success(request, _("走访记录已保存。"))
                return redirect("grids:visit_detail", visit.pk)
    return render(
        request,
        "grids/visit_form.html",
        {"form": form, "needs": needs, "follow_ups": follow_ups, "household": household},
        status=status,
    )


@policy(VISITS)
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    visit = selectors.get_visit_for_user(user, pk)
    needs, follow_ups = selectors.visit_detail(visit)
    can_work = can(user, "grids.change_followup", visit)
    for item in follow_ups:
        item.done_form = FollowUpDoneForm(initial={"version": item.version}, auto_id=False)
    return render(
        request,
        "grids/visit_detail.html",
        {
            "visit": visit,
            "needs": needs,
            "follow_ups": follow_ups,
            "can_edit": can(user, "grids.change_visit", visit),
            "can_work": can_work,
            "add_form": FollowUpAddForm() if can(user, "grids.add_followup", visit) else None,
            "today": timezone.localdate(),
        },
    )


@policy(VISITS)
@require_http_methods(["GET", "POST"])
def visit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.get_visit_for_user(request.user, pk, write=True)
    back = reverse("grids:visit_detail", args=[visit.pk])
    status = 200
    if request.method == "POST":
        status = 400
        form = VisitEditForm(request.POST)
        if form.is_valid():
            _result, status = _run(
                form,
                lambda: services.visit_update(
                    actor=request.user,
                    visit=visit,
                    version=form.cleaned_data["version"],
                    changes=form.changes(),
                ),
            )
            if status == 200:
                messages.success(request, _("走访记录已修改。"))
                return redirect(back)
    else:
        form = VisitEditForm(
            initial={
                "version": visit.version,
                "visited_on": visit.visited_on,
                "summary": visit.summary,
                "companions": visit.companions,
            }
        )
    return render(
        request,
        "grids/form.html",
        {"form": form, "title": _("修改走访记录"), "back": back, "intro": ""},
        status=status,
    )


@policy(VISITS)
@require_POST
def follow_up_add(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.get_visit_for_user(request.user, pk, write=True, perm="grids.add_followup")
    form = FollowUpAddForm(request.POST)
    if form.is_valid():
        _result, status = _run(
            form,
            lambda: services.follow_up_add(
                actor=request.user,
                visit=visit,
                action=form.cleaned_data["action"],
                due_on=form.cleaned_data["due_on"],
            ),
        )
        if status == 200:
            messages.success(request, _("已添加跟进事项。"))
            return redirect("grids:visit_detail", visit.pk)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect("grids:visit_detail", visit.pk)


@policy(VISITS)
def follow_up_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    serving = bool(serving_paths(user))
    mine = not serving or request.GET.get("mine") == "1"
    done = request.GET.get("status") == FollowUpStatus.DONE
    items = selectors.follow_up_list(
        user, status=FollowUpStatus.DONE if done else FollowUpStatus.OPEN, mine=mine
    )
    page = _page(request, items, 20)
    for item in page:
        item.done_form = FollowUpDoneForm(initial={"version": item.version}, auto_id=False)
    return render(
        request,
        "grids/follow_up_list.html",
        {
            "page": page,
            "query": _query_without_page(request),
            "mine": mine,
            "done": done,
            "serving": serving,
            "today": timezone.localdate(),
        },
    )


@policy(VISITS)
@require_POST
def follow_up_status(request: HttpRequest, pk: int) -> HttpResponse:
    """One tap: mark a follow-up done (with an optional result) or open it again."""
    follow_up = selectors.get_follow_up_for_user(request.user, pk, write=True)
    form = FollowUpDoneForm(request.POST)
    target = request.POST.get("status", FollowUpStatus.DONE)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        back = reverse("grids:visit_detail", args=[follow_up.visit_id])
    if form.is_valid():
        _result, status = _run(
            form,
            lambda: services.follow_up_update(
                actor=request.user,
                follow_up=follow_up,
                version=form.cleaned_data["version"],
                status=target,
                result=form.cleaned_data["result"] if target == FollowUpStatus.DONE else None,
            ),
        )
        if status == 200:
            messages.success(
                request,
                _("跟进事项已办结。")
                if target == FollowUpStatus.DONE
                else _("跟进事项已重新打开。"),
            )
            return redirect(back)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(back)

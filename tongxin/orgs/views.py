"""Pages of the organization network: tree, nodes, party organizations, units, coverage,
committees and leader contact points.

Thin by design: fetch with a `get_*_for_user` selector (404 outside scope, 403 without the
right), parse with a form, call one service, redirect. Buttons are shown only when the
matching rule allows them, and the service checks the same rule again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES
from tongxin.core.errors import ConflictError
from tongxin.core.exports import export_response
from tongxin.core.policy import policy, roles
from tongxin.orgs import exports, selectors, services
from tongxin.orgs.forms import (
    CloseConfirmForm,
    CommitteeLeaveForm,
    CommitteeMemberEditForm,
    CommitteeMemberForm,
    ContactPointEditForm,
    ContactPointForm,
    ContactProjectEditForm,
    ContactProjectForm,
    InstructorEndForm,
    InstructorForm,
    NodeCloseForm,
    NodeCreateForm,
    NodeEditForm,
    NodeMoveForm,
    NodeRenameForm,
    PartyOrgEditForm,
    PartyOrgForm,
    UnitContactForm,
    UnitEditForm,
    UnitFilterForm,
    UnitForm,
    VersionForm,
    apply_service_errors,
)
from tongxin.orgs.imports import UnitImporter
from tongxin.orgs.models import CHILD_LEVEL, Level, OrgCategory, OrgNode
from tongxin.orgs.rules import COMMITTEE_LEVELS, can
from tongxin.orgs.services import UNIT_LEVELS

ORG = roles(BUSINESS_ROLES)
MANAGE = roles(MANAGING_ROLES)
UNIT_IMPORT_POLICY = UnitImporter.policy
PAGE_SIZE = 20

# ---------------------------------------------------------------------------------------------
# helpers


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name) in ("1", "true", "on")


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


def _form_page(
    request: HttpRequest,
    form: Any,
    *,
    title: str,
    back: str,
    submit: str | None = None,
    danger: bool = False,
    intro: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "orgs/form.html",
        {
            "form": form,
            "title": title,
            "back": back,
            "submit": submit or _("保存"),
            "danger": danger,
            "intro": intro,
        },
        status=status if request.method == "POST" and form.errors else 200,
    )


def _page(request: HttpRequest, queryset: Any, size: int = PAGE_SIZE) -> Any:
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# ---------------------------------------------------------------------------------------------
# tree


@policy(ORG)
def tree(request: HttpRequest) -> HttpResponse:
    show_closed = _flag(request, "closed")
    query = request.GET.get("q", "").strip()[:50]
    roots = list(selectors.tree_roots(request.user, include_closed=show_closed))
    for root in roots:
        root.loaded_children = list(
            selectors.node_children(request.user, root, include_closed=show_closed)
        )
    hits = selectors.tree_search(request.user, query, include_closed=show_closed) if query else []
    return render(
        request,
        "orgs/tree.html",
        {"roots": roots, "show_closed": show_closed, "query": query, "hits": hits},
    )


@policy(ORG)
def node_children(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the children of one node, lazily loaded when its branch is opened."""
    node = selectors.get_node_for_user(request.user, pk)
    show_closed = _flag(request, "closed")
    children = selectors.node_children(request.user, node, include_closed=show_closed)
    return render(
        request,
        "orgs/includes/tree_children.html",
        {"children": children, "show_closed": show_closed},
    )


def _exported(request: HttpRequest, back: str, build: Callable[[], HttpResponse]) -> HttpResponse:
    """Run an export; when it is refused (too many rows), say why on the list page."""
    try:
        return build()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)


@policy(ORG)
@require_POST
def node_export(request: HttpRequest) -> HttpResponse:
    """The tree's search results (`q`), a node's children (`node`), or the whole scope."""
    show_closed = _flag(request, "closed")
    query = request.GET.get("q", "").strip()[:50]
    parent = _filter_node(request, request.GET.get("node"))
    nodes = exports.node_export_queryset(
        request.user, parent=parent, query=query, include_closed=show_closed
    )
    labels = exports.PlaceLabels()
    back = _node_url(parent) if parent else f"{reverse('orgs:tree')}?{_query_without_page(request)}"
    return _exported(
        request,
        back,
        lambda: export_response(
            nodes,
            exports.node_columns(labels),
            rows=exports.primed(nodes, labels, lambda n: n.path),
            filename=_("下级组织-%(name)s") % {"name": parent.name} if parent else _("组织体系"),
            actor=request.user,
            action="orgs.orgnode.export",
            filters={"node": parent, "q": query, "closed": show_closed},
        ),
    )


# ---------------------------------------------------------------------------------------------
# nodes


def _node_permissions(user: Any, node: OrgNode) -> dict[str, bool]:
    is_open = node.closed_at is None
    return {
        "edit": is_open and can(user, "orgs.change_node", node),
        "add_child": is_open
        and CHILD_LEVEL.get(node.level) is not None
        and can(user, "orgs.add_node", node),
        "rename": is_open and can(user, "orgs.rename_node", node),
        "move": is_open and node.parent_id is not None and can(user, "orgs.move_node", node),
        "close": is_open and can(user, "orgs.close_node", node),
        "reopen": not is_open and can(user, "orgs.reopen_node", node),
        "add_party_org": is_open and can(user, "orgs.add_party_org", node),
        "add_unit": is_open and node.level in UNIT_LEVELS and can(user, "orgs.add_unit", node),
        "add_member": is_open and can(user, "orgs.add_committee_member", node),
        "see_contacts": node.level == "community" and can(user, "orgs.view_contactpoint", node),
        "add_contact": is_open
        and node.level == "community"
        and can(user, "orgs.add_contact_point", node),
    }


@policy(ORG)
def node_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    node = selectors.get_node_for_user(user, pk)
    show_closed = _flag(request, "closed")
    perms = _node_permissions(user, node)
    functional_orgs = [
        org
        for org in selectors.node_party_orgs(node, include_closed=show_closed)
        if org.category != OrgCategory.TERRITORIAL
    ]
    for org in functional_orgs:
        org.can_change = org.closed_at is None and can(user, "orgs.change_partyorganization", org)
    units = selectors.unit_list(user, node=node)
    roster = selectors.committee_roster(node) if node.level in COMMITTEE_LEVELS else None
    contacts = selectors.contact_point_list(user, community=node) if perms["see_contacts"] else None
    return render(
        request,
        "orgs/node_detail.html",
        {
            "node": node,
            "ancestors": selectors.visible_ancestors(user, node),
            "org": selectors.territorial_org(node),
            "functional_orgs": functional_orgs,
            "children": selectors.node_children(user, node, include_closed=show_closed),
            "units": units[:10],
            "unit_count": units.count(),
            "roster": roster,
            "contacts": contacts,
            "history": selectors.node_history(node),
            "can": perms,
            "show_closed": show_closed,
            "child_level": CHILD_LEVEL.get(node.level),
        },
    )


def _node_url(node: OrgNode) -> str:
    return reverse("orgs:node_detail", args=[node.pk])


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def node_create(request: HttpRequest, pk: int) -> HttpResponse:
    parent = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.add_node")
    level = CHILD_LEVEL.get(parent.level)
    if level is None or parent.closed_at is not None:
        raise Http404
    form = NodeCreateForm(request.POST or None, level=level)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        node, status = _run(
            form,
            lambda: services.node_create(
                actor=request.user,
                parent=parent,
                name=data["name"],
                level=level,
                code=data["code"],
                address=data["address"],
                party_org=form.party_org(),
            ),
        )
        if node is not None:
            messages.success(request, _("已新增下级组织“%(name)s”。") % {"name": node.name})
            return redirect(_node_url(node))
    return _form_page(
        request,
        form,
        title=_("在“%(parent)s”下新增%(level)s") % {"parent": parent, "level": Level(level).label},
        back=_node_url(parent),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def node_edit(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.get_node_for_user(request.user, pk, write=True)
    org = selectors.territorial_org(node)
    form = NodeEditForm(request.POST or None, initial=NodeEditForm.initial_for(node, org))
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        updated, status = _run(
            form,
            lambda: services.node_update(
                actor=request.user,
                node=node,
                version=data["version"],
                changes={"code": data["code"], "address": data["address"]},
                party_org=form.party_org(),
            ),
        )
        if updated is not None:
            messages.success(request, _("已保存。"))
            return redirect(_node_url(node))
    return _form_page(
        request,
        form,
        title=_("编辑“%(name)s”") % {"name": node},
        back=_node_url(node),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def node_rename(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.rename_node")
    form = NodeRenameForm(
        request.POST or None, initial={"version": node.version, "name": node.name}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        updated, status = _run(
            form,
            lambda: services.node_rename(
                actor=request.user, node=node, version=data["version"], name=data["name"]
            ),
        )
        if updated is not None:
            messages.success(request, _("已更名为“%(name)s”。") % {"name": updated.name})
            return redirect(_node_url(node))
    return _form_page(
        request,
        form,
        title=_("更名“%(name)s”") % {"name": node},
        back=_node_url(node),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def node_move(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.move_node")
    form = NodeMoveForm(
        request.POST or None,
        initial={"version": node.version},
        destinations=selectors.move_destinations(request.user, node),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        moved, status = _run(
            form,
            lambda: services.node_move(
                actor=request.user, node=node, version=data["version"], new_parent=data["parent"]
            ),
        )
        if moved is not None:
            messages.success(
                request,
                _("已将“%(name)s”调整到“%(parent)s”之下。")
                % {"name": moved.name, "parent": data["parent"].name},
            )
            return redirect(_node_url(node))
    return _form_page(
        request,
        form,
        title=_("调整“%(name)s”的隶属关系") % {"name": node},
        back=_node_url(node),
        intro=_("下级组织、驻区单位和历史记录随之一并调整。"),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def node_close(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.close_node")
    form = NodeCloseForm(request.POST or None, initial={"version": node.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        closed, status = _run(
            form,
            lambda: services.node_close(
                actor=request.user, node=node, version=data["version"], reason=data["reason"]
            ),
        )
        if closed is not None:
            messages.success(request, _("已撤销“%(name)s”。") % {"name": node.name})
            return redirect(_node_url(node))
    return _form_page(
        request,
        form,
        title=_("撤销“%(name)s”") % {"name": node},
        back=_node_url(node),
        submit=_("确认撤销"),
        danger=True,
        intro=_("撤销不删除任何记录，组织沿革保留，可随时恢复。"),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def node_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.reopen_node")
    form = VersionForm(request.POST or None, initial={"version": node.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        reopened, status = _run(
            form,
            lambda: services.node_reopen(
                actor=request.user, node=node, version=form.cleaned_data["version"]
            ),
        )
        if reopened is not None:
            messages.success(request, _("已恢复“%(name)s”。") % {"name": node.name})
            return redirect(_node_url(node))
    return _form_page(
        request,
        form,
        title=_("恢复“%(name)s”") % {"name": node},
        back=_node_url(node),
        submit=_("确认恢复"),
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# functional party organizations


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def party_org_create(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.get_node_for_user(request.user, pk, write=True, perm="orgs.add_party_org")
    form = PartyOrgForm(
        request.POST or None,
        units=selectors.units_open_for_choice(request.user, node),
        initial={"category": request.GET.get("category", OrgCategory.TEMPORARY)},
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        org, status = _run(
            form,
            lambda: services.party_org_create(
                actor=request.user,
                node=node,
                category=data["category"],
                name=data["name"],
                kind=data["kind"],
                secretary=data["secretary"],
                contact=data["contact"],
                founded_on=data["founded_on"],
                project=data["project"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                covered_units=data["covered_units"],
            ),
        )
        if org is not None:
            messages.success(request, _("已设立“%(name)s”。") % {"name": org.name})
            return redirect(_node_url(node))
    return _form_page(
        request,
        form,
        title=_("在“%(name)s”设立功能型党组织") % {"name": node},
        back=_node_url(node),
        intro=_("临时党支部须填写依托项目和起止日期；联合党支部须选择至少两家覆盖单位。"),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def party_org_edit(request: HttpRequest, pk: int) -> HttpResponse:
    org = selectors.get_party_org_for_user(request.user, pk, write=True)
    if org.category == OrgCategory.TERRITORIAL:
        return redirect("orgs:node_edit", pk=org.node_id)
    form = PartyOrgEditForm(
        request.POST or None,
        instance=org,
        units=selectors.units_open_for_choice(request.user, org.node),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        covered = data.get("covered_units")
        updated, status = _run(
            form,
            lambda: services.party_org_update(
                actor=request.user,
                org=org,
                version=data["version"],
                changes=form.changes(exclude=("version", "covered_units")),
                covered_units=covered,
            ),
        )
        if updated is not None:
            messages.success(request, _("已保存。"))
            return redirect(_node_url(org.node))
    return _form_page(
        request,
        form,
        title=_("编辑“%(name)s”") % {"name": org},
        back=_node_url(org.node),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def party_org_close(request: HttpRequest, pk: int) -> HttpResponse:
    org = selectors.get_party_org_for_user(request.user, pk, write=True)
    form = CloseConfirmForm(request.POST or None, initial={"version": org.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        closed, status = _run(
            form,
            lambda: services.party_org_close(
                actor=request.user, org=org, version=data["version"], reason=data["reason"]
            ),
        )
        if closed is not None:
            messages.success(request, _("已撤销“%(name)s”。") % {"name": org.name})
            return redirect(_node_url(org.node))
    return _form_page(
        request,
        form,
        title=_("撤销“%(name)s”") % {"name": org},
        back=_node_url(org.node),
        submit=_("确认撤销"),
        danger=True,
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# resident units


def _filter_node(request: HttpRequest, raw: Any) -> OrgNode | None:
    if raw in (None, ""):
        return None
    return selectors.get_node_for_user(request.user, raw)


def _unit_list_query(request: HttpRequest) -> tuple[UnitFilterForm, dict, OrgNode | None, Any]:
    """The unit list's filters from the query string, shared by the page and its export."""
    form = UnitFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    node = _filter_node(request, data.get("node"))
    units = selectors.unit_list(
        request.user,
        unit_type=data.get("unit_type") or None,
        party_status=data.get("party_status") or None,
        node=node,
        search=data.get("q"),
        include_closed=bool(data.get("closed")),
    )
    return form, data, node, units


@policy(ORG)
def unit_list(request: HttpRequest) -> HttpResponse:
    form, _data, node, units = _unit_list_query(request)
    add_nodes = selectors.manageable_nodes(request.user, levels=UNIT_LEVELS)
    can_add = add_nodes.exists()
    return render(
        request,
        "orgs/unit_list.html",
        {
            "form": form,
            "page": _page(request, units),
            "node": node,
            "query": _query_without_page(request),
            "can_add": can_add,
            # The import needs a managing role as well as a place to import into.
            "can_import": can_add and UNIT_IMPORT_POLICY.allows(request.user),
        },
    )


@policy(ORG)
@require_POST
def unit_export(request: HttpRequest) -> HttpResponse:
    """The units the list shows (same query string), masked, as .xlsx; audited."""
    _form, data, node, units = _unit_list_query(request)
    labels = exports.PlaceLabels()
    back = f"{reverse('orgs:unit_list')}?{_query_without_page(request)}"
    return _exported(
        request,
        back,
        lambda: export_response(
            units,
            exports.unit_columns(labels),
            rows=exports.unit_rows(units, labels),
            filename=_("驻区单位"),
            actor=request.user,
            action="orgs.residentunit.export",
            filters={**data, "node": node},
        ),
    )


@policy(ORG)
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    unit = selectors.get_unit_for_user(user, pk)
    is_open = unit.closed_at is None
    return render(
        request,
        "orgs/unit_detail.html",
        {
            "unit": unit,
            "instructors": selectors.unit_instructors(unit),
            "joint_orgs": unit.joint_orgs.filter(closed_at__isnull=True),
            "seats": unit.committee_seats.select_related("body").order_by("-term_start"),
            "can": {
                "edit": is_open and can(user, "orgs.change_residentunit", unit),
                "edit_contact": is_open and can(user, "orgs.change_unit_contact", unit),
                "close": is_open and can(user, "orgs.change_residentunit", unit),
                "instructors": is_open and can(user, "orgs.manage_instructors", unit),
                "see_node": can(user, "orgs.view_node", unit.node),
            },
        },
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def unit_create(request: HttpRequest) -> HttpResponse:
    nodes = selectors.manageable_nodes(request.user, levels=UNIT_LEVELS).order_by("path")
    initial = {}
    raw = request.GET.get("node", "")
    if raw.isdigit():
        initial["node"] = nodes.filter(pk=raw).first()
    form = UnitForm(request.POST or None, nodes=nodes, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit, status = _run(
            form,
            lambda: services.unit_create(actor=request.user, **data),
        )
        if unit is not None:
            messages.success(request, _("已登记驻区单位“%(name)s”。") % {"name": unit.name})
            return redirect("orgs:unit_detail", pk=unit.pk)
    return _form_page(
        request, form, title=_("登记驻区单位"), back=reverse("orgs:unit_list"), status=status
    )


@policy(ORG)
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Managing roles edit everything; the unit's own liaison only its contact fields."""
    user = request.user
    unit = selectors.get_unit_for_user(user, pk, write=True, perm="orgs.change_unit_contact")
    if can(user, "orgs.change_residentunit", unit):
        nodes = selectors.manageable_nodes(user, levels=UNIT_LEVELS).order_by("path")
        form: Any = UnitEditForm(request.POST or None, instance=unit, nodes=nodes)
    else:
        form = UnitContactForm(request.POST or None, instance=unit)
    status = 200
    if request.method == "POST" and form.is_valid():
        updated, status = _run(
            form,
            lambda: services.unit_update(
                actor=user,
                unit=unit,
                version=form.cleaned_data["version"],
                changes=form.changes(),
            ),
        )
        if updated is not None:
            messages.success(request, _("已保存。"))
            return redirect("orgs:unit_detail", pk=unit.pk)
    return _form_page(
        request,
        form,
        title=_("编辑“%(name)s”") % {"name": unit},
        back=reverse("orgs:unit_detail", args=[unit.pk]),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def unit_close(request: HttpRequest, pk: int) -> HttpResponse:
    unit = selectors.get_unit_for_user(request.user, pk, write=True)
    form = VersionForm(request.POST or None, initial={"version": unit.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        closed, status = _run(
            form,
            lambda: services.unit_close(
                actor=request.user, unit=unit, version=form.cleaned_data["version"]
            ),
        )
        if closed is not None:
            messages.success(request, _("已注销“%(name)s”。") % {"name": unit.name})
            return redirect("orgs:unit_detail", pk=unit.pk)
    return _form_page(
        request,
        form,
        title=_("注销“%(name)s”") % {"name": unit},
        back=reverse("orgs:unit_detail", args=[unit.pk]),
        submit=_("确认注销"),
        danger=True,
        intro=_("注销后该单位不再计入列表和覆盖率统计，在岗的党建指导员同日结束选派。"),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def instructor_assign(request: HttpRequest, pk: int) -> HttpResponse:
    unit = selectors.get_unit_for_user(request.user, pk, write=True, perm="orgs.manage_instructors")
    form = InstructorForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        assignment, status = _run(
            form,
            lambda: services.instructor_assign(actor=request.user, unit=unit, **form.cleaned_data),
        )
        if assignment is not None:
            messages.success(request, _("已选派党建指导员。"))
            return redirect("orgs:unit_detail", pk=unit.pk)
    return _form_page(
        request,
        form,
        title=_("为“%(name)s”选派党建指导员") % {"name": unit},
        back=reverse("orgs:unit_detail", args=[unit.pk]),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def instructor_end(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = selectors.get_instructor_for_user(request.user, pk, write=True)
    form = InstructorEndForm(request.POST or None, initial={"ends_on": selectors.today()})
    status = 200
    if request.method == "POST" and form.is_valid():
        ended, status = _run(
            form,
            lambda: services.instructor_end(
                actor=request.user, assignment=assignment, ends_on=form.cleaned_data["ends_on"]
            ),
        )
        if ended is not None:
            messages.success(request, _("已结束选派。"))
            return redirect("orgs:unit_detail", pk=assignment.unit_id)
    return _form_page(
        request,
        form,
        title=_("结束“%(name)s”的选派") % {"name": assignment.instructor_name},
        back=reverse("orgs:unit_detail", args=[assignment.unit_id]),
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# coverage


@policy(ORG)
def coverage(request: HttpRequest) -> HttpResponse:
    user = request.user
    node = _filter_node(request, request.GET.get("node"))
    if node is None:
        roots = list(selectors.tree_roots(user))
        node = roots[0] if len(roots) == 1 else None
    figures = selectors.coverage(user, node)
    children = selectors.coverage_by_child(user, node) if node is not None else []
    return render(
        request,
        "orgs/coverage.html",
        {
            "node": node,
            "coverage": figures,
            "children": children,
            "ancestors": selectors.visible_ancestors(user, node) if node else [],
        },
    )


# ---------------------------------------------------------------------------------------------
# committees


@policy(ORG)
def committee_list(request: HttpRequest) -> HttpResponse:
    bodies = selectors.committee_bodies(request.user)
    only_warnings = _flag(request, "warnings")
    if only_warnings:
        bodies = bodies.filter(selectors.out_of_norm_q())
    page = _page(request, bodies, 50)
    page.object_list = selectors.with_size_warnings(page.object_list)
    return render(
        request,
        "orgs/committee_list.html",
        {"page": page, "only_warnings": only_warnings, "query": _query_without_page(request)},
    )


@policy(ORG)
@require_POST
def committee_export(request: HttpRequest) -> HttpResponse:
    """Part-time members of the bodies the list shows (`warnings`), or of one body (`body`)."""
    raw = request.GET.get("body")
    only_warnings = _flag(request, "warnings")
    if raw:
        body = _body_for_user(request, raw)
        members = selectors.committee_member_list(request.user, body=body)
        back = reverse("orgs:committee_detail", args=[body.pk])
        filename = _("兼职委员-%(name)s") % {"name": body.name}
    else:
        body = None
        bodies = selectors.committee_bodies(request.user)
        if only_warnings:
            bodies = bodies.filter(selectors.out_of_norm_q())
        members = selectors.committee_member_list(request.user).filter(body__in=bodies.values("pk"))
        back = f"{reverse('orgs:committee_list')}?{_query_without_page(request)}"
        filename = _("兼职委员")
    labels = exports.PlaceLabels()
    return _exported(
        request,
        back,
        lambda: export_response(
            members,
            exports.committee_columns(labels),
            rows=exports.primed(members, labels, lambda m: m.body.path),
            filename=filename,
            actor=request.user,
            action="orgs.committeemember.export",
            filters={"body": body, "warnings": only_warnings},
        ),
    )


def _body_for_user(request: HttpRequest, pk: int, **kwargs: Any) -> OrgNode:
    body = selectors.get_node_for_user(request.user, pk, **kwargs)
    if body.level not in COMMITTEE_LEVELS:
        raise Http404
    return body


@policy(ORG)
def committee_detail(request: HttpRequest, pk: int) -> HttpResponse:
    body = _body_for_user(request, pk)
    roster = selectors.committee_roster(body)
    can_edit = can(request.user, "orgs.change_node", body)
    return render(
        request,
        "orgs/committee_detail.html",
        {
            "body": body,
            "roster": roster,
            "can_add": body.closed_at is None
            and can(request.user, "orgs.add_committee_member", body),
            "can_edit": can_edit,
        },
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def committee_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    body = _body_for_user(request, pk, write=True, perm="orgs.add_committee_member")
    form = CommitteeMemberForm(
        request.POST or None, units=selectors.units_open_for_choice(request.user, body)
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        member, status = _run(
            form,
            lambda: services.committee_member_add(
                actor=request.user, body=body, **form.cleaned_data
            ),
        )
        if member is not None:
            messages.success(request, _("已增补兼职委员“%(name)s”。") % {"name": member})
            return redirect("orgs:committee_detail", pk=body.pk)
    return _form_page(
        request,
        form,
        title=_("增补“%(name)s”兼职委员") % {"name": body},
        back=reverse("orgs:committee_detail", args=[body.pk]),
        status=status,
    )


@policy(ORG)
def committee_member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_committee_member_for_user(request.user, pk)
    return render(
        request,
        "orgs/committee_member_detail.html",
        {
            "member": member,
            "can_edit": member.left_on is None
            and can(request.user, "orgs.change_committeemember", member),
        },
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def committee_member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_committee_member_for_user(request.user, pk, write=True)
    form = CommitteeMemberEditForm(
        request.POST or None,
        instance=member,
        units=selectors.units_open_for_choice(request.user, member.body),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        updated, status = _run(
            form,
            lambda: services.committee_member_update(
                actor=request.user,
                member=member,
                version=form.cleaned_data["version"],
                changes=form.changes(),
            ),
        )
        if updated is not None:
            messages.success(request, _("已保存。"))
            return redirect("orgs:committee_member_detail", pk=member.pk)
    return _form_page(
        request,
        form,
        title=_("编辑兼职委员“%(name)s”") % {"name": member},
        back=reverse("orgs:committee_member_detail", args=[member.pk]),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def committee_member_leave(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_committee_member_for_user(request.user, pk, write=True)
    form = CommitteeLeaveForm(
        request.POST or None, initial={"version": member.version, "left_on": selectors.today()}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        left, status = _run(
            form,
            lambda: services.committee_member_leave(
                actor=request.user, member=member, version=data["version"], left_on=data["left_on"]
            ),
        )
        if left is not None:
            messages.success(request, _("已登记“%(name)s”离任。") % {"name": member})
            return redirect("orgs:committee_detail", pk=member.body_id)
    return _form_page(
        request,
        form,
        title=_("登记兼职委员“%(name)s”离任") % {"name": member},
        back=reverse("orgs:committee_member_detail", args=[member.pk]),
        submit=_("确认离任"),
        danger=True,
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# leader contact points


@policy(MANAGE)
def contact_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:50]
    points = selectors.contact_point_list(request.user, search=query)
    return render(
        request,
        "orgs/contact_list.html",
        {
            "page": _page(request, points),
            "q": query,
            "query": _query_without_page(request),
            "can_add": selectors.contact_communities(request.user).exists(),
        },
    )


@policy(MANAGE)
@require_POST
def contact_export(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:50]
    points = selectors.contact_point_list(request.user, search=query)
    labels = exports.PlaceLabels()
    back = f"{reverse('orgs:contact_list')}?{_query_without_page(request)}"
    return _exported(
        request,
        back,
        lambda: export_response(
            points,
            exports.contact_columns(labels),
            rows=exports.primed(points, labels, lambda p: p.community.path),
            filename=_("领导联系点"),
            actor=request.user,
            action="orgs.contactpoint.export",
            filters={"q": query},
        ),
    )


@policy(MANAGE)
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    point = selectors.get_contact_point_for_user(request.user, pk)
    return render(
        request,
        "orgs/contact_detail.html",
        {
            "point": point,
            "projects": point.projects.order_by("id"),
            "can_edit": can(request.user, "orgs.change_contactpoint", point),
        },
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    communities = selectors.contact_communities(request.user)
    initial = {}
    raw = request.GET.get("community", "")
    if raw.isdigit():
        initial["community"] = communities.filter(pk=raw).first()
    form = ContactPointForm(request.POST or None, communities=communities, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        point, status = _run(
            form, lambda: services.contact_point_create(actor=request.user, **form.cleaned_data)
        )
        if point is not None:
            messages.success(request, _("已设立领导联系点。"))
            return redirect("orgs:contact_detail", pk=point.pk)
    return _form_page(
        request, form, title=_("设立领导联系点"), back=reverse("orgs:contact_list"), status=status
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    point = selectors.get_contact_point_for_user(request.user, pk, write=True)
    form = ContactPointEditForm(
        request.POST or None,
        instance=point,
        communities=selectors.contact_communities(request.user),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        updated, status = _run(
            form,
            lambda: services.contact_point_update(
                actor=request.user,
                contact_point=point,
                version=form.cleaned_data["version"],
                changes=form.changes(),
            ),
        )
        if updated is not None:
            messages.success(request, _("已保存。"))
            return redirect("orgs:contact_detail", pk=point.pk)
    return _form_page(
        request,
        form,
        title=_("编辑领导联系点"),
        back=reverse("orgs:contact_detail", args=[point.pk]),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def contact_project_add(request: HttpRequest, pk: int) -> HttpResponse:
    point = selectors.get_contact_point_for_user(request.user, pk, write=True)
    form = ContactProjectForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        project, status = _run(
            form,
            lambda: services.contact_project_add(
                actor=request.user, contact_point=point, **form.cleaned_data
            ),
        )
        if project is not None:
            messages.success(request, _("已添加领办项目。"))
            return redirect("orgs:contact_detail", pk=point.pk)
    return _form_page(
        request,
        form,
        title=_("为%(leader)s添加领办项目") % {"leader": point.leader_name},
        back=reverse("orgs:contact_detail", args=[point.pk]),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def contact_project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.get_contact_project_for_user(request.user, pk, write=True)
    form = ContactProjectEditForm(request.POST or None, instance=project)
    status = 200
    if request.method == "POST" and form.is_valid():
        updated, status = _run(
            form,
            lambda: services.contact_project_update(
                actor=request.user,
                project=project,
                version=form.cleaned_data["version"],
                changes=form.changes(),
            ),
        )
        if updated is not None:
            messages.success(request, _("已保存。"))
            return redirect("orgs:contact_detail", pk=project.contact_point_id)
    return _form_page(
        request,
        form,
        title=_("编辑领办项目“%(name)s”") % {"name": project},
        back=reverse("orgs:contact_detail", args=[project.contact_point_id]),
        status=status,
    )

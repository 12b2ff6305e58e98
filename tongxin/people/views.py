"""Pages of people: members, residents, households, buildings, special groups, dues, in-service
reporting and volunteers.

Thin by design: fetch with a `get_*_for_user` selector (404 outside scope, 403 without the
right), parse with a form, call one service, redirect. Buttons show only when the matching rule
allows them; the service checks the same rule again. ID numbers and phones are masked on every
page; the plain values appear only in the answer to a reveal request (POST with a reason).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tongxin.accounts.models import MANAGING_ROLES, Role
from tongxin.core.errors import ConflictError
from tongxin.core.exports import export_response
from tongxin.core.policy import policy, roles
from tongxin.core.scoping import has_role, subtree_q
from tongxin.orgs.exports import PlaceLabels
from tongxin.orgs.models import Level, OrgNode, ResidentUnit
from tongxin.people import exports, selectors, services
from tongxin.people.forms import (
    BuildingEditForm,
    BuildingForm,
    DateForm,
    FloatingForm,
    GenerateForm,
    GroupsForm,
    HouseholdEditForm,
    HouseholdForm,
    LedgerFilterForm,
    MakeFullForm,
    MemberEditForm,
    MemberFilterForm,
    MemberForm,
    OverrideForm,
    PayForm,
    PlaceFilterForm,
    RateForm,
    RegistrationForm,
    ResidentEditForm,
    ResidentFilterForm,
    ResidentForm,
    RevealForm,
    ServicePostForm,
    ServiceRecordForm,
    StatusForm,
    TeamForm,
    TransferForm,
    VersionDateForm,
    VolunteerForm,
    apply_service_errors,
)
from tongxin.people.imports import HouseholdImporter, MemberImporter, ResidentImporter
from tongxin.people.models import (
    OPEN_GROUPS,
    SENSITIVE_GROUPS,
    UNIT_CATEGORIES,
    MembershipType,
    MemberStatus,
    PartyMember,
    Person,
    ServicePost,
    SpecialGroup,
    VolunteerTeam,
)
from tongxin.people.rules import (
    COMMUNITY_PATH_LENGTH,
    PEOPLE_ROLES,
    REPORTING_ROLES,
    SELF_ROLES,
    can,
    liaison_unit_ids,
    serves,
)
from tongxin.people.services import STATUS_MOVES

PEOPLE = roles(PEOPLE_ROLES | SELF_ROLES)
STAFF = roles(PEOPLE_ROLES)
MANAGE = roles(MANAGING_ROLES)
SERVING = roles(REPORTING_ROLES | MANAGING_ROLES)
DUES = roles(PEOPLE_ROLES | {Role.MEMBER})
REPORTING = roles(PEOPLE_ROLES | {Role.MEMBER, Role.UNIT_LIAISON})
PAGE_SIZE = 20

# ---------------------------------------------------------------------------------------------
# helpers


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
    intro: str = "",
    danger: bool = False,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "people/form.html",
        {
            "form": form,
            "title": title,
            "back": back,
            "submit": submit or _("保存"),
            "intro": intro,
            "danger": danger,
        },
        status=status if request.method == "POST" and form.errors else 200,
    )


def _page(request: HttpRequest, queryset: Any, size: int = PAGE_SIZE) -> Any:
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _today() -> date:
    return timezone.localdate()


def _int_param(request: HttpRequest, name: str) -> int | None:
    """A numeric query parameter, or None (a bad value is ignored, never a 500)."""
    try:
        return int(request.GET.get(name) or "")
    except ValueError:
        return None


def _exported(request: HttpRequest, back: str, build: Callable[[], HttpResponse]) -> HttpResponse:
    """Run an export; when it is refused (too many rows), say why on the list page."""
    try:
        return build()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        query = request.GET.urlencode()
        target = reverse(back) if ":" in back else back
        return redirect(f"{target}?{query}" if query else target)


def _allowed_groups(user: Any, node: OrgNode | None) -> list[str]:
    """Groups the user may set for people at `node`: sensitive ones only where they serve."""
    serving = node is not None and serves(user, node.path)
    return [g for g in SpecialGroup.values if g in OPEN_GROUPS or serving]


def _member_url(member: PartyMember) -> str:
    return reverse("people:member_detail", args=[member.pk])


def _person_url(person: Person) -> str:
    if hasattr(person, "membership"):
        return reverse("people:member_detail", args=[person.membership.pk])
    if hasattr(person, "resident"):
        return reverse("people:resident_detail", args=[person.resident.pk])
    return reverse("people:member_list")


# ---------------------------------------------------------------------------------------------
# members


def _member_query(request: HttpRequest) -> tuple[MemberFilterForm, dict[str, Any], Any]:
    """The member list's filters from the query string, shared by the page and its export."""
    user = request.user
    form = MemberFilterForm(
        request.GET or None,
        places=selectors.grid_choices(user),
        branches=selectors.branch_choices(user),
    )
    filters = selectors.MemberFilters()
    data: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.MemberFilters(
            search=data.get("q") or "",
            category=data.get("category") or "",
            status=data.get("status") or "",
            node=data.get("node"),
            branch=data.get("branch"),
            group=data.get("group") or "",
        )
    return form, data, selectors.member_list(user, filters)


@policy(PEOPLE)
def member_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form, _data, members = _member_query(request)
    page = _page(request, members)
    return render(
        request,
        "people/member_list.html",
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "counts": selectors.member_counts_by_category(user)
            if selectors.people_paths(user)
            else [],
            "can_add": has_role(user, MANAGING_ROLES),
            "can_import": MemberImporter.policy.allows(user),
            "can_export": STAFF.allows(user),
        },
    )


@policy(STAFF)
@require_POST
def member_export(request: HttpRequest) -> HttpResponse:
    """The members the list shows (same query string), masked, as .xlsx; audited."""
    _form, data, members = _member_query(request)
    labels = PlaceLabels()
    return _exported(
        request,
        "people:member_list",
        lambda: export_response(
            members,
            exports.member_columns(labels),
            rows=exports.member_rows(members, labels),
            filename=_("党员"),
            actor=request.user,
            action="people.partymember.export",
            filters=data,
        ),
    )


def _member_permissions(user: Any, member: PartyMember) -> dict[str, bool]:
    person = member.person
    active = member.status == MemberStatus.NORMAL
    return {
        "edit": can(user, "people.change_member", member),
        "transfer": can(user, "people.transfer_member", member)
        and member.status not in (MemberStatus.EXPELLED, MemberStatus.DECEASED),
        "status": can(user, "people.change_member_status", member)
        and bool(STATUS_MOVES[member.status]),
        "make_full": can(user, "people.change_member", member)
        and member.membership_type == MembershipType.PROBATIONARY,
        "floating": can(user, "people.manage_floating", member),
        "reveal": can(user, "people.reveal_person", person),
        "groups": can(user, "people.change_person", person),
        "register": active
        and member.category in UNIT_CATEGORIES
        and can(user, "people.register_service", member),
        "collect": can(user, "people.collect_dues", member),
        "collect_on_behalf": can(user, "people.collect_dues_on_behalf", member),
        "volunteer": not hasattr(person, "volunteer")
        and can(user, "people.register_volunteer", person),
        "see_income": can(user, "people.collect_dues", member)
        or can(user, "people.change_member", member)
        or can(user, "people.view_sensitive_groups", person),
    }


@policy(PEOPLE)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = selectors.get_member_for_user(user, pk)
    ledger = list(selectors.ledger_list(user, selectors.LedgerFilters(member=member))[:12])
    registration = (
        selectors.registration_list(user, open_only=False).filter(member=member).first()
        if member.category in UNIT_CATEGORIES
        else None
    )
    return render(
        request,
        "people/member_detail.html",
        {
            "member": member,
            "person": member.person,
            "groups": member.person.visible_groups,
            "transfers": selectors.member_transfers(member),
            "floating": selectors.member_floating(member),
            "ledger": ledger,
            "arrears": selectors.member_arrears(member),
            "registration": registration,
            "can": _member_permissions(user, member),
            "reveal_form": RevealForm(),
            "today": _today(),
        },
    )


def _member_form_kwargs(user: Any) -> dict[str, Any]:
    return {
        "places": selectors.grid_choices(user),
        "branches": selectors.branch_choices(user),
        "organizations": selectors.organization_choices(user),
        "units": selectors.unit_choices(user),
    }


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def member_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {}
    if request.GET.get("node"):
        initial["node"] = request.GET["node"]
    form = MemberForm(request.POST or None, initial=initial, **_member_form_kwargs(user))
    status = 200
    if request.method == "POST" and form.is_valid():
        data = {**form.person_data(), **form.member_data()}
        member, status = _run(
            form,
            lambda: services.member_create(actor=user, node=form.cleaned_data["node"], data=data),
        )
        if member is not None:
            messages.success(request, _("已登记党员“%(name)s”。") % {"name": member.person.name})
            return redirect(_member_url(member))
    return _form_page(
        request,
        form,
        title=_("登记党员"),
        back=reverse("people:member_list"),
        intro=_("身份证号和联系电话加密保存，页面和接口中均脱敏显示。"),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = selectors.get_member_for_user(user, pk, write=True)
    person = member.person
    initial = {
        "version": member.version,
        "name": person.name,
        "gender": person.gender,
        "birth_date": person.birth_date,
        "ethnicity": person.ethnicity,
        "address": person.address,
        "node": person.node_id,
        "category": member.category,
        "joined_on": member.joined_on,
        "full_on": member.full_on,
        "branch": member.branch_id,
        "unit": member.unit_id,
        "work_unit_name": member.work_unit_name,
        "dues_class": member.dues_class,
        "monthly_income": member.monthly_income,
    }
    form = MemberEditForm(
        request.POST or None, initial=initial, person=person, **_member_form_kwargs(user)
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        changes = {**form.person_data(edit=True), **form.member_data()}
        for name in ("gender", "birth_date"):
            if form.fields[name].disabled:
                changes.pop(name, None)
        changes["node"] = form.cleaned_data["node"]
        result, status = _run(
            form,
            lambda: services.member_update(
                actor=user, member=member, version=form.cleaned_data["version"], changes=changes
            ),
        )
        if result is not None:
            messages.success(request, _("已保存。"))
            return redirect(_member_url(member))
    return _form_page(
        request,
        form,
        title=_("编辑党员：%(n)s") % {"n": person.name},
        back=_member_url(member),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def member_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = selectors.get_member_for_user(user, pk, write=True, perm="people.transfer_member")
    form = TransferForm(
        request.POST or None,
        initial={"version": member.version, "on": _today()},
        destinations=selectors.transfer_destinations(user).exclude(pk=member.organization_id),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        record, status = _run(
            form,
            lambda: services.member_transfer(
                actor=user,
                member=member,
                version=data["version"],
                on=data["on"],
                to_organization=data.get("to_organization"),
                to_name=data.get("to_name") or "",
                letter_no=data.get("letter_no") or "",
                note=data.get("note") or "",
            ),
        )
        if record is not None:
            messages.success(
                request, _("已办理组织关系转接：转入“%(to)s”。") % {"to": record.to_name}
            )
            try:
                selectors.get_member_for_user(user, member.pk)
            except Http404:
                # Moved to a community this user does not manage: back to the list.
                return redirect("people:member_list")
            return redirect(_member_url(member))
    return _form_page(
        request,
        form,
        title=_("组织关系转接：%(n)s") % {"n": member.person.name},
        back=_member_url(member),
        intro=_("当前组织关系：%(org)s。转接记录永久保留。") % {"org": member.organization_label},
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def member_status(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = selectors.get_member_for_user(user, pk, write=True, perm="people.change_member_status")
    allowed = sorted(STATUS_MOVES[member.status])
    if not allowed:
        raise Http404
    form = StatusForm(
        request.POST or None,
        initial={"version": member.version, "since": _today()},
        allowed=allowed,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result, status = _run(
            form,
            lambda: services.member_change_status(
                actor=user,
                member=member,
                version=data["version"],
                status=data["status"],
                since=data.get("since"),
                note=data.get("note") or "",
            ),
        )
        if result is not None:
            messages.success(request, _("已变更党籍状态。"))
            return redirect(_member_url(member))
    return _form_page(
        request,
        form,
        title=_("变更党籍状态：%(n)s") % {"n": member.person.name},
        back=_member_url(member),
        intro=_("当前状态：%(s)s。") % {"s": member.get_status_display()},
        danger=True,
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def member_make_full(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = selectors.get_member_for_user(user, pk, write=True)
    form = MakeFullForm(
        request.POST or None, initial={"version": member.version, "on": member.full_on or _today()}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result, status = _run(
            form,
            lambda: services.member_make_full(
                actor=user, member=member, version=data["version"], on=data["on"]
            ),
        )
        if result is not None:
            messages.success(request, _("已转为正式党员。"))
            return redirect(_member_url(member))
    return _form_page(
        request,
        form,
        title=_("预备党员转正：%(n)s") % {"n": member.person.name},
        back=_member_url(member),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def floating_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = selectors.get_member_for_user(user, pk, write=True, perm="people.manage_floating")
    form = FloatingForm(request.POST or None, initial={"since": _today()})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        record, status = _run(
            form, lambda: services.floating_record_add(actor=user, member=member, **data)
        )
        if record is not None:
            messages.success(request, _("已登记流动记录。"))
            return redirect(_member_url(member))
    return _form_page(
        request,
        form,
        title=_("登记流出/流入：%(n)s") % {"n": member.person.name},
        back=_member_url(member),
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def floating_end(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    record = selectors.get_floating_for_user(user, pk, write=True)
    form = DateForm(request.POST or None, initial={"on": _today()})
    status = 200
    if request.method == "POST" and form.is_valid():
        result, status = _run(
            form,
            lambda: services.floating_record_end(
                actor=user, record=record, until=form.cleaned_data["on"]
            ),
        )
        if result is not None:
            return redirect(_member_url(record.member))
    return _form_page(
        request, form, title=_("结束流动记录"), back=_member_url(record.member), status=status
    )


# ---------------------------------------------------------------------------------------------
# protected values and special groups (shared by member and resident cards)


def _person_for_user(user: Any, pk: int) -> Person:
    return selectors.get_person_for_user(user, pk)


@policy(PEOPLE)
@require_POST
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Reveal one person's ID number and phone for a stated reason (audited)."""
    person = _person_for_user(request.user, pk)
    form = RevealForm(request.POST)
    values = None
    status = 200
    if form.is_valid():
        try:
            values = services.person_reveal(
                actor=request.user, person=person, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            status = 400
    else:
        status = 400
    template = "people/_revealed.html" if request.htmx else "people/revealed.html"
    return render(
        request,
        template,
        {"person": person, "values": values, "form": form, "back": _person_url(person)},
        status=status,
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def person_groups(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    person = selectors.get_person_for_user(user, pk, write=True)
    allowed = _allowed_groups(user, person.node)
    current = [
        g.group for g in person.groups.filter(selectors.sensitive_visible_q(user)).order_by("group")
    ]
    form = GroupsForm(request.POST or None, initial={"groups": current}, allowed=allowed)
    status = 200
    if request.method == "POST" and form.is_valid():
        result, status = _run(
            form,
            lambda: services.person_set_groups(
                actor=user, person=person, groups=form.cleaned_data["groups"]
            ),
        )
        if result is not None:
            messages.success(request, _("已更新特殊人群标记。"))
            return redirect(_person_url(person))
    return _form_page(
        request,
        form,
        title=_("特殊人群标记：%(n)s") % {"n": person.name},
        back=_person_url(person),
        intro=_("残疾、低保、困难等敏感类别仅服务社区可见、可标记。"),
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# residents


def _resident_query(request: HttpRequest) -> tuple[ResidentFilterForm, dict[str, Any], Any]:
    user = request.user
    form = ResidentFilterForm(request.GET or None, places=selectors.grid_choices(user))
    filters = selectors.ResidentFilters()
    data: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.ResidentFilters(
            search=data.get("q") or "",
            node=data.get("node"),
            group=data.get("group") or "",
            residence_type=data.get("residence_type") or "",
            include_moved_out=bool(data.get("moved_out")),
        )
    return form, data, selectors.resident_list(user, filters)


@policy(PEOPLE)
def resident_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form, _data, residents = _resident_query(request)
    can_add = bool(selectors.people_paths(user))
    return render(
        request,
        "people/resident_list.html",
        {
            "form": form,
            "page": _page(request, residents),
            "query": _query_without_page(request),
            "can_add": can_add,
            "can_import": can_add and ResidentImporter.policy.allows(user),
            "can_export": STAFF.allows(user),
            "sensitive": SENSITIVE_GROUPS,
        },
    )


@policy(STAFF)
@require_POST
def resident_export(request: HttpRequest) -> HttpResponse:
    _form, data, residents = _resident_query(request)
    labels = PlaceLabels()
    return _exported(
        request,
        "people:resident_list",
        lambda: export_response(
            residents,
            exports.resident_columns(labels),
            rows=exports.resident_rows(residents, labels),
            filename=_("居民"),
            actor=request.user,
            action="people.resident.export",
            filters=data,
        ),
    )


@policy(PEOPLE)
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    resident = selectors.get_resident_for_user(user, pk)
    person = resident.person
    return render(
        request,
        "people/resident_detail.html",
        {
            "resident": resident,
            "person": person,
            "groups": person.visible_groups,
            "membership": getattr(person, "membership", None),
            "can": {
                "edit": can(user, "people.change_resident", resident),
                "reveal": can(user, "people.reveal_person", person),
                "groups": can(user, "people.change_person", person),
                "volunteer": not hasattr(person, "volunteer")
                and can(user, "people.register_volunteer", person),
            },
            "reveal_form": RevealForm(),
            "sensitive": SENSITIVE_GROUPS,
            "today": _today(),
        },
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def resident_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial: dict[str, Any] = {}
    household = None
    if request.GET.get("household"):
        household = selectors.get_household_for_user(user, request.GET["household"])
        initial["household"] = household.pk
        initial["relation"] = "other" if household.residents.exists() else "head"
    node = household.node if household else None
    form = ResidentForm(
        request.POST or None,
        initial=initial,
        households=selectors.visible_households(user),
        places=selectors.grid_choices(user),
        allowed_groups=_allowed_groups(user, node)
        if node
        else [g for g in SpecialGroup.values if g in OPEN_GROUPS or selectors.serving_paths(user)],
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            resident, status = _run(
                form, lambda: services.resident_create(actor=user, data=form.resident_data())
            )
        except PermissionDenied as exc:
            form.add_error("groups", str(exc) or _("无权标记敏感人群。"))
            resident, status = None, 403
        if resident is not None:
            messages.success(request, _("已登记居民“%(n)s”。") % {"n": resident.person.name})
            return redirect("people:resident_detail", pk=resident.pk)
    return _form_page(
        request,
        form,
        title=_("登记居民"),
        back=reverse("people:household_detail", args=[household.pk])
        if household
        else reverse("people:resident_list"),
        intro=_("身份证号和联系电话加密保存，页面和接口中均脱敏显示。"),
        status=status,
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def resident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    resident = selectors.get_resident_for_user(user, pk, write=True)
    person = resident.person
    initial = {
        "version": resident.version,
        "name": person.name,
        "gender": person.gender,
        "birth_date": person.birth_date,
        "ethnicity": person.ethnicity,
        "address": person.address,
        "household": resident.household_id,
        "relation": resident.relation,
        "residence_type": resident.residence_type,
        "moved_in_on": resident.moved_in_on,
    }
    form = ResidentEditForm(
        request.POST or None,
        initial=initial,
        households=selectors.visible_households(user),
        person=person,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        result, status = _run(
            form,
            lambda: services.resident_update(
                actor=user,
                resident=resident,
                version=form.cleaned_data["version"],
                changes=form.changes(),
            ),
        )
        if result is not None:
            messages.success(request, _("已保存。"))
            return redirect("people:resident_detail", pk=resident.pk)
    return _form_page(
        request,
        form,
        title=_("编辑居民：%(n)s") % {"n": person.name},
        back=reverse("people:resident_detail", args=[resident.pk]),
        status=status,
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def resident_move_out(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    resident = selectors.get_resident_for_user(user, pk, write=True)
    form = VersionDateForm(
        request.POST or None, initial={"version": resident.version, "on": _today()}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result, status = _run(
            form,
            lambda: services.resident_move_out(
                actor=user, resident=resident, version=data["version"], on=data["on"]
            ),
        )
        if result is not None:
            return redirect("people:resident_detail", pk=resident.pk)
    return _form_page(
        request,
        form,
        title=_("迁出：%(n)s") % {"n": resident.person.name},
        back=reverse("people:resident_detail", args=[resident.pk]),
        intro=_("迁出后记录保留。"),
        danger=True,
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# households and buildings


def _grids(user: Any) -> Any:
    return selectors.grid_choices(user).filter(level=Level.GRID)


def _place_query(request: HttpRequest) -> tuple[PlaceFilterForm, dict[str, Any]]:
    """The household and building lists' filters (search, place)."""
    form = PlaceFilterForm(request.GET or None, places=selectors.grid_choices(request.user))
    data = form.cleaned_data if form.is_valid() else {}
    return form, {"node": data.get("node"), "q": data.get("q") or ""}


@policy(STAFF)
def household_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form, data = _place_query(request)
    page = _page(request, selectors.household_list(user, node=data["node"], search=data["q"]))
    return render(
        request,
        "people/household_list.html",
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "can_import": HouseholdImporter.policy.allows(user),
        },
    )


@policy(STAFF)
@require_POST
def household_export(request: HttpRequest) -> HttpResponse:
    _form, data = _place_query(request)
    households = selectors.household_list(request.user, node=data["node"], search=data["q"])
    labels = PlaceLabels()
    return _exported(
        request,
        "people:household_list",
        lambda: export_response(
            households,
            exports.household_columns(labels),
            rows=exports.node_rows(households, labels),
            filename=_("住户"),
            actor=request.user,
            action="people.household.export",
            filters=data,
        ),
    )


@policy(STAFF)
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    household = selectors.get_household_for_user(user, pk)
    return render(
        request,
        "people/household_detail.html",
        {
            "household": household,
            "residents": selectors.household_residents(user, household),
            "can_edit": can(user, "people.change_household", household),
            "sensitive": SENSITIVE_GROUPS,
        },
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def household_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial: dict[str, Any] = {}
    building = None
    if request.GET.get("building"):
        building = selectors.get_building_for_user(user, request.GET["building"])
        initial.update(building=building.pk, node=building.node_id, address=building.address)
    form = HouseholdForm(
        request.POST or None,
        initial=initial,
        grids=_grids(user),
        buildings=selectors.visible_buildings(user),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        node = data.pop("node")
        household, status = _run(
            form, lambda: services.household_create(actor=user, node=node, data=data)
        )
        if household is not None:
            return redirect("people:household_detail", pk=household.pk)
    return _form_page(
        request, form, title=_("登记住户"), back=reverse("people:household_list"), status=status
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    household = selectors.get_household_for_user(user, pk, write=True)
    initial = {
        "version": household.version,
        "building": household.building_id,
        "door": household.door,
        "address": household.address,
        "household_type": household.household_type,
        "note": household.note,
    }
    form = HouseholdEditForm(
        request.POST or None,
        initial=initial,
        grids=None,
        buildings=selectors.visible_buildings(user).filter(node=household.node),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        result, status = _run(
            form,
            lambda: services.household_update(
                actor=user, household=household, version=version, changes=data
            ),
        )
        if result is not None:
            return redirect("people:household_detail", pk=household.pk)
    return _form_page(
        request,
        form,
        title=_("编辑住户"),
        back=reverse("people:household_detail", args=[household.pk]),
        status=status,
    )


@policy(STAFF)
def building_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form, data = _place_query(request)
    page = _page(request, selectors.building_list(user, node=data["node"], search=data["q"]))
    return render(
        request,
        "people/building_list.html",
        {"form": form, "page": page, "query": _query_without_page(request)},
    )


@policy(STAFF)
@require_POST
def building_export(request: HttpRequest) -> HttpResponse:
    _form, data = _place_query(request)
    buildings = selectors.building_list(request.user, node=data["node"], search=data["q"])
    labels = PlaceLabels()
    return _exported(
        request,
        "people:building_list",
        lambda: export_response(
            buildings,
            exports.building_columns(labels),
            rows=exports.node_rows(buildings, labels),
            filename=_("楼栋"),
            actor=request.user,
            action="people.building.export",
            filters=data,
        ),
    )


@policy(STAFF)
def building_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    building = selectors.get_building_for_user(user, pk)
    return render(
        request,
        "people/building_detail.html",
        {
            "building": building,
            "households": selectors.household_list(user, building=building),
            "can_edit": can(user, "people.change_building", building),
        },
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def building_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = BuildingForm(request.POST or None, grids=_grids(user))
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        node = data.pop("node")
        building, status = _run(
            form, lambda: services.building_create(actor=user, node=node, data=data)
        )
        if building is not None:
            return redirect("people:building_detail", pk=building.pk)
    return _form_page(
        request, form, title=_("登记楼栋"), back=reverse("people:building_list"), status=status
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def building_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    building = selectors.get_building_for_user(user, pk, write=True)
    initial = {
        "version": building.version,
        "name": building.name,
        "address": building.address,
        "floors": building.floors,
        "entrances": building.entrances,
        "note": building.note,
    }
    form = BuildingEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        result, status = _run(
            form,
            lambda: services.building_update(
                actor=user, building=building, version=version, changes=data
            ),
        )
        if result is not None:
            return redirect("people:building_detail", pk=building.pk)
    return _form_page(
        request,
        form,
        title=_("编辑楼栋"),
        back=reverse("people:building_detail", args=[building.pk]),
        status=status,
    )


@policy(STAFF)
def group_counts(request: HttpRequest) -> HttpResponse:
    """Special groups per community: counts for everyone in scope; lists only where one serves."""
    rows = selectors.group_counts(request.user)
    return render(
        request,
        "people/group_counts.html",
        {
            "rows": rows,
            "groups": SpecialGroup.choices,
            "sensitive": SENSITIVE_GROUPS,
            "serving": bool(selectors.serving_paths(request.user)),
        },
    )


# ---------------------------------------------------------------------------------------------
# dues


def _month_param(request: HttpRequest) -> date:
    raw = request.GET.get("month") or ""
    try:
        return date.fromisoformat(raw + "-01") if len(raw) == 7 else _today().replace(day=1)
    except ValueError:
        return _today().replace(day=1)


def _ledger_query(
    request: HttpRequest,
) -> tuple[LedgerFilterForm, selectors.LedgerFilters, date, dict[str, Any]]:
    user = request.user
    form = LedgerFilterForm(request.GET or None, branches=selectors.branch_choices(user))
    filters = selectors.LedgerFilters(month=_today())
    month = _today().replace(day=1)
    data: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        month = data.get("month") or month
        filters = selectors.LedgerFilters(
            month=None if data.get("arrears") and not data.get("month") else month,
            branch=data.get("branch"),
            arrears_only=bool(data.get("arrears")),
            search=data.get("q") or "",
        )
    audit_filters = {
        "month": f"{filters.month:%Y-%m}" if filters.month else "",
        "branch": filters.branch,
        "arrears": filters.arrears_only,
        "q": filters.search,
    }
    return form, filters, month, audit_filters


@policy(DUES)
def dues_ledger(request: HttpRequest) -> HttpResponse:
    user = request.user
    form, filters, month, _audit = _ledger_query(request)
    page = _page(request, selectors.ledger_list(user, filters))
    for row in page:
        row.can_pay = row.paid < row.amount and can(user, "people.collect_dues", row)
        row.can_override = can(user, "people.override_dues", row)
    return render(
        request,
        "people/dues_ledger.html",
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "month": month,
            "can_generate": has_role(user, MANAGING_ROLES),
            "can_export": STAFF.allows(user),
        },
    )


@policy(STAFF)
@require_POST
def dues_export(request: HttpRequest) -> HttpResponse:
    """The ledger rows the page shows (month, branch, arrears, name), as .xlsx; audited."""
    _form, filters, _month, audit_filters = _ledger_query(request)
    ledger = selectors.ledger_list(request.user, filters)
    labels = PlaceLabels()
    return _exported(
        request,
        "people:dues_ledger",
        lambda: export_response(
            ledger,
            exports.ledger_columns(labels),
            rows=exports.ledger_rows(ledger, labels),
            filename=_("党费台账"),
            actor=request.user,
            action="people.duesledger.export",
            filters=audit_filters,
        ),
    )


@policy(STAFF)
def dues_summary(request: HttpRequest) -> HttpResponse:
    month = _month_param(request)
    rows = selectors.dues_summary(request.user, month)
    totals = {
        "members": sum(r.members for r in rows),
        "due": sum((r.due for r in rows), start=Decimal("0.00")),
        "paid": sum((r.paid for r in rows), start=Decimal("0.00")),
        "paid_members": sum(r.paid_members for r in rows),
        "collected_on_behalf": sum(r.collected_on_behalf for r in rows),
    }
    return render(
        request,
        "people/dues_summary.html",
        {
            "rows": rows,
            "month": month,
            "totals": totals,
            "export_query": f"month={month:%Y-%m}",
        },
    )


@policy(STAFF)
@require_POST
def dues_summary_export(request: HttpRequest) -> HttpResponse:
    """One month's summary per branch, as .xlsx; audited like any export."""
    month = _month_param(request)
    rows = selectors.dues_summary(request.user, month)
    return _exported(
        request,
        "people:dues_summary",
        lambda: export_response(
            selectors.visible_ledger(request.user).filter(month=month),
            exports.summary_columns(),
            rows=rows,
            filename=_("党费汇总-%(month)s") % {"month": f"{month:%Y-%m}"},
            actor=request.user,
            action="people.duessummary.export",
            filters={"month": f"{month:%Y-%m}"},
        ),
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def dues_generate(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = GenerateForm(
        request.POST or None,
        initial={"month": _today().replace(day=1)},
        places=selectors.grid_choices(user),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result, status = _run(
                form,
                lambda: services.dues_generate(actor=user, month=data["month"], node=data["node"]),
            )
        except PermissionDenied:
            form.add_error("node", _("无权为该组织生成党费台账。"))
            result, status = None, 403
        if result is not None:
            messages.success(
                request,
                _("已生成 %(c)d 条，已有 %(a)d 条，%(m)d 名党员未申报收入。")
                % {"c": result.created, "a": result.already, "m": len(result.missing_income)},
            )
            return redirect(reverse("people:dues_ledger") + f"?month={data['month']:%Y-%m}")
    return _form_page(
        request,
        form,
        title=_("生成党费台账"),
        back=reverse("people:dues_ledger"),
        intro=_(
            "按党员申报的月收入（税后）计算：在职 ≤3000 元 0.5%，3000–5000 元 1%，"
            "5000–10000 元 1.5%，10000 元以上 2%；离退休 ≤5000 元 0.5%，以上 1%；"
            "学生、下岗失业、领取低保 0.2 元。区间含上限。"
        ),
        status=status,
    )


@policy(SERVING)
@require_http_methods(["GET", "POST"])
def dues_pay(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    ledger = selectors.get_ledger_for_user(user, pk, write=True)
    form = PayForm(
        request.POST or None,
        initial={"paid_on": _today(), "amount": ledger.outstanding},
        may_collect_on_behalf=can(user, "people.collect_dues_on_behalf", ledger),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result, status = _run(
            form,
            lambda: services.dues_pay(
                actor=user,
                ledger=ledger,
                amount=data.get("amount"),
                paid_on=data.get("paid_on"),
                method=data["method"],
                on_behalf=bool(data.get("on_behalf")),
                note=data.get("note") or "",
            ),
        )
        if result is not None:
            messages.success(request, _("已登记交纳 %(a)s 元。") % {"a": result.amount})
            return redirect(_member_url(ledger.member))
    return _form_page(
        request,
        form,
        title=_("登记党费：%(n)s %(m)s")
        % {"n": ledger.member.person.name, "m": f"{ledger.month:%Y-%m}"},
        back=_member_url(ledger.member),
        intro=_("应交 %(a)s 元，已交 %(p)s 元。") % {"a": ledger.amount, "p": ledger.paid},
        status=status,
    )


@policy(MANAGE)
@require_http_methods(["GET", "POST"])
def dues_override(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    ledger = selectors.get_ledger_for_user(user, pk, write=True, perm="people.override_dues")
    form = OverrideForm(
        request.POST or None,
        initial={
            "version": ledger.version,
            "amount": ledger.amount,
            "reason": ledger.override_reason,
        },
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result, status = _run(
            form,
            lambda: services.dues_override(
                actor=user,
                ledger=ledger,
                version=data["version"],
                amount=data["amount"],
                reason=data["reason"],
            ),
        )
        if result is not None:
            messages.success(request, _("已调整应交金额。"))
            return redirect(_member_url(ledger.member))
    return _form_page(
        request,
        form,
        title=_("调整应交党费：%(n)s %(m)s")
        % {"n": ledger.member.person.name, "m": f"{ledger.month:%Y-%m}"},
        back=_member_url(ledger.member),
        intro=_("按标准应交 %(s)s 元。调整须说明原因，记入审计。") % {"s": ledger.standard},
        status=status,
    )


@policy(SERVING)
@require_POST
def dues_settle(request: HttpRequest, pk: int) -> HttpResponse:
    """Pay every outstanding month of one member (a grid manager's visit: 代收)."""
    user = request.user
    member = selectors.get_member_for_user(user, pk, write=True, perm="people.collect_dues")
    on_behalf = request.POST.get("on_behalf") == "1"
    try:
        payments = services.dues_settle(actor=user, member=member, on_behalf=on_behalf)
    except (ConflictError, ValidationError) as exc:
        messages.error(request, str(exc.messages[0] if hasattr(exc, "messages") else exc))
    else:
        total = sum(p.amount for p in payments)
        messages.success(
            request, _("已交清 %(n)d 个月，共 %(t)s 元。") % {"n": len(payments), "t": total}
        )
    return redirect(_member_url(member))


# ---------------------------------------------------------------------------------------------
# in-service reporting


@policy(REPORTING)
def reporting(request: HttpRequest) -> HttpResponse:
    user = request.user
    staff = bool(selectors.people_paths(user))
    community = None
    if _int_param(request, "community") is not None:
        # Only a community the user sees: the heading shows its name.
        community = (
            selectors.grid_choices(user)
            .filter(pk=_int_param(request, "community"), level=Level.COMMUNITY)
            .first()
        )
    not_reported = (
        selectors.reporting_members(user, community=community).filter(reported=False)[:200]
        if staff
        else []
    )
    return render(
        request,
        "people/reporting.html",
        {
            "staff": staff,
            "by_community": selectors.reporting_by_community(user) if staff else [],
            "by_unit": selectors.reporting_by_unit(user) if staff else [],
            "registrations": selectors.registration_list(user, community=community)[:200],
            "not_reported": not_reported,
            "community": community,
            "export_query": f"community={community.pk}" if community else "",
            "liaison_units": ResidentUnit.objects.filter(pk__in=sorted(liaison_unit_ids(user))),
            "year": _today().year,
        },
    )


@policy(roles(PEOPLE_ROLES | {Role.UNIT_LIAISON}))
@require_POST
def reporting_export(request: HttpRequest) -> HttpResponse:
    """Who has and has not reported: for a unit (`unit`, its liaison sees all its in-service
    members) or the user's scope / one community (`community`); as .xlsx, audited."""
    user = request.user
    unit = community = None
    if _int_param(request, "unit") is not None:
        unit = ResidentUnit.objects.select_related("node").filter(pk=_int_param(request, "unit"))
        unit = unit.first()
        if unit is None or not can(user, "people.view_unit_report", unit):
            raise Http404
    elif not selectors.people_paths(user):
        raise Http404
    if _int_param(request, "community") is not None:
        community = (
            selectors.grid_choices(user)
            .filter(pk=_int_param(request, "community"), level=Level.COMMUNITY)
            .first()
        )
    members = exports.with_open_registration(
        selectors.reporting_members(user, community=community, unit=unit)
    )
    labels = PlaceLabels()
    back = reverse("people:unit_reporting", args=[unit.pk]) if unit else "people:reporting"
    name = unit.name if unit else community.name if community else _("在职党员报到")
    return _exported(
        request,
        back,
        lambda: export_response(
            members,
            exports.reporting_columns(labels),
            rows=exports.reporting_rows(members, labels),
            filename=_("报到情况-%(name)s") % {"name": name},
            actor=user,
            action="people.registration.export",
            filters={"unit": unit, "community": community},
        ),
    )


@policy(REPORTING)
def unit_reporting(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    unit = ResidentUnit.objects.select_related("node").filter(pk=pk).first()
    if unit is None or not can(user, "people.view_unit_report", unit):
        raise Http404
    members = selectors.reporting_members(user, unit=unit)
    registrations = selectors.registration_list(user, unit=unit)
    return render(
        request,
        "people/unit_reporting.html",
        {
            "unit": unit,
            "members": members,
            "registrations": registrations,
            "year": _today().year,
            "export_query": f"unit={unit.pk}",
        },
    )


@policy(SERVING)
@require_http_methods(["GET", "POST"])
def service_posts(request: HttpRequest) -> HttpResponse:
    user = request.user
    communities = selectors.grid_choices(user).filter(level=Level.COMMUNITY)
    community = (
        communities.filter(pk=_int_param(request, "community") or 0).first() or communities.first()
    )
    if community is None:
        raise Http404
    form = ServicePostForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        post, status = _run(
            form,
            lambda: services.service_post_create(
                actor=user, community=community, **form.cleaned_data
            ),
        )
        if post is not None:
            messages.success(request, _("已设置服务岗位“%(n)s”。") % {"n": post.name})
            return redirect(reverse("people:service_posts") + f"?community={community.pk}")
    return render(
        request,
        "people/service_posts.html",
        {
            "community": community,
            "communities": communities,
            "posts": selectors.service_posts(community),
            "form": form,
            "can_add": can(user, "people.add_service_post", community),
        },
        status=status,
    )


@policy(roles(REPORTING_ROLES | MANAGING_ROLES | {Role.MEMBER}))
@require_http_methods(["GET", "POST"])
def registration_create(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    member = selectors.get_member_for_user(user, pk, write=True, perm="people.register_service")
    community = services.community_of(member.person.node)
    form = RegistrationForm(
        request.POST or None,
        initial={"registered_on": _today(), "unit_name": member.work_unit_name},
        posts=selectors.service_posts(community) if community else ServicePost.objects.none(),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        registration, status = _run(
            form,
            lambda: services.registration_create(
                actor=user,
                member=member,
                registered_on=data.get("registered_on"),
                unit_name=data.get("unit_name") or "",
                posts=data.get("posts") or [],
            ),
        )
        if registration is not None:
            messages.success(request, _("已到社区报到。"))
            return redirect("people:registration_detail", pk=registration.pk)
    return _form_page(
        request,
        form,
        title=_("在职党员到社区报到：%(n)s") % {"n": member.person.name},
        back=_member_url(member),
        intro=_("报到社区：%(c)s") % {"c": community.name if community else "—"},
        status=status,
    )


@policy(REPORTING)
def registration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    registration = selectors.get_registration_for_user(user, pk)
    ratings = registration.ratings.select_related("rated_by").order_by("-year")
    return render(
        request,
        "people/registration_detail.html",
        {
            "registration": registration,
            "records": selectors.registration_records(registration),
            "ratings": ratings,
            "hours": sum((r.hours for r in registration.records.all()), start=0),
            "can": {
                "record": registration.ended_on is None
                and can(user, "people.record_service", registration),
                "rate": can(user, "people.rate_service", registration),
                "see_member": can(user, "people.view_member", registration.member),
            },
        },
    )


@policy(SERVING)
@require_http_methods(["GET", "POST"])
def service_record_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    registration = selectors.get_registration_for_user(user, pk, write=True)
    form = ServiceRecordForm(
        request.POST or None,
        initial={"served_on": _today(), "hours": 2},
        posts=selectors.service_posts(registration.community),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        record, status = _run(
            form,
            lambda: services.service_record_add(
                actor=user, registration=registration, **form.cleaned_data
            ),
        )
        if record is not None:
            return redirect("people:registration_detail", pk=registration.pk)
    return _form_page(
        request,
        form,
        title=_("登记服务记录：%(n)s") % {"n": registration.member.person.name},
        back=reverse("people:registration_detail", args=[registration.pk]),
        status=status,
    )


@policy(roles(Role.COMMUNITY_ADMIN))
@require_http_methods(["GET", "POST"])
def registration_rate(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    registration = selectors.get_registration_for_user(
        user, pk, write=True, perm="people.rate_service"
    )
    form = RateForm(request.POST or None, initial={"year": _today().year})
    status = 200
    if request.method == "POST" and form.is_valid():
        rating, status = _run(
            form,
            lambda: services.registration_rate(
                actor=user, registration=registration, **form.cleaned_data
            ),
        )
        if rating is not None:
            messages.success(
                request,
                _("已评价，并通知单位联络员 %(n)d 人。") % {"n": rating.notified_liaisons},
            )
            return redirect("people:registration_detail", pk=registration.pk)
    return _form_page(
        request,
        form,
        title=_("年度评价：%(n)s") % {"n": registration.member.person.name},
        back=reverse("people:registration_detail", args=[registration.pk]),
        intro=_("评价结果将反馈给党员所在单位（双向约束）。"),
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# volunteers


@policy(PEOPLE)
def volunteer_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    team = None
    if request.GET.get("team"):
        team = selectors.get_team_for_user(user, request.GET["team"])
    page = _page(
        request, selectors.volunteer_list(user, team=team, search=request.GET.get("q", "")[:50])
    )
    return render(
        request,
        "people/volunteer_list.html",
        {
            "page": page,
            "team": team,
            "query": _query_without_page(request),
            "q": request.GET.get("q", ""),
        },
    )


@policy(STAFF)
def team_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "people/team_list.html",
        {"teams": selectors.team_list(user), "can_add": bool(selectors.people_paths(user))},
    )


@policy(STAFF)
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = selectors.get_team_for_user(request.user, pk)
    return redirect(reverse("people:volunteer_list") + f"?team={team.pk}")


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    places = OrgNode.objects.filter(
        subtree_q(selectors.people_paths(user)),
        closed_at__isnull=True,
        level__in=[Level.STREET, Level.COMMUNITY, Level.GRID],
    ).order_by("path")
    form = TeamForm(request.POST or None, places=places)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        node = data.pop("node")
        team, status = _run(form, lambda: services.team_create(actor=user, node=node, data=data))
        if team is not None:
            return redirect("people:team_list")
    return _form_page(
        request, form, title=_("组建志愿服务队"), back=reverse("people:team_list"), status=status
    )


@policy(STAFF)
@require_http_methods(["GET", "POST"])
def volunteer_register(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    person = selectors.get_person_for_user(user, pk, write=True, perm="people.register_volunteer")
    community_path = person.node.path[:COMMUNITY_PATH_LENGTH]
    teams = [
        t
        for t in selectors.team_list(user)
        if community_path.startswith(t.node.path) or t.node.path.startswith(community_path)
    ]
    form = VolunteerForm(
        request.POST or None,
        initial={"registered_on": _today()},
        teams=VolunteerTeam.objects.filter(pk__in=[t.pk for t in teams]),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        volunteer, status = _run(
            form,
            lambda: services.volunteer_register(
                actor=user,
                person=person,
                registered_on=data.get("registered_on"),
                skills=data.get("skills") or "",
                teams=data.get("teams") or [],
            ),
        )
        if volunteer is not None:
            messages.success(request, _("已登记为志愿者。"))
            return redirect(_person_url(person))
    return _form_page(
        request,
        form,
        title=_("登记志愿者：%(n)s") % {"n": person.name},
        back=_person_url(person),
        status=status,
    )

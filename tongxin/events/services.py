"""Writes of the event workflow. Each service is one transaction with its history and audit.

Conventions (ARCHITECTURE.md 1 and 4):
- keyword-only arguments; `actor` is the user acting, None for the system (the deadline job);
- the state changes only in `event_transition`, which looks the move up in workflow.MOVES, refuses
  anything else with a Chinese reason (ConflictError → 409; not the right person →
  PermissionDenied → 403), locks the row, checks the client's `version`, and writes the new state,
  an EventTransition row and an audit record in one transaction;
- notifications go out in `transaction.on_commit`, so nobody hears of a move that rolled back;
- bad input raises django ValidationError with a field dict, in Chinese.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tongxin.accounts.models import Role, User
from tongxin.core.audit import audit
from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome
from tongxin.core.scoping import grants, has_role, scope_paths
from tongxin.events import conf
from tongxin.events.models import (
    FINAL_STATES,
    NEXT_LEVEL,
    OPEN_STATES,
    Action,
    AssignmentState,
    Category,
    Department,
    DepartmentAssignment,
    DepartmentStaff,
    DepartmentStation,
    Event,
    EventPhoto,
    EventTransition,
    HandlingLevel,
    Priority,
    Source,
    State,
)
from tongxin.events.rules import (
    HANDLER_ROLE,
    REPORTING_ROLES,
    SUPERVISING_ROLES,
    can,
    forget_departments,
    my_assignments,
    qualifies,
    sees_event,
)
from tongxin.events.workdays import add_working_days
from tongxin.events.workflow import ACTIONS_NEEDING_NOTE, LevelChange, Move, Who, find_move
from tongxin.orgs.models import Level, OrgNode

DESCRIPTION_MIN = 5
DESCRIPTION_MAX = 2000
NOTE_MAX = 500
# Stored as the actor's name of the job's moves (data, in the source language); pages translate it.
SYSTEM_NAME = gettext_noop("系统")

# What a photo may be, told by its first bytes (the browser's content type is not evidence).
_PHOTO_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (8, b"WEBP", "image/webp"),
    (4, b"ftypheic", "image/heic"),
    (4, b"ftypheix", "image/heic"),
    (4, b"ftypmif1", "image/heif"),
)


class IllegalMove(ConflictError):
    """The move is not in the table for the event's state and level."""


# ---------------------------------------------------------------------------------------------
# helpers


def _require(actor: Any, perm: str, obj: Any = None) -> None:
    if actor is None or can(actor, perm, obj):
        return
    audit(
        actor=actor,
        action=perm,
        obj=obj if hasattr(obj, "_meta") else None,
        outcome=AuditOutcome.DENIED,
    )
    raise PermissionDenied


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _actor_name(actor: Any) -> str:
    return str(actor)[:80] if actor is not None else SYSTEM_NAME


def _ancestor_at(node: OrgNode, level: str) -> OrgNode | None:
    if node.level == level:
        return node
    return OrgNode.objects.filter(path__in=node.ancestor_paths(), level=level).first()


def _handling_node_for(event: Event, level: str) -> OrgNode:
    wanted = {
        HandlingLevel.GRID: Level.GRID,
        HandlingLevel.COMMUNITY: Level.COMMUNITY,
        HandlingLevel.STREET: Level.STREET,
        HandlingLevel.DEPARTMENT: Level.STREET,
    }[level]
    found = _ancestor_at(event.node, wanted)
    if found is None:  # the tree is strictly layered; this is a data error, not user input
        raise ConflictError(_("找不到该事件的%(level)s层级处置单位。") % {"level": wanted.label})
    return found


def _deadline(category: Category, level: str, start: dt.datetime) -> dt.datetime:
    return add_working_days(start, category.days_for(level))


def _link(event: Event) -> str:
    return reverse("events:detail", args=[event.pk])


def handlers_of(level: str, node: OrgNode) -> list[User]:
    """The users who handle events at `level` for `node` (their role held exactly there)."""
    return list(
        User.objects.filter(
            is_active=True,
            assignments__role=HANDLER_ROLE[level],
            assignments__node=node,
        ).distinct()
    )


def department_staff_for(department_id: int, street: OrgNode) -> list[User]:
    """Staff of the department whose department-role assignment covers the street."""
    return list(
        User.objects.filter(
            is_active=True,
            department_memberships__department_id=department_id,
            assignments__role=Role.DEPARTMENT,
            assignments__node__path__in=street.ancestor_paths(),
        ).distinct()
    )


def _notify_later(recipients: Iterable[Any], title: str, body: str, link: str) -> None:
    users = [u for u in recipients if u is not None]
    if not users:
        return

    def send() -> None:
        from tongxin.notify.services import notify

        notify(recipients=users, title=title, body=body, link=link, category="events")

    transaction.on_commit(send)


def _summary(event: Event) -> str:
    text = event.description.replace("\n", " ")
    return f"#{event.pk} {event.category.name}：{text[:60]}"


# ---------------------------------------------------------------------------------------------
# photos


def validate_photo(upload: UploadedFile) -> tuple[str, str]:
    """(content type, sha256) of an uploaded photo; ValidationError when it is not one."""
    limit = conf.get("EVENTS_PHOTO_MAX_BYTES")
    if upload.size is None or upload.size == 0:
        raise ValidationError({"photos": _("照片文件为空。")})
    if upload.size > limit:
        raise ValidationError(
            {"photos": _("照片不能超过 %(mb)d MB。") % {"mb": limit // (1024 * 1024)}}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = next(
        (kind for offset, magic, kind in _PHOTO_SIGNATURES if head[offset:].startswith(magic)),
        None,
    )
    if content_type is None:
        raise ValidationError({"photos": _("只能上传 JPEG、PNG、WebP 或 HEIC 格式的照片。")})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return content_type, digest.hexdigest()


def _check_photos(photos: Sequence[UploadedFile]) -> list[tuple[UploadedFile, str, str]]:
    most = conf.get("EVENTS_PHOTO_MAX_COUNT")
    if len(photos) > most:
        raise ValidationError({"photos": _("每个事件最多上传 %(n)d 张照片。") % {"n": most}})
    return [(p, *validate_photo(p)) for p in photos]


# ---------------------------------------------------------------------------------------------
# placing a report


@dataclass(frozen=True)
class Placement:
    node: OrgNode
    outside_grid: bool


def locate_grid(lng: float, lat: float) -> tuple[OrgNode | None, bool]:
    """(grid, whether the point could be judged at all).

    The grids app places points in grid polygons (tongxin.grids.geo.locate). Where no grid has
    a boundary yet, a point cannot be judged "outside every grid": the caller falls back to the
    chosen or the reporter's own grid instead of flagging every event of the district.
    """
    try:
        from tongxin.grids.geo import grid_index, locate
    except ImportError:
        return None, False
    if grid_index().empty:
        return None, False
    found = locate(lng, lat, crs="wgs84")
    return found.grid, True


def to_wgs84(lng: float, lat: float, crs: str) -> tuple[float, float]:
    """Convert GCJ-02 / BD-09 input (Chinese web maps) to WGS-84 with the grids app's formulas."""
    if crs == "wgs84":
        return lng, lat
    try:
        from tongxin.grids.geo import to_wgs84 as convert
    except ImportError:
        raise ValidationError({"crs": _("暂不支持该坐标系。")}) from None
    return convert(lng, lat, crs)


def _reporter_community(actor: Any) -> OrgNode | None:
    """The community of the actor's first role assignment at or below a community."""
    for grant in grants(actor):
        node = OrgNode.objects.filter(pk=grant.node_id).first()
        community = _ancestor_at(node, Level.COMMUNITY) if node else None
        if community is not None:
            return community
    return None


def _own_grid(actor: Any) -> OrgNode | None:
    """The actor's grid when they hold a role at exactly one grid (or below it)."""
    found = {
        _ancestor_at(OrgNode.objects.get(pk=g.node_id), Level.GRID)
        for g in grants(actor)
        if g.role in REPORTING_ROLES
    }
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _check_chosen_node(actor: Any, node: OrgNode) -> OrgNode:
    if node.level not in (Level.GRID, Level.COMMUNITY) or node.closed_at is not None:
        raise ValidationError({"node": _("请选择一个有效的网格或社区。")})
    if actor is not None and not any(
        node.path.startswith(p) or p.startswith(node.path)
        for p in scope_paths(actor, REPORTING_ROLES)
    ):
        raise ValidationError({"node": _("不能在所选网格登记事件。")})
    return node


def place_event(
    *, actor: Any, lng: float | None, lat: float | None, node: OrgNode | None
) -> Placement:
    """Which grid an event belongs to.

    The point decides when a locator exists and the point lies in a grid. A point outside
    every grid is kept, flagged `outside_grid`, with the chosen node or the reporter's
    community. Without a point (or without a locator) the chosen grid, the reporter's own grid,
    or the reporter's community, in that order.
    """
    chosen = _check_chosen_node(actor, node) if node is not None else None
    if lng is not None and lat is not None:
        grid, can_locate = locate_grid(lng, lat)
        if grid is not None:
            return Placement(grid, False)
        if can_locate:
            fallback = chosen or (_reporter_community(actor) if actor is not None else None)
            if fallback is None:
                raise ValidationError(
                    {"node": _("该位置不在任何网格内，且无法确定报告人所在社区，请选择社区。")}
                )
            community = _ancestor_at(fallback, Level.COMMUNITY) or fallback
            return Placement(community, True)
    fallback = chosen
    if fallback is None and actor is not None:
        fallback = _own_grid(actor) or _reporter_community(actor)
    if fallback is None:
        raise ValidationError({"node": _("无法确定事件所属网格，请选择网格。")})
    return Placement(fallback, False)


# ---------------------------------------------------------------------------------------------
# reporting


def _clean_point(lng: Any, lat: Any) -> tuple[float | None, float | None]:
    if lng in (None, "") and lat in (None, ""):
        return None, None
    if lng in (None, "") or lat in (None, ""):
        raise ValidationError({"lng": _("经度和纬度须同时填写。")})
    try:
        lng_f, lat_f = float(lng), float(lat)
    except (TypeError, ValueError):
        raise ValidationError({"lng": _("经纬度须为数字。")}) from None
    if not (-180 <= lng_f <= 180 and -90 <= lat_f <= 90) or lng_f != lng_f or lat_f != lat_f:
        raise ValidationError({"lng": _("经纬度超出范围。")})
    return lng_f, lat_f


def event_report(
    *,
    actor: Any,
    category: Category,
    description: str,
    source: str = Source.RESIDENT,
    priority: str = Priority.LOW,
    lng: float | None = None,
    lat: float | None = None,
    address: str = "",
    node: OrgNode | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    photos: Sequence[UploadedFile] = (),
    crs: str = "wgs84",
    now: dt.datetime | None = None,
) -> Event:
    """File an event: placed in its grid, due by the category's deadline for its first level.

    A staff member (grid manager, admin) who gives `reporter_name` files on behalf of someone
    without an account (a caller, a visited household): that person is the reporter by name
    and nobody rates it in the platform. Everyone else is the reporter themselves.
    """
    _require(actor, "events.report_event")
    errors: dict[str, str] = {}
    description = (description or "").strip()
    if len(description) < DESCRIPTION_MIN:
        errors["description"] = _("请至少用 %(n)d 个字描述事件。") % {"n": DESCRIPTION_MIN}
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = _("事件描述不能超过 %(n)d 个字。") % {"n": DESCRIPTION_MAX}
    if category is None or not category.is_active:
        errors["category"] = _("请选择一个启用的事件分类。")
    if source not in Source.values:
        errors["source"] = _("未知的事件来源。")
    if priority not in Priority.values:
        errors["priority"] = _("未知的紧急程度。")
    address = (address or "").strip()
    if len(address) > 200:
        errors["address"] = _("地址不能超过 200 个字。")
    reporter_name = (reporter_name or "").strip()
    if len(reporter_name) > 50:
        errors["reporter_name"] = _("报告人姓名不能超过 50 个字。")
    if errors:
        raise ValidationError(errors)
    lng, lat = _clean_point(lng, lat)
    if lng is not None and lat is not None:
        if crs not in ("wgs84", "gcj02", "bd09"):
            raise ValidationError({"crs": _("未知的坐标系。")})
        lng, lat = to_wgs84(lng, lat, crs)
    if lng is None and not address:
        raise ValidationError({"address": _("请提供事件位置：定位或填写地址。")})
    checked_photos = _check_photos(list(photos))
    on_behalf = bool(reporter_name) and actor is not None and has_role(actor, SUPERVISING_ROLES)

    now = now or timezone.now()
    with transaction.atomic():
        placement = place_event(actor=actor, lng=lng, lat=lat, node=node)
        level = (
            HandlingLevel.GRID if placement.node.level == Level.GRID else HandlingLevel.COMMUNITY
        )
        event = Event(
            source=source,
            category=category,
            priority=priority,
            description=description,
            address=address,
            lng=lng,
            lat=lat,
            reporter=None if on_behalf or actor is None else actor,
            reporter_name=reporter_name or (str(actor)[:50] if actor is not None else ""),
            created_by=actor,
            node=placement.node,
            outside_grid=placement.outside_grid,
            level=level,
            handling_node=placement.node,
            state=State.REPORTED,
            deadline=_deadline(category, level, now),
            level_entered_at=now,
            created_at=now,
        )
        event.reporter_phone = reporter_phone
        event.save(force_insert=True)
        for upload, content_type, digest in checked_photos:
            EventPhoto.objects.create(
                event=event,
                file=upload,
                content_type=content_type,
                size=upload.size,
                sha256=digest,
                uploaded_by=actor,
            )
        EventTransition.objects.create(
            event=event,
            at=now,
            actor=actor,
            actor_name=_actor_name(actor),
            action=Action.REPORT,
            from_state="",
            to_state=State.REPORTED,
            from_level="",
            to_level=level,
            note="",
            data={"deadline": event.deadline.isoformat(), "outside_grid": event.outside_grid},
        )
        audit(
            actor=actor,
            username=SYSTEM_NAME,
            action="events.report",
            obj=event,
            changes={
                "category": category.code,
                "node": placement.node.name,
                "level": level,
                "outside_grid": placement.outside_grid,
                "photos": len(checked_photos),
            },
        )
        _notify_later(
            handlers_of(level, placement.node),
            _("新事件待受理"),
            _summary(event),
            _link(event),
        )
    return event


# ---------------------------------------------------------------------------------------------
# moves


def _refuse(actor: Any, event: Event, action: str, message: str) -> None:
    audit(
        actor=actor,
        username=SYSTEM_NAME,
        action=f"events.{action}",
        obj=event,
        outcome=AuditOutcome.DENIED,
        changes={"reason": message},
    )


def _find_legal_move(event: Event, action: str) -> Move:
    if action not in Action.values or action == Action.REPORT:
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    move = find_move(event.state, action)
    if move is None:
        raise IllegalMove(
            _("事件当前状态为「%(state)s」，不能执行「%(action)s」。")
            % {"state": _label(State, event.state), "action": _label(Action, action)}
        )
    if event.level not in move.levels:
        raise IllegalMove(
            _("事件当前在「%(level)s」层级，不能执行「%(action)s」。")
            % {"level": _label(HandlingLevel, event.level), "action": _label(Action, action)}
        )
    return move


def _who_may(move: Move, event: Event) -> str:
    if Who.HANDLER in move.who:
        role = Role(HANDLER_ROLE[event.level]).label
        return _("只有%(node)s的%(role)s可以执行此操作。") % {
            "node": event.handling_node.name,
            "role": role,
        }
    if Who.REPORTER in move.who:
        return _("只有事件的报告人可以执行此操作。")
    if Who.DEPARTMENT in move.who:
        return _("只有被吹哨的职能部门人员可以执行此操作。")
    return _("此操作只能由系统执行。")


@dataclass
class MoveInput:
    note: str
    departments: list[Department] | None
    department: Department | None
    score: int | None
    duplicate_of: Event | None


def _pick_assignment(actor: Any, event: Event, wanted: str, department: Department | None):
    mine = [a for a in my_assignments(actor, event) if a.state == wanted]
    if department is not None:
        mine = [a for a in mine if a.department_id == department.pk]
    if not mine:
        if wanted == AssignmentState.ACKNOWLEDGED and any(
            a.state == AssignmentState.WHISTLED for a in my_assignments(actor, event)
        ):
            raise IllegalMove(_("请先报到，再填写处置结果。"))
        raise IllegalMove(_("没有需要本部门处理的派单。"))
    if len(mine) > 1:
        raise ValidationError({"department": _("您属于多个被吹哨的部门，请选择以哪个部门办理。")})
    return mine[0]


def _apply_move(
    actor: Any, event: Event, move: Move, given: MoveInput, now: dt.datetime
) -> tuple[dict[str, Any], list[tuple[list[Any], str]]]:
    """Change the locked event for one move; return (history data, notifications to send)."""
    data: dict[str, Any] = {}
    notes: list[tuple[list[Any], str]] = []
    action = move.action
    reporter = [event.reporter] if event.reporter_id else []

    if event.deadline is not None and event.state in OPEN_STATES and now > event.deadline:
        event.overdue = True

    if move.level_change == LevelChange.UP:
        new_level = NEXT_LEVEL[event.level]
        event.level = new_level
        event.handling_node = _handling_node_for(event, new_level)
        event.level_entered_at = now
        event.deadline = _deadline(event.category, new_level, now)
        event.alerted_at = None
        data["to_node"] = event.handling_node.name
        notes.append((handlers_of(new_level, event.handling_node), _("事件已上报，请受理")))

    if action == Action.WHISTLE:
        departments = list(dict.fromkeys(given.departments or []))
        if not departments:
            raise ValidationError({"departments": _("请至少选择一个职能部门。")})
        street = event.handling_node
        stationed = set(
            DepartmentStation.objects.filter(
                street=street, department__in=departments, department__is_active=True
            ).values_list("department_id", flat=True)
        )
        missing = [d.name for d in departments if d.pk not in stationed]
        if missing:
            raise ValidationError(
                {
                    "departments": _("以下部门未派驻本街道：%(names)s")
                    % {"names": "、".join(missing)}
                }
            )
        deadline = _deadline(event.category, HandlingLevel.DEPARTMENT, now)
        DepartmentAssignment.objects.bulk_create(
            DepartmentAssignment(
                event=event,
                department=d,
                street=street,
                deadline=deadline,
                whistled_at=now,
                whistled_by=actor,
            )
            for d in departments
        )
        event.level = HandlingLevel.DEPARTMENT
        event.level_entered_at = now
        event.deadline = deadline
        event.alerted_at = None
        data["departments"] = [{"id": d.pk, "name": d.name} for d in departments]
        for d in departments:
            notes.append((department_staff_for(d.pk, street), _("街道吹哨，请部门报到")))

    elif action == Action.ACKNOWLEDGE:
        assignment = _pick_assignment(actor, event, AssignmentState.WHISTLED, given.department)
        assignment.state = AssignmentState.ACKNOWLEDGED
        assignment.acknowledged_at = now
        assignment.acknowledged_by = actor
        assignment.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
        data["department"] = {"id": assignment.department_id, "name": assignment.department.name}

    elif action == Action.HANDLE:
        assignment = _pick_assignment(actor, event, AssignmentState.ACKNOWLEDGED, given.department)
        assignment.state = AssignmentState.HANDLED
        assignment.handled_at = now
        assignment.handled_by = actor
        assignment.result = given.note
        assignment.save(update_fields=["state", "handled_at", "handled_by", "result"])
        data["department"] = {"id": assignment.department_id, "name": assignment.department.name}
        waiting = DepartmentAssignment.objects.filter(event=event).exclude(
            state=AssignmentState.HANDLED
        )
        if not waiting.exists():
            notes.append(
                (handlers_of(event.level, event.handling_node), _("各部门均已处置，请确认办结"))
            )

    elif action == Action.RESOLVE:
        if event.level == HandlingLevel.DEPARTMENT:
            pending = list(
                DepartmentAssignment.objects.filter(event=event)
                .exclude(state=AssignmentState.HANDLED)
                .select_related("department")
            )
            if pending:
                raise IllegalMove(
                    _("以下部门尚未处置完毕：%(names)s")
                    % {"names": "、".join(a.department.name for a in pending)}
                )
        event.resolved_at = now
        event.resolved_level = event.level
        # While resolved, the deadline is the end of the reporter's rating period.
        event.deadline = add_working_days(now, conf.get("EVENTS_RATING_WORKDAYS"))
        event.alerted_at = None
        notes.append((reporter, _("您反映的事件已办结，请评价")))
        duplicates = [e.reporter for e in event.duplicates.select_related("reporter") if e.reporter]
        notes.append((duplicates, _("您反映的事件（已合并）已办结")))

    elif action == Action.RETURN:
        event.deadline = None  # the reporter's turn: no handling deadline runs
        event.alerted_at = None
        notes.append((reporter, _("您反映的事件需要补充信息")))

    elif action == Action.RESUBMIT:
        event.level_entered_at = now
        event.deadline = _deadline(event.category, event.level, now)
        notes.append((handlers_of(event.level, event.handling_node), _("事件已补充，请受理")))

    elif action == Action.REJECT:
        event.closed_at = now
        event.deadline = None
        notes.append((reporter, _("您反映的事件不予受理")))

    elif action == Action.MERGE:
        target = given.duplicate_of
        if target is None:
            raise ValidationError({"duplicate_of": _("请选择要合并到的事件。")})
        if target.pk == event.pk:
            raise ValidationError({"duplicate_of": _("不能合并到事件本身。")})
        if target.state in FINAL_STATES:
            raise ValidationError({"duplicate_of": _("不能合并到已结束的事件。")})
        if actor is not None and not sees_event(actor, target):
            raise ValidationError({"duplicate_of": _("所选事件不存在。")})
        event.duplicate_of = target
        event.closed_at = now
        event.deadline = None
        data["duplicate_of"] = target.pk
        notes.append((reporter, _("您反映的事件已与同类事件合并办理")))

    elif action == Action.RATE:
        if given.score is None or not 1 <= int(given.score) <= 5:
            raise ValidationError({"score": _("请给出 1 至 5 分的评价。")})
        event.score = int(given.score)
        event.rating_comment = given.note[:300]
        event.closed_at = now
        event.deadline = None
        data["score"] = event.score

    elif action == Action.CLOSE:
        event.closed_at = now
        event.deadline = None

    elif action == Action.ACCEPT:
        pass

    return data, notes


def _transition(
    *,
    actor: Any,
    event: Event,
    action: str,
    given: MoveInput,
    version: int | None,
    now: dt.datetime,
) -> Event:
    with transaction.atomic():
        locked = (
            Event.objects.select_for_update(of=("self",))
            .select_related("category", "node", "handling_node", "reporter")
            .get(pk=event.pk)
        )
        if version is not None and int(version) != locked.version:
            raise ConflictError(_("该事件已被他人处理，请刷新后重试。"))
        move = _find_legal_move(locked, action)
        if not qualifies(actor, move, locked):
            raise PermissionDenied(_who_may(move, locked))
        from_state, from_level = locked.state, locked.level
        data, notes = _apply_move(actor, locked, move, given, now)
        locked.state = move.target
        locked.version += 1
        locked.save()
        EventTransition.objects.create(
            event=locked,
            at=now,
            actor=actor,
            actor_name=_actor_name(actor),
            action=action,
            from_state=from_state,
            to_state=locked.state,
            from_level=from_level,
            to_level=locked.level,
            note=given.note,
            data=data,
        )
        audit(
            actor=actor,
            username=SYSTEM_NAME,
            action=f"events.{action}",
            obj=locked,
            changes={
                "state": [from_state, locked.state],
                "level": [from_level, locked.level],
                **({"note": given.note} if given.note else {}),
                **data,
            },
        )
        for recipients, title in notes:
            _notify_later(recipients, title, _summary(locked), _link(locked))
    return locked


def event_transition(
    *,
    actor: Any,
    event: Event,
    action: str,
    note: str = "",
    departments: Sequence[Department] | None = None,
    score: int | None = None,
    version: int | None = None,
    duplicate_of: Event | None = None,
    department: Department | None = None,
    now: dt.datetime | None = None,
) -> Event:
    """Make one move of the table on the event; returns the event as it is after the move.

    Refusals, all before anything is written: unknown action → ValidationError; a move the
    table does not have for the current state and level → IllegalMove (409) naming both;
    someone who is not the move's actor → PermissionDenied with who may; a `version` other
    than the current one → ConflictError (409). Concurrent moves on one event queue on the row
    lock and the second one is judged against the state the first one left.
    """
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("说明不能超过 %(n)d 个字。") % {"n": NOTE_MAX}})
    if action in ACTIONS_NEEDING_NOTE | {Action.HANDLE} and not note:
        raise ValidationError({"note": _("请填写说明（报告人或街道将看到）。")})
    now = now or timezone.now()
    try:
        locked = _transition(
            actor=actor,
            event=event,
            action=action,
            given=MoveInput(
                note=note,
                departments=list(departments or []),
                department=department,
                score=score,
                duplicate_of=duplicate_of,
            ),
            version=version,
            now=now,
        )
    except (IllegalMove, PermissionDenied) as exc:
        # Recorded after the move's transaction rolled back, or the record would go with it.
        _refuse(actor, event, action, str(exc))
        raise
    return locked


# ---------------------------------------------------------------------------------------------
# the deadline job


@dataclass
class DeadlineReport:
    escalated: int = 0
    alerted: int = 0
    closed: int = 0


def _alert_overdue(event: Event, now: dt.datetime) -> None:
    """Street and department levels have no level above to pass to: they are told, loudly."""
    event.overdue = True
    event.alerted_at = now
    event.save(update_fields=["overdue", "alerted_at", "updated_at"])
    recipients = handlers_of(event.level, event.handling_node)
    district = _ancestor_at(event.node, Level.DISTRICT)
    if district is not None:
        recipients += list(
            User.objects.filter(
                is_active=True, assignments__role=Role.DISTRICT_ADMIN, assignments__node=district
            )
        )
    if event.level == HandlingLevel.DEPARTMENT:
        for assignment in event.assignments.exclude(state=AssignmentState.HANDLED):
            recipients += department_staff_for(assignment.department_id, assignment.street)
    audit(
        actor=None,
        username=SYSTEM_NAME,
        action="events.overdue_alert",
        obj=event,
        changes={"level": event.level, "deadline": event.deadline.isoformat()},
    )
    _notify_later(recipients, _("事件已超过办理时限"), _summary(event), _link(event))


def events_enforce_deadlines(*, now: dt.datetime | None = None, limit: int = 500) -> DeadlineReport:
    """Escalate overdue events one level, alert where there is no level above, close unrated.

    Each event is handled in its own transaction, locked with SKIP LOCKED on PostgreSQL, so the
    job never waits for (or overrides) a person acting on the same event at that moment: the
    next run picks it up if it is still overdue then.
    """
    now = now or timezone.now()
    report = DeadlineReport()
    due = list(
        Event.objects.filter(deadline__lt=now, state__in=[*OPEN_STATES, State.RESOLVED])
        .exclude(
            state__in=list(OPEN_STATES),
            level__in=[HandlingLevel.STREET, HandlingLevel.DEPARTMENT],
            alerted_at__isnull=False,
        )
        .order_by("deadline")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        with transaction.atomic():
            event = (
                Event.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("category", "node", "handling_node", "reporter")
                .filter(pk=pk, deadline__lt=now)
                .first()
            )
            if event is None:
                continue
            if event.state == State.RESOLVED:
                event_transition(
                    actor=None,
                    event=event,
                    action=Action.CLOSE,
                    note=_("超过评价期限未评价，系统自动结案。"),
                    now=now,
                )
                report.closed += 1
            elif event.state in OPEN_STATES and NEXT_LEVEL.get(event.level):
                event_transition(
                    actor=None,
                    event=event,
                    action=Action.ESCALATE,
                    note=_("超过办理时限，系统自动上报上一级。"),
                    now=now,
                )
                report.escalated += 1
            elif event.state in OPEN_STATES and event.alerted_at is None:
                _alert_overdue(event, now)
                report.alerted += 1
    return report


# ---------------------------------------------------------------------------------------------
# configuration: categories, departments, stations, staff

CATEGORY_FIELDS = frozenset(
    {
        "name",
        "description",
        "sort",
        "is_active",
        "is_public",
        "days_grid",
        "days_community",
        "days_street",
        "days_department",
    }
)


def _clean_category(category: Category) -> None:
    try:
        category.full_clean(exclude=["parent"], validate_unique=True)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    for name in ("days_grid", "days_community", "days_street", "days_department"):
        if getattr(category, name) < 1 or getattr(category, name) > 60:
            raise ValidationError({name: _("办理时限须在 1 至 60 个工作日之间。")})
    if category.parent_id and category.parent.parent_id:
        raise ValidationError({"parent": _("分类最多两级。")})


def category_create(
    *, actor: Any, code: str, name: str, parent: Category | None = None, **fields: Any
) -> Category:
    _require(actor, "events.configure")
    unknown = set(fields) - CATEGORY_FIELDS
    if unknown:
        raise TypeError(f"fields not editable here: {sorted(unknown)}")
    base = parent or None
    defaults = (
        {
            f: getattr(base, f)
            for f in ("days_grid", "days_community", "days_street", "days_department", "is_public")
        }
        if base
        else {}
    )
    category = Category(
        code=(code or "").strip(),
        name=(name or "").strip(),
        parent=parent,
        **{**defaults, **fields},
    )
    _clean_category(category)
    with transaction.atomic():
        category.save(force_insert=True)
        audit(
            actor=actor,
            action="events.category_create",
            obj=category,
            changes={"code": category.code, **fields},
        )
    return category


def category_update(*, actor: Any, category: Category, version: int, **changes: Any) -> Category:
    _require(actor, "events.configure")
    unknown = set(changes) - CATEGORY_FIELDS
    if unknown:
        raise TypeError(f"fields not editable here: {sorted(unknown)}")
    with transaction.atomic():
        locked = Category.objects.select_for_update().get(pk=category.pk)
        if int(version) != locked.version:
            raise ConflictError(_("该记录已被他人修改，请刷新后重试。"))
        diff = {}
        for name, value in changes.items():
            if getattr(locked, name) != value:
                diff[name] = [getattr(locked, name), value]
                setattr(locked, name, value)
        _clean_category(locked)
        if diff:
            locked.version += 1
            locked.save()
            audit(actor=actor, action="events.category_update", obj=locked, changes=diff)
    return locked


def department_create(
    *, actor: Any, name: str, short_name: str = "", duties: str = ""
) -> Department:
    _require(actor, "events.configure")
    department = Department(
        name=(name or "").strip(), short_name=short_name.strip(), duties=duties.strip()
    )
    try:
        department.full_clean()
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    with transaction.atomic():
        department.save(force_insert=True)
        audit(
            actor=actor,
            action="events.department_create",
            obj=department,
            changes={"name": department.name},
        )
    return department


def department_station_add(
    *, actor: Any, department: Department, street: OrgNode, address: str = "", phone: str = ""
) -> DepartmentStation:
    _require(actor, "events.configure")
    if street.level != Level.STREET or street.closed_at is not None:
        raise ValidationError({"street": _("请选择一个街道。")})
    if DepartmentStation.objects.filter(department=department, street=street).exists():
        raise ValidationError({"street": _("该部门已派驻此街道。")})
    with transaction.atomic():
        station = DepartmentStation.objects.create(
            department=department,
            street=street,
            address=address.strip()[:200],
            phone=phone.strip()[:40],
        )
        audit(
            actor=actor, action="events.station_add", obj=station, changes={"street": street.name}
        )
    return station


def department_staff_add(*, actor: Any, department: Department, user: User) -> DepartmentStaff:
    _require(actor, "events.configure")
    if not has_role(user, {Role.DEPARTMENT}):
        raise ValidationError({"user": _("只有持有“职能部门”角色的用户才能加入部门。")})
    if DepartmentStaff.objects.filter(department=department, user=user).exists():
        raise ValidationError({"user": _("该用户已在本部门。")})
    with transaction.atomic():
        staff = DepartmentStaff.objects.create(department=department, user=user)
        audit(actor=actor, action="events.staff_add", obj=staff, changes={"user": user.username})
    forget_departments(user)
    return staff


def department_staff_remove(*, actor: Any, staff: DepartmentStaff) -> None:
    _require(actor, "events.configure")
    with transaction.atomic():
        audit(
            actor=actor,
            action="events.staff_remove",
            obj=staff,
            changes={"user": staff.user.username, "department": staff.department.name},
        )
        staff.delete()
    forget_departments(staff.user)


# ---------------------------------------------------------------------------------------------
# Open311 clients


def open311_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open311_client_create(
    *, actor: Any, name: str, user: User, source: str = Source.RESIDENT
) -> tuple[Any, str]:
    """Register an Open311 client acting as `user`; returns (client, the api_key to hand over).

    Only the key's SHA-256 is stored: the key is shown this once.
    """
    import secrets

    from tongxin.events.models import Open311Client

    if actor is not None:
        _require(actor, "events.configure")
    if source not in Source.values:
        raise ValidationError({"source": _("未知的事件来源。")})
    if not has_role(user, REPORTING_ROLES):
        raise ValidationError({"user": _("该用户没有可以上报事件的角色。")})
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        client = Open311Client.objects.create(
            name=(name or "").strip()[:80] or user.username,
            user=user,
            key_hash=open311_key_hash(key),
            key_prefix=key[:8],
            source=source,
        )
        audit(
            actor=actor,
            username=SYSTEM_NAME,
            action="events.open311_client_create",
            obj=client,
            changes={"user": user.username, "source": source},
        )
    return client, key

"""Every write of co-building: `<entity>_<verb>(*, actor, ...)`, one transaction, one audit record.

- workflows (agreements, commitments, projects, resolutions, evaluation rounds) move only along
  their table in workflow.py; anything else is refused with IllegalMove (409) and a Chinese reason,
  a stale `version` with ConflictError (409), a wrong actor with PermissionDenied (403);
- each move appends a transition row in the same transaction as the state change;
- notifications go out in `transaction.on_commit`, so nobody hears of a write that rolled back;
- venue bookings lock the venue row (`SELECT … FOR UPDATE`) before looking for an overlapping
  booking, so two requests for the same slot queue and the second one finds the first (409).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import MANAGING_ROLES, Role, User
from tongxin.cobuild import selectors
from tongxin.cobuild.models import (
    Agreement,
    AgreementAction,
    AgreementStatus,
    AgreementTransition,
    Award,
    AwardKind,
    BookingStatus,
    Commitment,
    CommitmentAction,
    CommitmentArea,
    CommitmentEvidence,
    CommitmentSide,
    CommitmentState,
    CommitmentTransition,
    Consultation,
    ConsultationOpinion,
    ConsultationSubject,
    EvaluationDirection,
    EvaluationItem,
    EvaluationReport,
    EvaluationRound,
    EvaluationScore,
    EvaluationSheet,
    JointMeeting,
    MeetingAttendance,
    NeedItem,
    NeedStatus,
    ProjectAction,
    ProjectState,
    ProjectTransition,
    Resolution,
    ResolutionStatus,
    ResolutionUpdate,
    ResourceItem,
    ResourceKind,
    RoundAction,
    RoundStatus,
    Secondment,
    SecondmentDirection,
    SecondmentRole,
    ServiceProject,
    Venue,
    VenueBooking,
    VenueOpening,
)
from tongxin.cobuild.rules import (
    can,
    can_fill_sheet,
    commitment_qualifies,
    is_org_actor,
    is_unit_actor,
    org_or_unit_qualifies,
    who_label,
)
from tongxin.cobuild.workflow import (
    AGREEMENT_TABLE,
    COMMITMENT_NEEDS_NOTE,
    COMMITMENT_TABLE,
    PROJECT_TABLE,
    RESOLUTION_TABLE,
    ROUND_TABLE,
    Move,
)
from tongxin.core.audit import audit
from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome
from tongxin.orgs.models import Level, OrgNode, ResidentUnit

SYSTEM_NAME = "system"
NOTE_MAX = 500
EVIDENCE_MAX_FILES = 10
EVIDENCE_MAX_BYTES = 20 * 1024 * 1024
HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")


class IllegalMove(ConflictError):
    """The move is not in the workflow's table for the current state."""


def _require(actor: Any, perm: str, obj: Any) -> None:
    if not can(actor, perm, obj):
        raise PermissionDenied(_("您无权执行此操作。"))


def _actor_name(actor: Any) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return SYSTEM_NAME
    return str(actor)[:150]


def _check_version(obj: Any, version: int | None, message: str | None = None) -> None:
    if version is not None and int(version) != obj.version:
        raise ConflictError(message or _("该记录已被他人修改，请刷新后重试。"))


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _find(
    table: Mapping[tuple[str, str], Move], state: str, action: str, states: Any, actions: Any
) -> Move:
    move = table.get((state, action))
    if move is None:
        raise IllegalMove(
            _("当前状态为「%(state)s」，不能执行「%(action)s」。")
            % {"state": _label(states, state), "action": _label(actions, action)}
        )
    return move


def _refused(actor: Any, action: str, obj: Any, message: str) -> None:
    # Written after the move's transaction rolled back, or the record would go with it.
    audit(
        actor=actor,
        username=SYSTEM_NAME,
        action=action,
        obj=obj,
        outcome=AuditOutcome.DENIED,
        changes={"reason": message},
    )


def _notify_later(recipients: Iterable[Any], title: str, body: str = "", link: str = "") -> None:
    users = [u for u in recipients if u is not None]
    if not users:
        return

    def send() -> None:
        from tongxin.notify.services import notify

        notify(recipients=users, title=title, body=body, link=link, category="cobuild")

    transaction.on_commit(send)


def admins_at(node: OrgNode) -> list[User]:
    """The managing admins holding their role exactly at `node` (who act for it day to day)."""
    return list(
        User.objects.filter(
            is_active=True, assignments__role__in=list(MANAGING_ROLES), assignments__node=node
        ).distinct()
    )


def liaisons_of(unit: ResidentUnit) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, assignments__role=Role.UNIT_LIAISON, assignments__unit=unit
        ).distinct()
    )


def _clean_text(value: str | None, field: str, max_length: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("此项为必填项。")})
    if len(value) > max_length:
        raise ValidationError({field: _("不能超过 %(n)d 个字。") % {"n": max_length}})
    return value


def _choice(value: str, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise ValidationError({field: _("无效的选项：%(v)s") % {"v": value}})
    return value


def _located_in(unit: ResidentUnit, node: OrgNode) -> bool:
    return unit.node.path.startswith(node.path)


# ---------------------------------------------------------------------------------------------
# agreements


def _agreement_link(agreement: Agreement) -> str:
    return reverse("cobuild:agreement_detail", args=[agreement.pk])


def _agreement_row(
    agreement: Agreement, action: str, from_status: str, actor: Any, note: str = ""
) -> None:
    AgreementTransition.objects.create(
        agreement=agreement,
        action=action,
        from_status=from_status,
        to_status=agreement.status,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=_actor_name(actor),
        note=note,
        at=timezone.now(),
    )


def agreement_create(
    *,
    actor: Any,
    node: OrgNode,
    unit: ResidentUnit,
    year: int,
    title: str = "",
    note: str = "",
    copied_from: Agreement | None = None,
) -> Agreement:
    """A draft agreement between a street or community party organization and a unit located
    in its territory; one per pair and year."""
    _require(actor, "cobuild.add_agreement", node)
    if not _located_in(unit, node) or unit.closed_at is not None:
        raise ValidationError({"unit": _("只能与本街道/社区辖区内的在册驻区单位签订协议。")})
    if not 2000 <= int(year) <= 2100:
        raise ValidationError({"year": _("请填写正确的年度。")})
    title = _clean_text(title, "title", 120) or _("%(year)d年度%(node)s与%(unit)s共驻共建协议") % {
        "year": year,
        "node": node.name,
        "unit": unit.name,
    }
    with transaction.atomic():
        if Agreement.objects.filter(node=node, unit=unit, year=year).exists():
            raise ValidationError({"year": _("该单位本年度的共建协议已存在。")})
        try:
            with transaction.atomic():
                agreement = Agreement.objects.create(
                    node=node,
                    unit=unit,
                    year=year,
                    title=title[:120],
                    note=_clean_text(note, "note", 2000),
                    copied_from=copied_from,
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError as exc:  # a concurrent twin won the unique constraint
            raise ValidationError({"year": _("该单位本年度的共建协议已存在。")}) from exc
        _agreement_row(agreement, AgreementAction.CREATE, "", actor)
        audit(
            actor=actor,
            action="cobuild.agreement.create",
            obj=agreement,
            changes={"node": node.pk, "unit": unit.pk, "year": year},
        )
    return agreement


def agreement_update(
    *, actor: Any, agreement: Agreement, version: int, title: str, note: str
) -> Agreement:
    _require(actor, "cobuild.change_agreement", agreement)
    title = _clean_text(title, "title", 120, required=True)
    note = _clean_text(note, "note", 2000)
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        _check_version(locked, version)
        before = {"title": locked.title, "note": locked.note}
        locked.title, locked.note = title, note
        locked.version += 1
        locked.save(update_fields=["title", "note", "version"])
        audit(
            actor=actor,
            action="cobuild.agreement.update",
            obj=locked,
            changes={"before": before, "after": {"title": title, "note": note}},
        )
    return locked


def agreement_transition(
    *,
    actor: Any,
    agreement: Agreement,
    action: str,
    version: int | None = None,
    note: str = "",
    on: dt.date | None = None,
) -> Agreement:
    """Sign a draft (needs commitments on both sides) or close a signed agreement."""
    note = _clean_text(note, "note", NOTE_MAX)
    if action not in (AgreementAction.SIGN, AgreementAction.CLOSE):
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    on = on or selectors.today()
    try:
        with transaction.atomic():
            locked = (
                Agreement.objects.select_for_update(of=("self",))
                .select_related("node", "unit")
                .get(pk=agreement.pk)
            )
            _check_version(locked, version, _("该协议已被他人处理，请刷新后重试。"))
            move = _find(AGREEMENT_TABLE, locked.status, action, AgreementStatus, AgreementAction)
            if not is_org_actor(actor, locked.node):
                raise PermissionDenied(who_label(move))
            if action == AgreementAction.SIGN:
                sides = set(
                    locked.commitments.exclude(state=CommitmentState.CANCELLED).values_list(
                        "side", flat=True
                    )
                )
                if sides != {CommitmentSide.ORGANIZATION, CommitmentSide.UNIT}:
                    raise ValidationError(
                        {"action": _("双向承诺：签订前双方都须至少有一项承诺事项。")}
                    )
                locked.signed_on = on
            else:
                locked.closed_on = on
            from_status = locked.status
            locked.status = move.target
            locked.version += 1
            locked.save()
            _agreement_row(locked, action, from_status, actor, note)
            audit(
                actor=actor,
                action=f"cobuild.agreement.{action}",
                obj=locked,
                changes={"status": [from_status, locked.status]},
            )
            if action == AgreementAction.SIGN:
                _notify_later(
                    liaisons_of(locked.unit),
                    _("共建协议已签订：%(t)s") % {"t": locked.title},
                    link=_agreement_link(locked),
                )
    except (IllegalMove, PermissionDenied) as exc:
        _refused(actor, f"cobuild.agreement.{action}", agreement, str(exc))
        raise
    return locked


def _shift_year(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    # 29 February has no twin in a common year: the last day of February stands in for it.
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def agreement_copy(*, actor: Any, source: Agreement, year: int | None = None) -> Agreement:
    """Last year's agreement as this year's draft: same parties, same commitments (planned again,
    due dates moved by the years between), no evidence, no confirmations."""
    year = int(year or source.year + 1)
    if year <= source.year:
        raise ValidationError({"year": _("只能复制到更晚的年度。")})
    with transaction.atomic():
        title = source.title.replace(str(source.year), str(year))
        copy = agreement_create(
            actor=actor,
            node=source.node,
            unit=source.unit,
            year=year,
            title=title,
            note=source.note,
            copied_from=source,
        )
        commitments = [
            Commitment(
                agreement=copy,
                side=c.side,
                area=c.area,
                content=c.content,
                due_on=_shift_year(c.due_on, year - source.year),
                owner_name=c.owner_name,
                owner=c.owner,
            )
            for c in source.commitments.exclude(state=CommitmentState.CANCELLED).order_by("id")
        ]
        created = Commitment.objects.bulk_create(commitments)
        CommitmentTransition.objects.bulk_create(
            CommitmentTransition(
                commitment=c,
                action=CommitmentAction.CREATE,
                to_state=c.state,
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                actor_name=_actor_name(actor),
                note=_("复制自%(y)d年度协议") % {"y": source.year},
                at=timezone.now(),
            )
            for c in created
        )
        audit(
            actor=actor,
            action="cobuild.agreement.copy",
            obj=copy,
            changes={"from": source.pk, "commitments": len(created)},
        )
    return copy


# ---------------------------------------------------------------------------------------------
# commitments


def _draft_only(agreement: Agreement) -> None:
    if agreement.status != AgreementStatus.DRAFT:
        raise ConflictError(_("协议已签订，承诺事项不能再增删；如需调整请取消该事项并说明原因。"))


def commitment_add(
    *,
    actor: Any,
    agreement: Agreement,
    side: str,
    area: str,
    content: str,
    due_on: dt.date,
    owner_name: str,
    owner: User | None = None,
) -> Commitment:
    """Add a commitment to a draft: the organization side drafts both sides' commitments, a
    liaison only their own unit's."""
    side = _choice(side, CommitmentSide, "side")
    area = _choice(area, CommitmentArea, "area")
    if not (
        is_org_actor(actor, agreement.node)
        or (side == CommitmentSide.UNIT and is_unit_actor(actor, agreement.unit))
    ):
        raise PermissionDenied(_("您无权为该方添加承诺事项。"))
    content = _clean_text(content, "content", 300, required=True)
    owner_name = _clean_text(owner_name, "owner_name", 50, required=True)
    if due_on is None:
        raise ValidationError({"due_on": _("请填写完成时限。")})
    if due_on.year not in (agreement.year, agreement.year + 1):
        raise ValidationError({"due_on": _("完成时限应在协议年度内（最迟次年）。")})
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        _draft_only(locked)
        commitment = Commitment.objects.create(
            agreement=locked,
            side=side,
            area=area,
            content=content,
            due_on=due_on,
            owner_name=owner_name,
            owner=owner,
        )
        CommitmentTransition.objects.create(
            commitment=commitment,
            action=CommitmentAction.CREATE,
            to_state=commitment.state,
            actor=actor,
            actor_name=_actor_name(actor),
            at=timezone.now(),
        )
        audit(
            actor=actor,
            action="cobuild.commitment.create",
            obj=commitment,
            changes={"agreement": locked.pk, "side": side, "area": area, "due_on": due_on},
        )
    return commitment


def commitment_remove(*, actor: Any, commitment: Commitment) -> None:
    agreement = commitment.agreement
    if not (
        is_org_actor(actor, agreement.node)
        or (commitment.side == CommitmentSide.UNIT and is_unit_actor(actor, agreement.unit))
    ):
        raise PermissionDenied(_("您无权删除该承诺事项。"))
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        _draft_only(locked)
        audit(
            actor=actor,
            action="cobuild.commitment.delete",
            obj=commitment,
            changes={"content": commitment.content},
        )
        commitment.delete()


def _check_files(files: Sequence[UploadedFile]) -> None:
    if len(files) > EVIDENCE_MAX_FILES:
        raise ValidationError({"files": _("最多上传 %(n)d 个文件。") % {"n": EVIDENCE_MAX_FILES}})
    for upload in files:
        if upload.size > EVIDENCE_MAX_BYTES:
            raise ValidationError(
                {"files": _("文件「%(f)s」超过 20 MB。") % {"f": upload.name[:80]}}
            )


def _side_users(commitment: Commitment, *, owner_side: bool) -> list[User]:
    agreement = commitment.agreement
    is_org = (commitment.side == CommitmentSide.ORGANIZATION) == owner_side
    if owner_side and commitment.owner_id:
        return [commitment.owner]
    return admins_at(agreement.node) if is_org else liaisons_of(agreement.unit)


def commitment_transition(
    *,
    actor: Any,
    commitment: Commitment,
    action: str,
    version: int | None = None,
    note: str = "",
    evidence_text: str = "",
    files: Sequence[UploadedFile] = (),
    now: dt.datetime | None = None,
) -> Commitment:
    """One move of COMMITMENT_MOVES. `fulfil` needs evidence (text or files); `return` and
    `cancel` a reason. Refusals: IllegalMove (409), PermissionDenied (403, who may), stale
    version (409), missing input (400)."""
    if action not in CommitmentAction.values or action in (
        CommitmentAction.CREATE,
        CommitmentAction.MARK_OVERDUE,
    ):
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    note = _clean_text(note, "note", NOTE_MAX)
    evidence_text = _clean_text(evidence_text, "evidence_text", 4000)
    if action in COMMITMENT_NEEDS_NOTE and not note:
        raise ValidationError({"note": _("请填写原因（对方将看到）。")})
    if action == CommitmentAction.FULFIL and not (evidence_text or files):
        raise ValidationError({"evidence_text": _("请填写履行情况或上传佐证材料。")})
    _check_files(files)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            locked = (
                Commitment.objects.select_for_update(of=("self",))
                .select_related("agreement__node", "agreement__unit", "owner")
                .get(pk=commitment.pk)
            )
            _check_version(locked, version, _("该承诺事项已被他人处理，请刷新后重试。"))
            move = _find(COMMITMENT_TABLE, locked.state, action, CommitmentState, CommitmentAction)
            if locked.agreement.status != AgreementStatus.SIGNED:
                raise IllegalMove(
                    _("协议状态为「%(s)s」，承诺事项不能流转。")
                    % {"s": locked.agreement.get_status_display()}
                )
            if not commitment_qualifies(actor, move, locked):
                raise PermissionDenied(who_label(move, locked))
            from_state = locked.state
            locked.state = move.target
            if action == CommitmentAction.FULFIL:
                locked.evidence_text = evidence_text or locked.evidence_text
                locked.fulfilled_at = now
            elif action == CommitmentAction.CONFIRM:
                locked.confirmed_at, locked.confirmed_by = now, actor
            elif action == CommitmentAction.CANCEL:
                locked.cancel_reason = note
            locked.version += 1
            locked.save()
            for upload in files:
                CommitmentEvidence.objects.create(
                    commitment=locked, file=upload, name=upload.name[:200], uploaded_by=actor
                )
            CommitmentTransition.objects.create(
                commitment=locked,
                action=action,
                from_state=from_state,
                to_state=locked.state,
                actor=actor,
                actor_name=_actor_name(actor),
                note=note,
                at=now,
            )
            audit(
                actor=actor,
                action=f"cobuild.commitment.{action}",
                obj=locked,
                changes={"state": [from_state, locked.state], **({"note": note} if note else {})},
            )
            link = _agreement_link(locked.agreement)
            if action == CommitmentAction.FULFIL:
                _notify_later(
                    _side_users(locked, owner_side=False),
                    _("请确认承诺履行：%(c)s") % {"c": locked.content[:60]},
                    evidence_text,
                    link,
                )
            elif action == CommitmentAction.RETURN:
                _notify_later(
                    _side_users(locked, owner_side=True),
                    _("承诺履行被退回：%(c)s") % {"c": locked.content[:60]},
                    note,
                    link,
                )
    except (IllegalMove, PermissionDenied) as exc:
        _refused(actor, f"cobuild.commitment.{action}", commitment, str(exc))
        raise
    return locked


def commitment_add_evidence(
    *, actor: Any, commitment: Commitment, files: Sequence[UploadedFile]
) -> list[CommitmentEvidence]:
    """More evidence files from the owner side while the commitment is not yet confirmed."""
    _check_files(files)
    if not files:
        raise ValidationError({"files": _("请选择文件。")})
    move = COMMITMENT_TABLE[(CommitmentState.PLANNED, CommitmentAction.FULFIL)]
    if not commitment_qualifies(actor, move, commitment):
        raise PermissionDenied(who_label(move, commitment))
    if commitment.state in (CommitmentState.CONFIRMED, CommitmentState.CANCELLED):
        raise ConflictError(_("该承诺事项已确认或已取消，不能再补充材料。"))
    with transaction.atomic():
        rows = [
            CommitmentEvidence.objects.create(
                commitment=commitment, file=f, name=f.name[:200], uploaded_by=actor
            )
            for f in files
        ]
        audit(
            actor=actor,
            action="cobuild.commitment.evidence",
            obj=commitment,
            changes={"files": [r.name for r in rows]},
        )
    return rows


@dataclass
class OverdueReport:
    flagged: int = 0
    notified: int = 0


def commitments_flag_overdue(*, on: dt.date | None = None, limit: int = 1000) -> OverdueReport:
    """The periodic job: open commitments of signed agreements past their due date become
    overdue (a transition by the system) and their owners are told. Rows someone is moving
    right now are skipped (SKIP LOCKED) and picked up on the next run."""
    on = on or selectors.today()
    report = OverdueReport()
    now = timezone.now()
    with transaction.atomic():
        due = list(
            selectors.commitments_past_due(on)
            .select_for_update(of=("self",), skip_locked=True)
            .select_related("agreement__node", "agreement__unit", "owner")
            .order_by("due_on", "id")[:limit]
        )
        for commitment in due:
            move = COMMITMENT_TABLE[(commitment.state, CommitmentAction.MARK_OVERDUE)]
            from_state = commitment.state
            commitment.state = move.target
            commitment.version += 1
            commitment.overdue_notified_on = on
            commitment.save(update_fields=["state", "version", "overdue_notified_on"])
            CommitmentTransition.objects.create(
                commitment=commitment,
                action=CommitmentAction.MARK_OVERDUE,
                from_state=from_state,
                to_state=commitment.state,
                actor=None,
                actor_name=SYSTEM_NAME,
                note=_("超过完成时限 %(d)s") % {"d": commitment.due_on.isoformat()},
                at=now,
            )
            owners = _side_users(commitment, owner_side=True)
            report.notified += len(owners)
            _notify_later(
                owners,
                _("承诺事项已逾期：%(c)s") % {"c": commitment.content[:60]},
                _("完成时限 %(d)s，请尽快履行并上传佐证材料。")
                % {"d": commitment.due_on.isoformat()},
                _agreement_link(commitment.agreement),
            )
            report.flagged += 1
        if report.flagged:
            audit(
                actor=None,
                username=SYSTEM_NAME,
                action="cobuild.commitment.mark_overdue",
                object_type="cobuild.commitment",
                changes={"ids": [c.pk for c in due], "on": on.isoformat()},
            )
    return report


# ---------------------------------------------------------------------------------------------
# secondments


def secondment_create(
    *,
    actor: Any,
    person_name: str,
    direction: str,
    unit: ResidentUnit,
    community: OrgNode,
    role: str,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    note: str = "",
) -> Secondment:
    _require(actor, "cobuild.add_secondment", community)
    _choice(direction, SecondmentDirection, "direction")
    _choice(role, SecondmentRole, "role")
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": _("结束日期不能早于起始日期。")})
    if unit.closed_at is not None:
        raise ValidationError({"unit": _("该单位已注销。")})
    with transaction.atomic():
        secondment = Secondment.objects.create(
            person_name=_clean_text(person_name, "person_name", 50, required=True),
            direction=direction,
            unit=unit,
            community=community,
            role=role,
            starts_on=starts_on,
            ends_on=ends_on,
            note=_clean_text(note, "note", 200),
        )
        audit(
            actor=actor,
            action="cobuild.secondment.create",
            obj=secondment,
            changes={"unit": unit.pk, "community": community.pk, "role": role},
        )
    return secondment


def secondment_end(
    *, actor: Any, secondment: Secondment, ends_on: dt.date, version: int | None = None
) -> Secondment:
    _require(actor, "cobuild.add_secondment", secondment.community)
    if ends_on < secondment.starts_on:
        raise ValidationError({"ends_on": _("结束日期不能早于起始日期。")})
    with transaction.atomic():
        locked = Secondment.objects.select_for_update().get(pk=secondment.pk)
        _check_version(locked, version)
        locked.ends_on = ends_on
        locked.version += 1
        locked.save(update_fields=["ends_on", "version"])
        audit(
            actor=actor, action="cobuild.secondment.end", obj=locked, changes={"ends_on": ends_on}
        )
    return locked


# ---------------------------------------------------------------------------------------------
# resources, needs, projects


def _check_period(start: dt.date | None, end: dt.date | None, field: str) -> None:
    if start and end and end < start:
        raise ValidationError({field: _("结束日期不能早于起始日期。")})


def resource_create(
    *,
    actor: Any,
    unit: ResidentUnit,
    kind: str,
    title: str,
    description: str = "",
    quantity: str = "",
    available_from: dt.date | None = None,
    available_until: dt.date | None = None,
) -> ResourceItem:
    _require(actor, "cobuild.manage_unit_items", unit)
    _choice(kind, ResourceKind, "kind")
    _check_period(available_from, available_until, "available_until")
    with transaction.atomic():
        item = ResourceItem.objects.create(
            unit=unit,
            kind=kind,
            title=_clean_text(title, "title", 120, required=True),
            description=_clean_text(description, "description", 4000),
            quantity=_clean_text(quantity, "quantity", 60),
            available_from=available_from,
            available_until=available_until,
            created_by=actor,
        )
        audit(actor=actor, action="cobuild.resource.create", obj=item, changes={"kind": kind})
    return item


def resource_set_active(
    *, actor: Any, item: ResourceItem, active: bool, version: int | None = None
) -> ResourceItem:
    _require(actor, "cobuild.manage_unit_items", item.unit)
    with transaction.atomic():
        locked = ResourceItem.objects.select_for_update().get(pk=item.pk)
        _check_version(locked, version)
        locked.active = active
        locked.version += 1
        locked.save(update_fields=["active", "version"])
        audit(actor=actor, action="cobuild.resource.update", obj=locked, changes={"active": active})
    return locked


def need_create(
    *,
    actor: Any,
    community: OrgNode,
    kind: str,
    title: str,
    description: str = "",
    needed_by: dt.date | None = None,
) -> NeedItem:
    _require(actor, "cobuild.add_need", community)
    _choice(kind, ResourceKind, "kind")
    with transaction.atomic():
        need = NeedItem.objects.create(
            community=community,
            kind=kind,
            title=_clean_text(title, "title", 120, required=True),
            description=_clean_text(description, "description", 4000),
            needed_by=needed_by,
            created_by=actor,
        )
        audit(actor=actor, action="cobuild.need.create", obj=need, changes={"kind": kind})
    return need


def need_close(*, actor: Any, need: NeedItem, version: int | None = None) -> NeedItem:
    _require(actor, "cobuild.add_need", need.community)
    with transaction.atomic():
        locked = NeedItem.objects.select_for_update().get(pk=need.pk)
        _check_version(locked, version)
        if locked.status == NeedStatus.CLOSED:
            raise IllegalMove(_("该需求已关闭。"))
        locked.status = NeedStatus.CLOSED
        locked.version += 1
        locked.save(update_fields=["status", "version"])
        audit(actor=actor, action="cobuild.need.close", obj=locked)
    return locked


def project_create(
    *,
    actor: Any,
    title: str,
    owner_name: str,
    starts_on: dt.date,
    community: OrgNode | None = None,
    need: NeedItem | None = None,
    resource: ResourceItem | None = None,
    unit: ResidentUnit | None = None,
    ends_on: dt.date | None = None,
    beneficiaries: str = "",
    beneficiary_count: int = 0,
    description: str = "",
    published: bool = True,
) -> ServiceProject:
    """A service project, usually turning a match (need + resource) into work: the need's
    community owns it, the resource's unit carries it, and the need is marked matched."""
    if need is not None:
        community = need.community
    if community is None or community.level != Level.COMMUNITY:
        raise ValidationError({"community": _("请选择服务社区。")})
    if resource is not None:
        unit = resource.unit
        if need is not None and resource.kind != need.kind:
            raise ValidationError({"resource": _("资源类别与需求类别不一致。")})
    _require(actor, "cobuild.add_project", community)
    _check_period(starts_on, ends_on, "ends_on")
    if beneficiary_count < 0:
        raise ValidationError({"beneficiary_count": _("受益人数不能为负数。")})
    with transaction.atomic():
        if need is not None:
            locked_need = NeedItem.objects.select_for_update().get(pk=need.pk)
            if locked_need.status != NeedStatus.OPEN:
                raise ConflictError(_("该需求已对接或已关闭。"))
            locked_need.status = NeedStatus.MATCHED
            locked_need.version += 1
            locked_need.save(update_fields=["status", "version"])
        project = ServiceProject.objects.create(
            community=community,
            unit=unit,
            need=need,
            resource=resource,
            title=_clean_text(title, "title", 120, required=True),
            description=_clean_text(description, "description", 4000),
            owner_name=_clean_text(owner_name, "owner_name", 50, required=True),
            starts_on=starts_on,
            ends_on=ends_on,
            beneficiaries=_clean_text(beneficiaries, "beneficiaries", 200),
            beneficiary_count=beneficiary_count,
            published=published,
            created_by=actor,
        )
        ProjectTransition.objects.create(
            project=project,
            action=ProjectAction.CREATE,
            to_state=project.state,
            actor=actor,
            actor_name=_actor_name(actor),
            at=timezone.now(),
        )
        audit(
            actor=actor,
            action="cobuild.project.create",
            obj=project,
            changes={
                "need": need.pk if need else None,
                "resource": resource.pk if resource else None,
            },
        )
        if unit is not None:
            _notify_later(
                liaisons_of(unit),
                _("服务项目已立项：%(t)s") % {"t": project.title},
                link=reverse("cobuild:project_detail", args=[project.pk]),
            )
    return project


def project_transition(
    *,
    actor: Any,
    project: ServiceProject,
    action: str,
    version: int | None = None,
    note: str = "",
    outcome: str = "",
    beneficiary_count: int | None = None,
) -> ServiceProject:
    if action not in ProjectAction.values or action == ProjectAction.CREATE:
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    note = _clean_text(note, "note", NOTE_MAX)
    outcome = _clean_text(outcome, "outcome", 4000)
    if action == ProjectAction.COMPLETE and not outcome:
        raise ValidationError({"outcome": _("请填写项目成效。")})
    if action == ProjectAction.CANCEL and not note:
        raise ValidationError({"note": _("请填写取消原因。")})
    try:
        with transaction.atomic():
            locked = (
                ServiceProject.objects.select_for_update(of=("self",))
                .select_related("community", "unit")
                .get(pk=project.pk)
            )
            _check_version(locked, version)
            move = _find(PROJECT_TABLE, locked.state, action, ProjectState, ProjectAction)
            if not org_or_unit_qualifies(actor, move, locked.community, locked.unit):
                raise PermissionDenied(who_label(move))
            from_state = locked.state
            locked.state = move.target
            if outcome:
                locked.outcome = outcome
            if beneficiary_count is not None:
                locked.beneficiary_count = max(0, int(beneficiary_count))
            locked.version += 1
            locked.save()
            ProjectTransition.objects.create(
                project=locked,
                action=action,
                from_state=from_state,
                to_state=locked.state,
                actor=actor,
                actor_name=_actor_name(actor),
                note=note,
                at=timezone.now(),
            )
            audit(
                actor=actor,
                action=f"cobuild.project.{action}",
                obj=locked,
                changes={"state": [from_state, locked.state]},
            )
    except (IllegalMove, PermissionDenied) as exc:
        _refused(actor, f"cobuild.project.{action}", project, str(exc))
        raise
    return locked


# ---------------------------------------------------------------------------------------------
# venues and bookings


def venue_create(
    *,
    actor: Any,
    unit: ResidentUnit,
    name: str,
    capacity: int,
    openings: Sequence[tuple[int, dt.time, dt.time]],
    address: str = "",
    description: str = "",
) -> Venue:
    """A venue a unit opens to the public, with its weekly opening hours."""
    _require(actor, "cobuild.manage_unit_items", unit)
    if capacity is None or int(capacity) < 1:
        raise ValidationError({"capacity": _("容纳人数至少为 1。")})
    if not openings:
        raise ValidationError({"openings": _("请至少填写一个开放时段。")})
    for weekday, opens, closes in openings:
        if not 0 <= int(weekday) <= 6 or closes <= opens:
            raise ValidationError({"openings": _("开放时段有误：关闭时间须晚于开放时间。")})
    with transaction.atomic():
        venue = Venue.objects.create(
            unit=unit,
            name=_clean_text(name, "name", 120, required=True),
            address=_clean_text(address, "address", 200) or unit.address,
            capacity=int(capacity),
            description=_clean_text(description, "description", 4000),
        )
        VenueOpening.objects.bulk_create(
            VenueOpening(venue=venue, weekday=int(w), opens=o, closes=c) for w, o, c in openings
        )
        audit(
            actor=actor,
            action="cobuild.venue.create",
            obj=venue,
            changes={
                "capacity": capacity,
                "openings": [[w, str(o), str(c)] for w, o, c in openings],
            },
        )
    return venue


def _within_opening(venue: Venue, start: dt.datetime, end: dt.datetime) -> bool:
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    if local_start.date() != local_end.date():
        return False
    return any(
        o.weekday == local_start.weekday()
        and o.opens <= local_start.time()
        and local_end.time() <= o.closes
        for o in venue.openings.all()
    )


def booking_create(
    *,
    actor: Any,
    venue: Venue,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    purpose: str,
    organization: str = "",
    attendees: int = 1,
    now: dt.datetime | None = None,
) -> VenueBooking:
    """Book a time slot. The venue row is locked first, so concurrent requests for overlapping
    slots queue on it and every later one finds the earlier booking: exactly one wins, the rest
    get ConflictError (409). SQLite has no row locks, but its IMMEDIATE transactions serialize
    writers, which gives the same guarantee."""
    now = now or timezone.now()
    purpose = _clean_text(purpose, "purpose", 200, required=True)
    organization = _clean_text(organization, "organization", 120)
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationError({"starts_at": _("时间须带时区。")})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("结束时间须晚于开始时间。")})
    if starts_at < now:
        raise ValidationError({"starts_at": _("不能预约已经过去的时间。")})
    if attendees < 1 or attendees > venue.capacity:
        raise ValidationError(
            {"attendees": _("人数须在 1 至 %(n)d 人之间。") % {"n": venue.capacity}}
        )
    if not _within_opening(venue, starts_at, ends_at):
        raise ValidationError({"starts_at": _("所选时段不在场地开放时间内。")})
    with transaction.atomic():
        locked = Venue.objects.select_for_update().get(pk=venue.pk)
        if not locked.active:
            raise ConflictError(_("该场地已暂停开放。"))
        clash = VenueBooking.objects.filter(
            venue=locked,
            status=BookingStatus.CONFIRMED,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        ).exists()
        if clash:
            raise ConflictError(_("该时段已被预约，请选择其他时间。"))
        booking = VenueBooking.objects.create(
            venue=locked,
            starts_at=starts_at,
            ends_at=ends_at,
            booked_by=actor,
            organization=organization,
            purpose=purpose,
            attendees=attendees,
        )
        audit(
            actor=actor,
            action="cobuild.booking.create",
            obj=booking,
            changes={"venue": locked.pk, "starts_at": starts_at, "ends_at": ends_at},
        )
        _notify_later(
            liaisons_of(venue.unit),
            _("场地新预约：%(v)s") % {"v": locked.name},
            _("%(s)s 至 %(e)s，%(p)s")
            % {
                "s": timezone.localtime(starts_at).strftime("%Y-%m-%d %H:%M"),
                "e": timezone.localtime(ends_at).strftime("%H:%M"),
                "p": purpose,
            },
            reverse("cobuild:venue_detail", args=[locked.pk]),
        )
    return booking


def booking_cancel(*, actor: Any, booking: VenueBooking) -> VenueBooking:
    if booking.booked_by_id != actor.pk and not can(actor, "cobuild.change_venue", booking.venue):
        raise PermissionDenied(_("只有预约人或场地管理方可以取消预约。"))
    with transaction.atomic():
        locked = VenueBooking.objects.select_for_update().get(pk=booking.pk)
        if locked.status != BookingStatus.CONFIRMED:
            raise IllegalMove(_("该预约已取消。"))
        locked.status = BookingStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_at"])
        audit(actor=actor, action="cobuild.booking.cancel", obj=locked)
    return locked


# ---------------------------------------------------------------------------------------------
# joint meetings


def meeting_create(
    *,
    actor: Any,
    body: OrgNode,
    held_on: dt.date,
    title: str,
    agenda: str,
    location: str = "",
    minutes: str = "",
    attendance: Sequence[Mapping[str, Any]] = (),
    resolutions: Sequence[Mapping[str, Any]] = (),
) -> JointMeeting:
    """Record a 大工委/大党委 joint meeting with its attendance and resolutions.

    attendance: [{"member": CommitteeMember | None, "unit": ResidentUnit | None,
    "person_name": str, "present": bool}]; members must belong to the body.
    resolutions: [{"content", "owner_name", "owner_unit", "due_on"}].
    """
    _require(actor, "cobuild.add_meeting", body)
    if held_on > selectors.today():
        raise ValidationError({"held_on": _("请在会议召开后登记。")})
    rows: list[MeetingAttendance] = []
    seen_units: set[int] = set()
    for entry in attendance:
        member, unit = entry.get("member"), entry.get("unit")
        if member is not None:
            if member.body_id != body.pk:
                raise ValidationError({"attendance": _("出席人须为本大工委/大党委的兼职委员。")})
            unit = unit or member.unit
        if unit is not None:
            if unit.pk in seen_units:
                continue
            seen_units.add(unit.pk)
        name = (entry.get("person_name") or (member.person_name if member else "")).strip()
        if member is None and unit is None and not name:
            continue
        rows.append(
            MeetingAttendance(
                member=member, unit=unit, person_name=name[:50], present=entry.get("present", True)
            )
        )
    with transaction.atomic():
        meeting = JointMeeting.objects.create(
            body=body,
            held_on=held_on,
            title=_clean_text(title, "title", 120, required=True),
            location=_clean_text(location, "location", 120),
            agenda=_clean_text(agenda, "agenda", 8000, required=True),
            minutes=_clean_text(minutes, "minutes", 20000),
            created_by=actor,
        )
        for row in rows:
            row.meeting = meeting
        MeetingAttendance.objects.bulk_create(rows)
        for entry in resolutions:
            _resolution(meeting, entry)
        audit(
            actor=actor,
            action="cobuild.meeting.create",
            obj=meeting,
            changes={
                "body": body.pk,
                "held_on": held_on,
                "attendance": len(rows),
                "resolutions": len(resolutions),
            },
        )
    return meeting


def _resolution(meeting: JointMeeting, entry: Mapping[str, Any]) -> Resolution:
    return Resolution.objects.create(
        meeting=meeting,
        content=_clean_text(entry.get("content"), "resolutions", 300, required=True),
        owner_name=_clean_text(entry.get("owner_name"), "resolutions", 50, required=True),
        owner_unit=entry.get("owner_unit"),
        due_on=entry.get("due_on"),
    )


def meeting_update_minutes(
    *, actor: Any, meeting: JointMeeting, minutes: str, version: int | None = None
) -> JointMeeting:
    _require(actor, "cobuild.change_meeting", meeting)
    minutes = _clean_text(minutes, "minutes", 20000)
    with transaction.atomic():
        locked = JointMeeting.objects.select_for_update().get(pk=meeting.pk)
        _check_version(locked, version)
        locked.minutes = minutes
        locked.version += 1
        locked.save(update_fields=["minutes", "version"])
        audit(actor=actor, action="cobuild.meeting.minutes", obj=locked)
    return locked


def resolution_add(*, actor: Any, meeting: JointMeeting, **entry: Any) -> Resolution:
    _require(actor, "cobuild.change_meeting", meeting)
    with transaction.atomic():
        resolution = _resolution(meeting, entry)
        audit(actor=actor, action="cobuild.resolution.create", obj=resolution)
    return resolution


def resolution_follow_up(
    *,
    actor: Any,
    resolution: Resolution,
    status: str,
    note: str = "",
    version: int | None = None,
) -> Resolution:
    """Report progress on a resolution along RESOLUTION_MOVES (the action is the new status)."""
    _choice(status, ResolutionStatus, "status")
    note = _clean_text(note, "note", NOTE_MAX)
    try:
        with transaction.atomic():
            locked = (
                Resolution.objects.select_for_update(of=("self",))
                .select_related("meeting__body", "owner_unit")
                .get(pk=resolution.pk)
            )
            _check_version(locked, version)
            move = _find(
                RESOLUTION_TABLE, locked.status, status, ResolutionStatus, ResolutionStatus
            )
            if not org_or_unit_qualifies(actor, move, locked.meeting.body, locked.owner_unit):
                raise PermissionDenied(who_label(move))
            from_status = locked.status
            locked.status = move.target
            locked.version += 1
            locked.save(update_fields=["status", "version"])
            ResolutionUpdate.objects.create(
                resolution=locked,
                from_status=from_status,
                to_status=locked.status,
                note=note,
                actor=actor,
                at=timezone.now(),
            )
            audit(
                actor=actor,
                action="cobuild.resolution.follow_up",
                obj=locked,
                changes={"status": [from_status, locked.status], "note": note},
            )
    except (IllegalMove, PermissionDenied) as exc:
        _refused(actor, "cobuild.resolution.follow_up", resolution, str(exc))
        raise
    return locked


# ---------------------------------------------------------------------------------------------
# evaluation rounds


def round_create(*, actor: Any, node: OrgNode, year: int, title: str = "") -> EvaluationRound:
    _require(actor, "cobuild.add_round", node)
    title = _clean_text(title, "title", 120) or _("%(y)d年度%(n)s双向评议") % {
        "y": year,
        "n": node.name,
    }
    with transaction.atomic():
        if EvaluationRound.objects.filter(node=node, year=year).exists():
            raise ValidationError({"year": _("本年度的双向评议已创建。")})
        evaluation = EvaluationRound.objects.create(
            node=node, year=year, title=title, created_by=actor
        )
        audit(actor=actor, action="cobuild.round.create", obj=evaluation, changes={"year": year})
    return evaluation


def parse_decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: _("请填写数字。")}) from exc
    if not number.is_finite():
        raise ValidationError({field: _("请填写数字。")})
    return number


def round_set_items(
    *,
    actor: Any,
    evaluation: EvaluationRound,
    direction: str,
    items: Sequence[tuple[str, Any]],
) -> list[EvaluationItem]:
    """Replace one direction's scoring sheet; the weights must add up to exactly 100."""
    _require(actor, "cobuild.change_round", evaluation)
    _choice(direction, EvaluationDirection, "direction")
    cleaned: list[tuple[str, Decimal]] = []
    for name, weight in items:
        name = _clean_text(name, "items", 100, required=True)
        number = parse_decimal(weight, "items").quantize(TWO_PLACES, ROUND_HALF_UP)
        if number <= 0 or number > HUNDRED:
            raise ValidationError({"items": _("权重须大于 0 且不超过 100。")})
        cleaned.append((name, number))
    if not cleaned:
        raise ValidationError({"items": _("请至少填写一个评分项目。")})
    total = sum((w for _n, w in cleaned), Decimal(0))
    if total != HUNDRED:
        raise ValidationError(
            {"items": _("各评分项目权重之和须为 100，当前为 %(t)s。") % {"t": total}}
        )
    with transaction.atomic():
        locked = EvaluationRound.objects.select_for_update().get(pk=evaluation.pk)
        if locked.status != RoundStatus.SETUP:
            raise IllegalMove(_("评分已开始，评分表不能再修改。"))
        locked.items.filter(direction=direction).delete()
        created = EvaluationItem.objects.bulk_create(
            EvaluationItem(round=locked, direction=direction, name=n, weight=w, order=i)
            for i, (n, w) in enumerate(cleaned, start=1)
        )
        audit(
            actor=actor,
            action="cobuild.round.items",
            obj=locked,
            changes={"direction": direction, "items": [[n, w] for n, w in cleaned]},
        )
    return created


def round_transition(
    *, actor: Any, evaluation: EvaluationRound, action: str, version: int | None = None
) -> EvaluationRound:
    if action not in RoundAction.values:
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    try:
        with transaction.atomic():
            locked = (
                EvaluationRound.objects.select_for_update(of=("self",))
                .select_related("node")
                .get(pk=evaluation.pk)
            )
            _check_version(locked, version)
            move = _find(ROUND_TABLE, locked.status, action, RoundStatus, RoundAction)
            if not is_org_actor(actor, locked.node):
                raise PermissionDenied(who_label(move))
            if action == RoundAction.OPEN_SCORING:
                for direction in EvaluationDirection.values:
                    weights = locked.items.filter(direction=direction).values_list(
                        "weight", flat=True
                    )
                    if sum(weights, Decimal(0)) != HUNDRED:
                        raise ValidationError(
                            {
                                "items": _("「%(d)s」评分表的权重之和须为 100。")
                                % {"d": _label(EvaluationDirection, direction)}
                            }
                        )
            from_status = locked.status
            locked.status = move.target
            locked.version += 1
            locked.save(update_fields=["status", "version"])
            audit(
                actor=actor,
                action=f"cobuild.round.{action}",
                obj=locked,
                changes={"status": [from_status, locked.status]},
            )
    except (IllegalMove, PermissionDenied) as exc:
        _refused(actor, f"cobuild.round.{action}", evaluation, str(exc))
        raise
    return locked


def sheet_total(scores: Mapping[int, Decimal], items: Sequence[EvaluationItem]) -> Decimal:
    """Σ score × weight ÷ 100, to two decimals (half up): a 0–100 total."""
    raw = sum((scores[item.pk] * item.weight for item in items), Decimal(0)) / HUNDRED
    return raw.quantize(TWO_PLACES, ROUND_HALF_UP)


def sheet_submit(
    *,
    actor: Any,
    evaluation: EvaluationRound,
    direction: str,
    unit: ResidentUnit,
    scores: Mapping[int, Any],
    comment: str = "",
) -> EvaluationSheet:
    """A unit scores its community, or the community scores one unit; every item of the
    direction's sheet gets a score 0–100. Submitting again while scoring replaces the sheet."""
    _choice(direction, EvaluationDirection, "direction")
    community = selectors.community_of(unit)
    if (
        community is None
        or not unit.node.path.startswith(evaluation.node.path)
        or not community.path.startswith(evaluation.node.path)
    ):
        raise ValidationError({"unit": _("该单位不在本次评议范围内。")})
    if not can_fill_sheet(actor, direction, unit, community):
        raise PermissionDenied(_("单位评社区由单位联络员填写；社区评单位由社区管理员填写。"))
    comment = _clean_text(comment, "comment", 4000)
    items = list(evaluation.items.filter(direction=direction).order_by("order", "id"))
    given: dict[int, Decimal] = {}
    for key, value in scores.items():
        number = parse_decimal(value, "scores")
        if number < 0 or number > HUNDRED:
            raise ValidationError({"scores": _("每项得分须在 0 至 100 之间。")})
        given[int(key)] = number
    missing = [i.name for i in items if i.pk not in given]
    if missing or set(given) - {i.pk for i in items}:
        raise ValidationError(
            {"scores": _("请为评分表的每一项打分：%(m)s") % {"m": "、".join(missing) or "—"}}
        )
    total = sheet_total(given, items)
    with transaction.atomic():
        locked = EvaluationRound.objects.select_for_update().get(pk=evaluation.pk)
        if locked.status != RoundStatus.SCORING:
            raise IllegalMove(
                _("评议状态为「%(s)s」，不能提交评分。") % {"s": locked.get_status_display()}
            )
        locked.sheets.filter(direction=direction, unit=unit, community=community).delete()
        sheet = EvaluationSheet.objects.create(
            round=locked,
            direction=direction,
            unit=unit,
            community=community,
            comment=comment,
            submitted_by=actor,
            submitted_at=timezone.now(),
            total=total,
        )
        EvaluationScore.objects.bulk_create(
            EvaluationScore(sheet=sheet, item=item, score=given[item.pk]) for item in items
        )
        audit(
            actor=actor,
            action="cobuild.sheet.submit",
            obj=locked,
            changes={
                "direction": direction,
                "unit": unit.pk,
                "community": community.pk,
                "total": total,
            },
        )
    return sheet


def report_submit(
    *,
    actor: Any,
    evaluation: EvaluationRound,
    title: str,
    text: str = "",
    file: UploadedFile | None = None,
    unit: ResidentUnit | None = None,
    community: OrgNode | None = None,
) -> EvaluationReport:
    """A written report (述职) by a unit (its liaison) or a community (its admins)."""
    if (unit is None) == (community is None):
        raise ValidationError({"unit": _("请指明述职的单位或社区。")})
    if unit is not None and not (
        is_unit_actor(actor, unit) and unit.node.path.startswith(evaluation.node.path)
    ):
        raise PermissionDenied(_("只有本单位联络员可以提交单位述职。"))
    if community is not None and not (
        is_org_actor(actor, community) and community.path.startswith(evaluation.node.path)
    ):
        raise PermissionDenied(_("只有社区管理员可以提交社区述职。"))
    if not (text or file):
        raise ValidationError({"text": _("请填写述职内容或上传述职材料。")})
    if file is not None and file.size > EVIDENCE_MAX_BYTES:
        raise ValidationError({"file": _("文件超过 20 MB。")})
    with transaction.atomic():
        report = EvaluationReport.objects.create(
            round=evaluation,
            unit=unit,
            community=community,
            title=_clean_text(title, "title", 120, required=True),
            text=_clean_text(text, "text", 20000),
            file=file,
            submitted_by=actor,
        )
        audit(
            actor=actor,
            action="cobuild.report.submit",
            obj=evaluation,
            changes={"report": report.pk},
        )
    return report


def award_record(
    *,
    actor: Any,
    evaluation: EvaluationRound,
    kind: str,
    unit: ResidentUnit | None = None,
    person_name: str = "",
    reason: str = "",
) -> Award:
    """Record an award of a closed round: 先进单位 names a unit; 先进个人 / 优秀志愿者 a person."""
    _require(actor, "cobuild.change_round", evaluation)
    _choice(kind, AwardKind, "kind")
    person_name = _clean_text(person_name, "person_name", 50)
    if kind == AwardKind.ADVANCED_UNIT and unit is None:
        raise ValidationError({"unit": _("先进单位须选择单位。")})
    if kind != AwardKind.ADVANCED_UNIT and not person_name:
        raise ValidationError({"person_name": _("请填写获表彰个人的姓名。")})
    if unit is not None and not unit.node.path.startswith(evaluation.node.path):
        raise ValidationError({"unit": _("该单位不在本次评议范围内。")})
    with transaction.atomic():
        locked = EvaluationRound.objects.select_for_update().get(pk=evaluation.pk)
        if locked.status != RoundStatus.CLOSED:
            raise IllegalMove(_("评议结束、结果确定后才能评选表彰。"))
        if (
            unit is not None
            and kind == AwardKind.ADVANCED_UNIT
            and locked.awards.filter(kind=kind, unit=unit).exists()
        ):
            raise ConflictError(_("该单位已获评先进单位。"))
        award = Award.objects.create(
            round=locked,
            kind=kind,
            unit=unit,
            person_name=person_name,
            reason=_clean_text(reason, "reason", 300),
            awarded_by=actor,
        )
        audit(
            actor=actor,
            action="cobuild.award.create",
            obj=locked,
            changes={"kind": kind, "unit": unit.pk if unit else None, "person": person_name},
        )
    return award


# ---------------------------------------------------------------------------------------------
# consultations


def consultation_record(
    *,
    actor: Any,
    unit: ResidentUnit,
    subject: str,
    about_person: str,
    consulted_person: str,
    opinion: str,
    consulted_on: dt.date,
    opinion_text: str = "",
    community: OrgNode | None = None,
) -> Consultation:
    """The community's opinion asked before the unit promotes a cadre or is honoured."""
    _require(actor, "cobuild.record_consultation", unit)
    _choice(subject, ConsultationSubject, "subject")
    _choice(opinion, ConsultationOpinion, "opinion")
    community = community or selectors.community_of(unit)
    if community is None or community.level != Level.COMMUNITY or not _located_in(unit, community):
        raise ValidationError({"community": _("请选择单位所在的社区。")})
    if consulted_on > selectors.today():
        raise ValidationError({"consulted_on": _("征求日期不能晚于今天。")})
    with transaction.atomic():
        record = Consultation.objects.create(
            unit=unit,
            community=community,
            subject=subject,
            about_person=_clean_text(about_person, "about_person", 50, required=True),
            consulted_person=_clean_text(consulted_person, "consulted_person", 50, required=True),
            opinion=opinion,
            opinion_text=_clean_text(opinion_text, "opinion_text", 4000),
            consulted_on=consulted_on,
            recorded_by=actor,
        )
        audit(
            actor=actor,
            action="cobuild.consultation.create",
            obj=record,
            changes={"unit": unit.pk, "subject": subject, "opinion": opinion},
        )
    return record

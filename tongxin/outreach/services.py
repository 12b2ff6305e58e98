"""Writes of the services to residents (SPEC §6). Each service is one transaction with its
history row and audit record (ARCHITECTURE.md 1 and 4).

- keyword-only arguments; `actor` is the user acting (None for the system: the rule job);
- a state changes only through `_run_move`, which looks the move up in the workflow's table,
  checks the actor (rules.qualifies), then writes with a conditional
  `UPDATE … WHERE id = ? AND state = <from> AND version = <seen>` that must touch exactly one row
  (SECURITY.md 19). Two volunteers taking one order at the same instant: the database lets one
  UPDATE through; the other touches no row and gets ConflictError "该服务单已被接单" (409);
- sign-ups are admitted by `UPDATE activity SET signup_count = signup_count + 1 WHERE
  signup_count < capacity`, so there are never more sign-ups than places;
- notifications go out in `transaction.on_commit`;
- bad input raises django ValidationError with a field dict, in Chinese.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Model, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tongxin.accounts.models import MANAGING_ROLES, Role, User
from tongxin.core.audit import audit
from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome
from tongxin.core.scoping import grants, has_role
from tongxin.orgs.models import Level, OrgNode, PartyOrganization
from tongxin.outreach.models import (
    Activity,
    ActivityRule,
    ActivityState,
    HoursClaim,
    HoursClaimAction,
    HoursClaimState,
    HoursClaimTransition,
    HoursEntry,
    HoursSource,
    OrderAction,
    OrderKind,
    OrderState,
    OrderTransition,
    Recurrence,
    ServiceOrder,
    ServicePoint,
    ServicePointKind,
    Signup,
    SignupAction,
    SignupState,
    SignupTransition,
    TransitionBase,
    Wish,
    WishAction,
    WishCategory,
    WishState,
    WishTransition,
)
from tongxin.outreach.rules import (
    CLAIMING_ROLES,
    ORDER_PLACING_ROLES,
    OUTREACH_ROLES,
    WISH_POSTING_ROLES,
    community_path,
    forget_volunteer,
    home_community_paths,
    manages,
    qualifies,
    volunteer_info,
)
from tongxin.outreach.workflow import (
    HOURS_TABLE,
    NOTE_REQUIRED,
    ORDER_TABLE,
    SIGNUP_TABLE,
    WISH_TABLE,
    Move,
    Who,
)
from tongxin.people.models import Person, PersonGroup, SpecialGroup, Volunteer

SYSTEM_NAME = gettext_noop("系统")
NOTE_MAX = 500
# Special groups the community may place orders for
# (seed 001: 空巢独居老人、残疾人、70岁以上老党员).
ON_BEHALF_GROUPS = frozenset(
    {SpecialGroup.ELDERLY_ALONE, SpecialGroup.DISABLED, SpecialGroup.SENIOR_MEMBER}
)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a hall
CODE_LENGTH = 6
CHECK_IN_OPENS_BEFORE = dt.timedelta(hours=1)
POINTS_PER_HOUR = 10  # self-logged hours, once approved
HALF_HOUR = Decimal("0.5")


class IllegalMove(ConflictError):
    """The move is not in the table for the object's current state."""


# ---------------------------------------------------------------------------------------------
# helpers


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _actor_name(actor: Any) -> str:
    return str(actor)[:80] if actor is not None else SYSTEM_NAME


def _notify_later(
    recipients: Iterable[Any], title: str, body: str, link: str, category: str = "outreach"
) -> None:
    users = [u for u in recipients if u is not None]
    if not users:
        return

    def send() -> None:
        from tongxin.notify.services import notify

        notify(recipients=users, title=title, body=body, link=link, category=category)

    transaction.on_commit(send)


def _community_at(path: str) -> OrgNode | None:
    wanted = community_path(path)
    if wanted is None:
        return None
    return OrgNode.objects.filter(path=wanted, level=Level.COMMUNITY).first()


def _home_community(actor: Any, roles: Iterable[str], chosen: OrgNode | None) -> OrgNode:
    """The community the actor acts in: the chosen one if it is theirs, else their only one."""
    paths = home_community_paths(actor, frozenset(roles))
    if chosen is not None:
        if chosen.path not in paths:
            raise ValidationError({"community": _("您不属于所选社区。")})
        return chosen
    if not paths:
        raise ValidationError({"community": _("无法确定您所在的社区。")})
    if len(paths) > 1:
        raise ValidationError({"community": _("您属于多个社区，请选择社区。")})
    community = _community_at(next(iter(paths)))
    if community is None:
        raise ValidationError({"community": _("无法确定您所在的社区。")})
    return community


def _person_name(user: Any) -> str:
    """The person's own name where the account is linked to one (吴秀英, not "居民 吴秀英")."""
    person = Person.objects.filter(user=user).only("name").first()
    return (person.name if person else str(user))[:50]


def _clean_text(value: str, field: str, label: str, *, low: int, high: int) -> str:
    value = (value or "").strip()
    if len(value) < low:
        raise ValidationError({field: _("请填写%(label)s。") % {"label": label}})
    if len(value) > high:
        raise ValidationError(
            {field: _("%(label)s不能超过 %(n)d 个字。") % {"label": label, "n": high}}
        )
    return value


def _save_photo(upload: UploadedFile | None, folder: str) -> str:
    """Validate (by its first bytes, as events do) and store a photo; '' without one.

    A photo stored for a write that then rolls back stays behind unreferenced; it is never
    served (photos are served only through the scoped views), so that costs disk, not privacy.
    """
    if upload is None:
        return ""
    from tongxin.events.services import validate_photo

    validate_photo(upload)
    now = timezone.now()
    return default_storage.save(f"outreach/{folder}/{now:%Y/%m}/{upload.name}", upload)


# ---------------------------------------------------------------------------------------------
# the move runner


def _history(obj: Model) -> tuple[type[TransitionBase], str]:
    return {
        Wish: (WishTransition, "wish"),
        ServiceOrder: (OrderTransition, "order"),
        Signup: (SignupTransition, "signup"),
        HoursClaim: (HoursClaimTransition, "claim"),
    }[type(obj)]


def _who_may(move: Move) -> str:
    names = {
        Who.POSTER: _("心愿人"),
        Who.VETTER: _("社区管理员"),
        Who.CLAIMANT: _("本社区党员或驻区单位"),
        Who.CLAIMER: _("认领人"),
        Who.PLACER: _("下单人"),
        Who.RECIPIENT: _("服务对象"),
        Who.VOLUNTEER: _("本社区志愿者"),
        Who.TAKER: _("接单志愿者"),
        Who.MANAGER: _("社区管理员"),
        Who.SELF: _("报名人本人"),
    }
    return _("只有%(who)s可以执行此操作。") % {"who": "、".join(names[w] for w in sorted(move.who))}


def _refuse(actor: Any, obj: Model, action: str, message: str) -> None:
    audit(
        actor=actor,
        username=SYSTEM_NAME,
        action=f"outreach.{type(obj).__name__.lower()}.{action}",
        obj=obj,
        outcome=AuditOutcome.DENIED,
        changes={"reason": message},
    )


def _run_move(
    *,
    actor: Any,
    obj: Any,
    action: str,
    table: dict[tuple[str, str], Move],
    states: Any,
    actions: Any,
    fields: dict[str, Any],
    note: str = "",
    lost_message: str = "",
    past_states: frozenset[str] = frozenset(),
    then: Callable[[Any], None] | None = None,
    now: dt.datetime,
) -> Any:
    """Make one move of `table` on `obj`; returns the object re-read after the move.

    Checks, before anything is written: the move exists for the state (IllegalMove, or
    `lost_message` when the object is already past it, e.g. claimed by someone else) and the
    actor qualifies (PermissionDenied). The write is a conditional UPDATE on the state and
    version the caller saw; touching no row means someone else moved it first: ConflictError.
    `then(obj)` runs inside the same transaction, after the UPDATE (counters, ledger rows).
    Refusals are audited after the transaction rolled back (or the record would go with it).
    """
    model = type(obj)
    try:
        move = table.get((obj.state, action))
        if move is None:
            if lost_message and obj.state in past_states:
                raise IllegalMove(lost_message)
            raise IllegalMove(
                _("当前状态为「%(state)s」，不能执行「%(action)s」。")
                % {"state": _label(states, obj.state), "action": _label(actions, action)}
            )
        if not qualifies(actor, move, obj):
            raise PermissionDenied(_who_may(move))
        with transaction.atomic():
            touched = model.objects.filter(pk=obj.pk, state=obj.state, version=obj.version).update(
                state=move.target, version=F("version") + 1, **fields
            )
            if touched != 1:
                raise ConflictError(lost_message or _("已被他人处理，请刷新后重试。"))
            fresh = model.objects.get(pk=obj.pk)
            history, fk = _history(obj)
            history.objects.create(
                **{fk: fresh},
                at=now,
                actor=actor,
                actor_name=_actor_name(actor),
                action=action,
                from_state=obj.state,
                to_state=move.target,
                note=note,
            )
            audit(
                actor=actor,
                username=SYSTEM_NAME,
                action=f"outreach.{model.__name__.lower()}.{action}",
                obj=fresh,
                changes={
                    "state": [obj.state, move.target],
                    **({"note": note} if note else {}),
                    **{k: v for k, v in fields.items() if isinstance(v, (str, int, Decimal))},
                },
            )
            if then is not None:
                then(fresh)
    except (IllegalMove, PermissionDenied) as exc:
        _refuse(actor, obj, action, str(exc))
        raise
    return fresh


def _clean_note(note: str, action: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("说明不能超过 %(n)d 个字。") % {"n": NOTE_MAX}})
    if action in NOTE_REQUIRED and not note:
        raise ValidationError({"note": _("请填写原因（对方将看到）。")})
    return note


# ---------------------------------------------------------------------------------------------
# micro-wishes 微心愿


def _wish_link(wish: Wish) -> str:
    return reverse("outreach:wish_detail", args=[wish.pk])


def vetters_of(community: OrgNode) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, assignments__role=Role.COMMUNITY_ADMIN, assignments__node=community
        ).distinct()
    )


def wish_post(
    *,
    actor: Any,
    title: str,
    description: str = "",
    category: str = WishCategory.DAILY,
    photo: UploadedFile | None = None,
    community: OrgNode | None = None,
    now: dt.datetime | None = None,
) -> Wish:
    """A resident posts a wish in their community; it waits for the community's vetting."""
    if actor is None or not has_role(actor, WISH_POSTING_ROLES):
        raise PermissionDenied(_("只有居民和党员可以发布心愿。"))
    title = _clean_text(title, "title", _("心愿"), low=2, high=60)
    description = _clean_text(description, "description", _("心愿说明"), low=0, high=1000)
    if category not in WishCategory.values:
        raise ValidationError({"category": _("未知的心愿类别。")})
    home = _home_community(actor, WISH_POSTING_ROLES, community)
    now = now or timezone.now()
    with transaction.atomic():
        wish = Wish.objects.create(
            community=home,
            title=title,
            description=description,
            category=category,
            photo=_save_photo(photo, "wishes"),
            poster=actor,
            poster_name=_person_name(actor),
            created_at=now,
        )
        WishTransition.objects.create(
            wish=wish,
            at=now,
            actor=actor,
            actor_name=_actor_name(actor),
            action=WishAction.POST,
            from_state="",
            to_state=WishState.PENDING,
        )
        audit(actor=actor, action="outreach.wish.post", obj=wish, changes={"title": title})
        _notify_later(
            vetters_of(home),
            _("新的微心愿待审核"),
            f"{wish.poster_name}：{title}",
            _wish_link(wish),
        )
    return wish


def _liaison_unit(actor: Any, path: str) -> Any:
    from tongxin.orgs.models import ResidentUnit

    for grant in grants(actor):
        if grant.role == Role.UNIT_LIAISON and grant.unit_id and community_path(grant.path) == path:
            return ResidentUnit.objects.filter(pk=grant.unit_id).first()
    return None


def wish_transition(
    *,
    actor: Any,
    wish: Wish,
    action: str,
    note: str = "",
    evidence: str = "",
    evidence_photo: UploadedFile | None = None,
    now: dt.datetime | None = None,
) -> Wish:
    """Vet (approve / decline with reason), claim, fulfil (with evidence), confirm or dispute.

    A claim is race-safe: of many members claiming one open wish at once exactly one wins and
    the others get ConflictError "该心愿已被他人认领。".
    """
    if action not in WishAction.values or action == WishAction.POST:
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    note = _clean_note(note, action)
    now = now or timezone.now()
    fields: dict[str, Any] = {}
    if action == WishAction.APPROVE:
        fields = {"vetted_by": actor}
    elif action == WishAction.DECLINE:
        fields = {"vetted_by": actor, "decline_reason": note}
    elif action == WishAction.CLAIM:
        unit = _liaison_unit(actor, wish.community.path) if actor is not None else None
        fields = {
            "claimed_by": actor,
            "claimed_unit": unit,
            "claimant_name": unit.name if unit is not None else str(actor)[:120],
            "claimed_at": now,
        }
    elif action == WishAction.FULFIL:
        evidence = _clean_text(evidence or note, "evidence", _("兑现说明"), low=2, high=500)
        move = WISH_TABLE.get((wish.state, action))
        if move is not None and qualifies(actor, move, wish):
            fields = {
                "evidence": evidence,
                "evidence_photo": _save_photo(evidence_photo, "evidence"),
                "fulfilled_at": now,
            }
    elif action == WishAction.CONFIRM:
        fields = {"confirmed_at": now}
    elif action == WishAction.DISPUTE:
        fields = {"fulfilled_at": None}
    moved = _run_move(
        actor=actor,
        obj=wish,
        action=action,
        table=WISH_TABLE,
        states=WishState,
        actions=WishAction,
        fields=fields,
        note=note,
        lost_message=_("该心愿已被他人认领。") if action == WishAction.CLAIM else "",
        past_states=frozenset({WishState.CLAIMED, WishState.FULFILLED, WishState.CONFIRMED}),
        now=now,
    )
    title = {
        WishAction.APPROVE: (_("您的心愿已通过审核，已上心愿墙"), [moved.poster]),
        WishAction.DECLINE: (_("您的心愿未通过审核"), [moved.poster]),
        WishAction.CLAIM: (_("您的心愿已被认领"), [moved.poster]),
        WishAction.FULFIL: (_("您的心愿已兑现，请确认"), [moved.poster]),
        WishAction.CONFIRM: (_("心愿人已确认圆梦，感谢您"), [moved.claimed_by]),
        WishAction.DISPUTE: (_("心愿人反馈尚未兑现"), [moved.claimed_by]),
    }.get(action)
    if title is not None:
        with transaction.atomic():
            _notify_later(title[1], title[0], moved.title, _wish_link(moved))
    return moved


# ---------------------------------------------------------------------------------------------
# service orders 一呼百应


def _order_link(order: ServiceOrder) -> str:
    return reverse("outreach:order_detail", args=[order.pk])


def matching_volunteers(community: OrgNode, kind: str) -> list[User]:
    """Accounts of active volunteers of the community who offer this kind of service.

    A volunteer offers a kind when it is among their declared offers (VolunteerOffer) or named in
    their skills (people.Volunteer.skills, free text such as "理发"); they belong to the community
    by their own grid or by a team of the community.
    """
    label = _label(OrderKind, kind)
    in_community = Q(person__node__path__startswith=community.path) | Q(
        teams__node__path__startswith=community.path, teams__closed_at__isnull=True
    )
    offers = Q(offers__kind=kind) | Q(skills__contains=label)
    user_ids = (
        Volunteer.objects.filter(in_community, offers, active=True, person__user__is_active=True)
        .values_list("person__user_id", flat=True)
        .distinct()
    )
    return list(User.objects.filter(pk__in=list(user_ids)))


def _territorial_org(node: OrgNode) -> PartyOrganization | None:
    return PartyOrganization.objects.filter(
        node=node, category="territorial", closed_at__isnull=True
    ).first()


def order_place(
    *,
    actor: Any,
    kind: str,
    description: str,
    address: str = "",
    wanted_at: dt.datetime | None = None,
    recipient_person: Person | None = None,
    community: OrgNode | None = None,
    now: dt.datetime | None = None,
) -> ServiceOrder:
    """下单. A resident orders for themself; the community (an admin, for its party
    organization) orders for itself or, with `recipient_person`, on behalf of a special-group
    resident (空巢独居老人、残疾人、70岁以上老党员): who placed it and for whom are both kept.
    Matching volunteers are notified after commit.
    """
    if actor is None:
        raise PermissionDenied
    if kind not in OrderKind.values:
        raise ValidationError({"kind": _("未知的服务类别。")})
    description = _clean_text(description, "description", _("服务需求"), low=2, high=500)
    address = _clean_text(address, "address", _("服务地址"), low=0, high=200)
    now = now or timezone.now()
    is_manager = has_role(actor, MANAGING_ROLES)
    recipient: Any = actor
    placing_org = None
    on_behalf = False
    if recipient_person is not None:
        if not is_manager or not manages(actor, recipient_person.node.path):
            raise PermissionDenied(_("只有服务对象所在社区可以代为下单。"))
        groups = set(
            PersonGroup.objects.filter(person=recipient_person).values_list("group", flat=True)
        )
        if not groups & ON_BEHALF_GROUPS:
            raise ValidationError(
                {"recipient_person": _("只能为空巢独居老人、残疾人、70岁以上老党员代为下单。")}
            )
        home = _community_at(recipient_person.node.path)
        if home is None:
            raise ValidationError({"recipient_person": _("无法确定服务对象所在社区。")})
        recipient = recipient_person.user
        recipient_name = recipient_person.name
        address = address or recipient_person.address
        placing_org = _territorial_org(home)
        on_behalf = True
    elif has_role(actor, ORDER_PLACING_ROLES):
        home = _home_community(actor, ORDER_PLACING_ROLES, community)
        recipient_name = _person_name(actor)
        recipient_person = Person.objects.filter(user=actor).first()
    elif is_manager:
        # A party organization orders for itself (a hall to set up, a lecture to give …).
        if community is None:
            home = _home_community(actor, {Role.COMMUNITY_ADMIN}, None)
        elif manages(actor, community.path) and community.level == Level.COMMUNITY:
            home = community
        else:
            raise ValidationError({"community": _("请选择您管理的社区。")})
        placing_org = _territorial_org(home)
        recipient_name = (placing_org.name if placing_org else home.name)[:50]
    else:
        raise PermissionDenied(_("您不能下单。"))
    with transaction.atomic():
        order = ServiceOrder.objects.create(
            community=home,
            kind=kind,
            description=description,
            address=address,
            wanted_at=wanted_at,
            placed_by=actor,
            placing_org=placing_org,
            recipient=recipient,
            recipient_person=recipient_person,
            recipient_name=recipient_name,
            on_behalf=on_behalf,
            created_at=now,
        )
        OrderTransition.objects.create(
            order=order,
            at=now,
            actor=actor,
            actor_name=_actor_name(actor),
            action=OrderAction.PLACE,
            from_state="",
            to_state=OrderState.PLACED,
            note=_("代%(name)s下单") % {"name": recipient_name} if on_behalf else "",
        )
        audit(
            actor=actor,
            action="outreach.order.place",
            obj=order,
            changes={"kind": kind, "on_behalf": on_behalf, "recipient": recipient_name},
        )
        _notify_later(
            matching_volunteers(home, kind),
            _("一呼百应：有新的服务需求，快来接单"),
            f"{_label(OrderKind, kind)}：{description[:60]}",
            _order_link(order),
        )
    return order


def order_transition(
    *,
    actor: Any,
    order: ServiceOrder,
    action: str,
    note: str = "",
    score: int | None = None,
    now: dt.datetime | None = None,
) -> ServiceOrder:
    """接单 (take, race-safe: the losers get "该服务单已被接单。"), 退单, 完成, 回单 (rate 1–5),
    取消."""
    if action not in OrderAction.values or action == OrderAction.PLACE:
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    note = _clean_note(note, action)
    now = now or timezone.now()
    fields: dict[str, Any] = {}
    if action == OrderAction.TAKE:
        fields = {
            "taken_by": actor,
            "taken_volunteer": volunteer_info(actor).volunteer,
            "taken_at": now,
        }
    elif action == OrderAction.RELEASE:
        fields = {"taken_by": None, "taken_volunteer": None, "taken_at": None}
    elif action == OrderAction.COMPLETE:
        fields = {"result": note, "completed_at": now}
    elif action == OrderAction.RATE:
        try:
            value = int(score)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= 5:
            raise ValidationError({"score": _("请给出 1 至 5 分的评价。")})
        fields = {"score": value, "rating_comment": note[:300], "rated_by": actor, "rated_at": now}
    moved = _run_move(
        actor=actor,
        obj=order,
        action=action,
        table=ORDER_TABLE,
        states=OrderState,
        actions=OrderAction,
        fields=fields,
        note=note,
        lost_message=_("该服务单已被接单。") if action == OrderAction.TAKE else "",
        past_states=frozenset({OrderState.TAKEN, OrderState.DONE, OrderState.RATED}),
        now=now,
    )
    rater = moved.recipient if moved.recipient_id and not moved.on_behalf else moved.placed_by
    told = {
        OrderAction.TAKE: (_("您的服务需求已有志愿者接单"), [moved.placed_by, moved.recipient]),
        OrderAction.COMPLETE: (_("服务已完成，请回单评价"), [rater]),
        OrderAction.RATE: (_("服务对象已回单"), [moved.taken_by]),
        OrderAction.CANCEL: (_("服务单已取消"), [moved.taken_by, moved.placed_by]),
    }.get(action)
    with transaction.atomic():
        if told is not None:
            _notify_later(told[1], told[0], moved.description[:60], _order_link(moved))
        if action == OrderAction.RELEASE:
            _notify_later(
                [u for u in matching_volunteers(moved.community, moved.kind) if u != actor],
                _("一呼百应：有服务需求重新待接单"),
                moved.description[:60],
                _order_link(moved),
            )
    return moved


def volunteer_offers_set(*, actor: Any, volunteer: Volunteer, kinds: Iterable[str]) -> list[str]:
    """Which kinds of order a volunteer offers (the volunteer themself, or their community)."""
    from tongxin.outreach.models import VolunteerOffer

    own = volunteer.person.user_id is not None and actor is not None
    own = own and volunteer.person.user_id == actor.pk
    if not own and not manages(actor, volunteer.person.node.path):
        raise PermissionDenied
    wanted = sorted(set(kinds))
    if any(k not in OrderKind.values for k in wanted):
        raise ValidationError({"kinds": _("未知的服务类别。")})
    with transaction.atomic():
        VolunteerOffer.objects.filter(volunteer=volunteer).exclude(kind__in=wanted).delete()
        VolunteerOffer.objects.bulk_create(
            [VolunteerOffer(volunteer=volunteer, kind=k) for k in wanted], ignore_conflicts=True
        )
        audit(actor=actor, action="outreach.offers.set", obj=volunteer, changes={"kinds": wanted})
    return wanted


# ---------------------------------------------------------------------------------------------
# volunteer activities


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _check_manager(actor: Any, community: OrgNode) -> None:
    if actor is not None and not manages(actor, community.path):
        raise PermissionDenied(_("只有本社区管理员可以执行此操作。"))
    if community.level != Level.COMMUNITY:
        raise ValidationError({"community": _("请选择一个社区。")})


def _check_team_post(community: OrgNode, team: Any, post: Any) -> None:
    if team is not None and not (
        team.node.path.startswith(community.path) or community.path.startswith(team.node.path)
    ):
        raise ValidationError({"team": _("所选志愿服务队不属于该社区。")})
    if post is not None and post.community_id != community.pk:
        raise ValidationError({"post": _("所选服务岗位不属于该社区。")})


def activity_create(
    *,
    actor: Any,
    community: OrgNode,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    capacity: int,
    description: str = "",
    place: str = "",
    team: Any = None,
    post: Any = None,
    points_per_hour: int = 10,
) -> Activity:
    """Publish an activity with a sign-up limit and a fresh check-in code."""
    _check_manager(actor, community)
    title = _clean_text(title, "title", _("活动名称"), low=2, high=80)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("结束时间须晚于开始时间。")})
    if capacity is None or int(capacity) < 1:
        raise ValidationError({"capacity": _("名额至少为 1。")})
    if points_per_hour is None or not 0 <= int(points_per_hour) <= 100:
        raise ValidationError({"points_per_hour": _("每小时积分须在 0 至 100 之间。")})
    _check_team_post(community, team, post)
    with transaction.atomic():
        activity = Activity.objects.create(
            community=community,
            team=team,
            post=post,
            title=title,
            description=(description or "").strip()[:500],
            place=(place or "").strip()[:120],
            occurs_on=timezone.localdate(starts_at),
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=int(capacity),
            points_per_hour=int(points_per_hour),
            checkin_code=_new_code(),
            created_by=actor,
        )
        audit(
            actor=actor,
            username=SYSTEM_NAME,
            action="outreach.activity.create",
            obj=activity,
            changes={"capacity": activity.capacity},
        )
    return activity


def activity_cancel(*, actor: Any, activity: Activity, reason: str) -> Activity:
    _check_manager(actor, activity.community)
    reason = _clean_text(reason, "reason", _("取消原因"), low=2, high=200)
    with transaction.atomic():
        touched = Activity.objects.filter(
            pk=activity.pk, state=ActivityState.PUBLISHED, version=activity.version
        ).update(state=ActivityState.CANCELLED, version=F("version") + 1)
        if touched != 1:
            raise ConflictError(_("该活动已变更，请刷新后重试。"))
        activity.refresh_from_db()
        audit(
            actor=actor, action="outreach.activity.cancel", obj=activity, changes={"reason": reason}
        )
        users = User.objects.filter(
            activity_signups__activity=activity,
            activity_signups__state=SignupState.SIGNED_UP,
        )
        _notify_later(
            list(users),
            _("您报名的志愿活动已取消"),
            f"{activity}：{reason}",
            reverse("outreach:activity_detail", args=[activity.pk]),
        )
    return activity


def may_sign_up(user: Any, activity: Activity) -> bool:
    path = activity.community.path
    return path in home_community_paths(user, OUTREACH_ROLES) or path in volunteer_info(user).paths


def activity_sign_up(*, actor: Any, activity: Activity, now: dt.datetime | None = None) -> Signup:
    """报名. Admitted only while a place is left: the count goes up by a conditional UPDATE
    (`signup_count < capacity`), so concurrent sign-ups never exceed the limit; the losers get
    ConflictError "名额已满"."""
    now = now or timezone.now()
    if actor is None or not may_sign_up(actor, activity):
        raise PermissionDenied(_("只有本社区的党员、居民和志愿者可以报名。"))
    if activity.state != ActivityState.PUBLISHED:
        raise ConflictError(_("该活动已取消。"))
    if now >= activity.ends_at:
        raise ConflictError(_("该活动已结束，不能报名。"))
    person = Person.objects.filter(user=actor).first()
    with transaction.atomic():
        if (
            Signup.objects.filter(activity=activity, user=actor)
            .exclude(state=SignupState.CANCELLED)
            .exists()
        ):
            raise ConflictError(_("您已报名该活动。"))
        admitted = Activity.objects.filter(
            pk=activity.pk,
            state=ActivityState.PUBLISHED,
            signup_count__lt=F("capacity"),
        ).update(signup_count=F("signup_count") + 1)
        if admitted != 1:
            raise ConflictError(_("名额已满。"))
        try:
            with transaction.atomic():
                signup = Signup.objects.create(
                    activity=activity,
                    user=actor,
                    person=person,
                    name=(person.name if person else str(actor))[:50],
                    signed_up_at=now,
                )
        except IntegrityError:
            # The same user signing up twice at once: the unique index lets one through; this
            # rollback takes the counted place back with it.
            raise ConflictError(_("您已报名该活动。")) from None
        SignupTransition.objects.create(
            signup=signup,
            at=now,
            actor=actor,
            actor_name=_actor_name(actor),
            action=SignupAction.SIGN_UP,
            from_state="",
            to_state=SignupState.SIGNED_UP,
        )
        audit(actor=actor, action="outreach.signup.sign_up", obj=signup)
    return signup


@dataclass(frozen=True)
class Credit:
    hours: Decimal
    points: int


def credit_for(
    activity: Activity, checked_in_at: dt.datetime, checked_out_at: dt.datetime
) -> Credit:
    """Hours and points for one attendance.

    The time counted is the overlap of [check-in, check-out] with the activity's own hours
    (arriving early or leaving late adds nothing), in whole half-hours rounded down; points are
    hours × the activity's points per hour, rounded down.
    """
    start = max(checked_in_at, activity.starts_at)
    end = min(checked_out_at, activity.ends_at)
    minutes = max(0, int((end - start).total_seconds() // 60))
    hours = (Decimal(minutes) / Decimal(60) / HALF_HOUR).to_integral_value(ROUND_DOWN) * HALF_HOUR
    points = int((hours * activity.points_per_hour).to_integral_value(ROUND_DOWN))
    return Credit(hours, points)


def _credit(
    *,
    user_id: int,
    person_id: int | None,
    community: OrgNode,
    source: str,
    served_on: dt.date,
    hours: Decimal,
    points: int,
    description: str,
    signup: Signup | None = None,
    claim: HoursClaim | None = None,
) -> HoursEntry:
    entry = HoursEntry.objects.create(
        user_id=user_id,
        person_id=person_id,
        community=community,
        source=source,
        signup=signup,
        claim=claim,
        served_on=served_on,
        hours=hours,
        points=points,
        description=description[:300],
    )
    if person_id is not None and hours > 0:
        # people.Volunteer keeps the running total its pages show; credits come from here.
        Volunteer.objects.filter(person_id=person_id).update(
            service_hours=F("service_hours") + hours
        )
    return entry


def signup_transition(
    *,
    actor: Any,
    signup: Signup,
    action: str,
    code: str = "",
    now: dt.datetime | None = None,
) -> Signup:
    """签到 (with the code shown on the activity page, or by the organizer), 签退 (hours and
    points credited), 取消报名 (the place is given back)."""
    if action not in SignupAction.values or action == SignupAction.SIGN_UP:
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    now = now or timezone.now()
    activity = signup.activity
    fields: dict[str, Any] = {}
    then: Callable[[Any], None] | None = None
    organizer = actor is not None and manages(actor, activity.community.path)
    if action == SignupAction.CHECK_IN:
        if not organizer and (code or "").strip().upper() != activity.checkin_code:
            raise ValidationError({"code": _("签到码不正确。")})
        if activity.state != ActivityState.PUBLISHED:
            raise ConflictError(_("该活动已取消。"))
        if not activity.starts_at - CHECK_IN_OPENS_BEFORE <= now <= activity.ends_at:
            raise ConflictError(_("不在签到时间内（活动开始前 1 小时至活动结束）。"))
        fields = {"checked_in_at": now}
    elif action == SignupAction.CHECK_OUT:
        checked_in_at = signup.checked_in_at or now
        credit = credit_for(activity, checked_in_at, now)
        fields = {"checked_out_at": now}

        def then(fresh: Signup) -> None:
            _credit(
                user_id=fresh.user_id,
                person_id=fresh.person_id,
                community=activity.community,
                source=HoursSource.ACTIVITY,
                served_on=activity.occurs_on,
                hours=credit.hours,
                points=credit.points,
                description=activity.title,
                signup=fresh,
            )

    elif action == SignupAction.CANCEL:

        def then(fresh: Signup) -> None:
            Activity.objects.filter(pk=activity.pk, signup_count__gt=0).update(
                signup_count=F("signup_count") - 1
            )

    return _run_move(
        actor=actor,
        obj=signup,
        action=action,
        table=SIGNUP_TABLE,
        states=SignupState,
        actions=SignupAction,
        fields=fields,
        then=then,
        now=now,
    )


def hours_claim_log(
    *,
    actor: Any,
    served_on: dt.date,
    hours: Decimal,
    description: str,
    community: OrgNode | None = None,
    now: dt.datetime | None = None,
) -> HoursClaim:
    """A volunteer logs hours served outside an activity; the community approves them."""
    if actor is None:
        raise PermissionDenied
    now = now or timezone.now()
    try:
        hours = Decimal(str(hours))
    except ArithmeticError:
        raise ValidationError({"hours": _("时长须为数字。")}) from None
    if not Decimal("0") < hours <= Decimal("24") or hours % HALF_HOUR != 0:
        raise ValidationError({"hours": _("时长须在 0.5 至 24 小时之间，以半小时计。")})
    if served_on > timezone.localdate(now):
        raise ValidationError({"served_on": _("服务日期不能晚于今天。")})
    if served_on < timezone.localdate(now) - dt.timedelta(days=90):
        raise ValidationError({"served_on": _("只能申报 90 天以内的服务。")})
    description = _clean_text(description, "description", _("服务内容"), low=2, high=300)
    paths = home_community_paths(actor, OUTREACH_ROLES) | volunteer_info(actor).paths
    if community is None:
        if len(paths) != 1:
            raise ValidationError({"community": _("请选择服务所在社区。")})
        community = _community_at(next(iter(paths)))
    elif community.path not in paths:
        raise ValidationError({"community": _("您不属于所选社区。")})
    if community is None:
        raise ValidationError({"community": _("无法确定您所在的社区。")})
    person = Person.objects.filter(user=actor).first()
    with transaction.atomic():
        claim = HoursClaim.objects.create(
            community=community,
            user=actor,
            person=person,
            name=(person.name if person else str(actor))[:50],
            served_on=served_on,
            hours=hours,
            description=description,
            created_at=now,
        )
        HoursClaimTransition.objects.create(
            claim=claim,
            at=now,
            actor=actor,
            actor_name=_actor_name(actor),
            action=HoursClaimAction.LOG,
            from_state="",
            to_state=HoursClaimState.PENDING,
        )
        audit(actor=actor, action="outreach.hoursclaim.log", obj=claim, changes={"hours": hours})
        _notify_later(
            vetters_of(community),
            _("有志愿服务时长申报待审核"),
            f"{claim.name} {hours}h：{description[:40]}",
            reverse("outreach:hours_review"),
        )
    return claim


def hours_claim_transition(
    *, actor: Any, claim: HoursClaim, action: str, note: str = "", now: dt.datetime | None = None
) -> HoursClaim:
    """认定 (credited: hours × POINTS_PER_HOUR points) or 不予认定 (with a reason)."""
    if action not in (HoursClaimAction.APPROVE, HoursClaimAction.REJECT):
        raise ValidationError({"action": _("未知的操作：%(a)s") % {"a": action}})
    note = _clean_note(note, action)
    now = now or timezone.now()
    then: Callable[[Any], None] | None = None
    if action == HoursClaimAction.APPROVE:

        def then(fresh: HoursClaim) -> None:
            _credit(
                user_id=fresh.user_id,
                person_id=fresh.person_id,
                community=fresh.community,
                source=HoursSource.CLAIM,
                served_on=fresh.served_on,
                hours=fresh.hours,
                points=int(fresh.hours * POINTS_PER_HOUR),
                description=fresh.description,
                claim=fresh,
            )

    moved = _run_move(
        actor=actor,
        obj=claim,
        action=action,
        table=HOURS_TABLE,
        states=HoursClaimState,
        actions=HoursClaimAction,
        fields={"review_note": note},
        note=note,
        then=then,
        now=now,
    )
    with transaction.atomic():
        _notify_later(
            [moved.user],
            _("您申报的服务时长已认定")
            if action == HoursClaimAction.APPROVE
            else _("您申报的服务时长未予认定"),
            f"{moved.served_on} {moved.hours}h {note}",
            reverse("outreach:hours_mine"),
        )
    return moved


# ---------------------------------------------------------------------------------------------
# recurring activities


def _last_friday(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - 4) % 7)


def occurrences(rule: ActivityRule, start: dt.date, until: dt.date) -> list[dt.date]:
    """The days in [start, until] (and within the rule's own dates) the rule falls on."""
    first = max(start, rule.starts_on)
    last = min(until, rule.ends_on) if rule.ends_on else until
    if last < first:
        return []
    days: list[dt.date] = []
    if rule.recurrence == Recurrence.LAST_FRIDAY:
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            days.append(_last_friday(year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    elif rule.recurrence == Recurrence.WEEKLY and rule.weekday is not None:
        day = first + dt.timedelta(days=(rule.weekday - first.weekday()) % 7)
        while day <= last:
            days.append(day)
            day += dt.timedelta(days=7)
    elif rule.recurrence == Recurrence.YEARLY_WEEK and rule.month and rule.day:
        for year in range(first.year, last.year + 1):
            try:
                opening = dt.date(year, rule.month, rule.day)
            except ValueError:  # 29 February in a common year
                opening = dt.date(year, rule.month, 28)
            days.extend(opening + dt.timedelta(days=i) for i in range(7))
    return [d for d in days if first <= d <= last]


def activity_rule_create(
    *,
    actor: Any,
    community: OrgNode,
    title: str,
    recurrence: str,
    start_time: dt.time,
    end_time: dt.time,
    capacity: int,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    weekday: int | None = None,
    month: int | None = None,
    day: int | None = None,
    description: str = "",
    place: str = "",
    team: Any = None,
    post: Any = None,
    points_per_hour: int = 10,
) -> ActivityRule:
    _check_manager(actor, community)
    title = _clean_text(title, "title", _("活动名称"), low=2, high=80)
    if recurrence not in Recurrence.values:
        raise ValidationError({"recurrence": _("未知的重复规则。")})
    if recurrence == Recurrence.WEEKLY and (weekday is None or not 0 <= weekday <= 6):
        raise ValidationError({"weekday": _("请选择星期几。")})
    if recurrence == Recurrence.YEARLY_WEEK and not (month and day):
        raise ValidationError({"month": _("请填写服务周的起始月日。")})
    if end_time <= start_time:
        raise ValidationError({"end_time": _("结束时间须晚于开始时间。")})
    if capacity is None or int(capacity) < 1:
        raise ValidationError({"capacity": _("名额至少为 1。")})
    _check_team_post(community, team, post)
    with transaction.atomic():
        rule = ActivityRule.objects.create(
            community=community,
            team=team,
            post=post,
            title=title,
            description=(description or "")[:500],
            place=(place or "")[:120],
            recurrence=recurrence,
            weekday=weekday,
            month=month,
            day=day,
            start_time=start_time,
            end_time=end_time,
            capacity=int(capacity),
            points_per_hour=points_per_hour,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=actor,
        )
        audit(actor=actor, username=SYSTEM_NAME, action="outreach.rule.create", obj=rule)
    return rule


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time), timezone.get_default_timezone())


def activities_generate(
    *,
    actor: Any = None,
    start: dt.date | None = None,
    until: dt.date | None = None,
    rules: Iterable[ActivityRule] | None = None,
) -> int:
    """Create the activities of every active rule for the days in [start, until]; returns how
    many were new. Idempotent: the unique (rule, occurs_on) index makes a re-run (or two runs at
    once) insert nothing twice; activities already there are left as they are."""
    start = start or timezone.localdate()
    until = until or start + dt.timedelta(days=62)
    chosen = list(rules) if rules is not None else list(ActivityRule.objects.filter(active=True))
    created = 0
    for rule in chosen:
        days = occurrences(rule, start, until)
        if not days:
            continue
        with transaction.atomic():
            have = set(
                Activity.objects.filter(rule=rule, occurs_on__in=days).values_list(
                    "occurs_on", flat=True
                )
            )
            missing = [d for d in days if d not in have]
            if not missing:
                continue
            Activity.objects.bulk_create(
                [
                    Activity(
                        community_id=rule.community_id,
                        team_id=rule.team_id,
                        post_id=rule.post_id,
                        rule=rule,
                        occurs_on=day,
                        title=rule.title,
                        description=rule.description,
                        place=rule.place,
                        starts_at=_at(day, rule.start_time),
                        ends_at=_at(day, rule.end_time),
                        capacity=rule.capacity,
                        points_per_hour=rule.points_per_hour,
                        checkin_code=_new_code(),
                        created_by=actor,
                    )
                    for day in missing
                ],
                ignore_conflicts=True,
            )
            now_have = Activity.objects.filter(rule=rule, occurs_on__in=days).count()
            added = now_have - len(have)
            created += added
            if added:
                audit(
                    actor=actor,
                    username=SYSTEM_NAME,
                    action="outreach.rule.generate",
                    obj=rule,
                    changes={"created": added, "from": str(start), "until": str(until)},
                )
    return created


# ---------------------------------------------------------------------------------------------
# service points 百米服务圈


def _place_point(lng: float, lat: float) -> OrgNode | None:
    from tongxin.grids.geo import grid_index, locate

    if grid_index().empty:
        return None
    return locate(lng, lat).grid


def _clean_point(lng: Any, lat: Any, crs: str) -> tuple[float, float]:
    try:
        lng_f, lat_f = float(lng), float(lat)
    except (TypeError, ValueError):
        raise ValidationError({"lng": _("经纬度须为数字。")}) from None
    if not (-180 <= lng_f <= 180 and -90 <= lat_f <= 90) or lng_f != lng_f or lat_f != lat_f:
        raise ValidationError({"lng": _("经纬度超出范围。")})
    if crs not in ("wgs84", "gcj02", "bd09"):
        raise ValidationError({"crs": _("未知的坐标系。")})
    from tongxin.grids.geo import to_wgs84

    return to_wgs84(lng_f, lat_f, crs)


def service_point_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    address: str,
    lng: float,
    lat: float,
    crs: str = "wgs84",
    community: OrgNode | None = None,
    opening_hours: str = "",
    contact: str = "",
    services: str = "",
    team: Any = None,
) -> ServicePoint:
    """A service point, placed in its grid by the grids app's locator; outside every grid it
    belongs to the chosen community."""
    name = _clean_text(name, "name", _("名称"), low=2, high=80)
    address = _clean_text(address, "address", _("地址"), low=2, high=200)
    if kind not in ServicePointKind.values:
        raise ValidationError({"kind": _("未知的服务点类别。")})
    lng, lat = _clean_point(lng, lat, crs)
    grid = _place_point(lng, lat)
    home = _community_at(grid.path) if grid is not None else community
    if home is None:
        raise ValidationError({"lng": _("该位置不在任何网格内，请选择所属社区。")})
    _check_manager(actor, home)
    _check_team_post(home, team, None)
    with transaction.atomic():
        point = ServicePoint.objects.create(
            community=home,
            grid=grid,
            name=name,
            kind=kind,
            address=address,
            lng=lng,
            lat=lat,
            opening_hours=(opening_hours or "")[:100],
            contact=(contact or "")[:60],
            services=(services or "")[:300],
            team=team,
        )
        audit(
            actor=actor,
            username=SYSTEM_NAME,
            action="outreach.point.create",
            obj=point,
            changes={"grid": grid.name if grid else "", "lng": lng, "lat": lat},
        )
    return point


def service_point_set_active(
    *, actor: Any, point: ServicePoint, active: bool, version: int
) -> ServicePoint:
    _check_manager(actor, point.community)
    with transaction.atomic():
        touched = ServicePoint.objects.filter(pk=point.pk, version=version).update(
            active=active, version=F("version") + 1
        )
        if touched != 1:
            raise ConflictError(_("该服务点已被他人修改，请刷新后重试。"))
        point.refresh_from_db()
        audit(
            actor=actor, action="outreach.point.set_active", obj=point, changes={"active": active}
        )
    return point


def forget_caches(user: Any) -> None:
    """For tests and long-lived user objects: drop the cached volunteer look-up."""
    forget_volunteer(user)


__all__ = [
    "CLAIMING_ROLES",
    "IllegalMove",
    "activities_generate",
    "activity_cancel",
    "activity_create",
    "activity_rule_create",
    "activity_sign_up",
    "credit_for",
    "hours_claim_log",
    "hours_claim_transition",
    "matching_volunteers",
    "occurrences",
    "order_place",
    "order_transition",
    "service_point_create",
    "service_point_set_active",
    "signup_transition",
    "volunteer_offers_set",
    "wish_post",
    "wish_transition",
]

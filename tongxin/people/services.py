"""Writes of people data. Each service is one transaction with its audit record.

Conventions shared by every function here (as in orgs/services.py):
- keyword-only arguments; `actor` is the acting user, or None for the system itself (demo seed,
  imports run by a command), which skips the permission check;
- the permission (people/rules.py) is checked here again, whatever the caller checked, and a
  refusal is itself audited;
- updates take the `version` the client saw and raise ConflictError when the row moved on;
- bad input raises django ValidationError with a field dict in Chinese;
- audit `changes` never hold a plain ID number or phone: only the masked copies.

Bulk creation (`members_bulk_create`, `residents_bulk_create`, `households_bulk_create`) takes rows
already cleaned with people/validation.py (and foreign keys resolved), checks permission once per
node, refuses duplicate ID numbers, and writes with `bulk_create` in one transaction and one audit
record: what an Excel importer needs after validating every row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role, User
from tongxin.core.audit import audit
from tongxin.core.crypto import keyring
from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome
from tongxin.core.scoping import grants
from tongxin.notify.services import notify
from tongxin.orgs.models import Level, OrgCategory, OrgNode, PartyOrganization, ResidentUnit
from tongxin.people.models import (
    ACTIVE_STATUSES,
    FIXED_DUES_CLASSES,
    MANAGEMENT_MODE,
    SENSITIVE_GROUPS,
    UNIT_CATEGORIES,
    Building,
    Category,
    DuesClass,
    DuesLedger,
    DuesPayment,
    FloatDirection,
    FloatingRecord,
    Household,
    HouseholdType,
    MembershipType,
    MemberStatus,
    MemberTransfer,
    PartyMember,
    PaymentMethod,
    Person,
    PersonGroup,
    Rating,
    Registration,
    Resident,
    ServicePost,
    ServiceRecord,
    TransferKind,
    Volunteer,
    VolunteerTeam,
    YearRating,
)
from tongxin.people.rules import COMMUNITY_PATH_LENGTH, MANAGING_ROLES, can, serves
from tongxin.people.validation import (
    clean_groups,
    clean_income,
    clean_member_data,
    clean_person_data,
    clean_phone,
    clean_resident_data,
    money,
    registered_indexes,
)

M = TypeVar("M", bound=models.Model)

PERSON_FIELDS = frozenset(
    {"name", "gender", "ethnicity", "birth_date", "id_number", "phone", "address", "note"}
)
SEALED_PERSON_FIELDS = ("id_number", "phone")
MEMBER_FIELDS = frozenset(
    {
        "category",
        "joined_on",
        "membership_type",
        "full_on",
        "organization",
        "organization_name",
        "branch",
        "unit",
        "work_unit_name",
        "dues_class",
        "monthly_income",
    }
)
RESIDENT_FIELDS = frozenset({"household", "relation", "residence_type", "moved_in_on"})
PERSON_LEVELS = (Level.COMMUNITY, Level.GRID)
REASON_MIN_LENGTH = 2

# ---------------------------------------------------------------------------------------------
# shared plumbing


def _require(actor: Any, perm: str, obj: Any) -> None:
    """Refuse (and audit the refusal) unless the actor holds `perm` on `obj`; None is the system."""
    if actor is None or can(actor, perm, obj):
        return
    audit(actor=actor, action=perm, obj=obj, outcome=AuditOutcome.DENIED)
    raise PermissionDenied


def _locked(obj: M) -> M:
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


def _check_version(locked: Any, version: int | None) -> None:
    if version is None or int(version) != locked.version:
        raise ConflictError(_("该记录已被他人修改，请刷新后重试。"))


def _plain(value: Any) -> Any:
    """A JSON-friendly snapshot for audit rows (never a plain protected value)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def _bump(instance: Any, fields: Iterable[str]) -> None:
    instance.version += 1
    update_fields = {*fields, "version"}
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update_fields.add("updated_at")
    instance.save(update_fields=sorted(update_fields))


def _merge_errors(*calls: Any) -> list[Any]:
    """Run each cleaning call; raise all their field errors together."""
    results: list[Any] = []
    errors: dict[str, list[str]] = {}
    for call in calls:
        try:
            results.append(call())
        except ValidationError as exc:
            results.append(None)
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return results


def _today() -> dt.date:
    return timezone.localdate()


def community_of(node: OrgNode) -> OrgNode | None:
    """The community a community or grid node belongs to."""
    if node.level == Level.COMMUNITY:
        return node
    path = node.path[:COMMUNITY_PATH_LENGTH]
    return OrgNode.objects.filter(path=path, level=Level.COMMUNITY).first()


def _check_person_node(node: OrgNode | None, field: str = "node") -> OrgNode:
    if node is None:
        raise ValidationError({field: [_("请选择所属网格或社区。")]})
    if node.level not in PERSON_LEVELS:
        raise ValidationError({field: [_("人员应登记在社区或网格。")]})
    if node.closed_at is not None:
        raise ValidationError({field: [_("该组织已撤销。")]})
    return node


def _reason(reason: str, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise ValidationError({field: [_("请填写原因。")]})
    if len(reason) > 200:
        raise ValidationError({field: [_("原因不能超过 200 个字符。")]})
    return reason


# ---------------------------------------------------------------------------------------------
# persons


def person_snapshot(person: Person) -> dict[str, Any]:
    """What an audit record may say about a person: masked protected values only."""
    return {
        "name": person.name,
        "node": str(person.node) if person.node_id else "",
        "gender": person.gender,
        "id_number": person.id_number_masked,
        "phone": person.phone_masked,
    }


def _existing_by_id_number(number: str, exclude: Person | None = None) -> Person | None:
    if not number:
        return None
    queryset = Person.objects.filter(Person.id_number.lookup(number))
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.select_related("node").first()


def _new_person(node: OrgNode, data: Mapping[str, Any]) -> Person:
    """An unsaved person from cleaned data; protected values are sealed on assignment."""
    person = Person(
        node=node,
        name=data["name"],
        gender=data.get("gender", ""),
        ethnicity=data.get("ethnicity") or "汉族",
        birth_date=data.get("birth_date"),
        address=data.get("address", ""),
        note=data.get("note", ""),
    )
    person.id_number = data.get("id_number", "")
    person.phone = data.get("phone", "")
    return person


def _save_new_person(person: Person) -> None:
    try:
        with transaction.atomic():
            person.save(force_insert=True)
    except IntegrityError:
        # Two clerks registering the same person at once: the unique blind index decides.
        raise ValidationError({"id_number": [_("该身份证号已登记。")]}) from None


def _visible_to(actor: Any, person: Person) -> bool:
    return actor is None or can(actor, "people.view_person", person)


def _reuse_or_new_person(
    actor: Any, node: OrgNode, data: Mapping[str, Any], *, taken: str
) -> tuple[Person, bool]:
    """The registered person with this ID number (when the actor sees them and `taken` — the
    related name of the role being added — is free), else a new person. (person, created)."""
    existing = _existing_by_id_number(data.get("id_number", ""))
    if existing is None:
        person = _new_person(node, data)
        _save_new_person(person)
        return person, True
    if not _visible_to(actor, existing):
        # Say no more than "exists": the other community's record is not this user's business.
        raise ValidationError({"id_number": [_("该身份证号已在其他社区登记，请联系其所在社区。")]})
    if hasattr(existing, taken) and getattr(existing, taken, None) is not None:
        raise ValidationError({"id_number": [_("该身份证号已登记。")]})
    return existing, False


def _apply_person_changes(person: Person, changes: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Validate and set person fields; return the audit diff (masked for protected values)."""
    unknown = set(changes) - PERSON_FIELDS - {"node"}
    if unknown:
        raise TypeError(f"fields not editable here: {sorted(unknown)}")
    data = {k: v for k, v in changes.items() if k != "node"}
    if person.id_number and ({"birth_date", "gender"} & set(data)) and "id_number" not in data:
        derived = {"birth_date": person.birth_date, "gender": person.gender}
        for name in ("birth_date", "gender"):
            if name in data and (data[name] or None) != (derived[name] or None):
                raise ValidationError({name: [_("出生日期和性别由身份证号自动生成。")]})
    cleaned = clean_person_data(data, partial=True)
    diff: dict[str, list[Any]] = {}
    if "node" in changes:
        node = _check_person_node(changes["node"])
        if node.pk != person.node_id:
            diff["node"] = [str(person.node), str(node)]
            person.node = node
    for name, value in cleaned.items():
        if name in SEALED_PERSON_FIELDS:
            field = getattr(Person, name)
            if field.index_of(value) == getattr(person, field.index_attr):
                continue
            if name == "id_number" and _existing_by_id_number(value, exclude=person):
                raise ValidationError({"id_number": [_("该身份证号已登记。")]})
            before = getattr(person, field.masked_attr)
            setattr(person, name, value)
            diff[name] = [before, getattr(person, field.masked_attr)]
            continue
        before = getattr(person, name)
        if before != value:
            setattr(person, name, value)
            diff[name] = [_plain(before), _plain(value)]
    return diff


def _person_update_fields(diff: Mapping[str, Any]) -> set[str]:
    fields: set[str] = set()
    for name in diff:
        if name in SEALED_PERSON_FIELDS:
            field = getattr(Person, name)
            fields |= {field.cipher_attr, field.index_attr, field.masked_attr}
        else:
            fields.add(name)
    return fields


def _save_person_diff(person: Person, diff: Mapping[str, Any]) -> None:
    if not diff:
        return
    try:
        with transaction.atomic():
            _bump(person, _person_update_fields(diff))
    except IntegrityError:
        raise ValidationError({"id_number": [_("该身份证号已登记。")]}) from None


def person_update(
    *, actor: Any, person: Person, version: int, changes: Mapping[str, Any]
) -> Person:
    """Change a person's details (protected values are re-sealed; audited masked)."""
    _require(actor, "people.change_person", person)
    if "node" in changes and actor is not None:
        _require(actor, "people.change_person", changes["node"])
    with transaction.atomic():
        locked = _locked(person)
        _check_version(locked, version)
        diff = _apply_person_changes(locked, changes)
        if diff:
            _save_person_diff(locked, diff)
            audit(actor=actor, action="people.person.update", obj=locked, changes=diff)
    return locked


def person_reveal(
    *, actor: Any, person: Person, reason: str, fields: Sequence[str] = SEALED_PERSON_FIELDS
) -> dict[str, Any]:
    """The plain ID number and phone of one person, for a stated reason (SECURITY.md 12).

    Allowed to district / street / community admins over the person and to the person
    themselves. Every reveal is audited with its reason and the masked values; a refused attempt
    is audited too. The full birth date comes with it (with the masked number it would narrow
    the number to a handful of candidates, so pages show only the year and month).
    """
    unknown = set(fields) - set(SEALED_PERSON_FIELDS)
    if unknown:
        raise TypeError(f"not a protected field: {sorted(unknown)}")
    reason = _reason(reason)
    if actor is not None and not can(actor, "people.reveal_person", person):
        audit(
            actor=actor,
            action="people.person.reveal",
            obj=person,
            outcome=AuditOutcome.DENIED,
            changes={"reason": reason, "fields": list(fields)},
        )
        raise PermissionDenied(_("您无权查看该人员的完整信息。"))
    values: dict[str, Any] = {name: getattr(person, name).reveal() for name in fields}
    values["birth_date"] = person.birth_date
    audit(
        actor=actor,
        action="people.person.reveal",
        obj=person,
        changes={
            "reason": reason,
            "fields": list(fields),
            "masked": {name: getattr(person, f"{name}_masked") for name in fields},
        },
    )
    return values


def person_link_user(*, actor: Any, person: Person, user: User | None) -> Person:
    """Link (or unlink, with None) the platform account a person signs in with."""
    _require(actor, "people.link_account", person)
    with transaction.atomic():
        locked = _locked(person)
        if user is not None and Person.objects.filter(user=user).exclude(pk=locked.pk).exists():
            raise ValidationError({"user": [_("该账号已关联其他人员。")]})
        before = locked.user.username if locked.user_id else ""
        locked.user = user
        _bump(locked, ["user"])
        audit(
            actor=actor,
            action="people.person.link_user",
            obj=locked,
            changes={"user": [before, user.username if user else ""]},
        )
    return locked


def person_set_groups(*, actor: Any, person: Person, groups: Iterable[str]) -> list[str]:
    """Set the special groups a person belongs to.

    Sensitive groups are set only by the serving community (SECURITY.md 13); others may change
    the open groups, and sensitive tags they cannot see are kept as they are.
    """
    _require(actor, "people.change_person", person)
    wanted = clean_groups(groups)
    may_sensitive = actor is None or can(actor, "people.change_sensitive_groups", person)
    if not may_sensitive and wanted & SENSITIVE_GROUPS:
        audit(
            actor=actor,
            action="people.person.groups",
            obj=person,
            outcome=AuditOutcome.DENIED,
            changes={"reason": "sensitive groups are set by the serving community"},
        )
        raise PermissionDenied(_("困难、残疾等敏感人群仅由服务社区标记。"))
    with transaction.atomic():
        current = set(PersonGroup.objects.filter(person=person).values_list("group", flat=True))
        if not may_sensitive:
            wanted |= current & SENSITIVE_GROUPS
        added = sorted(wanted - current)
        removed = sorted(current - wanted)
        if removed:
            PersonGroup.objects.filter(person=person, group__in=removed).delete()
        PersonGroup.objects.bulk_create(
            PersonGroup(person=person, group=g, since=_today()) for g in added
        )
        if added or removed:
            audit(
                actor=actor,
                action="people.person.groups",
                obj=person,
                changes={"added": added, "removed": removed},
            )
    return sorted(wanted)


# ---------------------------------------------------------------------------------------------
# party members


def default_dues_class(category: str) -> str:
    return {
        Category.RETIRED: DuesClass.RETIRED,
        Category.LAID_OFF: DuesClass.LAID_OFF,
    }.get(category, DuesClass.SALARIED)


def management_mode(category: str) -> str:
    """SPEC §2: registered 直管, in-service and new-sector 双管, retired 托管, laid-off 接管,
    floating 协管."""
    return MANAGEMENT_MODE[category]


class PlaceCache:
    """Per-node look-ups (community, territorial party organization) a bulk import would
    otherwise repeat for every row. `preload(nodes)` fetches them for many nodes at once (two
    queries, whatever the number of rows or nodes); anything not preloaded is fetched on first
    use and kept."""

    def __init__(self) -> None:
        self._community: dict[int, OrgNode | None] = {}
        self._territorial: dict[int, PartyOrganization | None] = {}

    def preload(self, nodes: Iterable[OrgNode]) -> None:
        wanted = {n.pk: n for n in nodes if n is not None and n.pk not in self._territorial}
        if not wanted:
            return
        paths = {n.path[:COMMUNITY_PATH_LENGTH] for n in wanted.values()}
        communities = {
            c.path: c for c in OrgNode.objects.filter(path__in=sorted(paths), level=Level.COMMUNITY)
        }
        for node in wanted.values():
            if node.level == Level.COMMUNITY:
                self._community[node.pk] = node
            else:
                self._community[node.pk] = communities.get(node.path[:COMMUNITY_PATH_LENGTH])
        orgs: dict[int, PartyOrganization] = {}
        for org in PartyOrganization.objects.filter(
            node_id__in=sorted(wanted), category=OrgCategory.TERRITORIAL, closed_at__isnull=True
        ).order_by("-id"):
            orgs[org.node_id] = org  # the lowest id wins, as `.first()` would choose
        for pk in wanted:
            self._territorial[pk] = orgs.get(pk)

    def community(self, node: OrgNode) -> OrgNode | None:
        if node.pk not in self._community:
            self._community[node.pk] = community_of(node)
        return self._community[node.pk]

    def territorial(self, node: OrgNode) -> PartyOrganization | None:
        if node.pk not in self._territorial:
            self._territorial[node.pk] = node.party_orgs.filter(
                category=OrgCategory.TERRITORIAL, closed_at__isnull=True
            ).first()
        return self._territorial[node.pk]


_PlaceCache = PlaceCache  # the name other modules of this app used first


def check_member_links(
    node: OrgNode,
    values: dict[str, Any],
    *,
    current: PartyMember | None = None,
    places: PlaceCache | None = None,
) -> None:
    """Branch, organization and unit must be open and fit the member's place; fill defaults."""
    places = places or PlaceCache()
    errors: dict[str, list[str]] = {}
    branch: OrgNode | None = values.get("branch", current.branch if current else None)
    if branch is None and node.level == Level.GRID and "branch" not in values and current is None:
        branch = node
        values["branch"] = node
    community = places.community(node)
    if branch is not None:
        if branch.level != Level.GRID or branch.closed_at is not None:
            errors["branch"] = [_("活动所在党支部应为开放的网格。")]
        elif community is not None and not branch.path.startswith(community.path):
            errors["branch"] = [_("活动所在网格应在党员居住的社区内。")]
    organization: PartyOrganization | None = values.get(
        "organization", current.organization if current else None
    )
    org_name = values.get("organization_name", current.organization_name if current else "")
    if organization is not None and organization.closed_at is not None:
        errors["organization"] = [_("该党组织已撤销。")]
    if organization is None and not org_name and ("organization" in values or current is None):
        territorial = places.territorial(branch or node)
        if territorial is None:
            errors["organization"] = [_("请选择组织关系所在党组织。")]
        values["organization"] = territorial
    if organization is not None:
        values["organization_name"] = ""
    unit: ResidentUnit | None = values.get("unit", current.unit if current else None)
    if unit is not None and unit.closed_at is not None:
        errors["unit"] = [_("该单位已注销。")]
    category = values.get("category", current.category if current else "")
    unit_name = values.get("work_unit_name", current.work_unit_name if current else "")
    if category in UNIT_CATEGORIES and unit is None and not unit_name:
        errors["unit"] = [_("在职党员和新兴领域党员请填写工作单位。")]
    if errors:
        raise ValidationError(errors)


def _membership_values(cleaned: dict[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in cleaned.items() if k in MEMBER_FIELDS}
    for name in ("organization", "branch", "unit"):
        if name in data:
            values[name] = data[name]
    if values.get("dues_class") is None and "category" in values:
        values["dues_class"] = default_dues_class(values["category"])
    return values


def clean_member_row(
    data: Mapping[str, Any], *, today: dt.date | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(person values, membership values) of one row, all errors raised together. `today`: one
    date for a whole file (an import checks thousands of rows)."""
    person, member = _merge_errors(
        lambda: clean_person_data(data, today=today), lambda: clean_member_data(data, today=today)
    )
    return person, _membership_values(member, data)


def _member_snapshot(member: PartyMember) -> dict[str, Any]:
    return {
        "category": member.category,
        "management_mode": member.management_mode,
        "membership_type": member.membership_type,
        "status": member.status,
        "joined_on": _plain(member.joined_on),
        "organization": member.organization_label,
        "branch": str(member.branch) if member.branch_id else "",
    }


def member_create(*, actor: Any, node: OrgNode, data: Mapping[str, Any]) -> PartyMember:
    """Register a party member: a person (new, or an existing one by ID number) + membership.

    `data` holds person fields (name, gender, ethnicity, birth_date, id_number, phone, address),
    membership fields (category, joined_on, membership_type, full_on, status, organization_name,
    work_unit_name, dues_class, monthly_income) and resolved objects (organization, branch,
    unit). `transferred_from` (a name) records a transfer in from outside the installation.
    """
    _check_person_node(node)
    _require(actor, "people.add_member", node)
    person_values, member_values = clean_member_row(data)
    status = member_values.pop("status", MemberStatus.NORMAL) or MemberStatus.NORMAL
    check_member_links(node, member_values)
    transferred_from = (data.get("transferred_from") or "").strip()
    with transaction.atomic():
        person, created = _reuse_or_new_person(actor, node, person_values, taken="membership")
        member = PartyMember(person=person, status=status, **member_values)
        if status != MemberStatus.NORMAL:
            member.status_since = _today()
        try:
            with transaction.atomic():
                member.save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"id_number": [_("该人员已登记为党员。")]}) from None
        if transferred_from:
            MemberTransfer.objects.create(
                member=member,
                kind=TransferKind.IN,
                from_name=transferred_from[:120],
                to_organization=member.organization,
                to_name=member.organization_label,
                transferred_on=_today(),
                actor=actor if getattr(actor, "is_authenticated", False) else None,
            )
        audit(
            actor=actor,
            action="people.member.create",
            obj=member,
            changes={
                "person": person_snapshot(person),
                "new_person": created,
                **_member_snapshot(member),
            },
        )
    return member


def member_update(
    *, actor: Any, member: PartyMember, version: int, changes: Mapping[str, Any]
) -> PartyMember:
    """Change membership facts and/or the member's person details (one version: the member's).

    Status has its own service (`member_change_status`), the organization its own
    (`member_transfer`): both keep history.
    """
    _require(actor, "people.change_member", member)
    unknown = set(changes) - MEMBER_FIELDS - PERSON_FIELDS - {"node"}
    if unknown:
        raise TypeError(f"fields not editable here: {sorted(unknown)}")
    if "organization" in changes or "organization_name" in changes:
        raise TypeError("use member_transfer to change the organization")
    person_changes = {k: v for k, v in changes.items() if k in PERSON_FIELDS or k == "node"}
    member_changes = {k: v for k, v in changes.items() if k in MEMBER_FIELDS}
    if "node" in person_changes and actor is not None:
        _require(actor, "people.add_member", person_changes["node"])
    cleaned = clean_member_data(member_changes, partial=True)
    values = _membership_values(cleaned, member_changes)
    with transaction.atomic():
        locked = _locked(member)
        _check_version(locked, version)
        person = _locked(locked.person)
        person_diff = _apply_person_changes(person, person_changes)
        if values.get("membership_type", locked.membership_type) != locked.membership_type:
            # Becoming full has its own service with its date (member_make_full).
            raise ValidationError({"membership_type": [_("预备党员转正请使用“转正”。")]})
        check_member_links(person.node, values, current=locked)
        diff: dict[str, list[Any]] = {}
        for name, value in values.items():
            before = getattr(locked, name)
            if before != value:
                setattr(locked, name, value)
                diff[name] = [_plain(before), _plain(value)]
        if locked.full_on and locked.full_on < locked.joined_on:
            raise ValidationError({"full_on": [_("转正日期不能早于入党日期。")]})
        if person_diff:
            _save_person_diff(person, person_diff)
        if diff or person_diff:
            locked.person = person
            _bump(locked, diff)
            audit(
                actor=actor,
                action="people.member.update",
                obj=locked,
                changes={**diff, **{f"person.{k}": v for k, v in person_diff.items()}},
            )
    return locked


def member_make_full(*, actor: Any, member: PartyMember, version: int, on: dt.date) -> PartyMember:
    """A probationary member becomes a full member (转正) on `on`."""
    _require(actor, "people.change_member", member)
    with transaction.atomic():
        locked = _locked(member)
        _check_version(locked, version)
        if locked.membership_type != MembershipType.PROBATIONARY:
            raise ConflictError(_("该党员已是正式党员。"))
        if on < locked.joined_on or on > _today():
            raise ValidationError({"on": [_("转正日期应在入党日期之后、不晚于今天。")]})
        locked.membership_type = MembershipType.FULL
        locked.full_on = on
        _bump(locked, ["membership_type", "full_on"])
        audit(
            actor=actor,
            action="people.member.make_full",
            obj=locked,
            changes={"full_on": on.isoformat()},
        )
    return locked


# The allowed status moves (ARCHITECTURE.md 4). 出党 and 死亡 are final; 已转出 ends only with a
# transfer back in (member_transfer), never by editing the status.
STATUS_MOVES: dict[str, frozenset[str]] = {
    MemberStatus.NORMAL: frozenset(
        {MemberStatus.SUSPENDED, MemberStatus.EXPELLED, MemberStatus.DECEASED}
    ),
    MemberStatus.SUSPENDED: frozenset(
        {MemberStatus.NORMAL, MemberStatus.EXPELLED, MemberStatus.DECEASED}
    ),
    MemberStatus.EXPELLED: frozenset(),
    MemberStatus.DECEASED: frozenset(),
    MemberStatus.TRANSFERRED_OUT: frozenset({MemberStatus.DECEASED}),
}


def member_change_status(
    *,
    actor: Any,
    member: PartyMember,
    version: int,
    status: str,
    since: dt.date | None = None,
    note: str = "",
) -> PartyMember:
    """Move a member's standing (停止党籍 / 恢复 / 出党 / 死亡) along STATUS_MOVES, with a note."""
    _require(actor, "people.change_member_status", member)
    if status not in MemberStatus.values:
        raise ValidationError({"status": [_("党籍状态不正确。")]})
    since = since or _today()
    if since > _today():
        raise ValidationError({"since": [_("日期不能晚于今天。")]})
    note = (note or "").strip()
    if status != MemberStatus.NORMAL and not note:
        raise ValidationError({"note": [_("请填写状态变更的依据或说明。")]})
    with transaction.atomic():
        locked = _locked(member)
        _check_version(locked, version)
        if status not in STATUS_MOVES[locked.status]:
            raise ConflictError(
                _("党籍状态不能从“%(from)s”改为“%(to)s”。")
                % {"from": locked.get_status_display(), "to": MemberStatus(status).label}
            )
        before = locked.status
        locked.status = status
        locked.status_since = since
        locked.status_note = note[:200]
        _bump(locked, ["status", "status_since", "status_note"])
        audit(
            actor=actor,
            action="people.member.status",
            obj=locked,
            changes={"status": [before, status], "since": since.isoformat(), "note": note},
        )
    return locked


def _actor_districts(actor: Any) -> set[str]:
    return {g.path[:5] for g in grants(actor) if g.role in MANAGING_ROLES}


def member_transfer(
    *,
    actor: Any,
    member: PartyMember,
    version: int,
    on: dt.date,
    to_organization: PartyOrganization | None = None,
    to_name: str = "",
    letter_no: str = "",
    note: str = "",
) -> MemberTransfer:
    """Move a member's organization relation (组织关系转接) and record it.

    - to an organization of this installation: inside (or, for a member who had left, back in);
      when it sits at another community or grid, the member's place moves there too, so the
      receiving side manages them from now on;
    - to a name only: out of the installation. The member row stays, status 已转出, and the
      sending community keeps seeing it: a member never disappears from the record.
    """
    _require(actor, "people.transfer_member", member)
    to_name = (to_name or "").strip()
    errors: dict[str, list[str]] = {}
    if to_organization is None and not to_name:
        errors["to_organization"] = [_("请选择转入的党组织，或填写系统外党组织名称。")]
    if to_organization is not None and (
        to_organization.closed_at is not None or to_organization.node.closed_at is not None
    ):
        errors["to_organization"] = [_("该党组织已撤销。")]
    if (
        to_organization is not None
        and actor is not None
        and to_organization.node.path[:5] not in _actor_districts(actor)
    ):
        errors["to_organization"] = [_("只能转入本区的党组织；转往区外请填写党组织名称。")]
    if on > _today():
        errors["on"] = [_("转接日期不能晚于今天。")]
    if len(to_name) > 120:
        errors["to_name"] = [_("不能超过 %(n)d 个字符。") % {"n": 120}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _locked(member)
        _check_version(locked, version)
        if locked.status in (MemberStatus.EXPELLED, MemberStatus.DECEASED):
            raise ConflictError(
                _("该党员状态为“%(s)s”，不能转接组织关系。") % {"s": locked.get_status_display()}
            )
        if to_organization is not None and to_organization.pk == locked.organization_id:
            raise ValidationError({"to_organization": [_("已在该党组织。")]})
        from_org = locked.organization
        from_name = locked.organization_label
        fields = ["organization", "organization_name"]
        if to_organization is not None:
            kind = (
                TransferKind.IN
                if locked.status == MemberStatus.TRANSFERRED_OUT
                else TransferKind.INTERNAL
            )
            locked.organization = to_organization
            locked.organization_name = ""
            if kind == TransferKind.IN:
                locked.status = MemberStatus.NORMAL
                locked.status_since = on
                fields += ["status", "status_since"]
            target = to_organization.node
            person = locked.person
            if target.level in PERSON_LEVELS and not person.node.path.startswith(target.path):
                person = _locked(person)
                person.node = target
                _bump(person, ["node"])
                locked.branch = target if target.level == Level.GRID else None
                fields.append("branch")
        else:
            kind = TransferKind.OUT
            locked.organization = None
            locked.organization_name = to_name
            locked.status = MemberStatus.TRANSFERRED_OUT
            locked.status_since = on
            fields += ["status", "status_since"]
        _bump(locked, fields)
        record = MemberTransfer.objects.create(
            member=locked,
            kind=kind,
            from_organization=from_org,
            from_name=from_name,
            to_organization=to_organization,
            to_name=to_organization.name if to_organization else to_name,
            transferred_on=on,
            letter_no=(letter_no or "").strip()[:40],
            note=(note or "").strip()[:200],
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit(
            actor=actor,
            action="people.member.transfer",
            obj=locked,
            changes={"kind": kind, "from": from_name, "to": record.to_name, "on": on.isoformat()},
        )
    return record


def floating_record_add(
    *,
    actor: Any,
    member: PartyMember,
    direction: str,
    place: str,
    since: dt.date,
    org_name: str = "",
    reason: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    note: str = "",
) -> FloatingRecord:
    """Record a floating member's out-flow or in-flow (where, since when, whom to contact)."""
    _require(actor, "people.manage_floating", member)
    errors: dict[str, list[str]] = {}
    if direction not in FloatDirection.values:
        errors["direction"] = [_("请选择流出或流入。")]
    place = (place or "").strip()
    if not place:
        errors["place"] = [_("请填写流入/流出地。")]
    if since > _today():
        errors["since"] = [_("起始日期不能晚于今天。")]
    phone = ""
    if (contact_phone or "").strip():
        try:
            phone = clean_phone(contact_phone)
        except ValidationError as exc:
            errors["contact_phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if member.floating.filter(until__isnull=True, direction=direction).exists():
            raise ConflictError(_("该党员已有未结束的同向流动记录，请先结束。"))
        record = FloatingRecord(
            member=member,
            direction=direction,
            place=place[:120],
            org_name=(org_name or "").strip()[:120],
            reason=(reason or "").strip()[:60],
            since=since,
            contact_name=(contact_name or "").strip()[:50],
            note=(note or "").strip()[:200],
        )
        record.contact_phone = phone
        record.save(force_insert=True)
        audit(
            actor=actor,
            action="people.member.floating",
            obj=member,
            changes={
                "direction": direction,
                "place": record.place,
                "since": since.isoformat(),
                "contact_phone": record.contact_phone_masked,
            },
        )
    return record


def floating_record_end(*, actor: Any, record: FloatingRecord, until: dt.date) -> FloatingRecord:
    _require(actor, "people.manage_floating", record.member)
    if until < record.since or until > _today():
        raise ValidationError({"until": [_("结束日期应在起始日期之后、不晚于今天。")]})
    with transaction.atomic():
        locked = _locked(record)
        if locked.until is not None:
            raise ConflictError(_("该流动记录已结束。"))
        locked.until = until
        locked.save(update_fields=["until"])
        audit(
            actor=actor,
            action="people.member.floating_end",
            obj=record.member,
            changes={"record": locked.pk, "until": until.isoformat()},
        )
    return locked


def _check_nodes_allowed(actor: Any, perm: str, nodes: Iterable[OrgNode]) -> None:
    for node in {n.pk: n for n in nodes}.values():
        _check_person_node(node)
        _require(actor, perm, node)


# --- bulk creation: what an Excel import commits ------------------------------------------------
#
# The bulk services take rows an importer has already cleaned (people/validation.py, foreign keys
# resolved) and re-check what must hold at write time: permission per distinct node, ID numbers
# unique within the rows and against the database, the places' rules. Then they seal every ID
# number and phone in one tight loop, insert in batches (persons first: their ids come back from
# the INSERT … RETURNING on PostgreSQL and SQLite), and write one audit record. No per-row query:
# look-ups are per distinct node, or one `IN (...)` query per 500 ID numbers.

BULK_BATCH = 1000
# Most bind parameters one statement may carry: SQLite's default limit since 3.32 is 32,766
# (Django still assumes the 999 of old builds), PostgreSQL's protocol allows 65,535.
_MAX_PARAMS = {"sqlite": 32_766, "postgresql": 65_535}
# Column types whose Python values the database drivers take as they are.
_PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DecimalField",
        "ForeignKey",
        "IntegerField",
        "OneToOneField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


def _db_value(field: models.Field) -> Any:
    """How one field's Python value becomes the driver's (None: as it is)."""
    internal = field.get_internal_type()
    if internal in _PLAIN_TYPES:
        return None
    if internal == "DateField":
        return connection.ops.adapt_datefield_value
    if internal == "DateTimeField":
        return connection.ops.adapt_datetimefield_value
    return lambda value: field.get_db_prep_save(value, connection)


def bulk_insert(model: type[M], objects: Sequence[M], *, batch_size: int = BULK_BATCH) -> None:
    """INSERT new `objects` in batches and set their primary keys from `RETURNING`.

    What `QuerySet.bulk_create` does for these models (whose fields need no `pre_save` beyond
    `auto_now`/`auto_now_add`), at a fraction of its cost: bulk_create prepares every value
    through the field API and, on SQLite, sends at most 999 parameters per statement (52
    persons); a 50,000-member import spent most of its commit there. Here each column's
    conversion is chosen once and the time stamps are one value. SQLite gets multi-row VALUES
    (`batch_size` rows a statement); PostgreSQL gets one array per column through `unnest`, so a
    statement has as many parameters as the table has columns (psycopg parses a query's
    placeholders in Python: 18,000 of them cost more than the insert). No signals are sent
    (bulk_create sends none either). Rows come back in the order they were given, as
    bulk_create also relies on.
    """
    if not objects:
        return
    opts = model._meta
    pk = opts.pk
    fields = [f for f in opts.concrete_fields if f is not pk]
    now = timezone.now()
    stamped = {
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    }
    for obj in objects:
        for name in stamped:
            setattr(obj, name, now)
    converters = {f.attname: _db_value(f) for f in fields}
    # The time stamps are one value: converted once, not once per row.
    constants = {name: converters[name](now) if converters[name] else now for name in stamped}
    quote = connection.ops.quote_name
    # Identifiers come from the model's metadata, quoted; every value is a bound parameter.
    names = ", ".join(quote(f.column) for f in fields)
    head = f"INSERT INTO {quote(opts.db_table)} ({names}) "
    tail = f" RETURNING {quote(pk.column)}"
    postgres = connection.vendor == "postgresql"
    if postgres:
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        sql = f"{head}SELECT * FROM unnest({arrays}){tail}"  # noqa: S608
        size = max(1, batch_size * 10)  # a statement's size no longer depends on its rows
    else:
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        size = max(1, min(batch_size, _MAX_PARAMS.get(connection.vendor, 999) // len(fields)))
    statements: dict[int, str] = {}
    alias = connection.alias
    with connection.cursor() as cursor:
        for start in range(0, len(objects), size):
            batch = objects[start : start + size]
            rows = [obj.__dict__ for obj in batch]
            params: list[Any]
            if postgres:
                params = []
                for f in fields:
                    name = f.attname
                    if name in constants:
                        params.append([constants[name]] * len(rows))
                        continue
                    convert = converters[name]
                    column = [values[name] for values in rows]
                    params.append(column if convert is None else [convert(v) for v in column])
            else:
                params = []
                for values in rows:
                    params.extend(
                        constants[name]
                        if name in constants
                        else values[name]
                        if converters[name] is None
                        else converters[name](values[name])
                        for name in converters
                    )
                sql = statements.get(len(batch))
                if sql is None:
                    sql = statements[len(batch)] = (
                        f"{head}VALUES " + ", ".join([one] * len(batch)) + tail
                    )
            cursor.execute(sql, params)
            for obj, (new_pk,) in zip(batch, cursor.fetchall(), strict=True):
                obj.pk = new_pk
                obj._state.adding = False
                obj._state.db = alias


@dataclass
class _PersonMatch:
    """A row's person: new (sealed, unsaved) or an existing one found by ID number."""

    person: Person
    existing: bool


class _Positional:
    """Unsaved instances of `model` for a bulk insert, built from their attribute values.

    `Model.__init__` costs more than everything else about a row of a bulk import (it walks
    every field through its descriptor); these models have no pre_init/post_init listeners, so
    an instance is made as unpickling makes one: a new object, its state, its attributes. (With
    a listener, the ordinary constructor is used.) Takes field names — a relation as its object,
    cached on the instance as an assignment would — and leaves defaults to the model.
    """

    def __init__(self, model: type[models.Model]) -> None:
        fields = model._meta.concrete_fields
        self.model = model
        self.relations = {f.name: f for f in fields if f.is_relation}
        self.defaults = {
            f.attname: None if f.primary_key else f.get_default()
            for f in fields
            if not callable(f.default)
        }
        self.dynamic = [f for f in fields if callable(f.default)]
        self.plain = not (
            signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)
        )

    def __call__(self, values: Mapping[str, Any]) -> Any:
        data = self.defaults.copy()
        for f in self.dynamic:
            data[f.attname] = f.get_default()
        related = []
        for name, value in values.items():
            relation = self.relations.get(name)
            if relation is None:
                data[name] = value
                continue
            data[relation.attname] = None if value is None else value.pk
            if value is not None:
                related.append((relation, value))
        if self.plain:
            obj = self.model.__new__(self.model)
            obj._state = ModelState()
            obj.__dict__.update(data)
        else:
            obj = self.model(**data)
        for relation, value in related:
            relation.set_cached_value(obj, value)
        return obj


class _PersonBuilder:
    """Unsaved persons from cleaned rows, protected values sealed with the keyring looked up
    once (the same three columns `SealedField.__set__` writes)."""

    def __init__(self) -> None:
        self.build = _Positional(Person)
        self.ring = keyring()
        self.sealed = [
            (field, field.cipher_attr, field.index_attr, field.masked_attr)
            for field in (Person.id_number, Person.phone)
        ]

    def __call__(self, node: OrgNode, data: Mapping[str, Any]) -> Person:
        values: dict[str, Any] = {
            "node": node,
            "name": data["name"],
            "gender": data.get("gender") or "",
            "ethnicity": data.get("ethnicity") or "汉族",
            "birth_date": data.get("birth_date"),
            "address": data.get("address") or "",
            "note": data.get("note") or "",
        }
        for field, cipher, index, masked in self.sealed:
            sealed = field.seal(data.get(field.name) or "", self.ring)
            values[cipher] = sealed.cipher
            values[index] = sealed.index
            values[masked] = sealed.masked
        return self.build(values)


def _match_persons(
    actor: Any,
    rows: Sequence[Mapping[str, Any]],
    nodes: Sequence[OrgNode],
    *,
    taken: str,
    taken_message: str,
) -> list[_PersonMatch]:
    """Each row's person, as `member_create` / `resident_create` decide it one at a time: an ID
    number already registered reuses that person when the actor sees them and the role
    (`taken`) is still free; refused otherwise. Raises one ValidationError naming every row."""
    build = _PersonBuilder()
    persons = [build(node, row) for row, node in zip(rows, nodes, strict=True)]
    problems: dict[int, str] = {}
    first_row: dict[str, int] = {}
    for number, person in enumerate(persons, start=1):
        index = person.id_number_index
        if not index:
            continue
        if index in first_row:
            problems[number] = _("身份证号与第 %(row)d 行重复。") % {"row": first_row[index]}
        else:
            first_row[index] = number
    registered = registered_indexes(list(first_row))
    existing = {
        found.id_number_index: found
        for found in Person.objects.filter(id_number_index__in=sorted(registered)).select_related(
            "node", "membership", "resident"
        )
    }
    matches = [_PersonMatch(person, False) for person in persons]
    for index, found in existing.items():
        number = first_row[index]
        if not _visible_to(actor, found):
            # No more than "exists": another community's record is not this user's business.
            problems[number] = _("该身份证号已在其他社区登记，请联系其所在社区。")
        elif getattr(found, taken, None) is not None:
            problems[number] = taken_message
        else:
            matches[number - 1] = _PersonMatch(found, True)
    if problems:
        raise ValidationError(
            {"id_number": [f"第 {n} 行：{msg}" for n, msg in sorted(problems.items())]}
        )
    return matches


def _save_persons(matches: Sequence[_PersonMatch], batch_size: int) -> None:
    """INSERT the new persons in batches (their ids come back on PostgreSQL and SQLite)."""
    new = [m.person for m in matches if not m.existing]
    try:
        with transaction.atomic():
            bulk_insert(Person, new, batch_size=batch_size)
    except IntegrityError:
        # Checked a moment ago: someone registered one of these ID numbers meanwhile.
        raise ValidationError({"id_number": [_("有身份证号刚刚已被登记，请重新导入。")]}) from None


def members_bulk_create(
    *, actor: Any, rows: Sequence[Mapping[str, Any]], batch_size: int = BULK_BATCH
) -> list[PartyMember]:
    """Create many members from rows cleaned by `clean_member_row` + resolved foreign keys.

    Each row: the person and membership values plus `node` (and optionally organization,
    branch, unit). A registered person with the same ID number becomes the member when the actor
    sees them and they are not a member yet (as `member_create` does); their details are left as
    registered. All or nothing: any duplicate ID number (within the rows, a member already, or a
    person of another community) or link problem raises ValidationError naming the rows
    (1-based), before anything is written.
    """
    if not rows:
        return []
    nodes = [row["node"] for row in rows]
    _check_nodes_allowed(actor, "people.add_member", nodes)
    places = PlaceCache()
    places.preload([*nodes, *(row["branch"] for row in rows if row.get("branch") is not None)])
    members: list[PartyMember] = []
    errors: dict[str, list[str]] = {}
    build = _Positional(PartyMember)
    for number, row in enumerate(rows, start=1):
        values = _membership_values({k: row[k] for k in MEMBER_FIELDS if k in row}, row)
        try:
            check_member_links(row["node"], values, places=places)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(f"第 {number} 行：{m}" for m in messages)
            continue
        values["membership_type"] = values.get("membership_type") or MembershipType.FULL
        values["status"] = row.get("status") or MemberStatus.NORMAL
        members.append(build(values))
    if errors:
        raise ValidationError(errors)
    matches = _match_persons(
        actor, rows, nodes, taken="membership", taken_message=_("该人员已登记为党员。")
    )
    with transaction.atomic():
        _save_persons(matches, batch_size)
        for match, member in zip(matches, members, strict=True):
            member.person_id = match.person.pk
            PartyMember.person.field.set_cached_value(member, match.person)
        try:
            with transaction.atomic():
                bulk_insert(PartyMember, members, batch_size=batch_size)
        except IntegrityError:
            raise ValidationError(
                {"id_number": [_("有人员刚刚已被登记为党员，请重新导入。")]}
            ) from None
        node_names = sorted({str(node) for node in {n.pk: n for n in nodes}.values()})
        audit(
            actor=actor,
            action="people.member.bulk_create",
            object_type="people.partymember",
            changes={
                "count": len(members),
                "existing_persons": sum(1 for m in matches if m.existing),
                "nodes": node_names,
                "first_id": members[0].pk,
                "last_id": members[-1].pk,
            },
        )
    return members


# ---------------------------------------------------------------------------------------------
# in-service reporting (在职党员到社区报到)


def service_post_create(
    *, actor: Any, community: OrgNode, name: str, description: str = ""
) -> ServicePost:
    if community.level != Level.COMMUNITY:
        raise ValidationError({"community": [_("服务岗位由社区设置。")]})
    _require(actor, "people.add_service_post", community)
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationError({"name": [_("请填写岗位名称（不超过 60 字）。")]})
    if ServicePost.objects.filter(community=community, name=name).exists():
        raise ValidationError({"name": [_("已有同名岗位。")]})
    with transaction.atomic():
        post = ServicePost.objects.create(
            community=community, name=name, description=(description or "").strip()[:200]
        )
        audit(actor=actor, action="people.service_post.create", obj=post, changes={"name": name})
    return post


def _check_posts(community: OrgNode, posts: Iterable[ServicePost]) -> list[ServicePost]:
    posts = list(posts)
    if any(p.community_id != community.pk or not p.active for p in posts):
        raise ValidationError({"posts": [_("只能认领报到社区设置的岗位。")]})
    return posts


def registration_create(
    *,
    actor: Any,
    member: PartyMember,
    registered_on: dt.date | None = None,
    community: OrgNode | None = None,
    unit: ResidentUnit | None = None,
    unit_name: str = "",
    posts: Iterable[ServicePost] = (),
) -> Registration:
    """An in-service member reports to their residence community (报到) and picks posts."""
    _require(actor, "people.register_service", member)
    registered_on = registered_on or _today()
    errors: dict[str, list[str]] = {}
    if member.category not in UNIT_CATEGORIES:
        errors["member"] = [_("到社区报到的是在职党员（含新兴领域党员）。")]
    if member.status not in ACTIVE_STATUSES:
        errors["member"] = [_("该党员党籍状态不是“正常”。")]
    residence = community_of(member.person.node)
    community = community or residence
    if community is None or community.level != Level.COMMUNITY or community.closed_at:
        errors["community"] = [_("请选择报到社区。")]
    elif residence is not None and community.pk != residence.pk:
        errors["community"] = [_("在职党员到居住地社区报到。")]
    if registered_on > _today():
        errors["registered_on"] = [_("报到日期不能晚于今天。")]
    if errors:
        raise ValidationError(errors)
    posts = _check_posts(community, posts)
    unit = unit or member.unit
    with transaction.atomic():
        if Registration.objects.filter(member=member, ended_on__isnull=True).exists():
            raise ConflictError(_("该党员已在社区报到。"))
        registration = Registration.objects.create(
            member=member,
            community=community,
            unit=unit,
            unit_name=(unit_name or (member.work_unit_name if unit is None else ""))[:120],
            registered_on=registered_on,
        )
        registration.posts.set(posts)
        audit(
            actor=actor,
            action="people.registration.create",
            obj=registration,
            changes={
                "community": str(community),
                "unit": registration.unit_label,
                "posts": [p.name for p in posts],
            },
        )
    return registration


def registration_set_posts(
    *, actor: Any, registration: Registration, version: int, posts: Iterable[ServicePost]
) -> Registration:
    if not (
        actor is None
        or can(actor, "people.record_service", registration)
        or can(actor, "people.register_service", registration.member)
    ):
        _require(actor, "people.record_service", registration)
    posts = _check_posts(registration.community, posts)
    with transaction.atomic():
        locked = _locked(registration)
        _check_version(locked, version)
        locked.posts.set(posts)
        _bump(locked, [])
        audit(
            actor=actor,
            action="people.registration.posts",
            obj=locked,
            changes={"posts": [p.name for p in posts]},
        )
    return locked


def registration_end(
    *, actor: Any, registration: Registration, version: int, on: dt.date
) -> Registration:
    _require(actor, "people.record_service", registration)
    if on < registration.registered_on or on > _today():
        raise ValidationError({"on": [_("结束日期应在报到日期之后、不晚于今天。")]})
    with transaction.atomic():
        locked = _locked(registration)
        _check_version(locked, version)
        if locked.ended_on is not None:
            raise ConflictError(_("该报到已结束。"))
        locked.ended_on = on
        _bump(locked, ["ended_on"])
        audit(actor=actor, action="people.registration.end", obj=locked, changes={"on": str(on)})
    return locked


def service_record_add(
    *,
    actor: Any,
    registration: Registration,
    served_on: dt.date,
    hours: Decimal | str | float,
    description: str,
    post: ServicePost | None = None,
) -> ServiceRecord:
    """Log an in-service member's service: date, hours (0.5–24), what was done."""
    _require(actor, "people.record_service", registration)
    errors: dict[str, list[str]] = {}
    try:
        hours = Decimal(str(hours)).quantize(Decimal("0.1"))
    except ArithmeticError:
        errors["hours"] = [_("请输入服务时长（小时）。")]
    else:
        if not Decimal("0") < hours <= Decimal("24"):
            errors["hours"] = [_("服务时长应在 0 到 24 小时之间。")]
    if served_on > _today() or served_on < registration.registered_on:
        errors["served_on"] = [_("服务日期应在报到之后、不晚于今天。")]
    description = (description or "").strip()
    if not description:
        errors["description"] = [_("请填写服务内容。")]
    if post is not None and post.community_id != registration.community_id:
        errors["post"] = [_("只能选择报到社区的岗位。")]
    if registration.ended_on is not None:
        errors["registration"] = [_("该报到已结束。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        record = ServiceRecord.objects.create(
            registration=registration,
            post=post,
            served_on=served_on,
            hours=hours,
            description=description[:200],
            recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit(
            actor=actor,
            action="people.registration.service",
            obj=registration,
            changes={"served_on": served_on.isoformat(), "hours": str(hours)},
        )
    return record


def unit_liaisons(unit: ResidentUnit | None) -> list[User]:
    if unit is None:
        return []
    return list(
        User.objects.filter(
            is_active=True,
            assignments__role=Role.UNIT_LIAISON,
            assignments__unit=unit,
        ).distinct()
    )


def registration_rate(
    *, actor: Any, registration: Registration, year: int, rating: str, comment: str = ""
) -> YearRating:
    """The community's year-end rating (优秀/合格/基本合格/不合格), sent back to the unit's
    liaisons through the notification inbox (双向约束)."""
    _require(actor, "people.rate_service", registration)
    errors: dict[str, list[str]] = {}
    if rating not in Rating.values:
        errors["rating"] = [_("评价等次应为优秀、合格、基本合格或不合格。")]
    if not registration.registered_on.year <= year <= _today().year:
        errors["year"] = [_("年度应在报到之后、不晚于今年。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if YearRating.objects.filter(registration=registration, year=year).exists():
            raise ConflictError(_("该年度已评价。"))
        liaisons = unit_liaisons(registration.unit)
        record = YearRating.objects.create(
            registration=registration,
            year=year,
            rating=rating,
            comment=(comment or "").strip()[:300],
            rated_by=actor if getattr(actor, "is_authenticated", False) else None,
            notified_liaisons=len(liaisons),
        )
        person = registration.member.person
        notify(
            recipients=liaisons,
            title=_("在职党员%(year)d年度社区评价：%(name)s %(rating)s")
            % {"year": year, "name": person.name, "rating": record.get_rating_display()},
            body=_(
                "%(name)s 在%(community)s报到服务，%(year)d年度社区评价为“%(rating)s”。%(comment)s"
            )
            % {
                "name": person.name,
                "community": registration.community.name,
                "year": year,
                "rating": record.get_rating_display(),
                "comment": record.comment,
            },
            category="people.rating",
        )
        audit(
            actor=actor,
            action="people.registration.rate",
            obj=registration,
            changes={"year": year, "rating": rating, "notified": len(liaisons)},
        )
    return record


# ---------------------------------------------------------------------------------------------
# party dues


@dataclass(frozen=True)
class DuesStandard:
    dues_class: str
    income: Decimal | None
    rate: Decimal | None
    amount: Decimal


# SPEC §2 and 中共中央组织部《关于中国共产党党费收缴、使用和管理的规定》(2008): the base is the
# monthly after-tax salary ("每月工资收入（税后）"), and each bracket includes its upper bound
# ("3000元以下（含3000元）… 3000元以上至5000元（含5000元）…"): 3,000.00 pays 0.5%, 3,000.01 pays
# 1%. The rate applies to the whole income, not by slices.
SALARIED_BRACKETS: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("3000"), Decimal("0.005")),
    (Decimal("5000"), Decimal("0.01")),
    (Decimal("10000"), Decimal("0.015")),
    (None, Decimal("0.02")),
)
# Retired members: on the pension actually received, 5,000 and below (inclusive) 0.5%, above 1%.
RETIRED_BRACKETS: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("5000"), Decimal("0.005")),
    (None, Decimal("0.01")),
)
# Students, laid-off members and members on the minimum living allowance: 0.2 yuan a month.
FIXED_DUES = Decimal("0.20")


def _rate_for(income: Decimal, brackets: tuple[tuple[Decimal | None, Decimal], ...]) -> Decimal:
    for ceiling, rate in brackets:
        if ceiling is None or income <= ceiling:
            return rate
    raise AssertionError("the last bracket has no ceiling")


def dues_standard(*, dues_class: str, income: Decimal | None) -> DuesStandard:
    """The monthly dues standard for a declared income (Decimal, rounded half up to the cent)."""
    if dues_class in FIXED_DUES_CLASSES:
        return DuesStandard(dues_class, income, None, FIXED_DUES)
    if dues_class not in (DuesClass.SALARIED, DuesClass.RETIRED):
        raise ValidationError({"dues_class": [_("党费计算类别不正确。")]})
    if income is None:
        raise ValidationError({"monthly_income": [_("请先申报月收入（税后）。")]})
    income = clean_income(income)
    brackets = SALARIED_BRACKETS if dues_class == DuesClass.SALARIED else RETIRED_BRACKETS
    rate = _rate_for(income, brackets)
    return DuesStandard(dues_class, income, rate, money(income * rate))


@dataclass
class GenerateResult:
    created: int
    already: int
    missing_income: list[PartyMember]


def dues_generate(*, actor: Any, month: dt.date, node: OrgNode) -> GenerateResult:
    """Open one month's ledger rows for the members in good standing under `node`.

    Members who joined after the month are skipped; members whose standard needs an income they
    have not declared are listed back (their row is opened once they declare it).
    """
    from tongxin.people.selectors import visible_members

    _require(actor, "people.generate_dues", node)
    month = month.replace(day=1)
    if month > _today().replace(day=1):
        raise ValidationError({"month": [_("不能生成未来月份的党费。")]})
    members = PartyMember.objects.filter(
        status=MemberStatus.NORMAL,
        person__node__path__startswith=node.path,
        joined_on__lt=(month + dt.timedelta(days=32)).replace(day=1),
    )
    if actor is not None:
        members = members.filter(pk__in=visible_members(actor).values("pk"))
    existing = set(DuesLedger.objects.filter(month=month).values_list("member_id", flat=True))
    rows: list[DuesLedger] = []
    missing: list[PartyMember] = []
    already = 0
    for member in members.select_related("person").order_by("pk"):
        if member.pk in existing:
            already += 1
            continue
        try:
            standard = dues_standard(dues_class=member.dues_class, income=member.monthly_income)
        except ValidationError:
            missing.append(member)
            continue
        rows.append(
            DuesLedger(
                member=member,
                month=month,
                branch_id=member.branch_id,
                dues_class=standard.dues_class,
                income=standard.income,
                rate=standard.rate,
                standard=standard.amount,
                amount=standard.amount,
            )
        )
    with transaction.atomic():
        DuesLedger.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        audit(
            actor=actor,
            action="people.dues.generate",
            obj=node,
            changes={
                "month": month.isoformat()[:7],
                "created": len(rows),
                "already": already,
                "missing_income": len(missing),
            },
        )
    return GenerateResult(len(rows), already, missing)


def dues_override(
    *, actor: Any, ledger: DuesLedger, version: int, amount: Decimal | str, reason: str
) -> DuesLedger:
    """Set a month's amount due away from the standard; the reason is required and kept."""
    _require(actor, "people.override_dues", ledger)
    reason = _reason(reason)
    try:
        amount = money(amount)
    except ArithmeticError:
        raise ValidationError({"amount": [_("请输入金额。")]}) from None
    if amount < 0:
        raise ValidationError({"amount": [_("金额不能为负数。")]})
    with transaction.atomic():
        locked = _locked(ledger)
        _check_version(locked, version)
        if amount < locked.paid:
            raise ValidationError({"amount": [_("应交金额不能少于已交金额。")]})
        before = locked.amount
        locked.amount = amount
        locked.override_reason = reason
        # A month whose amount falls to what was already paid (or to zero) is settled now.
        locked.paid_on = (locked.paid_on or _today()) if locked.paid >= amount else None
        _bump(locked, ["amount", "override_reason", "paid_on"])
        audit(
            actor=actor,
            action="people.dues.override",
            obj=locked,
            changes={
                "amount": [str(before), str(amount)],
                "standard": str(locked.standard),
                "reason": reason,
            },
        )
    return locked


def dues_pay(
    *,
    actor: Any,
    ledger: DuesLedger,
    amount: Decimal | str | None = None,
    paid_on: dt.date | None = None,
    method: str = PaymentMethod.CASH,
    on_behalf: bool = False,
    note: str = "",
) -> DuesPayment:
    """Record a payment against one month (default: everything outstanding).

    `on_behalf`: a grid manager collected it from the member (代收党费, seed 004); the
    collector is recorded. Overpaying a month is refused.
    """
    _require(actor, "people.collect_dues", ledger)
    if on_behalf:
        _require(actor, "people.collect_dues_on_behalf", ledger)
    paid_on = paid_on or _today()
    errors: dict[str, list[str]] = {}
    if paid_on > _today():
        errors["paid_on"] = [_("交纳日期不能晚于今天。")]
    if method not in PaymentMethod.values:
        errors["method"] = [_("交纳方式不正确。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _locked(ledger)
        outstanding = locked.amount - locked.paid
        if outstanding <= 0:
            raise ConflictError(_("该月党费已交清。"))
        try:
            value = outstanding if amount in (None, "") else money(amount)
        except ArithmeticError:
            raise ValidationError({"amount": [_("请输入金额。")]}) from None
        if value <= 0:
            raise ValidationError({"amount": [_("金额应大于零。")]})
        if value > outstanding:
            raise ValidationError(
                {"amount": [_("超过应交未交金额 %(n)s 元。") % {"n": outstanding}]}
            )
        by = actor if getattr(actor, "is_authenticated", False) else None
        payment = DuesPayment.objects.create(
            ledger=locked,
            amount=value,
            paid_on=paid_on,
            method=method,
            collected_by=by if on_behalf else None,
            recorded_by=by,
            note=(note or "").strip()[:200],
        )
        locked.paid += value
        if locked.paid >= locked.amount:
            locked.paid_on = paid_on
        _bump(locked, ["paid", "paid_on"])
        audit(
            actor=actor,
            action="people.dues.pay",
            obj=locked,
            changes={
                "amount": str(value),
                "paid_on": paid_on.isoformat(),
                "method": method,
                "on_behalf": on_behalf,
            },
        )
    return payment


def dues_settle(
    *,
    actor: Any,
    member: PartyMember,
    paid_on: dt.date | None = None,
    method: str = PaymentMethod.CASH,
    on_behalf: bool = False,
) -> list[DuesPayment]:
    """Pay every outstanding month up to this one (e.g. a grid manager's visit to an elder)."""
    current = _today().replace(day=1)
    payments = []
    with transaction.atomic():
        for ledger in member.dues.filter(paid__lt=models.F("amount"), month__lte=current).order_by(
            "month"
        ):
            payments.append(
                dues_pay(
                    actor=actor,
                    ledger=ledger,
                    paid_on=paid_on,
                    method=method,
                    on_behalf=on_behalf,
                )
            )
    if not payments:
        raise ConflictError(_("没有欠交的党费。"))
    return payments


# ---------------------------------------------------------------------------------------------
# buildings, households, residents


def _clean_text_fields(
    data: Mapping[str, Any], limits: Mapping[str, int], required: Iterable[str] = ()
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, limit in limits.items():
        if name not in data:
            continue
        value = data[name]
        value = value.strip() if isinstance(value, str) else ("" if value is None else str(value))
        if len(value) > limit:
            errors[name] = [_("不能超过 %(n)d 个字符。") % {"n": limit}]
        out[name] = value
    for name in required:
        if not out.get(name):
            errors[name] = [_("此项为必填项。")]
    if errors:
        raise ValidationError(errors)
    return out


def _grid(node: OrgNode | None, field: str = "node") -> OrgNode:
    if node is None or node.level != Level.GRID or node.closed_at is not None:
        raise ValidationError({field: [_("请选择开放的网格。")]})
    return node


BUILDING_LIMITS = {"name": 60, "address": 200, "note": 200}


def _small_int(data: Mapping[str, Any], name: str, errors: dict, maximum: int = 200) -> int | None:
    if name not in data or data[name] in (None, ""):
        return None
    try:
        value = int(data[name])
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value <= maximum:
        errors[name] = [_("请输入 0 到 %(n)d 之间的整数。") % {"n": maximum}]
        return None
    return value


def building_create(*, actor: Any, node: OrgNode, data: Mapping[str, Any]) -> Building:
    _grid(node)
    _require(actor, "people.add_building", node)
    values = _clean_text_fields(data, BUILDING_LIMITS, required=["name"])
    errors: dict[str, list[str]] = {}
    floors = _small_int(data, "floors", errors)
    entrances = _small_int(data, "entrances", errors, 50)
    if errors:
        raise ValidationError(errors)
    if Building.objects.filter(node=node, name=values["name"]).exists():
        raise ValidationError({"name": [_("该网格已有同名楼栋。")]})
    with transaction.atomic():
        building = Building.objects.create(
            node=node, floors=floors or 0, entrances=entrances or 1, **values
        )
        audit(actor=actor, action="people.building.create", obj=building, changes=values)
    return building


def building_update(
    *, actor: Any, building: Building, version: int, changes: Mapping[str, Any]
) -> Building:
    _require(actor, "people.change_building", building)
    values = _clean_text_fields(changes, BUILDING_LIMITS)
    if "name" in values and not values["name"]:
        raise ValidationError({"name": [_("此项为必填项。")]})
    errors: dict[str, list[str]] = {}
    for name, maximum in (("floors", 200), ("entrances", 50)):
        value = _small_int(changes, name, errors, maximum)
        if value is not None:
            values[name] = value
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _locked(building)
        _check_version(locked, version)
        if (
            "name" in values
            and Building.objects.filter(node=locked.node, name=values["name"])
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise ValidationError({"name": [_("该网格已有同名楼栋。")]})
        diff = {}
        for name, value in values.items():
            if getattr(locked, name) != value:
                diff[name] = [getattr(locked, name), value]
                setattr(locked, name, value)
        if diff:
            _bump(locked, diff)
            audit(actor=actor, action="people.building.update", obj=locked, changes=diff)
    return locked


HOUSEHOLD_LIMITS = {"door": 40, "address": 200, "note": 200}


def _household_values(
    data: Mapping[str, Any], node: OrgNode, *, partial: bool = False
) -> dict[str, Any]:
    values = _clean_text_fields(data, HOUSEHOLD_LIMITS, required=[] if partial else ["door"])
    if partial and "door" in values and not values["door"]:
        raise ValidationError({"door": [_("此项为必填项。")]})
    if "household_type" in data or not partial:
        kind = data.get("household_type") or HouseholdType.RESIDENT
        if kind not in HouseholdType.values:
            raise ValidationError({"household_type": [_("户别不正确。")]})
        values["household_type"] = kind
    if "building" in data:
        building = data["building"]
        if building is not None and building.node_id != node.pk:
            raise ValidationError({"building": [_("楼栋不在该网格。")]})
        values["building"] = building
    return values


def household_create(*, actor: Any, node: OrgNode, data: Mapping[str, Any]) -> Household:
    _grid(node)
    _require(actor, "people.add_household", node)
    values = _household_values(data, node)
    building = values.get("building")
    if building is not None and Household.objects.filter(building=building, door=values["door"]):
        raise ValidationError({"door": [_("该楼栋已有此门牌号。")]})
    with transaction.atomic():
        household = Household.objects.create(node=node, **values)
        audit(
            actor=actor,
            action="people.household.create",
            obj=household,
            changes={k: _plain(v) for k, v in values.items()},
        )
    return household


def household_update(
    *, actor: Any, household: Household, version: int, changes: Mapping[str, Any]
) -> Household:
    _require(actor, "people.change_household", household)
    values = _household_values(changes, household.node, partial=True)
    with transaction.atomic():
        locked = _locked(household)
        _check_version(locked, version)
        diff = {}
        for name, value in values.items():
            if getattr(locked, name) != value:
                diff[name] = [_plain(getattr(locked, name)), _plain(value)]
                setattr(locked, name, value)
        if (
            locked.building_id
            and Household.objects.filter(building_id=locked.building_id, door=locked.door)
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise ValidationError({"door": [_("该楼栋已有此门牌号。")]})
        if diff:
            _bump(locked, diff)
            audit(actor=actor, action="people.household.update", obj=locked, changes=diff)
    return locked


def households_bulk_create(
    *, actor: Any, rows: Sequence[Mapping[str, Any]], batch_size: int = BULK_BATCH
) -> list[Household]:
    """Many households at once from cleaned rows (`node` a grid, `building` optional)."""
    if not rows:
        return []
    for row in rows:
        _grid(row.get("node"))
    _check_nodes_allowed(actor, "people.add_household", (row["node"] for row in rows))
    objects = []
    seen: dict[tuple[int, str], int] = {}
    for number, row in enumerate(rows, start=1):
        try:
            values = _household_values(row, row["node"])
        except ValidationError as exc:
            raise ValidationError(
                {k: [f"第 {number} 行：{m}" for m in v] for k, v in exc.message_dict.items()}
            ) from None
        building = values.get("building")
        if building is not None:
            key = (building.pk, values["door"])
            if key in seen:
                raise ValidationError(
                    {"door": [f"第 {number} 行：门牌号与第 {seen[key]} 行重复。"]}
                )
            seen[key] = number
        objects.append(Household(node=row["node"], **values))
    with transaction.atomic():
        try:
            with transaction.atomic():
                Household.objects.bulk_create(objects, batch_size=batch_size)
        except IntegrityError:
            raise ValidationError({"door": [_("有门牌号与已登记的住户重复。")]}) from None
        audit(
            actor=actor,
            action="people.household.bulk_create",
            object_type="people.household",
            changes={"count": len(objects)},
        )
    return objects


def buildings_bulk_create(
    *, actor: Any, rows: Sequence[Mapping[str, Any]], batch_size: int = BULK_BATCH
) -> list[Building]:
    """Many buildings at once (`node` a grid, `name` unique in its grid): what an import of
    households or residents registers when it names a building the grid does not have yet."""
    if not rows:
        return []
    for row in rows:
        _grid(row.get("node"))
    _check_nodes_allowed(actor, "people.add_building", (row["node"] for row in rows))
    objects = []
    seen: dict[tuple[int, str], int] = {}
    errors: dict[str, list[str]] = {}
    for number, row in enumerate(rows, start=1):
        try:
            values = _clean_text_fields(row, BUILDING_LIMITS, required=["name"])
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(f"第 {number} 行：{m}" for m in messages)
            continue
        key = (row["node"].pk, values["name"])
        if key in seen:
            errors.setdefault("name", []).append(
                f"第 {number} 行：" + _("楼栋名称与第 %(row)d 行重复。") % {"row": seen[key]}
            )
            continue
        seen[key] = number
        objects.append(Building(node=row["node"], **values))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            with transaction.atomic():
                Building.objects.bulk_create(objects, batch_size=batch_size)
        except IntegrityError:
            raise ValidationError({"name": [_("该网格已有同名楼栋。")]}) from None
        audit(
            actor=actor,
            action="people.building.bulk_create",
            object_type="people.building",
            changes={"count": len(objects), "names": sorted(b.name for b in objects)[:50]},
        )
    return objects


def _resident_place(data: Mapping[str, Any]) -> tuple[OrgNode, Household | None]:
    household: Household | None = data.get("household")
    if household is not None:
        return household.node, household
    return _check_person_node(data.get("node")), None


def resident_create(*, actor: Any, data: Mapping[str, Any]) -> Resident:
    """Register a resident (基础信息采集): a person (new, or existing by ID number) living in a
    household (or, not yet placed, in a grid). `groups` sets special groups at the same time."""
    node, household = _resident_place(data)
    _check_person_node(node)
    _require(actor, "people.add_resident", node)
    person_values, resident_values = _merge_errors(
        lambda: clean_person_data(data), lambda: clean_resident_data(data)
    )
    resident_values.pop("moved_out_on", None)
    groups = clean_groups(data.get("groups") or [])
    if groups & SENSITIVE_GROUPS and actor is not None and not serves(actor, node.path):
        raise PermissionDenied(_("困难、残疾等敏感人群仅由服务社区标记。"))
    with transaction.atomic():
        person, created = _reuse_or_new_person(actor, node, person_values, taken="resident")
        if not created and person.node_id != node.pk:
            person.node = node
            _bump(person, ["node"])
        if (
            resident_values.get("relation") == "head"
            and household is not None
            and household.residents.filter(relation="head", moved_out_on__isnull=True).exists()
        ):
            raise ValidationError({"relation": [_("该户已有户主。")]})
        resident = Resident.objects.create(person=person, household=household, **resident_values)
        if groups:
            PersonGroup.objects.bulk_create(
                PersonGroup(person=person, group=g, since=_today()) for g in sorted(groups)
            )
        audit(
            actor=actor,
            action="people.resident.create",
            obj=resident,
            changes={
                "person": person_snapshot(person),
                "new_person": created,
                "household": str(household) if household else "",
                "groups": sorted(groups),
            },
        )
    return resident


def resident_update(
    *, actor: Any, resident: Resident, version: int, changes: Mapping[str, Any]
) -> Resident:
    """Change a resident's details: person fields, household (moves the person to its grid),
    relation, residence type, moved-in date."""
    _require(actor, "people.change_resident", resident)
    unknown = set(changes) - PERSON_FIELDS - RESIDENT_FIELDS - {"node"}
    if unknown:
        raise TypeError(f"fields not editable here: {sorted(unknown)}")
    person_changes = {k: v for k, v in changes.items() if k in PERSON_FIELDS or k == "node"}
    resident_changes = {k: v for k, v in changes.items() if k in RESIDENT_FIELDS}
    values = clean_resident_data(resident_changes, partial=True)
    if "household" in resident_changes:
        household = resident_changes["household"]
        values["household"] = household
        if household is not None:
            if actor is not None:
                _require(actor, "people.change_household", household)
            person_changes["node"] = household.node
    if "node" in person_changes and actor is not None:
        _require(actor, "people.add_resident", person_changes["node"])
    with transaction.atomic():
        locked = _locked(resident)
        _check_version(locked, version)
        person = _locked(locked.person)
        person_diff = _apply_person_changes(person, person_changes)
        diff: dict[str, list[Any]] = {}
        for name, value in values.items():
            before = getattr(locked, name)
            if before != value:
                setattr(locked, name, value)
                diff[name] = [_plain(before), _plain(value)]
        if (
            locked.relation == "head"
            and locked.household_id
            and Resident.objects.filter(
                household_id=locked.household_id, relation="head", moved_out_on__isnull=True
            )
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise ValidationError({"relation": [_("该户已有户主。")]})
        if person_diff:
            _save_person_diff(person, person_diff)
        if diff or person_diff:
            locked.person = person
            _bump(locked, diff)
            audit(
                actor=actor,
                action="people.resident.update",
                obj=locked,
                changes={**diff, **{f"person.{k}": v for k, v in person_diff.items()}},
            )
    return locked


def resident_move_out(
    *, actor: Any, resident: Resident, version: int, on: dt.date, note: str = ""
) -> Resident:
    """A resident moves away: kept on record with the date (never deleted)."""
    _require(actor, "people.change_resident", resident)
    if on > _today() or (resident.moved_in_on and on < resident.moved_in_on):
        raise ValidationError({"on": [_("迁出日期应在入住日期之后、不晚于今天。")]})
    with transaction.atomic():
        locked = _locked(resident)
        _check_version(locked, version)
        if locked.moved_out_on is not None:
            raise ConflictError(_("该居民已迁出。"))
        locked.moved_out_on = on
        _bump(locked, ["moved_out_on"])
        audit(
            actor=actor,
            action="people.resident.move_out",
            obj=locked,
            changes={"on": on.isoformat(), "note": (note or "").strip()[:200]},
        )
    return locked


def residents_bulk_create(
    *, actor: Any, rows: Sequence[Mapping[str, Any]], batch_size: int = BULK_BATCH
) -> list[Resident]:
    """Many residents at once from rows cleaned with clean_person_data + clean_resident_data,
    each with `household` or `node` (and optional `groups`). All or nothing.

    A registered person with the same ID number (a party member, say) becomes the resident when
    the actor sees them and they are no resident yet, and moves to the household's grid, as
    `resident_create` does. Sensitive groups only where the actor serves (SECURITY.md 13).
    """
    if not rows:
        return []
    places = [_resident_place(row) for row in rows]
    nodes = [node for node, _h in places]
    _check_nodes_allowed(actor, "people.add_resident", nodes)
    sensitive_nodes = {
        node.path
        for node, row in zip(nodes, rows, strict=True)
        if set(row.get("groups") or ()) & SENSITIVE_GROUPS
    }
    if actor is not None and any(not serves(actor, path) for path in sensitive_nodes):
        raise PermissionDenied(_("困难、残疾等敏感人群仅由服务社区标记。"))
    matches = _match_persons(
        actor, rows, nodes, taken="resident", taken_message=_("该人员已登记为居民。")
    )
    today = _today()
    with transaction.atomic():
        _save_persons(matches, batch_size)
        moved = []
        for match, node in zip(matches, nodes, strict=True):
            if match.existing and match.person.node_id != node.pk:
                match.person.node = node
                match.person.version += 1
                match.person.updated_at = timezone.now()  # bulk_update skips auto_now
                moved.append(match.person)
        if moved:
            Person.objects.bulk_update(moved, ["node", "version", "updated_at"], batch_size=500)
        residents = [
            Resident(
                person=match.person,
                household=household,
                relation=row.get("relation") or "head",
                residence_type=row.get("residence_type") or "permanent",
                moved_in_on=row.get("moved_in_on"),
            )
            for match, (_node, household), row in zip(matches, places, rows, strict=True)
        ]
        try:
            with transaction.atomic():
                bulk_insert(Resident, residents, batch_size=batch_size)
        except IntegrityError:
            raise ValidationError({"relation": [_("有住户登记了多名户主。")]}) from None
        PersonGroup.objects.bulk_create(
            (
                PersonGroup(person=match.person, group=group, since=today)
                for match, row in zip(matches, rows, strict=True)
                for group in sorted(set(row.get("groups") or ()))
            ),
            batch_size=batch_size,
            ignore_conflicts=True,  # a reused person may already carry the tag
        )
        audit(
            actor=actor,
            action="people.resident.bulk_create",
            object_type="people.resident",
            changes={
                "count": len(residents),
                "existing_persons": sum(1 for m in matches if m.existing),
            },
        )
    return residents


# ---------------------------------------------------------------------------------------------
# volunteers


TEAM_LIMITS = {"name": 80, "service_area": 60, "description": 300}


def team_create(*, actor: Any, node: OrgNode, data: Mapping[str, Any]) -> VolunteerTeam:
    if node.closed_at is not None:
        raise ValidationError({"node": [_("该组织已撤销。")]})
    _require(actor, "people.add_volunteer_team", node)
    values = _clean_text_fields(data, TEAM_LIMITS, required=["name"])
    leader: Person | None = data.get("leader")
    if leader is not None and not leader.node.path.startswith(node.path[:COMMUNITY_PATH_LENGTH]):
        raise ValidationError({"leader": [_("队长应为本社区人员。")]})
    if VolunteerTeam.objects.filter(node=node, name=values["name"], closed_at__isnull=True):
        raise ValidationError({"name": [_("已有同名志愿服务队。")]})
    with transaction.atomic():
        team = VolunteerTeam.objects.create(
            node=node, leader=leader, founded_on=data.get("founded_on"), **values
        )
        audit(actor=actor, action="people.team.create", obj=team, changes=values)
    return team


def team_update(
    *, actor: Any, team: VolunteerTeam, version: int, changes: Mapping[str, Any]
) -> VolunteerTeam:
    _require(actor, "people.change_volunteer_team", team)
    values = _clean_text_fields(changes, TEAM_LIMITS)
    if "name" in values and not values["name"]:
        raise ValidationError({"name": [_("此项为必填项。")]})
    for name in ("leader", "founded_on"):
        if name in changes:
            values[name] = changes[name]
    with transaction.atomic():
        locked = _locked(team)
        _check_version(locked, version)
        diff = {}
        for name, value in values.items():
            if getattr(locked, name) != value:
                diff[name] = [_plain(getattr(locked, name)), _plain(value)]
                setattr(locked, name, value)
        if diff:
            _bump(locked, diff)
            audit(actor=actor, action="people.team.update", obj=locked, changes=diff)
    return locked


def volunteer_register(
    *,
    actor: Any,
    person: Person,
    registered_on: dt.date | None = None,
    skills: str = "",
    teams: Iterable[VolunteerTeam] = (),
) -> Volunteer:
    """Register a person as a volunteer, optionally in teams of their community."""
    _require(actor, "people.register_volunteer", person)
    teams = list(teams)
    community_path = person.node.path[:COMMUNITY_PATH_LENGTH]
    if any(not t.node.path.startswith(community_path[: len(t.node.path)]) for t in teams):
        raise ValidationError({"teams": [_("只能加入本社区及上级组织的志愿服务队。")]})
    if hasattr(person, "volunteer"):
        raise ValidationError({"person": [_("该人员已是志愿者。")]})
    with transaction.atomic():
        volunteer = Volunteer.objects.create(
            person=person,
            registered_on=registered_on or _today(),
            skills=(skills or "").strip()[:200],
        )
        volunteer.teams.set(teams)
        audit(
            actor=actor,
            action="people.volunteer.register",
            obj=volunteer,
            changes={"teams": [t.name for t in teams]},
        )
    return volunteer


def volunteer_update(
    *,
    actor: Any,
    volunteer: Volunteer,
    version: int,
    skills: str | None = None,
    active: bool | None = None,
    teams: Iterable[VolunteerTeam] | None = None,
) -> Volunteer:
    _require(actor, "people.register_volunteer", volunteer)
    with transaction.atomic():
        locked = _locked(volunteer)
        _check_version(locked, version)
        diff: dict[str, Any] = {}
        if skills is not None and skills.strip() != locked.skills:
            diff["skills"] = [locked.skills, skills.strip()[:200]]
            locked.skills = skills.strip()[:200]
        if active is not None and active != locked.active:
            diff["active"] = [locked.active, active]
            locked.active = active
        if teams is not None:
            teams = list(teams)
            locked.teams.set(teams)
            diff["teams"] = [t.name for t in teams]
        if diff:
            _bump(locked, [k for k in diff if k != "teams"])
            audit(actor=actor, action="people.volunteer.update", obj=locked, changes=diff)
    return locked

"""Writes to the organization network. Each service is one transaction with its audit record.

Conventions shared by every function here:
- keyword-only arguments; `actor` is the user acting, or None for the system itself (demo seed,
  imports), which skips the permission check;
- the permission is checked again here (orgs/rules.py) even though views and the API check it
  first, so no caller can forget it;
- updates take the `version` the client saw and raise ConflictError when the row moved on;
- bad input raises django ValidationError with a field dict, in Chinese;
- node changes also append a NodeChange row: the node's history (组织沿革).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as NumberError

from tongxin.core.audit import audit
from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome
from tongxin.orgs.models import (
    PARENT_LEVEL,
    CommitteeMember,
    ContactPoint,
    ContactProject,
    InstructorAssignment,
    Level,
    NodeChange,
    NodeChangeKind,
    OrgCategory,
    OrgKind,
    OrgNode,
    PartyOrganization,
    PartyStatus,
    ProjectStatus,
    ResidentUnit,
)
from tongxin.orgs.rules import COMMITTEE_LEVELS, can
from tongxin.orgs.tree import depth_of, next_child_path, rewrite_subtree_paths

M = TypeVar("M", bound=models.Model)

NODE_FIELDS = frozenset({"code", "address"})
PARTY_ORG_BASIC_FIELDS = frozenset({"name", "kind", "secretary", "contact", "founded_on"})
PARTY_ORG_FUNCTIONAL_FIELDS = PARTY_ORG_BASIC_FIELDS | {"project", "starts_on", "ends_on"}
# Functional organizations are branches or (in big buildings) committees, never a 党工委 or group.
FUNCTIONAL_KINDS = frozenset({OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH})
FUNCTIONAL_CATEGORIES = frozenset(set(OrgCategory) - {OrgCategory.TERRITORIAL})
UNIT_LEVELS = (Level.COMMUNITY, Level.GRID)
UNIT_CONTACT_FIELDS = frozenset({"contact_name", "contact_phone"})
UNIT_FIELDS = frozenset(
    {
        "name",
        "unit_type",
        "node",
        "credit_code",
        "address",
        "employees",
        "party_members",
        "party_status",
        "party_org_name",
    }
    | UNIT_CONTACT_FIELDS
)
COMMITTEE_FIELDS = frozenset(
    {"person_name", "unit", "unit_post", "duty", "public_commitment", "term_start", "term_end"}
)
CONTACT_POINT_FIELDS = frozenset(
    {"leader_name", "leader_title", "community", "starts_on", "ends_on", "note"}
)
CONTACT_PROJECT_FIELDS = frozenset({"name", "goal", "status", "due_on"})


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
    """A JSON-friendly snapshot of a field value for history and audit rows."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, models.Choices):
        return value.value
    return value


def _clean_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _apply(instance: models.Model, changes: Mapping[str, Any], allowed: frozenset[str]) -> dict:
    """Set the changed fields on `instance`; return {field: [before, after]} for those that moved.

    An unknown field is a programming error, not bad user input: it raises TypeError.
    """
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"fields not editable here: {sorted(unknown)}")
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        value = _clean_text(value)
        if value is None and isinstance(getattr(instance, name, None), str):
            value = ""
        before = getattr(instance, name)
        if before != value:
            setattr(instance, name, value)
            diff[name] = [_plain(before), _plain(value)]
    return diff


def _validate_fields(instance: models.Model, names: Iterable[str]) -> None:
    """Django's own per-field checks (length, choices, blank) for the fields we set, in Chinese."""
    names = set(names)
    exclude = [
        f.name
        for f in instance._meta.concrete_fields
        if f.name not in names or isinstance(f, models.ForeignKey)
    ]
    instance.clean_fields(exclude=exclude)


def _history(
    node: OrgNode,
    kind: str,
    actor: Any,
    *,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> None:
    NodeChange.objects.create(
        node=node,
        kind=kind,
        before=before or {},
        after=after or {},
        note=note[:200],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _split(diff: dict[str, list[Any]]) -> tuple[dict, dict]:
    return {k: v[0] for k, v in diff.items()}, {k: v[1] for k, v in diff.items()}


def _bump(instance: Any, fields: Iterable[str]) -> None:
    instance.version += 1
    update_fields = {*fields, "version"}
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update_fields.add("updated_at")
    instance.save(update_fields=sorted(update_fields))


def _require_open(obj: Any, message: str) -> None:
    if obj.closed_at is not None:
        raise ConflictError(message)


def _check_sibling_name(
    parent: OrgNode | None, name: str, *, exclude: OrgNode | None = None
) -> None:
    """Two open children of one parent may not share a name: people pick nodes by name."""
    if parent is None:
        return
    clash = OrgNode.objects.filter(parent=parent, name=name, closed_at__isnull=True)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ValidationError({"name": _("同一上级下已有同名组织。")})


def _check_kind(kind: Any, allowed: Iterable[str] | None = None, field: str = "kind") -> None:
    valid = set(allowed) if allowed is not None else set(OrgKind.values)
    if kind not in valid:
        raise ValidationError({field: _("党组织类别不适用。")})


# ---------------------------------------------------------------------------------------------
# nodes


def node_create(
    *,
    actor: Any,
    parent: OrgNode | None,
    name: str,
    level: str,
    code: str = "",
    address: str = "",
    party_org: dict[str, Any] | None = None,
) -> OrgNode:
    """Create a node under `parent` (a district has none), with its territorial party organization.

    `party_org` holds PartyOrganization fields (name, kind, secretary, contact, founded_on).
    Only the system (actor None) creates districts: a new root is a deployment decision.
    """
    expected_parent = PARENT_LEVEL.get(level, "missing")
    if expected_parent == "missing":
        raise ValidationError({"level": _("未知的层级。")})
    if (parent.level if parent else None) != expected_parent:
        raise ValidationError({"parent": _("该层级的组织不能设在所选上级之下。")})
    if parent is not None and parent.closed_at is not None:
        raise ValidationError({"parent": _("上级组织已撤销，不能新增下级。")})
    if actor is not None and parent is None:
        raise PermissionDenied
    _require(actor, "orgs.add_node", parent)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空。")})
    party_org = {k: _clean_text(v) for k, v in (party_org or {}).items() if v not in (None, "")}
    if party_org:
        unknown = set(party_org) - PARTY_ORG_BASIC_FIELDS
        if unknown:
            raise TypeError(f"party_org fields not accepted: {sorted(unknown)}")
        if not party_org.get("name"):
            raise ValidationError({"party_org_name": _("请填写党组织名称。")})
        _check_kind(party_org.get("kind"), field="party_org_kind")
    with transaction.atomic():
        locked_parent = _locked(parent) if parent else None
        _check_sibling_name(locked_parent, name)
        path = next_child_path(locked_parent)
        node = OrgNode(
            parent=locked_parent,
            name=name,
            level=level,
            code=(code or "").strip(),
            address=(address or "").strip(),
            path=path,
            depth=depth_of(path),
        )
        _validate_fields(node, ["name", "code", "address"])
        node.save()
        org = None
        if party_org:
            org = PartyOrganization(node=node, category=OrgCategory.TERRITORIAL, **party_org)
            _validate_fields(org, party_org)
            org.save()
        after = {"name": name, "level": level, "parent": parent.name if parent else None}
        NodeChange.objects.create(
            node=node,
            kind=NodeChangeKind.CREATED,
            after={**after, "party_org": org.name if org else None},
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit(
            actor=actor,
            action="orgs.node.create",
            obj=node,
            changes={**after, "party_org": org.name if org else None},
        )
    return node


def node_update(
    *,
    actor: Any,
    node: OrgNode,
    version: int,
    changes: Mapping[str, Any] | None = None,
    party_org: Mapping[str, Any] | None = None,
) -> OrgNode:
    """Edit a node's details (code, address) and its territorial party organization.

    `party_org` holds the organization fields to change (name, kind, secretary, contact,
    founded_on); a node without one gets one when both name and kind are given.
    """
    changes = dict(changes or {})
    party_org = dict(party_org or {})
    _require(actor, "orgs.change_node", node)
    with transaction.atomic():
        locked = _locked(node)
        _check_version(locked, version)
        _require_open(locked, _("该组织已撤销，请先恢复后再修改。"))
        diff = _apply(locked, changes, NODE_FIELDS)
        _validate_fields(locked, diff)
        org = (
            PartyOrganization.objects.select_for_update()
            .filter(node=locked, category=OrgCategory.TERRITORIAL, closed_at__isnull=True)
            .first()
        )
        org_diff: dict[str, list[Any]] = {}
        if party_org:
            if org is None:
                org = PartyOrganization(node=locked, category=OrgCategory.TERRITORIAL)
            org_diff = _apply(org, party_org, PARTY_ORG_BASIC_FIELDS)
            if not org.name:
                raise ValidationError({"party_org_name": _("请填写党组织名称。")})
            _check_kind(org.kind, field="party_org_kind")
            _validate_fields(org, org_diff)
            if org_diff:
                if org.pk:
                    org.version += 1
                org.save()
        if not diff and not org_diff:
            return locked
        _bump(locked, diff)
        before, after = _split(diff)
        org_before, org_after = _split(org_diff)
        if org_diff:
            before["party_org"], after["party_org"] = org_before, org_after
        _history(locked, NodeChangeKind.EDITED, actor, before=before, after=after)
        audit(
            actor=actor,
            action="orgs.node.update",
            obj=locked,
            changes={**diff, **{f"party_org.{k}": v for k, v in org_diff.items()}},
        )
    return locked


def node_rename(*, actor: Any, node: OrgNode, version: int, name: str) -> OrgNode:
    """Rename a node (strictly below the actor's own node). The territorial organization's name
    follows when it contains the old name ("文献社区党委" → "文献街社区党委")."""
    _require(actor, "orgs.rename_node", node)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空。")})
    with transaction.atomic():
        locked = _locked(node)
        _check_version(locked, version)
        _require_open(locked, _("该组织已撤销，请先恢复后再更名。"))
        old = locked.name
        if name == old:
            raise ValidationError({"name": _("新名称与原名称相同。")})
        locked.name = name
        _validate_fields(locked, ["name"])
        _check_sibling_name(locked.parent, name, exclude=locked)
        _bump(locked, ["name"])
        org = (
            PartyOrganization.objects.select_for_update()
            .filter(node=locked, category=OrgCategory.TERRITORIAL, closed_at__isnull=True)
            .first()
        )
        after: dict[str, Any] = {"name": name}
        before: dict[str, Any] = {"name": old}
        if org is not None and old in org.name:
            before["party_org"], org.name = org.name, org.name.replace(old, name, 1)[:120]
            after["party_org"] = org.name
            org.version += 1
            org.save(update_fields=["name", "version"])
        _history(locked, NodeChangeKind.RENAMED, actor, before=before, after=after)
        audit(actor=actor, action="orgs.node.rename", obj=locked, changes={"name": [old, name]})
    return locked


def node_move(*, actor: Any, node: OrgNode, version: int, new_parent: OrgNode) -> OrgNode:
    """Hang a node, with its whole subtree, under another parent of the right level.

    The paths and depths of every node below are rewritten in one UPDATE while both parents and
    the node are row-locked, so a concurrent create or move cannot interleave.
    """
    _require(actor, "orgs.move_node", node)
    _require(actor, "orgs.add_node", new_parent)
    with transaction.atomic():
        # One query locks the three rows in primary-key order: no deadlock between two movers.
        ids = {node.pk, new_parent.pk} | ({node.parent_id} if node.parent_id else set())
        rows = {
            n.pk: n for n in OrgNode.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        }
        locked, target = rows[node.pk], rows[new_parent.pk]
        _check_version(locked, version)
        _require_open(locked, _("该组织已撤销，不能调整隶属。"))
        # Checked before the level: in a strictly layered tree a node below can never have the
        # parent level, but "into its own subtree" is the clearer answer to give.
        if target.path.startswith(locked.path):
            raise ValidationError({"parent": _("不能调整到本组织或其下级组织之下。")})
        if PARENT_LEVEL.get(locked.level) != target.level:
            raise ValidationError({"parent": _("所选上级的层级不符，不能调整到该组织之下。")})
        if target.pk == locked.parent_id:
            raise ValidationError({"parent": _("该组织已在所选上级之下。")})
        if target.closed_at is not None:
            raise ValidationError({"parent": _("所选上级已撤销。")})
        _check_sibling_name(target, locked.name, exclude=locked)
        old_parent = rows.get(locked.parent_id)
        old_path = locked.path
        new_path = next_child_path(target)
        moved = rewrite_subtree_paths(old_path, new_path)
        locked.parent = target
        _bump(locked, ["parent"])
        locked.refresh_from_db()
        before = {"parent": old_parent.name if old_parent else None, "path": old_path}
        after = {"parent": target.name, "path": new_path}
        note = _("含下级共 %(n)d 个组织节点") % {"n": moved}
        _history(locked, NodeChangeKind.MOVED, actor, before=before, after=after, note=note)
        audit(
            actor=actor,
            action="orgs.node.move",
            obj=locked,
            changes={
                "parent": [before["parent"], after["parent"]],
                "path": [old_path, new_path],
                "nodes": moved,
            },
        )
    return locked


def node_close(*, actor: Any, node: OrgNode, version: int, reason: str) -> OrgNode:
    """Close (撤销) a node. Nothing is deleted: the node, its history and its records stay.

    Refused while the node still has open children, open units or open functional party
    organizations: those must be closed or moved first, so nothing is left orphaned.
    """
    _require(actor, "orgs.close_node", node)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写撤销原因。")})
    with transaction.atomic():
        locked = _locked(node)
        _check_version(locked, version)
        if locked.closed_at is not None:
            raise ConflictError(_("该组织已撤销。"))
        if OrgNode.objects.filter(parent=locked, closed_at__isnull=True).exists():
            raise ValidationError(_("该组织还有未撤销的下级组织，请先撤销或调整下级组织。"))
        if ResidentUnit.objects.filter(node=locked, closed_at__isnull=True).exists():
            raise ValidationError(_("该组织还有驻区单位，请先注销或迁移这些单位。"))
        if (
            PartyOrganization.objects.filter(node=locked, closed_at__isnull=True)
            .exclude(category=OrgCategory.TERRITORIAL)
            .exists()
        ):
            raise ValidationError(_("该组织还有未撤销的功能型党组织，请先撤销。"))
        locked.closed_at = timezone.now()
        locked.closed_reason = reason[:200]
        _bump(locked, ["closed_at", "closed_reason"])
        _history(locked, NodeChangeKind.CLOSED, actor, note=reason)
        audit(actor=actor, action="orgs.node.close", obj=locked, changes={"reason": reason})
    return locked


def node_reopen(*, actor: Any, node: OrgNode, version: int) -> OrgNode:
    """Restore a closed node (its parent must be open)."""
    _require(actor, "orgs.reopen_node", node)
    with transaction.atomic():
        locked = _locked(node)
        _check_version(locked, version)
        if locked.closed_at is None:
            raise ConflictError(_("该组织未撤销，无需恢复。"))
        if locked.parent is not None and locked.parent.closed_at is not None:
            raise ValidationError(_("上级组织已撤销，请先恢复上级组织。"))
        _check_sibling_name(locked.parent, locked.name, exclude=locked)
        before = {"closed_at": _plain(locked.closed_at), "closed_reason": locked.closed_reason}
        locked.closed_at = None
        locked.closed_reason = ""
        _bump(locked, ["closed_at", "closed_reason"])
        _history(locked, NodeChangeKind.REOPENED, actor, before=before)
        audit(actor=actor, action="orgs.node.reopen", obj=locked, changes=before)
    return locked


# ---------------------------------------------------------------------------------------------
# party organizations: temporary, joint, building and business-district branches


def _validate_functional(
    org: PartyOrganization, covered: list[ResidentUnit] | None, node: OrgNode
) -> None:
    errors: dict[str, str] = {}
    if not org.name:
        errors["name"] = _("请填写党组织名称。")
    if org.category == OrgCategory.TEMPORARY:
        if not org.project:
            errors["project"] = _("临时党支部须写明依托的项目或工地。")
        if org.starts_on is None:
            errors["starts_on"] = _("临时党支部须写明起始日期。")
        if org.ends_on is None:
            errors["ends_on"] = _("临时党支部须写明终止日期。")
    if org.starts_on and org.ends_on and org.ends_on < org.starts_on:
        errors["ends_on"] = _("终止日期不能早于起始日期。")
    if org.category == OrgCategory.JOINT and covered is not None:
        if len(covered) < 2:
            errors["covered_units"] = _("联合党支部至少覆盖两家单位。")
        elif any(u.closed_at is not None or not u.node.path.startswith(node.path) for u in covered):
            errors["covered_units"] = _("覆盖单位须是本组织辖区内未注销的驻区单位。")
        elif any(u.party_status == PartyStatus.OWN for u in covered):
            errors["covered_units"] = _("已单独组建党组织的单位不能再纳入联合党支部。")
    if errors:
        raise ValidationError(errors)


def _resync_joint_status(units: Iterable[ResidentUnit]) -> None:
    """Keep each unit's coverage status in step with the open joint organizations covering it."""
    for unit in units:
        unit = _locked(unit)
        if unit.party_status == PartyStatus.OWN:
            continue
        covering = unit.joint_orgs.filter(closed_at__isnull=True).order_by("id").first()
        if covering is not None and unit.party_status != PartyStatus.JOINT:
            unit.party_status = PartyStatus.JOINT
            unit.party_org_name = covering.name[:120]
            _bump(unit, ["party_status", "party_org_name"])
        elif covering is None and unit.party_status == PartyStatus.JOINT:
            has_instructor = unit.instructors.filter(ends_on__isnull=True).exists()
            unit.party_status = PartyStatus.INSTRUCTOR if has_instructor else PartyStatus.NONE
            unit.party_org_name = ""
            _bump(unit, ["party_status", "party_org_name"])


def party_org_create(
    *,
    actor: Any,
    node: OrgNode,
    category: str,
    name: str,
    kind: str = OrgKind.BRANCH,
    secretary: str = "",
    contact: str = "",
    founded_on: dt.date | None = None,
    project: str = "",
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    covered_units: Iterable[ResidentUnit] = (),
) -> PartyOrganization:
    """Set up a functional party organization at a node: a temporary branch (project and
    period required), a joint branch (covering two or more units of the subtree, which then
    count as jointly covered), or a building / business-district organization."""
    if category not in FUNCTIONAL_CATEGORIES:
        raise ValidationError({"category": _("属地党组织随组织节点设立，请在组织信息中维护。")})
    _check_kind(kind, FUNCTIONAL_KINDS)
    _require(actor, "orgs.add_party_org", node)
    covered = list(covered_units) if category == OrgCategory.JOINT else []
    with transaction.atomic():
        locked_node = _locked(node)
        if locked_node.closed_at is not None:
            raise ValidationError({"node": _("该组织已撤销，不能新设党组织。")})
        org = PartyOrganization(
            node=locked_node,
            category=category,
            name=_clean_text(name or ""),
            kind=kind,
            secretary=_clean_text(secretary or ""),
            contact=_clean_text(contact or ""),
            founded_on=founded_on,
            project=_clean_text(project or ""),
            starts_on=starts_on,
            ends_on=ends_on,
        )
        _validate_functional(org, covered if category == OrgCategory.JOINT else None, locked_node)
        _validate_fields(org, ["name", "kind", "category", "secretary", "contact", "project"])
        org.save()
        if covered:
            org.covered_units.set(covered)
            _resync_joint_status(covered)
        note = _("设立%(category)s：%(name)s") % {
            "category": org.get_category_display(),
            "name": org.name,
        }
        _history(
            locked_node, NodeChangeKind.EDITED, actor, after={"party_org": org.name}, note=note
        )
        audit(
            actor=actor,
            action="orgs.party_org.create",
            obj=org,
            changes={
                "node": locked_node.name,
                "category": category,
                "covered_units": [u.pk for u in covered],
            },
        )
    return org


def party_org_update(
    *,
    actor: Any,
    org: PartyOrganization,
    version: int,
    changes: Mapping[str, Any] | None = None,
    covered_units: Iterable[ResidentUnit] | None = None,
) -> PartyOrganization:
    """Edit a party organization. Territorial ones accept only name, kind, secretary, contact
    and founding date; `covered_units` (the full new list) applies to joint branches only."""
    changes = dict(changes or {})
    _require(actor, "orgs.change_partyorganization", org)
    with transaction.atomic():
        locked = _locked(org)
        _check_version(locked, version)
        _require_open(locked, _("该党组织已撤销。"))
        territorial = locked.category == OrgCategory.TERRITORIAL
        allowed = PARTY_ORG_BASIC_FIELDS if territorial else PARTY_ORG_FUNCTIONAL_FIELDS
        if set(changes) - allowed:
            raise ValidationError({f: _("属地党组织不设此项。") for f in set(changes) - allowed})
        diff = _apply(locked, changes, allowed)
        _check_kind(locked.kind, None if territorial else FUNCTIONAL_KINDS)
        new_covered: list[ResidentUnit] | None = None
        old_covered = list(locked.covered_units.all())
        if covered_units is not None and locked.category == OrgCategory.JOINT:
            new_covered = list(covered_units)
            if {u.pk for u in new_covered} != {u.pk for u in old_covered}:
                diff["covered_units"] = [
                    sorted(u.pk for u in old_covered),
                    sorted(u.pk for u in new_covered),
                ]
            else:
                new_covered = None
        if not territorial:
            _validate_functional(locked, new_covered, locked.node)
        _validate_fields(locked, set(diff) - {"covered_units"})
        if not diff:
            return locked
        _bump(locked, set(diff) - {"covered_units"})
        if new_covered is not None:
            locked.covered_units.set(new_covered)
            _resync_joint_status({u.pk: u for u in [*old_covered, *new_covered]}.values())
        before, after = _split(diff)
        note = _("修改党组织：%(name)s") % {"name": locked.name}
        _history(
            locked.node,
            NodeChangeKind.EDITED,
            actor,
            before={"party_org": before},
            after={"party_org": after},
            note=note,
        )
        audit(actor=actor, action="orgs.party_org.update", obj=locked, changes=diff)
    return locked


def party_org_close(
    *, actor: Any, org: PartyOrganization, version: int, reason: str = ""
) -> PartyOrganization:
    """Close a functional party organization (a temporary branch whose project ended, …).

    Units it covered jointly fall back to instructor-only or uncovered unless another open
    joint branch still covers them. A territorial organization closes only with its node.
    """
    _require(actor, "orgs.change_partyorganization", org)
    with transaction.atomic():
        locked = _locked(org)
        _check_version(locked, version)
        if locked.category == OrgCategory.TERRITORIAL:
            raise ValidationError(_("属地党组织随组织节点撤销，不能单独撤销。"))
        if locked.closed_at is not None:
            raise ConflictError(_("该党组织已撤销。"))
        locked.closed_at = timezone.now()
        _bump(locked, ["closed_at"])
        covered = list(locked.covered_units.all())
        _resync_joint_status(covered)
        note = _("撤销%(category)s：%(name)s") % {
            "category": locked.get_category_display(),
            "name": locked.name,
        }
        if reason:
            note = f"{note}（{reason.strip()}）"
        _history(
            locked.node, NodeChangeKind.EDITED, actor, before={"party_org": locked.name}, note=note
        )
        audit(actor=actor, action="orgs.party_org.close", obj=locked, changes={"reason": reason})
    return locked


# ---------------------------------------------------------------------------------------------
# resident units


def normalize_credit_code(value: str) -> str:
    """A 统一社会信用代码 in its canonical form ("" when blank); ValidationError when invalid.

    Shared by the services and the spreadsheet import (orgs/imports.py).
    """
    value = (value or "").strip().upper().replace(" ", "").replace("-", "")
    if not value:
        return ""
    try:
        return uscc.validate(value)
    except NumberError:
        raise ValidationError({"credit_code": _("统一社会信用代码格式或校验位不正确。")}) from None


def unit_rule_errors(unit: ResidentUnit, fields: Iterable[str]) -> dict[str, list[str]]:
    """The rules a unit's fields must satisfy, checked in memory (no query), as field errors.

    Every unit write runs them; the spreadsheet import runs them on each row before writing
    any, so a file is held to exactly the rules of the form. Uniqueness of the credit code
    needs the database and is checked by the callers (one query per write, one per batch of
    rows for an import).
    """
    # Each rule runs when one of its fields is being set, so an old record that predates a rule
    # (an import, say) does not block its liaison from correcting a phone number.
    fields = set(fields)
    errors: dict[str, list[str]] = {}
    if "name" in fields and not unit.name:
        errors["name"] = [_("请填写单位名称。")]
    if (
        fields & {"party_status", "party_org_name"}
        and unit.party_status == PartyStatus.OWN
        and not unit.party_org_name
    ):
        errors["party_org_name"] = [_("单独组建党组织的单位须填写其党组织名称。")]
    if (
        fields & {"employees", "party_members"}
        and unit.employees
        and unit.party_members > unit.employees
    ):
        errors["party_members"] = [_("党员数不能多于从业人员数。")]
    if "node" in fields:
        if unit.node.level not in UNIT_LEVELS:
            errors["node"] = [_("驻区单位应设在社区或网格。")]
        elif unit.node.closed_at is not None:
            errors["node"] = [_("所选社区/网格已撤销。")]
    if errors:
        return errors
    try:
        _validate_fields(unit, fields - {"node"})
    except ValidationError as exc:
        return exc.message_dict
    return {}


def _validate_unit(unit: ResidentUnit, fields: Iterable[str]) -> None:
    fields = set(fields)
    errors = unit_rule_errors(unit, fields)
    if errors:
        raise ValidationError(errors)
    if "credit_code" in fields and unit.credit_code:
        duplicate = ResidentUnit.objects.filter(
            credit_code=unit.credit_code, closed_at__isnull=True
        ).exclude(pk=unit.pk)
        if duplicate.exists():
            raise ValidationError({"credit_code": _("已有使用该统一社会信用代码的驻区单位。")})


def unit_create(
    *,
    actor: Any,
    node: OrgNode,
    name: str,
    unit_type: str,
    credit_code: str = "",
    address: str = "",
    employees: int = 0,
    party_members: int = 0,
    party_status: str = PartyStatus.NONE,
    party_org_name: str = "",
    contact_name: str = "",
    contact_phone: str = "",
) -> ResidentUnit:
    """Register a resident unit located in a community or grid."""
    _require(actor, "orgs.add_unit", node)
    unit = ResidentUnit(
        node=node,
        name=_clean_text(name or ""),
        unit_type=unit_type,
        credit_code=normalize_credit_code(credit_code),
        address=_clean_text(address or ""),
        employees=employees or 0,
        party_members=party_members or 0,
        party_status=party_status,
        party_org_name=_clean_text(party_org_name or ""),
        contact_name=_clean_text(contact_name or ""),
        contact_phone=_clean_text(contact_phone or ""),
    )
    with transaction.atomic():
        unit.node = _locked(node)
        _validate_unit(unit, UNIT_FIELDS)
        unit.save()
        audit(
            actor=actor,
            action="orgs.unit.create",
            obj=unit,
            changes={
                "node": unit.node.name,
                "unit_type": unit_type,
                "party_status": party_status,
                "credit_code": unit.credit_code,
            },
        )
    return unit


def unit_bulk_create(
    *, actor: Any, units: list[ResidentUnit], batch_size: int = 1000
) -> list[ResidentUnit]:
    """Register many units at once (the spreadsheet import), in one transaction.

    The caller has already held every unit to `unit_rule_errors` and checked the credit codes
    (the import does, to report every bad row); here the permission over each node is checked
    again, and the nodes are row-locked and re-checked so none is closed under the import.
    A credit code registered meanwhile by someone else trips the database constraint and the
    whole batch rolls back. One audit record covers the batch.
    """
    if not units:
        return []
    nodes = {unit.node_id: unit.node for unit in units}
    for node in nodes.values():
        _require(actor, "orgs.add_unit", node)
    with transaction.atomic():
        locked = OrgNode.objects.select_for_update().filter(pk__in=sorted(nodes)).order_by("pk")
        for node in locked:
            if node.closed_at is not None or node.level not in UNIT_LEVELS:
                raise ValidationError(
                    {"node": _("“%(name)s”已撤销或不能登记驻区单位。") % {"name": node.name}}
                )
        created = ResidentUnit.objects.bulk_create(units, batch_size=batch_size)
        per_node: dict[str, int] = {}
        for unit in units:
            per_node[nodes[unit.node_id].name] = per_node.get(nodes[unit.node_id].name, 0) + 1
        audit(
            actor=actor,
            action="orgs.unit.bulk_create",
            object_type="orgs.residentunit",
            object_repr=_("批量登记驻区单位 %(n)d 家") % {"n": len(created)},
            changes={"count": len(created), "nodes": per_node},
        )
    return created


def unit_update(
    *, actor: Any, unit: ResidentUnit, version: int, changes: Mapping[str, Any]
) -> ResidentUnit:
    """Edit a unit. Changing only the contact fields is open to the unit's own liaison; anything
    else needs a managing role over the unit (and over the new node, when it moves)."""
    changes = dict(changes)
    perm = (
        "orgs.change_unit_contact"
        if set(changes) <= UNIT_CONTACT_FIELDS
        else "orgs.change_residentunit"
    )
    _require(actor, perm, unit)
    new_node = changes.get("node")
    if new_node is not None and new_node.pk != unit.node_id:
        _require(actor, "orgs.add_unit", new_node)
    if "credit_code" in changes:
        changes["credit_code"] = normalize_credit_code(changes["credit_code"])
    with transaction.atomic():
        locked = _locked(unit)
        _check_version(locked, version)
        _require_open(locked, _("该单位已注销。"))
        diff = _apply(locked, changes, UNIT_FIELDS)
        if not diff:
            return locked
        _validate_unit(locked, diff)
        _bump(locked, diff)
        audit(actor=actor, action="orgs.unit.update", obj=locked, changes=diff)
    return locked


def unit_close(*, actor: Any, unit: ResidentUnit, version: int) -> ResidentUnit:
    """Deregister (注销) a unit: it leaves lists and coverage figures; its record stays.
    Its instructors' assignments end the same day."""
    _require(actor, "orgs.change_residentunit", unit)
    with transaction.atomic():
        locked = _locked(unit)
        _check_version(locked, version)
        if locked.closed_at is not None:
            raise ConflictError(_("该单位已注销。"))
        now = timezone.now()
        today = timezone.localdate(now)
        ended = []
        for assignment in locked.instructors.select_for_update().filter(ends_on__isnull=True):
            assignment.ends_on = max(today, assignment.starts_on)
            assignment.save(update_fields=["ends_on"])
            ended.append(assignment.pk)
        locked.closed_at = now
        _bump(locked, ["closed_at"])
        audit(actor=actor, action="orgs.unit.close", obj=locked, changes={"instructors": ended})
    return locked


def instructor_assign(
    *,
    actor: Any,
    unit: ResidentUnit,
    instructor_name: str,
    starts_on: dt.date,
    instructor_post: str = "",
) -> InstructorAssignment:
    """Send a party-building instructor (党建指导员) to a unit. An uncovered unit becomes
    instructor-covered, which counts towards work coverage (工作覆盖)."""
    _require(actor, "orgs.manage_instructors", unit)
    assignment = InstructorAssignment(
        instructor_name=_clean_text(instructor_name or ""),
        instructor_post=_clean_text(instructor_post or ""),
        starts_on=starts_on,
    )
    errors = {}
    if not assignment.instructor_name:
        errors["instructor_name"] = _("请填写指导员姓名。")
    if starts_on is None:
        errors["starts_on"] = _("请填写选派日期。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _locked(unit)
        _require_open(locked, _("该单位已注销。"))
        assignment.unit = locked
        _validate_fields(assignment, ["instructor_name", "instructor_post"])
        assignment.save()
        if locked.party_status == PartyStatus.NONE:
            locked.party_status = PartyStatus.INSTRUCTOR
            _bump(locked, ["party_status"])
        audit(
            actor=actor,
            action="orgs.instructor.assign",
            obj=assignment,
            changes={"unit": locked.name, "starts_on": _plain(starts_on)},
        )
    return assignment


def instructor_end(
    *, actor: Any, assignment: InstructorAssignment, ends_on: dt.date
) -> InstructorAssignment:
    """End an instructor's assignment; a unit left with none falls back to uncovered."""
    _require(actor, "orgs.manage_instructors", assignment.unit)
    if ends_on is None:
        raise ValidationError({"ends_on": _("请填写结束日期。")})
    with transaction.atomic():
        locked = _locked(assignment)
        if locked.ends_on is not None:
            raise ConflictError(_("该指导员的选派已结束。"))
        if ends_on < locked.starts_on:
            raise ValidationError({"ends_on": _("结束日期不能早于选派日期。")})
        locked.ends_on = ends_on
        locked.save(update_fields=["ends_on"])
        unit = _locked(locked.unit)
        still = unit.instructors.filter(ends_on__isnull=True).exists()
        if unit.party_status == PartyStatus.INSTRUCTOR and not still:
            unit.party_status = PartyStatus.NONE
            _bump(unit, ["party_status"])
        audit(
            actor=actor,
            action="orgs.instructor.end",
            obj=locked,
            changes={"unit": unit.name, "ends_on": _plain(ends_on)},
        )
    return locked


# ---------------------------------------------------------------------------------------------
# part-time committee members (兼职委员) of a street 大工委 or a community 大党委


def _validate_member(member: CommitteeMember, fields: Iterable[str]) -> None:
    errors: dict[str, str] = {}
    if not member.person_name:
        errors["person_name"] = _("请填写姓名。")
    if not member.duty:
        errors["duty"] = _("请写明委员职责（设岗定责）。")
    if member.term_start is None:
        errors["term_start"] = _("请填写任期开始日期。")
    elif member.term_end is not None and member.term_end < member.term_start:
        errors["term_end"] = _("任期结束不能早于任期开始。")
    unit = member.unit
    if unit is not None and (
        unit.closed_at is not None or not unit.node.path.startswith(member.body.path)
    ):
        errors["unit"] = _("所在单位须是本辖区内未注销的驻区单位。")
    if errors:
        raise ValidationError(errors)
    _validate_fields(member, set(fields) - {"unit", "body"})


def committee_member_add(
    *,
    actor: Any,
    body: OrgNode,
    person_name: str,
    duty: str,
    term_start: dt.date,
    unit: ResidentUnit | None = None,
    unit_post: str = "",
    public_commitment: str = "",
    term_end: dt.date | None = None,
) -> CommitteeMember:
    """Appoint a part-time member: usually the head of a resident unit's party organization,
    whose own affiliation does not change."""
    if body.level not in COMMITTEE_LEVELS:
        raise ValidationError({"body": _("兼职委员只能设在街道大工委或社区大党委。")})
    if body.closed_at is not None:
        raise ValidationError({"body": _("该组织已撤销。")})
    _require(actor, "orgs.add_committee_member", body)
    member = CommitteeMember(
        body=body,
        person_name=_clean_text(person_name or ""),
        duty=_clean_text(duty or ""),
        term_start=term_start,
        term_end=term_end,
        unit=unit,
        unit_post=_clean_text(unit_post or ""),
        public_commitment=_clean_text(public_commitment or ""),
    )
    _validate_member(member, COMMITTEE_FIELDS)
    with transaction.atomic():
        member.save()
        audit(
            actor=actor,
            action="orgs.committee_member.add",
            obj=member,
            changes={"body": body.name, "unit": unit.name if unit else None, "duty": member.duty},
        )
    return member


def committee_member_update(
    *, actor: Any, member: CommitteeMember, version: int, changes: Mapping[str, Any]
) -> CommitteeMember:
    """Edit a serving member's unit, post, duty, public commitment (公开承诺) or term."""
    _require(actor, "orgs.change_committeemember", member)
    with transaction.atomic():
        locked = _locked(member)
        _check_version(locked, version)
        if locked.left_on is not None:
            raise ConflictError(_("该委员已离任，不能再修改。"))
        diff = _apply(locked, changes, COMMITTEE_FIELDS)
        if not diff:
            return locked
        _validate_member(locked, diff)
        _bump(locked, diff)
        audit(actor=actor, action="orgs.committee_member.update", obj=locked, changes=diff)
    return locked


def committee_member_leave(
    *, actor: Any, member: CommitteeMember, version: int, left_on: dt.date
) -> CommitteeMember:
    """Record that a member left the committee; the row stays as the roster's history."""
    _require(actor, "orgs.change_committeemember", member)
    if left_on is None:
        raise ValidationError({"left_on": _("请填写离任日期。")})
    with transaction.atomic():
        locked = _locked(member)
        _check_version(locked, version)
        if locked.left_on is not None:
            raise ConflictError(_("该委员已离任。"))
        if left_on < locked.term_start:
            raise ValidationError({"left_on": _("离任日期不能早于任期开始。")})
        locked.left_on = left_on
        _bump(locked, ["left_on"])
        audit(
            actor=actor,
            action="orgs.committee_member.leave",
            obj=locked,
            changes={"left_on": _plain(left_on)},
        )
    return locked


# ---------------------------------------------------------------------------------------------
# leader contact points (领导联系点) and the projects leaders lead there (领办项目)


def _validate_contact_point(point: ContactPoint, fields: Iterable[str]) -> None:
    errors: dict[str, str] = {}
    if point.community.level != Level.COMMUNITY:
        errors["community"] = _("领导联系点须设在社区。")
    elif point.community.closed_at is not None:
        errors["community"] = _("所选社区已撤销。")
    if not point.leader_name:
        errors["leader_name"] = _("请填写联系领导姓名。")
    if not point.leader_title:
        errors["leader_title"] = _("请填写联系领导职务。")
    if point.starts_on is None:
        errors["starts_on"] = _("请填写联系起始日期。")
    elif point.ends_on is not None and point.ends_on < point.starts_on:
        errors["ends_on"] = _("联系结束不能早于联系起始。")
    if errors:
        raise ValidationError(errors)
    _validate_fields(point, set(fields) - {"community"})


def contact_point_create(
    *,
    actor: Any,
    community: OrgNode,
    leader_name: str,
    leader_title: str,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    note: str = "",
) -> ContactPoint:
    """Link a leader to a community (领导联系点); district and street admins arrange these."""
    _require(actor, "orgs.add_contact_point", community)
    point = ContactPoint(
        community=community,
        leader_name=_clean_text(leader_name or ""),
        leader_title=_clean_text(leader_title or ""),
        starts_on=starts_on,
        ends_on=ends_on,
        note=_clean_text(note or ""),
    )
    _validate_contact_point(point, CONTACT_POINT_FIELDS)
    with transaction.atomic():
        point.save()
        audit(
            actor=actor,
            action="orgs.contact_point.create",
            obj=point,
            changes={"community": community.name, "leader": point.leader_name},
        )
    return point


def contact_point_update(
    *, actor: Any, contact_point: ContactPoint, version: int, changes: Mapping[str, Any]
) -> ContactPoint:
    """Edit a contact point; moving it to another community needs that community in scope."""
    _require(actor, "orgs.change_contactpoint", contact_point)
    new_community = changes.get("community")
    if new_community is not None and new_community.pk != contact_point.community_id:
        _require(actor, "orgs.add_contact_point", new_community)
    with transaction.atomic():
        locked = _locked(contact_point)
        _check_version(locked, version)
        diff = _apply(locked, changes, CONTACT_POINT_FIELDS)
        if not diff:
            return locked
        _validate_contact_point(locked, diff)
        _bump(locked, diff)
        audit(actor=actor, action="orgs.contact_point.update", obj=locked, changes=diff)
    return locked


def _validate_project(project: ContactProject, fields: Iterable[str]) -> None:
    if not project.name:
        raise ValidationError({"name": _("请填写项目名称。")})
    if project.status not in ProjectStatus.values:
        raise ValidationError({"status": _("项目进度不正确。")})
    _validate_fields(project, set(fields) - {"contact_point"})


def contact_project_add(
    *,
    actor: Any,
    contact_point: ContactPoint,
    name: str,
    goal: str = "",
    status: str = ProjectStatus.PLANNED,
    due_on: dt.date | None = None,
) -> ContactProject:
    """Add a party-building project the leader leads at this contact point (领办项目)."""
    _require(actor, "orgs.change_contactpoint", contact_point)
    project = ContactProject(
        contact_point=contact_point,
        name=_clean_text(name or ""),
        goal=_clean_text(goal or ""),
        status=status,
        due_on=due_on,
    )
    _validate_project(project, CONTACT_PROJECT_FIELDS)
    with transaction.atomic():
        project.save()
        audit(
            actor=actor,
            action="orgs.contact_project.add",
            obj=project,
            changes={"contact_point": contact_point.pk, "name": project.name},
        )
    return project


def contact_project_update(
    *, actor: Any, project: ContactProject, version: int, changes: Mapping[str, Any]
) -> ContactProject:
    """Edit a project's name, goal, progress or due date."""
    _require(actor, "orgs.change_contactpoint", project.contact_point)
    with transaction.atomic():
        locked = _locked(project)
        _check_version(locked, version)
        diff = _apply(locked, changes, CONTACT_PROJECT_FIELDS)
        if not diff:
            return locked
        _validate_project(locked, diff)
        _bump(locked, diff)
        audit(actor=actor, action="orgs.contact_project.update", obj=locked, changes=diff)
    return locked

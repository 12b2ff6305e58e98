"""Writes to grids and visits. Each service is one transaction with its audit record.

Shared conventions (as in orgs/services.py): keyword-only arguments; `actor` is the acting user
or None for the system (demo seed), which skips the permission check; the permission is checked
here again; updates take the `version` the client saw and raise ConflictError when the row moved
on; bad input raises ValidationError with a field dict, in Chinese.

Every boundary write also changes the BoundaryRevision token in the same transaction, which is
how each process's point-in-grid index (geo.py) learns that it must rebuild.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome
from tongxin.grids import geo
from tongxin.grids.models import (
    BoundaryRevision,
    FollowUp,
    FollowUpStatus,
    Grid,
    NeedCategory,
    Visit,
    VisitNeed,
)
from tongxin.grids.rules import can
from tongxin.grids.selectors import sibling_shapes
from tongxin.orgs.models import Level, OrgNode
from tongxin.people.models import Household

GRID_FIELDS = frozenset(
    {"code", "households_min", "households_max", "population_min", "population_max"}
)
NORM_PAIRS = (("households_min", "households_max"), ("population_min", "population_max"))
NORM_LIMIT = 100_000
MAX_FEATURES = 5_000
VISIT_FIELDS = frozenset({"visited_on", "companions", "summary"})
MAX_NEEDS = 20
MAX_FOLLOW_UPS = 20
# "Leave this field as it is" where None is a meaningful value (no due date).
KEEP: Any = object()

# ---------------------------------------------------------------------------------------------
# shared plumbing


def _require(actor: Any, perm: str, obj: Any) -> None:
    """Refuse (and audit the refusal) unless the actor holds `perm` on `obj`; None is the system."""
    if actor is None or can(actor, perm, obj):
        return
    audit(actor=actor, action=perm, obj=obj, outcome=AuditOutcome.DENIED)
    raise PermissionDenied


def _check_version(current: int, version: int | None) -> None:
    if version is None or int(version) != current:
        raise ConflictError(_("该记录已被他人修改，请刷新后重试。"))


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def bump_boundary_revision() -> None:
    """Tell every process's point-in-grid index to rebuild (inside the caller's transaction)."""
    token = uuid.uuid4().hex
    now = timezone.now()
    updated = BoundaryRevision.objects.filter(pk=geo.REVISION_PK).update(
        token=token, changes=F("changes") + 1, changed_at=now
    )
    if not updated:
        # The migration creates the row; only a flushed test database lacks it.
        _row, created = BoundaryRevision.objects.get_or_create(
            pk=geo.REVISION_PK, defaults={"token": token, "changes": 1}
        )
        if not created:
            BoundaryRevision.objects.filter(pk=geo.REVISION_PK).update(
                token=token, changes=F("changes") + 1, changed_at=now
            )


def _set_boundary(profile: Grid, geom: Any) -> None:
    summary = geo.summarize(geom)
    profile.boundary = geo.to_geojson(geom)
    profile.centroid_lng, profile.centroid_lat = summary.centroid
    profile.min_lng, profile.min_lat, profile.max_lng, profile.max_lat = summary.bbox
    profile.area_m2 = summary.area_m2
    profile.boundary_updated_at = timezone.now()


def _clear_boundary(profile: Grid) -> None:
    profile.boundary = None
    profile.centroid_lng = profile.centroid_lat = None
    profile.min_lng = profile.min_lat = profile.max_lng = profile.max_lat = None
    profile.area_m2 = None
    profile.boundary_updated_at = timezone.now()


def _to_wgs84_geometry(data: Any, crs: str) -> Any:
    """Validate a GeoJSON geometry given in `crs` and return it in WGS-84 (GeometryError)."""
    if crs not in geo.CRS_CHOICES:
        raise geo.GeometryError([_("不支持的坐标系：%(crs)s。") % {"crs": crs}])
    geom = geo.parse_boundary(data)
    if crs == geo.WGS84:
        return geom
    converted = geo.normalize(geo.convert_geometry(geom, crs, geo.WGS84))
    if not converted.is_valid:  # the offset is smooth, but a sliver can still fold over
        raise geo.GeometryError([geo.explain_invalid(converted)])
    return converted


def _overlap_refusal(overlaps: Sequence[geo.Overlap]) -> list[str]:
    return [o.pair_message for o in overlaps] + [
        _("相邻网格边界不应重叠；确需保留时请选择“允许重叠”后重新提交。")
    ]


def _validate_norms(values: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in ("households_min", "households_max", "population_min", "population_max"):
        value = values[name]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= NORM_LIMIT:
            errors[name] = _("请填写 0 到 %(n)d 之间的整数。") % {"n": NORM_LIMIT}
    for low, high in NORM_PAIRS:
        if low not in errors and high not in errors and values[low] > values[high]:
            errors[high] = _("上限不能小于下限。")
    return errors


def _check_code(code: str, node: OrgNode) -> None:
    if not code:
        return
    clash = Grid.objects.filter(code=code).exclude(node=node).select_related("node").first()
    if clash is not None:
        raise ValidationError(
            {"code": _("网格编码已被“%(name)s”使用。") % {"name": clash.node.name}}
        )


def _locked_profile(node: OrgNode) -> tuple[OrgNode, Grid]:
    """Lock the grid node (which serializes the first creation of its profile) and its profile;
    a grid without one gets an unsaved profile at version 0."""
    locked = OrgNode.objects.select_for_update().get(pk=node.pk)
    profile = Grid.objects.select_for_update().filter(node=locked).first()
    if profile is None:
        profile = Grid(node=locked, code=locked.code)
        profile.version = 0
    return locked, profile


def _save_profile(profile: Grid) -> None:
    profile.version += 1
    profile.full_clean(
        exclude=["node", "boundary"], validate_unique=False, validate_constraints=False
    )
    profile.save()


# ---------------------------------------------------------------------------------------------
# grids


@dataclass
class GridWrite:
    grid: Grid
    warnings: list[str] = field(default_factory=list)


def grid_update(
    *,
    actor: Any,
    node: OrgNode,
    version: int,
    changes: Mapping[str, Any] | None = None,
    boundary: dict[str, Any] | None = None,
    clear_boundary: bool = False,
    crs: str = geo.WGS84,
    allow_overlaps: bool = False,
) -> GridWrite:
    """Edit a grid's code and norms and/or replace its boundary (given in `crs`).

    `version` is the profile's version the client saw, 0 for a grid without a profile yet.
    A boundary overlapping a sibling grid is refused unless `allow_overlaps`; then the overlaps
    come back as warnings.
    """
    changes = dict(changes or {})
    unknown = set(changes) - GRID_FIELDS
    if unknown:
        raise TypeError(f"fields not editable here: {sorted(unknown)}")
    if node.level != Level.GRID:
        raise ValidationError({"node": _("只有网格层级的组织才有网格档案。")})
    _require(actor, "grids.change_grid", node)
    geom = None
    if boundary is not None:
        try:
            geom = _to_wgs84_geometry(boundary, crs)
        except geo.GeometryError as exc:
            raise ValidationError({"boundary": exc.messages}) from None
    warnings: list[str] = []
    with transaction.atomic():
        locked, profile = _locked_profile(node)
        _check_version(profile.version, version)
        if locked.closed_at is not None:
            raise ConflictError(_("该网格已撤销，不能修改。"))
        diff: dict[str, list[Any]] = {}
        if "code" in changes:
            changes["code"] = (changes["code"] or "").strip()
        norms = {
            name: changes.get(name, getattr(profile, name))
            for name in ("households_min", "households_max", "population_min", "population_max")
        }
        errors = _validate_norms(norms)
        if errors:
            raise ValidationError(errors)
        for name, value in changes.items():
            if getattr(profile, name) != value:
                diff[name] = [getattr(profile, name), value]
                setattr(profile, name, value)
        if "code" in diff:
            _check_code(profile.code, locked)
        boundary_changed = False
        if geom is not None:
            overlaps = geo.find_overlaps(
                [geo.Shape(locked.pk, locked.name, geom)],
                sibling_shapes([locked.parent_id], exclude={locked.pk}),
            )
            if overlaps and not allow_overlaps:
                raise ValidationError({"boundary": _overlap_refusal(overlaps)})
            warnings = [o.pair_message for o in overlaps]
            before_area = profile.area_m2
            _set_boundary(profile, geom)
            diff["boundary"] = [
                round(before_area) if before_area else None,
                round(profile.area_m2 or 0),
            ]
            boundary_changed = True
        elif clear_boundary and profile.boundary is not None:
            diff["boundary"] = [round(profile.area_m2 or 0), None]
            _clear_boundary(profile)
            boundary_changed = True
        if not diff:
            return GridWrite(profile, warnings)
        _save_profile(profile)
        if boundary_changed:
            bump_boundary_revision()
        audit(
            actor=actor,
            action="grids.grid.update",
            obj=locked,
            changes={**diff, **({"overlaps": warnings} if warnings else {})},
        )
    return GridWrite(profile, warnings)


@dataclass(frozen=True)
class FeatureProblem:
    """One reason a feature of an import was refused; `feature` counts from 1."""

    feature: int
    ref: str
    message: str

    def __str__(self) -> str:
        where = _("第 %(n)d 个要素") % {"n": self.feature}
        if self.ref:
            where = f"{where}（{self.ref}）"
        return f"{where}：{self.message}"


class BoundaryImportError(ValidationError):
    """The whole import was refused; `problems` lists every feature's problems."""

    def __init__(self, problems: list[FeatureProblem]) -> None:
        super().__init__({"features": [str(p) for p in problems]})
        self.problems = problems


@dataclass
class ImportResult:
    grids: list[OrgNode]
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Target:
    index: int
    ref: str
    node: OrgNode
    geom: Any


def _feature_ref(properties: Mapping[str, Any]) -> tuple[int | None, str, str]:
    """(node id, code, label) from a feature's properties."""
    raw_id = properties.get("node_id")
    node_id = None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        node_id = raw_id
    elif isinstance(raw_id, str) and raw_id.strip().isdigit():
        node_id = int(raw_id.strip())
    code = properties.get("code")
    code = code.strip() if isinstance(code, str) else ""
    name = properties.get("name") if isinstance(properties.get("name"), str) else ""
    label = name or code or (str(node_id) if node_id else "")
    return node_id, code, label


def _import_crs(collection: Mapping[str, Any], crs: str | None) -> str:
    named = collection.get("coordinate_system")
    if crs:
        return crs
    if isinstance(named, str) and named in geo.CRS_CHOICES:
        return named
    return geo.WGS84


def grid_boundaries_import(
    *,
    actor: Any,
    collection: Any,
    crs: str | None = None,
    allow_overlaps: bool = False,
) -> ImportResult:
    """Replace the boundaries of the grids named in a GeoJSON FeatureCollection, all or nothing.

    Each feature names its grid with `properties.node_id` (the grid's id, as exported) or
    `properties.code` (the grid code, else the org node's code). `crs` (wgs84, gcj02, bd09) says
    what the coordinates are in; without it the collection's `coordinate_system` member (written
    by our GCJ-02 export) or WGS-84. Every problem of every feature is collected; if there is any,
    BoundaryImportError lists them all and nothing is written. Overlaps between sibling grids
    (after the import) are problems unless `allow_overlaps`, then warnings.
    """
    if not isinstance(collection, Mapping) or collection.get("type") != "FeatureCollection":
        raise ValidationError({"file": _("文件须为 GeoJSON FeatureCollection。")})
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise ValidationError({"file": _("文件中没有任何要素（features）。")})
    if len(features) > MAX_FEATURES:
        raise ValidationError({"file": _("一次最多导入 %(n)d 个网格边界。") % {"n": MAX_FEATURES}})
    crs = _import_crs(collection, crs)
    if crs not in geo.CRS_CHOICES:
        raise ValidationError({"crs": _("不支持的坐标系：%(crs)s。") % {"crs": crs}})

    problems: list[FeatureProblem] = []
    parsed: list[tuple[int, str, int | None, str, Any]] = []
    for index, feature in enumerate(features, start=1):
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            problems.append(FeatureProblem(index, "", _("不是 GeoJSON Feature。")))
            continue
        properties = feature.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        node_id, code, label = _feature_ref(properties)
        if node_id is None and not code:
            problems.append(
                FeatureProblem(
                    index, label, _("属性中须有 node_id（网格编号）或 code（网格编码）。")
                )
            )
            continue
        try:
            geom = _to_wgs84_geometry(feature.get("geometry"), crs)
        except geo.GeometryError as exc:
            problems.extend(FeatureProblem(index, label, m) for m in exc.messages)
            continue
        parsed.append((index, label, node_id, code, geom))

    # Resolve every reference in three queries, whatever the number of features.
    ids = {node_id for _i, _l, node_id, _c, _g in parsed if node_id is not None}
    codes = {code for _i, _l, node_id, code, _g in parsed if node_id is None}
    by_id = {n.pk: n for n in OrgNode.objects.filter(pk__in=ids, level=Level.GRID)}
    by_profile_code = {
        g.code: g.node for g in Grid.objects.filter(code__in=codes).select_related("node")
    }
    by_node_code: dict[str, list[OrgNode]] = {}
    for n in OrgNode.objects.filter(code__in=codes, level=Level.GRID):
        by_node_code.setdefault(n.code, []).append(n)

    targets: list[_Target] = []
    seen: dict[int, int] = {}
    for index, label, node_id, code, geom in parsed:
        if node_id is not None:
            node = by_id.get(node_id)
        else:
            node = by_profile_code.get(code)
            if node is None and len(by_node_code.get(code, [])) == 1:
                node = by_node_code[code][0]
        # Same answer for "no such grid" and "not yours": nothing leaks outside the scope.
        if node is None or (actor is not None and not can(actor, "grids.change_grid", node)):
            problems.append(FeatureProblem(index, label, _("找不到该网格，或无权修改其边界。")))
            continue
        if node.closed_at is not None:
            problems.append(FeatureProblem(index, label, _("该网格已撤销。")))
            continue
        if node.pk in seen:
            problems.append(
                FeatureProblem(
                    index, label, _("与第 %(n)d 个要素是同一网格。") % {"n": seen[node.pk]}
                )
            )
            continue
        seen[node.pk] = index
        targets.append(_Target(index, label or node.name, node, geom))

    warnings: list[str] = []
    if targets:
        new_ids = {t.node.pk for t in targets}
        subjects = [geo.Shape(t.node.pk, t.node.name, t.geom) for t in targets]
        stored = sibling_shapes(sorted({t.node.parent_id for t in targets}), exclude=new_ids)
        # Group by community: only siblings are compared.
        parent_of = {t.node.pk: t.node.parent_id for t in targets}
        stored_parent = dict(
            OrgNode.objects.filter(pk__in=[s.id for s in stored]).values_list("pk", "parent_id")
        )
        parent_of.update(stored_parent)
        index_of = {t.node.pk: t.index for t in targets}
        overlaps = [
            o
            for o in geo.find_overlaps(subjects, subjects + stored)
            if parent_of.get(o.a_id) == parent_of.get(o.b_id)
        ]
        if overlaps and not allow_overlaps:
            for o in overlaps:
                problems.append(FeatureProblem(index_of[o.a_id], o.a_name, o.message))
        warnings = [o.pair_message for o in overlaps]

    if problems:
        problems.sort(key=lambda p: p.feature)
        raise BoundaryImportError(problems)

    with transaction.atomic():
        # Lock in id order: two imports touching the same grids cannot deadlock.
        locked_nodes = {
            n.pk: n
            for n in OrgNode.objects.select_for_update()
            .filter(pk__in=[t.node.pk for t in targets])
            .order_by("pk")
        }
        profiles = {
            g.node_id: g
            for g in Grid.objects.select_for_update().filter(node_id__in=list(locked_nodes))
        }
        changed = []
        for target in targets:
            node = locked_nodes[target.node.pk]
            if node.closed_at is not None:
                raise ConflictError(_("网格“%(name)s”已撤销。") % {"name": node.name})
            profile = profiles.get(node.pk)
            if profile is None:
                profile = Grid(node=node, code=_free_code(node))
                profile.version = 0
            _set_boundary(profile, target.geom)
            _save_profile(profile)
            changed.append(node)
        bump_boundary_revision()
        audit(
            actor=actor,
            action="grids.boundary.import",
            object_type="grids.grid",
            object_repr=_("导入 %(n)d 个网格边界") % {"n": len(changed)},
            changes={
                "grids": [n.pk for n in changed],
                "crs": crs,
                "overlaps": warnings,
            },
            username="" if actor is not None else "system",
        )
    return ImportResult(grids=changed, warnings=warnings)


def _free_code(node: OrgNode) -> str:
    """A new profile takes its node's code, unless another grid already uses it."""
    if node.code and not Grid.objects.filter(code=node.code).exists():
        return node.code
    return ""


# ---------------------------------------------------------------------------------------------
# visits


def _today() -> dt.date:
    return timezone.localdate()


def _clean_text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _check_need(data: Mapping[str, Any], where: str) -> tuple[str, str] | str:
    category = data.get("category")
    description = _clean_text(data.get("description"))
    if category not in NeedCategory.values:
        return _("%(where)s：请选择诉求类别。") % {"where": where}
    if not description:
        return _("%(where)s：请填写诉求内容。") % {"where": where}
    if len(description) > 500:
        return _("%(where)s：诉求内容不能超过 500 字。") % {"where": where}
    return category, description


def _check_follow_up(
    data: Mapping[str, Any], where: str, visited_on: dt.date | None
) -> tuple[str, dt.date | None] | str:
    action = _clean_text(data.get("action"))
    due_on = data.get("due_on")
    if not action:
        return _("%(where)s：请填写跟进事项。") % {"where": where}
    if len(action) > 300:
        return _("%(where)s：跟进事项不能超过 300 字。") % {"where": where}
    if due_on is not None and not isinstance(due_on, dt.date):
        return _("%(where)s：办理期限不是有效日期。") % {"where": where}
    if due_on is not None and visited_on is not None and due_on < visited_on:
        return _("%(where)s：办理期限不能早于走访日期。") % {"where": where}
    return action, due_on


def _check_visit_fields(values: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    visited_on = values.get("visited_on")
    if not isinstance(visited_on, dt.date):
        errors["visited_on"] = _("请填写走访日期。")
    elif visited_on > _today():
        errors["visited_on"] = _("走访日期不能晚于今天。")
    summary = _clean_text(values.get("summary"))
    if not summary:
        errors["summary"] = _("请填写走访情况。")
    elif len(summary) > 2000:
        errors["summary"] = _("走访情况不能超过 2000 字。")
    if len(_clean_text(values.get("companions"))) > 100:
        errors["companions"] = _("同行人员不能超过 100 字。")
    return errors


def visit_create(
    *,
    actor: Any,
    household: Household,
    visited_on: dt.date,
    summary: str,
    companions: str = "",
    needs: Sequence[Mapping[str, Any]] = (),
    follow_ups: Sequence[Mapping[str, Any]] = (),
) -> Visit:
    """Record a household visit with the needs raised and what is to be followed up.

    `needs` are {category, description}; `follow_ups` are {action, due_on, need} where `need`
    is the 0-based position of the need it answers (optional).
    """
    _require(actor, "grids.add_visit", household)
    errors: dict[str, Any] = _check_visit_fields(
        {"visited_on": visited_on, "summary": summary, "companions": companions}
    )
    if len(needs) > MAX_NEEDS:
        errors["needs"] = _("一次走访最多登记 %(n)d 条诉求。") % {"n": MAX_NEEDS}
    if len(follow_ups) > MAX_FOLLOW_UPS:
        errors["follow_ups"] = _("一次走访最多登记 %(n)d 项跟进事项。") % {"n": MAX_FOLLOW_UPS}
    checked_needs: list[tuple[str, str]] = []
    need_errors: list[str] = []
    for i, data in enumerate(needs[:MAX_NEEDS], start=1):
        result = _check_need(data, _("第 %(n)d 条诉求") % {"n": i})
        if isinstance(result, str):
            need_errors.append(result)
        else:
            checked_needs.append(result)
    checked_follow_ups: list[tuple[str, dt.date | None, int | None]] = []
    follow_up_errors: list[str] = []
    day = visited_on if isinstance(visited_on, dt.date) else None
    for i, data in enumerate(follow_ups[:MAX_FOLLOW_UPS], start=1):
        where = _("第 %(n)d 项跟进事项") % {"n": i}
        result = _check_follow_up(data, where, day)
        need_index = data.get("need")
        if isinstance(result, str):
            follow_up_errors.append(result)
        elif need_index is not None and not (
            isinstance(need_index, int) and 0 <= need_index < len(needs)
        ):
            follow_up_errors.append(_("%(where)s：对应的诉求不存在。") % {"where": where})
        else:
            checked_follow_ups.append((*result, need_index))
    if need_errors:
        errors["needs"] = need_errors
    if follow_up_errors:
        errors["follow_ups"] = follow_up_errors
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        visit = Visit.objects.create(
            node=household.node,
            household=household,
            visited_on=visited_on,
            visitor=actor,
            companions=_clean_text(companions),
            summary=_clean_text(summary),
        )
        need_rows = VisitNeed.objects.bulk_create(
            [VisitNeed(visit=visit, category=c, description=d) for c, d in checked_needs]
        )
        FollowUp.objects.bulk_create(
            [
                FollowUp(
                    visit=visit,
                    action=action,
                    due_on=due_on,
                    need=need_rows[need_index] if need_index is not None else None,
                )
                for action, due_on, need_index in checked_follow_ups
            ]
        )
        # The diary's words stay out of the audit trail: it records who visited which household.
        audit(
            actor=actor,
            action="grids.visit.create",
            obj=visit,
            changes={
                "household": household.pk,
                "grid": household.node_id,
                "visited_on": visited_on.isoformat(),
                "needs": len(need_rows),
                "follow_ups": len(checked_follow_ups),
            },
        )
    return visit


def visit_update(*, actor: Any, visit: Visit, version: int, changes: Mapping[str, Any]) -> Visit:
    """Correct a visit's date, companions or notes."""
    changes = dict(changes)
    unknown = set(changes) - VISIT_FIELDS
    if unknown:
        raise TypeError(f"fields not editable here: {sorted(unknown)}")
    _require(actor, "grids.change_visit", visit)
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        _check_version(locked.version, version)
        values = {name: changes.get(name, getattr(locked, name)) for name in VISIT_FIELDS}
        errors = _check_visit_fields(values)
        if errors:
            raise ValidationError(errors)
        changed = []
        for name in VISIT_FIELDS & set(changes):
            value = _clean_text(values[name]) if name != "visited_on" else values[name]
            if getattr(locked, name) != value:
                setattr(locked, name, value)
                changed.append(name)
        if not changed:
            return locked
        locked.version += 1
        locked.save(update_fields=[*changed, "version", "updated_at"])
        audit(actor=actor, action="grids.visit.update", obj=locked, changes={"fields": changed})
    return locked


def follow_up_add(
    *,
    actor: Any,
    visit: Visit,
    action: str,
    due_on: dt.date | None = None,
    need: VisitNeed | None = None,
) -> FollowUp:
    _require(actor, "grids.add_followup", visit)
    result = _check_follow_up({"action": action, "due_on": due_on}, _("跟进事项"), visit.visited_on)
    if isinstance(result, str):
        raise ValidationError({"action": result})
    if need is not None and need.visit_id != visit.pk:
        raise ValidationError({"need": _("对应的诉求不属于这次走访。")})
    with transaction.atomic():
        follow_up = FollowUp.objects.create(visit=visit, action=result[0], due_on=due_on, need=need)
        audit(
            actor=actor, action="grids.follow_up.create", obj=follow_up, changes={"visit": visit.pk}
        )
    return follow_up


def follow_up_update(
    *,
    actor: Any,
    follow_up: FollowUp,
    version: int,
    status: str | None = None,
    result: str | None = None,
    due_on: Any = KEEP,
) -> FollowUp:
    """Mark a follow-up done (with what was done) or open again; move its due date."""
    _require(actor, "grids.change_followup", follow_up)
    if status is not None and status not in FollowUpStatus.values:
        raise ValidationError({"status": _("状态无效。")})
    result_text = _clean_text(result) if result is not None else None
    if result_text is not None and len(result_text) > 500:
        raise ValidationError({"result": _("办理结果不能超过 500 字。")})
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update().select_related("visit").get(pk=follow_up.pk)
        _check_version(locked.version, version)
        diff: dict[str, list[Any]] = {}
        if due_on is not KEEP:
            if due_on is not None and due_on < locked.visit.visited_on:
                raise ValidationError({"due_on": _("办理期限不能早于走访日期。")})
            if locked.due_on != due_on:
                diff["due_on"] = [_plain(locked.due_on), _plain(due_on)]
                locked.due_on = due_on
        if result_text is not None and result_text != locked.result:
            diff["result"] = ["…", "…"]  # the words stay out of the audit trail
            locked.result = result_text
        if status is not None and status != locked.status:
            diff["status"] = [locked.status, status]
            locked.status = status
            if status == FollowUpStatus.DONE:
                locked.done_at = timezone.now()
                locked.done_by = actor if getattr(actor, "is_authenticated", False) else None
            else:
                locked.done_at = None
                locked.done_by = None
        if not diff:
            return locked
        locked.version += 1
        locked.save()
        audit(actor=actor, action="grids.follow_up.update", obj=locked, changes=diff)
    return locked

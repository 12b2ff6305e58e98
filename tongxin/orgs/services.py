"""Writes to the organization network. Each service is one transaction with its audit record."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.orgs.models import (
    PARENT_LEVEL,
    NodeChange,
    NodeChangeKind,
    OrgCategory,
    OrgNode,
    PartyOrganization,
)
from tongxin.orgs.tree import depth_of, next_child_path


def _locked(node: OrgNode) -> OrgNode:
    return OrgNode.objects.select_for_update().get(pk=node.pk)


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
    """
    expected_parent = PARENT_LEVEL.get(level, "missing")
    if expected_parent == "missing":
        raise ValidationError({"level": _("未知的层级。")})
    if (parent.level if parent else None) != expected_parent:
        raise ValidationError({"parent": _("该层级的组织不能设在所选上级之下。")})
    if parent is not None and parent.closed_at is not None:
        raise ValidationError({"parent": _("上级组织已撤销，不能新增下级。")})
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空。")})
    with transaction.atomic():
        locked_parent = _locked(parent) if parent else None
        path = next_child_path(locked_parent)
        node = OrgNode.objects.create(
            parent=locked_parent,
            name=name,
            level=level,
            code=code,
            address=address,
            path=path,
            depth=depth_of(path),
        )
        org = None
        if party_org:
            org = PartyOrganization.objects.create(
                node=node, category=OrgCategory.TERRITORIAL, **party_org
            )
        after = {"name": name, "level": level, "parent": parent.name if parent else None}
        NodeChange.objects.create(node=node, kind=NodeChangeKind.CREATED, after=after, actor=actor)
        audit(
            actor=actor,
            action="orgs.node.create",
            obj=node,
            changes={**after, "party_org": org.name if org else None},
        )
    return node

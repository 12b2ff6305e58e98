"""Who may do what to one object of the organization network (`rules` predicates).

"What may this user see" is answered for whole querysets by selectors.py; these predicates answer
"may this user do X to this object" for buttons, views, the API and (again) the services. They
read only the user's cached role assignments, so checking one costs no query.

The scope rules (SPEC §1, the issue's scope table):
- business roles see the subtrees of their assignment nodes; the three admin roles see nothing;
- managing roles (district/street/community admin) create children and edit details at
  ancestor-or-self of a node, but rename, move, close and reopen only strictly below their node,
  so a community cannot rename or abolish itself while its street can;
- a unit liaison sees only their own unit(s) and may edit that unit's contact fields;
- contact points (领导联系点) are arranged by district and street admins for communities in scope.
"""

from __future__ import annotations

from typing import Any

import rules

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES, Role
from tongxin.core.scoping import grants, holds_role_over
from tongxin.orgs.models import (
    CommitteeMember,
    ContactPoint,
    ContactProject,
    InstructorAssignment,
    Level,
    OrgNode,
    PartyOrganization,
    ResidentUnit,
)

# Who sees units by territory: every business role except the liaison, who sees only their own.
UNIT_TERRITORY_ROLES = frozenset(BUSINESS_ROLES - {Role.UNIT_LIAISON})
CONTACT_EDIT_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN})
COMMITTEE_LEVELS = (Level.STREET, Level.COMMUNITY)


def _node_of(obj: Any) -> OrgNode | None:
    """The node an object is scoped by."""
    if isinstance(obj, OrgNode):
        return obj
    if isinstance(obj, (PartyOrganization, ResidentUnit)):
        return obj.node
    if isinstance(obj, CommitteeMember):
        return obj.body
    if isinstance(obj, ContactPoint):
        return obj.community
    if isinstance(obj, ContactProject):
        return obj.contact_point.community
    if isinstance(obj, InstructorAssignment):
        return obj.unit.node
    return None


def sees_node(user: Any, node: OrgNode | None) -> bool:
    return node is not None and holds_role_over(user, node.path, BUSINESS_ROLES)


def manages(user: Any, node: OrgNode | None) -> bool:
    return node is not None and holds_role_over(user, node.path, MANAGING_ROLES)


def manages_below(user: Any, node: OrgNode | None) -> bool:
    return node is not None and holds_role_over(user, node.path, MANAGING_ROLES, strict=True)


def liaison_unit_ids(user: Any) -> set[int]:
    return {g.unit_id for g in grants(user) if g.role == Role.UNIT_LIAISON and g.unit_id}


@rules.predicate
def can_see(user: Any, obj: Any) -> bool:
    return sees_node(user, _node_of(obj))


@rules.predicate
def can_manage(user: Any, obj: Any) -> bool:
    return manages(user, _node_of(obj))


@rules.predicate
def can_manage_below(user: Any, obj: Any) -> bool:
    return manages_below(user, _node_of(obj))


@rules.predicate
def can_see_unit(user: Any, unit: ResidentUnit | None) -> bool:
    if unit is None:
        return False
    if unit.pk in liaison_unit_ids(user):
        return True
    return holds_role_over(user, unit.node.path, UNIT_TERRITORY_ROLES)


@rules.predicate
def is_liaison_of(user: Any, unit: ResidentUnit | None) -> bool:
    return unit is not None and unit.pk in liaison_unit_ids(user)


@rules.predicate
def is_committee_body(user: Any, node: OrgNode | None) -> bool:
    return node is not None and node.level in COMMITTEE_LEVELS


@rules.predicate
def can_see_contact(user: Any, obj: Any) -> bool:
    node = _node_of(obj)
    return node is not None and holds_role_over(user, node.path, MANAGING_ROLES)


@rules.predicate
def can_arrange_contact(user: Any, obj: Any) -> bool:
    node = _node_of(obj)
    return node is not None and holds_role_over(user, node.path, CONTACT_EDIT_ROLES)


# Nodes. `add_node`, `add_party_org`, `add_unit`, `add_committee_member` and
# `add_contact_point` take the node that would receive the new object.
rules.add_perm("orgs.view_node", can_see)
rules.add_perm("orgs.add_node", can_manage)
rules.add_perm("orgs.change_node", can_manage)
rules.add_perm("orgs.rename_node", can_manage_below)
rules.add_perm("orgs.move_node", can_manage_below)
rules.add_perm("orgs.close_node", can_manage_below)
rules.add_perm("orgs.reopen_node", can_manage_below)

# Party organizations at a node (territorial ones are edited with their node).
rules.add_perm("orgs.view_partyorganization", can_see)
rules.add_perm("orgs.add_party_org", can_manage)
rules.add_perm("orgs.change_partyorganization", can_manage)

# Resident units.
rules.add_perm("orgs.view_residentunit", can_see_unit)
rules.add_perm("orgs.add_unit", can_manage)
rules.add_perm("orgs.change_residentunit", can_manage)
rules.add_perm("orgs.change_unit_contact", can_manage | is_liaison_of)
rules.add_perm("orgs.manage_instructors", can_manage)

# Part-time committee members of a 大工委 / 大党委.
rules.add_perm("orgs.view_committeemember", can_see)
rules.add_perm("orgs.add_committee_member", is_committee_body & can_manage)
rules.add_perm("orgs.change_committeemember", can_manage)

# Leader contact points.
rules.add_perm("orgs.view_contactpoint", can_see_contact)
rules.add_perm("orgs.add_contact_point", can_arrange_contact)
rules.add_perm("orgs.change_contactpoint", can_arrange_contact)


def can(user: Any, perm: str, obj: Any) -> bool:
    """Check one of the permissions above, and only the rules set.

    `user.has_perm` would also ask Django's ModelBackend, which says yes to any superuser:
    the organization scope must hold for every account, whatever its Django flags.
    """
    return rules.has_perm(perm, user, obj)

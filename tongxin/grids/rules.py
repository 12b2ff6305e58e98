"""Who may do what to grids and visits (`rules` predicates).

- see a grid (its profile, figures, boundary, managers): every business role over the grid node,
  as for the organization tree; the three administrator roles see nothing;
- edit a grid's code, norms and boundary, import boundaries: district / street / community
  admins over the grid (the people who draw the grid map); an import checks every feature's
  grid with `grids.change_grid`;
- record a visit: grid managers, members and community admins over the household's grid
  ("进千家门" is the grid manager's and the members' work; the community admin may log their own);
- read visits and follow-ups: the serving community only (community admins and grid managers
  holding their role at community level or below over the grid), and the visitor themselves.
  A visit's notes can reveal hardship, health or disputes, so street and district admins get
  the counts on the map, not the diary (SECURITY.md 13);
- edit a visit: its visitor (while they still hold a visiting role there) or the community admin;
- work a follow-up (mark it done, reopen it): the serving community and the visitor.
"""

from __future__ import annotations

from typing import Any

import rules

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES, Role
from tongxin.core.scoping import grants, holds_role_over
from tongxin.grids.models import FollowUp, Grid, Visit
from tongxin.orgs.models import PATH_SEGMENT_LENGTH, Level, OrgNode

GRID_VIEW_ROLES = BUSINESS_ROLES
GRID_EDIT_ROLES = MANAGING_ROLES
VISIT_RECORD_ROLES = frozenset({Role.GRID_MANAGER, Role.MEMBER, Role.COMMUNITY_ADMIN})
VISIT_SERVING_ROLES = frozenset({Role.COMMUNITY_ADMIN, Role.GRID_MANAGER})
VISIT_EDIT_ROLES = frozenset({Role.COMMUNITY_ADMIN})
# Everyone who may open a visit page at all; the selectors narrow what each one sees.
VISIT_PAGE_ROLES = VISIT_RECORD_ROLES | VISIT_SERVING_ROLES
# A grant at community depth (district.street.community.) or deeper.
COMMUNITY_PATH_LENGTH = (PATH_SEGMENT_LENGTH + 1) * 3


def serving_paths(user: Any) -> list[str]:
    """Paths where the user serves households directly: community-level grants and below."""
    return sorted(
        {
            g.path
            for g in grants(user)
            if g.role in VISIT_SERVING_ROLES and len(g.path) >= COMMUNITY_PATH_LENGTH
        }
    )


def serves_node(user: Any, node: OrgNode) -> bool:
    """Does the user serve the households of this node (may read its visits)?"""
    return any(node.path.startswith(p) for p in serving_paths(user))


def _node_of(obj: Any) -> OrgNode | None:
    if isinstance(obj, OrgNode):
        return obj
    if isinstance(obj, (Grid, Visit)):
        return obj.node
    if isinstance(obj, FollowUp):
        return obj.visit.node
    node = getattr(obj, "node", None)  # people.Household
    return node if isinstance(node, OrgNode) else None


def _visit_of(obj: Any) -> Visit | None:
    if isinstance(obj, Visit):
        return obj
    if isinstance(obj, FollowUp):
        return obj.visit
    return None


@rules.predicate
def sees_grid(user: Any, obj: Any) -> bool:
    node = _node_of(obj)
    return node is not None and holds_role_over(user, node.path, GRID_VIEW_ROLES)


@rules.predicate
def edits_grid(user: Any, obj: Any) -> bool:
    node = _node_of(obj)
    return (
        node is not None
        and node.level == Level.GRID
        and holds_role_over(user, node.path, GRID_EDIT_ROLES)
    )


@rules.predicate
def records_visits_at(user: Any, obj: Any) -> bool:
    node = _node_of(obj)
    return node is not None and holds_role_over(user, node.path, VISIT_RECORD_ROLES)


@rules.predicate
def serves(user: Any, obj: Any) -> bool:
    node = _node_of(obj)
    return node is not None and serves_node(user, node)


@rules.predicate
def is_visitor(user: Any, obj: Any) -> bool:
    visit = _visit_of(obj)
    return (
        visit is not None
        and user is not None
        and user.is_authenticated
        and visit.visitor_id == user.pk
        and holds_role_over(user, visit.node.path, VISIT_RECORD_ROLES)
    )


@rules.predicate
def community_admin_over(user: Any, obj: Any) -> bool:
    node = _node_of(obj)
    return node is not None and holds_role_over(user, node.path, VISIT_EDIT_ROLES)


rules.add_perm("grids.view_grid", sees_grid)
rules.add_perm("grids.change_grid", edits_grid)
# Takes the household to be visited.
rules.add_perm("grids.add_visit", records_visits_at)
rules.add_perm("grids.view_visit", serves | is_visitor)
rules.add_perm("grids.change_visit", is_visitor | community_admin_over)
rules.add_perm("grids.add_followup", is_visitor | serves)
rules.add_perm("grids.change_followup", is_visitor | serves)


def can(user: Any, perm: str, obj: Any) -> bool:
    """Only the rules set decides (a Django superuser flag grants nothing here)."""
    return rules.has_perm(perm, user, obj)

"""Who may do what in co-building (`rules` predicates), and which side of a move a user is.

Two kinds of actor meet here (SPEC §5):
- the organization side: a managing role (district / street / community admin) at or above the
  agreement's, body's or community's node — a street admin acts for the street and, as the
  level above, for its communities;
- the unit side: the liaison (驻区单位联络员) of the unit, who acts only for their own unit.

Only cached role assignments are read, so a check costs no query.
"""

from __future__ import annotations

from typing import Any

import rules

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES, Role
from tongxin.cobuild.models import (
    Agreement,
    Commitment,
    CommitmentSide,
    EvaluationDirection,
    EvaluationRound,
    JointMeeting,
    Resolution,
    ServiceProject,
    Venue,
)
from tongxin.cobuild.workflow import Move, Who
from tongxin.core.scoping import holds_role_over
from tongxin.orgs.models import Level, OrgNode, ResidentUnit
from tongxin.orgs.rules import liaison_unit_ids

# The pages of co-building: the organization side and the units' liaisons.
COBUILD_ROLES = frozenset(MANAGING_ROLES | {Role.UNIT_LIAISON})
# Venues are open to everyone who does business work (residents and members book them).
VENUE_ROLES = frozenset(BUSINESS_ROLES)
ORG_LEVELS = (Level.STREET, Level.COMMUNITY)


def is_org_actor(user: Any, node: OrgNode | None) -> bool:
    return node is not None and holds_role_over(user, node.path, MANAGING_ROLES)


def is_unit_actor(user: Any, unit: ResidentUnit | None) -> bool:
    return unit is not None and unit.pk in liaison_unit_ids(user)


def acts_for_unit(user: Any, unit: ResidentUnit | None) -> bool:
    """The unit's liaison, or an admin over the unit's location (who may act on its behalf)."""
    return unit is not None and (is_unit_actor(user, unit) or is_org_actor(user, unit.node))


def _sides(user: Any, agreement: Agreement) -> set[Who]:
    sides = set()
    if is_org_actor(user, agreement.node):
        sides.add(Who.ORG)
    if is_unit_actor(user, agreement.unit):
        sides.add(Who.UNIT)
    return sides


def commitment_qualifies(user: Any, move: Move, commitment: Commitment) -> bool:
    """Is `user` the kind of actor `move` needs on this commitment? (never SYSTEM)"""
    sides = _sides(user, commitment.agreement)
    owner = Who.ORG if commitment.side == CommitmentSide.ORGANIZATION else Who.UNIT
    other = Who.UNIT if owner == Who.ORG else Who.ORG
    return (
        (Who.OWNER in move.who and owner in sides)
        or (Who.OTHER in move.who and other in sides)
        or (Who.ORG in move.who and Who.ORG in sides)
        or (Who.UNIT in move.who and Who.UNIT in sides)
    )


def who_label(move: Move, commitment: Commitment | None = None) -> str:
    from django.utils.translation import gettext as _

    if commitment is not None and move.who & {Who.OWNER, Who.OTHER}:
        owner_is_org = commitment.side == CommitmentSide.ORGANIZATION
        org_side = (Who.OWNER in move.who) == owner_is_org
        return (
            _("只有%(node)s的管理员可以执行此操作。") % {"node": commitment.agreement.node.name}
            if org_side
            else _("只有%(unit)s的联络员可以执行此操作。")
            % {"unit": commitment.agreement.unit.name}
        )
    if Who.UNIT in move.who:
        return _("只有组织方管理员或单位联络员可以执行此操作。")
    return _("只有组织方（街道/社区）管理员可以执行此操作。")


def org_or_unit_qualifies(user: Any, move: Move, node: OrgNode, unit: ResidentUnit | None) -> bool:
    return (Who.ORG in move.who and is_org_actor(user, node)) or (
        Who.UNIT in move.who and is_unit_actor(user, unit)
    )


# ---------------------------------------------------------------------------------------------
# predicates


@rules.predicate
def can_add_agreement(user: Any, node: OrgNode | None) -> bool:
    return node is not None and node.level in ORG_LEVELS and is_org_actor(user, node)


@rules.predicate
def can_manage_agreement(user: Any, agreement: Agreement) -> bool:
    return is_org_actor(user, agreement.node)


@rules.predicate
def can_act_on_agreement(user: Any, agreement: Agreement) -> bool:
    return bool(_sides(user, agreement))


@rules.predicate
def can_manage_unit_items(user: Any, unit: ResidentUnit | None) -> bool:
    return acts_for_unit(user, unit)


@rules.predicate
def can_manage_community(user: Any, node: OrgNode | None) -> bool:
    return node is not None and node.level == Level.COMMUNITY and is_org_actor(user, node)


@rules.predicate
def can_manage_body(user: Any, node: OrgNode | None) -> bool:
    return node is not None and node.level in ORG_LEVELS and is_org_actor(user, node)


@rules.predicate
def can_manage_meeting(user: Any, meeting: JointMeeting) -> bool:
    return is_org_actor(user, meeting.body)


@rules.predicate
def can_follow_up(user: Any, resolution: Resolution) -> bool:
    return is_org_actor(user, resolution.meeting.body) or is_unit_actor(user, resolution.owner_unit)


@rules.predicate
def can_manage_project(user: Any, project: ServiceProject) -> bool:
    return is_org_actor(user, project.community) or is_unit_actor(user, project.unit)


@rules.predicate
def can_manage_venue(user: Any, venue: Venue) -> bool:
    return acts_for_unit(user, venue.unit)


@rules.predicate
def can_manage_round(user: Any, evaluation: EvaluationRound) -> bool:
    return is_org_actor(user, evaluation.node)


def can_fill_sheet(user: Any, direction: str, unit: ResidentUnit, community: OrgNode) -> bool:
    """Units score their community (the liaison); the community scores each unit (its admins)."""
    if direction == EvaluationDirection.UNIT_RATES_COMMUNITY:
        return is_unit_actor(user, unit)
    return is_org_actor(user, community)


@rules.predicate
def can_record_consultation(user: Any, unit: ResidentUnit | None) -> bool:
    return acts_for_unit(user, unit)


rules.add_perm("cobuild.add_agreement", can_add_agreement)
rules.add_perm("cobuild.change_agreement", can_manage_agreement)
rules.add_perm("cobuild.act_on_agreement", can_act_on_agreement)
rules.add_perm("cobuild.add_secondment", can_manage_community)
rules.add_perm("cobuild.manage_unit_items", can_manage_unit_items)
rules.add_perm("cobuild.add_need", can_manage_community)
rules.add_perm("cobuild.add_project", can_manage_community)
rules.add_perm("cobuild.change_project", can_manage_project)
rules.add_perm("cobuild.change_venue", can_manage_venue)
rules.add_perm("cobuild.add_meeting", can_manage_body)
rules.add_perm("cobuild.change_meeting", can_manage_meeting)
rules.add_perm("cobuild.follow_up_resolution", can_follow_up)
rules.add_perm("cobuild.add_round", can_manage_body)
rules.add_perm("cobuild.change_round", can_manage_round)
rules.add_perm("cobuild.record_consultation", can_record_consultation)


def can(user: Any, perm: str, obj: Any) -> bool:
    """Only the rules set decides (ModelBackend would say yes to any superuser)."""
    return rules.has_perm(perm, user, obj)

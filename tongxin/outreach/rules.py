"""Who is which actor of the outreach move tables, and who may create what (`rules` predicates).

Scope is data: every wish, order, activity, claim and point carries its community node. A user
relates to a community in two ways:
- *managing* it: district / street / community admin at or above it (their subtree);
- *living or serving in* it: any business role held at the community or below (a resident or
  member at a grid, a unit liaison at the unit's node) — their "home" communities.
Volunteers (people.Volunteer, linked through person.user) belong to the communities of their own
grid and of their teams. Role assignments are cached per user object (core.scoping.grants); the
volunteer look-up is one query per user object, then cached as well.
"""

from __future__ import annotations

from typing import Any

import rules

from tongxin.accounts.models import BUSINESS_ROLES, MANAGING_ROLES, Role
from tongxin.core.scoping import grants, has_role, holds_role_over
from tongxin.orgs.models import PATH_SEGMENT_LENGTH
from tongxin.outreach.models import HoursClaim, ServiceOrder, Signup, Wish
from tongxin.outreach.workflow import (
    HOURS_MOVES,
    ORDER_MOVES,
    SIGNUP_MOVES,
    WISH_MOVES,
    Move,
    Who,
)

# The tree is strictly layered (district › street › community), so a community's path is the
# first three segments of the path of any node at or below it.
COMMUNITY_PATH_LENGTH = 3 * (PATH_SEGMENT_LENGTH + 1)

WISH_POSTING_ROLES = frozenset({Role.RESIDENT, Role.MEMBER})
CLAIMING_ROLES = frozenset({Role.MEMBER, Role.UNIT_LIAISON})
ORDER_PLACING_ROLES = frozenset({Role.RESIDENT, Role.MEMBER})
VETTING_ROLES = frozenset({Role.COMMUNITY_ADMIN})
# Pages: everyone doing business work has something here (the 三员 do not).
OUTREACH_ROLES = frozenset(BUSINESS_ROLES - {Role.DEPARTMENT})
_VOLUNTEER_ATTR = "_tongxin_outreach_volunteer"


def community_path(path: str) -> str | None:
    return path[:COMMUNITY_PATH_LENGTH] if len(path) >= COMMUNITY_PATH_LENGTH else None


def home_community_paths(user: Any, roles: frozenset[str] | set[str] = OUTREACH_ROLES) -> set[str]:
    """Communities the user holds one of `roles` in (at the community or below it)."""
    found = {community_path(g.path) for g in grants(user) if g.role in roles}
    found.discard(None)
    return found  # type: ignore[return-value]


def manages(user: Any, path: str) -> bool:
    return holds_role_over(user, path, MANAGING_ROLES)


# ---------------------------------------------------------------------------------------------
# volunteers


class VolunteerInfo:
    """The user's active volunteer record (or None) and the communities it serves."""

    def __init__(self, volunteer: Any, paths: set[str]) -> None:
        self.volunteer = volunteer
        self.paths = paths


def volunteer_info(user: Any) -> VolunteerInfo:
    if user is None or not user.is_authenticated:
        return VolunteerInfo(None, set())
    cached = getattr(user, _VOLUNTEER_ATTR, None)
    if cached is None:
        from tongxin.people.models import Volunteer

        volunteer = (
            Volunteer.objects.filter(person__user=user, active=True)
            .select_related("person__node")
            .prefetch_related("teams__node")
            .first()
        )
        paths: set[str] = set()
        if volunteer is not None:
            nodes = [volunteer.person.node] + [
                t.node for t in volunteer.teams.all() if t.closed_at is None
            ]
            paths = {p for p in (community_path(n.path) for n in nodes) if p}
        cached = VolunteerInfo(volunteer, paths)
        setattr(user, _VOLUNTEER_ATTR, cached)
    return cached


def forget_volunteer(user: Any) -> None:
    if hasattr(user, _VOLUNTEER_ATTR):
        delattr(user, _VOLUNTEER_ATTR)


def is_volunteer_of(user: Any, path: str) -> bool:
    return path in volunteer_info(user).paths


# ---------------------------------------------------------------------------------------------
# who is who, per object


def _same(user: Any, user_id: int | None) -> bool:
    return user is not None and user_id is not None and user.pk == user_id


def wish_actor(user: Any, who: Who, wish: Wish) -> bool:
    path = wish.community.path
    if who == Who.POSTER:
        return _same(user, wish.poster_id)
    if who == Who.VETTER:
        return holds_role_over(user, path, VETTING_ROLES)
    if who == Who.CLAIMANT:
        return not _same(user, wish.poster_id) and path in home_community_paths(
            user, CLAIMING_ROLES
        )
    if who == Who.CLAIMER:
        return _same(user, wish.claimed_by_id)
    return False


def order_actor(user: Any, who: Who, order: ServiceOrder) -> bool:
    path = order.community.path
    if who == Who.PLACER:
        return _same(user, order.placed_by_id)
    if who == Who.RECIPIENT:
        return _same(user, order.recipient_id)
    if who == Who.VOLUNTEER:
        # Nobody takes an order they placed or that serves them.
        if _same(user, order.placed_by_id) or _same(user, order.recipient_id):
            return False
        return is_volunteer_of(user, path)
    if who == Who.TAKER:
        return _same(user, order.taken_by_id)
    if who == Who.MANAGER:
        return manages(user, path)
    return False


def signup_actor(user: Any, who: Who, signup: Signup) -> bool:
    if who == Who.SELF:
        return _same(user, signup.user_id)
    if who == Who.MANAGER:
        return manages(user, signup.activity.community.path)
    return False


def claim_actor(user: Any, who: Who, claim: HoursClaim) -> bool:
    return who == Who.MANAGER and manages(user, claim.community.path)


def qualifies(user: Any, move: Move, obj: Any) -> bool:
    actor = {
        Wish: wish_actor,
        ServiceOrder: order_actor,
        Signup: signup_actor,
        HoursClaim: claim_actor,
    }[type(obj)]
    return any(actor(user, who, obj) for who in move.who)


_MOVES: dict[type, tuple[Move, ...]] = {
    Wish: WISH_MOVES,
    ServiceOrder: ORDER_MOVES,
    Signup: SIGNUP_MOVES,
    HoursClaim: HOURS_MOVES,
}


def available_moves(user: Any, obj: Any) -> list[Move]:
    """The moves this user may make on the object now: the buttons to show."""
    return [m for m in _MOVES[type(obj)] if m.source == obj.state and qualifies(user, m, obj)]


# ---------------------------------------------------------------------------------------------
# predicates


@rules.predicate
def can_post_wish(user: Any, obj: Any = None) -> bool:
    return bool(home_community_paths(user, WISH_POSTING_ROLES))


@rules.predicate
def can_place_order(user: Any, obj: Any = None) -> bool:
    return bool(home_community_paths(user, ORDER_PLACING_ROLES)) or has_role(user, MANAGING_ROLES)


@rules.predicate
def can_manage(user: Any, community: Any = None) -> bool:
    """Manage activities, service points and hours claims of `community` (any, without one)."""
    if community is None:
        return has_role(user, MANAGING_ROLES)
    return manages(user, community.path)


rules.add_perm("outreach.post_wish", can_post_wish)
rules.add_perm("outreach.place_order", can_place_order)
rules.add_perm("outreach.manage_community", can_manage)


def can(user: Any, perm: str, obj: Any = None) -> bool:
    """Only the rules set: Django's ModelBackend would wave any superuser through."""
    return rules.has_perm(perm, user, obj)

"""Who may do what to one event (`rules` predicates) and which moves a user has on it.

The move table (workflow.py) says which *kind* of actor may make each move; this module says
whether a given user is that kind of actor for a given event:

- handler: holds the level's handling role at the event's handling node (grid manager of the
  grid; community admin of the community; street admin of the street — also while the event is
  with the departments, since the street whistled and the street confirms the result);
- department: staff (DepartmentStaff) of a department the event is whistled to, whose
  department-role assignment covers the whistling street;
- reporter: the user recorded as the event's reporter.

Only cached role assignments and the prefetched assignment rows are read, so checking costs no
query once `event.assignments` is prefetched (selectors.get_event_for_user does it).
"""

from __future__ import annotations

from typing import Any

import rules

from tongxin.accounts.models import BUSINESS_ROLES, Role
from tongxin.core.scoping import has_role, holds_role_over, scope_paths
from tongxin.events.models import AssignmentState, DepartmentAssignment, Event, HandlingLevel
from tongxin.events.workflow import Move, Who, actions_from

# Roles whose holders see the events of their subtree (grid managers: their grid).
SUPERVISING_ROLES = frozenset(
    {Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.GRID_MANAGER}
)
# Anyone doing business work may report an event; the 三员 may not.
REPORTING_ROLES = frozenset(BUSINESS_ROLES)
# The staff pages (lists with filters, measures) are for those who supervise a subtree.
STAFF_ROLES = SUPERVISING_ROLES
CONFIG_ROLES = frozenset({Role.DISTRICT_ADMIN})
HANDLER_ROLE: dict[str, str] = {
    HandlingLevel.GRID: Role.GRID_MANAGER,
    HandlingLevel.COMMUNITY: Role.COMMUNITY_ADMIN,
    HandlingLevel.STREET: Role.STREET_ADMIN,
    HandlingLevel.DEPARTMENT: Role.STREET_ADMIN,
}
_DEPARTMENTS_ATTR = "_tongxin_event_departments"


def staff_paths(user: Any) -> list[str]:
    return scope_paths(user, SUPERVISING_ROLES)


def department_paths(user: Any) -> list[str]:
    return scope_paths(user, {Role.DEPARTMENT})


def department_ids(user: Any) -> frozenset[int]:
    """The departments the user works for (one query per user object, then cached)."""
    if user is None or not user.is_authenticated or not has_role(user, {Role.DEPARTMENT}):
        return frozenset()
    cached = getattr(user, _DEPARTMENTS_ATTR, None)
    if cached is None:
        from tongxin.events.models import DepartmentStaff

        cached = frozenset(
            DepartmentStaff.objects.filter(user=user, department__is_active=True).values_list(
                "department_id", flat=True
            )
        )
        setattr(user, _DEPARTMENTS_ATTR, cached)
    return cached


def forget_departments(user: Any) -> None:
    if hasattr(user, _DEPARTMENTS_ATTR):
        delattr(user, _DEPARTMENTS_ATTR)


def is_handler(user: Any, event: Event) -> bool:
    role = HANDLER_ROLE[event.level]
    return holds_role_over(user, event.handling_node.path, {role})


def is_reporter(user: Any, event: Event) -> bool:
    return user is not None and event.reporter_id is not None and event.reporter_id == user.pk


def my_assignments(user: Any, event: Event) -> list[DepartmentAssignment]:
    """The event's whistles this user answers for (by department and by covered street)."""
    mine = department_ids(user)
    if not mine:
        return []
    return [
        a
        for a in event.assignments.all()
        if a.department_id in mine and holds_role_over(user, a.street.path, {Role.DEPARTMENT})
    ]


def sees_event(user: Any, event: Event) -> bool:
    if is_reporter(user, event):
        return True
    if holds_role_over(user, event.node.path, SUPERVISING_ROLES):
        return True
    return bool(my_assignments(user, event))


# Which assignment state each department move starts from.
_ASSIGNMENT_FROM = {
    "acknowledge": AssignmentState.WHISTLED,
    "handle": AssignmentState.ACKNOWLEDGED,
}


def qualifies(user: Any, move: Move, event: Event, *, ready: bool = False) -> bool:
    """Is `user` one of the actors the move allows, for this event? (None is the system.)

    Department staff qualify through any whistle to their department; with `ready` only when
    one of them is in the state the move starts from (the buttons), so the service can say
    "acknowledge first" instead of "not yours".
    """
    if user is None:
        return Who.SYSTEM in move.who
    if Who.HANDLER in move.who and is_handler(user, event):
        return True
    if Who.REPORTER in move.who and is_reporter(user, event):
        return True
    if Who.DEPARTMENT in move.who:
        wanted = _ASSIGNMENT_FROM.get(move.action) if ready else None
        return any(wanted is None or a.state == wanted for a in my_assignments(user, event))
    return False


def available_moves(user: Any, event: Event) -> list[Move]:
    """The moves this user may make on the event now: the buttons to show."""
    return [
        move
        for move in actions_from(event.state)
        if event.level in move.levels and qualifies(user, move, event, ready=True)
    ]


@rules.predicate
def can_view_event(user: Any, event: Event) -> bool:
    return sees_event(user, event)


@rules.predicate
def can_act_on_event(user: Any, event: Event) -> bool:
    return bool(available_moves(user, event))


@rules.predicate
def can_configure(user: Any, obj: Any = None) -> bool:
    return has_role(user, CONFIG_ROLES)


@rules.predicate
def can_report(user: Any, obj: Any = None) -> bool:
    return has_role(user, REPORTING_ROLES)


rules.add_perm("events.view_event", can_view_event)
rules.add_perm("events.act_on_event", can_act_on_event)
rules.add_perm("events.configure", can_configure)
rules.add_perm("events.report_event", can_report)


def can(user: Any, perm: str, obj: Any = None) -> bool:
    """Only the rules set: Django's ModelBackend would wave any superuser through."""
    return rules.has_perm(perm, user, obj)

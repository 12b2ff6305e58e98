"""The one table of allowed moves (ARCHITECTURE.md convention 4), drawn in docs/events.md.

A move is (state, action) → new state, done by whom, at which handling levels. Anything not in
the table is refused by `services.event_transition` with a Chinese reason. Who the "handler" is
depends on the level: the grid's managers at grid level, the community's admins at community
level, the street's admins at street level and — for `resolve` once every department has
handled — at department level too. Department staff act on their own department's assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tongxin.events.models import Action, HandlingLevel, State


class Who(StrEnum):
    HANDLER = "handler"  # holds the handling role at the event's current handling node
    DEPARTMENT = "department"  # staff of a department the event is whistled to
    REPORTER = "reporter"  # the user who reported it
    SYSTEM = "system"  # the deadline job


class LevelChange(StrEnum):
    STAY = "stay"
    UP = "up"  # one level up: grid → community → street
    DEPARTMENT = "department"  # whistled: the departments hold it now


G, C, S, D = (
    HandlingLevel.GRID,
    HandlingLevel.COMMUNITY,
    HandlingLevel.STREET,
    HandlingLevel.DEPARTMENT,
)
ANY_LEVEL = frozenset({G, C, S, D})
HANDLING_LEVELS = frozenset({G, C, S})


@dataclass(frozen=True)
class Move:
    source: State
    action: Action
    target: State
    who: frozenset[Who]
    levels: frozenset[str]
    level_change: LevelChange = LevelChange.STAY


def _move(
    source: State,
    action: Action,
    target: State,
    who: set[Who],
    levels: frozenset[str] | set[str],
    level_change: LevelChange = LevelChange.STAY,
) -> Move:
    return Move(source, action, target, frozenset(who), frozenset(levels), level_change)


H, DEPT, REP, SYS = Who.HANDLER, Who.DEPARTMENT, Who.REPORTER, Who.SYSTEM

MOVES: tuple[Move, ...] = (
    # 小事不出网格: accept and resolve where it was reported
    _move(State.REPORTED, Action.ACCEPT, State.ACCEPTED, {H}, HANDLING_LEVELS),
    _move(State.ACCEPTED, Action.RESOLVE, State.RESOLVED, {H}, HANDLING_LEVELS),
    # 大事不出社区: grid → community → street, by hand or when the deadline passes
    _move(State.REPORTED, Action.ESCALATE, State.REPORTED, {H, SYS}, {G, C}, LevelChange.UP),
    _move(State.ACCEPTED, Action.ESCALATE, State.REPORTED, {H, SYS}, {G, C}, LevelChange.UP),
    # 街道吹哨、部门报到
    _move(State.REPORTED, Action.WHISTLE, State.WHISTLED, {H}, {S}, LevelChange.DEPARTMENT),
    _move(State.ACCEPTED, Action.WHISTLE, State.WHISTLED, {H}, {S}, LevelChange.DEPARTMENT),
    _move(State.WHISTLED, Action.ACKNOWLEDGE, State.WHISTLED, {DEPT}, {D}),
    _move(State.WHISTLED, Action.HANDLE, State.WHISTLED, {DEPT}, {D}),
    _move(State.WHISTLED, Action.RESOLVE, State.RESOLVED, {H}, {D}),
    # more information needed, refused, or a duplicate
    _move(State.REPORTED, Action.RETURN, State.RETURNED, {H}, HANDLING_LEVELS),
    _move(State.ACCEPTED, Action.RETURN, State.RETURNED, {H}, HANDLING_LEVELS),
    _move(State.RETURNED, Action.RESUBMIT, State.REPORTED, {REP}, HANDLING_LEVELS),
    _move(State.REPORTED, Action.REJECT, State.REJECTED, {H}, HANDLING_LEVELS),
    _move(State.RETURNED, Action.REJECT, State.REJECTED, {H}, HANDLING_LEVELS),
    _move(State.REPORTED, Action.MERGE, State.MERGED, {H}, HANDLING_LEVELS),
    _move(State.ACCEPTED, Action.MERGE, State.MERGED, {H}, HANDLING_LEVELS),
    # the reporter rates; without a rating the handler (or the job) closes
    _move(State.RESOLVED, Action.RATE, State.CLOSED, {REP}, ANY_LEVEL),
    _move(State.RESOLVED, Action.CLOSE, State.CLOSED, {H, SYS}, ANY_LEVEL),
)

TABLE: dict[tuple[str, str], Move] = {(m.source, m.action): m for m in MOVES}
assert len(TABLE) == len(MOVES), "one move per (state, action)"

# Actions that need more than a tap: a form asks for departments, a target, a score or a reason.
ACTIONS_NEEDING_INPUT = frozenset(
    {Action.WHISTLE, Action.MERGE, Action.RATE, Action.RETURN, Action.REJECT, Action.HANDLE}
)
# Actions whose note is the reason the reporter will read: it may not be empty.
ACTIONS_NEEDING_NOTE = frozenset({Action.RETURN, Action.REJECT})


def find_move(state: str, action: str) -> Move | None:
    return TABLE.get((state, action))


def actions_from(state: str) -> list[Move]:
    return [m for m in MOVES if m.source == state]

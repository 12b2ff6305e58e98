"""The tables of allowed moves of the co-building workflows, drawn in docs/cobuild.md.

One table per workflow: (state, action) → new state, and which kind of actor may make it. Anything
not in a table is refused by the services with a Chinese reason (IllegalMove → 409). Whether a
given user *is* that kind of actor for a given object is rules.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tongxin.cobuild.models import (
    AgreementAction,
    AgreementStatus,
    CommitmentAction,
    CommitmentState,
    ProjectAction,
    ProjectState,
    ResolutionStatus,
    RoundAction,
    RoundStatus,
)


class Who(StrEnum):
    ORG = "org"  # a managing role (street/community admin…) at or above the organization's node
    UNIT = "unit"  # the unit's liaison
    OWNER = "owner"  # the side that made the commitment (ORG or UNIT)
    OTHER = "other"  # the other side of the agreement
    SYSTEM = "system"  # the periodic overdue job


@dataclass(frozen=True)
class Move:
    source: str
    action: str
    target: str
    who: frozenset[Who]


def _m(source: str, action: str, target: str, *who: Who) -> Move:
    return Move(source, action, target, frozenset(who))


A, AA = AgreementStatus, AgreementAction
AGREEMENT_MOVES: tuple[Move, ...] = (
    _m(A.DRAFT, AA.SIGN, A.SIGNED, Who.ORG),
    _m(A.SIGNED, AA.CLOSE, A.CLOSED, Who.ORG),
)

C, CA = CommitmentState, CommitmentAction
COMMITMENT_MOVES: tuple[Move, ...] = (
    _m(C.PLANNED, CA.START, C.IN_PROGRESS, Who.OWNER),
    _m(C.PLANNED, CA.FULFIL, C.FULFILLED, Who.OWNER),
    _m(C.IN_PROGRESS, CA.FULFIL, C.FULFILLED, Who.OWNER),
    # late is better than never: an overdue commitment may still be fulfilled
    _m(C.OVERDUE, CA.FULFIL, C.FULFILLED, Who.OWNER),
    # the other side checks the evidence: confirms, or sends it back
    _m(C.FULFILLED, CA.CONFIRM, C.CONFIRMED, Who.OTHER),
    _m(C.FULFILLED, CA.RETURN, C.IN_PROGRESS, Who.OTHER),
    _m(C.PLANNED, CA.MARK_OVERDUE, C.OVERDUE, Who.SYSTEM),
    _m(C.IN_PROGRESS, CA.MARK_OVERDUE, C.OVERDUE, Who.SYSTEM),
    # the party organization keeps the agreement, so it is the one that cancels (with a reason)
    _m(C.PLANNED, CA.CANCEL, C.CANCELLED, Who.ORG),
    _m(C.IN_PROGRESS, CA.CANCEL, C.CANCELLED, Who.ORG),
    _m(C.OVERDUE, CA.CANCEL, C.CANCELLED, Who.ORG),
)

P, PA = ProjectState, ProjectAction
PROJECT_MOVES: tuple[Move, ...] = (
    _m(P.PLANNED, PA.START, P.ONGOING, Who.ORG, Who.UNIT),
    _m(P.ONGOING, PA.COMPLETE, P.COMPLETED, Who.ORG, Who.UNIT),
    _m(P.PLANNED, PA.CANCEL, P.CANCELLED, Who.ORG),
    _m(P.ONGOING, PA.CANCEL, P.CANCELLED, Who.ORG),
)

R = ResolutionStatus
# Resolution follow-up: the "action" is the status reported.
RESOLUTION_MOVES: tuple[Move, ...] = (
    _m(R.OPEN, R.IN_PROGRESS, R.IN_PROGRESS, Who.ORG, Who.UNIT),
    _m(R.OPEN, R.DONE, R.DONE, Who.ORG, Who.UNIT),
    _m(R.IN_PROGRESS, R.IN_PROGRESS, R.IN_PROGRESS, Who.ORG, Who.UNIT),  # a progress note
    _m(R.IN_PROGRESS, R.DONE, R.DONE, Who.ORG, Who.UNIT),
    _m(R.OPEN, R.DROPPED, R.DROPPED, Who.ORG),
    _m(R.IN_PROGRESS, R.DROPPED, R.DROPPED, Who.ORG),
)

S, SA = RoundStatus, RoundAction
ROUND_MOVES: tuple[Move, ...] = (
    _m(S.SETUP, SA.OPEN_SCORING, S.SCORING, Who.ORG),
    _m(S.SCORING, SA.CLOSE, S.CLOSED, Who.ORG),
)


def _table(moves: tuple[Move, ...]) -> dict[tuple[str, str], Move]:
    table = {(m.source, m.action): m for m in moves}
    assert len(table) == len(moves), "one move per (state, action)"
    return table


AGREEMENT_TABLE = _table(AGREEMENT_MOVES)
COMMITMENT_TABLE = _table(COMMITMENT_MOVES)
PROJECT_TABLE = _table(PROJECT_MOVES)
RESOLUTION_TABLE = _table(RESOLUTION_MOVES)
ROUND_TABLE = _table(ROUND_MOVES)

# Commitment actions whose note is a reason the other side will read.
COMMITMENT_NEEDS_NOTE = frozenset({CA.RETURN, CA.CANCEL})
# States in which a commitment still waits for its owner (the overdue job looks at these).
COMMITMENT_OPEN = frozenset({C.PLANNED, C.IN_PROGRESS})
# Done, for the fulfilment rate: reported fulfilled or confirmed by the other side.
COMMITMENT_DONE = frozenset({C.FULFILLED, C.CONFIRMED})


def actions_from(moves: tuple[Move, ...], state: str) -> list[Move]:
    return [m for m in moves if m.source == state]

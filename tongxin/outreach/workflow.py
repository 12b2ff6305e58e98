"""The move tables of the outreach workflows (ARCHITECTURE.md convention 4), drawn in
docs/outreach.md. One table per workflow; a move not in its table is refused by the services
with a Chinese reason (IllegalMove → 409). Who each kind of actor is, for a given object and
user, is decided in rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tongxin.outreach.models import (
    HoursClaimAction,
    HoursClaimState,
    OrderAction,
    OrderState,
    SignupAction,
    SignupState,
    WishAction,
    WishState,
)


class Who(StrEnum):
    POSTER = "poster"  # the resident who posted the wish
    VETTER = "vetter"  # a community admin of the wish's community (or above)
    CLAIMANT = "claimant"  # a member or unit liaison of the community, not the poster
    CLAIMER = "claimer"  # the one who claimed the wish
    PLACER = "placer"  # who placed the order (the resident, or the community on their behalf)
    RECIPIENT = "recipient"  # the account the order serves
    VOLUNTEER = "volunteer"  # an active volunteer of the order's community
    TAKER = "taker"  # the volunteer who took the order
    MANAGER = "manager"  # a community admin of the object's community (or above)
    SELF = "self"  # the volunteer the sign-up belongs to


@dataclass(frozen=True)
class Move:
    source: str
    action: str
    target: str
    who: frozenset[Who]


def _m(source: str, action: str, target: str, *who: Who) -> Move:
    return Move(source, action, target, frozenset(who))


W, WA = WishState, WishAction
WISH_MOVES: tuple[Move, ...] = (
    _m(W.PENDING, WA.APPROVE, W.OPEN, Who.VETTER),
    _m(W.PENDING, WA.DECLINE, W.DECLINED, Who.VETTER),
    _m(W.PENDING, WA.WITHDRAW, W.WITHDRAWN, Who.POSTER),
    _m(W.OPEN, WA.WITHDRAW, W.WITHDRAWN, Who.POSTER),
    # race-safe: a conditional UPDATE … WHERE state = 'open' (services.wish_transition)
    _m(W.OPEN, WA.CLAIM, W.CLAIMED, Who.CLAIMANT),
    _m(W.CLAIMED, WA.FULFIL, W.FULFILLED, Who.CLAIMER),
    _m(W.FULFILLED, WA.CONFIRM, W.CONFIRMED, Who.POSTER),
    # "not fulfilled": back to the claimer, who fulfils again
    _m(W.FULFILLED, WA.DISPUTE, W.CLAIMED, Who.POSTER),
)

OS, OA = OrderState, OrderAction
ORDER_MOVES: tuple[Move, ...] = (
    _m(OS.PLACED, OA.TAKE, OS.TAKEN, Who.VOLUNTEER),
    _m(OS.PLACED, OA.CANCEL, OS.CANCELLED, Who.PLACER, Who.RECIPIENT, Who.MANAGER),
    _m(OS.TAKEN, OA.RELEASE, OS.PLACED, Who.TAKER),
    _m(OS.TAKEN, OA.COMPLETE, OS.DONE, Who.TAKER),
    # 回单: the recipient rates; for an order placed on someone's behalf, the placer does
    _m(OS.DONE, OA.RATE, OS.RATED, Who.RECIPIENT, Who.PLACER),
)

S, SA = SignupState, SignupAction
SIGNUP_MOVES: tuple[Move, ...] = (
    _m(S.SIGNED_UP, SA.CHECK_IN, S.CHECKED_IN, Who.SELF, Who.MANAGER),
    _m(S.SIGNED_UP, SA.CANCEL, S.CANCELLED, Who.SELF, Who.MANAGER),
    _m(S.CHECKED_IN, SA.CHECK_OUT, S.COMPLETED, Who.SELF, Who.MANAGER),
)

H, HA = HoursClaimState, HoursClaimAction
HOURS_MOVES: tuple[Move, ...] = (
    _m(H.PENDING, HA.APPROVE, H.APPROVED, Who.MANAGER),
    _m(H.PENDING, HA.REJECT, H.REJECTED, Who.MANAGER),
)


def _table(moves: tuple[Move, ...]) -> dict[tuple[str, str], Move]:
    table = {(m.source, m.action): m for m in moves}
    assert len(table) == len(moves), "one move per (state, action)"
    return table


WISH_TABLE = _table(WISH_MOVES)
ORDER_TABLE = _table(ORDER_MOVES)
SIGNUP_TABLE = _table(SIGNUP_MOVES)
HOURS_TABLE = _table(HOURS_MOVES)

# Moves whose note is a reason someone will read: it may not be empty.
NOTE_REQUIRED = frozenset({(WA.DECLINE), (WA.DISPUTE), (HA.REJECT)})

"""Materialized-path arithmetic for the organization tree.

A node's path is its parent's path plus one fixed-width base-36 segment and a dot
(`0001.000A.`), so "this node and everything under it" is `path LIKE '0001.000A.%'` on an
indexed column, and ordering by path gives a depth-first listing.
"""

from __future__ import annotations

from django.db.models import F, Value
from django.db.models.functions import Concat, Length, Substr

from tongxin.orgs.models import PATH_SEGMENT_LENGTH, OrgNode

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_SEQ = 36**PATH_SEGMENT_LENGTH - 1


def segment(seq: int) -> str:
    if not 0 < seq <= MAX_SEQ:
        raise ValueError(f"path sequence {seq} out of range")
    out = ""
    while seq:
        seq, digit = divmod(seq, 36)
        out = _DIGITS[digit] + out
    return out.rjust(PATH_SEGMENT_LENGTH, "0") + "."


def depth_of(path: str) -> int:
    return len(path) // (PATH_SEGMENT_LENGTH + 1)


def next_child_path(parent: OrgNode | None) -> str:
    """Allocate the next child path. The caller holds a row lock on `parent` (or the root lock)."""
    if parent is None:
        last = (
            OrgNode.objects.filter(parent__isnull=True)
            .order_by("-path")
            .values_list("path", flat=True)
            .first()
        )
        seq = int(last[:PATH_SEGMENT_LENGTH], 36) + 1 if last else 1
        return segment(seq)
    parent.child_seq += 1
    OrgNode.objects.filter(pk=parent.pk).update(child_seq=parent.child_seq)
    return parent.path + segment(parent.child_seq)


def rewrite_subtree_paths(old_prefix: str, new_prefix: str) -> int:
    """Re-root every path under `old_prefix` at `new_prefix` in one UPDATE; returns rows changed."""
    depth_shift = depth_of(new_prefix) - depth_of(old_prefix)
    return OrgNode.objects.filter(path__startswith=old_prefix).update(
        path=Concat(Value(new_prefix), Substr("path", len(old_prefix) + 1, Length("path"))),
        depth=F("depth") + depth_shift,
    )

"""Writing and verifying the SM3-chained audit trail (SECURITY.md 9–10).

Every record's hash covers its own fields and the previous record's hash, so editing or deleting
any record breaks the chain from that point on; `verify_chain()` names the first broken record.
Appends are serialized (an advisory lock on PostgreSQL; SQLite's IMMEDIATE transactions already
serialize writers) so two concurrent writers cannot both chain onto the same predecessor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from tongxin.core.crypto import sm3_hex
from tongxin.core.middleware import current_request_context
from tongxin.core.models import AuditOutcome, AuditRecord

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x7470_6E78  # "tpnx": any constant unique to this application


def _canonical(record: AuditRecord) -> bytes:
    payload = {
        "at": record.at.isoformat(),
        "actor_id": record.actor_id,
        "actor_username": record.actor_username,
        "ip": record.ip,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "object_repr": record.object_repr,
        "outcome": record.outcome,
        "changes": record.changes,
        "prev_hash": record.prev_hash,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode()


def compute_hash(record: AuditRecord) -> str:
    return sm3_hex(_canonical(record))


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


def _jsonable(changes: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip so what is hashed now is exactly what the JSON column gives back later.
    return json.loads(json.dumps(changes or {}, ensure_ascii=False, default=str))


def audit(
    *,
    actor: Any,
    action: str,
    obj: Any = None,
    outcome: str = AuditOutcome.SUCCESS,
    changes: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    username: str = "",
) -> AuditRecord:
    """Append one audit record in the caller's transaction (or its own, if there is none)."""
    context = current_request_context()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    with transaction.atomic():
        _lock_chain()
        last = AuditRecord.objects.order_by("-id").values_list("hash", flat=True).first()
        record = AuditRecord(
            at=timezone.now(),
            actor_id=actor.pk if authenticated else None,
            actor_username=actor.get_username() if authenticated else username[:150],
            ip=context.ip if context else "",
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr[:200],
            outcome=outcome,
            changes=_jsonable(changes),
            prev_hash=last or GENESIS_HASH,
        )
        record.hash = compute_hash(record)
        record.save(force_insert=True)
    return record


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def _records_in_order() -> Iterator[AuditRecord]:
    return AuditRecord.objects.order_by("id").iterator(chunk_size=2000)


def verify_chain() -> ChainReport:
    """Walk the chain from the first record; report the first record that does not fit."""
    expected_prev = GENESIS_HASH
    checked = 0
    for record in _records_in_order():
        if record.prev_hash != expected_prev:
            return ChainReport(checked, record.id, "prev_hash")
        if compute_hash(record) != record.hash:
            return ChainReport(checked, record.id, "hash")
        expected_prev = record.hash
        checked += 1
    return ChainReport(checked, None, "")

"""Idempotent writes for clients that retry (SECURITY.md 18): phones on a weak signal.

A client sends `Idempotency-Key: <any 1–255 printable ASCII characters>` with a write. The first
request with a key runs and its answer (status, body, Location) is stored *in the same
transaction* as the write itself; so

- a retry with the same key and the same request gets the stored answer back (header
  `Idempotent-Replayed: true`) and nothing is written again;
- the same key with a different request (another body, another endpoint) is refused with 422;
- two copies arriving at once: the second one's INSERT of the key waits on the unique
  (user, key) index until the first commits, then finds the answer and replays it. Should the
  first roll back, the second simply runs. A stored row without an answer can only be left by
  a bug; it answers 409 rather than run the write twice.

Only 2xx answers are remembered: a refused request (400, 403, 409) rolls back with its key, so
the client may correct it and send it again under the same key. Keys are kept for
`REMEMBER_FOR`; `purge_expired()` runs periodically.

Use `idempotent(request, scope=..., produce=...)` in DRF views; `run_once()` is the framework-free
core that page views can use with a key from a hidden form field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from tongxin.core.errors import ConflictError
from tongxin.core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
REMEMBER_FOR = dt.timedelta(hours=24)
_KEPT_HEADERS = ("Location",)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


class IdempotencyKeyReused(Exception):
    """The key was first used for a different request: 422."""


class IdempotencyInFlight(ConflictError):
    """The key's first request has no answer yet: 409."""


class _Discard(Exception):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer


def valid_key(key: str) -> bool:
    return bool(KEY_PATTERN.fullmatch(key))


# ---------------------------------------------------------------------------------------------
# fingerprints: what makes two requests "the same"


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)  # the view reads it again
    return f"file:{upload.size}:{digest.hexdigest()}"


def _plain(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return _file_digest(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _items(data: Any) -> Any:
    """Form data (QueryDict: every value a list) and JSON data in one canonical shape."""
    if hasattr(data, "lists"):
        return {key: _plain(values) for key, values in sorted(data.lists())}
    return _plain(data)


def fingerprint(scope: str, method: str, path: str, *parts: Any) -> str:
    """SHA-256 of the scope, method, path and the request's data (files by their digest).

    Multipart bodies are compared by their parsed fields, not bytes: a phone retrying builds a
    new multipart boundary each time, and that must not count as a different request.
    """
    payload = {"scope": scope, "method": method.upper(), "path": path, "data": list(parts)}
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_fingerprint(request: Any, scope: str, *, data: Any = None, files: Any = None) -> str:
    """The fingerprint of a DRF request (`request.data`) or a Django one (POST + FILES)."""
    if data is None:
        data = request.data if isinstance(request, Request) else request.POST
    parts = [_items(data)]
    if files is not None:
        parts.append(_items(files))
    elif not isinstance(request, Request) and getattr(request, "FILES", None):
        parts.append(_items(request.FILES))
    return fingerprint(scope, request.method, request.path, *parts)


# ---------------------------------------------------------------------------------------------
# the core


def _stored(user: Any, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, key=key).first()


def _replay(record: IdempotencyKey, wanted: str) -> Answer:
    if record.fingerprint != wanted:
        raise IdempotencyKeyReused(record.key)
    if record.response_status is None:
        raise IdempotencyInFlight(_("相同幂等键的请求正在处理中，请稍后重试。"))
    return Answer(
        status=record.response_status,
        body=record.response_body,
        headers=dict(record.response_headers or {}),
        replayed=True,
    )


def run_once(
    *, user: Any, key: str, scope: str, fingerprint: str, produce: Callable[[], Answer]
) -> Answer:
    """Run `produce` once per (user, key); replay its 2xx answer to every later request.

    `produce` runs inside the transaction that also stores the key, so its writes and the
    remembered answer commit (or roll back) together.
    """
    existing = _stored(user, key)
    if existing is not None:
        return _replay(existing, fingerprint)
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user=user, key=key, scope=scope[:80], fingerprint=fingerprint
            )
            answer = produce()
            if not 200 <= answer.status < 300:
                raise _Discard(answer)
            record.response_status = answer.status
            record.response_body = answer.body
            record.response_headers = answer.headers
            record.save(update_fields=["response_status", "response_body", "response_headers"])
    except _Discard as discarded:
        return discarded.answer
    except IntegrityError:
        # Either a concurrent copy stored the key first (replay its answer) or the write itself
        # broke a constraint (nothing stored under this key: let the error through).
        existing = _stored(user, key)
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    return answer


def purge_expired(
    *, now: dt.datetime | None = None, older_than: dt.timedelta = REMEMBER_FOR
) -> int:
    cutoff = (now or timezone.now()) - older_than
    deleted, _ignored = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# ---------------------------------------------------------------------------------------------
# DRF


def _jsonable(data: Any) -> Any:
    # What the client received, exactly: rendered by DRF, then read back as plain JSON.
    return json.loads(JSONRenderer().render(data)) if data is not None else None


def _response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    if answer.replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def key_from(request: Any) -> str | None:
    """The request's Idempotency-Key, None without one; 400 when it is malformed."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not valid_key(key):
        raise DRFValidationError({HEADER: [_("幂等键须为 1 至 255 个可见 ASCII 字符。")]})
    return key


def idempotent(
    request: Request,
    *,
    scope: str,
    produce: Callable[[], Response],
    fingerprint_parts: Iterable[Any] | None = None,
) -> Response:
    """Answer a DRF write through `run_once` when it carries an Idempotency-Key."""
    key = key_from(request)
    if key is None or not request.user.is_authenticated:
        return produce()
    if fingerprint_parts is not None:
        wanted = fingerprint(scope, request.method, request.path, *fingerprint_parts)
    else:
        wanted = request_fingerprint(request, scope)
    first: list[Response] = []

    def make() -> Answer:
        response = produce()
        first.append(response)
        headers = {h: response[h] for h in _KEPT_HEADERS if response.has_header(h)}
        return Answer(response.status_code, _jsonable(response.data), headers)

    try:
        answer = run_once(user=request.user, key=key, scope=scope, fingerprint=wanted, produce=make)
    except IdempotencyKeyReused:
        return Response(
            {"detail": _("该幂等键已用于另一个不同的请求，请换用新的幂等键。")},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if first and not answer.replayed:
        return first[0]
    return _response(answer)

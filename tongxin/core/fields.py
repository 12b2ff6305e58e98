"""Sealed personal-data fields: SM4-GCM ciphertext, HMAC-SM3 blind index and masked copy.

`SealedField` is declared on a model like a field, but contributes three real columns:

    id_number = SealedField(purpose="people.person.id_number", mask=mask_id_number)

    → id_number_cipher   TEXT      the SM4-GCM ciphertext (with its key id), never the plain value
    → id_number_index    CHAR(64)  HMAC-SM3 of the normalized value: exact look-ups, uniqueness
    → id_number_masked   VARCHAR   what pages, the API and exports show (`3501**********1234`)

Reading `person.id_number` gives a `Sealed` value whose `str()` is the masked form, so a
template or serializer that forgets about protection still shows the masked value (SECURITY.md
12). The plain value comes only from `.reveal()`, which templates cannot call (`alters_data`):
revealing is a service with a permission check, a reason and an audit record. Assigning a string
seals it at once, so `bulk_create` of freshly built instances needs no extra step.

Every SealedField registers itself; `rotate_sealed_values()` walks the registry to re-encrypt
and re-index everything under the current key (`manage.py rotate_encryption_key`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Q

from tongxin.core.crypto import DecryptionError, Keyring, keyring
from tongxin.core.masking import mask_phone  # noqa: F401 - one masking rule everywhere

# --- masking ----------------------------------------------------------------------------------


def mask_id_number(value: str) -> str:
    """`350302196001011234` → `3501**********1234` style: first four and last four kept."""
    value = value.strip().upper()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_text(value: str) -> str:
    """Generic: keep the last four characters."""
    value = value.strip()
    return "*" * max(len(value) - 4, 0) + value[-4:]


def normalize_text(value: str) -> str:
    """The form a value is indexed in: no spaces or dashes, upper case (`x` → `X`)."""
    return re.sub(r"[\s\-]", "", value).upper()


# --- the sealed value -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """A protected value as read from a row: prints masked, reveals only on purpose."""

    masked: str
    cipher: str
    purpose: str

    def __str__(self) -> str:
        return self.masked

    def __bool__(self) -> bool:
        return bool(self.cipher)

    def __eq__(self, other: object) -> bool:
        # Never compare plain text with a sealed value by accident.
        if isinstance(other, Sealed):
            return (self.cipher, self.purpose) == (other.cipher, other.purpose)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.cipher, self.purpose))

    def reveal(self, ring: Keyring | None = None) -> str:
        """The plain value. Callers are services that have checked permission and audit it."""
        if not self.cipher:
            return ""
        return (ring or keyring()).decrypt(self.cipher, purpose=self.purpose)

    reveal.alters_data = True  # type: ignore[attr-defined]  # templates must not call it


@dataclass(frozen=True)
class Seal:
    """The three column values of one plain value."""

    cipher: str
    index: str
    masked: str


REGISTRY: list[SealedField] = []


class SealedField:
    """Declares a protected value; contributes `<name>_cipher`, `<name>_index`, `<name>_masked`."""

    def __init__(
        self,
        *,
        purpose: str,
        mask: Callable[[str], str] = mask_text,
        normalize: Callable[[str], str] = normalize_text,
        verbose_name: str = "",
        masked_length: int = 40,
    ) -> None:
        self.purpose = purpose
        self.mask = mask
        self.normalize = normalize
        self.verbose_name = verbose_name
        self.masked_length = masked_length
        self.name = ""
        self.model: type[models.Model] | None = None

    # Django calls this for any class attribute that has it (ModelBase.add_to_class).
    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        self.name = name
        self.model = cls
        label = self.verbose_name or name
        cls.add_to_class(
            self.cipher_attr, models.TextField(f"{label}（密文）", blank=True, editable=False)
        )
        cls.add_to_class(
            self.index_attr,
            models.CharField(
                f"{label}（索引）", max_length=64, blank=True, db_index=True, editable=False
            ),
        )
        cls.add_to_class(
            self.masked_attr,
            models.CharField(
                f"{label}（脱敏）", max_length=self.masked_length, blank=True, editable=False
            ),
        )
        setattr(cls, name, self)
        if not cls._meta.abstract:
            REGISTRY.append(self)

    @property
    def cipher_attr(self) -> str:
        return f"{self.name}_cipher"

    @property
    def index_attr(self) -> str:
        return f"{self.name}_index"

    @property
    def masked_attr(self) -> str:
        return f"{self.name}_masked"

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}" if self.model else self.name

    def seal(self, plain: str, ring: Keyring | None = None) -> Seal:
        plain = (plain or "").strip()
        if not plain:
            return Seal("", "", "")
        ring = ring or keyring()
        return Seal(
            cipher=ring.encrypt(plain, purpose=self.purpose),
            index=ring.blind_index(self.normalize(plain), purpose=self.purpose),
            masked=self.mask(plain)[: self.masked_length],
        )

    def index_of(self, plain: str, ring: Keyring | None = None) -> str:
        """The blind index a plain value would have: for look-ups and duplicate checks."""
        plain = (plain or "").strip()
        if not plain:
            return ""
        return (ring or keyring()).blind_index(self.normalize(plain), purpose=self.purpose)

    def lookup(self, plain: str, prefix: str = "") -> Q:
        """A filter matching rows whose value equals `plain` (through the blind index)."""
        index = self.index_of(plain)
        if not index:
            return Q(pk__in=[])
        return Q(**{f"{prefix}{self.index_attr}": index})

    def __get__(self, instance: models.Model | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return Sealed(
            masked=getattr(instance, self.masked_attr),
            cipher=getattr(instance, self.cipher_attr),
            purpose=self.purpose,
        )

    def __set__(self, instance: models.Model, value: str | Sealed | None) -> None:
        if isinstance(value, Sealed):
            if value.purpose != self.purpose:
                raise ValueError("a sealed value cannot move to a field with another purpose")
            # Copying a sealed value keeps its ciphertext; the index is unchanged too.
            setattr(instance, self.cipher_attr, value.cipher)
            setattr(instance, self.masked_attr, value.masked)
            return
        sealed = self.seal(value or "")
        setattr(instance, self.cipher_attr, sealed.cipher)
        setattr(instance, self.index_attr, sealed.index)
        setattr(instance, self.masked_attr, sealed.masked)

    def deconstruct(self) -> tuple[str, str, list, dict]:  # pragma: no cover - not a db field
        raise TypeError("SealedField is not a database field")


def sealed_fields(model: type[models.Model]) -> list[SealedField]:
    return [f for f in REGISTRY if f.model is model]


# --- key rotation -----------------------------------------------------------------------------


@dataclass
class RotationReport:
    rows_checked: int = 0
    values_resealed: int = 0
    indexes_rebuilt: int = 0
    by_field: dict[str, int] | None = None


def _batches(model: type[models.Model], fields: list[SealedField], size: int) -> Iterator[list]:
    attrs = ["pk"] + [a for f in fields for a in (f.cipher_attr, f.index_attr)]
    last = 0
    while True:
        rows = list(
            model._default_manager.filter(pk__gt=last).order_by("pk").only(*attrs[1:])[:size]
        )
        if not rows:
            return
        yield rows
        last = rows[-1].pk


def rotate_sealed_values(ring: Keyring, *, batch_size: int = 2000) -> RotationReport:
    """Re-encrypt every sealed value under `ring.current` and rebuild every blind index.

    Values sealed under any key in `ring` open; each is sealed again with the current key and its
    index recomputed with the current index key (an index cannot be converted without the plain
    value). Each model is rewritten in one transaction; running again after an interruption is
    safe and finishes the job. A value that no configured key opens stops the run with
    DecryptionError naming the row, before anything of that model is written.
    """
    report = RotationReport(by_field={})
    models_seen: dict[type[models.Model], list[SealedField]] = {}
    for field in REGISTRY:
        models_seen.setdefault(field.model, []).append(field)
    for model, fields in models_seen.items():
        with transaction.atomic():
            for rows in _batches(model, fields, batch_size):
                changed_attrs: set[str] = set()
                for row in rows:
                    report.rows_checked += 1
                    for field in fields:
                        token = getattr(row, field.cipher_attr)
                        if not token:
                            continue
                        try:
                            plain = ring.decrypt(token, purpose=field.purpose)
                        except DecryptionError as exc:
                            raise DecryptionError(f"{field.label} of row {row.pk}: {exc}") from None
                        if Keyring.key_id_of(token) != ring.current.key_id:
                            setattr(
                                row, field.cipher_attr, ring.encrypt(plain, purpose=field.purpose)
                            )
                            changed_attrs.add(field.cipher_attr)
                            report.values_resealed += 1
                            report.by_field[field.label] = report.by_field.get(field.label, 0) + 1
                        index = ring.blind_index(field.normalize(plain), purpose=field.purpose)
                        if index != getattr(row, field.index_attr):
                            setattr(row, field.index_attr, index)
                            changed_attrs.add(field.index_attr)
                            report.indexes_rebuilt += 1
                if changed_attrs:
                    model._default_manager.bulk_update(rows, sorted(changed_attrs), batch_size=500)
    return report

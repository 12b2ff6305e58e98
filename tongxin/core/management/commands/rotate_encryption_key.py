"""Re-encrypt every sealed value under the current key and rebuild the blind indexes.

The procedure (docs/operations.md): put the new 64-hex key in TONGXIN_ENCRYPTION_KEY, keep the
old one at hand, and run

    manage.py rotate_encryption_key --old-key-file /secure/old.key     (or --old-key, or the
                                                                         TONGXIN_OLD_ENCRYPTION_KEY
                                                                         environment variable)

Values sealed under the old key (or the current one) are opened, sealed again with the current
key, and their HMAC-SM3 indexes recomputed with the current index key. Running it again is safe.
The run itself is audited (counts only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongxin.core.audit import audit
from tongxin.core.crypto import DecryptionError, Keyring
from tongxin.core.fields import rotate_sealed_values


class Command(BaseCommand):
    help = "Re-encrypt all sealed personal data under the current TONGXIN_ENCRYPTION_KEY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--old-key", action="append", default=[], help="old key, 64 hex")
        parser.add_argument("--old-key-file", action="append", default=[], help="file holding one")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args: Any, old_key: list[str], old_key_file: list[str], **options: Any):
        old = [*old_key]
        for name in old_key_file:
            try:
                old.append(Path(name).read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise CommandError(f"cannot read {name}: {exc}") from exc
        if os.environ.get("TONGXIN_OLD_ENCRYPTION_KEY"):
            old.append(os.environ["TONGXIN_OLD_ENCRYPTION_KEY"])
        old += list(getattr(settings, "ENCRYPTION_OLD_KEYS", ()) or ())
        try:
            ring = Keyring.from_hex(settings.ENCRYPTION_KEY, old)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            report = rotate_sealed_values(ring, batch_size=options["batch_size"])
        except DecryptionError as exc:
            raise CommandError(f"a value could not be opened with the keys given: {exc}") from exc
        audit(
            actor=None,
            username="rotate_encryption_key",
            action="core.crypto.rotate",
            changes={
                "key_id": ring.current.key_id,
                "rows": report.rows_checked,
                "resealed": report.values_resealed,
                "reindexed": report.indexes_rebuilt,
            },
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"key {ring.current.key_id}: {report.rows_checked} rows checked, "
                f"{report.values_resealed} values re-encrypted, "
                f"{report.indexes_rebuilt} indexes rebuilt"
            )
        )

"""Restore a backup written by `manage.py backup` into an EMPTY database and uploads directory.

    manage.py restore /backups/tongxin-20261123-020000 --yes

In order, stopping at the first problem:

1. the manifest is read and the SM3 of every file is checked (a damaged or altered backup is
   refused before anything is written);
2. the database vendor must be the configured one, and the backup must not hold migrations this
   code does not know (a backup from a newer release);
3. the target database must have no tables and MEDIA_ROOT no files: a restore never merges into
   or overwrites live data (create a fresh database / data directory first);
4. the database is restored (SQLite: the online backup API in reverse; PostgreSQL:
   `pg_restore --single-transaction --exit-on-error`), then the uploads are unpacked (no absolute
   paths, links or `..`: tarfile's "data" filter);
5. the applied migrations must equal the manifest's, and the audit trail's SM3 chain must verify
   from the first record and contain the manifest's head record.

The restore is then itself appended to the audit trail. Run `manage.py migrate` afterwards if
this release has newer migrations than the backup.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tongxin.core.audit import audit, verify_chain
from tongxin.core.management.commands.backup import (
    DATABASE_FILES,
    FORMAT,
    MANIFEST,
    UPLOADS,
    applied_migrations,
    pg_environment,
    sm3_file,
)
from tongxin.core.models import AuditRecord


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise CommandError(f"{source} is not a backup: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CommandError(f"{MANIFEST} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise CommandError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def verify_files(source: Path, manifest: dict[str, Any]) -> None:
    expected = manifest.get("files") or {}
    database = manifest["database"]["file"]
    if set(expected) != {database, UPLOADS}:
        raise CommandError("the manifest does not list the database and the uploads")
    for name, facts in expected.items():
        path = source / name
        if not path.is_file():
            raise CommandError(f"{name} is missing from the backup")
        if path.stat().st_size != facts["bytes"] or sm3_file(path) != facts["sm3"]:
            raise CommandError(f"{name} does not match its SM3 in the manifest: damaged or altered")


def _unknown_migrations(manifest: dict[str, Any]) -> list[str]:
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).graph.nodes}
    return sorted(set(manifest["migrations"]) - known)


def _ensure_empty_target(media_root: Path) -> None:
    tables = connection.introspection.table_names()
    if tables:
        raise CommandError(
            f"the database {connection.settings_dict['NAME']} is not empty ({len(tables)} tables): "
            "restore only into a freshly created, empty database"
        )
    if media_root.exists() and any(p.is_file() for p in media_root.rglob("*")):
        raise CommandError(f"the uploads directory {media_root} is not empty")


def _restore_sqlite(dump: Path) -> None:
    connection.ensure_connection()
    source = sqlite3.connect(dump)
    try:
        source.backup(connection.connection)
    finally:
        source.close()


def _restore_postgresql(dump: Path) -> None:
    db = connection.settings_dict
    args, env = pg_environment(db)
    connection.close()  # pg_restore works through its own connection
    command = [
        shutil.which("pg_restore") or "pg_restore",
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        *args,
        "--dbname",
        str(db["NAME"]),
        str(dump),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise CommandError(f"pg_restore failed ({result.returncode}): {result.stderr.strip()}")


def _unpack_uploads(archive_path: Path, media_root: Path) -> int:
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive_path, "r") as archive:
        members = [m for m in archive.getmembers() if m.isfile()]
        archive.extractall(media_root, members=members, filter="data")
    return len(members)


def _check_audit(manifest: dict[str, Any]) -> int:
    report = verify_chain()
    if not report.ok:
        raise CommandError(
            f"the restored audit trail does not verify: record {report.first_bad_id} "
            f"({report.reason}); {report.checked} records fit before it"
        )
    head = manifest.get("audit") or {}
    if head.get("last_id") is not None:
        found = AuditRecord.objects.filter(pk=head["last_id"]).values_list("hash", flat=True)
        if list(found) != [head["last_hash"]]:
            raise CommandError("the restored audit trail lacks the manifest's head record")
    if report.checked < (head.get("records") or 0):
        raise CommandError("the restored audit trail is shorter than the manifest says")
    return report.checked


def restore_backup(source: Path) -> dict[str, Any]:
    manifest = read_manifest(source)
    verify_files(source, manifest)
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor or vendor not in DATABASE_FILES:
        raise CommandError(
            f"the backup is of a {vendor} database; this site is configured for {connection.vendor}"
        )
    unknown = _unknown_migrations(manifest)
    if unknown:
        raise CommandError(
            "the backup comes from a newer release (unknown migrations: "
            + ", ".join(unknown[:5])
            + "); restore it with that release"
        )
    media_root = Path(settings.MEDIA_ROOT)
    _ensure_empty_target(media_root)
    dump = source / manifest["database"]["file"]
    if vendor == "sqlite":
        _restore_sqlite(dump)
    else:
        _restore_postgresql(dump)
    files = _unpack_uploads(source / UPLOADS, media_root)
    if sorted(applied_migrations()) != sorted(manifest["migrations"]):
        raise CommandError("the restored migration state differs from the manifest")
    records = _check_audit(manifest)
    return {"uploads": files, "audit_records": records, "created_at": manifest["created_at"]}


class Command(BaseCommand):
    help = "从备份恢复到空数据库和空上传目录，并校验清单哈希与审计哈希链"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a backup directory written by `manage.py backup`")
        parser.add_argument(
            "--yes", action="store_true", help="confirm: restore into the configured database"
        )

    def handle(self, *args: Any, path: str, yes: bool, **options: Any) -> None:
        if not yes:
            raise CommandError("restore writes into the configured database: add --yes to confirm")
        source = Path(path).resolve()
        outcome = restore_backup(source)
        audit(
            actor=None,
            username="restore",
            action="core.backup.restore",
            object_repr=str(source)[:200],
            changes=outcome,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"恢复完成：备份时间 {outcome['created_at']}，上传文件 {outcome['uploads']} 个，"
                f"审计记录 {outcome['audit_records']} 条，哈希链校验通过。"
            )
        )

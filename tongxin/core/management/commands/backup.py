"""Write a consistent backup of the database and the uploads (SECURITY.md 21).

    manage.py backup [--output DIR]

The backup is a directory holding

    database.sqlite3 | database.pgdump   a consistent snapshot of the whole database:
                                         SQLite through the online backup API
                                         (`sqlite3.Connection.backup`, safe while the site runs),
                                         PostgreSQL through `pg_dump -Fc` (one snapshot transaction)
    uploads.tar                          MEDIA_ROOT (event photos, import error reports …)
    manifest.json                        time, database vendor, applied migrations, the audit
                                         chain's length and head, and the SM3 and size of each file

It is written under `<DIR>.partial` and renamed when complete, so an interrupted run never leaves
something that looks like a finished backup. The database is copied first and the uploads
second: a file uploaded in between is merely extra; one deleted in between (an expired import
upload) is missing, which the application already tolerates.

Not in the backup, on purpose: the secret key and the encryption key (TONGXIN_SECRET_KEY,
TONGXIN_ENCRYPTION_KEY). They live in the secrets store; a restore needs the same encryption key
to open sealed personal data. `manage.py restore` is the only supported way back.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from tongxin.core.audit import audit
from tongxin.core.models import AuditRecord

FORMAT = "tongxin-backup/1"
MANIFEST = "manifest.json"
UPLOADS = "uploads.tar"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


def sm3_file(path: Path) -> str:
    digest = hashes.Hash(hashes.SM3())
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.finalize().hex()


def pg_environment(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """libpq connection arguments and environment for pg_dump/pg_restore (no shell, no URL)."""
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return args, env


def applied_migrations() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [f"{app}.{name}" for app, name in cursor.fetchall()]


def audit_head() -> dict[str, Any]:
    last = AuditRecord.objects.order_by("-id").values("id", "hash").first()
    return {
        "records": AuditRecord.objects.count(),
        "last_id": last["id"] if last else None,
        "last_hash": last["hash"] if last else None,
    }


def _dump_sqlite(target: Path) -> None:
    connection.ensure_connection()
    destination = sqlite3.connect(target)
    try:
        # The online backup API copies a consistent snapshot page by page while others write.
        connection.connection.backup(destination)
    finally:
        destination.close()


def _dump_postgresql(target: Path) -> None:
    db = connection.settings_dict
    args, env = pg_environment(db)
    command = [
        shutil.which("pg_dump") or "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        "--file",
        str(target),
        *args,
        "--dbname",
        str(db["NAME"]),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise CommandError(f"pg_dump failed ({result.returncode}): {result.stderr.strip()}")


def _tar_uploads(media_root: Path, target: Path) -> int:
    count = 0
    with tarfile.open(target, "w") as archive:
        if media_root.is_dir():
            for path in sorted(media_root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=str(path.relative_to(media_root)), recursive=False)
                    count += 1
    return count


def write_backup(output: Path) -> dict[str, Any]:
    """Write a complete backup directory at `output` (which must not exist); its manifest."""
    vendor = connection.vendor
    if vendor not in DATABASE_FILES:
        raise CommandError(f"backups of a {vendor} database are not supported")
    if output.exists():
        raise CommandError(f"{output} already exists; choose another --output")
    partial = output.with_name(output.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    partial.chmod(0o700)  # personal data: readable by the service account only
    started = timezone.now()
    head = audit_head()
    migrations = applied_migrations()
    database_file = partial / DATABASE_FILES[vendor]
    if vendor == "sqlite":
        _dump_sqlite(database_file)
    else:
        _dump_postgresql(database_file)
    media_root = Path(settings.MEDIA_ROOT)
    uploads = _tar_uploads(media_root, partial / UPLOADS)
    files = {
        name: {"sm3": sm3_file(partial / name), "bytes": (partial / name).stat().st_size}
        for name in (DATABASE_FILES[vendor], UPLOADS)
    }
    manifest = {
        "format": FORMAT,
        "created_at": started.isoformat(),
        "finished_at": timezone.now().isoformat(),
        "database": {"vendor": vendor, "file": DATABASE_FILES[vendor]},
        "migrations": migrations,
        # Taken before the snapshot; the snapshot may hold a few later records (never fewer).
        "audit": head,
        "uploads": {"file": UPLOADS, "files": uploads},
        "files": files,
    }
    (partial / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    for path in partial.iterdir():
        path.chmod(0o600)
    partial.rename(output)
    return manifest


class Command(BaseCommand):
    help = "备份数据库和上传文件（含 SM3 校验清单）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            help="backup directory to create (default: <data dir>/backups/tongxin-<time>)",
        )

    def handle(self, *args: Any, output: str | None = None, **options: Any) -> None:
        if output:
            target = Path(output).resolve()
        else:
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            target = Path(settings.DATA_DIR) / "backups" / f"tongxin-{stamp}"
        manifest = write_backup(target)
        audit(
            actor=None,
            username="backup",
            action="core.backup.create",
            object_repr=str(target)[:200],
            changes={
                "vendor": manifest["database"]["vendor"],
                "files": manifest["files"],
                "audit_records": manifest["audit"]["records"],
                "uploads": manifest["uploads"]["files"],
            },
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"备份完成：{target}（数据库 {manifest['database']['vendor']}，"
                f"上传文件 {manifest['uploads']['files']} 个，"
                f"审计记录 {manifest['audit']['records']} 条）"
            )
        )

"""Backups with a tested restore (SECURITY.md 21).

Data is made in the test database, `manage.py backup` writes a backup, and `manage.py restore`
runs in a separate process against a fresh data directory (SQLite) or a scratch database
(PostgreSQL, when TONGXIN_DATABASE_URL is set): the rows, an uploaded file, sealed personal data
and the audit chain must all come back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from tongxin.core.audit import audit
from tongxin.core.crypto import keyring
from tongxin.core.management.commands.backup import MANIFEST, UPLOADS
from tongxin.core.management.commands.restore import read_manifest, verify_files
from tongxin.core.models import AuditRecord
from tongxin.people.models import Person

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(settings.BASE_DIR)
PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg \x00\x01" * 100


def _restore_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TONGXIN_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        TONGXIN_DATA_DIR=str(data_dir),
        # The keys are not in the backup: a restore uses the same secrets store.
        TONGXIN_SECRET_KEY=settings.SECRET_KEY,
        TONGXIN_ENCRYPTION_KEY=settings.ENCRYPTION_KEY,
    )
    if database_url:
        env["TONGXIN_DATABASE_URL"] = database_url
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _pg_url(name: str) -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.fixture
def scratch_database():
    """SQLite: nothing (the fresh data directory holds the file). PostgreSQL: a scratch DB."""
    if connection.vendor != "postgresql":
        yield None
        return
    name = f"tongxin_restore_scratch_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def source_data(places, people, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    photo = Path(settings.MEDIA_ROOT) / "events" / "2026" / "11" / "photo.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(PHOTO)
    person = Person(node=places.grid_a, name="林美华")
    person.id_number = "350302196001011234"
    person.phone = "13800001234"
    person.save()
    for n in range(5):
        audit(actor=people.community_admin, action="test.write", obj=person, changes={"n": n})
    return person


def _restored_rows(database: str | None, data_dir: Path, sql: str) -> list[tuple]:
    if database is None:
        with sqlite3.connect(data_dir / "tongxin.sqlite3") as db:
            return db.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(_pg_url(database)) as db:
        return db.execute(sql).fetchall()


def test_backup_then_restore_into_a_fresh_place_brings_everything_back(
    source_data, scratch_database, tmp_path
):
    person = source_data
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM accounts_user")
        user_count = cursor.fetchone()[0]
    audit_count = AuditRecord.objects.count()
    backup_dir = tmp_path / "backup"
    call_command("backup", output=str(backup_dir), verbosity=0)

    manifest = json.loads((backup_dir / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["database"]["vendor"] == connection.vendor
    assert "accounts.0004_totp_device" in manifest["migrations"]
    assert manifest["audit"]["records"] == audit_count
    assert set(manifest["files"]) == {manifest["database"]["file"], UPLOADS}
    assert all(len(f["sm3"]) == 64 for f in manifest["files"].values())
    assert not (tmp_path / "backup.partial").exists()
    assert AuditRecord.objects.filter(action="core.backup.create").count() == 1

    fresh = tmp_path / "fresh"
    url = _pg_url(scratch_database) if scratch_database else None
    env = _restore_env(fresh, url)
    refused = _manage(env, "restore", str(backup_dir))
    assert refused.returncode != 0 and "--yes" in refused.stderr

    done = _manage(env, "restore", str(backup_dir), "--yes")
    assert done.returncode == 0, done.stderr
    assert "哈希链校验通过" in done.stdout

    # Rows, sealed personal data (same key opens it), the uploaded file, the audit chain.
    assert _restored_rows(scratch_database, fresh, "SELECT COUNT(*) FROM accounts_user") == [
        (user_count,)
    ]
    rows = _restored_rows(
        scratch_database,
        fresh,
        f"SELECT name, phone_cipher, phone_masked FROM people_person WHERE id = {int(person.pk)}",  # noqa: S608
    )
    assert rows[0][0] == "林美华" and rows[0][2] == person.phone.masked
    assert keyring().decrypt(rows[0][1], purpose="people.person.phone") == "13800001234"
    restored_photo = fresh / "uploads" / "events" / "2026" / "11" / "photo.jpg"
    assert restored_photo.read_bytes() == PHOTO
    actions = [
        a
        for (a,) in _restored_rows(
            scratch_database, fresh, "SELECT action FROM core_auditrecord ORDER BY id"
        )
    ]
    assert actions.count("test.write") == 5
    assert actions[-1] == "core.backup.restore", "the restore appends itself to the chain"
    verified = _manage(env, "verify_audit")
    assert verified.returncode == 0, verified.stderr

    # A second restore into the now non-empty place is refused, and changes nothing.
    again = _manage(env, "restore", str(backup_dir), "--yes")
    assert again.returncode != 0 and "not empty" in again.stderr
    assert len(_restored_rows(scratch_database, fresh, "SELECT id FROM core_auditrecord")) == len(
        actions
    )


def test_a_damaged_backup_is_refused_before_anything_is_written(source_data, tmp_path):
    backup_dir = tmp_path / "backup"
    call_command("backup", output=str(backup_dir), verbosity=0)
    manifest = read_manifest(backup_dir)
    verify_files(backup_dir, manifest)  # intact: passes
    uploads = backup_dir / UPLOADS
    data = bytearray(uploads.read_bytes())
    data[600] ^= 0x01
    uploads.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="SM3"):
        verify_files(backup_dir, manifest)
    with pytest.raises(CommandError, match="SM3"):
        call_command("restore", str(backup_dir), yes=True, verbosity=0)


def test_restore_refuses_a_database_that_is_not_empty(source_data, tmp_path):
    backup_dir = tmp_path / "backup"
    call_command("backup", output=str(backup_dir), verbosity=0)
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(backup_dir), yes=True, verbosity=0)


def test_backup_refuses_to_overwrite(tmp_path):
    (tmp_path / "exists").mkdir()
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", output=str(tmp_path / "exists"), verbosity=0)

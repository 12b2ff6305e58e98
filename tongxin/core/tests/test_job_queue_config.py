"""TONGXIN_REDIS_URL moves the job queue from the SQLite file to Redis (ARCHITECTURE.md stack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import django, json
django.setup()
from huey.contrib.djhuey import HUEY
info = {"class": type(HUEY).__name__, "immediate": HUEY.immediate}
if info["class"] == "RedisHuey":
    info["ping"] = HUEY.storage.conn.ping()
else:
    info["file"] = HUEY.storage.filename
print(json.dumps(info))
"""


def _probe(tmp_path: Path, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TONGXIN_")}
    clean.update(
        DJANGO_SETTINGS_MODULE="tongxin.settings",
        TONGXIN_DATA_DIR=str(tmp_path),
        TONGXIN_JOBS_IMMEDIATE="0",
        **env,
    )
    result = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_by_default_jobs_queue_in_a_sqlite_file_in_the_data_dir(tmp_path):
    info = _probe(tmp_path)
    assert info["class"] == "SqliteHuey"
    assert info["file"] == str(tmp_path / "jobs.sqlite3")
    assert info["immediate"] is False


def test_redis_url_switches_the_queue_to_a_live_redis(tmp_path):
    info = _probe(tmp_path, TONGXIN_REDIS_URL="redis://127.0.0.1:6379/15")
    assert info == {"class": "RedisHuey", "immediate": False, "ping": True}

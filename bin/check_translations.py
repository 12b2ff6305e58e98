#!/usr/bin/env python
"""Is the English catalogue in step with the source strings? Writes nothing in the repository.

Runs the same extraction as `make messages` (makemessages from tongxin/), but into a temporary
copy of locale/en/LC_MESSAGES/django.po, then lists the strings that would come out untranslated
or fuzzy and the entries the source no longer uses. Exit status 1 when the catalogue needs a
refresh (then run `make messages`, translate, run it again).

    .venv/bin/python bin/check_translations.py
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"


def msgids(po: Path, *only: str) -> list[str]:
    """msgids of a .po file, optionally filtered by msgattrib (--untranslated, --only-fuzzy)."""
    msgattrib = shutil.which("msgattrib")
    if msgattrib is None:
        raise SystemExit("GNU gettext (msgattrib) is not installed")
    out = subprocess.run(  # noqa: S603 - fixed argv, our own file
        [msgattrib, "--no-wrap", *only, str(po)], capture_output=True, text=True, check=True
    ).stdout
    found = re.findall(r'^msgid "(.*)"$', out, flags=re.MULTILINE)
    return [ast.literal_eval(f'"{m}"') for m in found if m]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django
    from django.core.management import call_command
    from django.test.utils import override_settings

    django.setup()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "locale"
        fresh = work / "en" / "LC_MESSAGES" / "django.po"
        fresh.parent.mkdir(parents=True)
        if CATALOGUE.exists():
            shutil.copy(CATALOGUE, fresh)
        os.chdir(ROOT / "tongxin")  # as `make messages` does: only the project's own code
        with override_settings(LOCALE_PATHS=[work]):
            call_command("makemessages", locale=["en"], no_obsolete=True, verbosity=0)
        untranslated = msgids(fresh, "--untranslated")
        fuzzy = msgids(fresh, "--only-fuzzy")
        current = set(msgids(fresh))
        gone = [m for m in (msgids(CATALOGUE) if CATALOGUE.exists() else []) if m not in current]
    for title, items in (
        ("untranslated", untranslated),
        ("fuzzy (msgmerge guessed; review)", fuzzy),
        ("no longer in the source", gone),
    ):
        print(f"{len(items)} {title}")
        for item in items:
            print(f"  {item}")
    print(f"{len(current)} strings in the source")
    return 1 if untranslated or fuzzy or gone else 0


if __name__ == "__main__":
    sys.exit(main())

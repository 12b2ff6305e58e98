"""docs/events.md draws the move table; it must say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from tongxin.events.workflow import MOVES

DOC = Path(settings.BASE_DIR) / "docs" / "events.md"


def test_the_documented_move_table_is_the_codes():
    rows = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"[a-z]+", cells[0]) and cells[0] != "from":
            rows.add((cells[0], cells[1], cells[2]))
    assert rows == {(m.source, m.action, m.target) for m in MOVES}

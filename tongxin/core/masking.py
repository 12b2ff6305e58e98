"""Masking of personal data for pages, the API and exports (SECURITY.md 12).

Pure string functions with no model or key dependencies, so any export column or serializer can
use them. `mask_phone` keeps what a caller needs to recognise a number without exposing it:
the carrier prefix and last four digits of a mobile (`138****5678`), the area code and last
four digits of a landline (`0594-***5678`).
"""

from __future__ import annotations

import re

_LANDLINE = re.compile(r"^(0\d{2,3})[-\s]?(\d{7,8})$")


def mask_phone(value: str | None) -> str:
    """`13812345678` → `138****5678`; `0594-2345678` / `05942345678` → `0594-***5678`.

    Anything else (an extension, a foreign number, free text) keeps only its last four
    characters: an unusual format is no reason to show more of it.
    """
    value = (value or "").strip()
    if not value:
        return ""
    digits = re.sub(r"[\s\-]", "", value)
    if len(digits) == 11 and digits.startswith("1") and digits.isdigit():
        return digits[:3] + "****" + digits[-4:]
    landline = _LANDLINE.match(value) or _LANDLINE.match(digits)
    if landline:
        area, number = landline.groups()
        return f"{area}-" + "*" * (len(number) - 4) + number[-4:]
    if "-" in value:
        area, number = value.split("-", 1)
        if area.isdigit() and area.startswith("0") and len(number) > 4:
            return f"{area}-" + "*" * (len(number) - 4) + number[-4:]
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]

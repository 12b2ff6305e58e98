"""The plain ID numbers and phones never reach the database (SECURITY.md 11).

After registering people through every path that takes protected values (member, resident, bulk
import rows, an update, a floating contact, a reveal and its audit record), every table is read
back in full and searched for the plain values in each spelling they might take.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from tongxin.people import services
from tongxin.people.models import Person
from tongxin.people.tests.factories import id_number, member_data

pytestmark = pytest.mark.django_db


def _database_text() -> str:
    """Every row of every table as text (plus SQLite's own dump, which includes the schema)."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                parts.append(" ".join(str(v) for v in row))
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        parts.extend(connection.connection.iterdump())
    return "\n".join(parts)


def _spellings(value: str) -> set[str]:
    digits = "".join(ch for ch in value if ch.isalnum())
    return {value, value.lower(), digits, digits.lower()}


def test_no_plain_id_number_or_phone_anywhere_in_the_database(places, people, roster):
    plain = dict(roster.plain)
    # An update, a floating contact, bulk rows and a reveal (whose audit record must stay masked).
    plain["updated_phone"] = "13512349876"
    services.member_update(
        actor=people.community_admin,
        member=roster.member_a,
        version=roster.member_a.version,
        changes={"phone": plain["updated_phone"]},
    )
    plain["floating_contact"] = "13788776655"
    services.floating_record_add(
        actor=people.community_admin,
        member=roster.member_a,
        direction="out",
        place="厦门",
        since=dt.date(2024, 1, 1),
        contact_phone=plain["floating_contact"],
    )
    rows = []
    for n in range(3):
        number = id_number(dt.date(1975, 5, 5), 700 + n)
        plain[f"bulk_{n}"] = number
        person, membership = services.clean_member_row(
            member_data(name=f"导入{n}", id_number=number, phone=f"1580000{n:04d}")
        )
        plain[f"bulk_phone_{n}"] = f"1580000{n:04d}"
        rows.append({**person, **membership, "node": places.grid_a})
    services.members_bulk_create(actor=people.community_admin, rows=rows)
    revealed = services.person_reveal(
        actor=people.community_admin, person=roster.member_a.person, reason="核对身份"
    )
    assert revealed["id_number"] == plain["member_a_id"]

    text = _database_text()
    assert "people.person.reveal" in text  # the audit record is there…
    for name, value in plain.items():
        for spelling in _spellings(value):
            assert spelling not in text, f"{name} found in the database as {spelling!r}"
    # …and what is stored is ciphertext with a key id, plus the masked copies.
    person = Person.objects.get(pk=roster.member_a.person_id)
    assert person.id_number_cipher.startswith("sm4gcm1$")
    assert person.id_number_masked in text and len(person.id_number_index) == 64

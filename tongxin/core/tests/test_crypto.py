"""国密 primitives and sealed fields (SECURITY.md 11): SM3, HMAC-SM3, SM4-GCM, key rotation."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tongxin.core.crypto import (
    SM3_ABC,
    DecryptionError,
    Key,
    Keyring,
    hmac_sm3_hex,
    keyring,
    self_test,
    sm3_hex,
)
from tongxin.core.fields import (
    Sealed,
    mask_id_number,
    mask_phone,
    rotate_sealed_values,
)
from tongxin.core.models import AuditRecord

KEY_A = "a1" * 32
KEY_B = "b2" * 32
PURPOSE = "people.person.id_number"


def test_sm3_matches_the_standard_test_vector():
    assert sm3_hex(b"abc") == SM3_ABC


def test_hmac_sm3_depends_on_the_key():
    assert hmac_sm3_hex(b"k1", b"x") != hmac_sm3_hex(b"k2", b"x")
    assert len(hmac_sm3_hex(b"k1", b"x")) == 64


def test_self_test_passes_on_this_build():
    self_test()


def test_sm4_gcm_round_trip_with_chinese_text():
    ring = Keyring.from_hex(KEY_A)
    token = ring.encrypt("郭景国 350302195803122317", purpose=PURPOSE)
    assert token.startswith(f"sm4gcm1${ring.current.key_id}$")
    assert "3503021958" not in token
    assert ring.decrypt(token, purpose=PURPOSE) == "郭景国 350302195803122317"


def test_each_encryption_uses_a_fresh_nonce():
    ring = Keyring.from_hex(KEY_A)
    assert ring.encrypt("same", purpose=PURPOSE) != ring.encrypt("same", purpose=PURPOSE)


def test_the_wrong_key_cannot_open_a_value():
    token = Keyring.from_hex(KEY_A).encrypt("13905941234", purpose=PURPOSE)
    with pytest.raises(DecryptionError):
        Keyring.from_hex(KEY_B).decrypt(token, purpose=PURPOSE)
    # Same key id forged onto another key: authentication still fails.
    other = Keyring(Key(Key.from_hex(KEY_A).key_id, b"\x00" * 16, b"\x00" * 32))
    with pytest.raises(DecryptionError):
        other.decrypt(token, purpose=PURPOSE)


def test_a_value_moved_to_another_column_does_not_open():
    ring = Keyring.from_hex(KEY_A)
    token = ring.encrypt("13905941234", purpose="people.person.phone")
    with pytest.raises(DecryptionError):
        ring.decrypt(token, purpose="people.person.id_number")


@pytest.mark.parametrize("token", ["", "plain", "sm4gcm1$abcd$!!!", "sm4gcm1$zz$AAAA", "x$y$z"])
def test_malformed_values_raise_decryption_error(token):
    with pytest.raises(DecryptionError):
        Keyring.from_hex(KEY_A).decrypt(token, purpose=PURPOSE)


def test_a_tampered_value_is_refused():
    ring = Keyring.from_hex(KEY_A)
    token = ring.encrypt("13905941234", purpose=PURPOSE)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(DecryptionError):
        ring.decrypt(flipped, purpose=PURPOSE)


def test_derived_keys_are_separate_and_never_printed():
    key = Key.from_hex(KEY_A)
    assert key.encryption_key not in key.index_key
    assert len(key.encryption_key) == 16 and len(key.index_key) == 32
    assert KEY_A not in repr(key) and key.encryption_key.hex() not in repr(key)


@pytest.mark.parametrize("bad", ["", "abc", "zz" * 32, "a1" * 31])
def test_a_key_must_be_64_hex_characters(bad):
    with pytest.raises(ValueError):
        Key.from_hex(bad)


def test_blind_index_is_deterministic_per_key_and_purpose():
    ring = Keyring.from_hex(KEY_A)
    first = ring.blind_index("350302195803122317", purpose=PURPOSE)
    assert first == ring.blind_index("350302195803122317", purpose=PURPOSE)
    assert first != ring.blind_index("350302195803122317", purpose="people.person.phone")
    assert first != Keyring.from_hex(KEY_B).blind_index("350302195803122317", purpose=PURPOSE)


def test_the_installation_keyring_follows_settings(settings):
    settings.ENCRYPTION_KEY = KEY_A
    assert keyring().current.key_id == Key.from_hex(KEY_A).key_id
    settings.ENCRYPTION_KEY = KEY_B
    settings.ENCRYPTION_OLD_KEYS = [KEY_A]
    ring = keyring()
    assert ring.current.key_id == Key.from_hex(KEY_B).key_id
    assert Key.from_hex(KEY_A).key_id in ring.key_ids()


@pytest.mark.parametrize(
    ("plain", "masked"),
    [
        ("350302195803122317", "3503**********2317"),
        ("11010519491231002X", "1101**********002X"),
        ("1234", "****"),
    ],
)
def test_id_number_masking(plain, masked):
    assert mask_id_number(plain) == masked


@pytest.mark.parametrize(
    ("plain", "masked"),
    [
        ("13805945678", "138****5678"),
        ("0594-2671234", "0594-***1234"),
        ("010-12345678", "010-****5678"),
    ],
)
def test_phone_masking(plain, masked):
    assert mask_phone(plain) == masked


def test_a_sealed_value_prints_masked_and_templates_cannot_reveal_it():
    from django.template import Context, Template

    ring = Keyring.from_hex(KEY_A)
    sealed = Sealed(
        masked="138****5678", cipher=ring.encrypt("13805945678", purpose=PURPOSE), purpose=PURPOSE
    )
    assert str(sealed) == "138****5678"
    assert sealed.reveal(ring) == "13805945678"
    rendered = Template("{{ v }}|{{ v.reveal }}").render(Context({"v": sealed}))
    assert "13805945678" not in rendered
    assert rendered.startswith("138****5678|")


# --- on a real model --------------------------------------------------------------------------


@pytest.fixture
def sealed_people(places, settings):
    """Two persons sealed under key A."""
    from tongxin.people import services
    from tongxin.people.tests.factories import id_number, member_data

    settings.ENCRYPTION_KEY = KEY_A
    settings.ENCRYPTION_OLD_KEYS = []
    numbers = [id_number(dt.date(1958, 3, 12), 231), id_number(dt.date(1970, 1, 2), 342)]
    members = [
        services.member_create(
            actor=None,
            node=places.grid_a,
            data=member_data(name=f"人员{n}", id_number=number, phone=f"1390594123{n}"),
        )
        for n, number in enumerate(numbers)
    ]
    return [m.person for m in members], numbers


def test_rotation_re_encrypts_and_re_indexes_everything(sealed_people, settings):
    from tongxin.people.models import Person

    persons, numbers = sealed_people
    old_index = {p.pk: p.id_number_index for p in persons}
    settings.ENCRYPTION_KEY = KEY_B
    ring = Keyring.from_hex(KEY_B, [KEY_A])
    report = rotate_sealed_values(ring)
    assert report.values_resealed == 4  # two ID numbers, two phones
    assert report.indexes_rebuilt == 4
    new_id = Key.from_hex(KEY_B).key_id
    for person in Person.objects.filter(pk__in=[p.pk for p in persons]):
        assert Keyring.key_id_of(person.id_number_cipher) == new_id
        assert Keyring.key_id_of(person.phone_cipher) == new_id
        assert person.id_number_index != old_index[person.pk]
        assert person.id_number.reveal(Keyring.from_hex(KEY_B)) in numbers
    # Look-ups through the index work under the new key, and only under it.
    assert Person.objects.filter(Person.id_number.lookup(numbers[0])).count() == 1
    # Running it again has nothing left to do.
    again = rotate_sealed_values(ring)
    assert (again.values_resealed, again.indexes_rebuilt) == (0, 0)


def test_rotation_refuses_values_no_key_opens(sealed_people):
    with pytest.raises(DecryptionError):
        rotate_sealed_values(Keyring.from_hex(KEY_B))


def test_rotation_command_takes_the_old_key_and_is_audited(sealed_people, settings, tmp_path):
    from tongxin.people.models import Person

    persons, numbers = sealed_people
    settings.ENCRYPTION_KEY = KEY_B
    key_file = tmp_path / "old.key"
    key_file.write_text(KEY_A + "\n", encoding="utf-8")
    call_command("rotate_encryption_key", old_key_file=[str(key_file)])
    person = Person.objects.get(pk=persons[0].pk)
    assert person.id_number.reveal() == numbers[0]
    record = AuditRecord.objects.filter(action="core.crypto.rotate").get()
    assert record.changes["resealed"] == 4
    assert KEY_A not in str(record.changes) and KEY_B not in str(record.changes)


def test_rotation_command_without_the_old_key_fails_cleanly(sealed_people, settings):
    settings.ENCRYPTION_KEY = KEY_B
    with pytest.raises(CommandError):
        call_command("rotate_encryption_key")
    with pytest.raises(CommandError):
        call_command("rotate_encryption_key", old_key=["not-hex"])


def test_a_new_key_still_reads_old_values_while_configured_as_old(sealed_people, settings):
    persons, numbers = sealed_people
    settings.ENCRYPTION_KEY = secrets.token_hex(32)
    settings.ENCRYPTION_OLD_KEYS = [KEY_A]
    assert persons[0].id_number.reveal() == numbers[0]

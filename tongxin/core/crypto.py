"""国密 primitives from `cryptography`: SM3, HMAC-SM3, and SM4-GCM sealing of personal data.

`self_test()` runs at start-up (SECURITY.md 11): a library or OpenSSL build without the national
algorithms must fail loudly instead of silently falling back to something else.

Keys (SECURITY.md 11: from settings or a key file, never in the database). The one 32-byte master
key `settings.ENCRYPTION_KEY` is never used directly: HKDF-SM3 derives from it

- a 16-byte SM4 key for encryption,
- a 32-byte HMAC-SM3 key for blind indexes (exact look-ups without decrypting), and
- a short key id, written into every ciphertext so that after a key change each value still says
  which key sealed it and `rotate_encryption_key` knows what to re-encrypt.

Separate derived keys mean the index key cannot decrypt anything and vice versa. A ciphertext is
`sm4gcm1$<key id>$<base64url(nonce ‖ ciphertext ‖ tag)>`; the "purpose" (e.g.
`people.person.id_number`) is authenticated as associated data, so a value copied into another
column fails to decrypt instead of passing for that column's data.
"""

from __future__ import annotations

import base64
import hmac as _hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
# GB/T 32907-2016 appendix A.1: one block of SM4 with this key and plaintext.
SM4_VECTOR_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
SM4_VECTOR_CIPHERTEXT = "681edf34d206965e86b3e94f536e4246"

SCHEME = "sm4gcm1"
NONCE_BYTES = 12  # the GCM standard nonce: random per value, never reused with one key
TAG_BYTES = 16
_HKDF_SALT = b"tongxin/keys/v1"


class DecryptionError(Exception):
    """A sealed value could not be opened: unknown key id, wrong key, tampered or malformed."""


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    mac = HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


def constant_time_equal(a: str, b: str) -> bool:
    return _hmac.compare_digest(a.encode(), b.encode())


def _derive(master: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SM3(), length=length, salt=_HKDF_SALT, info=info).derive(master)


@dataclass(frozen=True)
class Key:
    """One master key's derived keys. `repr` never shows key material."""

    key_id: str
    encryption_key: bytes
    index_key: bytes

    @classmethod
    def from_hex(cls, master_hex: str) -> Key:
        try:
            master = bytes.fromhex(master_hex.strip())
        except ValueError:
            raise ValueError("an encryption key must be 64 hexadecimal characters") from None
        if len(master) != 32:
            raise ValueError("an encryption key must be 64 hexadecimal characters")
        return cls(
            key_id=_derive(master, b"tongxin/key-id", 4).hex(),
            encryption_key=_derive(master, b"tongxin/sm4-gcm", 16),
            index_key=_derive(master, b"tongxin/blind-index", 32),
        )

    def __repr__(self) -> str:
        return f"Key(key_id={self.key_id!r})"


class Keyring:
    """The current key (seals and indexes) plus older keys that may still open old values."""

    def __init__(self, current: Key, old: Iterable[Key] = ()) -> None:
        self.current = current
        self._by_id = {k.key_id: k for k in old}
        self._by_id[current.key_id] = current

    @classmethod
    def from_hex(cls, current_hex: str, old_hex: Iterable[str] = ()) -> Keyring:
        return cls(Key.from_hex(current_hex), [Key.from_hex(h) for h in old_hex if h.strip()])

    def key_ids(self) -> set[str]:
        return set(self._by_id)

    def encrypt(self, plaintext: str, *, purpose: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(
            algorithms.SM4(self.current.encryption_key), modes.GCM(nonce)
        ).encryptor()
        encryptor.authenticate_additional_data(purpose.encode())
        body = encryptor.update(plaintext.encode()) + encryptor.finalize()
        blob = base64.urlsafe_b64encode(nonce + body + encryptor.tag).decode().rstrip("=")
        return f"{SCHEME}${self.current.key_id}${blob}"

    def decrypt(self, token: str, *, purpose: str) -> str:
        try:
            scheme, key_id, blob = token.split("$")
        except ValueError:
            raise DecryptionError("not a sealed value") from None
        if scheme != SCHEME:
            raise DecryptionError(f"unknown scheme {scheme!r}")
        key = self._by_id.get(key_id)
        if key is None:
            raise DecryptionError(f"no key with id {key_id!r} is configured")
        try:
            raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        except ValueError:
            raise DecryptionError("malformed sealed value") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("malformed sealed value")
        nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(key.encryption_key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(purpose.encode())
        try:
            return (decryptor.update(body) + decryptor.finalize()).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise DecryptionError("wrong key or tampered value") from None

    def blind_index(self, normalized: str, *, purpose: str) -> str:
        """HMAC-SM3 of the normalized value under the current index key (64 hex characters)."""
        return hmac_sm3_hex(
            self.current.index_key, purpose.encode() + b"\x00" + normalized.encode()
        )

    @staticmethod
    def key_id_of(token: str) -> str:
        parts = token.split("$")
        return parts[1] if len(parts) == 3 else ""


@lru_cache(maxsize=4)
def _keyring_for(current_hex: str, old_hex: tuple[str, ...]) -> Keyring:
    return Keyring.from_hex(current_hex, old_hex)


def keyring() -> Keyring:
    """The installation's keyring from settings (cached per distinct key configuration).

    `ENCRYPTION_OLD_KEYS` (optional) lists retired master keys that may still open values sealed
    before a key change, so the site keeps working until `rotate_encryption_key` has run.
    """
    from django.conf import settings

    old = tuple(getattr(settings, "ENCRYPTION_OLD_KEYS", ()) or ())
    return _keyring_for(settings.ENCRYPTION_KEY, old)


def self_test() -> None:
    if sm3_hex(b"abc") != SM3_ABC:
        raise RuntimeError("SM3 self-test failed: the cryptography build does not compute SM3")
    encryptor = Cipher(algorithms.SM4(SM4_VECTOR_KEY), modes.ECB()).encryptor()  # noqa: S305
    block = encryptor.update(SM4_VECTOR_KEY) + encryptor.finalize()
    if block.hex() != SM4_VECTOR_CIPHERTEXT:
        raise RuntimeError("SM4 self-test failed: the cryptography build does not compute SM4")
    ring = Keyring(Key.from_hex("00" * 32))
    if ring.decrypt(ring.encrypt("自检", purpose="self-test"), purpose="self-test") != "自检":
        raise RuntimeError("SM4-GCM self-test failed: a sealed value did not open again")

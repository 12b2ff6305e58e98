"""国密 primitives from `cryptography`: SM3 hashing and HMAC-SM3 (SM4-GCM fields build on this).

`self_test()` runs at start-up (SECURITY.md 11): a library or OpenSSL build without the national
algorithms must fail loudly instead of silently falling back to something else.
"""

from __future__ import annotations

import hmac as _hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


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


def self_test() -> None:
    if sm3_hex(b"abc") != SM3_ABC:
        raise RuntimeError("SM3 self-test failed: the cryptography build does not compute SM3")

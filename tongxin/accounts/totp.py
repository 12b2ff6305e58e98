"""RFC 6238 time-based one-time passwords over `cryptography`'s TOTP (SECURITY.md 5).

The secret is 20 random bytes (160 bits, RFC 4226's recommended length), shown to the user as
base32 for manual entry and inside an `otpauth://` URI rendered as a QR code. Codes are 6 digits,
SHA-1, 30 s steps: the parameters every authenticator app (Google/Microsoft Authenticator,
FreeOTP, 阿里云/腾讯身份验证器) accepts. A code is accepted from the previous, current or next
step (clock drift of ±30 s); `match_step` says which step it was, so the caller can refuse a code
whose step is not newer than the last one accepted (replay within the window).

Why not django-otp: see docs/decisions/0002-security-hardening.md.
"""

from __future__ import annotations

import base64
import hmac
import os
import re
import time
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
PERIOD = 30
SECRET_BYTES = 20
# Steps either side of "now" that are still accepted: one step of clock drift each way.
DRIFT_STEPS = 1
ISSUER = "同心"

_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    """A fresh base32 secret (32 characters, no padding)."""
    return base64.b32encode(os.urandom(SECRET_BYTES)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def _totp(secret: str) -> TOTP:
    return TOTP(_key(secret), DIGITS, hashes.SHA1(), PERIOD, enforce_key_length=False)  # noqa: S303


def normalize_code(code: str) -> str:
    """What the user typed, without spaces; '' when it cannot be a code at all."""
    cleaned = re.sub(r"\s", "", str(code or ""))
    return cleaned if _CODE.match(cleaned) else ""


def step_at(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // PERIOD)


def code_at_step(secret: str, step: int) -> str:
    return _totp(secret).generate(step * PERIOD).decode()


def match_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code `code` is (current step first), or None if it matches none."""
    code = normalize_code(code)
    if not code or not secret:
        return None
    current = step_at(now)
    found = None
    # Compare against every candidate (constant work whatever matches) in constant time.
    for step in (current, current - DRIFT_STEPS, current + DRIFT_STEPS):
        if hmac.compare_digest(code_at_step(secret, step), code) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, account: str) -> str:
    """`otpauth://totp/同心:<account>?secret=…&issuer=同心…` for authenticator apps."""
    label = quote(f"{ISSUER}:{account}", safe=":@")
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(ISSUER)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={PERIOD}"
    )


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, drawn on the server (no script, no external service)."""
    import segno

    return segno.make_qr(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))

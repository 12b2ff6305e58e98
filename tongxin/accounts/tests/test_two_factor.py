"""Two-factor sign-in with TOTP (SECURITY.md 5): enrolment, the code step, lockout, replay,
API tokens, reset by the security administrator, and the officials/off policy."""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tongxin.accounts import totp, two_factor
from tongxin.accounts.models import TotpDevice
from tongxin.accounts.services import totp_enrol_begin, totp_reset
from tongxin.conftest import PASSWORD
from tongxin.core.audit import verify_chain
from tongxin.core.models import AuditOutcome, AuditRecord

LOGIN = "/accounts/login/"
CODE_STEP = "/accounts/login/code/"
SETUP = "/accounts/otp/"
TOKEN = "/api/v1/auth/token/"
HOME = "/"


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def enrol(user, *, step_offset: int = -1) -> tuple[TotpDevice, str]:
    """A confirmed device whose last accepted step lies before `now + step_offset`."""
    device = totp_enrol_begin(actor=user, user=user)
    device.confirmed_at = timezone.now()
    device.last_step = totp.step_at() + step_offset - 1
    device.save()
    return device, device.secret.reveal()


def code(secret: str, offset: int = 0) -> str:
    return totp.code_at_step(secret, totp.step_at() + offset)


def wrong(secret: str) -> str:
    valid = {code(secret, k) for k in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in valid)


def password_step(client, username: str, ip: str = "10.1.1.1"):
    return client.post(LOGIN, {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip)


def actions(name: str, outcome: str | None = None) -> int:
    rows = AuditRecord.objects.filter(action=name)
    return rows.filter(outcome=outcome).count() if outcome else rows.count()


@pytest.fixture(autouse=True)
def _policy_off(settings):
    settings.REQUIRE_2FA = "off"


# --- TOTP itself ------------------------------------------------------------------------------


def test_codes_follow_rfc6238_and_accept_one_step_of_drift():
    secret = totp.new_secret()
    assert len(secret) == 32 and re.fullmatch(r"[A-Z2-7]+", secret)
    now = 1_800_000_000.0
    step = int(now // 30)
    for offset in (-1, 0, 1):
        assert totp.match_step(secret, totp.code_at_step(secret, step + offset), now=now) == (
            step + offset
        )
    assert totp.match_step(secret, totp.code_at_step(secret, step - 2), now=now) is None
    assert totp.match_step(secret, "12345", now=now) is None
    assert totp.match_step(secret, "abcdef", now=now) is None
    # RFC 6238 appendix B: the SHA-1 seed "12345678901234567890" at T=59 gives 94287082 (8 digits).
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    rfc = TOTP(b"12345678901234567890", 8, hashes.SHA1(), 30, enforce_key_length=False)  # noqa: S303
    assert rfc.generate(59) == b"94287082"
    assert totp.code_at_step("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1) == "287082"


def test_the_secret_is_sealed_at_rest(people):
    device = totp_enrol_begin(actor=people.community_admin, user=people.community_admin)
    secret = device.secret.reveal()
    row = TotpDevice.objects.values().get(pk=device.pk)
    assert row["secret_cipher"].startswith("sm4gcm1$")
    assert secret not in str(row)
    assert row["secret_masked"] == ""


# --- enrolment --------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_secret_and_is_confirmed_by_a_first_code(client, people):
    user = people.community_admin
    client.force_login(user)
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'data-testid="otp-qr"' in html
    secret = TotpDevice.objects.get(user=user).secret.reveal()
    assert totp.grouped(secret) in html
    assert client.get(SETUP).content.decode().count(totp.grouped(secret)) == 1, "same secret"

    refused = client.post(SETUP, {"otp": wrong(secret)})
    assert refused.status_code == 400
    assert not TotpDevice.objects.get(user=user).confirmed
    assert actions("accounts.otp.enrol", AuditOutcome.FAILURE) == 1

    Token.objects.create(user=user)
    accepted = client.post(SETUP, {"otp": code(secret)})
    assert accepted.status_code == 302
    device = TotpDevice.objects.get(user=user)
    assert device.confirmed and device.last_step == totp.step_at()
    assert actions("accounts.otp.enrol", AuditOutcome.SUCCESS) == 1
    assert not Token.objects.filter(user=user).exists(), "password-only tokens are dropped"
    # The enrolling session was verified by the new device and stays signed in.
    assert client.get(HOME).status_code == 200
    assert 'data-testid="otp-enrolled"' in client.get(SETUP).content.decode()


def test_a_confirmed_device_is_not_replaced_by_enrolling_again(people):
    user = people.grid_manager
    _device, secret = enrol(user)
    with pytest.raises(Exception, match="安全管理员"):
        totp_enrol_begin(actor=user, user=user)
    assert TotpDevice.objects.get(user=user).secret.reveal() == secret


# --- the code step ----------------------------------------------------------------------------


def test_login_requires_the_code_after_the_password(client, people):
    user = people.community_admin
    enrol(user)
    secret = TotpDevice.objects.get(user=user).secret.reveal()
    first = password_step(client, user.username)
    assert first.status_code == 302 and first.url == CODE_STEP
    assert not signed_in(client), "the password alone does not log the session in"
    assert client.get(HOME).status_code == 302
    assert actions("accounts.login") == 0

    page = client.get(CODE_STEP)
    assert page.status_code == 200 and user.username in page.content.decode()
    done = client.post(CODE_STEP, {"otp": code(secret)})
    assert done.status_code == 302
    assert signed_in(client)
    assert client.get(HOME).status_code == 200
    assert actions("accounts.otp.verify", AuditOutcome.SUCCESS) == 1
    assert actions("accounts.login") == 1
    assert verify_chain().ok


def test_the_code_step_without_a_right_password_sends_back_to_login(client, people):
    assert client.get(CODE_STEP).url == LOGIN
    assert client.post(CODE_STEP, {"otp": "123456"}).url == LOGIN


def test_a_wrong_code_is_refused_audited_and_counted_toward_the_lockout(client, people, settings):
    user = people.community_admin
    _, secret = enrol(user)
    password_step(client, user.username)
    bad = client.post(CODE_STEP, {"otp": wrong(secret)}, REMOTE_ADDR="10.1.1.1")
    assert bad.status_code == 400
    assert "验证码不正确" in bad.content.decode()
    assert not signed_in(client)
    assert actions("accounts.otp.verify", AuditOutcome.FAILURE) == 1
    assert actions("accounts.login_failed") == 0, "one failure, one record"
    attempt = AccessAttempt.objects.get(username=user.username)
    assert attempt.failures_since_start == 1

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        last = client.post(CODE_STEP, {"otp": wrong(secret)}, REMOTE_ADDR="10.1.1.1")
    assert last.status_code == 429, "the fifth failure locks the username"
    assert actions("accounts.locked_out") >= 1
    # Locked: neither the right password nor then the right code signs in.
    again = password_step(client, user.username)
    assert again.status_code == 429
    assert client.post(CODE_STEP, {"otp": code(secret)}).url == LOGIN
    assert not signed_in(client)


def test_password_and_code_failures_share_one_limit(client, people, settings):
    user = people.community_admin
    _, secret = enrol(user)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(LOGIN, {"username": user.username, "password": "Wrong-pass-1"})
    password_step(client, user.username)
    assert client.post(CODE_STEP, {"otp": wrong(secret)}).status_code == 429
    assert not signed_in(client)


def test_a_code_cannot_be_used_twice(client, people):
    user = people.community_admin
    _, secret = enrol(user)
    used = code(secret)
    password_step(client, user.username)
    assert client.post(CODE_STEP, {"otp": used}).status_code == 302
    client.post("/accounts/logout/")
    assert not signed_in(client)
    password_step(client, user.username)
    replay = client.post(CODE_STEP, {"otp": used})
    assert replay.status_code == 400
    assert not signed_in(client)
    failure = AuditRecord.objects.filter(action="accounts.otp.verify", outcome="failure").first()
    assert failure.changes["reason"] == "replayed_code"
    # An older code of the window is refused too once a newer one was used.
    assert client.post(CODE_STEP, {"otp": code(secret, -1)}).status_code == 400
    assert client.post(CODE_STEP, {"otp": code(secret, 1)}).status_code == 302


def test_a_session_not_verified_by_the_device_is_ended(client, people):
    user = people.community_admin
    enrol(user)
    client.force_login(user)  # any sign-in path that skipped the code step
    response = client.get(HOME)
    assert response.status_code == 302 and response.url == LOGIN
    assert not signed_in(client)


# --- API tokens -------------------------------------------------------------------------------


def test_the_api_token_needs_the_code(api, people):
    user = people.community_admin
    _, secret = enrol(user)
    body = {"username": user.username, "password": PASSWORD}
    missing = api.post(TOKEN, body, format="json")
    assert missing.status_code == 400 and "otp" in missing.json()
    bad = api.post(TOKEN, {**body, "otp": wrong(secret)}, format="json")
    assert bad.status_code == 400 and "otp" in bad.json()
    assert AccessAttempt.objects.get(username=user.username).failures_since_start == 1
    used = code(secret)
    good = api.post(TOKEN, {**body, "otp": used}, format="json")
    assert good.status_code == 200 and good.json()["token"]
    replay = api.post(TOKEN, {**body, "otp": used}, format="json")
    assert replay.status_code == 400
    assert actions("accounts.otp.verify", AuditOutcome.FAILURE) == 2


def test_api_code_failures_lock_the_username(api, people, settings):
    user = people.community_admin
    _, secret = enrol(user)
    body = {"username": user.username, "password": PASSWORD, "otp": wrong(secret)}
    answers = [
        api.post(TOKEN, body, format="json").status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[-1] == 429
    good = {**body, "otp": code(secret)}
    assert api.post(TOKEN, good, format="json").status_code in (400, 429)


def test_users_without_a_device_get_a_token_with_the_password_when_policy_is_off(api, people):
    body = {"username": people.community_admin.username, "password": PASSWORD}
    assert api.post(TOKEN, body, format="json").status_code == 200


# --- reset by the security administrator ------------------------------------------------------


def test_the_security_admin_resets_a_device_and_the_users_sessions_end(client, people):
    user = people.community_admin
    _, secret = enrol(user)
    user_client = type(client)()
    password_step(user_client, user.username)
    user_client.post(CODE_STEP, {"otp": code(secret)})
    assert user_client.get(HOME).status_code == 200
    Token.objects.create(user=user)

    client.force_login(people.sec_admin)
    listing = client.get("/accounts/otp/devices/")
    assert listing.status_code == 200
    assert f'data-testid="otp-device-{user.username}"' in listing.content.decode()
    done = client.post(f"/accounts/otp/devices/{user.pk}/reset/")
    assert done.status_code == 302
    assert not TotpDevice.objects.filter(user=user).exists()
    assert not Token.objects.filter(user=user).exists()
    record = AuditRecord.objects.filter(action="accounts.otp.reset").get()
    assert record.actor_id == people.sec_admin.pk and record.object_id == str(user.pk)
    assert secret not in str(record.changes)

    assert user_client.get(HOME).status_code == 302, "the user's verified session has ended"
    assert not signed_in(user_client)
    # Policy off: the user now signs in with the password alone.
    assert password_step(user_client, user.username).url == "/"


def test_reset_is_the_security_admins_only_and_within_scope(client, people, places):
    target = people.community_admin
    enrol(target)
    client.force_login(people.community_admin_b)
    assert client.post(f"/accounts/otp/devices/{target.pk}/reset/").status_code == 403
    client.force_login(people.sys_admin)
    assert client.post(f"/accounts/otp/devices/{target.pk}/reset/").status_code == 403
    assert TotpDevice.objects.filter(user=target).exists()
    with pytest.raises(Exception, match="不能重置自己"):
        enrol(people.sec_admin)
        totp_reset(actor=people.sec_admin, user=people.sec_admin)
    # A security admin of one community does not reach a user of its sibling.
    from tongxin.accounts.models import Role
    from tongxin.conftest import make_user

    local_sec = make_user("sec_dongmei", Role.SEC_ADMIN, places.community_b)
    client.force_login(local_sec)
    assert client.post(f"/accounts/otp/devices/{target.pk}/reset/").status_code == 404
    assert actions("accounts.otp.reset", AuditOutcome.DENIED) == 1


# --- policy -----------------------------------------------------------------------------------


def test_policy_off_lets_officials_in_with_the_password_alone(client, people):
    assert two_factor.policy() == "off"
    response = password_step(client, people.community_admin.username)
    assert response.status_code == 302 and response.url == "/"
    assert client.get(HOME).status_code == 200


def test_policy_officials_sends_officials_to_enrol_before_anything_else(
    client, api, people, settings
):
    settings.REQUIRE_2FA = "officials"
    official = people.audit_admin
    assert password_step(client, official.username).status_code == 302
    assert signed_in(client)
    assert client.get(HOME).url == SETUP
    assert client.get(reverse("core:audit_list")).url == SETUP
    assert client.get("/api/v1/audit-records/").status_code == 403
    assert client.get(SETUP).status_code == 200

    # The API refuses them a token until they have enrolled.
    body = {"username": official.username, "password": PASSWORD}
    refused = api.post(TOKEN, body, format="json")
    assert refused.status_code == 403
    assert actions("accounts.token_refused", AuditOutcome.DENIED) == 1

    secret = TotpDevice.objects.get(user=official).secret.reveal()
    assert client.post(SETUP, {"otp": code(secret)}).status_code == 302
    assert client.get(HOME).status_code == 200
    assert api.post(TOKEN, {**body, "otp": code(secret, 1)}, format="json").status_code == 200


def test_policy_officials_leaves_members_and_residents_alone(client, api, people, settings):
    settings.REQUIRE_2FA = "officials"
    password_step(client, people.resident.username)
    assert client.get(HOME).status_code == 200
    body = {"username": people.member.username, "password": PASSWORD}
    assert api.post(TOKEN, body, format="json").status_code == 200


def test_policy_defaults(settings):
    del settings.REQUIRE_2FA
    settings.PRODUCTION = False
    assert two_factor.policy() == "off"
    settings.PRODUCTION = True
    assert two_factor.policy() == "officials"
    settings.REQUIRE_2FA = "bogus"
    assert two_factor.policy() == "officials", "an unknown value fails closed"

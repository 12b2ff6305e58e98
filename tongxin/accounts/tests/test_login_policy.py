"""Login policy (SECURITY.md 2–4, 9): passwords, lockout by username, sessions, tokens, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    validate_password,
)
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tongxin.accounts.validators import MinimumLengthValidator
from tongxin.conftest import PASSWORD
from tongxin.core.models import AuditOutcome, AuditRecord

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"


def login(client, username: str, password: str, ip: str = "10.1.1.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- password policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1!xyz", "password_too_short"),
        ("abcdefghij", "password_too_simple"),
        ("ABCDEFGHIJ", "password_too_simple"),
        ("1234567890", "password_too_simple"),
        ("!@#$%^&*()", "password_too_simple"),
        ("abcdefgh12", "password_too_simple"),
        ("ABCDEFGH!!", "password_too_simple"),
        ("abcdEFGHij", "password_too_simple"),
        ("1234!@#$56", "password_too_simple"),
        ("Password1", "password_too_common"),
    ],
)
def test_each_weak_password_is_refused(password, code):
    with pytest.raises(ValidationError) as caught:
        validate_password(password)
    assert code in [e.code for e in caught.value.error_list]


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_the_class_rule_speaks_chinese():
    with pytest.raises(ValidationError) as caught:
        validate_password("abcdefghij")
    assert _chinese(" ".join(caught.value.messages))


def test_the_length_rule_has_a_chinese_message():
    with pytest.raises(ValidationError) as caught:
        MinimumLengthValidator(8).validate("Ab1!xyz")
    assert caught.value.messages == ["密码太短，至少需要 8 个字符。"]
    assert caught.value.code == "password_too_short"


@pytest.mark.skipif(
    not any(v.__class__ is MinimumLengthValidator for v in get_default_password_validators()),
    reason="settings still name Django's MinimumLengthValidator (English message in 5.2)",
)
def test_the_configured_length_rule_speaks_chinese():
    with pytest.raises(ValidationError) as caught:
        validate_password("Ab1!xyz")
    assert _chinese(" ".join(caught.value.messages))


@pytest.mark.parametrize(
    "password", ["abcdefg1!", "ABCDEFG1!", "Abcdefgh!", "Zqxwvut7k", "Ab1!Ab1!"]
)
def test_eight_characters_of_three_classes_pass(password):
    validate_password(password)


# --- lockout ----------------------------------------------------------------------------------


def test_settings_lock_the_username_for_thirty_minutes_after_five_failures():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 30 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]


def test_five_failures_from_different_addresses_lock_the_username(client, people):
    for n in range(4):
        response = login(client, "wang_wenxian", "wrong-Password1", ip=f"10.0.0.{n + 1}")
        assert response.status_code == 200, n
        assert "用户名或密码不正确" in response.content.decode()
    response = login(client, "wang_wenxian", "wrong-Password1", ip="10.0.0.5")
    assert response.status_code == 429
    # The right password from yet another address is refused while the lock lasts.
    response = login(client, "wang_wenxian", PASSWORD, ip="172.16.0.1")
    assert response.status_code == 429
    assert "锁定 30 分钟" in response.content.decode()
    assert not signed_in(client)
    assert AuditRecord.objects.filter(
        action="accounts.locked_out", actor_username="wang_wenxian"
    ).exists()


def test_another_username_from_the_same_address_still_signs_in(client, people):
    for _ in range(5):
        login(client, "wang_wenxian", "wrong-Password1", ip="10.0.0.1")
    response = login(client, "chen_dongmei", PASSWORD, ip="10.0.0.1")
    assert response.status_code == 302
    assert signed_in(client)


def test_four_failures_do_not_lock(client, people):
    for _ in range(4):
        login(client, "wang_wenxian", "wrong-Password1")
    assert login(client, "wang_wenxian", PASSWORD).status_code == 302


def test_the_lock_lasts_thirty_minutes(client, people):
    for _ in range(5):
        login(client, "wang_wenxian", "wrong-Password1")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=29))
    assert login(client, "wang_wenxian", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert login(client, "wang_wenxian", PASSWORD).status_code == 302


def test_the_lockout_also_guards_the_api_token(api, people):
    for n in range(5):
        response = api.post(
            TOKEN,
            {"username": "wang_wenxian", "password": "wrong-Password1"},
            REMOTE_ADDR=f"10.9.0.{n}",
        )
    assert response.status_code == 429
    response = api.post(TOKEN, {"username": "wang_wenxian", "password": PASSWORD})
    assert response.status_code == 429
    assert "锁定" in response.json()["detail"]
    assert not Token.objects.filter(user=people.community_admin).exists()


def test_page_failures_lock_the_api_too(client, api, people):
    for _ in range(5):
        login(client, "wang_wenxian", "wrong-Password1")
    response = api.post(TOKEN, {"username": "wang_wenxian", "password": PASSWORD})
    assert response.status_code == 429


def test_after_the_security_admin_unlocks_the_user_signs_in(client, people):
    for _ in range(5):
        login(client, "wang_wenxian", "wrong-Password1")
    assert login(client, "wang_wenxian", PASSWORD).status_code == 429

    admin = client.__class__()
    admin.force_login(people.sec_admin)
    page = admin.get(reverse("accounts:lockout_list"))
    assert "wang_wenxian" in page.content.decode()
    response = admin.post(reverse("accounts:lockout_unlock"), {"username": "wang_wenxian"})
    assert response.status_code == 302

    assert login(client, "wang_wenxian", PASSWORD).status_code == 302
    assert signed_in(client)
    assert AuditRecord.objects.filter(
        action="accounts.user.unlock", actor_username="sec_admin", object_repr="wang_wenxian"
    ).exists()


# --- sessions ---------------------------------------------------------------------------------


def test_sessions_time_out_after_thirty_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 1800
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_logout_deletes_the_server_side_session(client, people):
    assert login(client, "wang_wenxian", PASSWORD).status_code == 302
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(reverse("core:home")).status_code == 302  # back to the login page


def test_logout_is_post_only(client, people):
    client.force_login(people.community_admin)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert signed_in(client)


# --- API tokens -------------------------------------------------------------------------------


def test_a_token_older_than_its_lifetime_is_refused(api, people):
    token = Token.objects.create(user=people.sys_admin)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/users/").status_code == 200
    Token.objects.filter(pk=token.pk).update(
        created=timezone.now() - settings.API_TOKEN_TTL - timedelta(minutes=1)
    )
    response = api.get("/api/v1/users/")
    assert response.status_code == 401
    assert "过期" in response.json()["detail"]
    assert not Token.objects.filter(pk=token.pk).exists()


def test_an_expired_token_is_replaced_at_the_next_sign_in(api, people):
    old = Token.objects.create(user=people.sys_admin)
    Token.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=30))
    response = api.post(TOKEN, {"username": "sys_admin", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"] != old.key


def test_bad_credentials_get_no_token(api, people):
    response = api.post(TOKEN, {"username": "sys_admin", "password": "nope-Nope1"})
    assert response.status_code == 400
    assert response.json()["detail"] == "用户名或密码不正确。"


# --- password age -----------------------------------------------------------------------------


def _age_password(user, days: int) -> None:
    user.password_changed_at = timezone.now() - timedelta(days=days)
    user.save(update_fields=["password_changed_at"])


def test_an_officials_expired_password_sends_every_page_to_the_change_form(client, people):
    assert settings.PASSWORD_MAX_AGE_DAYS == 90
    _age_password(people.community_admin, 91)
    client.force_login(people.community_admin)
    response = client.get(reverse("core:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change") + "?expired=1"
    assert client.get(reverse("notify:inbox")).status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "超过有效期" in page.content.decode()


def test_an_administrators_pages_under_accounts_are_blocked_too(client, people):
    _age_password(people.sys_admin, 91)
    client.force_login(people.sys_admin)
    response = client.get(reverse("accounts:user_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:password_change"))


def test_a_fresh_password_or_a_resident_is_not_redirected(client, people):
    _age_password(people.community_admin, 89)
    client.force_login(people.community_admin)
    assert client.get(reverse("notify:inbox")).status_code == 200
    _age_password(people.resident, 400)  # residents and members are not officials
    client.force_login(people.resident)
    assert client.get(reverse("notify:inbox")).status_code == 200


def test_changing_the_expired_password_lifts_the_block(client, people):
    _age_password(people.community_admin, 91)
    client.force_login(people.community_admin)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Xin-2026-new",
            "new_password2": "Xin-2026-new",
        },
    )
    assert response.status_code == 302
    assert client.get(reverse("notify:inbox")).status_code == 200


def test_a_password_set_by_an_administrator_must_be_changed_first(client, people):
    people.member.must_change_password = True
    people.member.save()
    client.force_login(people.member)
    response = client.get(reverse("core:home"))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "由管理员设置" in page.content.decode()
    # htmx fragments (the inbox badge) get an empty answer, not a page swapped into the header.
    assert client.get(reverse("notify:unread_badge"), HTTP_HX_REQUEST="true").status_code == 204


# --- password age and the API (tokens and sessions) ---------------------------------------------


def _change_password_on_the_web(client, user, new: str = "Xin-2026-new") -> None:
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302


def test_an_expired_password_gets_no_token_until_it_is_changed(client, api, people):
    _age_password(people.sys_admin, 91)
    refused = api.post(TOKEN, {"username": "sys_admin", "password": PASSWORD}, format="json")
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "password_change_required"
    assert "请先在网页上修改密码" in body["detail"]
    assert not Token.objects.filter(user=people.sys_admin).exists()
    record = AuditRecord.objects.get(action="accounts.token_refused")
    assert record.outcome == AuditOutcome.DENIED
    assert record.actor_username == "sys_admin"
    assert record.object_id == str(people.sys_admin.pk)
    assert record.changes == {"reason": "password_change_required"}
    assert not AuditRecord.objects.filter(action="accounts.token_issued").exists()

    _change_password_on_the_web(client, people.sys_admin)
    issued = api.post(TOKEN, {"username": "sys_admin", "password": "Xin-2026-new"}, format="json")
    assert issued.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    assert api.get("/api/v1/users/").status_code == 200


def test_a_password_set_by_an_administrator_gets_no_token(api, people):
    people.member.must_change_password = True
    people.member.save(update_fields=["must_change_password"])
    refused = api.post(TOKEN, {"username": "guo_member", "password": PASSWORD}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"


def test_an_existing_token_stops_working_when_the_password_expires(client, api, people):
    token = Token.objects.create(user=people.sys_admin)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/users/").status_code == 200
    _age_password(people.sys_admin, 91)
    refused = api.get("/api/v1/users/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    assert "请先在网页上修改密码" in refused.json()["detail"]
    assert api.post("/api/v1/users/", {}, format="json").status_code == 403
    # The change drops the token (as it ends the other sessions): the client signs in again.
    _change_password_on_the_web(client, people.sys_admin)
    assert not Token.objects.filter(pk=token.pk).exists()
    assert api.get("/api/v1/users/").status_code == 401


def test_a_session_must_change_the_password_before_using_the_api(client, people):
    _age_password(people.sys_admin, 91)
    client.force_login(people.sys_admin)
    refused = client.get("/api/v1/users/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    # The token endpoint answers for its own credentials, whoever the session is.
    response = client.post(TOKEN, {"username": "wang_wenxian", "password": PASSWORD})
    assert response.status_code == 200


def test_the_password_change_form_refuses_a_weak_password(client, people):
    client.force_login(people.community_admin)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "abcdefgh", "new_password2": "abcdefgh"},
    )
    assert response.status_code == 200
    assert "至少 3 类" in response.content.decode()


# --- audit of sign-in events ------------------------------------------------------------------


def test_login_logout_failure_and_token_are_audited(client, api, people):
    login(client, "wang_wenxian", "wrong-Password1", ip="10.3.3.3")
    failed = AuditRecord.objects.get(action="accounts.login_failed")
    assert failed.actor_username == "wang_wenxian"
    assert failed.outcome == AuditOutcome.FAILURE
    assert failed.ip == "10.3.3.3"

    login(client, "wang_wenxian", PASSWORD, ip="10.3.3.4")
    ok = AuditRecord.objects.get(action="accounts.login")
    assert ok.actor_id == people.community_admin.pk
    assert ok.ip == "10.3.3.4"

    client.post(reverse("accounts:logout"))
    assert AuditRecord.objects.get(action="accounts.logout").actor_id == people.community_admin.pk

    api.post(TOKEN, {"username": "sys_admin", "password": PASSWORD})
    assert AuditRecord.objects.get(action="accounts.token_issued").actor_id == people.sys_admin.pk

"""三员 consoles are scoped to the administrator's subtree (SECURITY.md 7, 8).

A system administrator at 镇海街道 manages the accounts of 镇海街道 only; the one at 荔城区 (the
district, a root of the tree) manages every account, including those that hold no role yet.
The same holds for the security administrator's lockouts and devices and the audit trail.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from rest_framework.test import APIClient

from tongxin.accounts.models import Role, RoleAssignment, User
from tongxin.accounts.selectors import (
    audit_records_for,
    current_lockouts,
    job_failures_for,
    totp_devices_visible_to,
    users_for_admin,
)
from tongxin.accounts.services import (
    account_unlock,
    totp_enrol_begin,
    totp_reset,
    user_create,
    user_reset_password,
    user_update,
)
from tongxin.conftest import make_user
from tongxin.core.audit import audit
from tongxin.core.models import AuditOutcome, AuditRecord, JobFailure

GOOD = "Xin-2026-tong"


@pytest.fixture
def gongchen(places):
    """An official at 拱辰社区, under the other street (拱辰街道)."""
    return make_user("ma_gongchen", Role.COMMUNITY_ADMIN, places.community_c)


@pytest.fixture
def sys_zhenhai(places):
    return make_user("sys_zhenhai", Role.SYS_ADMIN, places.street)


@pytest.fixture
def sec_zhenhai(places):
    return make_user("sec_zhenhai", Role.SEC_ADMIN, places.street)


@pytest.fixture
def audit_zhenhai(places):
    return make_user("audit_zhenhai", Role.AUDIT_ADMIN, places.street)


def usernames(users) -> set[str]:
    return {u.username for u in users}


def _denied(action: str) -> int:
    return AuditRecord.objects.filter(action=action, outcome=AuditOutcome.DENIED).count()


# --- system administrator: the user list, page and API ----------------------------------------


def test_a_street_sys_admin_sees_only_the_streets_accounts(people, gongchen, sys_zhenhai):
    seen = usernames(users_for_admin(sys_zhenhai))
    assert {"zhang_street", "wang_wenxian", "chen_dongmei", "lin_grid", "wu_resident"} <= seen
    assert "ma_gongchen" not in seen  # 拱辰社区, the other street
    assert "li_district" not in seen  # a role above the street
    assert "no_role" not in seen  # no role anywhere: the district's to manage
    assert "sys_zhenhai" in seen  # their own account


def test_the_district_sys_admin_sees_every_account(people, gongchen, sys_zhenhai):
    seen = usernames(users_for_admin(people.sys_admin))
    assert seen == set(User.objects.values_list("username", flat=True))
    assert {"ma_gongchen", "no_role", "li_district", "sys_zhenhai"} <= seen


def test_the_user_list_page_and_api_are_scoped(client, people, gongchen, sys_zhenhai):
    client.force_login(sys_zhenhai)
    html = client.get(reverse("accounts:user_list")).content.decode()
    assert "wang_wenxian" in html
    assert "ma_gongchen" not in html
    api = APIClient()
    api.force_authenticate(sys_zhenhai)
    body = api.get("/api/v1/users/", {"page_size": 200}).json()
    names = {u["username"] for u in body["results"]}
    assert "wang_wenxian" in names and "ma_gongchen" not in names
    assert api.get(f"/api/v1/users/{gongchen.pk}/").status_code == 404
    assert api.get(f"/api/v1/users/{people.community_admin.pk}/").status_code == 200

    api.force_authenticate(people.sys_admin)
    body = api.get("/api/v1/users/", {"page_size": 200}).json()
    assert "ma_gongchen" in {u["username"] for u in body["results"]}
    assert api.get(f"/api/v1/users/{gongchen.pk}/").status_code == 200


def test_detail_edit_reset_and_deactivate_outside_the_street_are_404(
    client, people, gongchen, sys_zhenhai
):
    client.force_login(sys_zhenhai)
    assert client.get(reverse("accounts:user_edit", args=[gongchen.pk])).status_code == 404
    post = {"display_name": "改名", "email": "", "is_active": "on"}
    assert client.post(reverse("accounts:user_edit", args=[gongchen.pk]), post).status_code == 404
    reset = reverse("accounts:user_reset_password", args=[gongchen.pk])
    assert client.post(reset, {"password": GOOD, "password_confirm": GOOD}).status_code == 404
    active = reverse("accounts:user_set_active", args=[gongchen.pk])
    assert client.post(active, {"active": "0"}).status_code == 404
    api = APIClient()
    api.force_authenticate(sys_zhenhai)
    response = api.patch(f"/api/v1/users/{gongchen.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 404
    gongchen.refresh_from_db()
    assert gongchen.is_active and gongchen.display_name == "ma_gongchen"
    assert not gongchen.check_password(GOOD)
    # Inside the street it works as before.
    url = reverse("accounts:user_edit", args=[people.community_admin.pk])
    assert client.get(url).status_code == 200


def test_the_services_refuse_an_account_out_of_scope_and_audit_it(people, gongchen, sys_zhenhai):
    with pytest.raises(PermissionDenied, match="不在您的管理范围内"):
        user_update(actor=sys_zhenhai, user=gongchen, is_active=False)
    with pytest.raises(PermissionDenied, match="不在您的管理范围内"):
        user_reset_password(actor=sys_zhenhai, user=gongchen, new_password=GOOD)
    assert _denied("accounts.user.update") == 1
    assert _denied("accounts.user.reset_password") == 1
    gongchen.refresh_from_db()
    assert gongchen.is_active


def test_an_account_with_a_role_beyond_the_street_is_seen_but_not_taken_over(
    people, places, sys_zhenhai
):
    # 林网格员 also works for the district: the street's administrator sees the account but may
    # not reset its password (that would hand them the district role too).
    RoleAssignment.objects.create(
        user=people.grid_manager, role=Role.DEPARTMENT, node=places.district
    )
    assert "lin_grid" in usernames(users_for_admin(sys_zhenhai))
    with pytest.raises(PermissionDenied, match="管理范围之外还持有角色"):
        user_reset_password(actor=sys_zhenhai, user=people.grid_manager, new_password=GOOD)
    assert _denied("accounts.user.reset_password") == 1
    user_reset_password(actor=people.sys_admin, user=people.grid_manager, new_password=GOOD)


# --- system administrator: creating accounts ---------------------------------------------------


def test_an_account_created_at_the_street_stays_in_its_view(people, places, sys_zhenhai):
    sys_gongchen = make_user("sys_gongchen", Role.SYS_ADMIN, places.street_2)
    user = user_create(actor=sys_zhenhai, username="xu_new", password=GOOD)
    assert user.created_in == places.street
    assert "xu_new" in usernames(users_for_admin(sys_zhenhai))
    assert "xu_new" in usernames(users_for_admin(people.sys_admin))
    assert "xu_new" not in usernames(users_for_admin(sys_gongchen))


def test_creating_an_account_at_another_street_is_refused(people, places, sys_zhenhai):
    api = APIClient()
    api.force_authenticate(sys_zhenhai)
    body = {"username": "xu_new", "password": GOOD, "node": places.community_c.pk}
    response = api.post("/api/v1/users/", body, format="json")
    assert response.status_code == 403
    assert "不在您的管理范围内" in response.json()["detail"]
    assert not User.objects.filter(username="xu_new").exists()
    assert _denied("accounts.user.create") == 1
    # Inside the street, at a community: 201, and the answer shows the new account.
    body["node"] = places.community_a.pk
    response = api.post("/api/v1/users/", body, format="json")
    assert response.status_code == 201
    assert User.objects.get(username="xu_new").created_in == places.community_a


def test_the_create_page_offers_only_the_streets_nodes(client, places, sys_zhenhai):
    client.force_login(sys_zhenhai)
    html = client.get(reverse("accounts:user_create")).content.decode()
    assert "文献社区" in html
    assert "拱辰社区" not in html
    response = client.post(
        reverse("accounts:user_create"),
        {
            "username": "xu_new",
            "password": GOOD,
            "password_confirm": GOOD,
            "node": places.grid_b.pk,
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="xu_new").created_in == places.grid_b


# --- security administrator: lockouts and devices ---------------------------------------------


def _lock(username: str) -> None:
    AccessAttempt.objects.create(
        username=username,
        ip_address="10.0.0.1",
        user_agent="ua",
        failures_since_start=5,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )


def test_lockouts_are_scoped_to_the_security_admins_subtree(people, gongchen, sec_zhenhai):
    for name in ("lin_grid", "ma_gongchen", "nobody_by_that_name"):
        _lock(name)
    assert usernames(current_lockouts(sec_zhenhai)) == {"lin_grid"}
    assert usernames(current_lockouts(people.sec_admin)) == {
        "lin_grid",
        "ma_gongchen",
        "nobody_by_that_name",
    }
    with pytest.raises(PermissionDenied, match="不在您的管理范围内"):
        account_unlock(actor=sec_zhenhai, username="ma_gongchen")
    with pytest.raises(PermissionDenied):
        account_unlock(actor=sec_zhenhai, username="nobody_by_that_name")
    assert _denied("accounts.user.unlock") == 2
    assert AccessAttempt.objects.filter(username="ma_gongchen").exists()
    assert account_unlock(actor=sec_zhenhai, username="lin_grid") == 1
    assert account_unlock(actor=people.sec_admin, username="ma_gongchen") == 1


def test_the_lockout_page_and_api_are_scoped(client, people, gongchen, sec_zhenhai):
    _lock("ma_gongchen")
    _lock("chen_dongmei")
    client.force_login(sec_zhenhai)
    html = client.get(reverse("accounts:lockout_list")).content.decode()
    assert "chen_dongmei" in html and "ma_gongchen" not in html
    response = client.post(
        reverse("accounts:lockout_unlock"), {"username": "ma_gongchen"}, follow=True
    )
    assert "不在您的管理范围内" in response.content.decode()
    api = APIClient()
    api.force_authenticate(sec_zhenhai)
    assert [r["username"] for r in api.get("/api/v1/lockouts/").json()] == ["chen_dongmei"]
    refused = api.post("/api/v1/lockouts/unlock/", {"username": "ma_gongchen"}, format="json")
    assert refused.status_code == 403


def test_devices_of_accounts_created_at_the_street_are_the_streets(people, places, sec_zhenhai):
    user = user_create(actor=None, username="xu_new", password=GOOD, node=places.community_a)
    totp_enrol_begin(actor=user, user=user)
    assert "xu_new" in {d.user.username for d in totp_devices_visible_to(sec_zhenhai)}
    other = user_create(actor=None, username="he_new", password=GOOD, node=places.street_2)
    totp_enrol_begin(actor=other, user=other)
    assert "he_new" not in {d.user.username for d in totp_devices_visible_to(sec_zhenhai)}
    with pytest.raises(PermissionDenied):
        totp_reset(actor=sec_zhenhai, user=other)
    assert totp_reset(actor=sec_zhenhai, user=user)


# --- audit administrator -----------------------------------------------------------------------


def test_a_street_audit_admin_reads_only_the_streets_trail(people, gongchen, audit_zhenhai):
    audit(actor=people.community_admin, action="test.wenxian")
    audit(actor=gongchen, action="test.gongchen")
    audit(actor=None, username="wang_wenxian", action="accounts.login_failed")
    audit(actor=None, username="ma_gongchen", action="accounts.login_failed")
    audit(actor=people.sys_admin, action="accounts.user.update", obj=people.community_admin)
    audit(actor=people.sys_admin, action="accounts.user.update", obj=gongchen)
    audit(actor=None, action="test.system")

    def seen(actor) -> list[tuple[str, str, str]]:
        rows = audit_records_for(actor).filter(
            action__in=["test.wenxian", "test.gongchen", "accounts.login_failed", "test.system"]
        ) | audit_records_for(actor).filter(action="accounts.user.update")
        return sorted((r.action, r.actor_username, r.object_repr) for r in rows)

    street = seen(audit_zhenhai)
    assert ("test.wenxian", "wang_wenxian", "") in street
    assert ("accounts.login_failed", "wang_wenxian", "") in street
    assert ("accounts.user.update", "sys_admin", "wang_wenxian") in street
    assert not any("ma_gongchen" in row for row in street)
    assert not any(row[0] == "test.system" for row in street)
    district = seen(people.audit_admin)
    assert len(district) == 7

    api = APIClient()
    api.force_authenticate(audit_zhenhai)
    body = api.get("/api/v1/audit-records/", {"page_size": 200}).json()
    assert "test.wenxian" in {r["action"] for r in body["results"]}
    assert "test.gongchen" not in {r["action"] for r in body["results"]}


def test_job_failures_are_the_district_sys_admins(people, sys_zhenhai):
    JobFailure.objects.create(task_name="notify.deliver", task_id="t1", error="boom")
    assert list(job_failures_for(sys_zhenhai)) == []
    assert [f.task_name for f in job_failures_for(people.sys_admin)] == ["notify.deliver"]

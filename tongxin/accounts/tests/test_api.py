"""The administrators' REST endpoints: Chinese 400s, scope, and who may call what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import get_default_password_validators
from django.utils import timezone

from tongxin.accounts.models import Role, RoleAssignment, User
from tongxin.accounts.validators import MinimumLengthValidator
from tongxin.conftest import make_user
from tongxin.core.audit import audit
from tongxin.core.models import AuditOutcome, AuditRecord, JobFailure

GOOD = "Xin-2026-tong"


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture
def as_sys(api, people):
    api.force_authenticate(people.sys_admin)
    return api


@pytest.fixture
def as_sec(api, people):
    api.force_authenticate(people.sec_admin)
    return api


@pytest.fixture
def as_audit(api, people):
    api.force_authenticate(people.audit_admin)
    return api


# --- /users/ ----------------------------------------------------------------------------------


def test_users_list_with_roles_and_search(as_sys, people):
    body = as_sys.get("/api/v1/users/", {"q": "wenxian"}).json()
    assert [u["username"] for u in body["results"]] == ["wang_wenxian"]
    roles = body["results"][0]["roles"]
    assert roles[0]["role"] == Role.COMMUNITY_ADMIN
    assert roles[0]["node_name"] == "文献社区"
    assert "password" not in body["results"][0]


def test_users_list_query_count_does_not_grow(as_sys, people, places):
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert as_sys.get("/api/v1/users/").status_code == 200
        return len(ctx.captured_queries)

    count()  # the first request also loads the administrator's grants
    small = count()
    for n in range(20):
        make_user(f"extra_{n}", Role.MEMBER, places.grid_a)
    assert count() == small


def test_creating_a_user(as_sys, people):
    response = as_sys.post(
        "/api/v1/users/",
        {"username": "api_new", "display_name": "接口", "password": GOOD},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["username"] == "api_new"
    assert body["must_change_password"] is True
    assert body["roles"] == []
    assert User.objects.get(username="api_new").check_password(GOOD)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": GOOD}, "username"),
        ({"username": "x1"}, "password"),
        ({"username": "x1", "password": "abcdefghij"}, "password"),
        ({"username": "wang_wenxian", "password": GOOD}, "username"),
        ({"username": "x1", "password": GOOD, "email": "nope"}, "email"),
        ({"username": "a b", "password": GOOD}, "username"),
    ],
)
def test_bad_user_input_is_a_400_with_chinese_field_errors(as_sys, people, payload, field):
    response = as_sys.post("/api/v1/users/", payload, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors
    assert _chinese(" ".join(errors[field]))


@pytest.mark.skipif(
    not any(v.__class__ is MinimumLengthValidator for v in get_default_password_validators()),
    reason="settings still name Django's MinimumLengthValidator (English message in 5.2)",
)
def test_a_short_password_is_refused_in_chinese(as_sys, people):
    response = as_sys.post("/api/v1/users/", {"username": "x1", "password": "Ab1!"}, format="json")
    assert response.status_code == 400
    assert _chinese(" ".join(response.json()["password"]))


def test_updating_a_user(as_sys, people):
    url = f"/api/v1/users/{people.member.pk}/"
    response = as_sys.patch(url, {"is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    response = as_sys.put(url, {"display_name": "郭"}, format="json")
    assert response.status_code == 400  # PUT needs every field
    assert "email" in response.json()
    response = as_sys.put(
        url, {"display_name": "郭", "email": "", "is_active": True}, format="json"
    )
    assert response.status_code == 200
    people.member.refresh_from_db()
    assert (people.member.display_name, people.member.is_active) == ("郭", True)


def test_resetting_a_password_through_the_api(as_sys, people):
    url = f"/api/v1/users/{people.member.pk}/reset-password/"
    assert as_sys.post(url, {"password": "short"}, format="json").status_code == 400
    response = as_sys.post(url, {"password": GOOD}, format="json")
    assert response.status_code == 200
    people.member.refresh_from_db()
    assert people.member.check_password(GOOD)


def test_a_refusal_keeps_the_services_reason(as_sys, people):
    response = as_sys.post(
        f"/api/v1/users/{people.audit_admin.pk}/reset-password/", {"password": GOOD}, format="json"
    )
    assert response.status_code == 403
    assert "三员" in response.json()["detail"]


# --- /role-assignments/ ------------------------------------------------------------------------


def test_granting_and_revoking_through_the_api(as_sec, people, places):
    response = as_sec.post(
        "/api/v1/role-assignments/",
        {"user": people.nobody.pk, "role": Role.MEMBER, "node": places.grid_b.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["username"] == "no_role"
    assert body["node_name"] == "东梅一网格"
    assert body["granted_by"] == "sec_admin"
    response = as_sec.delete(f"/api/v1/role-assignments/{body['id']}/")
    assert response.status_code == 204
    assert not people.nobody.assignments.exists()
    actions = list(
        AuditRecord.objects.filter(action__startswith="accounts.role.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["accounts.role.revoke", "accounts.role.grant"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"user": None}, "user"),
        ({"user": 999999, "role": "member"}, "user"),
        ({"role": "emperor"}, "role"),
        ({"node": 999999}, "node"),
        ({"role": "unit_liaison"}, "unit"),
    ],
)
def test_bad_grant_input_is_a_400_with_chinese_field_errors(as_sec, people, places, payload, field):
    data = {"user": people.nobody.pk, "role": "member", "node": places.grid_a.pk, **payload}
    data = {key: value for key, value in data.items() if value is not None}
    response = as_sec.post("/api/v1/role-assignments/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert _chinese(" ".join(response.json()[field]))


def test_granting_oneself_through_the_api_is_403(as_sec, people, places):
    response = as_sec.post(
        "/api/v1/role-assignments/",
        {"user": people.sec_admin.pk, "role": Role.SEC_ADMIN, "node": places.street.pk},
        format="json",
    )
    assert response.status_code == 403
    assert "自己" in response.json()["detail"]


def test_role_assignments_are_scoped_to_the_admins_subtree(api, people, places):
    street_sec = make_user("sec_zhenhai", Role.SEC_ADMIN, places.street)
    api.force_authenticate(street_sec)
    body = api.get("/api/v1/role-assignments/").json()
    nodes = {row["node"] for row in body["results"]}
    assert places.district.pk not in nodes
    assert places.community_a.pk in nodes
    outside = people.sys_admin.assignments.get()
    assert api.get(f"/api/v1/role-assignments/{outside.pk}/").status_code == 404
    assert api.delete(f"/api/v1/role-assignments/{outside.pk}/").status_code == 404
    response = api.post(
        "/api/v1/role-assignments/",
        {"user": people.nobody.pk, "role": "member", "node": places.community_c.pk},
        format="json",
    )
    assert response.status_code == 403
    assert RoleAssignment.objects.filter(pk=outside.pk).exists()


def test_role_assignments_filter_by_role_and_node(as_sec, people, places):
    body = as_sec.get("/api/v1/role-assignments/", {"role": "grid_manager"}).json()
    assert [row["username"] for row in body["results"]] == ["lin_grid"]
    body = as_sec.get("/api/v1/role-assignments/", {"node": places.community_b.pk}).json()
    assert {row["username"] for row in body["results"]} == {"chen_dongmei"}
    response = as_sec.get("/api/v1/role-assignments/", {"node": "abc"})
    assert response.status_code == 400


# --- /lockouts/ -------------------------------------------------------------------------------


def test_lockouts_and_unlock_through_the_api(as_sec, people):
    AccessAttempt.objects.create(
        username="lin_grid",
        ip_address="10.0.0.1",
        user_agent="ua",
        failures_since_start=5,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )
    rows = as_sec.get("/api/v1/lockouts/").json()
    assert [r["username"] for r in rows] == ["lin_grid"]
    assert rows[0]["failures"] == 5
    response = as_sec.post("/api/v1/lockouts/unlock/", {"username": "lin_grid"}, format="json")
    assert response.json() == {"cleared": 1}
    assert as_sec.get("/api/v1/lockouts/").json() == []
    assert as_sec.post("/api/v1/lockouts/unlock/", {}, format="json").status_code == 400


# --- /audit-records/ --------------------------------------------------------------------------


def test_audit_records_filters(as_audit, people):
    audit(actor=people.sys_admin, action="accounts.user.create", object_type="accounts.user")
    audit(
        actor=None,
        username="ghost",
        action="accounts.login_failed",
        outcome=AuditOutcome.FAILURE,
        object_type="accounts.user",
    )
    old = audit(actor=people.sec_admin, action="accounts.role.grant")
    # Every record counts towards the pagination; filter down to what these tests wrote.
    body = as_audit.get("/api/v1/audit-records/", {"actor": "SYS_ADMIN"}).json()
    assert {r["actor_username"] for r in body["results"]} == {"sys_admin"}
    body = as_audit.get("/api/v1/audit-records/", {"action": "accounts.login"}).json()
    assert [r["action"] for r in body["results"]] == ["accounts.login_failed"]
    body = as_audit.get("/api/v1/audit-records/", {"outcome": "failure"}).json()
    assert [r["actor_username"] for r in body["results"]] == ["ghost"]
    body = as_audit.get("/api/v1/audit-records/", {"object_type": "accounts.user"}).json()
    assert body["count"] == 2
    today = timezone.localdate()
    body = as_audit.get(
        "/api/v1/audit-records/", {"date_from": today.isoformat(), "date_to": today.isoformat()}
    ).json()
    assert old.pk in [r["id"] for r in body["results"]]
    yesterday = (today - timedelta(days=1)).isoformat()
    body = as_audit.get("/api/v1/audit-records/", {"date_to": yesterday}).json()
    assert body["count"] == 0
    assert as_audit.get(f"/api/v1/audit-records/{old.pk}/").json()["hash"] == old.hash


@pytest.mark.parametrize(
    "params",
    [{"date_from": "2026-13-01"}, {"outcome": "maybe"}, {"date_to": "yesterday"}],
)
def test_bad_audit_filters_are_a_400_in_chinese(as_audit, people, params):
    response = as_audit.get("/api/v1/audit-records/", params)
    assert response.status_code == 400
    (field,) = params
    assert _chinese(" ".join(response.json()[field]))


@pytest.mark.parametrize("params", [{"date_from": "0001-01-01"}, {"date_to": "9999-12-31"}])
def test_calendar_extremes_do_not_break_the_filter(as_audit, people, params):
    assert as_audit.get("/api/v1/audit-records/", params).status_code == 200


def test_audit_records_are_read_only(as_audit, people):
    record = AuditRecord.objects.first()
    assert as_audit.post("/api/v1/audit-records/", {}, format="json").status_code == 405
    assert as_audit.delete(f"/api/v1/audit-records/{record.pk}/").status_code == 405
    assert as_audit.patch(f"/api/v1/audit-records/{record.pk}/", {}).status_code == 405


def test_audit_list_query_count_does_not_grow(as_audit, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_audit.get("/api/v1/audit-records/").status_code == 200
        return len(ctx.captured_queries)

    count()
    small = count()
    for n in range(30):
        audit(actor=people.sys_admin, action=f"test.{n}")
    assert count() == small


# --- /job-failures/ ---------------------------------------------------------------------------


def test_job_failures_for_the_system_administrator(as_sys, people):
    JobFailure.objects.create(task_name="notify.deliver", task_id="t1", error="boom")
    rows = as_sys.get("/api/v1/job-failures/").json()["results"]
    assert [r["task_name"] for r in rows] == ["notify.deliver"]

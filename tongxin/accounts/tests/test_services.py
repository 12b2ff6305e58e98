"""The account services enforce 三员分立 themselves, whoever calls them."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tongxin.accounts.models import Role, RoleAssignment, User
from tongxin.accounts.selectors import (
    assignments_visible_to,
    audit_records_for,
    current_lockouts,
    users_for_admin,
)
from tongxin.accounts.services import (
    account_unlock,
    role_grant,
    role_revoke,
    user_change_password,
    user_create,
    user_reset_password,
    user_update,
)
from tongxin.conftest import make_user
from tongxin.core.models import AuditOutcome, AuditRecord
from tongxin.core.scoping import has_role

GOOD = "Xin-2026-tong"


def last_audit(action: str) -> AuditRecord:
    record = AuditRecord.objects.filter(action=action).order_by("-id").first()
    assert record is not None, f"no audit record for {action}"
    return record


# --- user_create ------------------------------------------------------------------------------


def test_sys_admin_creates_a_user_who_must_change_the_initial_password(people, places):
    user = user_create(
        actor=people.sys_admin,
        username="liu_new",
        password=GOOD,
        display_name="刘新",
        email="liu@example.cn",
    )
    user.refresh_from_db()
    assert user.check_password(GOOD)
    assert user.must_change_password
    assert user.password_changed_at is not None
    assert not user.assignments.exists()
    record = last_audit("accounts.user.create")
    assert record.actor_username == "sys_admin"
    assert record.object_id == str(user.pk)
    assert record.changes == {
        "username": "liu_new",
        "display_name": "刘新",
        "email": "liu@example.cn",
        "created_in": "荔城区",
        "created_in_path": places.district.path,
    }
    assert GOOD not in str(record.changes)
    assert user.created_in == places.district  # the administrator's own node by default


def test_usernames_are_unique_ignoring_case(people):
    with pytest.raises(ValidationError) as caught:
        user_create(actor=people.sys_admin, username="SYS_ADMIN", password=GOOD)
    assert "username" in caught.value.message_dict
    assert "已被使用" in caught.value.message_dict["username"][0]


@pytest.mark.parametrize("username", ["", "   ", "有 空格", "a/b"])
def test_a_malformed_username_is_refused(people, username):
    with pytest.raises(ValidationError) as caught:
        user_create(actor=people.sys_admin, username=username, password=GOOD)
    assert "username" in caught.value.message_dict


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Ab1!xyz", "too short (7)"),
        ("abcdefgh", "one class"),
        ("abcd1234x", "lower + digit only"),
        ("ABCD1234X", "upper + digit only"),
        ("abcd!@#$x", "lower + symbol only"),
        ("ABCDefghij", "upper + lower only"),
        ("1234!@#$%", "digit + symbol only"),
        ("Password1", "common password"),
        ("Zhao_wei2026", "too similar to the username"),
    ],
)
def test_password_policy_refuses_each_bad_case(people, password, why):
    with pytest.raises(ValidationError) as caught:
        user_create(actor=people.sys_admin, username="zhao_wei2026", password=password)
    assert "password" in caught.value.message_dict, why
    assert not User.objects.filter(username="zhao_wei2026").exists()


@pytest.mark.parametrize("password", ["tongxin-2026x", "TONGXIN#2026", "Tongxin!abc", "Tx-2026!"])
def test_password_policy_accepts_three_of_four_classes(people, password):
    assert user_create(actor=people.sys_admin, username="ok_user", password=password).pk


@pytest.mark.parametrize("who", ["sec_admin", "audit_admin", "community_admin", "district_admin"])
def test_only_the_system_administrator_creates_users(people, who):
    actor = getattr(people, who)
    with pytest.raises(PermissionDenied):
        user_create(actor=actor, username="sneaky", password=GOOD)
    assert not User.objects.filter(username="sneaky").exists()
    denied = last_audit("accounts.user.create")
    assert denied.outcome == AuditOutcome.DENIED
    assert denied.actor_username == actor.username


# --- user_update / user_reset_password ----------------------------------------------------------


def test_deactivating_a_user_drops_their_token_and_is_audited(people):
    target = people.community_admin
    Token.objects.create(user=target)
    user_update(actor=people.sys_admin, user=target, is_active=False, display_name="王文献")
    target.refresh_from_db()
    assert not target.is_active
    assert target.display_name == "王文献"
    assert not Token.objects.filter(user=target).exists()
    record = last_audit("accounts.user.update")
    assert record.changes["is_active"] == {"from": True, "to": False}


def test_an_unchanged_update_writes_nothing(people):
    before = AuditRecord.objects.count()
    user_update(actor=people.sys_admin, user=people.member, display_name=people.member.display_name)
    assert AuditRecord.objects.count() == before


def test_the_system_administrator_cannot_deactivate_themselves(people):
    with pytest.raises(ValidationError) as caught:
        user_update(actor=people.sys_admin, user=people.sys_admin, is_active=False)
    assert "is_active" in caught.value.message_dict


def test_a_separated_admin_is_deactivated_only_after_their_role_is_revoked(people):
    with pytest.raises(PermissionDenied):
        user_update(actor=people.sys_admin, user=people.audit_admin, is_active=False)
    people.audit_admin.refresh_from_db()
    assert people.audit_admin.is_active
    role_revoke(actor=people.sec_admin, assignment=people.audit_admin.assignments.get())
    user_update(actor=people.sys_admin, user=people.audit_admin, is_active=False)
    people.audit_admin.refresh_from_db()
    assert not people.audit_admin.is_active


def test_an_invalid_email_is_a_field_error(people):
    with pytest.raises(ValidationError) as caught:
        user_update(actor=people.sys_admin, user=people.member, email="not-an-email")
    assert "email" in caught.value.message_dict


def test_reset_password_forces_a_change_and_drops_the_token(people):
    target = people.grid_manager
    Token.objects.create(user=target)
    user_reset_password(actor=people.sys_admin, user=target, new_password=GOOD)
    target.refresh_from_db()
    assert target.check_password(GOOD)
    assert target.must_change_password
    assert not Token.objects.filter(user=target).exists()
    assert last_audit("accounts.user.reset_password").object_id == str(target.pk)


def test_reset_password_applies_the_policy(people):
    with pytest.raises(ValidationError) as caught:
        user_reset_password(actor=people.sys_admin, user=people.member, new_password="short1A")
    assert "password" in caught.value.message_dict


def test_the_system_administrator_cannot_reset_a_separated_admins_password(people):
    """Otherwise they could sign in as the auditor and read the trail themselves."""
    for target in (people.audit_admin, people.sec_admin):
        with pytest.raises(PermissionDenied):
            user_reset_password(actor=people.sys_admin, user=target, new_password=GOOD)
        target.refresh_from_db()
        assert not target.check_password(GOOD)


def test_nobody_resets_their_own_password_through_the_admin_service(people):
    with pytest.raises(ValidationError):
        user_reset_password(actor=people.sys_admin, user=people.sys_admin, new_password=GOOD)


@pytest.mark.parametrize("who", ["sec_admin", "audit_admin", "community_admin"])
def test_only_the_system_administrator_updates_or_resets_users(people, who):
    actor = getattr(people, who)
    with pytest.raises(PermissionDenied):
        user_update(actor=actor, user=people.member, is_active=False)
    with pytest.raises(PermissionDenied):
        user_reset_password(actor=actor, user=people.member, new_password=GOOD)
    people.member.refresh_from_db()
    assert people.member.is_active


def test_changing_ones_own_password_clears_the_forced_change(people):
    user = people.member
    user.must_change_password = True
    user.save()
    user_change_password(actor=user, user=user, new_password=GOOD)
    user.refresh_from_db()
    assert not user.must_change_password
    assert user.check_password(GOOD)


def test_the_new_password_must_differ_from_the_current_one(people):
    from tongxin.conftest import PASSWORD

    with pytest.raises(ValidationError):
        user_change_password(actor=people.member, user=people.member, new_password=PASSWORD)


# --- role_grant / role_revoke -------------------------------------------------------------------


def test_security_admin_grants_a_role_and_the_audit_names_both_sides(people, places):
    target = people.nobody
    assert not has_role(target, {Role.GRID_MANAGER})  # fills the per-object grants cache
    assignment = role_grant(
        actor=people.sec_admin, user=target, role=Role.GRID_MANAGER, node=places.grid_b
    )
    assert assignment.granted_by == people.sec_admin
    assert has_role(target, {Role.GRID_MANAGER}), "the grant must be visible on the same object"
    record = last_audit("accounts.role.grant")
    assert record.actor_username == "sec_admin"
    assert record.object_type == "accounts.roleassignment"
    assert record.changes["username"] == target.username
    assert record.changes["user_id"] == target.pk
    assert record.changes["role"] == Role.GRID_MANAGER
    assert record.changes["node_id"] == places.grid_b.pk
    assert record.changes["node"] == places.grid_b.name


def test_security_admin_revokes_a_role_and_the_audit_names_both_sides(people, places):
    target = people.grid_manager
    assert has_role(target, {Role.GRID_MANAGER})
    role_revoke(actor=people.sec_admin, assignment=target.assignments.get())
    assert not RoleAssignment.objects.filter(user=target).exists()
    assert not has_role(target, {Role.GRID_MANAGER})
    record = last_audit("accounts.role.revoke")
    assert record.changes["username"] == target.username
    assert record.changes["role"] == Role.GRID_MANAGER
    assert record.changes["node_id"] == places.grid_a.pk


@pytest.mark.parametrize("who", ["sys_admin", "audit_admin", "district_admin", "community_admin"])
def test_only_the_security_administrator_grants_and_revokes(people, places, who):
    actor = getattr(people, who)
    with pytest.raises(PermissionDenied):
        role_grant(actor=actor, user=people.nobody, role=Role.MEMBER, node=places.grid_a)
    with pytest.raises(PermissionDenied):
        role_revoke(actor=actor, assignment=people.member.assignments.get())
    assert not people.nobody.assignments.exists()
    assert people.member.assignments.exists()
    assert last_audit("accounts.role.revoke").outcome == AuditOutcome.DENIED


def test_nobody_grants_or_revokes_a_role_on_themselves(people, places):
    sec = people.sec_admin
    with pytest.raises(PermissionDenied):
        role_grant(actor=sec, user=sec, role=Role.SEC_ADMIN, node=places.street)
    with pytest.raises(PermissionDenied):
        role_revoke(actor=sec, assignment=sec.assignments.get())
    assert sec.assignments.count() == 1
    denied = last_audit("accounts.role.grant")
    assert denied.outcome == AuditOutcome.DENIED
    assert denied.changes["username"] == "sec_admin"


def test_a_security_admin_grants_only_inside_their_subtree(people, places):
    street_sec = make_user("sec_zhenhai", Role.SEC_ADMIN, places.street)
    role_grant(actor=street_sec, user=people.nobody, role=Role.MEMBER, node=places.grid_b)
    with pytest.raises(PermissionDenied):
        role_grant(actor=street_sec, user=people.nobody, role=Role.MEMBER, node=places.community_c)
    with pytest.raises(PermissionDenied):
        role_grant(actor=street_sec, user=people.nobody, role=Role.MEMBER, node=places.district)
    with pytest.raises(PermissionDenied):
        role_revoke(actor=street_sec, assignment=people.sys_admin.assignments.get())


def test_a_unit_liaison_needs_a_unit_inside_the_node(people, places):
    sec, target = people.sec_admin, people.nobody
    with pytest.raises(ValidationError) as caught:
        role_grant(actor=sec, user=target, role=Role.UNIT_LIAISON, node=places.community_a)
    assert "unit" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        role_grant(
            actor=sec,
            user=target,
            role=Role.UNIT_LIAISON,
            node=places.community_a,
            unit=places.unit_b,  # located in community B
        )
    assert "unit" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        role_grant(
            actor=sec, user=target, role=Role.MEMBER, node=places.community_a, unit=places.unit_a
        )
    assert "unit" in caught.value.message_dict
    liaison = role_grant(
        actor=sec, user=target, role=Role.UNIT_LIAISON, node=places.street, unit=places.unit_b
    )
    assert liaison.unit == places.unit_b


def test_the_same_role_twice_at_one_node_is_refused(people, places):
    with pytest.raises(ValidationError) as caught:
        role_grant(actor=people.sec_admin, user=people.member, role=Role.MEMBER, node=places.grid_a)
    assert "role" in caught.value.message_dict


@pytest.mark.parametrize(
    ("holder", "role"),
    [
        ("community_admin", Role.AUDIT_ADMIN),  # business user may not become an admin
        ("sys_admin", Role.COMMUNITY_ADMIN),  # admin may not do business work
        ("sys_admin", Role.AUDIT_ADMIN),  # nor hold a second admin role
        ("audit_admin", Role.SEC_ADMIN),
    ],
)
def test_separated_admin_roles_are_held_alone(people, places, holder, role):
    with pytest.raises(ValidationError) as caught:
        role_grant(
            actor=people.sec_admin, user=getattr(people, holder), role=role, node=places.street
        )
    assert "role" in caught.value.message_dict


def test_no_grant_to_an_inactive_user_or_at_a_closed_node(people, places):
    people.nobody.is_active = False
    people.nobody.save()
    with pytest.raises(ValidationError) as caught:
        role_grant(actor=people.sec_admin, user=people.nobody, role=Role.MEMBER, node=places.grid_a)
    assert "user" in caught.value.message_dict
    places.grid_b.closed_at = timezone.now()
    places.grid_b.save()
    with pytest.raises(ValidationError) as caught:
        role_grant(actor=people.sec_admin, user=people.member, role=Role.MEMBER, node=places.grid_b)
    assert "node" in caught.value.message_dict


# --- lockouts ------------------------------------------------------------------------------


def _lock(username: str, failures: int = 5) -> None:
    AccessAttempt.objects.create(
        username=username,
        ip_address="10.0.0.9",
        user_agent="test",
        failures_since_start=failures,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )


def test_security_admin_unlocks_an_account(people):
    _lock("wu_resident")
    assert [lock.username for lock in current_lockouts(people.sec_admin)] == ["wu_resident"]
    assert account_unlock(actor=people.sec_admin, username="wu_resident") == 1
    assert current_lockouts(people.sec_admin) == []
    record = last_audit("accounts.user.unlock")
    assert record.object_id == str(people.resident.pk)
    assert record.changes == {"username": "wu_resident", "attempts_cleared": 1}


def test_below_the_limit_is_not_a_lockout(people):
    _lock("wu_resident", failures=4)
    assert current_lockouts(people.sec_admin) == []


@pytest.mark.parametrize("who", ["sys_admin", "audit_admin", "community_admin"])
def test_only_the_security_administrator_unlocks(people, who):
    _lock("wu_resident")
    with pytest.raises(PermissionDenied):
        account_unlock(actor=getattr(people, who), username="wu_resident")
    with pytest.raises(PermissionDenied):
        current_lockouts(getattr(people, who))
    assert AccessAttempt.objects.filter(username="wu_resident").exists()


# --- reads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sys_admin", "sec_admin", "district_admin", "nobody"])
def test_only_the_audit_administrator_reads_the_trail(people, who):
    with pytest.raises(PermissionDenied):
        audit_records_for(getattr(people, who))


def test_audit_administrator_reads_the_trail(people):
    assert audit_records_for(people.audit_admin).exists()


def test_user_and_assignment_reads_belong_to_their_administrators(people):
    with pytest.raises(PermissionDenied):
        users_for_admin(people.sec_admin)
    with pytest.raises(PermissionDenied):
        assignments_visible_to(people.sys_admin)
    assert users_for_admin(people.sys_admin).count() == User.objects.count()
    assert assignments_visible_to(people.sec_admin).count() == RoleAssignment.objects.count()

"""The system and security administrators' pages."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from tongxin.accounts.models import Role, RoleAssignment, User
from tongxin.conftest import make_user
from tongxin.core.models import AuditRecord

GOOD = "Xin-2026-tong"


@pytest.fixture
def sys_client(client, people):
    client.force_login(people.sys_admin)
    return client


@pytest.fixture
def sec_client(client, people):
    client.force_login(people.sec_admin)
    return client


# --- user management (sys_admin) ----------------------------------------------------------------


def test_user_list_shows_accounts_with_their_roles(sys_client, people):
    page = sys_client.get(reverse("accounts:user_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "用户管理" in html
    assert "wang_wenxian" in html
    assert "社区管理员 · 文献社区" in html


def test_user_list_searches_and_filters_by_state(sys_client, people):
    people.member.is_active = False
    people.member.save()
    html = sys_client.get(reverse("accounts:user_list"), {"q": "wenxian"}).content.decode()
    assert "wang_wenxian" in html
    assert "chen_dongmei" not in html
    html = sys_client.get(reverse("accounts:user_list"), {"is_active": "false"}).content.decode()
    assert 'data-testid="user-row-guo_member"' in html
    assert 'data-testid="user-row-wang_wenxian"' not in html


def test_user_list_runs_a_constant_number_of_queries(
    sys_client, people, places, django_assert_max_num_queries
):
    url = reverse("accounts:user_list")
    sys_client.get(url)
    for n in range(15):
        make_user(f"extra_{n}", Role.MEMBER, places.grid_a)
    with django_assert_max_num_queries(12):
        assert sys_client.get(url).status_code == 200


def test_creating_a_user_from_the_page(sys_client, people):
    response = sys_client.post(
        reverse("accounts:user_create"),
        {
            "username": "lin_new",
            "display_name": "林新",
            "email": "",
            "password": GOOD,
            "password_confirm": GOOD,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="lin_new")
    assert user.display_name == "林新"
    assert user.must_change_password
    assert AuditRecord.objects.filter(
        action="accounts.user.create", object_id=str(user.pk)
    ).exists()


def test_a_weak_or_mismatched_password_is_shown_on_the_form(sys_client, people):
    response = sys_client.post(
        reverse("accounts:user_create"),
        {"username": "lin_new", "password": "abcdefgh", "password_confirm": "abcdefgh"},
    )
    assert response.status_code == 200
    assert "至少 3 类" in response.content.decode()
    response = sys_client.post(
        reverse("accounts:user_create"),
        {"username": "lin_new", "password": GOOD, "password_confirm": GOOD + "x"},
    )
    assert "两次输入的密码不一致" in response.content.decode()
    assert not User.objects.filter(username="lin_new").exists()


def test_a_duplicate_username_is_shown_on_the_form(sys_client, people):
    response = sys_client.post(
        reverse("accounts:user_create"),
        {"username": "Wang_Wenxian", "password": GOOD, "password_confirm": GOOD},
    )
    assert response.status_code == 200
    assert "该用户名已被使用" in response.content.decode()


def test_editing_and_deactivating_a_user(sys_client, people):
    url = reverse("accounts:user_edit", args=[people.member.pk])
    assert sys_client.get(url).status_code == 200
    response = sys_client.post(
        url, {"display_name": "郭党员", "email": "guo@example.cn", "is_active": "on"}
    )
    assert response.status_code == 302
    people.member.refresh_from_db()
    assert people.member.display_name == "郭党员"
    assert people.member.is_active
    sys_client.post(reverse("accounts:user_set_active", args=[people.member.pk]), {"active": "0"})
    people.member.refresh_from_db()
    assert not people.member.is_active
    sys_client.post(reverse("accounts:user_set_active", args=[people.member.pk]), {"active": "1"})
    people.member.refresh_from_db()
    assert people.member.is_active


def test_deactivating_an_admin_is_refused_on_the_page(sys_client, people):
    response = sys_client.post(
        reverse("accounts:user_set_active", args=[people.audit_admin.pk]),
        {"active": "0"},
        follow=True,
    )
    assert "须先由安全管理员撤销角色" in response.content.decode()
    people.audit_admin.refresh_from_db()
    assert people.audit_admin.is_active
    url = reverse("accounts:user_reset_password", args=[people.audit_admin.pk])
    response = sys_client.post(url, {"password": GOOD, "password_confirm": GOOD})
    assert response.status_code == 200
    assert "三员账号的密码不能由系统管理员重置" in response.content.decode()
    people.audit_admin.refresh_from_db()
    assert not people.audit_admin.check_password(GOOD)


def test_resetting_a_password_from_the_page(sys_client, people):
    url = reverse("accounts:user_reset_password", args=[people.member.pk])
    assert sys_client.get(url).status_code == 200
    response = sys_client.post(url, {"password": GOOD, "password_confirm": GOOD})
    assert response.status_code == 302
    people.member.refresh_from_db()
    assert people.member.check_password(GOOD)
    assert people.member.must_change_password


def test_an_unknown_user_is_404(sys_client, people):
    assert sys_client.get(reverse("accounts:user_edit", args=[999999])).status_code == 404


# --- role assignments (sec_admin) -------------------------------------------------------------


def test_assignment_list_filters_by_role_and_node(sec_client, people, places):
    url = reverse("accounts:assignment_list")
    html = sec_client.get(url).content.decode()
    assert "wang_wenxian" in html and "chen_dongmei" in html
    html = sec_client.get(url, {"role": Role.COMMUNITY_ADMIN}).content.decode()
    assert "wang_wenxian" in html and "lin_grid" not in html
    html = sec_client.get(url, {"node": places.community_a.pk}).content.decode()
    assert "wang_wenxian" in html and "lin_grid" in html  # the grid lies under community A
    assert "chen_dongmei" not in html


def test_granting_a_role_from_the_page(sec_client, people, places):
    response = sec_client.post(
        reverse("accounts:assignment_list"),
        {"username": "no_role", "role": Role.RESIDENT, "node": places.grid_b.pk, "unit": ""},
    )
    assert response.status_code == 302
    assert RoleAssignment.objects.filter(
        user=people.nobody, role=Role.RESIDENT, node=places.grid_b, granted_by=people.sec_admin
    ).exists()


def test_grant_form_errors_are_shown(sec_client, people, places):
    response = sec_client.post(
        reverse("accounts:assignment_list"),
        {"username": "no_role", "role": Role.UNIT_LIAISON, "node": places.community_a.pk},
    )
    assert response.status_code == 400
    assert "驻区单位联络员须指定所代表的单位" in response.content.decode()
    response = sec_client.post(
        reverse("accounts:assignment_list"),
        {"username": "ghost", "role": Role.MEMBER, "node": places.grid_a.pk},
    )
    assert "没有这个用户名" in response.content.decode()


def test_the_grant_form_offers_only_nodes_in_the_admins_subtree(client, people, places):
    street_sec = make_user("sec_zhenhai", Role.SEC_ADMIN, places.street)
    client.force_login(street_sec)
    html = client.get(reverse("accounts:assignment_list")).content.decode()
    assert "文献社区" in html
    assert "拱辰社区" not in html
    rows = [a.pk for a in RoleAssignment.objects.filter(user=people.community_admin)]
    assert f'data-testid="assignment-{rows[0]}"' in html
    # Assignments at the district lie outside the street's subtree.
    district_row = people.sys_admin.assignments.get().pk
    assert f'data-testid="assignment-{district_row}"' not in html
    response = client.post(
        reverse("accounts:assignment_list"),
        {"username": "no_role", "role": Role.MEMBER, "node": places.community_c.pk},
    )
    assert response.status_code == 400
    assert not people.nobody.assignments.exists()


def test_granting_oneself_through_the_page_is_refused(sec_client, people, places):
    response = sec_client.post(
        reverse("accounts:assignment_list"),
        {"username": "sec_admin", "role": Role.SEC_ADMIN, "node": places.street.pk},
    )
    assert response.status_code == 403
    assert people.sec_admin.assignments.count() == 1


def test_revoking_from_the_page(sec_client, people):
    assignment = people.grid_manager.assignments.get()
    response = sec_client.post(reverse("accounts:assignment_revoke", args=[assignment.pk]))
    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert (
        sec_client.get(reverse("accounts:assignment_revoke", args=[assignment.pk])).status_code
        == 405
    )


def test_revoking_outside_the_subtree_is_404(client, people, places):
    street_sec = make_user("sec_zhenhai", Role.SEC_ADMIN, places.street)
    client.force_login(street_sec)
    other = people.sys_admin.assignments.get()
    assert client.post(reverse("accounts:assignment_revoke", args=[other.pk])).status_code == 404
    assert RoleAssignment.objects.filter(pk=other.pk).exists()


def test_revoking_ones_own_role_is_refused(sec_client, people):
    own = people.sec_admin.assignments.get()
    assert sec_client.post(reverse("accounts:assignment_revoke", args=[own.pk])).status_code == 403
    assert RoleAssignment.objects.filter(pk=own.pk).exists()


# --- lockouts (sec_admin) ---------------------------------------------------------------------


def test_lockout_list_and_unlock(sec_client, people):
    for n in range(3):
        AccessAttempt.objects.create(
            username="lin_grid",
            ip_address=f"10.0.0.{n}",
            user_agent="ua",
            failures_since_start=2,
            get_data="",
            post_data="",
            http_accept="",
            path_info="/accounts/login/",
        )
    html = sec_client.get(reverse("accounts:lockout_list")).content.decode()
    assert 'data-testid="lockout-lin_grid"' in html
    response = sec_client.post(
        reverse("accounts:lockout_unlock"), {"username": "lin_grid"}, follow=True
    )
    assert "已解除 lin_grid 的登录锁定" in response.content.decode()
    assert not AccessAttempt.objects.filter(username="lin_grid").exists()
    assert "当前没有被锁定的账号" in response.content.decode()

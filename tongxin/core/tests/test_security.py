"""三员分立 and deployment safety (SECURITY.md 1, 6, 8): who reaches what; production refusals."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tongxin.accounts.models import ADMIN_ROLES, Role
from tongxin.accounts.services import role_grant
from tongxin.core.policy import declared_policy

ADMINS = ("sys_admin", "sec_admin", "audit_admin")

# Each administrator's own pages and endpoints (GET), and nobody else's.
OWN_PAGES = {
    "sys_admin": ["accounts:user_list", "accounts:user_create", "core:job_failures"],
    "sec_admin": ["accounts:assignment_list", "accounts:lockout_list"],
    "audit_admin": ["core:audit_list"],
}
OWN_API = {
    "sys_admin": ["/api/v1/users/", "/api/v1/job-failures/"],
    "sec_admin": ["/api/v1/role-assignments/", "/api/v1/lockouts/"],
    "audit_admin": ["/api/v1/audit-records/"],
}


@pytest.mark.parametrize("who", ADMINS)
def test_each_admin_reaches_their_own_pages_and_endpoints(client, people, who):
    client.force_login(getattr(people, who))
    for name in OWN_PAGES[who]:
        assert client.get(reverse(name)).status_code == 200, name
    for url in OWN_API[who]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ADMINS)
def test_each_admin_is_refused_the_others_pages_and_endpoints(client, people, who):
    client.force_login(getattr(people, who))
    for other, names in OWN_PAGES.items():
        if other == who:
            continue
        for name in names:
            assert client.get(reverse(name)).status_code == 403, (who, name)
        for url in OWN_API[other]:
            assert client.get(url).status_code == 403, (who, url)


@pytest.mark.parametrize("who", ADMINS)
def test_each_admin_is_refused_the_others_writes(client, people, places, who):
    client.force_login(getattr(people, who))
    writes = {
        "sys_admin": [
            ("post", reverse("accounts:user_create"), {}),
            ("post", reverse("accounts:user_set_active", args=[people.member.pk]), {}),
            ("post", "/api/v1/users/", {}),
            ("patch", f"/api/v1/users/{people.member.pk}/", {}),
        ],
        "sec_admin": [
            ("post", reverse("accounts:assignment_list"), {}),
            ("post", reverse("accounts:lockout_unlock"), {"username": "x"}),
            ("post", "/api/v1/role-assignments/", {}),
            ("delete", f"/api/v1/role-assignments/{people.member.assignments.get().pk}/", {}),
            ("post", "/api/v1/lockouts/unlock/", {"username": "x"}),
        ],
        "audit_admin": [("post", reverse("core:audit_export"), {})],
    }
    for other, calls in writes.items():
        if other == who:
            continue
        for method, url, data in calls:
            response = getattr(client, method)(url, data, content_type="application/json")
            assert response.status_code == 403, (who, method, url)


@pytest.mark.parametrize("who", ADMINS)
def test_no_admin_grants_themselves_a_role(client, people, places, who):
    admin = getattr(people, who)
    client.force_login(admin)
    before = set(admin.assignments.values_list("role", "node_id"))
    for role in (Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN, Role.DISTRICT_ADMIN):
        with pytest.raises(PermissionDenied):
            role_grant(actor=admin, user=admin, role=role, node=places.district)
        response = client.post(
            "/api/v1/role-assignments/",
            {"user": admin.pk, "role": role, "node": places.district.pk},
            content_type="application/json",
        )
        assert response.status_code == 403
        response = client.post(
            reverse("accounts:assignment_list"),
            {"username": admin.username, "role": role, "node": places.district.pk},
        )
        assert response.status_code == 403
    assert set(admin.assignments.values_list("role", "node_id")) == before


# --- every role-restricted URL refuses the administrators it does not name -------------------

_CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_SAMPLE = {"int": "1", "uuid": "00000000-0000-0000-0000-000000000001"}


def _routes(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def _role_restricted_urls() -> list[tuple[str, frozenset[str]]]:
    found = []
    for route, entry in _routes(get_resolver().url_patterns):
        declared = declared_policy(entry.callback)
        if declared is None or declared.public or not declared.roles:
            continue
        if "^" in route or "(?P" in route:  # a regex route: no reliable sample URL
            continue
        url = "/" + _CONVERTER.sub(lambda m: _SAMPLE.get(m["kind"] or "str", "x"), route)
        found.append((url, declared.roles))
    return found


def test_the_walk_finds_the_admin_and_business_urls():
    urls = dict(_role_restricted_urls())
    assert "/accounts/users/" in urls
    assert "/api/v1/audit-records/x/" in urls


@pytest.mark.parametrize("who", ADMINS)
def test_admins_are_refused_every_url_whose_policy_does_not_name_them(client, people, who):
    """Covers business pages too: 三员 do no business work (their roles are not business roles)."""
    client.force_login(getattr(people, who))
    checked = 0
    for url, allowed in _role_restricted_urls():
        if who in allowed:
            continue
        response = client.get(url)
        if response.status_code == 405:
            response = client.post(url)
        assert response.status_code == 403, (who, url, response.status_code)
        checked += 1
    assert checked > 0


def test_no_policy_mixes_business_and_admin_roles():
    for url, allowed in _role_restricted_urls():
        admin = allowed & ADMIN_ROLES
        assert not admin or admin == allowed, f"{url} admits both admins and business roles"


# --- production settings ----------------------------------------------------------------------

BASE_DIR = Path(settings.BASE_DIR)


def _check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    # A production process starts from its own environment, not from the test runner's.
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TONGXIN_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    clean.update(TONGXIN_ENV="production", TONGXIN_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _real_values() -> dict[str, str]:
    return {
        "TONGXIN_SECRET_KEY": secrets.token_urlsafe(64),
        "TONGXIN_ENCRYPTION_KEY": secrets.token_hex(32),
        "TONGXIN_ALLOWED_HOSTS": "dangjian.example.gov.cn",
    }


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("TONGXIN_SECRET_KEY", "TONGXIN_SECRET_KEY"),
        ("TONGXIN_ENCRYPTION_KEY", "TONGXIN_ENCRYPTION_KEY"),
        ("TONGXIN_ALLOWED_HOSTS", "TONGXIN_ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_each_secret(tmp_path, missing, named):
    env = _real_values()
    del env[missing]
    result = _check_deploy(tmp_path, **env)
    assert result.returncode != 0
    assert named in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TONGXIN_SECRET_KEY", "django-insecure-" + "a" * 50),
        ("TONGXIN_SECRET_KEY", "short"),
        ("TONGXIN_ENCRYPTION_KEY", "not-hex"),
    ],
)
def test_production_refuses_weak_secrets(tmp_path, name, value):
    result = _check_deploy(tmp_path, **{**_real_values(), name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_production_passes_the_deploy_check_with_real_values(tmp_path):
    result = _check_deploy(tmp_path, **_real_values())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

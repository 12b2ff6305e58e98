"""The demo district: seed 004's shape, deterministic, and refused in production."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from tongxin.accounts.models import RoleAssignment
from tongxin.core.audit import verify_chain
from tongxin.orgs.models import (
    CommitteeMember,
    ContactPoint,
    Level,
    OrgCategory,
    OrgNode,
    PartyOrganization,
)

pytestmark = pytest.mark.django_db


def test_demo_district_has_the_shape_of_seed_004():
    call_command("seed_demo", seed=2019)
    streets = OrgNode.objects.filter(level=Level.STREET)
    assert sorted(streets.values_list("name", flat=True)) == ["拱辰街道", "镇海街道"]
    assert OrgNode.objects.filter(level=Level.COMMUNITY).count() == 14
    zhenhai = streets.get(name="镇海街道")
    under_zhenhai = OrgNode.objects.filter(path__startswith=zhenhai.path)
    assert under_zhenhai.filter(level=Level.GRID).count() == 37
    assert under_zhenhai.filter(level=Level.GROUP).count() == 112
    # "one grid, one branch": every node has its territorial party organization
    assert PartyOrganization.objects.filter(category=OrgCategory.TERRITORIAL).count() == (
        OrgNode.objects.count()
    )
    for category in (OrgCategory.TEMPORARY, OrgCategory.JOINT, OrgCategory.BUILDING):
        assert PartyOrganization.objects.filter(category=category).exists()
    assert CommitteeMember.objects.filter(body=zhenhai).count() in range(8, 11)
    assert ContactPoint.objects.count() == 14
    usernames = set(RoleAssignment.objects.values_list("user__username", flat=True))
    assert {"demo_district", "demo_community", "demo_community_b", "demo_auditor"} <= usernames
    assert verify_chain().ok


def test_demo_accounts_sit_where_the_issue_says():
    call_command("seed_demo", seed=2019)
    by_user = {
        a.user.username: a for a in RoleAssignment.objects.select_related("user", "node", "unit")
    }
    community_a = by_user["demo_community"].node
    community_b = by_user["demo_community_b"].node
    assert community_a.parent_id == community_b.parent_id != None  # noqa: E711 - siblings
    assert by_user["demo_street"].node.name == "镇海街道"
    assert by_user["demo_grid"].node.parent_id == community_a.pk
    assert by_user["demo_unit"].unit.node.path.startswith(community_a.path)


def _build_and_snapshot(seed: int) -> list[tuple[str, str, str]]:
    with transaction.atomic():
        call_command("seed_demo", seed=seed)
        snapshot = list(
            PartyOrganization.objects.order_by("node__path", "name").values_list(
                "node__path", "name", "secretary"
            )
        )
        transaction.set_rollback(True)
    return snapshot


def test_same_seed_builds_the_same_district_and_another_seed_another():
    first = _build_and_snapshot(7)
    assert first == _build_and_snapshot(7)
    assert first != _build_and_snapshot(8)


def test_refuses_a_database_that_has_data_unless_asked_to_skip(places):
    with pytest.raises(CommandError):
        call_command("seed_demo")
    call_command("seed_demo", if_empty=True)
    assert not RoleAssignment.objects.filter(user__username="demo_district").exists()


def test_refused_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not OrgNode.objects.exists()

"""Who may record, read and work visits (SPEC §3 visits; SECURITY.md 7 and 13)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.conftest import make_user
from tongxin.core.errors import ConflictError
from tongxin.grids import selectors, services
from tongxin.grids.rules import can
from tongxin.grids.tests.factories import household

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


def record(user, home, **extra):
    return services.visit_create(
        actor=user, household=home, visited_on=DAY, summary="入户了解情况", **extra
    )


@pytest.fixture
def homes(places):
    return household(places.grid_a, "A-101"), household(places.grid_b, "B-101")


def test_who_may_record_a_visit(places, people, homes):
    home_a, home_b = homes
    for user in (people.grid_manager, people.member, people.community_admin):
        assert can(user, "grids.add_visit", home_a), user
        record(user, home_a)
    for user in (
        people.resident,
        people.street_admin,
        people.district_admin,
        people.community_admin_b,
        people.department,
        people.unit_liaison,
        people.sys_admin,
    ):
        assert not can(user, "grids.add_visit", home_a), user
        with pytest.raises(PermissionDenied):
            record(user, home_a)
    with pytest.raises(PermissionDenied):
        record(people.grid_manager, home_b)  # a sibling community's household


def test_the_diary_is_read_by_the_serving_community_and_the_visitor_only(places, people, homes):
    home_a, _ = homes
    by_member = record(people.member, home_a)
    by_manager = record(people.grid_manager, home_a)
    readers = {
        "grid_manager": {by_member.pk, by_manager.pk},
        "community_admin": {by_member.pk, by_manager.pk},
        "member": {by_member.pk},  # their own only
        "street_admin": set(),  # counts on the map, not the diary
        "district_admin": set(),
        "community_admin_b": set(),
        "resident": set(),
        "audit_admin": set(),
    }
    for name, expected in readers.items():
        user = getattr(people, name)
        assert set(selectors.visible_visits(user).values_list("pk", flat=True)) == expected, name


def test_a_former_visitor_loses_their_visits_with_their_role(places, people, homes):
    mover = make_user("moved_member", Role.MEMBER, places.grid_a)
    visit = record(mover, homes[0])
    assert can(mover, "grids.change_visit", visit)
    mover.assignments.all().delete()
    mover = type(mover).objects.get(pk=mover.pk)  # fresh grants
    assert not selectors.visible_visits(mover).exists()
    assert not can(mover, "grids.change_visit", visit)


def test_who_may_edit_a_visit(places, people, homes):
    visit = record(people.member, homes[0])
    assert can(people.member, "grids.change_visit", visit)
    assert can(people.community_admin, "grids.change_visit", visit)
    assert not can(people.grid_manager, "grids.change_visit", visit)  # not theirs
    updated = services.visit_update(
        actor=people.member, visit=visit, version=1, changes={"summary": "补充：已宣传垃圾分类"}
    )
    assert updated.version == 2
    with pytest.raises(ConflictError):
        services.visit_update(
            actor=people.community_admin, visit=visit, version=1, changes={"companions": "x"}
        )
    with pytest.raises(PermissionDenied):
        services.visit_update(actor=people.grid_manager, visit=visit, version=2, changes={})


def test_follow_ups_are_worked_by_the_serving_community_and_the_visitor(places, people, homes):
    visit = record(people.member, homes[0], follow_ups=[{"action": "协调维修路灯"}])
    follow_up = visit.follow_ups.get()
    for user in (people.member, people.grid_manager, people.community_admin):
        assert can(user, "grids.change_followup", follow_up), user
    for user in (people.street_admin, people.community_admin_b, people.resident):
        assert not can(user, "grids.change_followup", follow_up), user
    done = services.follow_up_update(
        actor=people.grid_manager, follow_up=follow_up, version=1, status="done", result="已修好"
    )
    assert done.done_at is not None and done.done_by == people.grid_manager
    reopened = services.follow_up_update(
        actor=people.member, follow_up=done, version=2, status="open"
    )
    assert reopened.done_at is None and reopened.result == "已修好"


def test_visit_input_is_checked(places, people, homes):
    with pytest.raises(ValidationError) as caught:
        services.visit_create(
            actor=people.grid_manager,
            household=homes[0],
            visited_on=timezone.localdate() + dt.timedelta(days=3),
            summary=" ",
            needs=[{"category": "nonsense", "description": "x"}, {"category": "health"}],
            follow_ups=[
                {"action": "回访", "due_on": dt.date(2000, 1, 1)},
                {"action": "x", "need": 5},
            ],
        )
    assert caught.value.message_dict == {
        "visited_on": ["走访日期不能晚于今天。"],
        "summary": ["请填写走访情况。"],
        "needs": ["第 1 条诉求：请选择诉求类别。", "第 2 条诉求：请填写诉求内容。"],
        "follow_ups": [
            "第 1 项跟进事项：办理期限不能早于走访日期。",
            "第 2 项跟进事项：对应的诉求不存在。",
        ],
    }


def test_open_follow_ups_come_most_urgent_first(places, people, homes):
    record(
        people.grid_manager,
        homes[0],
        follow_ups=[
            {"action": "无期限"},
            {"action": "月底前", "due_on": dt.date(2026, 11, 30)},
            {"action": "下周", "due_on": dt.date(2026, 11, 27)},
        ],
    )
    actions = [f.action for f in selectors.follow_up_list(people.grid_manager)]
    assert actions == ["下周", "月底前", "无期限"]


def test_visits_are_audited_without_their_words(places, people, homes):
    from tongxin.core.models import AuditRecord

    record(people.grid_manager, homes[0], needs=[{"category": "health", "description": "高血压"}])
    entry = AuditRecord.objects.filter(action="grids.visit.create").get()
    assert entry.changes["needs"] == 1
    assert "高血压" not in str(entry.changes) and "入户了解情况" not in str(entry.changes)

"""Retention (SECURITY.md 14): each category has a period; past it, personal data is anonymized."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessFailureLog
from django.core.management import call_command
from django.utils import timezone

from tongxin.core.models import AuditRecord
from tongxin.core.retention import ANONYMIZED_NAME, CLEARED_TEXT, retention_apply
from tongxin.events.models import Event, HandlingLevel, Source, State
from tongxin.grids.models import NeedCategory, Visit, VisitNeed
from tongxin.people.models import Person, PersonGroup, Resident
from tongxin.people.tests.factories import id_number, make_household, make_member, make_resident

NOW = dt.datetime(2030, 6, 15, 3, 0, tzinfo=dt.UTC)
TODAY = dt.date(2030, 6, 15)


def _moved_out(resident: Resident, on: dt.date) -> Resident:
    Resident.objects.filter(pk=resident.pk).update(moved_out_on=on)
    return resident


@pytest.fixture
def residents(places):
    household = make_household(places.grid_a)
    born = id_number(dt.date(1950, 3, 8))
    old = make_resident(household=household, name="陈旧迁", id_number=born)
    PersonGroup.objects.create(person=old.person, group="hardship", note="低保户，陈旧迁本人")
    old = _moved_out(old, dt.date(2027, 6, 14))  # 3 years and a day before TODAY
    recent = _moved_out(
        make_resident(household=household, name="李近迁", relation="spouse"), dt.date(2027, 6, 15)
    )
    staying = make_resident(household=household, name="王常住", relation="child")
    return old, recent, staying


def test_moved_out_residents_are_anonymized_after_three_years(residents):
    old, recent, staying = residents
    before = Person.objects.count()
    report = retention_apply(now=NOW)
    part = report.category("people.moved_out")
    assert (part.matched, part.changed, part.cutoff) == (1, 1, "2027-06-15")

    person = Person.objects.get(pk=old.person_id)
    assert person.name == ANONYMIZED_NAME
    assert not person.id_number and not person.phone
    assert person.id_number_index == "" and person.phone_masked == ""
    assert person.address == ""
    assert person.birth_date == dt.date(1950, 1, 1), "only the year of birth stays"
    assert PersonGroup.objects.get(person=person).note == ""
    assert PersonGroup.objects.filter(person=person, group="hardship").exists(), "counts stay"
    assert Person.objects.count() == before, "rows are kept: counts stay right"
    assert Person.objects.get(pk=recent.person_id).name == "李近迁"
    assert Person.objects.get(pk=staying.person_id).name == "王常住"


def test_party_members_who_moved_out_are_kept(places, residents):
    member = make_member(places.grid_a, name="郭党员")
    Resident.objects.create(person=member.person, moved_out_on=dt.date(2020, 1, 1))
    part = retention_apply(now=NOW).category("people.moved_out")
    assert part.skipped == 1
    assert Person.objects.get(pk=member.person_id).name == "郭党员"


def test_one_audit_record_per_category_with_counts_only(residents):
    retention_apply(now=NOW)
    records = AuditRecord.objects.filter(action="core.retention.apply")
    assert {r.object_type for r in records} == {
        "people.moved_out",
        "events.reporter",
        "grids.visit_text",
        "accounts.login_logs",
    }
    moved = records.get(object_type="people.moved_out")
    assert moved.changes["changed"] == 1 and moved.actor_username == "retention"
    text = str([r.changes for r in records]) + str([r.object_repr for r in records])
    assert "陈旧迁" not in text and "低保" not in text, "never the data itself"


def test_dry_run_counts_and_changes_nothing(residents):
    old, *_ = residents
    report = retention_apply(now=NOW, dry_run=True)
    assert report.dry_run and report.category("people.moved_out").matched == 1
    assert report.category("people.moved_out").changed == 0
    assert Person.objects.get(pk=old.person_id).name == "陈旧迁"
    assert not AuditRecord.objects.filter(action="core.retention.apply").exists()


def test_running_again_changes_nothing_more(residents):
    retention_apply(now=NOW)
    again = retention_apply(now=NOW).category("people.moved_out")
    assert (again.matched, again.changed) == (0, 0)


def test_periods_come_from_settings(residents, settings):
    settings.RETENTION_MOVED_OUT_YEARS = 10
    assert retention_apply(now=NOW).category("people.moved_out").matched == 0


def _event(places, *, state: str, closed_at: dt.datetime | None) -> Event:
    from tongxin.events.tests.conftest import category

    event = Event(
        source=Source.RESIDENT,
        category=category(),
        description="路灯不亮",
        reporter_name="赵报告",
        node=places.grid_a,
        level=HandlingLevel.GRID,
        handling_node=places.grid_a,
        state=state,
        level_entered_at=NOW - dt.timedelta(days=900),
        closed_at=closed_at,
        created_at=NOW - dt.timedelta(days=900),
    )
    event.reporter_phone = "13912345678"
    event.save()
    return event


def test_closed_events_lose_the_reporter_contact_after_two_years(places):
    old = _event(places, state=State.CLOSED, closed_at=NOW - dt.timedelta(days=731))
    recent = _event(places, state=State.CLOSED, closed_at=NOW - dt.timedelta(days=700))
    still_open = _event(places, state=State.ACCEPTED, closed_at=None)
    part = retention_apply(now=NOW).category("events.reporter")
    assert (part.matched, part.changed) == (1, 1)
    old.refresh_from_db()
    assert old.reporter_name == "" and not old.reporter_phone and old.reporter_phone_masked == ""
    assert old.description == "路灯不亮", "the event itself stays"
    for kept in (recent, still_open):
        kept.refresh_from_db()
        assert kept.reporter_name == "赵报告" and kept.reporter_phone


def test_visit_diary_text_is_cleared_after_three_years(places, people):
    household = make_household(places.grid_a, door="202")

    def visit(on: dt.date) -> Visit:
        row = Visit.objects.create(
            node=places.grid_a,
            household=household,
            visited_on=on,
            visitor=people.grid_manager,
            companions="林同行",
            summary="老人独居，子女在外地",
        )
        VisitNeed.objects.create(visit=row, category=NeedCategory.choices[0][0], description="助餐")
        return row

    old, recent = visit(dt.date(2027, 6, 1)), visit(dt.date(2028, 1, 1))
    part = retention_apply(now=NOW).category("grids.visit_text")
    assert (part.matched, part.changed) == (1, 1)
    old.refresh_from_db()
    assert old.summary == CLEARED_TEXT and old.companions == ""
    assert old.needs.get().description == CLEARED_TEXT
    assert old.visited_on == dt.date(2027, 6, 1) and old.needs.count() == 1
    recent.refresh_from_db()
    assert recent.summary == "老人独居，子女在外地"


def test_login_failure_logs_are_deleted_after_their_period(db):
    for days in (181, 10):
        row = AccessFailureLog.objects.create(username="someone", ip_address="10.0.0.1")
        # attempt_time is set on insert; move it back afterwards.
        AccessFailureLog.objects.filter(pk=row.pk).update(
            attempt_time=NOW - dt.timedelta(days=days)
        )
    part = retention_apply(now=NOW).category("accounts.login_logs")
    assert part.changed == 1 and AccessFailureLog.objects.count() == 1


def test_the_command_and_the_security_admins_page(residents, client, people, capsys):
    call_command("apply_retention", "--dry-run")
    assert "试运行" in capsys.readouterr().out
    assert not AuditRecord.objects.filter(action="core.retention.apply").exists()
    call_command("apply_retention")
    assert AuditRecord.objects.filter(action="core.retention.apply").count() == 4

    client.force_login(people.sec_admin)
    page = client.get("/accounts/retention/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="retention-people.moved_out"' in html
    assert 'data-testid="retention-core.audit"' in html and "数据库管理员归档" in html
    assert 'data-testid="retention-last-run"' in html
    client.force_login(people.audit_admin)
    assert client.get("/accounts/retention/").status_code == 403


def test_the_nightly_job_is_scheduled():
    from tongxin.core import tasks

    task = tasks.apply_retention_job.task_class()
    at_night = timezone.localtime().replace(hour=2, minute=30)
    assert task.validate_datetime(at_night)
    assert not task.validate_datetime(at_night.replace(hour=14))

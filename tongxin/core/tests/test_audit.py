"""The audit trail: append-only in the database, tamper-evident, readable and exportable."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tongxin.core.audit import audit, verify_chain
from tongxin.core.models import AuditOutcome, AuditRecord, JobFailure

# --- append-only ----------------------------------------------------------------------------


@pytest.fixture
def chain(db) -> list[AuditRecord]:
    return [audit(actor=None, username=f"u{n}", action=f"test.step{n}") for n in range(5)]


def test_the_database_refuses_to_update_a_record(chain):
    record = chain[2]
    record.object_repr = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        record.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(outcome=AuditOutcome.FAILURE)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditrecord SET action = 'x' WHERE id = %s", [record.pk])
    assert AuditRecord.objects.get(pk=record.pk).action == "test.step2"


def test_the_database_refuses_to_delete_a_record(chain):
    with pytest.raises(DatabaseError), transaction.atomic():
        chain[0].delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.all().delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditrecord WHERE id = %s", [chain[1].pk])
    assert AuditRecord.objects.filter(pk__in=[r.pk for r in chain]).count() == 5


# --- tamper detection -----------------------------------------------------------------------


def _lift_guard() -> None:
    """What an intruder with database rights would do first (undone by the test's rollback)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE core_auditrecord DISABLE TRIGGER core_auditrecord_append_only"
            )
        else:
            cursor.execute("DROP TRIGGER core_auditrecord_no_update")
            cursor.execute("DROP TRIGGER core_auditrecord_no_delete")


def test_an_intact_chain_verifies(chain, capsys):
    report = verify_chain()
    assert report.ok
    assert report.checked == AuditRecord.objects.count()
    call_command("verify_audit")
    assert f"已校验 {report.checked} 条记录" in capsys.readouterr().out


def test_an_edited_record_is_named(chain):
    victim = chain[2]
    _lift_guard()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditrecord SET object_repr = %s WHERE id = %s", ["tampered", victim.pk]
        )
    report = verify_chain()
    assert report.first_bad_id == victim.pk
    assert report.reason == "hash"
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit")
    assert f"id={victim.pk}（" in str(caught.value)
    assert caught.value.returncode != 0


def test_a_record_rewritten_with_a_fresh_hash_breaks_the_next_link(chain):
    from tongxin.core.audit import compute_hash

    victim = chain[1]
    victim.object_repr = "tampered"
    _lift_guard()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditrecord SET object_repr = %s, hash = %s WHERE id = %s",
            ["tampered", compute_hash(victim), victim.pk],
        )
    report = verify_chain()
    assert report.first_bad_id == chain[2].pk
    assert report.reason == "prev_hash"


def test_a_deleted_record_is_detected_at_its_successor(chain):
    _lift_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditrecord WHERE id = %s", [chain[3].pk])
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit")
    assert f"id={chain[4].pk}（" in str(caught.value)


def test_the_guard_is_back_after_a_tampering_test(chain):
    """The tampering tests lift the guard inside their transaction only."""
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(pk=chain[0].pk).update(action="x")


# --- the audit administrator's page ---------------------------------------------------------


@pytest.fixture
def auditor(client, people):
    client.force_login(people.audit_admin)
    return client


def test_audit_list_filters(auditor, people):
    audit(actor=people.sys_admin, action="accounts.user.create", object_type="accounts.user")
    audit(actor=None, username="ghost", action="accounts.login_failed", outcome="failure")
    url = reverse("core:audit_list")
    html = auditor.get(url).content.decode()
    assert "审计日志" in html and "accounts.user.create" in html
    html = auditor.get(url, {"actor": "ghost"}).content.decode()
    assert "accounts.login_failed" in html and "accounts.user.create" not in html
    html = auditor.get(url, {"outcome": "failure"}).content.decode()
    assert "ghost" in html and "accounts.user.create" not in html
    html = auditor.get(url, {"action": "accounts.user"}).content.decode()
    assert "accounts.user.create" in html and "accounts.login_failed" not in html
    tomorrow = (timezone.localdate() + timezone.timedelta(days=1)).isoformat()
    html = auditor.get(url, {"date_from": tomorrow}).content.decode()
    assert "没有符合条件的记录" in html
    response = auditor.get(url, {"date_from": "not-a-date"})
    assert response.status_code == 200
    assert "输入一个有效的日期" in response.content.decode()


def test_audit_list_paginates_and_keeps_the_filters(auditor, people):
    for n in range(60):
        audit(actor=None, username="bulk", action=f"bulk.{n:02d}")
    html = auditor.get(reverse("core:audit_list"), {"actor": "bulk"}).content.decode()
    assert "共 60 条" in html
    assert "bulk.59" in html and "bulk.00" not in html
    assert "actor=bulk&amp;page=2" in html
    html = auditor.get(reverse("core:audit_list"), {"actor": "bulk", "page": 2}).content.decode()
    assert "bulk.00" in html and "bulk.59" not in html


def _sheet_rows(response) -> list[tuple]:
    book = load_workbook(BytesIO(response.content))
    return list(book.active.iter_rows(values_only=True))


def test_export_neutralises_formulas_and_is_itself_audited(auditor, client, people):
    # Anyone can put text in the trail: a failed login records whatever username was typed.
    evil = '=HYPERLINK("http://evil.example/","点我")'
    for text in (evil, "+1+1", "-2-2", "@SUM(A1)", "bell\x07name"):
        audit(actor=None, username=text, action="accounts.login_failed", outcome="failure")
    response = auditor.post(reverse("core:audit_export") + "?outcome=failure")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    rows = _sheet_rows(response)
    assert rows[0][:3] == ("编号", "时间", "操作人")
    usernames = [row[2] for row in rows[1:]]
    assert "'" + evil in usernames
    assert {"'+1+1", "'-2-2", "'@SUM(A1)", "bellname"} <= set(usernames)
    book = load_workbook(BytesIO(response.content))
    assert all(cell.data_type != "f" for row in book.active.iter_rows() for cell in row)
    record = AuditRecord.objects.filter(action="core.audit.export").get()
    assert record.actor_id == people.audit_admin.pk
    assert record.changes == {"filters": {"outcome": "failure"}, "rows": 5}


def test_export_is_post_only_and_validates_its_filters(auditor, people):
    assert auditor.get(reverse("core:audit_export")).status_code == 405
    response = auditor.post(reverse("core:audit_export") + "?date_to=nope")
    assert response.status_code == 302
    assert not AuditRecord.objects.filter(action="core.audit.export").exists()


def test_export_refuses_more_than_the_row_limit(auditor, people, monkeypatch):
    import tongxin.accounts.services as services

    monkeypatch.setattr(services, "AUDIT_EXPORT_MAX_ROWS", 1)
    response = auditor.post(reverse("core:audit_export"), follow=True)
    assert "超过单次导出上限" in response.content.decode()
    assert not AuditRecord.objects.filter(action="core.audit.export").exists()


@pytest.mark.parametrize("who", ["sys_admin", "sec_admin", "district_admin", "member"])
def test_only_the_audit_administrator_sees_or_exports_the_trail(client, people, who):
    client.force_login(getattr(people, who))
    assert client.get(reverse("core:audit_list")).status_code == 403
    assert client.post(reverse("core:audit_export")).status_code == 403
    assert not AuditRecord.objects.filter(action="core.audit.export").exists()


# --- failed background jobs -----------------------------------------------------------------


def test_job_failures_page_lists_failed_jobs(client, people):
    JobFailure.objects.create(task_name="notify.tasks.deliver", task_id="abc", error="Timeout")
    client.force_login(people.sys_admin)
    html = client.get(reverse("core:job_failures")).content.decode()
    assert "notify.tasks.deliver" in html and "Timeout" in html
    client.force_login(people.audit_admin)
    assert client.get(reverse("core:job_failures")).status_code == 403

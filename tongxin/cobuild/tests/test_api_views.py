"""The API and the pages end to end: an agreement's year, the export, the schema, every page."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from tongxin.cobuild import services
from tongxin.cobuild.models import Agreement, CommitmentState
from tongxin.cobuild.tests.conftest import api, signed
from tongxin.core.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_an_agreement_through_the_api(world):
    places, people = world.places, world.people
    admin = api(people.community_admin)
    response = admin.post(
        reverse("api-agreements"),
        {"node": places.community_a.pk, "unit": places.unit_a.pk, "year": 2026},
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for side in ("organization", "unit"):
        r = admin.post(
            reverse("api-agreement-commitments", args=[pk]),
            {
                "side": side,
                "area": "governance",
                "content": "共同整治",
                "due_on": "2026-09-30",
                "owner_name": "李四",
            },
            format="json",
        )
        assert r.status_code == 201, r.content
    # a foreign node "does not exist"
    bad = admin.post(
        reverse("api-agreements"),
        {"node": places.community_b.pk, "unit": places.unit_a.pk, "year": 2026},
        format="json",
    )
    assert bad.status_code == 400 and "node" in bad.json()
    r = admin.post(
        reverse("api-agreement-transitions", args=[pk]), {"action": "sign"}, format="json"
    )
    assert r.json()["status"] == "signed"
    again = admin.post(
        reverse("api-agreement-transitions", args=[pk]), {"action": "sign"}, format="json"
    )
    assert again.status_code == 409 and "已签订" in again.json()["detail"]
    unit_commitment = next(c for c in r.json()["commitments"] if c["side"] == "unit")
    url = reverse("api-commitment-transitions", args=[unit_commitment["id"]])
    liaison = api(people.unit_liaison)
    forbidden = admin.post(url, {"action": "fulfil", "evidence_text": "x"}, format="json")
    assert forbidden.status_code == 403
    stale = liaison.post(
        url, {"action": "fulfil", "evidence_text": "x", "version": 99}, format="json"
    )
    assert stale.status_code == 409
    missing = liaison.post(url, {"action": "fulfil"}, format="json")
    assert missing.status_code == 400 and "evidence_text" in missing.json()
    done = liaison.post(url, {"action": "fulfil", "evidence_text": "已完成"}, format="json")
    assert done.json()["state"] == "fulfilled"
    assert admin.post(url, {"action": "confirm"}, format="json").json()["state"] == "confirmed"
    rates = admin.get(reverse("api-agreement-rates"), {"year": 2026}).json()
    assert rates["overall"]["rate"] == "50.00"
    copy = admin.post(reverse("api-agreement-copy", args=[pk]), {}, format="json")
    assert copy.status_code == 201 and copy.json()["year"] == 2027
    assert {c["state"] for c in copy.json()["commitments"]} == {CommitmentState.PLANNED}


def test_annual_report_api_and_xlsx_export(world, client):
    signed(world, year=2025)
    r = api(world.people.unit_liaison).get(
        reverse("api-unit-annual-report", args=[world.places.unit_a.pk]), {"year": 2025}
    )
    assert r.status_code == 200 and r.json()["commitments_total"] == 2
    client.force_login(world.people.unit_liaison)
    response = client.post(
        reverse("cobuild:unit_report_export", args=[world.places.unit_a.pk]) + "?year=2025"
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}
    assert rows["单位"] == "文献供电所" and rows["共建协议承诺事项（项，不含取消）"] == 2
    assert AuditRecord.objects.filter(action="cobuild.annual_report.export").exists()


def test_every_page_renders_for_the_community_and_the_unit(world, client):
    places, people = world.places, world.people
    agreement = signed(world)
    need = services.need_create(
        actor=people.community_admin, community=places.community_a, kind="venue", title="场地"
    )
    resource = services.resource_create(
        actor=people.unit_liaison, unit=places.unit_a, kind="venue", title="会议室"
    )
    project = services.project_create(
        actor=people.community_admin,
        need=need,
        resource=resource,
        title="项目",
        owner_name="王五",
        starts_on=dt.date(2026, 5, 1),
    )
    venue = services.venue_create(
        actor=people.unit_liaison,
        unit=places.unit_a,
        name="活动室",
        capacity=20,
        openings=[(0, dt.time(9), dt.time(17))],
    )
    meeting = services.meeting_create(
        actor=people.community_admin,
        body=places.community_a,
        held_on=dt.date(2026, 3, 1),
        title="会",
        agenda="议程",
        resolutions=[{"content": "事项", "owner_name": "张"}],
    )
    evaluation = services.round_create(actor=people.street_admin, node=places.street, year=2026)
    commitment = agreement.commitments.get(side="unit")
    for user in (people.community_admin, people.unit_liaison, people.street_admin):
        client.force_login(user)
        for name, args in [
            ("cobuild:index", []),
            ("cobuild:agreement_list", []),
            ("cobuild:agreement_new", []),
            ("cobuild:agreement_detail", [agreement.pk]),
            ("cobuild:rates", []),
            ("cobuild:commitment_move", [commitment.pk, "fulfil"]),
            ("cobuild:secondment_list", []),
            ("cobuild:secondment_new", []),
            ("cobuild:resource_list", []),
            ("cobuild:resource_new", []),
            ("cobuild:need_list", []),
            ("cobuild:need_new", []),
            ("cobuild:need_detail", [need.pk]),
            ("cobuild:project_list", []),
            ("cobuild:project_new", []),
            ("cobuild:project_detail", [project.pk]),
            ("cobuild:venue_list", []),
            ("cobuild:venue_new", []),
            ("cobuild:venue_detail", [venue.pk]),
            ("cobuild:meeting_list", []),
            ("cobuild:meeting_new", []),
            ("cobuild:meeting_detail", [meeting.pk]),
            ("cobuild:body_detail", [places.community_a.pk]),
            ("cobuild:round_list", []),
            ("cobuild:round_new", []),
            ("cobuild:round_detail", [evaluation.pk]),
            ("cobuild:consultation_list", []),
            ("cobuild:consultation_new", []),
            ("cobuild:unit_reports", []),
            ("cobuild:unit_report", [places.unit_a.pk]),
        ]:
            response = client.get(reverse(name, args=args))
            assert response.status_code in (200, 404), (user, name, response.status_code)
            if user != people.unit_liaison:
                assert response.status_code == 200, (user, name)
    client.logout()
    public = client.get(reverse("cobuild:public_projects", args=[places.community_a.pk]))
    assert public.status_code == 200 and "项目" in public.content.decode()


def test_signing_from_the_page(world, client):
    agreement = Agreement.objects.get(pk=signed(world).pk)
    client.force_login(world.people.community_admin)
    response = client.post(reverse("cobuild:agreement_move", args=[agreement.pk, "close"]))
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == "closed"


def test_the_schema_validates(tmp_path):
    call_command("spectacular", "--validate", "--file", str(tmp_path / "schema.yml"))

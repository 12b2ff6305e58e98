"""Fulfilment rates, copy-last-year, the overdue job, missed quarters, evaluation arithmetic,
the unit's annual report and matching."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tongxin.cobuild import selectors, services
from tongxin.cobuild.models import (
    Commitment,
    CommitmentState,
    CommitmentTransition,
    EvaluationDirection,
)
from tongxin.cobuild.tests.conftest import YEAR, commitment_of, signed
from tongxin.core.errors import ConflictError
from tongxin.notify.models import Notification
from tongxin.orgs.models import CommitteeMember, ResidentUnit

pytestmark = pytest.mark.django_db


def _states(agreement, states):
    """Replace the agreement's commitments with one per given state."""
    agreement.commitments.all().delete()
    Commitment.objects.bulk_create(
        Commitment(
            agreement=agreement,
            side="unit" if i % 2 else "organization",
            area="other",
            content=f"事项{i}",
            due_on=dt.date(agreement.year, 6, 30),
            owner_name="张三",
            state=state,
        )
        for i, state in enumerate(states)
    )


def test_fulfilment_rate_arithmetic(world):
    agreement = signed(world)
    # 2 fulfilled + 1 confirmed of 7, one cancelled → 3 / 6 = 50.00 %
    _states(
        agreement,
        ["fulfilled", "fulfilled", "confirmed", "planned", "in_progress", "overdue", "cancelled"],
    )
    other = signed(world, node=world.places.street, unit=world.places.unit_a)
    _states(other, ["confirmed", "planned"])  # 1 / 2 at the street
    rates = selectors.fulfilment_rates(world.people.district_admin, year=YEAR)
    assert (rates.overall.total, rates.overall.done, rates.overall.cancelled) == (9, 4, 1)
    assert rates.overall.rate == Decimal("50.00")  # 4 / 8
    by_agreement = {r.key: r.rate for r in rates.by_agreement}
    assert by_agreement == {agreement.pk: Decimal("50.00"), other.pk: Decimal("50.00")}
    assert [(r.label, r.rate) for r in rates.by_unit] == [("文献供电所", Decimal("50.00"))]
    assert [(r.label, r.countable) for r in rates.by_community] == [("文献社区", 8)]
    assert [(r.label, r.overdue) for r in rates.by_street] == [("镇海街道", 1)]
    assert (
        selectors.fulfilment_rates(world.people.district_admin, year=YEAR - 1).overall.rate is None
    )
    # one third, rounded half up to two decimals
    _states(other, ["confirmed", "planned", "planned"])
    rates = selectors.fulfilment_rates(world.people.street_admin, year=YEAR)
    assert {r.key: r.rate for r in rates.by_agreement}[other.pk] == Decimal("33.33")


def test_copy_last_years_agreement_as_a_draft(world):
    last = signed(world, year=2024)
    Commitment.objects.filter(agreement=last, side="unit").update(due_on=dt.date(2024, 2, 29))
    services.commitment_transition(
        actor=world.people.community_admin,
        commitment=commitment_of(last, "organization"),
        action="cancel",
        note="不再需要",
    )
    copy = services.agreement_copy(actor=world.people.community_admin, source=last)
    assert (copy.year, copy.status, copy.copied_from_id) == (2025, "draft", last.pk)
    rows = list(copy.commitments.values_list("side", "state", "due_on"))
    # the cancelled commitment stays behind; 29 February becomes 28 February
    assert rows == [("unit", CommitmentState.PLANNED, dt.date(2025, 2, 28))]
    with pytest.raises(ValidationError):
        services.agreement_copy(actor=world.people.community_admin, source=last)


def test_overdue_job_flags_and_notifies_the_owners(world, django_capture_on_commit_callbacks):
    agreement = signed(world)
    unit_side = commitment_of(agreement, "unit")
    org_side = commitment_of(agreement, "organization")
    services.commitment_transition(
        actor=world.people.community_admin,
        commitment=org_side,
        action="fulfil",
        evidence_text="完成",
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = services.commitments_flag_overdue(on=dt.date(YEAR, 7, 1))
    assert report.flagged == 1
    unit_side.refresh_from_db()
    assert unit_side.state == CommitmentState.OVERDUE
    row = CommitmentTransition.objects.filter(commitment=unit_side).latest("id")
    assert (row.action, row.actor_id, row.actor_name) == ("mark_overdue", None, "system")
    assert Notification.objects.filter(
        recipient=world.people.unit_liaison, title__contains="逾期"
    ).exists()
    assert services.commitments_flag_overdue(on=dt.date(YEAR, 7, 2)).flagged == 0
    # not yet due: nothing happens
    other = signed(world, year=YEAR + 1)
    assert services.commitments_flag_overdue(on=dt.date(YEAR, 7, 3)).flagged == 0
    assert other.commitments.filter(state="planned").count() == 2


def test_a_quarter_without_a_meeting_is_flagged(world):
    body = world.places.community_a
    admin = world.people.community_admin
    for day in (dt.date(2025, 2, 10), dt.date(2025, 8, 10), dt.date(2025, 9, 30)):
        services.meeting_create(
            actor=admin, body=body, held_on=day, title="联席会议", agenda="议程"
        )
    (row,) = selectors.meeting_quarters([body], year=2025, on=dt.date(2025, 11, 1))
    assert row.counts == {1: 1, 3: 2}
    assert row.missed == [2]  # Q4 has not ended yet
    (row,) = selectors.meeting_quarters([body], year=2025, on=dt.date(2026, 1, 1))
    assert row.missed == [2, 4]
    overview = selectors.missed_quarters(admin, year=2025, on=dt.date(2026, 1, 1))
    assert [(r.body.name, r.missed) for r in overview] == [("文献社区", [2, 4])]
    street = selectors.missed_quarters(world.people.street_admin, year=2025, on=dt.date(2026, 1, 1))
    assert {r.body.name: r.missed for r in street}["镇海街道"] == [1, 2, 3, 4]


def test_meeting_attendance_comes_from_the_bodys_committee(world):
    places = world.places
    member = CommitteeMember.objects.create(
        body=places.community_a,
        person_name="郑委员",
        unit=places.unit_a,
        duty="共建",
        term_start=dt.date(2024, 1, 1),
    )
    stranger = CommitteeMember.objects.create(
        body=places.community_b, person_name="外人", duty="共建", term_start=dt.date(2024, 1, 1)
    )
    with pytest.raises(ValidationError):
        services.meeting_create(
            actor=world.people.community_admin,
            body=places.community_a,
            held_on=dt.date(2026, 3, 1),
            title="会",
            agenda="议程",
            attendance=[{"member": stranger}],
        )
    meeting = services.meeting_create(
        actor=world.people.community_admin,
        body=places.community_a,
        held_on=dt.date(2026, 3, 1),
        title="会",
        agenda="议程",
        attendance=[{"member": member}],
        resolutions=[{"content": "整治环境", "owner_name": "郑委员", "owner_unit": places.unit_a}],
    )
    (attended,) = meeting.attendance.all()
    assert (attended.unit, attended.person_name) == (places.unit_a, "郑委员")
    resolution = meeting.resolutions.get()
    moved = services.resolution_follow_up(
        actor=world.people.unit_liaison, resolution=resolution, status="done", note="已完成"
    )
    assert moved.status == "done"
    with pytest.raises(ConflictError):
        services.resolution_follow_up(
            actor=world.people.community_admin, resolution=moved, status="in_progress"
        )


def _round(world, *, weights=(60, 40)):
    admin = world.people.street_admin
    evaluation = services.round_create(actor=admin, node=world.places.street, year=2025)
    for direction in EvaluationDirection.values:
        services.round_set_items(
            actor=admin,
            evaluation=evaluation,
            direction=direction,
            items=[("履职", weights[0]), ("作风", weights[1])],
        )
    return evaluation


def test_weights_must_add_up_to_100(world):
    admin = world.people.street_admin
    evaluation = services.round_create(actor=admin, node=world.places.street, year=2025)
    with pytest.raises(ValidationError, match="100"):
        services.round_set_items(
            actor=admin,
            evaluation=evaluation,
            direction="community_rates_unit",
            items=[("履职", "60"), ("作风", "39.99")],
        )
    with pytest.raises(ValidationError, match="100"):  # the other direction has no sheet yet
        services.round_set_items(
            actor=admin,
            evaluation=evaluation,
            direction="community_rates_unit",
            items=[("履职", "60"), ("作风", "40")],
        ) and services.round_transition(actor=admin, evaluation=evaluation, action="open_scoring")


def test_evaluation_arithmetic_ranking_and_ties(world):
    places, people = world.places, world.people
    unit_c = ResidentUnit.objects.create(
        name="文献小学", unit_type="institution", node=places.community_a
    )
    evaluation = _round(world)
    services.round_transition(
        actor=people.street_admin, evaluation=evaluation, action="open_scoring"
    )
    item_a, item_b = evaluation.items.filter(direction="community_rates_unit").order_by("order")

    def score(unit, a, b, actor):
        return services.sheet_submit(
            actor=actor,
            evaluation=evaluation,
            direction="community_rates_unit",
            unit=unit,
            scores={item_a.pk: a, item_b.pk: b},
        )

    # 90×0.6 + 80×0.4 = 86.00; 86.5×0.6 + 85.25×0.4 = 51.9 + 34.1 = 86.00 (a tie); 70, 100 → 82
    assert score(places.unit_a, "90", "80", people.community_admin).total == Decimal("86.00")
    assert score(unit_c, "86.5", "85.25", people.community_admin).total == Decimal("86.00")
    assert score(places.unit_b, "70", "100", people.community_admin_b).total == Decimal("82.00")
    with pytest.raises(Exception, match="社区管理员"):  # a community scores only its own units
        score(places.unit_b, "100", "100", people.community_admin)
    items_u = list(evaluation.items.filter(direction="unit_rates_community").order_by("order"))
    services.sheet_submit(
        actor=people.unit_liaison,
        evaluation=evaluation,
        direction="unit_rates_community",
        unit=places.unit_a,
        scores={items_u[0].pk: "95", items_u[1].pk: "90"},
    )
    results = selectors.round_results(evaluation)
    assert [(r.subject.name, r.score, r.rank) for r in results.units] == [
        ("文献供电所", Decimal("86.00"), 1),
        ("文献小学", Decimal("86.00"), 1),
        ("东梅科技有限公司", Decimal("82.00"), 3),
    ]
    assert [(r.subject.name, r.score) for r in results.communities] == [
        ("文献社区", Decimal("93.00"))
    ]
    with pytest.raises(ConflictError):  # awards only once results are final
        services.award_record(
            actor=people.street_admin, evaluation=evaluation, kind="advanced_unit", unit=unit_c
        )
    services.round_transition(actor=people.street_admin, evaluation=evaluation, action="close")
    award = services.award_record(
        actor=people.street_admin, evaluation=evaluation, kind="advanced_unit", unit=places.unit_a
    )
    assert award.get_kind_display() == "先进单位"
    with pytest.raises(ConflictError):  # scoring is over
        score(places.unit_a, "1", "1", people.community_admin)


def test_annual_report_figures(world):
    from tongxin.people.models import PartyMember, Person, Rating, Registration, YearRating

    places, people = world.places, world.people
    agreement = signed(world, year=2025)
    unit_side = commitment_of(agreement, "unit")
    services.commitment_transition(
        actor=people.unit_liaison, commitment=unit_side, action="fulfil", evidence_text="完成"
    )
    member = CommitteeMember.objects.create(
        body=places.community_a,
        person_name="郑委员",
        unit=places.unit_a,
        duty="共建",
        term_start=dt.date(2024, 1, 1),
    )
    for day, present in ((dt.date(2025, 3, 1), True), (dt.date(2025, 6, 1), False)):
        services.meeting_create(
            actor=people.community_admin,
            body=places.community_a,
            held_on=day,
            title="会",
            agenda="议程",
            attendance=[{"member": member, "present": present}],
        )
    for i, rating in enumerate([Rating.EXCELLENT, Rating.QUALIFIED]):
        person = Person.objects.create(node=places.grid_a, name=f"党员{i}")
        pm = PartyMember.objects.create(
            person=person, category="in_service", joined_on=dt.date(2000, 1, 1), unit=places.unit_a
        )
        registration = Registration.objects.create(
            member=pm,
            community=places.community_a,
            unit=places.unit_a,
            registered_on=dt.date(2025, 3, 1),
        )
        YearRating.objects.create(registration=registration, year=2025, rating=rating)
    report = selectors.annual_report(places.unit_a, 2025)
    assert (report.meetings_attended, report.meetings_invited) == (1, 2)
    assert (report.commitments_total, report.commitments_kept) == (2, 1)
    assert (report.unit_commitments_total, report.unit_commitments_kept) == (1, 1)
    assert report.kept_rate == Decimal("100.00")
    assert report.members_reported == 2
    assert report.ratings == {"excellent": 1, "qualified": 1}
    assert report.evaluation_score is None
    labels = [label for label, _ in report.lines()]
    assert "双向评议得分" in labels


def test_matches_prefer_the_same_community_then_the_street(world):
    places, people = world.places, world.people
    far = ResidentUnit.objects.create(name="拱辰银行", unit_type="soe", node=places.community_c)
    for unit, actor in (
        (far, people.district_admin),
        (places.unit_b, world.liaison_b),
        (places.unit_a, people.unit_liaison),
    ):
        services.resource_create(actor=actor, unit=unit, kind="venue", title=f"{unit.name}会议室")
    services.resource_create(
        actor=people.unit_liaison, unit=places.unit_a, kind="funds", title="资金"
    )
    services.resource_create(
        actor=people.unit_liaison,
        unit=places.unit_a,
        kind="venue",
        title="已过期",
        available_until=dt.date(2020, 1, 1),
    )
    need = services.need_create(
        actor=people.community_admin, community=places.community_a, kind="venue", title="活动场地"
    )
    matches = selectors.need_matches(need)
    assert [(m.title, m.place) for m in matches] == [
        ("文献供电所会议室", 0),
        ("东梅科技有限公司会议室", 1),
        ("拱辰银行会议室", 2),
    ]
    project = services.project_create(
        actor=people.community_admin,
        need=need,
        resource=matches[0],
        title="老年活动",
        owner_name="王五",
        starts_on=dt.date(2026, 12, 1),
    )
    need.refresh_from_db()
    assert (need.status, project.unit, project.community) == (
        "matched",
        places.unit_a,
        places.community_a,
    )
    with pytest.raises(ConflictError):
        services.project_create(
            actor=people.community_admin,
            need=need,
            resource=matches[1],
            title="重复",
            owner_name="王五",
            starts_on=dt.date(2026, 12, 1),
        )
    assert list(selectors.public_projects(places.community_a)) == [project]

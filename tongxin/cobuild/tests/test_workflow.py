"""Every move of every table, allowed and refused, and who may make it."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tongxin.cobuild import services
from tongxin.cobuild.models import (
    AgreementStatus,
    CommitmentAction,
    CommitmentSide,
    CommitmentState,
    CommitmentTransition,
    ProjectAction,
    ProjectState,
)
from tongxin.cobuild.tests.conftest import commitment_of, draft, signed
from tongxin.cobuild.workflow import (
    COMMITMENT_MOVES,
    COMMITMENT_TABLE,
    PROJECT_TABLE,
    Who,
)
from tongxin.core.errors import ConflictError

pytestmark = pytest.mark.django_db

HUMAN_ACTIONS = [a for a in CommitmentAction if a not in ("create", "mark_overdue")]


def _force(commitment, state):
    # Put a commitment straight into a state to test one move from it (history rows are
    # append-only, so the row itself is updated, never the history).
    type(commitment).objects.filter(pk=commitment.pk).update(state=state)
    commitment.refresh_from_db()
    return commitment


def _actor_for(world, move, side):
    owner_is_org = side == CommitmentSide.ORGANIZATION
    org, unit = world.people.community_admin, world.people.unit_liaison
    if Who.OWNER in move.who:
        return org if owner_is_org else unit
    if Who.OTHER in move.who:
        return unit if owner_is_org else org
    return org


def _input(action):
    return {
        "note": "原因说明" if action in ("return", "cancel") else "",
        "evidence_text": "已完成，附照片" if action == "fulfil" else "",
    }


@pytest.mark.parametrize(
    ("move", "side"),
    [
        (m, side)
        for m in COMMITMENT_MOVES
        if Who.SYSTEM not in m.who
        for side in CommitmentSide.values
    ],
    ids=lambda v: getattr(v, "action", v) if not isinstance(v, str) else v,
)
def test_every_allowed_commitment_move(world, move, side):
    agreement = signed(world)
    commitment = _force(commitment_of(agreement, side), move.source)
    actor = _actor_for(world, move, side)
    moved = services.commitment_transition(
        actor=actor, commitment=commitment, action=move.action, **_input(move.action)
    )
    assert moved.state == move.target
    row = CommitmentTransition.objects.filter(commitment=commitment).latest("id")
    assert (row.action, row.from_state, row.to_state) == (move.action, move.source, move.target)


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (s, a)
        for s, a in itertools.product(CommitmentState.values, HUMAN_ACTIONS)
        if (s, a) not in COMMITMENT_TABLE
    ],
)
def test_every_move_outside_the_table_is_refused(world, state, action):
    agreement = signed(world)
    commitment = _force(commitment_of(agreement, "unit"), state)
    with pytest.raises(ConflictError):
        services.commitment_transition(
            actor=world.people.community_admin,
            commitment=commitment,
            action=action,
            **_input(action),
        )
    commitment.refresh_from_db()
    assert commitment.state == state


def test_only_the_owner_reports_and_only_the_other_side_confirms(world):
    agreement = signed(world)
    unit_side = commitment_of(agreement, "unit")
    with pytest.raises(PermissionDenied, match="联络员"):
        services.commitment_transition(
            actor=world.people.community_admin,
            commitment=unit_side,
            action="fulfil",
            evidence_text="x",
        )
    services.commitment_transition(
        actor=world.people.unit_liaison, commitment=unit_side, action="fulfil", evidence_text="x"
    )
    with pytest.raises(PermissionDenied):
        services.commitment_transition(
            actor=world.people.unit_liaison, commitment=unit_side, action="confirm"
        )
    with pytest.raises(PermissionDenied):  # another unit's liaison, another community's admin
        services.commitment_transition(
            actor=world.people.community_admin_b, commitment=unit_side, action="confirm"
        )
    done = services.commitment_transition(
        actor=world.people.street_admin, commitment=unit_side, action="confirm"
    )
    assert done.state == CommitmentState.CONFIRMED


def test_moves_need_a_signed_agreement_evidence_reasons_and_the_current_version(world):
    agreement = draft(world)
    commitment = commitment_of(agreement, "organization")
    admin = world.people.community_admin
    with pytest.raises(ConflictError, match="协议状态"):
        services.commitment_transition(actor=admin, commitment=commitment, action="start")
    services.agreement_transition(actor=admin, agreement=agreement, action="sign")
    with pytest.raises(ValidationError):
        services.commitment_transition(actor=admin, commitment=commitment, action="fulfil")
    with pytest.raises(ValidationError):
        services.commitment_transition(actor=admin, commitment=commitment, action="cancel")
    services.commitment_transition(
        actor=admin, commitment=commitment, action="start", version=commitment.version
    )
    with pytest.raises(ConflictError, match="刷新"):
        services.commitment_transition(
            actor=admin,
            commitment=commitment,
            action="fulfil",
            evidence_text="x",
            version=commitment.version,
        )


def test_agreement_moves_follow_their_table(world):
    agreement = draft(world)
    admin = world.people.community_admin
    with pytest.raises(ConflictError):
        services.agreement_transition(actor=admin, agreement=agreement, action="close")
    with pytest.raises(PermissionDenied):
        services.agreement_transition(
            actor=world.people.unit_liaison, agreement=agreement, action="sign"
        )
    agreement = services.agreement_transition(actor=admin, agreement=agreement, action="sign")
    assert agreement.status == AgreementStatus.SIGNED
    with pytest.raises(ConflictError):
        services.agreement_transition(actor=admin, agreement=agreement, action="sign")
    agreement = services.agreement_transition(actor=admin, agreement=agreement, action="close")
    assert agreement.status == AgreementStatus.CLOSED
    assert list(agreement.transitions.values_list("action", flat=True)) == [
        "create",
        "sign",
        "close",
    ]


def test_signing_needs_commitments_on_both_sides(world):
    admin = world.people.community_admin
    agreement = services.agreement_create(
        actor=admin, node=world.places.community_a, unit=world.places.unit_a, year=2026
    )
    with pytest.raises(ValidationError, match="双方"):
        services.agreement_transition(actor=admin, agreement=agreement, action="sign")


def test_commitments_are_fixed_once_signed(world):
    agreement = signed(world)
    with pytest.raises(ConflictError):
        services.commitment_add(
            actor=world.people.community_admin,
            agreement=agreement,
            side="unit",
            area="other",
            content="新增",
            due_on=agreement.commitments.first().due_on,
            owner_name="李四",
        )


def test_history_rows_are_append_only(world):
    from django.db import DatabaseError, transaction

    agreement = signed(world)
    row = CommitmentTransition.objects.filter(commitment__agreement=agreement).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        CommitmentTransition.objects.filter(pk=row.pk).update(note="changed")


def _project(world):
    return services.project_create(
        actor=world.people.community_admin,
        community=world.places.community_a,
        unit=world.places.unit_a,
        title="义诊进社区",
        owner_name="王五",
        starts_on=__import__("datetime").date(2026, 5, 1),
    )


@pytest.mark.parametrize(
    ("state", "action"),
    list(itertools.product(ProjectState.values, ["start", "complete", "cancel"])),
)
def test_project_moves(world, state, action):
    project = _project(world)
    type(project).objects.filter(pk=project.pk).update(state=state)
    project.refresh_from_db()
    extra = {"outcome": "服务 100 人次", "note": "原因"}
    move = PROJECT_TABLE.get((state, action))
    if move is None:
        with pytest.raises(ConflictError):
            services.project_transition(
                actor=world.people.community_admin, project=project, action=action, **extra
            )
    else:
        moved = services.project_transition(
            actor=world.people.community_admin, project=project, action=action, **extra
        )
        assert moved.state == move.target


def test_the_unit_may_start_its_project_but_not_cancel_it(world):
    project = _project(world)
    with pytest.raises(PermissionDenied):
        services.project_transition(
            actor=world.people.unit_liaison,
            project=project,
            action=ProjectAction.CANCEL,
            note="不做了",
        )
    moved = services.project_transition(
        actor=world.people.unit_liaison, project=project, action=ProjectAction.START
    )
    assert moved.state == ProjectState.ONGOING

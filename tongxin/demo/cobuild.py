"""A year of co-building (共驻共建) in the demo district, seeds 000 and 003.

Last year's agreements are closed and mostly confirmed; this year's are signed (a few still
drafts) with commitments in every state of the move table; each 大工委/大党委 met once a quarter
this year and last — except 东岩社区, which skipped the second quarter, so the missed-quarter
flag has something to show; resources, needs and a few service projects made from matches;
venues with opening hours and bookings; last year's evaluation round, closed, with scores and
awards; a few consultations. Rows are written with `bulk_create` (the builder writes the one
audit record of the demo), following the same tables the services follow.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from tongxin.accounts.models import Role, User
from tongxin.cobuild.models import (
    Agreement,
    AgreementAction,
    AgreementStatus,
    AgreementTransition,
    Award,
    AwardKind,
    Commitment,
    CommitmentAction,
    CommitmentArea,
    CommitmentSide,
    CommitmentState,
    CommitmentTransition,
    Consultation,
    ConsultationOpinion,
    ConsultationSubject,
    EvaluationDirection,
    EvaluationItem,
    EvaluationRound,
    EvaluationScore,
    EvaluationSheet,
    JointMeeting,
    MeetingAttendance,
    NeedItem,
    NeedStatus,
    ProjectState,
    Resolution,
    ResolutionStatus,
    ResourceItem,
    ResourceKind,
    RoundStatus,
    Secondment,
    SecondmentDirection,
    SecondmentRole,
    ServiceProject,
    Venue,
    VenueBooking,
    VenueOpening,
)
from tongxin.cobuild.services import sheet_total
from tongxin.cobuild.workflow import COMMITMENT_TABLE
from tongxin.demo.orgs import DemoOrgs, person_name
from tongxin.orgs.models import CommitteeMember, OrgNode, ResidentUnit

COMMITMENTS = {
    CommitmentSide.ORGANIZATION: [
        (CommitmentArea.PARTY_BUILDING, "为单位在职党员提供社区报到服务岗位"),
        (CommitmentArea.SERVICE, "协调解决单位职工子女入学、停车等实际困难"),
        (CommitmentArea.GOVERNANCE, "邀请单位参与社区重大事项议事协商"),
    ],
    CommitmentSide.UNIT: [
        (CommitmentArea.PARTY_BUILDING, "每季度与社区联合开展一次主题党日活动"),
        (CommitmentArea.POVERTY, "结对帮扶辖区困难家庭 3 户"),
        (CommitmentArea.CIVILIZATION, "组织党员志愿者参加文明城市创建"),
        (CommitmentArea.GOVERNANCE, "开放单位停车场夜间供居民停车"),
    ],
}
# This year's states, in proportion: most in progress or done, some overdue, a few cancelled.
THIS_YEAR_STATES = [
    CommitmentState.PLANNED,
    CommitmentState.IN_PROGRESS,
    CommitmentState.IN_PROGRESS,
    CommitmentState.FULFILLED,
    CommitmentState.CONFIRMED,
    CommitmentState.CONFIRMED,
    CommitmentState.CONFIRMED,
    CommitmentState.OVERDUE,
    CommitmentState.CANCELLED,
]
# The path each state took through the move table, for the history rows.
PATHS: dict[str, list[str]] = {
    CommitmentState.PLANNED: [],
    CommitmentState.IN_PROGRESS: [CommitmentAction.START],
    CommitmentState.FULFILLED: [CommitmentAction.START, CommitmentAction.FULFIL],
    CommitmentState.CONFIRMED: [
        CommitmentAction.START,
        CommitmentAction.FULFIL,
        CommitmentAction.CONFIRM,
    ],
    CommitmentState.OVERDUE: [CommitmentAction.START, CommitmentAction.MARK_OVERDUE],
    CommitmentState.CANCELLED: [CommitmentAction.CANCEL],
}
RESOURCES = {
    ResourceKind.VENUE: ["党员活动室", "多功能会议厅", "职工书屋"],
    ResourceKind.FUNDS: ["共建专项资金 2 万元", "困难群众帮扶金"],
    ResourceKind.EXPERTISE: ["法律咨询志愿服务", "义诊与健康讲座", "安全用电讲座"],
    ResourceKind.EQUIPMENT: ["流动宣传车", "应急照明设备"],
    ResourceKind.POLICY: ["就业政策宣讲"],
    ResourceKind.VOLUNTEERS: ["党员志愿服务队"],
}
NEEDS = {
    ResourceKind.VENUE: "老年人活动场地",
    ResourceKind.FUNDS: "老旧小区楼道照明改造资金",
    ResourceKind.EXPERTISE: "居民法律咨询",
    ResourceKind.EQUIPMENT: "防汛应急设备",
    ResourceKind.VOLUNTEERS: "周末四点半课堂志愿者",
    ResourceKind.POLICY: "失业人员再就业政策辅导",
}
SHEET_ITEMS = {
    EvaluationDirection.UNIT_RATES_COMMUNITY: [
        ("服务驻区单位", Decimal(30)),
        ("组织共建活动", Decimal(30)),
        ("协调解决困难", Decimal(25)),
        ("作风与效率", Decimal(15)),
    ],
    EvaluationDirection.COMMUNITY_RATES_UNIT: [
        ("履行共建承诺", Decimal(40)),
        ("参加联席会议", Decimal(20)),
        ("在职党员报到服务", Decimal(25)),
        ("资源开放共享", Decimal(15)),
    ],
}
SKIPPING_BODY = "东岩社区"  # meets three quarters out of four: the missed-quarter flag shows


def _community_of(unit: ResidentUnit, by_path: dict[str, OrgNode]) -> OrgNode:
    return by_path[unit.node.path[:15]]


def build_cobuild(demo: DemoOrgs, rng: random.Random) -> dict[str, int]:
    today = timezone.localdate()
    year = today.year
    now = timezone.now()
    by_path = {c.path: c for c in demo.communities.values()}
    units = list(
        ResidentUnit.objects.filter(pk__in=[u.pk for u in demo.units]).select_related("node")
    )
    liaison = User.objects.filter(username="demo_unit").first()
    admin = User.objects.filter(username="demo_community").first()
    counts: dict[str, int] = {}

    # --- agreements and commitments, last year and this year -------------------------------
    agreements: list[Agreement] = []
    for unit in units:
        community = _community_of(unit, by_path)
        for y in (year - 1, year):
            draft = y == year and rng.random() < 0.1
            status = (
                AgreementStatus.CLOSED
                if y < year
                else (AgreementStatus.DRAFT if draft else AgreementStatus.SIGNED)
            )
            agreements.append(
                Agreement(
                    node=community,
                    unit=unit,
                    year=y,
                    title=f"{y}年度{community.name}与{unit.name}共驻共建协议",
                    status=status,
                    signed_on=None if status == AgreementStatus.DRAFT else dt.date(y, 3, 1),
                    closed_on=dt.date(y, 12, 31) if status == AgreementStatus.CLOSED else None,
                )
            )
    # 镇海街道 itself signs with the district-level agencies located there (street agreements).
    zhenhai = demo.streets["镇海街道"]
    for unit in units:
        if unit.unit_type == "agency" and unit.node.path.startswith(zhenhai.path):
            agreements.append(
                Agreement(
                    node=zhenhai,
                    unit=unit,
                    year=year,
                    title=f"{year}年度镇海街道与{unit.name}共驻共建协议",
                    status=AgreementStatus.SIGNED,
                    signed_on=dt.date(year, 2, 20),
                )
            )
    Agreement.objects.bulk_create(agreements)
    AgreementTransition.objects.bulk_create(
        AgreementTransition(
            agreement=a,
            action=action,
            from_status=src,
            to_status=dst,
            actor_name="seed_demo",
            at=now,
        )
        for a in agreements
        for action, src, dst in [
            (AgreementAction.CREATE, "", AgreementStatus.DRAFT),
            (AgreementAction.SIGN, AgreementStatus.DRAFT, AgreementStatus.SIGNED),
            (AgreementAction.CLOSE, AgreementStatus.SIGNED, AgreementStatus.CLOSED),
        ][: {"draft": 1, "signed": 2, "closed": 3}[a.status]]
    )
    commitments: list[Commitment] = []
    for agreement in agreements:
        for side, options in COMMITMENTS.items():
            for area, content in rng.sample(options, 2):
                if agreement.status == AgreementStatus.DRAFT:
                    state = CommitmentState.PLANNED
                elif agreement.year < year:
                    state = rng.choice(
                        [CommitmentState.CONFIRMED] * 6
                        + [CommitmentState.OVERDUE, CommitmentState.CANCELLED]
                    )
                else:
                    state = rng.choice(THIS_YEAR_STATES)
                month = rng.randint(3, 12)
                due = dt.date(agreement.year, month, 28)
                if agreement.year == year:
                    # keep open commitments consistent with the overdue job: past due → overdue
                    if state in (CommitmentState.PLANNED, CommitmentState.IN_PROGRESS):
                        due = max(due, today + dt.timedelta(days=rng.randint(5, 60)))
                    if state == CommitmentState.OVERDUE:
                        due = min(due, today - dt.timedelta(days=rng.randint(3, 60)))
                done = state in (CommitmentState.FULFILLED, CommitmentState.CONFIRMED)
                commitments.append(
                    Commitment(
                        agreement=agreement,
                        side=side,
                        area=area,
                        content=content,
                        due_on=due,
                        owner_name=person_name(rng),
                        state=state,
                        evidence_text=f"已完成：{content}，附活动照片与签到表。" if done else "",
                        fulfilled_at=now if done else None,
                        confirmed_at=now if state == CommitmentState.CONFIRMED else None,
                        cancel_reason="单位搬迁，场地无法提供"
                        if state == CommitmentState.CANCELLED
                        else "",
                    )
                )
    Commitment.objects.bulk_create(commitments)
    history = []
    for c in commitments:
        history.append(
            CommitmentTransition(
                commitment=c,
                action=CommitmentAction.CREATE,
                to_state=CommitmentState.PLANNED,
                actor_name="seed_demo",
                at=now,
            )
        )
        state = CommitmentState.PLANNED
        for action in PATHS[c.state]:
            target = COMMITMENT_TABLE[(state, action)].target
            history.append(
                CommitmentTransition(
                    commitment=c,
                    action=action,
                    from_state=state,
                    to_state=target,
                    actor_name="seed_demo" if action != CommitmentAction.MARK_OVERDUE else "system",
                    note=c.cancel_reason,
                    at=now,
                )
            )
            state = target
    CommitmentTransition.objects.bulk_create(history)
    counts["agreements"] = len(agreements)
    counts["commitments"] = len(commitments)

    # --- secondments --------------------------------------------------------------------------
    secondments = []
    for index, unit in enumerate(rng.sample(units, min(12, len(units)))):
        community = _community_of(unit, by_path)
        to_community = index % 3 != 2
        ended = index % 5 == 4
        secondments.append(
            Secondment(
                person_name=person_name(rng),
                direction=SecondmentDirection.UNIT_TO_COMMUNITY
                if to_community
                else SecondmentDirection.COMMUNITY_TO_UNIT,
                unit=unit,
                community=community,
                role=(
                    SecondmentRole.FIRST_SECRETARY if index % 2 else SecondmentRole.DEPUTY_SECRETARY
                )
                if to_community
                else SecondmentRole.CADRE,
                starts_on=dt.date(year - 2, 3, 1) if ended else dt.date(year - 1, 3, 1),
                ends_on=dt.date(year - 1, 2, 28) if ended else None,
            )
        )
    Secondment.objects.bulk_create(secondments)
    counts["secondments"] = len(secondments)

    # --- resources, needs, projects -----------------------------------------------------------
    resources = []
    for unit in units:
        for kind in rng.sample(list(RESOURCES), 2):
            resources.append(
                ResourceItem(
                    unit=unit,
                    kind=kind,
                    title=rng.choice(RESOURCES[kind]),
                    description=f"{unit.name}面向社区开放。",
                    quantity=rng.choice(["1 处", "每月 2 次", "10 人", "2 万元"]),
                    available_until=dt.date(year + 1, 12, 31),
                    created_by=liaison,
                )
            )
    ResourceItem.objects.bulk_create(resources)
    needs = []
    for community in demo.communities.values():
        for kind in rng.sample(list(NEEDS), 2):
            needs.append(
                NeedItem(
                    community=community,
                    kind=kind,
                    title=f"{community.name}{NEEDS[kind]}",
                    needed_by=today + dt.timedelta(days=rng.randint(20, 120)),
                    created_by=admin,
                )
            )
    NeedItem.objects.bulk_create(needs)
    projects = []
    for need in needs[:10]:
        match = next(
            (
                r
                for r in resources
                if r.kind == need.kind and r.unit.node.path.startswith(need.community.path[:10])
            ),
            None,
        )
        if match is None:
            continue
        need.status = NeedStatus.MATCHED
        state = rng.choice([ProjectState.PLANNED, ProjectState.ONGOING, ProjectState.COMPLETED])
        projects.append(
            ServiceProject(
                community=need.community,
                unit=match.unit,
                need=need,
                resource=match,
                title=f"{match.unit.name}·{need.title}",
                description=f"由{match.unit.name}提供{match.title}，满足{need.title}。",
                owner_name=person_name(rng),
                starts_on=today - dt.timedelta(days=rng.randint(10, 200)),
                ends_on=today + dt.timedelta(days=rng.randint(10, 90)),
                beneficiaries=rng.choice(["辖区老年人", "困难家庭", "双职工家庭子女", "全体居民"]),
                beneficiary_count=rng.randint(20, 300),
                outcome="服务居民百余人次，满意度 98%。" if state == ProjectState.COMPLETED else "",
                state=state,
                created_by=admin,
            )
        )
    NeedItem.objects.bulk_update([n for n in needs if n.status == NeedStatus.MATCHED], ["status"])
    ServiceProject.objects.bulk_create(projects)
    counts["resources"] = len(resources)
    counts["needs"] = len(needs)
    counts["projects"] = len(projects)

    # --- venues and bookings ------------------------------------------------------------------
    venue_units = [u for u in units if u.unit_type in ("agency", "institution", "soe")][:6]
    if liaison is not None:
        own = liaison.assignments.filter(role=Role.UNIT_LIAISON).values_list("unit_id", flat=True)
        venue_units = [u for u in units if u.pk in set(own)] + venue_units
    venues = [
        Venue(
            unit=unit,
            name=f"{unit.name}{rng.choice(['党员活动室', '多功能厅', '职工书屋'])}",
            address=unit.address,
            capacity=rng.choice([20, 30, 50, 80]),
            description="周一至周五开放，请提前预约。",
        )
        for unit in dict.fromkeys(venue_units)
    ]
    Venue.objects.bulk_create(venues)
    VenueOpening.objects.bulk_create(
        VenueOpening(venue=v, weekday=d, opens=dt.time(9), closes=dt.time(17))
        for v in venues
        for d in range(5)
    )
    booker = User.objects.filter(username="demo_resident").first() or admin
    bookings = []
    tz = timezone.get_current_timezone()
    for venue in venues:
        day = today + dt.timedelta(days=1)
        for _ in range(3):
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
            start = dt.datetime.combine(day, dt.time(rng.choice([9, 10, 14])), tzinfo=tz)
            bookings.append(
                VenueBooking(
                    venue=venue,
                    starts_at=start,
                    ends_at=start + dt.timedelta(hours=2),
                    booked_by=booker,
                    organization=rng.choice(["文献社区老年协会", "第一网格党支部", "四点半课堂"]),
                    purpose=rng.choice(["党员学习", "居民议事会", "健康讲座"]),
                    attendees=min(venue.capacity, 15),
                )
            )
            day += dt.timedelta(days=rng.randint(1, 4))
    if booker is not None:
        VenueBooking.objects.bulk_create(bookings)
    counts["venues"] = len(venues)

    # --- joint meetings per quarter -----------------------------------------------------------
    bodies = [*demo.streets.values(), *demo.communities.values()]
    members: dict[int, list[CommitteeMember]] = {}
    for member in CommitteeMember.objects.filter(body__in=bodies).select_related("unit"):
        members.setdefault(member.body_id, []).append(member)
    meetings = []
    for body in bodies:
        for y in (year - 1, year):
            for quarter in (1, 2, 3, 4):
                held = dt.date(y, quarter * 3 - 1, rng.randint(5, 25))
                if held >= today or (body.name == SKIPPING_BODY and quarter == 2):
                    continue
                meetings.append(
                    JointMeeting(
                        body=body,
                        held_on=held,
                        title=f"{body.name}{y}年第{quarter}季度共驻共建联席会议",
                        location=f"{body.name}党群服务中心",
                        agenda="一、通报上季度共建项目进展；二、梳理资源清单与需求清单；"
                        "三、研究下季度重点工作。",
                        minutes="会议听取了各成员单位共建情况汇报，议定事项如下。",
                        created_by=admin,
                    )
                )
    JointMeeting.objects.bulk_create(meetings)
    attendance, resolutions = [], []
    for meeting in meetings:
        for member in members.get(meeting.body_id, []):
            attendance.append(
                MeetingAttendance(
                    meeting=meeting,
                    member=member,
                    unit=member.unit,
                    person_name=member.person_name,
                    present=rng.random() < 0.85,
                )
            )
        for content in rng.sample(["开展联合主题党日", "整治背街小巷环境", "慰问困难党员"], 2):
            past = meeting.held_on.year < year or meeting.held_on.month < today.month - 3
            resolutions.append(
                Resolution(
                    meeting=meeting,
                    content=content,
                    owner_name=person_name(rng),
                    due_on=meeting.held_on + dt.timedelta(days=60),
                    status=ResolutionStatus.DONE if past else ResolutionStatus.IN_PROGRESS,
                )
            )
    # A unit that sits on two committees attends a joint meeting once.
    seen: set[tuple[int, int]] = set()
    unique = []
    for row in attendance:
        key = (row.meeting.pk, row.unit_id or -row.member_id)
        if key not in seen:
            seen.add(key)
            unique.append(row)
    MeetingAttendance.objects.bulk_create(unique)
    Resolution.objects.bulk_create(resolutions)
    counts["meetings"] = len(meetings)

    # --- last year's evaluation round at 镇海街道 ------------------------------------------------
    evaluation = EvaluationRound.objects.create(
        node=zhenhai,
        year=year - 1,
        title=f"{year - 1}年度镇海街道共驻共建双向评议",
        status=RoundStatus.CLOSED,
    )
    items = EvaluationItem.objects.bulk_create(
        EvaluationItem(round=evaluation, direction=d, name=n, weight=w, order=i)
        for d, rows in SHEET_ITEMS.items()
        for i, (n, w) in enumerate(rows, start=1)
    )
    by_direction: dict[str, list[EvaluationItem]] = {}
    for item in items:
        by_direction.setdefault(item.direction, []).append(item)
    sheets, scores = [], []
    for unit in units:
        if not unit.node.path.startswith(zhenhai.path):
            continue
        community = _community_of(unit, by_path)
        for direction, its in by_direction.items():
            given = {i.pk: Decimal(rng.randint(70, 100)) for i in its}
            sheet = EvaluationSheet(
                round=evaluation,
                direction=direction,
                unit=unit,
                community=community,
                comment="共建积极，成效明显。",
                submitted_at=now,
                total=sheet_total(given, its),
            )
            sheets.append(sheet)
            scores.extend(EvaluationScore(sheet=sheet, item=i, score=given[i.pk]) for i in its)
    EvaluationSheet.objects.bulk_create(sheets)
    EvaluationScore.objects.bulk_create(scores)
    best = sorted(
        (s for s in sheets if s.direction == EvaluationDirection.COMMUNITY_RATES_UNIT),
        key=lambda s: -s.total,
    )[:3]
    Award.objects.bulk_create(
        [
            Award(
                round=evaluation, kind=AwardKind.ADVANCED_UNIT, unit=s.unit, reason="共建成效突出"
            )
            for s in best
        ]
        + [
            Award(
                round=evaluation, kind=AwardKind.ADVANCED_INDIVIDUAL, person_name=person_name(rng)
            ),
            Award(
                round=evaluation, kind=AwardKind.EXCELLENT_VOLUNTEER, person_name=person_name(rng)
            ),
        ]
    )
    counts["evaluation_sheets"] = len(sheets)

    # --- consultations --------------------------------------------------------------------------
    Consultation.objects.bulk_create(
        Consultation(
            unit=unit,
            community=_community_of(unit, by_path),
            subject=rng.choice(list(ConsultationSubject)),
            about_person=person_name(rng),
            consulted_person=person_name(rng),
            opinion=rng.choice([ConsultationOpinion.AGREE] * 4 + [ConsultationOpinion.RESERVED]),
            opinion_text="该同志在社区报到服务表现积极。",
            consulted_on=today - dt.timedelta(days=rng.randint(10, 300)),
            recorded_by=admin,
        )
        for unit in rng.sample(units, min(6, len(units)))
    )
    return counts

"""Services to residents in the demo district (SPEC §6): service points inside the grids,
volunteers' service kinds, recurring activities (党员先锋日 on the last Friday of every month,
a weekly 治安巡逻 at 文献社区) over the past three and next two months with sign-ups and credited
hours, wishes in every state of the workflow and service orders (some placed by the community on
behalf of elderly residents living alone).

Rows are written directly with their history rows (as the events demo does), not through the
services, so `seed_demo` writes one audit record for the whole demo. The demo resident, member,
unit and community accounts each find work waiting for them.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone
from shapely.geometry import shape

from tongxin.accounts.models import User
from tongxin.demo.orgs import DemoOrgs
from tongxin.grids.models import Grid
from tongxin.outreach.models import (
    Activity,
    ActivityRule,
    HoursClaim,
    HoursClaimTransition,
    HoursEntry,
    HoursSource,
    OrderKind,
    OrderState,
    OrderTransition,
    Recurrence,
    ServiceOrder,
    ServicePoint,
    ServicePointKind,
    Signup,
    SignupState,
    SignupTransition,
    VolunteerOffer,
    Wish,
    WishState,
    WishTransition,
)
from tongxin.outreach.services import activities_generate, credit_for
from tongxin.people.models import Person, PersonGroup, SpecialGroup, Volunteer, VolunteerTeam

POINT_KINDS = [
    (
        ServicePointKind.PARTY_CENTER,
        "党群服务中心",
        "周一至周日 8:30–17:30",
        "政策咨询、便民代办、党员活动",
    ),
    (ServicePointKind.VOLUNTEER, "志愿服务站", "周一至周五 9:00–17:00", "理发、维修、代购"),
    (ServicePointKind.ELDERLY, "居家养老服务点", "每日 8:00–18:00", "助餐、助洁、陪护"),
]
SKILL_KINDS = {
    "理发": OrderKind.HAIRCUT,
    "电器维修": OrderKind.REPAIR,
    "法律": OrderKind.PAPERWORK,
    "医护": OrderKind.ESCORT,
}
WISHES = [
    # (state, title, category, description)
    (WishState.PENDING, "想要一台助听器", "health", "耳朵越来越背，和孙子打电话听不清。"),
    (WishState.PENDING, "孩子需要一套初中数学辅导书", "study", ""),
    (WishState.DECLINED, "希望社区帮忙装修房子", "repair", ""),
    (WishState.OPEN, "家里的旧轮椅坏了，想修一修", "repair", "轮子松动，刹车不灵。"),
    (WishState.OPEN, "想学用智能手机视频通话", "care", "子女在外地，想看看他们。"),
    (WishState.OPEN, "一个结实的书包", "study", ""),
    (WishState.CLAIMED, "冬天的一床厚棉被", "daily", ""),
    (WishState.CLAIMED, "有人陪老伴去医院复查", "care", ""),
    (WishState.FULFILLED, "一副老花镜", "health", ""),
    (WishState.CONFIRMED, "一台电风扇", "daily", "夏天太热了。"),
    (WishState.CONFIRMED, "小孙女的一套水彩笔", "study", ""),
    (WishState.CONFIRMED, "修好楼道里的灯", "repair", ""),
    (WishState.WITHDRAWN, "一袋大米", "daily", ""),
]
ORDERS = [
    # (state, kind, description, on behalf)
    (OrderState.PLACED, OrderKind.ERRAND, "帮忙买一周的米面油，送到家里", False),
    (OrderState.PLACED, OrderKind.HAIRCUT, "老人行动不便，请上门理发", True),
    (OrderState.TAKEN, OrderKind.REPAIR, "厨房水龙头漏水", False),
    (OrderState.DONE, OrderKind.PAPERWORK, "代办高龄津贴认证", True),
    (OrderState.RATED, OrderKind.ESCORT, "陪同去医院拿药", True),
    (OrderState.RATED, OrderKind.ERRAND, "代购降压药", False),
    (OrderState.CANCELLED, OrderKind.CLEANING, "家里大扫除", False),
]


def _grid_point(grid: Grid, rng: random.Random) -> tuple[float, float]:
    """A point well inside a grid: between its representative point and its centroid."""
    geom = shape(grid.boundary)
    inner = geom.representative_point()
    for _ in range(20):
        x = inner.x + rng.uniform(-0.0006, 0.0006)
        y = inner.y + rng.uniform(-0.0006, 0.0006)
        if geom.contains(type(inner)(x, y)):
            return round(x, 6), round(y, 6)
    return round(inner.x, 6), round(inner.y, 6)


def _points(demo: DemoOrgs, rng: random.Random) -> int:
    grids = {
        g.node_id: g for g in Grid.objects.filter(boundary__isnull=False).select_related("node")
    }
    teams = {t.node_id: t for t in VolunteerTeam.objects.filter(service_area="党员先锋")}
    points = []
    for name, community in demo.communities.items():
        cells = [grids[g.pk] for g in demo.grids[name] if g.pk in grids]
        for kind, label, hours, services in POINT_KINDS[: 2 + (len(cells) > 3)]:
            grid = rng.choice(cells)
            lng, lat = _grid_point(grid, rng)
            points.append(
                ServicePoint(
                    community=community,
                    grid=grid.node,
                    name=f"{name}{label}",
                    kind=kind,
                    address=f"{community.address or name}{rng.randint(1, 99)}号",
                    lng=lng,
                    lat=lat,
                    opening_hours=hours,
                    contact=f"0594-{rng.randint(2200000, 2899999)}",
                    services=services,
                    team=teams.get(community.pk) if kind == ServicePointKind.VOLUNTEER else None,
                )
            )
    ServicePoint.objects.bulk_create(points)
    return len(points)


def _offers(rng: random.Random) -> None:
    offers = []
    for volunteer in Volunteer.objects.all():
        kinds = {SKILL_KINDS[volunteer.skills]} if volunteer.skills in SKILL_KINDS else set()
        kinds.add(rng.choice((OrderKind.ERRAND, OrderKind.CLEANING, OrderKind.ESCORT)))
        offers.extend(VolunteerOffer(volunteer=volunteer, kind=k) for k in kinds)
    VolunteerOffer.objects.bulk_create(offers, ignore_conflicts=True)


def _demo_volunteer(member: User, wenxian: Any) -> Volunteer | None:
    """The demo member (党员 黄丽芬) volunteers in 文献社区's party-member team."""
    person = Person.objects.filter(user=member).first()
    if person is None:
        return None
    volunteer, _ = Volunteer.objects.get_or_create(
        person=person,
        defaults={"registered_on": dt.date(2019, 3, 5), "skills": "代购、家电维修"},
    )
    team = VolunteerTeam.objects.filter(node=wenxian, service_area="党员先锋").first()
    if team is not None:
        volunteer.teams.add(team)
    for kind in (OrderKind.ERRAND, OrderKind.REPAIR):
        VolunteerOffer.objects.get_or_create(volunteer=volunteer, kind=kind)
    return volunteer


def _history(model: type, fk: str, obj: Any, steps: list[tuple[str, str, str, Any, dt.datetime]]):
    return [
        model(
            **{fk: obj},
            at=at,
            actor=actor,
            actor_name=str(actor) if actor else "系统",
            action=action,
            from_state=source,
            to_state=target,
        )
        for action, source, target, actor, at in steps
    ]


def _wishes(wenxian: Any, users: dict[str, User], unit: Any, now: dt.datetime) -> int:
    resident, member = users["demo_resident"], users["demo_member"]
    admin, liaison = users["demo_community"], users.get("demo_unit")
    rows: list[WishTransition] = []
    for i, (state, title, category, description) in enumerate(WISHES):
        posted = now - dt.timedelta(days=60 - i * 4, hours=3)
        vetted = posted + dt.timedelta(hours=20)
        claimed = vetted + dt.timedelta(days=2)
        fulfilled = claimed + dt.timedelta(days=3)
        confirmed = fulfilled + dt.timedelta(days=1)
        by_unit = liaison is not None and i % 3 == 0
        claimer = liaison if by_unit else member
        claiming = state in (WishState.CLAIMED, WishState.FULFILLED, WishState.CONFIRMED)
        wish = Wish.objects.create(
            community=wenxian,
            title=title,
            description=description,
            category=category,
            state=state,
            poster=resident,
            poster_name=str(resident),
            decline_reason="超出微心愿范围，建议申请住房维修补助"
            if state == WishState.DECLINED
            else "",
            vetted_by=admin if state not in (WishState.PENDING, WishState.WITHDRAWN) else None,
            claimed_by=claimer if claiming else None,
            claimed_unit=unit if claiming and by_unit else None,
            claimant_name=(unit.name if by_unit and unit else str(claimer)) if claiming else "",
            claimed_at=claimed if claiming else None,
            evidence="已送到心愿人家中，并拍照留存"
            if state in (WishState.FULFILLED, WishState.CONFIRMED)
            else "",
            fulfilled_at=fulfilled if state in (WishState.FULFILLED, WishState.CONFIRMED) else None,
            confirmed_at=confirmed if state == WishState.CONFIRMED else None,
            created_at=posted,
        )
        steps = [("post", "", "pending", resident, posted)]
        if state == WishState.DECLINED:
            steps.append(("decline", "pending", "declined", admin, vetted))
        elif state == WishState.WITHDRAWN:
            steps.append(("withdraw", "pending", "withdrawn", resident, vetted))
        elif state != WishState.PENDING:
            steps.append(("approve", "pending", "open", admin, vetted))
        if claiming:
            steps.append(("claim", "open", "claimed", claimer, claimed))
        if state in (WishState.FULFILLED, WishState.CONFIRMED):
            steps.append(("fulfil", "claimed", "fulfilled", claimer, fulfilled))
        if state == WishState.CONFIRMED:
            steps.append(("confirm", "fulfilled", "confirmed", resident, confirmed))
        rows.extend(_history(WishTransition, "wish", wish, steps))
    WishTransition.objects.bulk_create(rows)
    return len(WISHES)


def _orders(
    wenxian: Any, users: dict[str, User], volunteer: Volunteer | None, now: dt.datetime
) -> int:
    resident, member, admin = users["demo_resident"], users["demo_member"], users["demo_community"]
    elderly = list(
        Person.objects.filter(
            node__path__startswith=wenxian.path,
            groups__group=SpecialGroup.ELDERLY_ALONE,
        ).order_by("pk")[:5]
    )
    org = wenxian.party_orgs.filter(category="territorial").first()
    rows: list[OrderTransition] = []
    for i, (state, kind, description, on_behalf) in enumerate(ORDERS):
        person = elderly[i % len(elderly)] if on_behalf and elderly else None
        placed = now - dt.timedelta(days=20 - i * 3, hours=2)
        taken = placed + dt.timedelta(minutes=25)
        done = taken + dt.timedelta(hours=3)
        rated = done + dt.timedelta(hours=5)
        has_taker = state in (OrderState.TAKEN, OrderState.DONE, OrderState.RATED)
        rater = admin if person is not None else resident
        order = ServiceOrder.objects.create(
            community=wenxian,
            kind=kind,
            description=description,
            address=person.address if person else "文献社区",
            state=state,
            placed_by=admin if person is not None else resident,
            placing_org=org if person is not None else None,
            recipient=None if person is not None else resident,
            recipient_person=person,
            recipient_name=person.name if person else str(resident),
            on_behalf=person is not None,
            taken_by=member if has_taker else None,
            taken_volunteer=volunteer if has_taker else None,
            taken_at=taken if has_taker else None,
            result="已完成，老人满意" if state in (OrderState.DONE, OrderState.RATED) else "",
            completed_at=done if state in (OrderState.DONE, OrderState.RATED) else None,
            score=5 - (i % 2) if state == OrderState.RATED else None,
            rating_comment="志愿者很耐心" if state == OrderState.RATED else "",
            rated_by=rater if state == OrderState.RATED else None,
            rated_at=rated if state == OrderState.RATED else None,
            created_at=placed,
        )
        placer = order.placed_by
        steps = [("place", "", "placed", placer, placed)]
        if state == OrderState.CANCELLED:
            steps.append(("cancel", "placed", "cancelled", placer, taken))
        if has_taker:
            steps.append(("take", "placed", "taken", member, taken))
        if state in (OrderState.DONE, OrderState.RATED):
            steps.append(("complete", "taken", "done", member, done))
        if state == OrderState.RATED:
            steps.append(("rate", "done", "rated", rater, rated))
        rows.extend(_history(OrderTransition, "order", order, steps))
    OrderTransition.objects.bulk_create(rows)
    return len(ORDERS)


def _activities(demo: DemoOrgs, users: dict[str, User], rng: random.Random, today: dt.date) -> int:
    admin = users["demo_community"]
    teams = {t.node_id: t for t in VolunteerTeam.objects.filter(service_area="党员先锋")}
    rules = []
    for community in demo.communities.values():
        post = community.service_posts.order_by("name").first()
        rules.append(
            ActivityRule(
                community=community,
                team=teams.get(community.pk),
                post=post,
                title="党员先锋日",
                description="在职党员、志愿者到社区开展志愿服务",
                place=f"{community.name}党群服务中心",
                recurrence=Recurrence.LAST_FRIDAY,
                start_time=dt.time(9, 0),
                end_time=dt.time(11, 30),
                capacity=30,
                starts_on=dt.date(today.year - 1, 1, 1),
                created_by=admin,
            )
        )
    wenxian = demo.communities["文献社区"]
    rules.append(
        ActivityRule(
            community=wenxian,
            team=teams.get(wenxian.pk),
            title="平安夜巡",
            description="治安巡逻志愿服务",
            place="文献社区各网格",
            recurrence=Recurrence.WEEKLY,
            weekday=2,
            start_time=dt.time(19, 0),
            end_time=dt.time(21, 0),
            capacity=8,
            starts_on=dt.date(today.year - 1, 1, 1),
            created_by=admin,
        )
    )
    ActivityRule.objects.bulk_create(rules)
    created = activities_generate(
        start=today - dt.timedelta(days=92), until=today + dt.timedelta(days=62)
    )

    # Past activities of 文献社区: volunteers signed up, came, and were credited.
    member = users["demo_member"]
    member_person = Person.objects.filter(user=member).first()
    past = Activity.objects.filter(community=wenxian, ends_at__lt=timezone.now()).order_by(
        "starts_at"
    )
    signups, history, credits = [], [], []
    for activity in past:
        if activity.rule and activity.rule.recurrence == Recurrence.WEEKLY and rng.random() < 0.5:
            continue
        checked_in = activity.starts_at + dt.timedelta(minutes=rng.randint(0, 10))
        checked_out = activity.ends_at - dt.timedelta(minutes=rng.randint(0, 20))
        signup = Signup(
            activity=activity,
            user=member,
            person=member_person,
            name=str(member),
            state=SignupState.COMPLETED,
            signed_up_at=activity.starts_at - dt.timedelta(days=3),
            checked_in_at=checked_in,
            checked_out_at=checked_out,
        )
        signups.append((signup, activity, checked_in, checked_out))
    Signup.objects.bulk_create([s for s, *_ in signups])
    for signup, activity, checked_in, checked_out in signups:
        credit = credit_for(activity, checked_in, checked_out)
        history.extend(
            _history(
                SignupTransition,
                "signup",
                signup,
                [
                    ("sign_up", "", "signed_up", member, signup.signed_up_at),
                    ("check_in", "signed_up", "checked_in", member, checked_in),
                    ("check_out", "checked_in", "completed", member, checked_out),
                ],
            )
        )
        credits.append(
            HoursEntry(
                user=member,
                person_id=signup.person_id,
                community=wenxian,
                source=HoursSource.ACTIVITY,
                signup=signup,
                served_on=activity.occurs_on,
                hours=credit.hours,
                points=credit.points,
                description=activity.title,
            )
        )
    SignupTransition.objects.bulk_create(history)
    HoursEntry.objects.bulk_create(credits)
    Activity.objects.filter(pk__in=[a.pk for _, a, *_ in signups]).update(signup_count=1)
    # an upcoming 党员先锋日 the demo member has already signed up for
    upcoming = Activity.objects.filter(community=wenxian, starts_at__gt=timezone.now()).first()
    if upcoming is not None:
        signup = Signup.objects.create(
            activity=upcoming, user=member, name=str(member), signed_up_at=timezone.now()
        )
        SignupTransition.objects.create(
            signup=signup,
            at=timezone.now(),
            actor=member,
            actor_name=str(member),
            action="sign_up",
            from_state="",
            to_state="signed_up",
        )
        Activity.objects.filter(pk=upcoming.pk).update(signup_count=1)
    total = sum((c.hours for c in credits), Decimal("0"))
    Volunteer.objects.filter(person__user=member).update(service_hours=total)
    # a self-logged claim waiting for the community
    claim = HoursClaim.objects.create(
        community=wenxian,
        user=member,
        person=Person.objects.filter(user=member).first(),
        name=str(member),
        served_on=today - dt.timedelta(days=2),
        hours=Decimal("2.0"),
        description="陪独居老人到医院复查",
        created_at=timezone.now() - dt.timedelta(days=1),
    )
    HoursClaimTransition.objects.create(
        claim=claim,
        at=claim.created_at,
        actor=member,
        actor_name=str(member),
        action="log",
        from_state="",
        to_state="pending",
    )
    return created


def build_outreach(demo: DemoOrgs, seed: int) -> dict[str, int]:
    rng = random.Random(seed * 7 + 5)  # its own stream: the rest of the demo stays as it was
    now = timezone.now()
    users = {u.username: u for u in User.objects.filter(username__startswith="demo_")}
    wenxian = demo.communities["文献社区"]
    points = _points(demo, rng)
    _offers(rng)
    volunteer = None
    if "demo_member" in users:
        volunteer = _demo_volunteer(users["demo_member"], wenxian)
    from tongxin.accounts.models import RoleAssignment

    liaison = (
        RoleAssignment.objects.filter(user__username="demo_unit").select_related("unit").first()
    )
    unit = liaison.unit if liaison else None
    if not {"demo_resident", "demo_member", "demo_community"} <= set(users):
        return {"service_points": points}
    # make sure a few elderly residents living alone in 文献社区 can be ordered for
    if not PersonGroup.objects.filter(
        person__node__path__startswith=wenxian.path, group=SpecialGroup.ELDERLY_ALONE
    ).exists():
        for person in Person.objects.filter(node__path__startswith=wenxian.path, user__isnull=True)[
            :3
        ]:
            PersonGroup.objects.create(person=person, group=SpecialGroup.ELDERLY_ALONE)
    wishes = _wishes(wenxian, users, unit, now)
    orders = _orders(wenxian, users, volunteer, now)
    activities = _activities(demo, users, rng, timezone.localdate())
    return {"service_points": points, "wishes": wishes, "orders": orders, "activities": activities}

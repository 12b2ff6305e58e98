"""A few hundred demo events over the past four months, in every state of the workflow.

Each event walks the move table (tongxin/events/workflow.py) from its report: most are settled
at the grid, fewer at the community and the street, some are whistled to departments, a few are
returned, rejected or merged as duplicates; recent ones are still on their way. The walk writes
the same history rows the services would, but with `bulk_create` so `seed_demo` stays fast (one
audit record for the whole demo, written by the builder). Category shares lean on seed 004's
counts (消防 and 工商食药 dominate), damped so every category shows up.

Departments (职能部门) are stationed at both streets; the demo department account works for
the city-management bureau at 镇海街道. The demo grid manager, resident and department account
each find work waiting for them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from shapely.geometry import Point, shape

from tongxin.accounts.models import User
from tongxin.demo.orgs import DemoOrgs, person_name
from tongxin.events.models import (
    NEXT_LEVEL,
    Action,
    AssignmentState,
    Category,
    Department,
    DepartmentAssignment,
    DepartmentStaff,
    DepartmentStation,
    Event,
    EventTransition,
    HandlingLevel,
    Priority,
    Source,
    State,
)
from tongxin.events.workdays import add_working_days
from tongxin.events.workflow import LevelChange, find_move
from tongxin.orgs.models import OrgNode

G, C, S, D = (
    HandlingLevel.GRID,
    HandlingLevel.COMMUNITY,
    HandlingLevel.STREET,
    HandlingLevel.DEPARTMENT,
)
DAYS_BACK = 120
EVENTS = 320
RATING_WORKDAYS = 5

DEPARTMENTS = [
    ("荔城区城市管理和综合执法局", "城管", "占道经营、违章搭建、市容环境", ("city", "environment")),
    ("荔城区市场监督管理局", "市场监管", "无证经营、食品药品安全", ("market",)),
    ("莆田市荔城生态环境局", "生态环境", "油烟、噪声、污水", ("environment",)),
    ("荔城区消防救援大队", "消防", "消防通道、电动车充电、消防设施", ("fire",)),
    ("莆田市公安局荔城分局", "公安", "治安隐患、可疑情况", ("security",)),
    ("荔城区住房和城乡建设局", "住建", "物业管理、电梯、房屋安全", ("property",)),
    ("荔城区司法局", "司法", "矛盾纠纷调解", ("dispute",)),
    ("荔城区民政局", "民政", "为老服务、社会救助", ("agency", "opinion")),
]
# Seed 004's yearly counts per category family, damped (square root) so small ones still show.
WEIGHTS = {
    "fire": 60638,
    "market": 48208,
    "opinion": 3204,
    "environment": 2575,
    "agency": 509,
    "dispute": 167,
    "city": 9000,
    "property": 4000,
    "security": 600,
}
DESCRIPTIONS = {
    "environment": ["楼下餐馆油烟直排，气味很大", "河道边有人倾倒建筑垃圾", "夜间施工噪声扰民"],
    "market": ["路口流动摊贩售卖散装熟食，无证经营", "药店疑似销售过期药品", "早餐店卫生条件差"],
    "fire": ["楼道堆放纸箱杂物，堵塞消防通道", "电动车在楼道内飞线充电", "小区消防栓损坏漏水"],
    "dispute": ["邻居装修漏水引发纠纷", "两户因停车位发生争执", "租客与房东押金纠纷"],
    "opinion": ["居民建议增设健身器材", "希望延长社区卫生服务站开放时间", "反映公交站台缺少遮阳棚"],
    "agency": ["独居老人需代办高龄津贴", "行动不便居民需代办医保报销", "代办居住证"],
    "city": [
        "人行道被占道经营",
        "路灯不亮，夜间出行不便",
        "井盖缺失，存在安全隐患",
        "楼顶违章搭建",
    ],
    "security": ["小区门禁损坏，外来人员随意进出", "巷口夜间有可疑人员徘徊"],
    "property": ["电梯频繁故障困人", "小区公共照明损坏无人维修", "地下车库积水"],
}


@dataclass
class Step:
    action: str
    at: dt.datetime
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Walk:
    """An event's history as the move table allows it, and where it ended."""

    steps: list[Step]
    state: str = State.REPORTED
    level: str = G
    level_entered_at: dt.datetime | None = None
    deadline: dt.datetime | None = None
    overdue: bool = False
    resolved_at: dt.datetime | None = None
    resolved_level: str = ""
    closed_at: dt.datetime | None = None
    score: int | None = None
    departments: list[Department] = field(default_factory=list)
    assignment_states: dict[int, tuple[str, dt.datetime | None, dt.datetime | None]] = field(
        default_factory=dict
    )


def build_departments(demo: DemoOrgs) -> dict[str, list[Department]]:
    """The departments, stationed at both streets; returns them by category family."""
    by_family: dict[str, list[Department]] = {}
    for name, short, duties, families in DEPARTMENTS:
        department = Department.objects.create(name=name, short_name=short, duties=duties)
        for family in families:
            by_family.setdefault(family, []).append(department)
    DepartmentStation.objects.bulk_create(
        DepartmentStation(department=d, street=street, address=f"{street.name}综治中心")
        for d in Department.objects.all()
        for street in demo.streets.values()
    )
    staff = User.objects.filter(username="demo_dept").first()
    city = by_family["city"][0]
    if staff is not None:
        DepartmentStaff.objects.create(department=city, user=staff)
    return by_family


def _points_in(boundary: dict[str, Any] | None, rng: random.Random) -> tuple[float, float] | None:
    if not boundary:
        return None
    polygon = shape(boundary)
    min_x, min_y, max_x, max_y = polygon.bounds
    for _try in range(30):
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if polygon.contains(Point(x, y)):
            return round(x, 6), round(y, 6)
    p = polygon.representative_point()
    return round(p.x, 6), round(p.y, 6)


def _deadline(category: Category, level: str, start: dt.datetime) -> dt.datetime:
    return add_working_days(start, category.days_for(level))


def walk(
    rng: random.Random,
    category: Category,
    created: dt.datetime,
    now: dt.datetime,
    departments: list[Department],
    outcome: str | None = None,
    stop_after: str | None = None,
    pace: tuple[float, float] = (0.5, 30.0),
) -> Walk:
    """Walk the move table from a report at `created` until `now`, the walk's end, or the
    first `stop_after` move ("report": stay reported)."""
    outcome = (
        outcome
        or rng.choices(
            ["grid", "community", "street", "department", "reject", "merge", "return"],
            weights=[55, 16, 7, 9, 4, 4, 5],
        )[0]
    )
    plan: list[tuple[str, dict[str, Any]]] = []
    if outcome == "return":
        plan += [(Action.RETURN, {"note": "请补充具体楼栋和门牌号"}), (Action.RESUBMIT, {})]
    if outcome == "reject":
        plan.append((Action.REJECT, {"note": "不属于网格事项，已告知报告人向物业反映"}))
    elif outcome == "merge":
        plan.append((Action.MERGE, {"note": "与附近已上报事件为同一问题"}))
    else:
        target = {"return": G, "grid": G, "community": C, "street": S, "department": D}[outcome]
        if target != G and rng.random() < 0.5:
            plan.append((Action.ACCEPT, {}))
        escalations = {G: 0, C: 1, S: 2, D: 2}[target]
        plan += [(Action.ESCALATE, {"note": "需上级协调处理"})] * escalations
        if target == D:
            chosen = rng.sample(departments, k=min(len(departments), rng.choice((1, 1, 2))))
            plan.append((Action.WHISTLE, {"departments": chosen, "note": "请相关部门报到处置"}))
            for d in chosen:
                plan.append((Action.ACKNOWLEDGE, {"department": d}))
            for d in chosen:
                plan.append((Action.HANDLE, {"department": d, "note": "已到现场处置完毕"}))
        else:
            plan.append((Action.ACCEPT, {}))
        plan.append((Action.RESOLVE, {"note": "已处理完毕"}))
        if rng.random() < 0.75:
            plan.append((Action.RATE, {"score": rng.choices([5, 4, 3, 2], [60, 28, 9, 3])[0]}))
        else:
            plan.append((Action.CLOSE, {"note": "超过评价期限未评价，系统自动结案。"}))

    result = Walk(steps=[Step(Action.REPORT, created)], level_entered_at=created)
    result.deadline = _deadline(category, G, created)
    at = created
    if stop_after == Action.REPORT:
        return result
    # An ACCEPT planned before escalating only happens if the escalation is at grid level.
    for action, extra in plan:
        if action == Action.ACCEPT and result.state == State.ACCEPTED:
            continue
        step_hours = rng.uniform(*pace)
        if action == Action.CLOSE:
            step_hours = 24 * 8
        at = at + dt.timedelta(hours=step_hours)
        if at > now:
            break
        move = find_move(result.state, action)
        if move is None or result.level not in move.levels:
            continue  # a planned step the table does not allow here: skip it, as a person would
        if (
            result.deadline
            and at > result.deadline
            and result.state
            in (
                State.REPORTED,
                State.ACCEPTED,
                State.WHISTLED,
            )
        ):
            result.overdue = True
        data: dict[str, Any] = {}
        if move.level_change == LevelChange.UP:
            result.level = NEXT_LEVEL[result.level]
            result.level_entered_at = at
            result.deadline = _deadline(category, result.level, at)
        elif move.level_change == LevelChange.DEPARTMENT:
            result.level = D
            result.level_entered_at = at
            result.deadline = _deadline(category, D, at)
            result.departments = list(extra["departments"])
            result.assignment_states = {
                d.pk: (AssignmentState.WHISTLED, None, None) for d in result.departments
            }
            data["departments"] = [{"id": d.pk, "name": d.name} for d in result.departments]
        if action == Action.ACKNOWLEDGE:
            d = extra["department"]
            result.assignment_states[d.pk] = (AssignmentState.ACKNOWLEDGED, at, None)
            data["department"] = {"id": d.pk, "name": d.name}
        elif action == Action.HANDLE:
            d = extra["department"]
            acknowledged = result.assignment_states[d.pk][1]
            result.assignment_states[d.pk] = (AssignmentState.HANDLED, acknowledged, at)
            data["department"] = {"id": d.pk, "name": d.name}
        elif action == Action.RESOLVE:
            result.resolved_at, result.resolved_level = at, result.level
            result.deadline = add_working_days(at, RATING_WORKDAYS)
        elif action == Action.RETURN:
            result.deadline = None
        elif action == Action.RESUBMIT:
            result.deadline = _deadline(category, result.level, at)
        elif action in (Action.REJECT, Action.MERGE, Action.CLOSE):
            result.closed_at, result.deadline = at, None
        elif action == Action.RATE:
            result.closed_at, result.deadline, result.score = at, None, extra["score"]
            data["score"] = extra["score"]
        result.state = move.target
        result.steps.append(Step(action, at, extra.get("note", ""), data))
        if action == stop_after:
            break
    return result


def _handler_name(level: str, grid: OrgNode, community: OrgNode, street: OrgNode) -> str:
    return {
        G: f"{grid.name} 网格员",
        C: f"{community.name} 工作人员",
        S: f"{street.name} 综治中心",
        D: f"{street.name} 综治中心",
    }[level]


# (outcome, where the walk stops, category family) of the events in the demo accounts' grid.
SHOWCASE = [
    ("grid", Action.REPORT, "fire"),  # demo_grid: accept
    ("grid", Action.ACCEPT, "city"),  # demo_grid: resolve
    ("community", Action.ESCALATE, "dispute"),  # demo_community: accept
    ("department", Action.WHISTLE, "city"),  # demo_dept: acknowledge
    ("department", Action.ACKNOWLEDGE, "city"),  # demo_dept: handle
    ("department", Action.HANDLE, "city"),  # demo_street: resolve
    ("grid", Action.RESOLVE, "property"),  # demo_resident: rate
    ("return", Action.RETURN, "environment"),  # demo_resident: resubmit
]


@dataclass
class Planned:
    community: OrgNode
    grid: OrgNode
    category: Category
    walked: Walk
    merge_into: int | None = None  # index of the planned event a duplicate merges into


def _plan(demo: DemoOrgs, rng: random.Random, families, weights, by_family, departments, everyone):
    now = timezone.now()
    grids = [(name, grid) for name, items in demo.grids.items() for grid in items]
    showcase = demo.grids["文献社区"][0]
    city = departments["city"]
    planned: list[Planned] = []
    # In the demo accounts' own grid, something waiting for each of them.
    for outcome, stop_after, family in SHOWCASE:
        category = rng.choice(by_family.get(family) or by_family[families[0]])
        created = now - dt.timedelta(hours=rng.uniform(5, 8))
        walked = walk(rng, category, created, now, city, outcome, stop_after, pace=(0.1, 0.5))
        planned.append(Planned(demo.communities["文献社区"], showcase, category, walked))
    while len(planned) < EVENTS:
        name, grid = rng.choice(grids)
        family = rng.choices(families, weights)[0]
        category = rng.choice(by_family[family])
        # Skewed towards recent days, as a live system's events are.
        created = now - dt.timedelta(days=DAYS_BACK * rng.random() ** 1.6)
        walked = walk(rng, category, created, now, departments.get(family) or everyone)
        planned.append(Planned(demo.communities[name], grid, category, walked))
    # A duplicate merges into an earlier event of its grid; with none, it is rejected instead.
    for item in planned:
        if item.walked.state != State.MERGED:
            continue
        earlier = [
            j
            for j, other in enumerate(planned)
            if other.grid == item.grid
            and other.walked.steps[0].at < item.walked.steps[0].at
            and other.walked.state != State.MERGED
        ]
        if earlier:
            item.merge_into = max(earlier, key=lambda j: planned[j].walked.steps[0].at)
        else:
            item.walked = walk(rng, item.category, item.walked.steps[0].at, now, everyone, "reject")
    return planned


def build_events(demo: DemoOrgs, seed: int) -> int:
    """Departments, stations and a few hundred events with their history; returns the count.

    Uses its own random stream so the rest of the demo stays what it was for a given seed.
    """
    from tongxin.grids.models import Grid

    rng = random.Random(f"tongxin-demo-events-{seed}")
    leaves = list(
        Category.objects.filter(parent__isnull=False, is_active=True).select_related("parent")
    )
    if not leaves:
        return 0
    by_family: dict[str, list[Category]] = {}
    for c in leaves:
        by_family.setdefault(c.parent.code, []).append(c)
    families = [f for f in WEIGHTS if f in by_family]
    weights = [WEIGHTS[f] ** 0.5 for f in families]
    departments = build_departments(demo)
    everyone = list(Department.objects.all())
    planned = _plan(demo, rng, families, weights, by_family, departments, everyone)

    boundaries = dict(Grid.objects.values_list("node_id", "boundary"))
    street_of = {c.pk: c.parent for c in demo.communities.values()}
    users = {u.username: u for u in User.objects.filter(username__startswith="demo_")}
    showcase = demo.grids["文献社区"][0]
    zhenhai = demo.streets["镇海街道"]
    city = departments["city"][0]

    events = []
    for i, item in enumerate(planned):
        walked, grid, community = item.walked, item.grid, item.community
        street = street_of[community.pk]
        handling = {G: grid, C: community, S: street, D: street}
        point = _points_in(boundaries.get(grid.pk), rng)
        source = rng.choices(list(Source.values), [50, 25, 15, 10])[0]
        reporter = None
        if grid == showcase and (i < len(SHOWCASE) or source == Source.RESIDENT):
            reporter, source = users.get("demo_resident"), Source.RESIDENT
        elif grid == showcase and source == Source.PATROL:
            reporter = users.get("demo_grid")
        events.append(
            Event(
                source=source,
                category=item.category,
                priority=rng.choices(list(Priority.values), [55, 30, 12, 3])[0],
                description=rng.choice(DESCRIPTIONS.get(item.category.parent.code, ["居民反映"])),
                address=f"{community.name}{rng.randint(1, 60)}号楼附近",
                lng=point[0] if point else None,
                lat=point[1] if point else None,
                reporter=reporter,
                reporter_name=str(reporter) if reporter else person_name(rng),
                created_by=reporter,
                node=grid,
                level=walked.level,
                handling_node=handling[walked.level],
                state=walked.state,
                deadline=walked.deadline,
                level_entered_at=walked.level_entered_at,
                overdue=walked.overdue,
                resolved_level=walked.resolved_level,
                resolved_at=walked.resolved_at,
                closed_at=walked.closed_at,
                score=walked.score,
                rating_comment="处理及时，满意" if (walked.score or 0) >= 4 else "",
                created_at=walked.steps[0].at,
                version=len(walked.steps),
            )
        )
    Event.objects.bulk_create(events, batch_size=500)
    merged = [e for e, item in zip(events, planned, strict=True) if item.merge_into is not None]
    for event, item in zip(events, planned, strict=True):
        if item.merge_into is not None:
            event.duplicate_of = events[item.merge_into]
    Event.objects.bulk_update(merged, ["duplicate_of"])

    # Who acted: the demo accounts where they hold their role, plausible names elsewhere.
    handlers = {
        (G, showcase.pk): users.get("demo_grid"),
        (C, demo.communities["文献社区"].pk): users.get("demo_community"),
        (S, zhenhai.pk): users.get("demo_street"),
        (D, zhenhai.pk): users.get("demo_street"),
    }
    dept_user = users.get("demo_dept")
    rows, assignments = [], []
    for event, item in zip(events, planned, strict=True):
        grid, community = item.grid, item.community
        street = street_of[community.pk]
        places = {G: grid, C: community, S: street, D: street}
        state, level = "", ""
        for step in item.walked.steps:
            move = find_move(state, step.action) if state else None
            to_state = move.target if move else State.REPORTED
            to_level = level or G
            if move and move.level_change == LevelChange.UP:
                to_level = NEXT_LEVEL[level]
            elif move and move.level_change == LevelChange.DEPARTMENT:
                to_level = D
            if step.action in (Action.REPORT, Action.RESUBMIT, Action.RATE):
                actor, name = event.reporter, event.reporter_name
            elif step.action in (Action.ACKNOWLEDGE, Action.HANDLE):
                ours = step.data["department"]["id"] == city.pk and street == zhenhai
                actor = dept_user if ours else None
                name = str(actor) if actor else step.data["department"]["name"]
            elif step.action == Action.CLOSE:
                actor, name = None, "系统"
            else:
                actor = handlers.get((level, places[level].pk))
                name = str(actor) if actor else _handler_name(level, grid, community, street)
            data = dict(step.data)
            if step.action == Action.MERGE:
                data["duplicate_of"] = event.duplicate_of_id
            rows.append(
                EventTransition(
                    event=event,
                    at=step.at,
                    actor=actor,
                    actor_name=name[:80],
                    action=step.action,
                    from_state=state,
                    to_state=to_state,
                    from_level=level,
                    to_level=to_level,
                    note=step.note,
                    data=data,
                )
            )
            state, level = to_state, to_level
        whistle = next((s for s in item.walked.steps if s.action == Action.WHISTLE), None)
        for department in item.walked.departments:
            kind, acknowledged, handled = item.walked.assignment_states[department.pk]
            ours = department == city and street == zhenhai
            assignments.append(
                DepartmentAssignment(
                    event=event,
                    department=department,
                    street=street,
                    state=kind,
                    deadline=_deadline(event.category, D, whistle.at),
                    whistled_at=whistle.at,
                    whistled_by=handlers.get((S, street.pk)),
                    acknowledged_at=acknowledged,
                    acknowledged_by=dept_user if ours and acknowledged else None,
                    handled_at=handled,
                    handled_by=dept_user if ours and handled else None,
                    result="已到现场处置完毕" if handled else "",
                )
            )
    EventTransition.objects.bulk_create(rows, batch_size=1000)
    DepartmentAssignment.objects.bulk_create(assignments, batch_size=500)
    return len(events)

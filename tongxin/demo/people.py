"""The demo district's people, modelled on seeds 000 and 004, deterministic from the seed.

Seed 004: 4,941 party members across 荔城区; seed 000: six categories with their management
modes, in-service members of resident units reporting to their residence community, 15 kinds of
service post, volunteer teams. Residents and households are collected per grid (基础信息采集)
at a tenth of a real grid's size so `seed_demo` stays fast; special groups are tagged at roughly
the shares a community reports. A year of dues is on the ledger, mostly paid, some collected on
behalf of elderly members by the demo grid manager (代收, seed 004).

Everything is written with `bulk_create`: ID numbers and phones are sealed as the objects are
built (SealedField), so the plain values never reach the database.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from stdnum.cn import ric

from tongxin.accounts.models import User
from tongxin.demo.orgs import DemoOrgs, person_name
from tongxin.orgs.models import OrgCategory, OrgNode, PartyOrganization, PartyStatus, ResidentUnit
from tongxin.people.models import (
    Building,
    Category,
    DuesClass,
    DuesLedger,
    DuesPayment,
    FloatDirection,
    FloatingRecord,
    Gender,
    Household,
    HouseholdType,
    MembershipType,
    MemberStatus,
    MemberTransfer,
    PartyMember,
    PaymentMethod,
    Person,
    PersonGroup,
    Rating,
    Registration,
    Relation,
    ResidenceType,
    Resident,
    ServicePost,
    ServiceRecord,
    SpecialGroup,
    TransferKind,
    Volunteer,
    VolunteerTeam,
    YearRating,
)
from tongxin.people.services import dues_standard

MEMBERS_TOTAL = 4941  # seed 004: 荔城区 党员4941名 (the demo member account is one of them)
CATEGORY_WEIGHTS = {
    Category.REGISTERED: 30,
    Category.IN_SERVICE: 25,
    Category.NEW_SECTOR: 8,
    Category.RETIRED: 27,
    Category.LAID_OFF: 4,
    Category.FLOATING: 6,
}
BIRTH_YEARS = {
    Category.REGISTERED: (1950, 1996),
    Category.IN_SERVICE: (1966, 1998),
    Category.NEW_SECTOR: (1982, 2001),
    Category.RETIRED: (1935, 1964),
    Category.LAID_OFF: (1960, 1976),
    Category.FLOATING: (1975, 1999),
}
# Putian's county codes (a number keeps the code of where it was first issued).
AREA_CODES = ("350302", "350303", "350321", "350322")
MOBILE_PREFIXES = ("133", "135", "136", "137", "138", "139", "150", "151", "158", "159", "188")
# Seed 000: 政策宣教、治安巡逻 … 15 kinds of service post.
SERVICE_POSTS = (
    "政策宣教",
    "治安巡逻",
    "环境整治",
    "文明劝导",
    "关爱老人",
    "助学帮困",
    "法律咨询",
    "医疗义诊",
    "文体活动",
    "垃圾分类督导",
    "交通引导",
    "心理疏导",
    "便民维修",
    "消防宣传",
    "邻里调解",
)
FLOAT_PLACES = ("福州市鼓楼区", "厦门市思明区", "泉州市丰泽区", "深圳市南山区", "上海市浦东新区")
RESIDENT_GROUP_SHARES = {
    SpecialGroup.ELDERLY_ALONE: 0.03,
    SpecialGroup.DISABLED: 0.02,
    SpecialGroup.LOW_INCOME: 0.02,
    SpecialGroup.HARDSHIP: 0.015,
    SpecialGroup.VETERAN_FAMILY: 0.01,
    SpecialGroup.LAID_OFF: 0.01,
    SpecialGroup.MIGRANT_WORKER: 0.04,
    SpecialGroup.STUDENT_HARDSHIP: 0.005,
}
ROADS = ("文献路", "梅园路", "八二一街", "胜利路", "拱辰路", "学园路", "东园路", "荔城大道")
BUILDINGS_PER_GRID = 3
HOUSEHOLDS_PER_BUILDING = 10
DUES_MONTHS = 12
BATCH = 2000


@dataclass
class _Unique:
    """Hands out ID numbers and phones never used twice in the demo."""

    rng: random.Random
    numbers: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)

    def id_number(self, born: date, gender: str) -> str:
        while True:
            seq = self.rng.randint(1, 499) * 2 + (1 if gender == Gender.MALE else 0)
            if seq > 999:
                continue
            base = f"{self.rng.choice(AREA_CODES)}{born:%Y%m%d}{seq:03d}"
            number = base + ric.calc_check_digit(base + "0")
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def phone(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number


def _birth(rng: random.Random, years: tuple[int, int]) -> date:
    return date(rng.randint(*years), rng.randint(1, 12), rng.randint(1, 28))


def _person(rng: random.Random, unique: _Unique, node: OrgNode, years: tuple[int, int]) -> Person:
    gender = rng.choice((Gender.MALE, Gender.FEMALE))
    born = _birth(rng, years)
    person = Person(
        node=node,
        name=person_name(rng),
        gender=gender,
        ethnicity="汉族" if rng.random() < 0.97 else rng.choice(("回族", "畲族", "满族")),
        birth_date=born,
        address=f"莆田市荔城区{ROADS[node.pk % len(ROADS)]}{rng.randint(1, 300)}号",
    )
    person.id_number = unique.id_number(born, gender)
    person.phone = unique.phone()
    return person


def _months(today: date, count: int) -> list[date]:
    first = today.replace(day=1)
    months = []
    for _ in range(count):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return sorted(months)


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    counts = [max(1, round(total * w / sum(weights))) for w in weights]
    counts[-1] += total - sum(counts)
    return counts


def _batched(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _income(rng: random.Random, category: str) -> tuple[str, Decimal | None]:
    if category == Category.LAID_OFF:
        return DuesClass.LAID_OFF, None
    if category == Category.RETIRED:
        return DuesClass.RETIRED, Decimal(rng.randrange(2500, 8500, 50))
    if category == Category.REGISTERED and rng.random() < 0.05:
        return DuesClass.STUDENT, None
    if category == Category.REGISTERED and rng.random() < 0.04:
        return DuesClass.LOW_INCOME, None
    low, high = (3000, 16000) if category == Category.IN_SERVICE else (2000, 10000)
    return DuesClass.SALARIED, Decimal(rng.randrange(low, high, 50))


def _columns(model: type, names: list[str]) -> str:
    return ", ".join(model._meta.get_field(n).column for n in names)


def _insert_ledger(rows: list[tuple]) -> None:
    names = [
        "member",
        "month",
        "branch",
        "dues_class",
        "income",
        "rate",
        "standard",
        "amount",
        "override_reason",
        "paid",
        "paid_on",
        "version",
    ]
    # Table and column names come from the model, the values are parameters.
    sql = (
        f"INSERT INTO {DuesLedger._meta.db_table} ({_columns(DuesLedger, names)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    with connection.cursor() as cursor:
        for batch in _batched(rows, 5000):
            cursor.executemany(sql, batch)


def _insert_payments(today: date) -> None:
    """One payment for every paid month, its method varying with the row."""
    payment, ledger = DuesPayment._meta.db_table, DuesLedger._meta.db_table
    columns = _columns(DuesPayment, ["ledger", "amount", "paid_on", "method", "note", "created_at"])
    sql = (
        f"INSERT INTO {payment} ({columns}) "  # noqa: S608
        f"SELECT id, paid, paid_on, CASE WHEN id %% 3 = 0 THEN %s WHEN id %% 3 = 1 THEN %s "
        f"ELSE %s END, '', %s FROM {ledger} WHERE paid > 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [PaymentMethod.MOBILE, PaymentMethod.CASH, PaymentMethod.TRANSFER, timezone.now()],
        )


def build_people(demo: DemoOrgs, rng: random.Random) -> dict[str, int]:
    """Members, residents, households, dues, reporting and volunteers for the demo district."""
    today = timezone.localdate()
    unique = _Unique(rng)
    grids: list[OrgNode] = [g for name in demo.communities for g in demo.grids[name]]
    branch_org = dict(
        PartyOrganization.objects.filter(
            node__in=grids, category=OrgCategory.TERRITORIAL
        ).values_list("node_id", "pk")
    )
    units = sorted(demo.units, key=lambda u: u.pk)
    demo_grid = demo.grids["文献社区"][0]
    wenxian_unit = (
        ResidentUnit.objects.filter(node__path__startswith=demo.communities["文献社区"].path)
        .order_by("pk")
        .first()
    )
    grid_manager = User.objects.filter(username="demo_grid").first()

    # --- members -------------------------------------------------------------------------------
    persons: list[Person] = []
    members: list[PartyMember] = []
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    for grid, count in zip(grids, _split(MEMBERS_TOTAL - 1, len(grids), rng), strict=True):
        for _ in range(count):
            category = rng.choices(categories, weights)[0]
            person = _person(rng, unique, grid, BIRTH_YEARS[category])
            born = person.birth_date
            joined = date(
                min(born.year + rng.randint(20, 38), 2025), rng.randint(1, 12), rng.randint(1, 28)
            )
            probationary = joined.year >= 2025 and rng.random() < 0.5
            dues_class, income = _income(rng, category)
            member = PartyMember(
                category=category,
                joined_on=joined,
                membership_type=MembershipType.PROBATIONARY
                if probationary
                else MembershipType.FULL,
                full_on=date(joined.year + 1, joined.month, joined.day) if probationary else None,
                status=MemberStatus.NORMAL,
                organization_id=branch_org.get(grid.pk),
                branch=grid,
                dues_class=dues_class,
                monthly_income=income,
            )
            if category in (Category.IN_SERVICE, Category.NEW_SECTOR):
                # In-service members come from the demo units; their membership record sits with
                # the unit's party organization (双管: unit + residence community).
                unit = wenxian_unit if rng.random() < 0.08 and wenxian_unit else rng.choice(units)
                member.unit = unit
                if category == Category.IN_SERVICE and unit.party_status == PartyStatus.OWN:
                    member.organization_id = None
                    member.organization_name = unit.party_org_name or f"{unit.name}党支部"
            roll = rng.random()
            if roll < 0.01:
                member.status = MemberStatus.DECEASED
                member.status_since = date(2024, rng.randint(1, 12), rng.randint(1, 28))
            elif roll < 0.015:
                member.status = MemberStatus.TRANSFERRED_OUT
                member.status_since = date(2025, rng.randint(1, 6), rng.randint(1, 28))
                member.organization_id = None
                member.organization_name = f"中共{rng.choice(FLOAT_PLACES)}某社区委员会"
            persons.append(person)
            members.append(member)

    # The demo member account (党员 黄丽芬) and resident account (居民 吴秀英) are people too.
    member_user = User.objects.filter(username="demo_member").first()
    resident_user = User.objects.filter(username="demo_resident").first()
    own = _person(rng, unique, demo_grid, (1968, 1968))
    own.name, own.gender, own.user = "黄丽芬", Gender.FEMALE, member_user
    own.id_number = unique.id_number(date(1968, 4, 16), Gender.FEMALE)
    persons.append(own)
    members.append(
        PartyMember(
            category=Category.REGISTERED,
            joined_on=date(1996, 7, 1),
            organization_id=branch_org.get(demo_grid.pk),
            branch=demo_grid,
            dues_class=DuesClass.SALARIED,
            monthly_income=Decimal("4800.00"),
        )
    )
    for batch in _batched(persons):
        Person.objects.bulk_create(batch)
    for person, member in zip(persons, members, strict=True):
        member.person = person
    for batch in _batched(members):
        PartyMember.objects.bulk_create(batch)

    # --- floating records and transfers ------------------------------------------------------
    floating = []
    transfers = []
    for member in members:
        if member.category == Category.FLOATING:
            direction = FloatDirection.OUT if rng.random() < 0.6 else FloatDirection.IN
            record = FloatingRecord(
                member=member,
                direction=direction,
                place=rng.choice(FLOAT_PLACES),
                org_name="流入地社区党委" if direction == FloatDirection.OUT else "原籍村党支部",
                reason=rng.choice(("务工", "经商", "求学", "随迁")),
                since=date(rng.randint(2018, 2025), rng.randint(1, 12), 1),
                contact_name=person_name(rng),
            )
            record.contact_phone = unique.phone()
            floating.append(record)
        if member.status == MemberStatus.TRANSFERRED_OUT:
            transfers.append(
                MemberTransfer(
                    member=member,
                    kind=TransferKind.OUT,
                    from_organization_id=branch_org.get(member.branch_id),
                    from_name=member.branch.name + "党支部",
                    to_name=member.organization_name,
                    transferred_on=member.status_since,
                    letter_no=f"莆荔组转〔2025〕{rng.randint(1, 300)}号",
                )
            )
        elif member.status == MemberStatus.NORMAL and rng.random() < 0.02:
            transfers.append(
                MemberTransfer(
                    member=member,
                    kind=TransferKind.IN,
                    from_name=f"中共{rng.choice(FLOAT_PLACES)}某党支部",
                    to_organization_id=member.organization_id,
                    to_name=member.organization_name or f"{member.branch.name}党支部",
                    transferred_on=date(rng.randint(2015, 2025), rng.randint(1, 12), 1),
                )
            )
    FloatingRecord.objects.bulk_create(floating, batch_size=BATCH)
    MemberTransfer.objects.bulk_create(transfers, batch_size=BATCH)

    # --- buildings, households, residents ---------------------------------------------------
    buildings = [
        Building(
            node=grid,
            name=f"{grid.name.removesuffix('网格')}{n}号楼",
            floors=rng.choice((6, 7, 11, 18, 26)),
            entrances=rng.randint(1, 3),
            address=f"莆田市荔城区{grid.name.removesuffix('网格')}小区{n}号楼",
        )
        for grid in grids
        for n in range(1, BUILDINGS_PER_GRID + 1)
    ]
    Building.objects.bulk_create(buildings, batch_size=BATCH)
    households = [
        Household(
            node=building.node,
            building=building,
            door=f"{floor}0{door}",
            address=f"{building.address}{floor}0{door}室",
            household_type=rng.choices(list(HouseholdType.values), weights=(55, 30, 12, 3))[0],
        )
        for building in buildings
        for floor, door in [(1 + i // 2, 1 + i % 2) for i in range(HOUSEHOLDS_PER_BUILDING)]
    ]
    Household.objects.bulk_create(households, batch_size=BATCH)

    resident_persons: list[Person] = []
    residents: list[Resident] = []
    members_by_grid: dict[int, list[PartyMember]] = {}
    for member in members:
        if member.status == MemberStatus.NORMAL and member.category != Category.FLOATING:
            members_by_grid.setdefault(member.person.node_id, []).append(member)
    resident_user_placed = False
    for household in households:
        if household.household_type == HouseholdType.VACANT:
            continue
        size = rng.choices((1, 2, 3, 4, 5), weights=(15, 30, 28, 20, 7))[0]
        local_members = members_by_grid.get(household.node_id) or []
        for index in range(size):
            relation = (
                Relation.HEAD
                if index == 0
                else rng.choice((Relation.SPOUSE, Relation.CHILD, Relation.CHILD, Relation.PARENT))
            )
            residence = (
                ResidenceType.FLOATING
                if household.household_type == HouseholdType.RENTING
                else rng.choice((ResidenceType.REGISTERED, ResidenceType.PERMANENT))
            )
            if index == 0 and local_members and rng.random() < 0.35:
                # A member registered as the head of this household (one person, two roles).
                person = local_members.pop().person
            else:
                years = (1935, 1975) if relation == Relation.PARENT else (1950, 2015)
                person = _person(rng, unique, household.node, years)
                if not resident_user_placed and household.node_id == demo_grid.pk and index == 0:
                    person.name, person.gender, person.user = "吴秀英", Gender.FEMALE, resident_user
                    person.birth_date = date(1943, 11, 5)
                    person.id_number = unique.id_number(person.birth_date, Gender.FEMALE)
                    resident_user_placed = True
                resident_persons.append(person)
            residents.append(
                Resident(
                    person=person,
                    household=household,
                    relation=relation,
                    residence_type=residence,
                    moved_in_on=date(rng.randint(1990, 2025), rng.randint(1, 12), 1),
                )
            )
    for batch in _batched(resident_persons):
        Person.objects.bulk_create(batch)
    for batch in _batched(residents):
        Resident.objects.bulk_create(batch)

    tags: list[PersonGroup] = []
    for resident in residents:
        person = resident.person
        for group, share in RESIDENT_GROUP_SHARES.items():
            if rng.random() < share:
                tags.append(PersonGroup(person=person, group=group, since=date(2024, 1, 1)))
        if person.user_id and person.user_id == getattr(resident_user, "pk", None):
            tags.append(PersonGroup(person=person, group=SpecialGroup.ELDERLY_ALONE))
    seniors_born_before = date(today.year - 70, today.month, 1)
    for member in members:
        born = member.person.birth_date
        if member.status == MemberStatus.NORMAL and born and born < seniors_born_before:
            tags.append(PersonGroup(person=member.person, group=SpecialGroup.SENIOR_MEMBER))
    unique_tags = {(t.person.pk, t.group): t for t in tags}
    PersonGroup.objects.bulk_create(unique_tags.values(), batch_size=BATCH)

    # --- in-service reporting ------------------------------------------------------------------
    posts = []
    for community in demo.communities.values():
        for name in rng.sample(SERVICE_POSTS, rng.randint(6, 9)):
            posts.append(ServicePost(community=community, name=name, description=f"{name}志愿服务"))
    ServicePost.objects.bulk_create(posts, batch_size=BATCH)
    posts_by_community: dict[int, list[ServicePost]] = {}
    for post in posts:
        posts_by_community.setdefault(post.community_id, []).append(post)
    community_of_grid = {g.pk: g.parent_id for g in grids}
    registrations: list[Registration] = []
    for member in members:
        if (
            member.category == Category.IN_SERVICE
            and member.status == MemberStatus.NORMAL
            and rng.random() < 0.72
        ):
            registrations.append(
                Registration(
                    member=member,
                    community_id=community_of_grid[member.person.node_id],
                    unit=member.unit,
                    registered_on=date(rng.randint(2018, today.year), rng.randint(1, 6), 1),
                )
            )
    Registration.objects.bulk_create(registrations, batch_size=BATCH)
    through = Registration.posts.through
    links = []
    records: list[ServiceRecord] = []
    ratings: list[YearRating] = []
    for registration in registrations:
        chosen = rng.sample(posts_by_community[registration.community_id], rng.randint(1, 2))
        links += [through(registration_id=registration.pk, servicepost_id=p.pk) for p in chosen]
        for _ in range(rng.randint(0, 5)):
            served = today - timedelta(days=rng.randint(1, 300))
            if served < registration.registered_on:
                continue
            records.append(
                ServiceRecord(
                    registration=registration,
                    post=rng.choice(chosen),
                    served_on=served,
                    hours=Decimal(rng.choice(("1.5", "2.0", "3.0", "4.0"))),
                    description=f"参加{rng.choice(chosen).name}服务",
                )
            )
        if registration.registered_on.year < today.year:
            ratings.append(
                YearRating(
                    registration=registration,
                    year=today.year - 1,
                    rating=rng.choices(list(Rating.values), weights=(25, 65, 8, 2))[0],
                    comment="积极参加社区服务",
                )
            )
    through.objects.bulk_create(links, batch_size=BATCH)
    ServiceRecord.objects.bulk_create(records, batch_size=BATCH)
    YearRating.objects.bulk_create(ratings, batch_size=BATCH)

    # --- a year of dues ----------------------------------------------------------------------
    # ~58,000 ledger rows: written with one executemany and the payments with one
    # INSERT … SELECT, because the ORM's per-object insert preparation would dominate the seed.
    months = _months(today, DUES_MONTHS)
    current = months[-1]
    rows: list[tuple] = []
    for member in members:
        if member.status != MemberStatus.NORMAL:
            continue
        standard = dues_standard(dues_class=member.dues_class, income=member.monthly_income)
        late_payer = rng.random() < 0.06
        for month in months:
            if member.joined_on > month:
                continue
            paid = not (late_payer and month >= months[-3]) and (
                month < current or rng.random() < 0.55
            )
            paid_on = min(month + timedelta(days=rng.randint(3, 25)), today) if paid else None
            rows.append(
                (
                    member.pk,
                    month,
                    member.branch_id,
                    standard.dues_class,
                    standard.income,
                    standard.rate,
                    standard.amount,
                    standard.amount,
                    "",
                    standard.amount if paid else Decimal("0.00"),
                    paid_on,
                    1,
                )
            )
    _insert_ledger(rows)
    _insert_payments(today)
    if grid_manager is not None:
        # 代收: the demo grid manager collects the dues of the over-75s in their grid.
        DuesPayment.objects.filter(
            ledger__member__person__node=demo_grid,
            ledger__member__person__birth_date__lt=date(today.year - 75, 1, 1),
        ).update(collected_by=grid_manager, recorded_by=grid_manager, method=PaymentMethod.CASH)
    ledger_count = len(rows)

    # --- volunteers -----------------------------------------------------------------------------
    teams = []
    for community in demo.communities.values():
        teams.append(
            VolunteerTeam(
                node=community,
                name=f"{community.name}党员志愿服务队",
                service_area="党员先锋",
                founded_on=date(2017, 9, 1),
            )
        )
        teams.append(
            VolunteerTeam(
                node=community,
                name=f"{community.name}{rng.choice(('巾帼', '夕阳红', '青年', '平安'))}志愿服务队",
                service_area=rng.choice(("关爱老人", "治安巡逻", "环境整治", "文明劝导")),
                founded_on=date(rng.randint(2015, 2024), rng.randint(1, 12), 1),
            )
        )
    VolunteerTeam.objects.bulk_create(teams, batch_size=BATCH)
    teams_by_community: dict[int, list[VolunteerTeam]] = {}
    for team in teams:
        teams_by_community.setdefault(team.node_id, []).append(team)
    volunteers = []
    for member in members:
        if member.status == MemberStatus.NORMAL and rng.random() < 0.15:
            volunteers.append(
                Volunteer(
                    person=member.person,
                    registered_on=date(rng.randint(2017, 2025), rng.randint(1, 12), 1),
                    skills=rng.choice(("", "理发", "电器维修", "法律", "医护", "书法")),
                    service_hours=Decimal(rng.randint(0, 160)),
                )
            )
    Volunteer.objects.bulk_create(volunteers, batch_size=BATCH)
    team_through = Volunteer.teams.through
    memberships = [
        team_through(
            volunteer_id=v.pk,
            volunteerteam_id=rng.choice(teams_by_community[community_of_grid[v.person.node_id]]).pk,
        )
        for v in volunteers
    ]
    team_through.objects.bulk_create(memberships, batch_size=BATCH)
    for team in teams:
        pool = [v.person for v in volunteers if community_of_grid[v.person.node_id] == team.node_id]
        if pool:
            team.leader = rng.choice(pool)
    VolunteerTeam.objects.bulk_update(teams, ["leader"], batch_size=BATCH)

    return {
        "members": len(members),
        "categories": len({m.category for m in members}),
        "residents": len(residents),
        "households": len(households),
        "dues_months": ledger_count,
        "registrations": len(registrations),
        "volunteers": len(volunteers),
    }

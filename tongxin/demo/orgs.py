"""The demo district's organization network, modelled on seed 004 (莆田市荔城区).

Seed 004: two streets (镇海, 拱辰), fourteen urban communities, "one grid, one branch" with
300–500 households a grid, and at 镇海街道 37 grid branches with 112 grid party groups. 拱辰街道
is given the same density. Resident units, 大工委/大党委 part-time members and leader contact
points follow the proportions of seeds 000 and 003 scaled to this district.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from tongxin.orgs.models import (
    CommitteeMember,
    ContactPoint,
    ContactProject,
    InstructorAssignment,
    Level,
    OrgCategory,
    OrgKind,
    OrgNode,
    PartyOrganization,
    PartyStatus,
    ProjectStatus,
    ResidentUnit,
    UnitType,
)
from tongxin.orgs.services import node_create

STREETS: dict[str, list[str]] = {
    "镇海街道": [
        "文献社区",
        "东梅社区",
        "镇海社区",
        "英龙社区",
        "梅峰社区",
        "北磨社区",
        "东岩社区",
    ],
    "拱辰街道": [
        "拱辰社区",
        "延寿社区",
        "霞林社区",
        "步云社区",
        "下郑社区",
        "荔园社区",
        "县巷社区",
    ],
}
GRIDS_PER_STREET = 37  # seed 004: 37 grid branches at 镇海街道
GROUPS_PER_STREET = 112  # seed 004: 112 grid party groups at 镇海街道
SURNAMES = "林陈黄郑吴王李张刘蔡方许朱翁杨余何游宋肖"
GIVEN = "志明建华秀英丽娟国强文杰海燕玉兰俊峰晓东春梅德福金水美玲雅琴振宇嘉豪丽萍"
CHINESE_NUMERALS = "一二三四五六七八九十"

UNIT_NAMES: dict[str, list[str]] = {
    UnitType.AGENCY: [
        "荔城区市场监督管理局",
        "荔城区住房和城乡建设局",
        "荔城区民政局",
        "荔城区司法局",
    ],
    UnitType.INSTITUTION: [
        "莆田第一中学",
        "荔城区实验小学",
        "莆田市第一医院",
        "荔城区图书馆",
        "荔城区社区卫生服务中心",
    ],
    UnitType.SOE: [
        "国网莆田供电公司荔城供电所",
        "中国建设银行莆田分行",
        "莆田市公交集团",
        "中国移动莆田分公司",
    ],
    UnitType.NON_PUBLIC: [
        "荔城鞋业有限公司",
        "莆田华林工艺品有限公司",
        "东圳电子科技有限公司",
        "壶兰食品有限公司",
        "木兰溪物流有限公司",
        "莆田宏远建设工程有限公司",
        "荔枝林餐饮管理有限公司",
        "凤凰山文化传媒有限公司",
        "海滨商贸有限公司",
        "南少林健康管理有限公司",
        "兴化府电子商务有限公司",
        "荔园汽车服务有限公司",
        "古谯楼印务有限公司",
        "延寿溪环保科技有限公司",
        "玉湖软件有限公司",
        "绶溪家政服务有限公司",
    ],
    UnitType.SOCIAL_ORG: [
        "荔城区义工联合会",
        "荔城区老年人协会",
        "莆田市心理咨询师协会",
        "荔城区慈善总会",
    ],
    UnitType.PROPERTY: ["万达物业服务有限公司", "正荣物业管理有限公司", "荔城恒大物业服务有限公司"],
    UnitType.OWNERS_COMMITTEE: ["东梅小区业主委员会", "文献花园业主委员会", "荔园新村业主委员会"],
}
LEADER_TITLES = [
    "区委常委、组织部部长",
    "区委常委、宣传部部长",
    "副区长",
    "区人大常委会副主任",
    "区政协副主席",
    "区委办主任",
    "区纪委副书记",
    "区委组织部副部长",
]
PROJECT_NAMES = [
    "红色物业提升工程",
    "老旧小区改造攻坚",
    "网格党建示范点创建",
    "在职党员报到服务",
    "垃圾分类党员带头行动",
    "“老街坊”议事厅建设",
    "关爱空巢老人",
    "未成年人关爱夏令营",
]


@dataclass
class DemoOrgs:
    district: OrgNode
    streets: dict[str, OrgNode] = field(default_factory=dict)
    communities: dict[str, OrgNode] = field(default_factory=dict)
    grids: dict[str, list[OrgNode]] = field(default_factory=dict)
    units: list[ResidentUnit] = field(default_factory=list)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """Split `total` into `parts` positive counts that differ a little, as real places do."""
    weights = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    counts = [max(1, round(total * w / sum(weights))) for w in weights]
    counts[-1] += total - sum(counts)
    return counts


def _create(
    parent: OrgNode | None,
    name: str,
    level: str,
    org_name: str,
    kind: str,
    rng: random.Random,
    founded: date,
) -> OrgNode:
    return node_create(
        actor=None,
        parent=parent,
        name=name,
        level=level,
        party_org={
            "name": org_name,
            "kind": kind,
            "secretary": person_name(rng),
            "contact": f"0594-{rng.randint(2200000, 2999999)}",
            "founded_on": founded,
        },
    )


def build_tree(rng: random.Random) -> DemoOrgs:
    district = _create(
        None,
        "荔城区",
        Level.DISTRICT,
        "中共莆田市荔城区委员会",
        OrgKind.PARTY_COMMITTEE,
        rng,
        date(2002, 6, 1),
    )
    demo = DemoOrgs(district=district)
    for street_name, community_names in STREETS.items():
        street = _create(
            district,
            street_name,
            Level.STREET,
            f"中共{street_name}工作委员会",
            OrgKind.WORKING_COMMITTEE,
            rng,
            date(2002, 6, 1),
        )
        demo.streets[street_name] = street
        grid_counts = _split(GRIDS_PER_STREET, len(community_names), rng)
        group_counts = _split(GROUPS_PER_STREET, GRIDS_PER_STREET, rng)
        for community_name, grid_count in zip(community_names, grid_counts, strict=True):
            kind = OrgKind.PARTY_COMMITTEE if grid_count >= 5 else OrgKind.GENERAL_BRANCH
            suffix = "委员会" if kind == OrgKind.PARTY_COMMITTEE else "总支部委员会"
            community = _create(
                street,
                community_name,
                Level.COMMUNITY,
                f"中共{community_name}{suffix}",
                kind,
                rng,
                date(2003, 3, 1),
            )
            demo.communities[community_name] = community
            demo.grids[community_name] = []
            for index in range(1, grid_count + 1):
                grid_name = f"{community_name.removesuffix('社区')}第{index}网格"
                grid = _create(
                    community,
                    grid_name,
                    Level.GRID,
                    f"{grid_name}党支部",
                    OrgKind.BRANCH,
                    rng,
                    date(2017, 8, 1),
                )
                demo.grids[community_name].append(grid)
                for group_index in range(1, group_counts.pop() + 1):
                    numeral = CHINESE_NUMERALS[(group_index - 1) % 10]
                    _create(
                        grid,
                        f"{grid_name}{group_index}号楼片",
                        Level.GROUP,
                        f"{grid_name}党支部第{numeral}党小组",
                        OrgKind.GROUP,
                        rng,
                        date(2017, 9, 1),
                    )
    return demo


def _party_status(unit_type: str, rng: random.Random) -> str:
    if unit_type in (UnitType.AGENCY, UnitType.INSTITUTION, UnitType.SOE):
        return PartyStatus.OWN
    if unit_type in (UnitType.NON_PUBLIC, UnitType.SOCIAL_ORG):
        # Seed 000: of the 两新 organizations a few build their own, most are covered jointly,
        # the rest by an instructor; a handful are not covered yet.
        return rng.choices(
            [PartyStatus.OWN, PartyStatus.JOINT, PartyStatus.INSTRUCTOR, PartyStatus.NONE],
            weights=[2, 5, 3, 1],
        )[0]
    return rng.choice([PartyStatus.JOINT, PartyStatus.NONE, PartyStatus.INSTRUCTOR])


def build_units(demo: DemoOrgs, rng: random.Random) -> None:
    communities = list(demo.communities.values())
    for unit_type, names in UNIT_NAMES.items():
        for name in names:
            community = rng.choice(communities)
            grids = OrgNode.objects.filter(parent=community, level=Level.GRID)
            node = rng.choice(list(grids)) if rng.random() < 0.6 else community
            status = _party_status(unit_type, rng)
            members = rng.randint(3, 60) if status == PartyStatus.OWN else rng.randint(0, 4)
            unit = ResidentUnit.objects.create(
                name=name,
                unit_type=unit_type,
                node=node,
                address=f"莆田市荔城区{community.name[:2]}路{rng.randint(1, 300)}号",
                employees=rng.randint(8, 800),
                party_members=members,
                party_status=status,
                party_org_name=f"{name}党支部" if status == PartyStatus.OWN else "",
                contact_name=person_name(rng),
                contact_phone=f"0594-{rng.randint(2200000, 2999999)}",
            )
            if status == PartyStatus.INSTRUCTOR:
                InstructorAssignment.objects.create(
                    unit=unit,
                    instructor_name=person_name(rng),
                    instructor_post=f"{community.parent.name}党建指导员",
                    starts_on=date(2024, rng.randint(1, 12), 1),
                )
            demo.units.append(unit)
    # Wenxian community is the demo community: make sure it has units of every kind to show.
    demo.units.sort(key=lambda u: u.pk)


def build_special_branches(demo: DemoOrgs, rng: random.Random) -> None:
    zhenhai = demo.streets["镇海街道"]
    gongchen = demo.streets["拱辰街道"]
    PartyOrganization.objects.create(
        node=zhenhai,
        name="文献片区旧城改造项目临时党支部",
        kind=OrgKind.BRANCH,
        category=OrgCategory.TEMPORARY,
        project="文献片区旧城改造",
        secretary=person_name(rng),
        starts_on=date(2025, 3, 1),
        ends_on=date(2027, 6, 30),
        founded_on=date(2025, 3, 1),
    )
    PartyOrganization.objects.create(
        node=gongchen,
        name="荔城区离退休干部临时党支部",
        kind=OrgKind.BRANCH,
        category=OrgCategory.TEMPORARY,
        project="离退休干部学习活动",
        secretary=person_name(rng),
        starts_on=date(2024, 1, 1),
        founded_on=date(2024, 1, 1),
    )
    joint = PartyOrganization.objects.create(
        node=demo.communities["文献社区"],
        name="文献社区非公企业联合党支部",
        kind=OrgKind.BRANCH,
        category=OrgCategory.JOINT,
        secretary=person_name(rng),
        founded_on=date(2018, 5, 1),
    )
    joint.covered_units.set([u for u in demo.units if u.party_status == PartyStatus.JOINT][:6])
    PartyOrganization.objects.create(
        node=demo.communities["镇海社区"],
        name="荔城商务大厦楼宇党支部",
        kind=OrgKind.BRANCH,
        category=OrgCategory.BUILDING,
        secretary=person_name(rng),
        founded_on=date(2019, 7, 1),
    )
    PartyOrganization.objects.create(
        node=demo.communities["拱辰社区"],
        name="万达广场商圈党支部",
        kind=OrgKind.BRANCH,
        category=OrgCategory.BUSINESS_DISTRICT,
        secretary=person_name(rng),
        founded_on=date(2020, 10, 1),
    )


def build_committees(demo: DemoOrgs, rng: random.Random) -> None:
    """Street 大工委 8–10 part-time members, community 大党委 3–5; one community out of norm."""
    term_start = date(2024, 1, 1)
    bodies: list[tuple[OrgNode, int]] = [(s, rng.randint(8, 10)) for s in demo.streets.values()]
    for name, community in demo.communities.items():
        size = 6 if name == "东岩社区" else rng.randint(3, 5)  # 东岩 shows the size warning
        bodies.append((community, size))
    duties = ["组织共建", "资源协调", "志愿服务", "环境治理", "平安建设", "帮困助学", "文明创建"]
    for body, size in bodies:
        for unit in rng.sample(demo.units, size):
            CommitteeMember.objects.create(
                body=body,
                person_name=person_name(rng),
                unit=unit,
                unit_post=rng.choice(["党委书记", "党支部书记", "党总支书记", "负责人"]),
                duty=f"负责{rng.choice(duties)}工作",
                public_commitment=f"每季度至少参加一次联席会议，牵头开展{rng.choice(duties)}项目。",
                term_start=term_start,
                term_end=term_start + timedelta(days=5 * 365),
            )


def build_contact_points(demo: DemoOrgs, rng: random.Random) -> None:
    """Seed 000: leaders linked to communities, each leading two party-building projects."""
    for index, community in enumerate(demo.communities.values()):
        point = ContactPoint.objects.create(
            leader_name=person_name(rng),
            leader_title=LEADER_TITLES[index % len(LEADER_TITLES)],
            community=community,
            starts_on=date(2025, 1, 1),
        )
        for project in rng.sample(PROJECT_NAMES, 2):
            ContactProject.objects.create(
                contact_point=point,
                name=f"{community.name}{project}",
                goal=f"年内完成{project}，形成可复制经验。",
                status=rng.choice(list(ProjectStatus)),
                due_on=date(2026, 12, 31),
            )

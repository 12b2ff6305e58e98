"""Seed 004's default event categories, and a database guard on the event history.

The categories are data a district then edits (names, deadlines, sub-categories); they are
written here, not in the demo, because every installation needs them from the first day.
The history guard: the database refuses UPDATE of event transitions (rows are only inserted).
DELETE stays possible because test runs flush tables; the application never deletes them.
"""

from django.db import migrations

# code, name, (grid, community, street, department) working days, public in Open311, children
DEFAULTS = [
    (
        "environment",
        "环保",
        (2, 3, 5, 5),
        True,
        [("garbage", "垃圾乱堆乱放"), ("fumes-noise", "油烟噪声扰民"), ("sewage", "污水乱排")],
    ),
    (
        "market",
        "工商食药",
        (2, 3, 5, 5),
        True,
        [("unlicensed", "无证经营"), ("food", "食品安全"), ("drug", "药品安全")],
    ),
    (
        "fire",
        "消防",
        (1, 1, 2, 3),
        True,
        [
            ("blocked-exit", "消防通道堵塞"),
            ("ebike-charging", "电动车违规充电"),
            ("equipment", "消防设施损坏"),
        ],
    ),
    (
        "dispute",
        "矛盾纠纷",
        (3, 5, 5, 10),
        False,
        [("neighbour", "邻里纠纷"), ("family", "婚姻家庭纠纷"), ("labour", "劳资纠纷")],
    ),
    (
        "opinion",
        "社情民意",
        (3, 5, 5, 5),
        False,
        [("suggestion", "意见建议"), ("livelihood", "民生诉求")],
    ),
    (
        "agency",
        "便民代办",
        (2, 3, 5, 5),
        False,
        [("permits", "证照代办"), ("insurance", "社保医保"), ("elderly", "为老服务")],
    ),
    (
        "city",
        "城市管理",
        (2, 3, 5, 5),
        True,
        [("vending", "占道经营"), ("illegal-building", "违章搭建"), ("facilities", "市政设施损坏")],
    ),
    ("security", "治安", (1, 2, 3, 3), False, [("hazard", "治安隐患"), ("suspicious", "可疑情况")]),
    (
        "property",
        "物业",
        (2, 3, 5, 5),
        True,
        [("elevator", "电梯故障"), ("repair", "公共部位维修"), ("parking", "停车管理")],
    ),
]


def seed_categories(apps, schema_editor):
    Category = apps.get_model("events", "Category")
    for sort, (code, name, days, public, children) in enumerate(DEFAULTS, start=1):
        grid, community, street, department = days
        timing = {
            "days_grid": grid,
            "days_community": community,
            "days_street": street,
            "days_department": department,
            "is_public": public,
        }
        parent, _ = Category.objects.get_or_create(
            code=code, defaults={"name": name, "sort": sort * 10, **timing}
        )
        for child_sort, (child_code, child_name) in enumerate(children, start=1):
            Category.objects.get_or_create(
                code=f"{code}-{child_code}",
                defaults={"name": child_name, "parent": parent, "sort": child_sort, **timing},
            )


def unseed_categories(apps, schema_editor):
    Category = apps.get_model("events", "Category")
    codes = [code for code, *_ in DEFAULTS]
    Category.objects.filter(parent__code__in=codes, events__isnull=True).delete()
    Category.objects.filter(code__in=codes, events__isnull=True, children__isnull=True).delete()


SQLITE = [
    """CREATE TRIGGER events_eventtransition_no_update BEFORE UPDATE ON events_eventtransition
       BEGIN SELECT RAISE(ABORT, 'event transitions are append-only'); END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS events_eventtransition_no_update"]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION events_eventtransition_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'event transitions are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER events_eventtransition_no_update BEFORE UPDATE ON events_eventtransition
       FOR EACH ROW EXECUTE FUNCTION events_eventtransition_refuse()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS events_eventtransition_no_update ON events_eventtransition",
    "DROP FUNCTION IF EXISTS events_eventtransition_refuse()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [
        migrations.RunPython(seed_categories, unseed_categories),
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        ),
    ]

"""Generate a party-member import file (.xlsx) for `make bench`: realistic, valid and unique.

    .venv/bin/python bench/generate_members.py out.xlsx --rows 50000 \
        --place 镇海街道/文献社区/文献第1网格 --place 镇海街道/东梅社区/东梅第1网格

Every row would pass the member import (tongxin/people/imports.py): the template's headers, ID
numbers with a real birth date and a correct MOD 11-2 check character (none repeated), mobile
numbers (none repeated), the six categories in the demo's proportions, join dates after the 18th
birthday, a work unit for in-service and new-sector members, some probationary members, incomes.
ID numbers use the area code 350304 (荔城区), which the demo seed never hands out, so a generated
file does not collide with the demo's members.

Written with openpyxl's write-only mode (rows stream to disk), ID numbers and phones as text (as
the template formats them), dates as real date cells: what a clerk's file looks like.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

HEADERS = (
    "姓名",
    "性别",
    "民族",
    "公民身份号码",
    "手机号码",
    "住址",
    "所在网格",
    "党员类别",
    "入党日期",
    "正式/预备",
    "转正日期",
    "组织关系所在党组织",
    "工作单位",
    "月收入（税后）",
)
SHEET_TITLE = "党员"
AREA_CODE = "350304"  # 荔城区: the demo seed uses 350302/350303/350321/350322 only
CATEGORIES = (  # label, weight, birth years (as the demo seed)
    ("在册党员", 30, (1950, 1996)),
    ("在职党员", 25, (1966, 1998)),
    ("新兴领域党员", 8, (1982, 2001)),
    ("离退休党员", 27, (1935, 1964)),
    ("下岗职工党员", 4, (1960, 1976)),
    ("流动党员", 6, (1975, 1999)),
)
UNIT_CATEGORIES = ("在职党员", "新兴领域党员")
UNITS = (
    "荔城区市场监督管理局",
    "莆田市荔城区实验小学",
    "国网莆田供电公司荔城营业部",
    "荔城示例科技有限公司",
    "莆田万达广场物业服务中心",
    "荔城区人民医院",
)
SURNAMES = "林陈黄郑吴王李张刘蔡方许朱翁杨余何游宋肖"
GIVEN = "志明建华秀英丽娟国强文杰海燕玉兰俊峰晓东春梅德福金水美玲雅琴振宇嘉豪丽萍"
ROADS = ("文献路", "梅园路", "八二一街", "胜利路", "拱辰路", "学园路", "东园路", "荔城大道")
MOBILE_PREFIXES = ("133", "135", "136", "137", "138", "139", "150", "152", "158", "159", "189")
DEFAULT_PLACES = ("镇海街道/文献社区/文献第1网格",)
WEIGHTS_TOTAL = sum(w for _l, w, _y in CATEGORIES)


def check_character(first17: str) -> str:
    """GB 11643 MOD 11-2."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


class Unique:
    """ID numbers and phones, never the same twice in one file."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.numbers: set[str] = set()
        self.phones: set[str] = set()

    def id_number(self, born: date, male: bool) -> str:
        while True:
            seq = self.rng.randint(0, 499) * 2 + (1 if male else 0)
            first17 = f"{AREA_CODE}{born:%Y%m%d}{seq:03d}"
            if first17 not in self.numbers:
                self.numbers.add(first17)
                return first17 + check_character(first17)

    def phone(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number


def rows(count: int, places: Sequence[str], seed: int = 2026) -> Iterator[list[Any]]:
    """`count` data rows in HEADERS order, deterministic for a seed."""
    rng = random.Random(seed)
    unique = Unique(rng)
    labels = [label for label, _w, _y in CATEGORIES]
    weights = [w for _l, w, _y in CATEGORIES]
    years = {label: span for label, _w, span in CATEGORIES}
    for index in range(count):
        category = rng.choices(labels, weights)[0]
        male = rng.random() < 0.55
        born = date(rng.randint(*years[category]), rng.randint(1, 12), rng.randint(1, 28))
        joined = date(
            min(born.year + rng.randint(19, 38), 2025), rng.randint(1, 12), rng.randint(1, 28)
        )
        probationary = joined.year >= 2025 and rng.random() < 0.5
        income: Any = None
        if category in UNIT_CATEGORIES or category == "在册党员":
            income = round(rng.uniform(2200, 16000), 2)
        elif category == "离退休党员":
            income = round(rng.uniform(2500, 7800), 2)
        place = places[index % len(places)]
        yield [
            rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.randint(1, 2))),
            ("男" if male else "女") if rng.random() < 0.7 else None,  # often left to the ID
            "汉族" if rng.random() < 0.97 else rng.choice(("回族", "畲族", "满族")),
            unique.id_number(born, male),
            unique.phone(),
            f"莆田市荔城区{rng.choice(ROADS)}{rng.randint(1, 300)}号",
            place,
            category,
            joined,
            "预备党员" if probationary else "正式党员",
            None,  # a probationary member's full date defaults to a year after joining
            None,  # blank: the grid's own party branch holds the record
            rng.choice(UNITS) if category in UNIT_CATEGORIES else None,
            income,
        ]


def write(path: str | Path, count: int, places: Sequence[str], seed: int = 2026) -> Path:
    """Write the file (write-only mode: memory stays flat) and return its path."""
    path = Path(path)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_TITLE)
    sheet.append(list(HEADERS))
    text_columns = {HEADERS.index("公民身份号码"), HEADERS.index("手机号码")}
    date_columns = {HEADERS.index("入党日期"), HEADERS.index("转正日期")}
    for values in rows(count, places, seed):
        cells: list[Any] = []
        for column, value in enumerate(values):
            if value is not None and (column in text_columns or column in date_columns):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "@" if column in text_columns else "yyyy-mm-dd"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    book.save(path)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("path", help="where to write the .xlsx file")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--place",
        action="append",
        help="所在网格 as the import expects it (repeat for several); rows cycle through them",
    )
    args = parser.parse_args(argv)
    out = write(args.path, args.rows, args.place or DEFAULT_PLACES, args.seed)
    print(f"{out}: {args.rows} members")


if __name__ == "__main__":
    main()

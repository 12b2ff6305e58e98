"""Build the whole demo district in one transaction, deterministically from a seed."""

from __future__ import annotations

import random

from django.db import transaction

from tongxin.core.audit import audit
from tongxin.demo import orgs
from tongxin.demo.accounts import build_accounts


def build_demo(seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    with transaction.atomic():
        demo = orgs.build_tree(rng)
        orgs.build_units(demo, rng)
        orgs.build_special_branches(demo, rng)
        orgs.build_committees(demo, rng)
        orgs.build_contact_points(demo, rng)
        accounts = build_accounts(demo)
        counts = {
            "communities": len(demo.communities),
            "grids": sum(len(g) for g in demo.grids.values()),
            "units": len(demo.units),
            "accounts": len(accounts),
        }
        audit(
            actor=None, username="seed_demo", action="demo.seed", changes={"seed": seed, **counts}
        )
    return counts

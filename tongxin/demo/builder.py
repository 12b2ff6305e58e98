"""Build the whole demo district in one transaction, deterministically from a seed."""

from __future__ import annotations

import random

from django.db import transaction

from tongxin.core.audit import audit
from tongxin.demo import cobuild as demo_cobuild
from tongxin.demo import events as demo_events
from tongxin.demo import grids as demo_grids
from tongxin.demo import orgs
from tongxin.demo import outreach as demo_outreach
from tongxin.demo import people as demo_people
from tongxin.demo.accounts import build_accounts


def build_demo(seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    with transaction.atomic():
        demo = orgs.build_tree(rng)
        demo_grids.build_grids(demo, seed)
        orgs.build_units(demo, rng)
        orgs.build_special_branches(demo, rng)
        orgs.build_committees(demo, rng)
        orgs.build_contact_points(demo, rng)
        accounts = build_accounts(demo)
        people = demo_people.build_people(demo, rng)  # after accounts: links demo_member/resident
        events = demo_events.build_events(demo, seed)  # after grids and accounts
        outreach = demo_outreach.build_outreach(demo, seed)  # after people (volunteers, teams)
        cobuild = demo_cobuild.build_cobuild(demo, rng)  # after accounts and committees
        counts = {
            "communities": len(demo.communities),
            "grids": sum(len(g) for g in demo.grids.values()),
            "units": len(demo.units),
            "accounts": len(accounts),
            **people,
            "events": events,
            **outreach,
            **cobuild,
        }
        audit(
            actor=None, username="seed_demo", action="demo.seed", changes={"seed": seed, **counts}
        )
    return counts

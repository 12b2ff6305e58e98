"""The demo district gains a year of co-building."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tongxin.cobuild import selectors
from tongxin.cobuild.models import Agreement, CommitmentState, JointMeeting, ServiceProject
from tongxin.orgs.models import OrgNode

pytestmark = pytest.mark.django_db


def test_demo_has_a_year_of_cobuilding():
    call_command("seed_demo", seed=2019)
    assert Agreement.objects.filter(status="signed").exists()
    states = set(Agreement.objects.values_list("commitments__state", flat=True).distinct())
    assert set(CommitmentState.values) <= states
    assert ServiceProject.objects.exists()
    dongyan = OrgNode.objects.get(name="东岩社区")
    year = JointMeeting.objects.latest("held_on").held_on.year
    (row,) = selectors.meeting_quarters([dongyan], year=year)
    assert 2 in row.missed
    wenxian = OrgNode.objects.get(name="文献社区")
    (row,) = selectors.meeting_quarters([wenxian], year=year)
    assert row.missed == []

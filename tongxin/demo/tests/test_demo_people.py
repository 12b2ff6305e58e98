"""The demo district's people: seed 004's 4,941 members in all six categories, and the rest."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count

from tongxin.accounts.models import User
from tongxin.people import selectors
from tongxin.people.models import (
    Category,
    DuesLedger,
    DuesPayment,
    Household,
    PartyMember,
    PersonGroup,
    Registration,
    Resident,
    YearRating,
)

pytestmark = pytest.mark.django_db


def test_demo_people_follow_the_seeds():
    call_command("seed_demo", seed=2019)
    assert PartyMember.objects.count() == 4941
    by_category = dict(PartyMember.objects.values_list("category").annotate(n=Count("pk")))
    assert set(by_category) == set(Category.values)
    in_service = PartyMember.objects.filter(category=Category.IN_SERVICE)
    assert in_service.filter(unit__isnull=False).count() == in_service.count()
    assert Registration.objects.exists() and YearRating.objects.exists()
    assert Household.objects.count() > 1000 and Resident.objects.count() > 3000
    assert PersonGroup.objects.filter(group="low_income").exists()
    months = DuesLedger.objects.values("month").distinct().count()
    assert months == 12
    assert DuesPayment.objects.filter(collected_by__username="demo_grid").exists()

    member = User.objects.get(username="demo_member")
    assert member.person.name == "黄丽芬" and member.person.membership.category == "registered"
    resident = User.objects.get(username="demo_resident")
    assert resident.person.resident.household is not None
    assert list(selectors.member_list(member)) == [member.person.membership]

    # The demo community admin sees their community only; the sibling sees theirs.
    wenxian = User.objects.get(username="demo_community")
    dongmei = User.objects.get(username="demo_community_b")
    a = set(selectors.member_list(wenxian).values_list("pk", flat=True))
    b = set(selectors.member_list(dongmei).values_list("pk", flat=True))
    assert a and b and not a & b
    # Every stored value is sealed: ciphertext with a key id, masked copies beside it.
    sample = member.person
    assert sample.id_number_cipher.startswith("sm4gcm1$") and "*" in sample.id_number_masked

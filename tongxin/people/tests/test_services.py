"""People services read like the rules they enforce: validation, categories, dues, history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome, AuditRecord
from tongxin.notify.models import Notification
from tongxin.people import services
from tongxin.people.models import (
    Category,
    DuesClass,
    DuesLedger,
    ManagementMode,
    MemberStatus,
    MemberTransfer,
    PartyMember,
    Person,
    Resident,
)
from tongxin.people.tests.factories import (
    id_number,
    make_household,
    make_member,
    make_resident,
    member_data,
)
from tongxin.people.validation import (
    clean_id_number,
    clean_person_data,
    clean_phone,
    duplicate_id_numbers,
)

pytestmark = pytest.mark.django_db

VALID_ID = "11010519491231002X"  # GB 11643 appendix example


# --- ID numbers (GB 11643) ------------------------------------------------------------------


def test_a_valid_id_number_gives_birth_date_and_gender():
    parsed = clean_id_number(VALID_ID.lower())
    assert parsed.number == VALID_ID
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.gender == "female"  # 17th digit 2 is even
    assert clean_id_number(id_number(dt.date(1960, 5, 17), 101)).gender == "male"


def test_a_number_issued_before_its_county_code_existed_is_still_valid():
    # 城厢区 (350302) exists since 1983; people born earlier hold such numbers.
    assert clean_id_number(id_number(dt.date(1950, 1, 1), 101, area="350302"))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("11010519491231002", "身份证号应为18位。"),
        ("1101051949123100211", "身份证号应为18位。"),
        ("110105194912310021", "身份证号校验码不正确，请核对。"),  # bad check character
        ("1101051949123A002X", "身份证号前17位应为数字，最后一位为数字或X。"),
        ("11010519491231002Y", "身份证号前17位应为数字，最后一位为数字或X。"),
        ("", "身份证号应为18位。"),
    ],
)
def test_bad_id_numbers_are_refused_with_a_chinese_message(raw, message):
    with pytest.raises(ValidationError) as caught:
        clean_id_number(raw)
    assert caught.value.messages == [message]


def test_an_impossible_birth_date_is_refused_even_with_a_right_check_character():
    impossible = id_number(dt.date(1990, 1, 1), 101).replace("19900101", "19900230")
    from stdnum.cn import ric

    impossible = impossible[:17] + ric.calc_check_digit(impossible[:17] + "0")
    with pytest.raises(ValidationError) as caught:
        clean_id_number(impossible)
    assert caught.value.messages == ["身份证号中的出生日期不存在。"]


def test_a_future_or_ancient_birth_date_is_refused():
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    for born in (tomorrow, dt.date(1899, 12, 31)):
        with pytest.raises(ValidationError) as caught:
            clean_id_number(id_number(born, 101))
        assert caught.value.messages == ["身份证号中的出生日期不合理。"]


def test_an_unknown_region_is_refused():
    with pytest.raises(ValidationError) as caught:
        clean_id_number(id_number(dt.date(1980, 1, 1), 101, area="990101"))
    assert caught.value.messages == ["身份证号中的地区码不正确。"]


def test_a_given_birth_date_or_gender_must_agree_with_the_id_number():
    with pytest.raises(ValidationError) as caught:
        clean_person_data(
            {"name": "李", "id_number": VALID_ID, "birth_date": dt.date(1950, 1, 1), "gender": "男"}
        )
    assert set(caught.value.message_dict) == {"birth_date", "gender"}


# --- phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("13905941234", "13905941234"),
        ("139 0594 1234", "13905941234"),
        ("+8613905941234", "13905941234"),
        ("0594-2671234", "0594-2671234"),
        ("05942671234", "0594-2671234"),
        ("010-12345678", "010-12345678"),
        ("02112345678", "021-12345678"),
    ],
)
def test_mobile_and_landline_numbers_are_accepted_and_normalized(raw, clean):
    assert clean_phone(raw) == clean


@pytest.mark.parametrize(
    "raw", ["12905941234", "1390594123", "139059412345", "0594-123456", "594-2671234", "abc"]
)
def test_bad_phones_are_refused(raw):
    with pytest.raises(ValidationError) as caught:
        clean_phone(raw)
    assert "手机号" in caught.value.messages[0]


def test_person_data_collects_every_error_at_once():
    with pytest.raises(ValidationError) as caught:
        clean_person_data({"name": "", "id_number": "123", "phone": "999", "gender": "x"})
    assert set(caught.value.message_dict) == {"name", "id_number", "phone", "gender"}


# --- members: categories and their management modes ----------------------------------------


@pytest.mark.parametrize(
    ("category", "mode", "dues_class"),
    [
        ("registered", ManagementMode.DIRECT, DuesClass.SALARIED),
        ("in_service", ManagementMode.DUAL, DuesClass.SALARIED),
        ("new_sector", ManagementMode.DUAL, DuesClass.SALARIED),
        ("retired", ManagementMode.ENTRUSTED, DuesClass.RETIRED),
        ("laid_off", ManagementMode.TAKEN_OVER, DuesClass.LAID_OFF),
        ("floating", ManagementMode.CO_MANAGED, DuesClass.SALARIED),
    ],
)
def test_each_category_has_its_management_mode(places, category, mode, dues_class):
    extra = {"work_unit_name": "莆田市某公司"} if category in ("in_service", "new_sector") else {}
    member = make_member(places.grid_a, category=category, **extra)
    assert member.category == category
    assert member.management_mode == mode == services.management_mode(category)
    assert member.dues_class == dues_class


def test_a_member_gets_branch_and_organization_from_their_grid(places):
    member = make_member(places.grid_a)
    assert member.branch == places.grid_a
    assert member.organization.node == places.grid_a
    assert member.person.birth_date == dt.date(1960, 5, 17)


def test_in_service_members_need_a_work_unit(places):
    with pytest.raises(ValidationError) as caught:
        make_member(places.grid_a, category="in_service")
    assert "unit" in caught.value.message_dict
    member = make_member(places.grid_a, category="in_service", unit=places.unit_a)
    assert member.unit_label == "文献供电所"


def test_an_unknown_category_is_refused(places):
    with pytest.raises(ValidationError) as caught:
        make_member(places.grid_a, category="honorary")
    assert "category" in caught.value.message_dict


def test_a_probationary_member_becomes_full_a_year_later_by_default(places, people):
    joined = timezone.localdate() - dt.timedelta(days=100)
    member = make_member(places.grid_a, membership_type="probationary", joined_on=joined)
    assert member.full_on.year == joined.year + 1
    with pytest.raises(ValidationError):
        services.member_update(
            actor=people.community_admin,
            member=member,
            version=member.version,
            changes={"membership_type": "full"},
        )
    full = services.member_make_full(
        actor=people.community_admin, member=member, version=1, on=timezone.localdate()
    )
    assert full.membership_type == "full" and full.full_on == timezone.localdate()
    with pytest.raises(ConflictError):
        services.member_make_full(
            actor=people.community_admin, member=full, version=full.version, on=joined
        )


def test_a_branch_in_another_community_is_refused(places):
    with pytest.raises(ValidationError) as caught:
        make_member(places.grid_a, branch=places.grid_b)
    assert "branch" in caught.value.message_dict


def test_the_same_id_number_cannot_be_registered_twice(places, people):
    number = id_number(dt.date(1970, 1, 1), 555)
    make_member(places.grid_a, id_number=number)
    with pytest.raises(ValidationError) as caught:
        make_member(places.grid_a, id_number=number.lower(), actor=people.community_admin)
    assert caught.value.message_dict["id_number"] == ["该身份证号已登记。"]


def test_a_duplicate_in_another_community_says_only_that_it_exists(places, people):
    number = id_number(dt.date(1970, 1, 1), 556)
    make_member(places.grid_b, id_number=number)
    with pytest.raises(ValidationError) as caught:
        make_member(places.grid_a, id_number=number, actor=people.community_admin)
    assert "其他社区" in caught.value.message_dict["id_number"][0]


def test_a_resident_becomes_a_member_on_the_same_person(places, people):
    number = id_number(dt.date(1966, 2, 2), 557)
    resident = make_resident(node=places.grid_a, id_number=number)
    member = make_member(places.grid_a, id_number=number, actor=people.community_admin)
    assert member.person_id == resident.person_id
    assert Person.objects.count() == 1


def test_only_managing_roles_register_members(places, people):
    for who in (people.grid_manager, people.member, people.community_admin_b):
        with pytest.raises(PermissionDenied):
            make_member(places.grid_a, actor=who)
    denied = AuditRecord.objects.filter(outcome=AuditOutcome.DENIED, action="people.add_member")
    assert denied.count() == 3


def test_member_creation_is_audited_with_masked_values_only(places, people):
    number = id_number(dt.date(1958, 3, 12), 231)
    member = make_member(
        places.grid_a, actor=people.community_admin, id_number=number, phone="13905941234"
    )
    record = AuditRecord.objects.get(action="people.member.create")
    text = str(record.changes)
    assert number not in text and "13905941234" not in text
    assert record.changes["person"]["id_number"] == member.person.id_number_masked
    assert record.changes["person"]["phone"] == "139****1234"


def test_member_update_re_seals_a_new_phone_and_keeps_the_version(places, people):
    member = make_member(places.grid_a)
    updated = services.member_update(
        actor=people.community_admin,
        member=member,
        version=1,
        changes={"phone": "13600001111", "monthly_income": "5200"},
    )
    assert updated.version == 2
    person = Person.objects.get(pk=member.person_id)
    assert person.phone_masked == "136****1111"
    assert person.phone.reveal() == "13600001111"
    assert updated.monthly_income == Decimal("5200.00")
    with pytest.raises(ConflictError):
        services.member_update(
            actor=people.community_admin, member=member, version=1, changes={"category": "retired"}
        )
    record = AuditRecord.objects.filter(action="people.member.update").get()
    assert record.changes["person.phone"] == [member.person.phone_masked, "136****1111"]


def test_birth_date_follows_the_id_number_and_cannot_be_edited_apart(places, people):
    member = make_member(places.grid_a)
    with pytest.raises(ValidationError):
        services.person_update(
            actor=people.community_admin,
            person=member.person,
            version=1,
            changes={"birth_date": dt.date(1961, 1, 1)},
        )


# --- status and transfers -------------------------------------------------------------------


def test_status_moves_follow_the_table(places, people):
    member = make_member(places.grid_a)
    admin = people.community_admin
    with pytest.raises(ValidationError):
        services.member_change_status(actor=admin, member=member, version=1, status="suspended")
    member = services.member_change_status(
        actor=admin, member=member, version=1, status="suspended", note="党员大会决定"
    )
    member = services.member_change_status(
        actor=admin, member=member, version=2, status="normal", note="恢复"
    )
    member = services.member_change_status(
        actor=admin, member=member, version=3, status="deceased", note="病故"
    )
    with pytest.raises(ConflictError):
        services.member_change_status(
            actor=admin, member=member, version=4, status="normal", note="x"
        )
    assert PartyMember.objects.filter(pk=member.pk).exists()  # never deleted


def test_a_grid_manager_cannot_change_party_standing(places, people):
    member = make_member(places.grid_a)
    with pytest.raises(PermissionDenied):
        services.member_change_status(
            actor=people.grid_manager, member=member, version=1, status="suspended", note="x"
        )


def test_an_internal_transfer_moves_the_member_and_keeps_history(places, people):
    member = make_member(places.grid_a)
    target = places.grid_b.party_orgs.get()
    record = services.member_transfer(
        actor=people.community_admin,
        member=member,
        version=1,
        on=timezone.localdate(),
        to_organization=target,
        letter_no="莆荔组转〔2026〕8号",
    )
    member.refresh_from_db()
    assert record.kind == "internal"
    assert record.from_name == "文献一网格党组织" and record.to_name == "东梅一网格党组织"
    assert member.organization == target and member.branch == places.grid_b
    assert member.person.node == places.grid_b  # the receiving community manages them now
    assert list(member.transfers.values_list("kind", flat=True)) == ["internal"]


def test_a_transfer_out_keeps_the_member_on_record(places, people):
    member = make_member(places.grid_a)
    services.member_transfer(
        actor=people.community_admin,
        member=member,
        version=1,
        on=timezone.localdate(),
        to_name="中共福州市鼓楼区某社区委员会",
    )
    member.refresh_from_db()
    assert member.status == MemberStatus.TRANSFERRED_OUT
    assert member.organization is None and member.organization_label.startswith("中共福州")
    assert member.person.node == places.grid_a
    # and back in later: a transfer in from outside
    services.member_transfer(
        actor=people.community_admin,
        member=member,
        version=member.version,
        on=timezone.localdate(),
        to_organization=places.grid_a.party_orgs.get(),
    )
    kinds = list(MemberTransfer.objects.filter(member=member).order_by("id").values_list("kind"))
    assert kinds == [("out",), ("in",)]
    member.refresh_from_db()
    assert member.status == MemberStatus.NORMAL


def test_a_transfer_needs_a_destination(places, people):
    member = make_member(places.grid_a)
    with pytest.raises(ValidationError):
        services.member_transfer(
            actor=people.community_admin, member=member, version=1, on=timezone.localdate()
        )


def test_floating_records_with_a_sealed_contact_phone(places, people):
    member = make_member(places.grid_a, category="floating")
    record = services.floating_record_add(
        actor=people.community_admin,
        member=member,
        direction="out",
        place="深圳市南山区",
        since=dt.date(2024, 3, 1),
        contact_phone="13512345678",
    )
    assert record.contact_phone_masked == "135****5678"
    with pytest.raises(ConflictError):
        services.floating_record_add(
            actor=people.community_admin,
            member=member,
            direction="out",
            place="厦门",
            since=dt.date(2024, 3, 1),
        )
    ended = services.floating_record_end(
        actor=people.community_admin, record=record, until=dt.date(2025, 1, 1)
    )
    assert ended.until == dt.date(2025, 1, 1)


# --- dues -----------------------------------------------------------------------------------

SALARIED = [
    ("0", "0.005", "0.00"),
    ("3000.00", "0.005", "15.00"),  # 3000 元以下（含3000元）0.5%
    ("3000.01", "0.01", "30.00"),
    ("5000.00", "0.01", "50.00"),  # 3000以上至5000（含）1%
    ("5000.01", "0.015", "75.00"),
    ("10000.00", "0.015", "150.00"),  # 5000以上至10000（含）1.5%
    ("10000.01", "0.02", "200.00"),  # 10000以上 2%
    ("2999.99", "0.005", "15.00"),  # 14.99995 rounds half up to 15.00
    ("4321.50", "0.01", "43.22"),  # 43.215 → 43.22 (half up, not banker's)
]


@pytest.mark.parametrize(("income", "rate", "amount"), SALARIED)
def test_salaried_dues_brackets_include_their_upper_bound(income, rate, amount):
    standard = services.dues_standard(dues_class="salaried", income=Decimal(income))
    assert standard.rate == Decimal(rate)
    assert standard.amount == Decimal(amount)
    assert isinstance(standard.amount, Decimal)


@pytest.mark.parametrize(
    ("income", "rate", "amount"),
    [("5000.00", "0.005", "25.00"), ("5000.01", "0.01", "50.00"), ("2500", "0.005", "12.50")],
)
def test_retired_dues_brackets(income, rate, amount):
    standard = services.dues_standard(dues_class="retired", income=Decimal(income))
    assert (standard.rate, standard.amount) == (Decimal(rate), Decimal(amount))


@pytest.mark.parametrize("dues_class", ["student", "laid_off", "low_income"])
def test_students_laid_off_and_low_income_pay_a_fixed_twenty_fen(dues_class):
    assert services.dues_standard(dues_class=dues_class, income=Decimal("8000")).amount == Decimal(
        "0.20"
    )
    assert services.dues_standard(dues_class=dues_class, income=None).amount == Decimal("0.20")


def test_a_salaried_standard_needs_a_declared_income():
    with pytest.raises(ValidationError) as caught:
        services.dues_standard(dues_class="salaried", income=None)
    assert "monthly_income" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.dues_standard(dues_class="salaried", income=Decimal("-1"))


def _month() -> dt.date:
    return timezone.localdate().replace(day=1)


def test_generating_a_month_opens_one_row_per_member_in_good_standing(places, people):
    paying = make_member(places.grid_a, monthly_income="4500")
    make_member(places.grid_a, monthly_income=None)  # salaried, nothing declared
    suspended = make_member(places.grid_a)
    services.member_change_status(
        actor=None, member=suspended, version=1, status="suspended", note="x"
    )
    result = services.dues_generate(
        actor=people.community_admin, month=_month(), node=places.community_a
    )
    assert (result.created, result.already, len(result.missing_income)) == (1, 0, 1)
    ledger = DuesLedger.objects.get()
    assert (ledger.member, ledger.standard, ledger.amount) == (
        paying,
        Decimal("45.00"),
        Decimal("45.00"),
    )
    again = services.dues_generate(
        actor=people.community_admin, month=_month(), node=places.community_a
    )
    assert (again.created, again.already) == (0, 1)
    with pytest.raises(PermissionDenied):
        services.dues_generate(actor=people.grid_manager, month=_month(), node=places.grid_a)


def _ledger(places, **member) -> DuesLedger:
    m = make_member(places.grid_a, **member)
    services.dues_generate(actor=None, month=_month(), node=places.grid_a)
    return DuesLedger.objects.get(member=m)


def test_an_override_needs_a_reason_and_keeps_the_standard(places, people):
    ledger = _ledger(places, monthly_income="4500")
    with pytest.raises(ValidationError) as caught:
        services.dues_override(
            actor=people.community_admin, ledger=ledger, version=1, amount="100", reason=" "
        )
    assert "reason" in caught.value.message_dict
    ledger = services.dues_override(
        actor=people.community_admin, ledger=ledger, version=1, amount="100", reason="自愿多交"
    )
    assert (ledger.standard, ledger.amount, ledger.override_reason) == (
        Decimal("45.00"),
        Decimal("100.00"),
        "自愿多交",
    )
    with pytest.raises(PermissionDenied):
        services.dues_override(
            actor=people.grid_manager, ledger=ledger, version=2, amount="1", reason="x y"
        )


def test_payments_arrears_and_no_overpaying(places, people):
    from tongxin.people.selectors import member_arrears

    ledger = _ledger(places, monthly_income="4500")
    member = ledger.member
    assert member_arrears(member).months == 1
    assert member_arrears(member).amount == Decimal("45.00")
    services.dues_pay(actor=people.community_admin, ledger=ledger, amount="20.00")
    ledger.refresh_from_db()
    assert ledger.paid == Decimal("20.00") and ledger.paid_on is None
    with pytest.raises(ValidationError):
        services.dues_pay(actor=people.community_admin, ledger=ledger, amount="30.00")
    services.dues_pay(actor=people.community_admin, ledger=ledger)
    ledger.refresh_from_db()
    assert ledger.is_paid and ledger.paid_on == timezone.localdate()
    assert member_arrears(member).months == 0
    with pytest.raises(ConflictError):
        services.dues_pay(actor=people.community_admin, ledger=ledger)


def test_a_grid_manager_collects_on_behalf_and_is_recorded(places, people):
    ledger = _ledger(places, monthly_income="4500", category="retired")
    payment = services.dues_pay(actor=people.grid_manager, ledger=ledger, on_behalf=True)
    assert payment.collected_by == people.grid_manager
    assert payment.amount == Decimal("22.50")  # retired, 4500 ≤ 5000: 0.5%
    record = AuditRecord.objects.get(action="people.dues.pay")
    assert record.changes["on_behalf"] is True


def test_only_a_grid_manager_collects_on_behalf(places, people):
    ledger = _ledger(places, monthly_income="4500")
    with pytest.raises(PermissionDenied):
        services.dues_pay(actor=people.community_admin, ledger=ledger, on_behalf=True)
    with pytest.raises(PermissionDenied):
        services.dues_pay(actor=people.community_admin_b, ledger=ledger)


def test_settling_pays_every_outstanding_month(places, people):
    member = make_member(places.grid_a, monthly_income="4500")
    last = (_month() - dt.timedelta(days=1)).replace(day=1)
    services.dues_generate(actor=None, month=last, node=places.grid_a)
    services.dues_generate(actor=None, month=_month(), node=places.grid_a)
    payments = services.dues_settle(actor=people.grid_manager, member=member, on_behalf=True)
    assert len(payments) == 2 and all(p.collected_by == people.grid_manager for p in payments)
    with pytest.raises(ConflictError):
        services.dues_settle(actor=people.grid_manager, member=member)


# --- residents, households, special groups ----------------------------------------------------


def test_a_household_has_one_head(places):
    household = make_household(places.grid_a)
    make_resident(household=household)
    with pytest.raises(ValidationError) as caught:
        make_resident(household=household, id_number=id_number(dt.date(1980, 1, 1), 321))
    assert "relation" in caught.value.message_dict
    child = make_resident(
        household=household, relation="child", id_number=id_number(dt.date(2010, 1, 1), 322)
    )
    assert child.person.node == places.grid_a


def test_sensitive_groups_are_set_only_by_the_serving_community(places, people):
    resident = make_resident(node=places.grid_a)
    person = resident.person
    with pytest.raises(PermissionDenied):
        services.person_set_groups(actor=people.street_admin, person=person, groups=["hardship"])
    groups = services.person_set_groups(
        actor=people.grid_manager, person=person, groups=["hardship", "elderly_alone"]
    )
    assert groups == ["elderly_alone", "hardship"]
    # The street admin edits open groups; the sensitive tag they cannot see stays.
    kept = services.person_set_groups(
        actor=people.street_admin, person=person, groups=["veteran_family"]
    )
    assert kept == ["hardship", "veteran_family"]


def test_moving_out_keeps_the_resident(places, people):
    resident = make_resident(node=places.grid_a)
    services.resident_move_out(
        actor=people.grid_manager, resident=resident, version=1, on=timezone.localdate()
    )
    assert Resident.objects.get(pk=resident.pk).moved_out_on == timezone.localdate()


# --- reveal ---------------------------------------------------------------------------------


def test_reveal_needs_a_reason_and_is_audited_with_it(places, people):
    number = id_number(dt.date(1958, 3, 12), 231)
    member = make_member(places.grid_a, id_number=number, phone="13905941234")
    with pytest.raises(ValidationError):
        services.person_reveal(actor=people.community_admin, person=member.person, reason="")
    values = services.person_reveal(
        actor=people.community_admin, person=member.person, reason="办理组织关系转接"
    )
    assert values["id_number"] == number and values["phone"] == "13905941234"
    record = AuditRecord.objects.get(action="people.person.reveal")
    assert record.changes["reason"] == "办理组织关系转接"
    assert number not in str(record.changes) and "13905941234" not in str(record.changes)
    assert record.actor_id == people.community_admin.pk


def test_a_refused_reveal_is_audited_too(places, people):
    member = make_member(places.grid_a)
    with pytest.raises(PermissionDenied):
        services.person_reveal(actor=people.grid_manager, person=member.person, reason="想看看")
    record = AuditRecord.objects.get(action="people.person.reveal")
    assert record.outcome == AuditOutcome.DENIED and record.changes["reason"] == "想看看"


# --- reporting ------------------------------------------------------------------------------


def test_in_service_reporting_and_the_rating_goes_back_to_the_unit(places, people):
    member = make_member(places.grid_a, category="in_service", unit=places.unit_a)
    post = services.service_post_create(
        actor=people.community_admin, community=places.community_a, name="治安巡逻"
    )
    registration = services.registration_create(
        actor=people.grid_manager,
        member=member,
        registered_on=dt.date(2025, 3, 1),
        posts=[post],
    )
    assert registration.community == places.community_a and registration.unit == places.unit_a
    with pytest.raises(ConflictError):
        services.registration_create(actor=people.grid_manager, member=member)
    services.service_record_add(
        actor=people.grid_manager,
        registration=registration,
        served_on=dt.date(2025, 6, 1),
        hours="3",
        description="夜间巡逻",
        post=post,
    )
    with pytest.raises(ValidationError):
        services.service_record_add(
            actor=people.grid_manager,
            registration=registration,
            served_on=dt.date(2025, 6, 2),
            hours="25",
            description="x",
        )
    with pytest.raises(PermissionDenied):  # the community rates, not the grid manager
        services.registration_rate(
            actor=people.grid_manager, registration=registration, year=2025, rating="excellent"
        )
    rating = services.registration_rate(
        actor=people.community_admin, registration=registration, year=2025, rating="excellent"
    )
    assert rating.notified_liaisons == 1
    note = Notification.objects.get(recipient=people.unit_liaison)
    assert "优秀" in note.title and member.person.name in note.title
    with pytest.raises(ConflictError):
        services.registration_rate(
            actor=people.community_admin, registration=registration, year=2025, rating="basic"
        )


def test_a_member_registers_themselves(places, people):
    member = make_member(places.grid_a, category="in_service", work_unit_name="莆田学院")
    with pytest.raises(PermissionDenied):
        services.registration_create(actor=people.member, member=member)
    services.person_link_user(actor=None, person=member.person, user=people.member)
    member.person.refresh_from_db()
    registration = services.registration_create(actor=people.member, member=member)
    assert registration.unit_label == "莆田学院"
    other = make_member(places.grid_a, category="in_service", work_unit_name="x")
    with pytest.raises(PermissionDenied):
        services.registration_create(actor=people.member, member=other)


def test_only_in_service_members_report(places, people):
    member = make_member(places.grid_a, category="retired")
    with pytest.raises(ValidationError):
        services.registration_create(actor=people.community_admin, member=member)


# --- bulk creation (for the importer) ---------------------------------------------------------


def _rows(places, numbers):
    rows = []
    for n, number in enumerate(numbers):
        person, membership = services.clean_member_row(
            member_data(name=f"党员{n}", id_number=number, phone=f"1390000{n:04d}")
        )
        rows.append({**person, **membership, "node": places.grid_a})
    return rows


def test_bulk_create_writes_all_rows_in_one_audit_record(places, people):
    numbers = [id_number(dt.date(1970, 1, 1), 100 + n) for n in range(30)]
    members = services.members_bulk_create(
        actor=people.community_admin, rows=_rows(places, numbers)
    )
    assert len(members) == 30 and PartyMember.objects.count() == 30
    assert Person.objects.filter(Person.id_number.lookup(numbers[7])).get().name == "党员7"
    record = AuditRecord.objects.get(action="people.member.bulk_create")
    assert record.changes["count"] == 30


def test_bulk_create_refuses_duplicates_and_writes_nothing(places, people):
    existing = id_number(dt.date(1970, 1, 1), 900)
    make_member(places.grid_a, id_number=existing)
    numbers = [id_number(dt.date(1970, 1, 1), 100 + n) for n in range(5)]
    rows = _rows(places, [*numbers, numbers[1], existing])
    assert duplicate_id_numbers((n, r["id_number"]) for n, r in enumerate(rows, 1)) == {
        6: "身份证号与第 2 行重复。",
        7: "该身份证号已登记。",
    }
    with pytest.raises(ValidationError) as caught:
        services.members_bulk_create(actor=people.community_admin, rows=rows)
    assert len(caught.value.message_dict["id_number"]) == 2
    assert PartyMember.objects.count() == 1


def test_bulk_create_checks_permission_per_node(places, people):
    rows = _rows(places, [id_number(dt.date(1970, 1, 1), 101)])
    with pytest.raises(PermissionDenied):
        services.members_bulk_create(actor=people.community_admin_b, rows=rows)


def test_bulk_residents_and_households(places, people):
    households = services.households_bulk_create(
        actor=people.grid_manager,
        rows=[{"node": places.grid_a, "door": f"{n}01"} for n in range(1, 4)],
    )
    rows = [
        {
            **clean_person_data(
                {"name": f"居民{n}", "id_number": id_number(dt.date(1980, 1, 1), 200 + n)}
            ),
            "household": households[n],
            "relation": "head",
            "groups": ["elderly_alone"],
        }
        for n in range(3)
    ]
    residents = services.residents_bulk_create(actor=people.grid_manager, rows=rows)
    assert (
        len(residents) == 3
        and Resident.objects.filter(person__groups__group="elderly_alone").count() == 3
    )
    with pytest.raises(PermissionDenied):
        services.residents_bulk_create(
            actor=people.street_admin,
            rows=[
                {
                    **rows[0],
                    "id_number": id_number(dt.date(1980, 1, 1), 300),
                    "groups": ["hardship"],
                }
            ],
        )


def test_categories_enum_matches_the_api_codes():
    assert Category.values == [
        "registered",
        "in_service",
        "new_sector",
        "retired",
        "laid_off",
        "floating",
    ]

"""Factories for the organization network's tests (nodes come from `node_create`)."""

from __future__ import annotations

import datetime as dt

import factory

from tongxin.orgs.models import (
    CommitteeMember,
    ContactPoint,
    ContactProject,
    InstructorAssignment,
    PartyStatus,
    ResidentUnit,
    UnitType,
)

# Valid 统一社会信用代码 (check digit computed with stdnum.cn.uscc).
CREDIT_CODE = "91350304MA2Y0B1A3B"
CREDIT_CODE_2 = "91350304MA2Y0C2B4C"


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResidentUnit

    name = factory.Sequence(lambda n: f"荔城科技{n}有限公司")
    unit_type = UnitType.NON_PUBLIC
    party_status = PartyStatus.NONE
    employees = 20
    party_members = 2


class InstructorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InstructorAssignment

    unit = factory.SubFactory(UnitFactory)
    instructor_name = factory.Sequence(lambda n: f"指导员{n}")
    instructor_post = "街道组织委员"
    starts_on = dt.date(2025, 3, 1)


class CommitteeMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommitteeMember

    person_name = factory.Sequence(lambda n: f"委员{n}")
    duty = "组织共建活动"
    term_start = dt.date(2024, 1, 1)


class ContactPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    leader_name = factory.Sequence(lambda n: f"领导{n}")
    leader_title = "区委常委"
    starts_on = dt.date(2024, 1, 1)


class ContactProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactProject

    contact_point = factory.SubFactory(ContactPointFactory)
    name = factory.Sequence(lambda n: f"党建项目{n}")

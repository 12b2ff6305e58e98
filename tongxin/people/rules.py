"""Who may do what to one person-related object (`rules` predicates).

The scope rules, decided from SPEC §2 and SECURITY.md 11–13 (least privilege):

- see persons, members, residents, households, buildings, volunteers: district / street /
  community admins and grid managers over the row's node; a member or resident sees only their
  own record;
- record and edit persons, residents, households, buildings, volunteers: the same four roles
  (grid managers collect the information);
- party-membership facts (category, status, transfers, floating records): district / street /
  community admins;
- reveal an ID number or phone (with a reason, audited): district / street / community admins
  over the node, and the person themselves; never grid managers (they work from masked values
  and the phone's last four digits);
- see or set sensitive special groups (disability, low income, hardship, …): the serving
  community only, i.e. community admins and grid managers holding their role at community level
  or below over the person; the person sees their own;
- record dues payments: community admins and grid managers; only a grid manager records a
  collection on a member's behalf (代收); generate the ledger or override a standard: district /
  street / community admins;
- in-service reporting: community admins and grid managers register members and record service,
  a member registers themselves; the year-end rating is the community admin's; a unit's
  reporting list is for the unit's liaison and the territorial roles (members they see).

The three administrator roles (三员) hold none of these, so they see no personal data.
"""

from __future__ import annotations

from typing import Any

import rules

from tongxin.accounts.models import MANAGING_ROLES, Role
from tongxin.core.scoping import grants, holds_role_over
from tongxin.orgs.models import PATH_SEGMENT_LENGTH, OrgNode, ResidentUnit
from tongxin.people.models import (
    Building,
    DuesLedger,
    FloatingRecord,
    Household,
    PartyMember,
    Person,
    Registration,
    Resident,
    ServiceRecord,
    Volunteer,
    VolunteerTeam,
    YearRating,
)

PEOPLE_ROLES = frozenset(
    {Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.GRID_MANAGER}
)
REVEAL_ROLES = MANAGING_ROLES
MEMBERSHIP_ROLES = MANAGING_ROLES
SERVING_ROLES = frozenset({Role.COMMUNITY_ADMIN, Role.GRID_MANAGER})
DUES_COLLECT_ROLES = SERVING_ROLES
COLLECT_ON_BEHALF_ROLES = frozenset({Role.GRID_MANAGER})
REPORTING_ROLES = SERVING_ROLES
RATING_ROLES = frozenset({Role.COMMUNITY_ADMIN})
# Roles whose pages a person may open at all; the selectors narrow what each one sees.
SELF_ROLES = frozenset({Role.MEMBER, Role.RESIDENT})
# A grant at community depth or deeper ("the serving community", SECURITY.md 13).
COMMUNITY_PATH_LENGTH = (PATH_SEGMENT_LENGTH + 1) * 3


def serving_paths(user: Any) -> list[str]:
    """Paths where the user serves people directly: community-level grants and below."""
    return sorted(
        {
            g.path
            for g in grants(user)
            if g.role in SERVING_ROLES and len(g.path) >= COMMUNITY_PATH_LENGTH
        }
    )


def serves(user: Any, path: str) -> bool:
    return any(path.startswith(p) for p in serving_paths(user))


def liaison_unit_ids(user: Any) -> set[int]:
    return {g.unit_id for g in grants(user) if g.role == Role.UNIT_LIAISON and g.unit_id}


def _person_of(obj: Any) -> Person | None:
    if isinstance(obj, Person):
        return obj
    if isinstance(obj, (PartyMember, Resident, Volunteer)):
        return obj.person
    if isinstance(obj, (FloatingRecord, DuesLedger, Registration)):
        return obj.member.person
    if isinstance(obj, (ServiceRecord, YearRating)):
        return obj.registration.member.person
    return None


def _path_of(obj: Any) -> str | None:
    """The node path an object is scoped by."""
    if isinstance(obj, OrgNode):
        return obj.path
    if isinstance(obj, (Building, Household, VolunteerTeam)):
        return obj.node.path
    # A registration is scoped by where the member lives (its community is that community), so
    # the grid manager of the member's grid works with it as well as the community admin.
    person = _person_of(obj)
    return person.node.path if person is not None else None


def is_self(user: Any, obj: Any) -> bool:
    person = _person_of(obj)
    return (
        person is not None
        and user is not None
        and user.is_authenticated
        and person.user_id is not None
        and person.user_id == user.pk
    )


def _holds(roles: frozenset[str]) -> Any:
    def check(user: Any, obj: Any) -> bool:
        path = _path_of(obj)
        return path is not None and holds_role_over(user, path, roles)

    return rules.predicate(check, name=f"holds_{'_'.join(sorted(roles))}")


in_people_scope = _holds(PEOPLE_ROLES)
manages_membership = _holds(MEMBERSHIP_ROLES)
may_reveal_by_role = _holds(REVEAL_ROLES)
collects_dues = _holds(DUES_COLLECT_ROLES)
collects_on_behalf = _holds(COLLECT_ON_BEHALF_ROLES)
reports_service = _holds(REPORTING_ROLES)
rates_service = _holds(RATING_ROLES)


@rules.predicate
def own_record(user: Any, obj: Any) -> bool:
    return is_self(user, obj)


@rules.predicate
def serving_community(user: Any, obj: Any) -> bool:
    path = _path_of(obj)
    return path is not None and serves(user, path)


@rules.predicate
def liaison_of_unit(user: Any, unit: ResidentUnit | None) -> bool:
    return unit is not None and unit.pk in liaison_unit_ids(user)


@rules.predicate
def territory_over_unit(user: Any, unit: ResidentUnit | None) -> bool:
    return unit is not None and holds_role_over(user, unit.node.path, PEOPLE_ROLES)


@rules.predicate
def liaison_of_registration(user: Any, registration: Registration | None) -> bool:
    return (
        registration is not None
        and registration.unit_id is not None
        and registration.unit_id in liaison_unit_ids(user)
    )


# Persons and their protected values.
rules.add_perm("people.view_person", in_people_scope | own_record)
rules.add_perm("people.change_person", in_people_scope)
rules.add_perm("people.reveal_person", may_reveal_by_role | own_record)
rules.add_perm("people.view_sensitive_groups", serving_community | own_record)
rules.add_perm("people.change_sensitive_groups", serving_community)
rules.add_perm("people.link_account", manages_membership)

# Party members. `add_member` takes the node the new member would belong to.
rules.add_perm("people.add_member", manages_membership)
rules.add_perm("people.view_member", in_people_scope | own_record)
rules.add_perm("people.change_member", manages_membership)
rules.add_perm("people.transfer_member", manages_membership)
rules.add_perm("people.change_member_status", manages_membership)
rules.add_perm("people.manage_floating", manages_membership)

# Residents, households, buildings (基础信息采集). `add_*` take the receiving node.
rules.add_perm("people.add_resident", in_people_scope)
rules.add_perm("people.view_resident", in_people_scope | own_record)
rules.add_perm("people.change_resident", in_people_scope)
rules.add_perm("people.add_household", in_people_scope)
rules.add_perm("people.change_household", in_people_scope)
rules.add_perm("people.add_building", in_people_scope)
rules.add_perm("people.change_building", in_people_scope)

# Dues. `generate_dues` takes the node whose members get a month's ledger rows.
rules.add_perm("people.view_dues", in_people_scope | own_record)
rules.add_perm("people.collect_dues", collects_dues)
rules.add_perm("people.collect_dues_on_behalf", collects_on_behalf)
rules.add_perm("people.override_dues", manages_membership)
rules.add_perm("people.generate_dues", manages_membership)

# In-service reporting. `add_service_post` takes the community.
rules.add_perm("people.add_service_post", reports_service)
rules.add_perm("people.register_service", reports_service | own_record)
rules.add_perm("people.view_registration", in_people_scope | own_record | liaison_of_registration)
rules.add_perm("people.record_service", reports_service)
rules.add_perm("people.rate_service", rates_service)
rules.add_perm("people.view_unit_report", liaison_of_unit | territory_over_unit)

# Volunteers. `add_volunteer_team` takes the node.
rules.add_perm("people.add_volunteer_team", in_people_scope)
rules.add_perm("people.change_volunteer_team", in_people_scope)
rules.add_perm("people.register_volunteer", in_people_scope)


def can(user: Any, perm: str, obj: Any) -> bool:
    """Check one of the permissions above, and only the rules set (never ModelBackend's
    superuser shortcut: scope holds for every account, whatever its Django flags)."""
    return rules.has_perm(perm, user, obj)

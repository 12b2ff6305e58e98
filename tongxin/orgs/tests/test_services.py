"""Every write rule of the organization network, and every refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tongxin.core.errors import ConflictError
from tongxin.core.models import AuditOutcome, AuditRecord
from tongxin.orgs import services
from tongxin.orgs.models import (
    Level,
    NodeChange,
    NodeChangeKind,
    OrgCategory,
    OrgKind,
    OrgNode,
    PartyOrganization,
    PartyStatus,
    ProjectStatus,
    UnitType,
)
from tongxin.orgs.tests.factories import (
    CREDIT_CODE,
    CREDIT_CODE_2,
    CommitteeMemberFactory,
    ContactPointFactory,
    InstructorFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date


def fresh(obj):
    obj.refresh_from_db()
    return obj


# ---------------------------------------------------------------------------------------------
# node_create


def test_community_admin_creates_a_grid_with_its_branch(places, people):
    grid = services.node_create(
        actor=people.community_admin,
        parent=places.community_a,
        name="文献二网格",
        level=Level.GRID,
        party_org={"name": "文献二网格党支部", "kind": OrgKind.BRANCH},
    )
    assert grid.path.startswith(places.community_a.path) and grid.depth == 4
    assert grid.party_orgs.get().category == OrgCategory.TERRITORIAL
    assert grid.changes.get().kind == NodeChangeKind.CREATED
    assert AuditRecord.objects.filter(action="orgs.node.create", object_id=str(grid.pk)).exists()


def test_node_create_refuses_the_wrong_level(places, people):
    with pytest.raises(ValidationError) as exc:
        services.node_create(
            actor=people.street_admin, parent=places.street, name="错层网格", level=Level.GRID
        )
    assert "parent" in exc.value.message_dict


def test_node_create_refuses_a_closed_parent(places, people):
    services.node_close(
        actor=people.community_admin, node=places.group_a, version=1, reason="楼栋拆除"
    )
    with pytest.raises(ValidationError) as exc:
        services.node_create(
            actor=people.community_admin,
            parent=fresh(places.group_a),
            name="x",
            level=Level.GROUP,
        )
    assert "parent" in exc.value.message_dict


def test_node_create_refuses_a_duplicate_sibling_name_and_an_empty_name(places, people):
    with pytest.raises(ValidationError) as exc:
        services.node_create(
            actor=people.street_admin, parent=places.street, name="文献社区", level=Level.COMMUNITY
        )
    assert "name" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.node_create(
            actor=people.street_admin, parent=places.street, name="  ", level=Level.COMMUNITY
        )


def test_node_create_outside_scope_is_refused_and_audited(places, people):
    with pytest.raises(PermissionDenied):
        services.node_create(
            actor=people.community_admin,
            parent=places.community_b,
            name="东梅二网格",
            level=Level.GRID,
        )
    assert AuditRecord.objects.filter(
        action="orgs.add_node", outcome=AuditOutcome.DENIED, actor_id=people.community_admin.pk
    ).exists()
    with pytest.raises(PermissionDenied):
        services.node_create(
            actor=people.grid_manager, parent=places.grid_a, name="x", level=Level.GROUP
        )


def test_only_the_system_creates_districts(places, people):
    with pytest.raises(PermissionDenied):
        services.node_create(
            actor=people.district_admin, parent=None, name="城厢区", level=Level.DISTRICT
        )


# ---------------------------------------------------------------------------------------------
# node_update


def test_node_update_edits_details_and_party_org_with_history(places, people):
    node = services.node_update(
        actor=people.community_admin,
        node=places.community_a,
        version=1,
        changes={"address": "荔城区文献路 1 号", "code": "350304001"},
        party_org={"secretary": "王书记", "founded_on": D(2003, 7, 1)},
    )
    assert node.version == 2 and node.address == "荔城区文献路 1 号"
    org = node.party_orgs.get(category=OrgCategory.TERRITORIAL)
    assert org.secretary == "王书记" and org.founded_on == D(2003, 7, 1) and org.version == 2
    change = node.changes.filter(kind=NodeChangeKind.EDITED).get()
    assert change.after["address"] == "荔城区文献路 1 号"
    assert change.after["party_org"]["secretary"] == "王书记"
    assert change.actor == people.community_admin


def test_node_update_with_a_stale_version_conflicts(places, people):
    services.node_update(
        actor=people.community_admin, node=places.community_a, version=1, changes={"code": "A"}
    )
    with pytest.raises(ConflictError):
        services.node_update(
            actor=people.community_admin, node=places.community_a, version=1, changes={"code": "B"}
        )
    assert fresh(places.community_a).code == "A"


def test_node_update_creates_a_missing_party_org_and_validates_it(places, people):
    grid = services.node_create(
        actor=None, parent=places.community_a, name="文献三网格", level=Level.GRID
    )
    with pytest.raises(ValidationError) as exc:
        services.node_update(
            actor=people.community_admin, node=grid, version=1, party_org={"secretary": "林"}
        )
    assert "party_org_name" in exc.value.message_dict
    services.node_update(
        actor=people.community_admin,
        node=grid,
        version=1,
        party_org={"name": "文献三网格党支部", "kind": OrgKind.BRANCH},
    )
    assert grid.party_orgs.get().name == "文献三网格党支部"


def test_node_update_without_changes_keeps_the_version(places, people):
    node = services.node_update(
        actor=people.community_admin, node=places.community_a, version=1, changes={"code": ""}
    )
    assert node.version == 1
    assert not node.changes.filter(kind=NodeChangeKind.EDITED).exists()


def test_grid_manager_cannot_edit(places, people):
    with pytest.raises(PermissionDenied):
        services.node_update(
            actor=people.grid_manager, node=places.grid_a, version=1, changes={"code": "x"}
        )


# ---------------------------------------------------------------------------------------------
# rename


def test_community_admin_cannot_rename_their_own_community(places, people):
    with pytest.raises(PermissionDenied):
        services.node_rename(
            actor=people.community_admin, node=places.community_a, version=1, name="文献街社区"
        )


def test_street_admin_renames_a_community_and_its_party_org_follows(places, people):
    node = services.node_rename(
        actor=people.street_admin, node=places.community_a, version=1, name="文献街社区"
    )
    assert node.name == "文献街社区" and node.version == 2
    assert node.party_orgs.get().name == "文献街社区党组织"
    change = node.changes.get(kind=NodeChangeKind.RENAMED)
    assert change.before["name"] == "文献社区" and change.after["name"] == "文献街社区"


def test_rename_refuses_same_empty_and_duplicate_names(places, people):
    for name in ("文献社区", "", "东梅社区"):
        with pytest.raises(ValidationError):
            services.node_rename(
                actor=people.street_admin, node=places.community_a, version=1, name=name
            )


# ---------------------------------------------------------------------------------------------
# move


def test_move_rewrites_the_paths_and_depths_of_the_whole_subtree(places, people):
    grid, group = places.grid_a, places.group_a
    old_grid_path = grid.path
    moved = services.node_move(
        actor=people.street_admin, node=grid, version=1, new_parent=places.community_b
    )
    group = fresh(group)
    assert moved.parent == places.community_b
    assert moved.path.startswith(places.community_b.path) and moved.path != old_grid_path
    assert moved.depth == 4
    assert group.path.startswith(moved.path) and group.depth == 5
    assert group.path == moved.path + group.path[len(moved.path) :]
    assert not OrgNode.objects.filter(path__startswith=old_grid_path).exists()
    change = moved.changes.get(kind=NodeChangeKind.MOVED)
    assert change.before == {"parent": "文献社区", "path": old_grid_path}
    assert change.after == {"parent": "东梅社区", "path": moved.path}
    assert "2" in change.note
    record = AuditRecord.objects.get(action="orgs.node.move")
    assert record.changes["nodes"] == 2


def test_move_carries_units_and_scope_along(places, people):
    unit = UnitFactory(node=places.grid_a, name="网格内小店")
    services.node_move(
        actor=people.street_admin, node=places.grid_a, version=1, new_parent=places.community_b
    )
    from tongxin.core.scoping import forget_grants
    from tongxin.orgs.selectors import visible_units

    forget_grants(people.community_admin_b)
    assert unit in visible_units(people.community_admin_b)
    assert unit not in visible_units(people.community_admin)


def test_move_into_its_own_subtree_is_refused(places, people):
    with pytest.raises(ValidationError) as exc:
        services.node_move(
            actor=people.district_admin,
            node=places.community_a,
            version=1,
            new_parent=places.grid_a,
        )
    assert "本组织或其下级" in exc.value.message_dict["parent"][0]


def test_move_under_the_wrong_level_is_refused(places, people):
    with pytest.raises(ValidationError):
        services.node_move(
            actor=people.district_admin, node=places.grid_a, version=1, new_parent=places.street
        )


def test_move_to_the_same_parent_or_a_closed_parent_is_refused(places, people):
    with pytest.raises(ValidationError):
        services.node_move(
            actor=people.street_admin,
            node=places.grid_a,
            version=1,
            new_parent=places.community_a,
        )
    services.node_close(actor=people.street_admin, node=places.grid_b, version=1, reason="合并")
    with pytest.raises(ValidationError):
        services.node_move(
            actor=people.street_admin,
            node=places.group_a,
            version=1,
            new_parent=fresh(places.grid_b),
        )


def test_move_destination_must_be_in_scope(places, people):
    # A community admin may move a group within the community, but not into the sibling's grid.
    with pytest.raises(PermissionDenied):
        services.node_move(
            actor=people.community_admin,
            node=places.group_a,
            version=1,
            new_parent=places.grid_b,
        )
    grid_a2 = services.node_create(
        actor=people.community_admin, parent=places.community_a, name="文献二网格", level="grid"
    )
    moved = services.node_move(
        actor=people.community_admin, node=places.group_a, version=1, new_parent=grid_a2
    )
    assert moved.parent == grid_a2
    # A street admin cannot take a community to another street.
    with pytest.raises(PermissionDenied):
        services.node_move(
            actor=people.street_admin,
            node=places.community_a,
            version=1,
            new_parent=places.street_2,
        )


def test_move_with_a_stale_version_conflicts(places, people):
    with pytest.raises(ConflictError):
        services.node_move(
            actor=people.street_admin, node=places.grid_a, version=7, new_parent=places.community_b
        )


def test_community_admin_cannot_move_their_own_community(places, people):
    with pytest.raises(PermissionDenied):
        services.node_move(
            actor=people.community_admin,
            node=places.community_a,
            version=1,
            new_parent=places.street,
        )


# ---------------------------------------------------------------------------------------------
# close / reopen


def test_close_refuses_while_open_children_exist(places, people):
    with pytest.raises(ValidationError) as exc:
        services.node_close(
            actor=people.street_admin, node=places.community_a, version=1, reason="撤并"
        )
    assert "下级" in exc.value.messages[0]


def test_close_refuses_while_open_units_exist(places, people):
    UnitFactory(node=places.group_a.parent)  # grid_a has children anyway; use grid_b's leaf
    unit = UnitFactory(node=places.grid_b)
    with pytest.raises(ValidationError) as exc:
        services.node_close(actor=people.street_admin, node=places.grid_b, version=1, reason="撤并")
    assert "驻区单位" in exc.value.messages[0]
    services.unit_close(actor=people.street_admin, unit=unit, version=1)
    services.node_close(actor=people.street_admin, node=places.grid_b, version=1, reason="撤并")


def test_close_refuses_while_functional_orgs_are_open(places, people):
    services.party_org_create(
        actor=people.community_admin,
        node=places.group_a,
        category=OrgCategory.BUILDING,
        name="楼宇党支部",
    )
    with pytest.raises(ValidationError):
        services.node_close(
            actor=people.community_admin, node=places.group_a, version=1, reason="x"
        )


def test_close_keeps_the_node_and_its_history_and_reopen_restores_it(places, people):
    node = services.node_close(
        actor=people.community_admin, node=places.group_a, version=1, reason="楼栋拆除"
    )
    assert node.closed_at is not None and node.closed_reason == "楼栋拆除" and node.version == 2
    assert OrgNode.objects.filter(pk=node.pk).exists()
    with pytest.raises(ConflictError):
        services.node_close(actor=people.community_admin, node=node, version=2, reason="again")
    node = services.node_reopen(actor=people.community_admin, node=node, version=2)
    assert node.closed_at is None and node.closed_reason == "" and node.version == 3
    kinds = list(node.changes.order_by("id").values_list("kind", flat=True))
    assert kinds == [NodeChangeKind.CREATED, NodeChangeKind.CLOSED, NodeChangeKind.REOPENED]
    with pytest.raises(ConflictError):
        services.node_reopen(actor=people.community_admin, node=node, version=3)


def test_close_needs_a_reason_and_the_right_level(places, people):
    with pytest.raises(ValidationError):
        services.node_close(actor=people.community_admin, node=places.group_a, version=1, reason="")
    with pytest.raises(PermissionDenied):
        services.node_close(
            actor=people.community_admin, node=places.community_a, version=1, reason="x"
        )


def test_reopen_under_a_closed_parent_is_refused(places, people):
    services.node_close(actor=people.street_admin, node=places.group_a, version=1, reason="x")
    services.node_close(actor=people.street_admin, node=places.grid_a, version=1, reason="x")
    with pytest.raises(ValidationError):
        services.node_reopen(actor=people.street_admin, node=places.group_a, version=2)


def test_close_with_a_stale_version_conflicts(places, people):
    with pytest.raises(ConflictError):
        services.node_close(actor=people.street_admin, node=places.group_a, version=5, reason="x")


# ---------------------------------------------------------------------------------------------
# functional party organizations


def test_temporary_branch_needs_project_and_dates(places, people):
    with pytest.raises(ValidationError) as exc:
        services.party_org_create(
            actor=people.community_admin,
            node=places.community_a,
            category=OrgCategory.TEMPORARY,
            name="旧改临时党支部",
        )
    assert {"project", "starts_on", "ends_on"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        services.party_org_create(
            actor=people.community_admin,
            node=places.community_a,
            category=OrgCategory.TEMPORARY,
            name="旧改临时党支部",
            project="文献片区旧城改造",
            starts_on=D(2025, 5, 1),
            ends_on=D(2025, 4, 1),
        )
    assert "ends_on" in exc.value.message_dict
    org = services.party_org_create(
        actor=people.community_admin,
        node=places.community_a,
        category=OrgCategory.TEMPORARY,
        name="旧改临时党支部",
        project="文献片区旧城改造",
        starts_on=D(2025, 5, 1),
        ends_on=D(2026, 4, 30),
    )
    assert org.category == OrgCategory.TEMPORARY
    assert places.community_a.changes.filter(note__contains="旧改临时党支部").exists()


def test_functional_org_refuses_territorial_category_and_group_kind(places, people):
    with pytest.raises(ValidationError) as exc:
        services.party_org_create(
            actor=people.community_admin,
            node=places.community_a,
            category=OrgCategory.TERRITORIAL,
            name="x",
        )
    assert "category" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.party_org_create(
            actor=people.community_admin,
            node=places.community_a,
            category=OrgCategory.BUILDING,
            name="x",
            kind=OrgKind.GROUP,
        )
    assert "kind" in exc.value.message_dict


def test_joint_branch_covers_units_and_closing_it_uncovers_them(places, people):
    u1 = UnitFactory(node=places.community_a)
    u2 = UnitFactory(node=places.grid_a)
    InstructorFactory(unit=u2)
    with pytest.raises(ValidationError) as exc:
        services.party_org_create(
            actor=people.community_admin,
            node=places.community_a,
            category=OrgCategory.JOINT,
            name="文献非公企业联合党支部",
            covered_units=[u1],
        )
    assert "covered_units" in exc.value.message_dict
    with pytest.raises(ValidationError):  # a unit outside the node's subtree
        services.party_org_create(
            actor=people.street_admin,
            node=places.community_a,
            category=OrgCategory.JOINT,
            name="x",
            covered_units=[u1, places.unit_b],
        )
    with pytest.raises(ValidationError):  # a unit with its own organization
        services.party_org_create(
            actor=people.community_admin,
            node=places.community_a,
            category=OrgCategory.JOINT,
            name="x",
            covered_units=[u1, places.unit_a],
        )
    org = services.party_org_create(
        actor=people.community_admin,
        node=places.community_a,
        category=OrgCategory.JOINT,
        name="文献非公企业联合党支部",
        covered_units=[u1, u2],
    )
    assert fresh(u1).party_status == PartyStatus.JOINT
    assert fresh(u2).party_org_name == "文献非公企业联合党支部"
    services.party_org_close(actor=people.community_admin, org=org, version=1)
    assert fresh(u1).party_status == PartyStatus.NONE
    assert fresh(u2).party_status == PartyStatus.INSTRUCTOR  # its instructor is still there
    assert fresh(org).closed_at is not None


def test_party_org_update_changes_coverage_and_checks_version(places, people):
    u1, u2, u3 = (UnitFactory(node=places.community_a) for _ in range(3))
    org = services.party_org_create(
        actor=people.community_admin,
        node=places.community_a,
        category=OrgCategory.JOINT,
        name="联合党支部",
        covered_units=[u1, u2],
    )
    org = services.party_org_update(
        actor=people.community_admin,
        org=org,
        version=1,
        changes={"secretary": "陈"},
        covered_units=[u2, u3],
    )
    assert org.version == 2 and org.secretary == "陈"
    assert fresh(u1).party_status == PartyStatus.NONE
    assert fresh(u3).party_status == PartyStatus.JOINT
    with pytest.raises(ConflictError):
        services.party_org_update(
            actor=people.community_admin, org=org, version=1, changes={"secretary": "林"}
        )


def test_territorial_party_org_cannot_be_closed_alone(places, people):
    org = places.community_a.party_orgs.get()
    with pytest.raises(ValidationError):
        services.party_org_close(actor=people.street_admin, org=org, version=1)
    with pytest.raises(ValidationError):
        services.party_org_update(
            actor=people.street_admin, org=org, version=1, changes={"project": "x"}
        )


def test_party_org_in_sibling_community_is_refused(places, people):
    org = services.party_org_create(
        actor=people.community_admin_b,
        node=places.community_b,
        category=OrgCategory.BUSINESS_DISTRICT,
        name="东梅商圈党委",
        kind=OrgKind.PARTY_COMMITTEE,
    )
    with pytest.raises(PermissionDenied):
        services.party_org_close(actor=people.community_admin, org=org, version=1)


# ---------------------------------------------------------------------------------------------
# units


def test_unit_create_validates_the_credit_code(places, people):
    with pytest.raises(ValidationError) as exc:
        services.unit_create(
            actor=people.community_admin,
            node=places.community_a,
            name="坏码公司",
            unit_type=UnitType.NON_PUBLIC,
            credit_code="91350304MA2Y0B1A3C",
        )
    assert "credit_code" in exc.value.message_dict
    unit = services.unit_create(
        actor=people.community_admin,
        node=places.community_a,
        name="好码公司",
        unit_type=UnitType.NON_PUBLIC,
        credit_code=" 91350304ma2y0b1a3b ",
    )
    assert unit.credit_code == CREDIT_CODE
    with pytest.raises(ValidationError) as exc:
        services.unit_create(
            actor=people.community_admin,
            node=places.grid_a,
            name="重复公司",
            unit_type=UnitType.NON_PUBLIC,
            credit_code=CREDIT_CODE,
        )
    assert "credit_code" in exc.value.message_dict


def test_unit_with_own_party_org_needs_its_name(places, people):
    with pytest.raises(ValidationError) as exc:
        services.unit_create(
            actor=people.community_admin,
            node=places.community_a,
            name="有党组织的公司",
            unit_type=UnitType.NON_PUBLIC,
            party_status=PartyStatus.OWN,
        )
    assert "party_org_name" in exc.value.message_dict


def test_unit_create_refuses_a_street_node_and_other_bad_input(places, people):
    with pytest.raises(ValidationError) as exc:
        services.unit_create(
            actor=people.street_admin, node=places.street, name="x", unit_type=UnitType.SOE
        )
    assert "node" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.unit_create(
            actor=people.street_admin,
            node=places.community_a,
            name="x",
            unit_type=UnitType.SOE,
            employees=3,
            party_members=9,
        )
    assert "party_members" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.unit_create(
            actor=people.street_admin, node=places.community_a, name="x", unit_type="bank"
        )
    assert "unit_type" in exc.value.message_dict


def test_unit_update_by_manager_and_by_liaison(places, people):
    unit = places.unit_a
    unit = services.unit_update(
        actor=people.unit_liaison,
        unit=unit,
        version=1,
        changes={"contact_name": "郑", "contact_phone": "0594-2222222"},
    )
    assert unit.contact_name == "郑" and unit.version == 2
    with pytest.raises(PermissionDenied):
        services.unit_update(
            actor=people.unit_liaison, unit=unit, version=2, changes={"name": "改名"}
        )
    with pytest.raises(PermissionDenied):  # another unit
        services.unit_update(
            actor=people.unit_liaison,
            unit=places.unit_b,
            version=1,
            changes={"contact_name": "x"},
        )
    unit = services.unit_update(
        actor=people.community_admin,
        unit=unit,
        version=2,
        changes={"node": places.grid_a, "credit_code": CREDIT_CODE_2},
    )
    assert unit.node == places.grid_a and unit.version == 3
    with pytest.raises(ConflictError):
        services.unit_update(
            actor=people.community_admin, unit=unit, version=2, changes={"address": "x"}
        )


def test_unit_cannot_move_to_a_sibling_community(places, people):
    with pytest.raises(PermissionDenied):
        services.unit_update(
            actor=people.community_admin,
            unit=places.unit_a,
            version=1,
            changes={"node": places.community_b},
        )


def test_instructor_assign_and_end_drive_the_coverage_status(places, people):
    unit = places.unit_b
    assignment = services.instructor_assign(
        actor=people.community_admin_b,
        unit=unit,
        instructor_name="林指导",
        starts_on=D(2025, 3, 1),
    )
    assert fresh(unit).party_status == PartyStatus.INSTRUCTOR
    with pytest.raises(ValidationError):
        services.instructor_end(
            actor=people.community_admin_b, assignment=assignment, ends_on=D(2025, 1, 1)
        )
    services.instructor_end(
        actor=people.community_admin_b, assignment=assignment, ends_on=D(2025, 12, 31)
    )
    assert fresh(unit).party_status == PartyStatus.NONE
    with pytest.raises(ConflictError):
        services.instructor_end(
            actor=people.community_admin_b, assignment=assignment, ends_on=D(2025, 12, 31)
        )
    with pytest.raises(ValidationError):
        services.instructor_assign(
            actor=people.community_admin_b, unit=unit, instructor_name="", starts_on=D(2025, 1, 1)
        )
    with pytest.raises(PermissionDenied):
        services.instructor_assign(
            actor=people.community_admin, unit=unit, instructor_name="x", starts_on=D(2025, 1, 1)
        )


def test_unit_close_ends_instructors_and_refuses_twice(places, people):
    unit = places.unit_b
    InstructorFactory(unit=unit)
    unit = services.unit_close(actor=people.community_admin_b, unit=unit, version=1)
    assert unit.closed_at is not None
    assert not unit.instructors.filter(ends_on__isnull=True).exists()
    with pytest.raises(ConflictError):
        services.unit_close(actor=people.community_admin_b, unit=unit, version=2)
    with pytest.raises(ConflictError):
        services.unit_update(
            actor=people.community_admin_b, unit=unit, version=2, changes={"address": "x"}
        )


# ---------------------------------------------------------------------------------------------
# committees


def test_committee_body_must_be_a_street_or_community(places, people):
    with pytest.raises(ValidationError) as exc:
        services.committee_member_add(
            actor=people.community_admin,
            body=places.grid_a,
            person_name="郑",
            duty="x",
            term_start=D(2025, 1, 1),
        )
    assert "body" in exc.value.message_dict


def test_committee_member_add_update_leave(places, people):
    member = services.committee_member_add(
        actor=people.community_admin,
        body=places.community_a,
        person_name="郑委员",
        duty="联系驻区单位",
        term_start=D(2025, 1, 1),
        unit=places.unit_a,
        unit_post="供电所党支部书记",
    )
    assert member.unit == places.unit_a
    member = services.committee_member_update(
        actor=people.community_admin,
        member=member,
        version=1,
        changes={"public_commitment": "每季度组织一次志愿服务"},
    )
    assert member.version == 2
    with pytest.raises(ConflictError):
        services.committee_member_update(
            actor=people.community_admin, member=member, version=1, changes={"duty": "y"}
        )
    with pytest.raises(ValidationError):
        services.committee_member_leave(
            actor=people.community_admin, member=member, version=2, left_on=D(2024, 1, 1)
        )
    member = services.committee_member_leave(
        actor=people.community_admin, member=member, version=2, left_on=D(2025, 6, 30)
    )
    assert member.left_on == D(2025, 6, 30)
    with pytest.raises(ConflictError):
        services.committee_member_leave(
            actor=people.community_admin, member=member, version=3, left_on=D(2025, 7, 1)
        )


def test_committee_member_input_is_validated(places, people):
    with pytest.raises(ValidationError) as exc:
        services.committee_member_add(
            actor=people.street_admin,
            body=places.community_a,
            person_name="",
            duty="",
            term_start=D(2025, 1, 1),
            term_end=D(2024, 1, 1),
            unit=places.unit_b,
        )
    assert {"person_name", "duty"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        services.committee_member_add(
            actor=people.street_admin,
            body=places.community_a,
            person_name="x",
            duty="y",
            term_start=D(2025, 1, 1),
            unit=places.unit_b,  # located in the sibling community
        )
    assert "unit" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.committee_member_add(
            actor=people.community_admin,
            body=places.street,
            person_name="x",
            duty="y",
            term_start=D(2025, 1, 1),
        )


def test_committee_member_of_the_sibling_is_refused(places, people):
    member = CommitteeMemberFactory(body=places.community_b)
    with pytest.raises(PermissionDenied):
        services.committee_member_leave(
            actor=people.community_admin, member=member, version=1, left_on=D(2025, 1, 2)
        )


# ---------------------------------------------------------------------------------------------
# contact points


def test_contact_points_are_arranged_by_street_and_district_admins(places, people):
    with pytest.raises(PermissionDenied):
        services.contact_point_create(
            actor=people.community_admin,
            community=places.community_a,
            leader_name="陈",
            leader_title="区委副书记",
            starts_on=D(2025, 1, 1),
        )
    with pytest.raises(ValidationError) as exc:
        services.contact_point_create(
            actor=people.street_admin,
            community=places.grid_a,
            leader_name="陈",
            leader_title="区委副书记",
            starts_on=D(2025, 1, 1),
        )
    assert "community" in exc.value.message_dict
    point = services.contact_point_create(
        actor=people.street_admin,
        community=places.community_a,
        leader_name="陈",
        leader_title="区委副书记",
        starts_on=D(2025, 1, 1),
    )
    point = services.contact_point_update(
        actor=people.district_admin,
        contact_point=point,
        version=1,
        changes={"note": "每月走访一次"},
    )
    assert point.version == 2
    with pytest.raises(ValidationError):
        services.contact_point_update(
            actor=people.district_admin,
            contact_point=point,
            version=2,
            changes={"ends_on": D(2024, 1, 1)},
        )
    with pytest.raises(PermissionDenied):
        services.contact_point_update(
            actor=people.street_admin,
            contact_point=point,
            version=2,
            changes={"community": places.community_c},
        )


def test_contact_projects(places, people):
    point = ContactPointFactory(community=places.community_a)
    project = services.contact_project_add(
        actor=people.street_admin, contact_point=point, name="红色物业", due_on=D(2025, 12, 31)
    )
    assert project.status == ProjectStatus.PLANNED
    with pytest.raises(ValidationError):
        services.contact_project_add(actor=people.street_admin, contact_point=point, name=" ")
    project = services.contact_project_update(
        actor=people.street_admin,
        project=project,
        version=1,
        changes={"status": ProjectStatus.ONGOING},
    )
    assert project.version == 2
    with pytest.raises(ConflictError):
        services.contact_project_update(
            actor=people.street_admin, project=project, version=1, changes={"name": "x"}
        )
    with pytest.raises(PermissionDenied):
        services.contact_project_add(
            actor=people.community_admin_b, contact_point=point, name="越权项目"
        )


def test_every_write_leaves_an_audit_record(places, people):
    before = AuditRecord.objects.count()
    services.node_update(
        actor=people.community_admin, node=places.community_a, version=1, changes={"code": "1"}
    )
    services.unit_update(
        actor=people.community_admin, unit=places.unit_a, version=1, changes={"address": "y"}
    )
    assert AuditRecord.objects.count() == before + 2
    assert NodeChange.objects.filter(node=places.community_a, kind="edited").count() == 1
    assert PartyOrganization.objects.filter(node=places.community_a).count() == 1

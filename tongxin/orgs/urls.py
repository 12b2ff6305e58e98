from django.urls import path

from tongxin.orgs import views

app_name = "orgs"

urlpatterns = [
    path("", views.tree, name="tree"),
    path("export/", views.node_export, name="node_export"),
    path("nodes/<int:pk>/", views.node_detail, name="node_detail"),
    path("nodes/<int:pk>/children/", views.node_children, name="node_children"),
    path("nodes/<int:pk>/children/new/", views.node_create, name="node_create"),
    path("nodes/<int:pk>/edit/", views.node_edit, name="node_edit"),
    path("nodes/<int:pk>/rename/", views.node_rename, name="node_rename"),
    path("nodes/<int:pk>/move/", views.node_move, name="node_move"),
    path("nodes/<int:pk>/close/", views.node_close, name="node_close"),
    path("nodes/<int:pk>/reopen/", views.node_reopen, name="node_reopen"),
    path("nodes/<int:pk>/party-orgs/new/", views.party_org_create, name="party_org_create"),
    path("party-orgs/<int:pk>/edit/", views.party_org_edit, name="party_org_edit"),
    path("party-orgs/<int:pk>/close/", views.party_org_close, name="party_org_close"),
    path("coverage/", views.coverage, name="coverage"),
    path("units/", views.unit_list, name="unit_list"),
    path("units/new/", views.unit_create, name="unit_create"),
    path("units/export/", views.unit_export, name="unit_export"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("units/<int:pk>/close/", views.unit_close, name="unit_close"),
    path("units/<int:pk>/instructors/new/", views.instructor_assign, name="instructor_assign"),
    path("instructors/<int:pk>/end/", views.instructor_end, name="instructor_end"),
    path("committees/", views.committee_list, name="committee_list"),
    path("committees/export/", views.committee_export, name="committee_export"),
    path("committees/<int:pk>/", views.committee_detail, name="committee_detail"),
    path(
        "committees/<int:pk>/members/new/",
        views.committee_member_add,
        name="committee_member_add",
    ),
    path(
        "committee-members/<int:pk>/",
        views.committee_member_detail,
        name="committee_member_detail",
    ),
    path(
        "committee-members/<int:pk>/edit/",
        views.committee_member_edit,
        name="committee_member_edit",
    ),
    path(
        "committee-members/<int:pk>/leave/",
        views.committee_member_leave,
        name="committee_member_leave",
    ),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/export/", views.contact_export, name="contact_export"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/projects/new/", views.contact_project_add, name="contact_project_add"),
    path(
        "contact-projects/<int:pk>/edit/",
        views.contact_project_edit,
        name="contact_project_edit",
    ),
]

"""Governance pages. `shell_patterns` keep the names other apps link to (governance,
channel_detail) and add a person's page under the team section; the rest live under the
`governance` namespace."""

from __future__ import annotations

from django.urls import path

from greenroom.governance import network_apps, views

app_name = "governance"

shell_patterns = [
    path("governance/", views.governance, name="governance"),
    path("governance/channels/<int:pk>/", views.channel_detail, name="channel_detail"),
    path("team/people/<int:pk>/", views.person, name="person"),
    path("team/people/<int:pk>/offboard/", views.offboard, name="person_offboard"),
]

urlpatterns = [
    path("gaps/", views.gaps, name="gaps"),
    path("offboardings/", views.offboardings, name="offboardings"),
    path("offboardings/<int:pk>/", views.offboarding, name="offboarding"),
    path("checklist/<int:pk>/done/", views.checklist_done, name="checklist_done"),
    path("provisioning/", views.provisioning, name="provisioning"),
    path("provisioning/tokens/<int:pk>/revoke/", views.revoke_scim_token, name="revoke_scim_token"),
    path("provisioning/group-role/", views.group_role, name="group_role"),
    path("settings/", views.governance_settings, name="settings"),
    path("network-apps/", network_apps.network_apps, name="network_apps"),
]

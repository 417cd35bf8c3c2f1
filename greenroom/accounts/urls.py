from __future__ import annotations

from django.urls import path

from greenroom.accounts import views

# Mounted before core's patterns: this /login/ (with its second step) replaces core's.
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("login/sso/", views.sso_choose, name="sso_choose"),
    path("sso/<slug:slug>/start/", views.sso_start, name="sso_start"),
    path("sso/<slug:slug>/oidc/callback/", views.oidc_callback, name="sso_oidc_callback"),
    path("sso/<slug:slug>/saml/acs/", views.saml_acs, name="sso_saml_acs"),
    path("sso/<slug:slug>/saml/complete/", views.saml_complete, name="sso_saml_complete"),
    path("sso/<slug:slug>/saml/metadata/", views.saml_metadata, name="sso_saml_metadata"),
    path("settings/security/", views.security, name="security"),
    path("settings/security/mfa/enrol/", views.mfa_enrol, name="mfa_enrol"),
    path("settings/security/mfa/disable/", views.mfa_disable, name="mfa_disable"),
    path(
        "settings/security/mfa/recovery-codes/",
        views.recovery_codes_regenerate,
        name="recovery_codes_regenerate",
    ),
    path(
        "settings/security/sessions/<int:pk>/revoke/",
        views.session_revoke,
        name="session_revoke",
    ),
    path(
        "settings/security/sessions/revoke-others/",
        views.sessions_revoke_others,
        name="sessions_revoke_others",
    ),
    path("organization/security/", views.org_security, name="org_security"),
    path("organization/security/policy/", views.org_policy, name="org_policy"),
    path("organization/security/sso/", views.org_sso, name="org_sso"),
    path(
        "organization/security/sso/mappings/",
        views.org_sso_mapping_add,
        name="org_sso_mapping_add",
    ),
    path(
        "organization/security/sso/mappings/<int:pk>/remove/",
        views.org_sso_mapping_remove,
        name="org_sso_mapping_remove",
    ),
    path(
        "organization/security/members/<int:pk>/revoke-sessions/",
        views.member_revoke_sessions,
        name="member_revoke_sessions",
    ),
    path(
        "organization/security/members/<int:pk>/reset-mfa/",
        views.member_reset_mfa,
        name="member_reset_mfa",
    ),
]

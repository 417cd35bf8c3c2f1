from __future__ import annotations

from django.urls import include, path

from greenroom.core import auth_views, views

# Django's own auth views reverse these names (password_reset_done ...), so they keep them.
auth_patterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    *auth_patterns,
    path("publishing/", include("greenroom.publishing.urls")),
    path("inbox/", include("greenroom.inbox.urls")),
    path("crisis/", views.crisis, name="crisis"),
    path("team/", views.team, name="team"),
    path("analytics/", views.analytics, name="analytics"),
    path("audit/", views.audit_log, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("settings/preferences/", views.preferences, name="preferences"),
    path("settings/language/", views.switch_language, name="switch_language"),
    path("organization/switch/", views.switch_organization, name="switch_organization"),
]

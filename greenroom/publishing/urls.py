from __future__ import annotations

from django.urls import path

from greenroom.publishing import policy_views, views

# Mounted at /publishing/ (greenroom/core/urls.py); "publishing" is the section's landing page.
urlpatterns = [
    path("", views.post_list, name="publishing"),
    path("new/", views.post_create, name="publishing_create"),
    path("posts/<int:pk>/", views.post_detail, name="publishing_post"),
    path("posts/<int:pk>/submit/", views.post_submit, name="publishing_submit"),
    path("posts/<int:pk>/approve/", views.post_approve, name="publishing_approve"),
    path(
        "posts/<int:pk>/request-changes/",
        views.post_request_changes,
        name="publishing_request_changes",
    ),
    path("posts/<int:pk>/withdraw/", views.post_withdraw, name="publishing_withdraw"),
    path("posts/<int:pk>/schedule/", views.post_schedule, name="publishing_schedule"),
    path("posts/<int:pk>/publish-now/", views.post_publish_now, name="publishing_publish_now"),
    path("posts/<int:pk>/cancel/", views.post_cancel, name="publishing_cancel"),
    path("variants/<int:pk>/retry/", views.variant_retry, name="publishing_retry"),
    path(
        "variants/<int:pk>/first-comment/retry/",
        views.first_comment_retry,
        name="publishing_first_comment_retry",
    ),
    path("variants/<int:pk>/cancel/", views.variant_cancel, name="publishing_variant_cancel"),
    path("pauses/", views.pauses, name="publishing_pauses"),
    path("approvals/", policy_views.policies, name="publishing_policies"),
    path(
        "approvals/<int:pk>/switch-off/",
        policy_views.policy_deactivate,
        name="publishing_policy_deactivate",
    ),
    path("pauses/<int:pk>/lift/", views.pause_lift, name="publishing_pause_lift"),
    path("notifications/read/", views.notifications_read, name="publishing_notifications_read"),
]

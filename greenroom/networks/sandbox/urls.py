from __future__ import annotations

from django.urls import URLPattern, path

from greenroom.networks.sandbox import views

app_name = "sandbox"
urlpatterns: list[URLPattern] = [
    path("api/v1/me", views.me, name="me"),
    path("api/v1/posts", views.posts, name="posts"),
    path("api/v1/posts/<str:post_id>", views.post_detail, name="post_detail"),
    path("api/v1/posts/<str:post_id>/comments", views.post_comments, name="post_comments"),
    path("api/v1/inbox", views.inbox, name="inbox"),
    path("api/v1/items/<str:item_id>/replies", views.item_replies, name="item_replies"),
    path("api/v1/items/<str:item_id>/hide", views.item_hide, name="item_hide"),
    path("api/v1/items/<str:item_id>", views.item_detail, name="item_detail"),
    path("api/v1/metrics", views.metrics, name="metrics"),
    path("api/v1/oauth/token", views.oauth_token, name="oauth_token"),
    path("admin/accounts", views.admin_accounts, name="admin_accounts"),
    path("admin/accounts/<str:account_id>/items", views.admin_account_items, name="admin_items"),
    path(
        "admin/accounts/<str:account_id>/expire-token",
        views.admin_expire_token,
        name="admin_expire_token",
    ),
    path(
        "admin/accounts/<str:account_id>/failures",
        views.admin_failures,
        name="admin_account_failures",
    ),
    path("admin/failures", views.admin_failures, name="admin_failures"),
    path("p/<str:post_id>/", views.post_page, name="post_page"),
]

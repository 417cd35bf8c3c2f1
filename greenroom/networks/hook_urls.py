from __future__ import annotations

from django.urls import URLPattern, path

from greenroom.networks import webhook_views

app_name = "hooks"
urlpatterns: list[URLPattern] = [
    path("sandbox/<int:channel_id>/", webhook_views.sandbox_hook, name="sandbox"),
]

from __future__ import annotations

from django.urls import path

from greenroom.networks.mastodon import views

app_name = "mastodon"
urlpatterns = [
    path("connect/<int:channel_id>/", views.connect, name="connect"),
]

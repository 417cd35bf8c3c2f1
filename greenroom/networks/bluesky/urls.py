from __future__ import annotations

from django.urls import path

from greenroom.networks.bluesky import views

app_name = "bluesky"
urlpatterns = [
    path("connect/<int:channel_id>/", views.connect, name="connect"),
]

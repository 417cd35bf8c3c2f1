from __future__ import annotations

from django.urls import path

from greenroom.networks.bluesky import views

app_name = "bluesky"
urlpatterns = [
    path("connect/<int:channel_id>/", views.connect, name="connect"),
    path("oauth/client-metadata.json", views.oauth_client_metadata, name="oauth_client_metadata"),
    path("oauth/start/<int:channel_id>/", views.oauth_start, name="oauth_start"),
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
]

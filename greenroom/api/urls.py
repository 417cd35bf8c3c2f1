from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.api_tokens, name="api_tokens"),
    path("<int:token_id>/revoke/", views.revoke_api_token, name="api_token_revoke"),
]
